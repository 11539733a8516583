"""Stopping never hangs on a background task that misses its cancellation.

Python 3.11's asyncio.wait_for returns its inner result instead of raising when a cancellation
arrives just as the inner wait finishes, which the directory watcher's wait can hit on any file
event. Found when a controller whose source directory kept changing did not exit on SIGTERM.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from controller.engine.events import EventLog
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.metrics import Metrics
from controller.sources.directory import DirectorySource
from tests.helpers import Harness, write_specs

QUEUE = """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: jobs}
    spec: {}
    """


class CancellationSwallowingSource(DirectorySource):
    """A directory source whose change wait loses its cancellation, as 3.11's wait_for can."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.swallowed = 0

    async def wait_for_change(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.swallowed += 1  # return as if a change had been seen: the cancellation is gone


async def test_stop_completes_when_a_task_swallows_its_cancellation(harness: Harness, tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "specs", {"q.yaml": QUEUE})
    source = CancellationSwallowingSource(specs)
    log = io.StringIO()
    reconciled = asyncio.Event()
    supervisor = Supervisor(ControllerConfig(drain_timeout=5), source, reconciler=harness.reconciler,
                            store=harness.store, events=EventLog(log, human=False), metrics=Metrics(),
                            on_outcome=lambda outcome: reconciled.set())
    running = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(reconciled.wait(), 30)

    supervisor.stop()
    await asyncio.wait_for(running, 15)  # before the fix: forever

    assert source.swallowed == 1
    assert '"Stopped"' in log.getvalue()
