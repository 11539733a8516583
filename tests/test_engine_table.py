"""The engine (revision follower, dispatcher, pruner, work queue) as a table of named rows, on the in-memory
cloud and the FakeClock (tests/fakes.py EngineRig): no moto, no real sleeping, seconds for the lot.

Every row starts converged, makes one change (`act`), and drains the queue. Then, for the row's `key`,
the clock moves to a hair before that key's pending deadline, where nothing more may have happened (an
absence shown by a drained queue on the fake clock, not by a sleep), and then onto it, where the row says
exactly which mutating calls come. Every live key always has a deadline: nothing is ever "never" again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING, PruneThreshold
from controller.engine.supervisor import ControllerConfig
from controller.engine.workqueue import FakeClock, Priority, WorkQueue
from controller.engine.workqueue.rate_limited import BASE_BACKOFF
from controller.kinds.ownership import OWNER_TAG, RESOURCE_TAG
from tests.fakes import EngineRig

RESYNC = 300.0
EPSILON = 1e-3
PERMISSIVE = PruneThreshold(max_count=100, max_fraction=1.0)  # the hold has its own row


def queue(name: str, **spec: Any) -> str:
    return yaml.safe_dump({"apiVersion": "trimtab.io/v1alpha1", "kind": "Queue", "metadata": {"name": name},
                           "spec": spec})


JOBS = {"jobs.yaml": queue("jobs", visibilityTimeoutSeconds=30)}
TWO = {**JOBS, "audit.yaml": queue("audit")}
Act = Callable[[EngineRig], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    id: str  # why the row exists
    act: Act
    mutations: tuple[str, ...] = ()  # the mutating calls `act` and the drain after it make, in order
    key: str | None = "Queue/jobs"  # whose next deadline is stepped to; None: no key is followed
    # Where `key`'s deadline must lie after `act`, in seconds from then; None: no sooner than the drift
    # check it had before `act` (the queue keeps the earlier deadline, so that one must stand).
    retry_in: tuple[float, float] | None = (0.0, RESYNC)
    due: tuple[str, ...] = ()  # the mutating calls when that deadline comes, and not a moment before
    events: tuple[str, ...] = ()  # events that must have been emitted during the row
    queues: set[str] | None = None  # the queues in the cloud at the end
    specs: dict[str, str] = field(default_factory=lambda: dict(TWO))
    threshold: PruneThreshold = PERMISSIVE
    resync: float = RESYNC  # longer where the first drift check must not come before the deadline under test


# ---- acts ----------------------------------------------------------------------------------------

async def untouched(rig: EngineRig) -> None:
    """Nothing changes."""


async def drift(rig: EngineRig) -> None:
    rig.cloud.drift("Queue", "jobs", visibilityTimeoutSeconds=99)


async def edit(rig: EngineRig) -> None:
    rig.write({"jobs.yaml": queue("jobs", visibilityTimeoutSeconds=45)})
    await rig.refresh()


async def resync_now(rig: EngineRig) -> None:
    rig.supervisor.resync(["Queue/jobs"])


async def throttled_fix(rig: EngineRig) -> None:
    await drift(rig)
    rig.cloud.fail("update", "ThrottlingException")
    await resync_now(rig)


async def denied_fix(rig: EngineRig) -> None:
    await drift(rig)
    rig.cloud.fail("update", "AccessDenied", status=403, times=None)
    await resync_now(rig)


async def deleted_recently(rig: EngineRig) -> None:
    rig.cloud.remove("Queue", "jobs")
    rig.cloud.fail("create", "AWS.SimpleQueueService.QueueDeletedRecently", query_code="QueueDeletedRecently")
    await resync_now(rig)


async def removed_by_hand(rig: EngineRig) -> None:
    rig.cloud.remove("Queue", "jobs")


async def foreign_spec(rig: EngineRig) -> None:
    rig.cloud.plant("Queue", "taken", {}, owner="other-controller")
    rig.write({"taken.yaml": queue("taken")})
    await rig.refresh()


async def spec_removed(rig: EngineRig) -> None:
    rig.remove("jobs.yaml")
    await rig.refresh()


async def put_back(rig: EngineRig) -> None:
    await spec_removed(rig)
    await rig.drain()
    rig.write(JOBS)
    await rig.refresh()


async def delete_fails_once(rig: EngineRig) -> None:
    rig.cloud.fail("delete", "InternalError", status=500)
    await spec_removed(rig)


async def removed_with_an_invalid_spec(rig: EngineRig) -> None:
    rig.remove("jobs.yaml")
    rig.write({"broken.yaml": queue("broken", visibilityTimeoutSeconds="not a number")})
    await rig.refresh()


async def held_then_confirmed(rig: EngineRig) -> None:
    """`trimtab prune --confirm` writes the held fingerprint as confirmed; the supervisor's poll (on real
    time, not run here) calls `confirmation_check`, so the row calls it as that poll would."""
    await spec_removed(rig)
    held = await rig.store.get_setting(HOLD_SETTING)
    assert held is not None
    await rig.store.put_setting(CONFIRM_SETTING, held)
    await rig.supervisor.pruner.confirmation_check(rig.supervisor.follower.state)


async def rename(rig: EngineRig) -> None:
    rig.write({"jobs.yaml": queue("jobs", visibilityTimeoutSeconds=30, queueName="jobs-v2")})
    await rig.refresh()


async def rename_after_retag(rig: EngineRig) -> None:
    rig.cloud.retag("Queue", "jobs", {OWNER_TAG: "other-controller", RESOURCE_TAG: "Queue/jobs"})
    await rename(rig)


async def dependency_fails_first(rig: EngineRig) -> None:
    rig.cloud.fail("create", "InternalError", status=500, kind="Queue")
    rig.write({"dlq.yaml": queue("dlq"),
               "worker.yaml": queue("worker", deadLetterQueue={"queueRef": "dlq", "maxReceiveCount": 3})})
    await rig.refresh()


async def suspended_then_drift(rig: EngineRig) -> None:
    await rig.supervisor.suspend(["Queue/jobs"], "a test holds it")
    await rig.drain()
    await drift(rig)


CASES = [
    Case("converged and untouched → its drift check comes within the interval, and changes nothing", untouched),
    Case("drift → corrected at the resync, not a moment before", drift,
         due=("update Queue/jobs ['visibilityTimeoutSeconds']",), events=("DriftCorrected",)),
    Case("spec edit → applied at once, not at the resync", edit,
         mutations=("update Queue/jobs ['visibilityTimeoutSeconds']",), events=("SourceChanged", "Updated")),
    Case("throttled → retried on the per-item backoff, not hot", throttled_fix,
         mutations=("update Queue/jobs ['visibilityTimeoutSeconds']",), retry_in=(BASE_BACKOFF, BASE_BACKOFF),
         due=("update Queue/jobs ['visibilityTimeoutSeconds']",), events=("Error",)),
    Case("terminal error → no retry before the next resync", denied_fix,
         mutations=("update Queue/jobs ['visibilityTimeoutSeconds']",), retry_in=None,
         due=("update Queue/jobs ['visibilityTimeoutSeconds']",), events=("Error",)),
    Case("QueueDeletedRecently → retried after the stated wait, in one step", deleted_recently,
         mutations=("create Queue/jobs",), retry_in=(61.0, 61.0), due=("create Queue/jobs",),
         queues={"jobs", "audit"}, resync=3600.0),
    Case("deleted by hand → re-created at the resync", removed_by_hand, due=("create Queue/jobs",),
         events=("Created",), queues={"jobs", "audit"}),
    Case("foreign-owned → conflict, never touched, no hot retry", foreign_spec, key="Queue/taken",
         retry_in=(0.1 * RESYNC, RESYNC), events=("Conflict",), queues={"jobs", "audit", "taken"}),
    Case("spec removed (deletionPolicy Delete) → pruned", spec_removed, mutations=("delete Queue/jobs",),
         key=None, events=("Deleted",), queues={"audit"}),
    Case("deletionPolicy Retain → prune leaves the resource", spec_removed, key=None, events=("Retained",),
         queues={"jobs", "audit"},
         specs={"jobs.yaml": queue("jobs", visibilityTimeoutSeconds=30, deletionPolicy="Retain"),
                "audit.yaml": queue("audit")}),
    Case("spec put back after removal → re-created", put_back, mutations=("delete Queue/jobs", "create Queue/jobs"),
         queues={"jobs", "audit"}),
    Case("a failed delete → the survivor retried on its backoff, not on every look at the source",
         delete_fails_once, mutations=("delete Queue/jobs",), retry_in=(BASE_BACKOFF, BASE_BACKOFF),
         due=("delete Queue/jobs",), events=("DeleteFailed", "Deleted"), queues={"audit"}),
    Case("a revision with an invalid spec → nothing pruned", removed_with_an_invalid_spec, key="Queue/audit",
         events=("InvalidSpec", "PruneHeld"), queues={"jobs", "audit"}),
    Case("a prune above the threshold → held for a person, nothing deleted", spec_removed, key="Queue/audit",
         events=("PruneHeld",), queues={"jobs", "audit"}, threshold=PruneThreshold()),
    Case("a held prune, confirmed → deleted, and the hold released", held_then_confirmed,
         mutations=("delete Queue/jobs",), key="Queue/audit", events=("PruneHeld", "Deleted"), queues={"audit"},
         threshold=PruneThreshold()),
    Case("rename → the new one created, the old one pruned (it is still ours)", rename,
         mutations=("create Queue/jobs-v2", "delete Queue/jobs"), events=("Replaced", "Deleted"),
         queues={"jobs-v2", "audit"}),
    Case("rename, old one retagged to another owner → left alone, never deleted", rename_after_retag,
         mutations=("create Queue/jobs-v2",), events=("Replaced", "NotOwned"), queues={"jobs", "jobs-v2", "audit"}),
    Case("dependency failed → dependent blocked, then created the moment the dependency is", dependency_fails_first,
         mutations=("create Queue/dlq",), key="Queue/dlq", retry_in=(BASE_BACKOFF, BASE_BACKOFF),
         due=("create Queue/dlq", "create Queue/worker"), events=("DependencyNotReady",),
         queues={"jobs", "audit", "dlq", "worker"}),
    Case("suspended → drift is left alone at its resync", suspended_then_drift, events=("Suspended",)),
]


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[[Case], EngineRig]]:
    made: list[EngineRig] = []

    def make(case: Case) -> EngineRig:
        made.append(EngineRig(tmp_path, config=ControllerConfig(resync_interval=case.resync, workers=1,
                                                                prune_threshold=case.threshold)))
        return made[-1]

    yield make
    for rig in made:
        await rig.close()


def _mutations(rig: EngineRig, since: int) -> tuple[str, ...]:
    return tuple(str(call) for call in rig.cloud.mutations()[since:])


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
async def test_engine(rigs: Callable[[Case], EngineRig], case: Case) -> None:
    rig = rigs(case)
    rig.write(case.specs)
    await rig.start()
    await rig.drain()
    assert all(status.condition("Ready").status == "True" for status in rig.supervisor.ledger.statuses.values())
    rig.cloud.clear_calls()
    seen = len(rig.events())
    had = rig.deadline_in(case.key) if case.key is not None else None

    await case.act(rig)
    await rig.drain()

    assert _mutations(rig, 0) == case.mutations
    if case.key is not None:
        wait = rig.deadline_in(case.key)
        assert wait is not None, f"{case.key} has no pending deadline: it would never be looked at again"
        if case.retry_in is None:
            assert had is not None and wait >= had - EPSILON, (wait, had)
        else:
            low, high = case.retry_in
            assert low - EPSILON <= wait <= high + EPSILON, wait
        done = len(rig.cloud.mutations())
        await rig.advance(wait - EPSILON)
        assert _mutations(rig, done) == (), "something happened before the deadline"
        await rig.advance(EPSILON)
        assert _mutations(rig, done) == case.due
    emitted = [event["event"] for event in rig.events()[seen:]]
    assert [event for event in case.events if event not in emitted] == [], emitted
    if case.queues is not None:
        assert rig.cloud.names("Queue") == case.queues
    state = rig.supervisor.follower.state
    assert state is not None
    # Never "never": every live key has its next look pending on the clock, whatever the row did to it.
    assert [key for key in state.graph.records if rig.deadline_in(key) is None] == []


async def test_every_row_names_a_distinct_reason() -> None:
    ids = [case.id for case in CASES] + [case.id for case in QUEUE_CASES]
    assert len(ids) == len(set(ids))


async def test_manual_resyncs_leave_one_drift_check_per_interval(tmp_path: Path) -> None:
    """The fast twin of test_transitions' read-rate measurement on moto: ten full resyncs at once must not
    leave extra timer chains, so over ten intervals each key is observed about ten times (a drift check
    comes every 0.9 to 1 interval), whatever was queued before. The clock moves one second at a time, so
    two chains a second apart would both be seen."""
    rig = EngineRig(tmp_path, config=ControllerConfig(resync_interval=RESYNC, workers=1))
    try:
        rig.write(TWO)
        await rig.start()
        await rig.drain()
        for _ in range(10):
            rig.supervisor.resync()
            rig.supervisor.queue.add_after("Queue/jobs", 1.0)  # and a wake-up that is not a resync
        await rig.drain()
        rig.cloud.clear_calls()
        for _ in range(int(10 * RESYNC)):
            await rig.advance(1.0)
        observes = {name: rig.cloud.operations(name).count("observe") for name in ("jobs", "audit")}
        assert all(10 <= count <= 12 for count in observes.values()), observes
        assert rig.cloud.mutations() == []
    finally:
        await rig.close()


# ---- the work queue alone ----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueCase:
    id: str  # why the row exists
    steps: tuple[tuple[Any, ...], ...]  # ("add", key, priority), ("after", key, delay, priority), ("take", key),
    #                                     ("done", key), ("fail", key), ("forget", key), ("drop", key), ("tick", s)
    order: tuple[str, ...]  # the keys `get_nowait` hands out afterwards, in order
    pending: dict[str, float] = field(default_factory=dict)  # key -> seconds until its deadline
    waits_for_done: tuple[str, ...] = ()  # keys being processed when the row ends


H, L = "HIGH", "LOW"
QUEUE_CASES = [
    QueueCase("added twice → handed out once", (("add", "a", H), ("add", "a", H)), ("a",)),
    QueueCase("HIGH before LOW, each lane first in first out",
              (("add", "b", L), ("add", "a", L), ("add", "c", H)), ("c", "b", "a")),
    QueueCase("re-added at HIGH while queued LOW → promoted, still once", (("add", "a", L), ("add", "b", L),
              ("add", "b", H)), ("b", "a")),
    QueueCase("added while processing → queued again once done, not twice at once",
              (("add", "a", H), ("take", "a"), ("add", "a", L), ("add", "a", L)), (), waits_for_done=("a",)),
    QueueCase("added while processing, then done → handed out once more",
              (("add", "a", H), ("take", "a"), ("add", "a", L), ("done", "a")), ("a",)),
    QueueCase("two deadlines for one key → one pending, the earlier",
              (("after", "a", 300.0, L), ("after", "a", 20.0, L), ("after", "a", 90.0, L)), (), {"a": 20.0}),
    QueueCase("a deadline comes → queued, and no longer pending", (("after", "a", 20.0, L), ("tick", 20.0)), ("a",)),
    QueueCase("a deadline not yet come → nothing to take", (("after", "a", 20.0, L), ("tick", 19.999)), (),
              {"a": 0.001}),
    QueueCase("failures back off per item: 0.5, 1, 2 s", (("fail", "a"), ("tick", 0.5), ("take", "a"),
              ("done", "a"), ("fail", "a"), ("fail", "b")), (), {"a": 1.0, "b": 0.5}),
    QueueCase("forget after success → the next failure starts at the bottom again",
              (("fail", "a"), ("fail", "a"), ("forget", "a"), ("tick", 2.0), ("take", "a"), ("done", "a"),
               ("fail", "a")), (), {"a": 0.5}),
    QueueCase("dropped (spec removed) → unqueued, its deadline and its failures gone",
              (("add", "a", H), ("after", "b", 5.0, L), ("fail", "b"), ("drop", "a"), ("drop", "b"), ("fail", "b")),
              (), {"b": 0.5}),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in QUEUE_CASES])
def test_work_queue(case: QueueCase) -> None:
    clock = FakeClock()
    work = WorkQueue(clock=clock)
    for step in case.steps:
        match step:
            case ("add", key, priority):
                work.add(key, Priority[priority])
            case ("after", key, delay, priority):
                work.add_after(key, delay, Priority[priority])
            case ("take", key):
                assert work.get_nowait() == key
            case ("done", key):
                work.done(key)
            case ("fail", key):
                work.add_rate_limited(key)
            case ("forget", key):
                work.forget(key)
            case ("drop", key):
                work.drop(key)
            case ("tick", seconds):
                clock.advance(seconds)
                work.release_due()  # the timer task's job
            case _:
                raise AssertionError(f"unknown step {step}")
    taken = []
    while (key := work.get_nowait()) is not None:
        taken.append(key)
    assert tuple(taken) == case.order
    pending = {key: deadline - clock.now() for key in ("a", "b", "c")
               if (deadline := work.pending_deadline(key)) is not None}
    assert pending == pytest.approx(case.pending)
    assert work.processing() == set(case.waits_for_done) | set(taken)
