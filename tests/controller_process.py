"""Run `trimtab run` as a real subprocess and watch its store, as an operator would."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.store.sqlite import SqliteStore


class ControllerProcess:
    def __init__(self, source: Path | str | None, state_dir: Path, env: dict[str, str], *extra: str) -> None:
        """`source` None: the source comes from a --config file among `extra`."""
        self.state_dir = state_dir
        self.log = state_dir.parent / f"controller-{time.monotonic_ns()}.log"
        self._log_handle = self.log.open("w")
        source_args = [] if source is None else ["--source", str(source)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controller", "run", *source_args, "--state-dir", str(state_dir),
             "--controller-id", "trimtab-test", "--listen", "127.0.0.1:0", *extra],
            stdout=self._log_handle, stderr=subprocess.STDOUT, env=env,
        )

    def events(self) -> list[dict[str, Any]]:
        """The JSON log's events, each with `epoch`: its ISO 8601 `time` in seconds, to compare with time.time()."""
        lines = self.log.read_text().splitlines()
        events = [json.loads(line) for line in lines if line.startswith("{")]
        for event in events:
            event["epoch"] = datetime.fromisoformat(event["time"]).timestamp()
        return events

    @property
    def url(self) -> str:
        """The API's address, from the Listening event (the port is picked by the OS)."""
        self.wait_for(lambda: any(e["event"] == "Listening" for e in self.events()), what="listening")
        return next(e["message"] for e in self.events() if e["event"] == "Listening")

    def metric(self, name: str) -> float:
        """The sum of one metric's samples (every label set), from its /metrics."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith((f"{name}{{", f"{name} ")))

    def reconciles(self) -> float:
        """How many reconciles the controller has finished, from its /metrics."""
        return self.metric("controller_runtime_reconcile_total")

    def drained(self) -> bool:
        """Nothing queued and nothing in a worker's hands: whatever the last pass queued (dependents, a
        retry due now) has been taken and finished. Deadlines still pending (resyncs, backoffs) do not count.
        The event to wait for before asserting that a pass caused nothing more, instead of sleeping."""
        # unfinished_work_seconds sums the age of every item being processed: 0 exactly when none is.
        return self.metric("workqueue_depth") == 0 and self.metric("workqueue_unfinished_work_seconds") == 0

    def statuses(self) -> dict[str, Any]:
        store = SqliteStore(self.state_dir)
        try:
            return asyncio.run(store.statuses())
        finally:
            store.close()

    def ready_keys(self) -> set[str]:
        return {key for key, status in self.statuses().items()
                if (ready := status.condition("Ready")) is not None and ready.status == "True"}

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"controller exited: {self.log.read_text()[-3000:]}"
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; log tail:\n{self.log.read_text()[-3000:]}")

    def terminate(self, timeout: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._log_handle.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._log_handle.close()
