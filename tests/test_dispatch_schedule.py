"""What the dispatcher schedules after each kind of outcome, on a fake clock (no AWS calls are made)."""

from __future__ import annotations

import io
from pathlib import Path

from controller.engine.events import EventLog
from controller.engine.reconciler import Action, Outcome
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.engine.workqueue import FakeClock, Priority
from controller.metrics import Metrics
from controller.sources.directory import DirectorySource
from tests.helpers import Harness, write_specs

QUEUE = """
apiVersion: trimtab.io/v1alpha1
kind: Queue
metadata:
  name: jobs
spec: {}
"""


async def _supervisor(harness: Harness, tmp_path: Path, clock: FakeClock) -> Supervisor:
    specs = write_specs(tmp_path / "specs", {"jobs.yaml": QUEUE})
    supervisor = Supervisor(ControllerConfig(resync_interval=300), DirectorySource(specs),
                            reconciler=harness.reconciler, store=harness.store,
                            events=EventLog(io.StringIO(), human=False), metrics=Metrics(), clock=clock)
    await supervisor.follower.refresh(initial=True)
    return supervisor


async def test_a_queue_deleted_recently_is_retried_when_aws_says_it_can_succeed(
    harness: Harness, tmp_path: Path
) -> None:
    clock = FakeClock()
    supervisor = await _supervisor(harness, tmp_path, clock)
    supervisor.queue.drop("Queue/jobs")
    outcome = Outcome("Queue/jobs", Action.ERROR, error_code="AWS.SimpleQueueService.QueueDeletedRecently",
                      retryable=True, retry_after=61.0)
    supervisor.dispatcher._schedule("Queue/jobs", outcome, retired=True)
    assert supervisor.queue.pending_deadline("Queue/jobs") == clock.now() + 61.0
    assert supervisor.queue.pending_priority("Queue/jobs") is Priority.HIGH


async def test_every_outcome_leaves_one_deadline_however_often_it_comes(harness: Harness, tmp_path: Path) -> None:
    clock = FakeClock()
    supervisor = await _supervisor(harness, tmp_path, clock)
    outcomes = [Outcome("Queue/jobs", Action.IN_SYNC), Outcome("Queue/jobs", Action.CONFLICT),
                Outcome("Queue/jobs", Action.ERROR, retryable=True), Outcome("Queue/jobs", Action.BLOCKED)]
    for _ in range(250):
        for outcome in outcomes:
            supervisor.dispatcher._schedule("Queue/jobs", outcome, retired=True)
            supervisor.resync(["Queue/jobs"])
    assert supervisor.queue.waiting() == 1
    deadline = supervisor.queue.pending_deadline("Queue/jobs")
    assert deadline is not None and deadline <= clock.now() + 300
