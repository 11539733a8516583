"""The trimtab process under measurement, driven and read through its HTTP API and /metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
_CALL = re.compile(r'^trimtab_aws_api_calls_total\{operation="([^"]+)",outcome="([^"]+)",service="([^"]+)"\} (\S+)$',
                   re.MULTILINE)
_READY = re.compile(r'^trimtab_resources\{condition="Ready",kind="[^"]+",status="True"\} (\S+)$', re.MULTILINE)
_RECONCILES = re.compile(r"^controller_runtime_reconcile_total\{[^}]*\} (\S+)$", re.MULTILINE)


class Controller:
    """`trimtab run` as in production, a subprocess with the embedded emulator's endpoint.

    `extra_args` are appended to its command line (a parameter measured by flag, not by editing
    controller/). With `wrapped`, it runs under bench/trace.py instead of `-m controller`: the same
    command, traced or with an override, as `env` says (TRIMTAB_BENCH_TRACE, TRIMTAB_BENCH_OVERRIDE).
    """

    def __init__(self, specs: Path, state: Path, emulator: str, env: dict[str, str],
                 *, resync_interval: str = "1h", extra_args: Sequence[str] = (), wrapped: bool = False) -> None:
        self.log = state.parent / "controller.log"
        self.state = state
        module = "bench.trace" if wrapped else "controller"
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "run", "--source", str(specs), "--state-dir", str(state),
             "--emulator", emulator, "--listen", "127.0.0.1:0", "--resync-interval", resync_interval, *extra_args],
            env={**env, "TRIMTAB_API_TOKEN": TOKEN}, stdout=self.log.open("w"), stderr=subprocess.STDOUT, cwd=REPO)
        self.url = self._listening()

    def _listening(self) -> str:
        while True:
            for line in self.log.read_text().splitlines():
                if '"Listening"' in line:
                    return str(json.loads(line)["message"])
            if self.process.poll() is not None:
                raise SystemExit(f"trimtab exited:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=30) as response:
            return str(response.read().decode())

    def calls(self) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for operation, _, service, value in _CALL.findall(self.metrics()):
            counts[(service, operation)] += int(float(value))
        return counts

    def reconciles(self) -> float:
        return sum(float(value) for value in _RECONCILES.findall(self.metrics()))

    def ready(self) -> int:
        """Items Ready, from the controller's own gauge: cheap to poll, unlike reading every status."""
        return int(sum(float(value) for value in _READY.findall(self.metrics())))

    def resync(self, items: list[str] | None = None) -> None:
        body = json.dumps({"items": items} if items else {}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/resync", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        urllib.request.urlopen(request, timeout=30).close()

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def gauge(self, name: str) -> float:
        """One unlabelled sample from /metrics (process_open_fds, trimtab_asyncio_tasks, ...)."""
        found = re.search(rf"^{re.escape(name)} (\S+)$", self.metrics(), re.MULTILINE)
        return float(found.group(1)) if found else float("nan")

    def stop(self) -> str:
        """SIGTERM, wait for the drain, and return what the process logged (unclosed-resource warnings go there)."""
        self.process.terminate()
        self.process.wait(60)
        return self.log.read_text()


def wait_for(predicate: Any, timeout: float, what: str, poll: float = 0.1) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"timed out: {what}")
        time.sleep(poll)
    return time.perf_counter() - started


def progress(phase: str, **measured: Any) -> None:
    """Each phase's numbers as soon as they exist, so a later failure loses nothing."""
    print(json.dumps({"phase": phase, **measured}), file=sys.stderr, flush=True)
