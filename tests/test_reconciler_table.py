"""The reconciler's state machine, one named row per reason, on the in-memory cloud (tests/fakes.py).

Each row: what the world looks like before one pass (`setup`, which may run earlier passes), the spec
for the pass, and what must come of it: the action, whether it was applied, the exact mutating calls,
the error's classification, and what the inventory says afterwards. The integration tests against moto
(test_lifecycle.py, test_ownership.py, test_transitions.py) keep the same paths honest against AWS's
own answers; these rows cover the combinations, in milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from controller.api.bucket import Bucket
from controller.api.envelope import Resource
from controller.api.queue import Queue
from controller.api.scalable_target import ScalableTarget
from controller.api.substitution import Environment
from controller.engine.reconciler import Action, Outcome, Reconciler
from controller.engine.runner import OutputsResolver
from controller.kinds.base import OwnedElsewhere, RetryLater, TerminalError
from controller.kinds.ownership import OWNER_TAG, RESOURCE_TAG
from controller.kinds.registry import BY_KIND
from controller.store.base import InventoryEntry
from controller.store.sqlite import SqliteStore
from tests.fakes import ACCOUNT, REGION, FakeCloud, fake_clients
from tests.helpers import CONTROLLER_ID

OURS = {OWNER_TAG: CONTROLLER_ID, RESOURCE_TAG: "Queue/jobs"}
# A kind whose tags cannot be read (Application Auto Scaling in the emulator): the inventory decides.
TARGET = {"ecsService": {"cluster": "main", "service": "web"}, "minCapacity": 1, "maxCapacity": 4}
TARGET_NAME = "ecs|service/main/web|ecs:service:DesiredCount"


def resource(kind: str, spec: dict[str, Any], name: str = "jobs") -> Resource:
    model = {"Queue": Queue, "Bucket": Bucket, "ScalableTarget": ScalableTarget}[kind]
    return model.model_validate({"apiVersion": "trimtab.io/v1alpha1", "kind": kind, "metadata": {"name": name},
                                 "spec": spec})


class World:
    """One reconciler over a fake cloud and a real SQLite store."""

    def __init__(self, tmp_path: Path) -> None:
        self.cloud = FakeCloud()
        self.store = SqliteStore(tmp_path / "state")
        self.reconciler = Reconciler(fake_clients(self.cloud), self.store, CONTROLLER_ID)

    async def reconcile(self, spec: dict[str, Any] | None = None, *, kind: str = "Queue", name: str = "jobs",
                        dry_run: bool = False) -> Outcome:
        return await self.reconciler.reconcile(resource(kind, spec or {}, name),
                                               OutputsResolver({}, dry_run=dry_run), dry_run=dry_run)

    def rendered(self, spec: dict[str, Any], kind: str = "Queue") -> dict[str, Any]:
        """The state `spec` renders to: what a resource made outside trimtab from the same settings has."""
        return self.reconciler.clients[kind].render(resource(kind, spec), OutputsResolver({}, dry_run=False),
                                                    Environment(ACCOUNT, "aws", REGION))

    async def created(self, spec: dict[str, Any] | None = None, *, kind: str = "Queue") -> None:
        """An earlier pass created the resource: it is in the cloud, tagged ours, and in the inventory."""
        outcome = await self.reconcile(spec, kind=kind)
        assert outcome.action is Action.CREATE and outcome.applied, outcome

    async def policies(self, key: str = "Queue/jobs") -> dict[str, str]:
        """The inventory's entries for `key`: AWS name -> deletionPolicy."""
        return {entry.identity["name"]: entry.deletion_policy for entry in await self.store.owned_by(key)}


Setup = Callable[[World], Awaitable[None]]


async def nothing(world: World) -> None:
    """The cloud and the store are empty."""


@dataclass(frozen=True)
class Case:
    id: str  # why the row exists
    setup: Setup
    spec: dict[str, Any] = field(default_factory=dict)
    action: Action = Action.IN_SYNC
    applied: bool = False
    mutations: tuple[str, ...] = ()  # every create/update/delete of the pass, as `Call.__str__` says it
    kind: str = "Queue"
    dry_run: bool = False
    code: str = ""
    retryable: bool = False
    retry_after: float | None = None
    message: str = ""  # a part of the outcome's message
    inventory: dict[str, str] | None = None  # name -> policy after the pass ({}: nothing recorded)
    cloud_state: dict[str, Any] | None = None  # fields the resource must have in the cloud afterwards
    aws_name: str = "jobs"  # the resource's name in the fake cloud


# ---- setups: the world before the pass ------------------------------------------------------------

async def created_30(world: World) -> None:
    await world.created({"visibilityTimeoutSeconds": 30})


async def drifted(world: World) -> None:
    await world.created({"visibilityTimeoutSeconds": 30})
    world.cloud.drift("Queue", "jobs", visibilityTimeoutSeconds=99)


async def tags_stripped(world: World) -> None:
    await world.created({"tags": {"team": "a"}})
    world.cloud.retag("Queue", "jobs", OURS)


async def foreign(world: World) -> None:
    world.cloud.plant("Queue", "jobs", world.rendered({"visibilityTimeoutSeconds": 30}), owner="other-controller")


async def unowned(world: World) -> None:
    world.cloud.plant("Queue", "jobs", world.rendered({"visibilityTimeoutSeconds": 30}), owner=None)


async def removed_by_hand(world: World) -> None:
    await world.created()
    world.cloud.remove("Queue", "jobs")


async def inventory_lost(world: World) -> None:
    await world.created({"visibilityTimeoutSeconds": 30})
    for entry in await world.store.owned_by("Queue/jobs"):
        await world.store.forget(entry)


async def taken_by_a_racer(world: World) -> None:
    """Our record, but the tags now name another controller (a concurrent creator won the race)."""
    await world.created({"visibilityTimeoutSeconds": 30})
    world.cloud.retag("Queue", "jobs", {OWNER_TAG: "other-controller", RESOURCE_TAG: "Queue/jobs"})


async def recorded_for_another_spec(world: World) -> None:
    world.cloud.plant("Queue", "jobs", world.rendered({"visibilityTimeoutSeconds": 30}), owner=None)
    await world.store.record_owned(InventoryEntry("Queue/other", "Queue", {"name": "jobs"}, "Delete", 0.0))


async def created_concurrently(world: World) -> None:
    """Absent when observed; another owner creates it before our create lands (which then succeeds, as
    SQS CreateQueue does on an existing queue)."""
    world.cloud.before("create", lambda: world.cloud.plant("Queue", "jobs", {}, owner="other-controller"))


async def create_says_owned_elsewhere(world: World) -> None:
    world.cloud.fail_with("create", lambda _: OwnedElsewhere("already exists, owned by other-controller"))


async def access_denied(world: World) -> None:
    world.cloud.fail("create", "AccessDenied", status=403)


async def throttled(world: World) -> None:
    world.cloud.fail("observe", "ThrottlingException")


async def server_error(world: World) -> None:
    await drifted(world)
    world.cloud.fail("update", "InternalError", status=500)


async def deleted_recently(world: World) -> None:
    world.cloud.fail("create", "AWS.SimpleQueueService.QueueDeletedRecently", query_code="QueueDeletedRecently")


async def retry_later(world: World) -> None:
    world.cloud.fail_with("create", lambda _: RetryLater(30.0, "the name is held for 30 s more", "NameHeld"))


async def terminal(world: World) -> None:
    world.cloud.fail_with("observe", lambda _: TerminalError("the spec names a key that cannot exist"))


async def bucket_crashed_before_tagging(world: World) -> None:
    """S3 tags after CreateBucket: the bucket came to exist, then the pass failed before it was tagged.
    The write-ahead "create pending" record is what makes the next pass treat it as ours."""
    untagged = world.rendered({}, "Bucket")
    world.cloud.before("create", lambda: world.cloud.plant("Bucket", "jobs", untagged, owner=None), kind="Bucket")
    world.cloud.fail("create", "InternalError", status=500, kind="Bucket")
    outcome = await world.reconcile(kind="Bucket")
    assert outcome.action is Action.ERROR and outcome.retryable, outcome


async def bucket_created(world: World) -> None:
    await world.created(kind="Bucket")


async def target_created(world: World) -> None:
    await world.created(TARGET, kind="ScalableTarget")


async def target_drifted(world: World) -> None:
    await target_created(world)
    world.cloud.drift("ScalableTarget", TARGET_NAME, minCapacity=3)


async def target_exists(world: World) -> None:
    world.cloud.plant("ScalableTarget", TARGET_NAME, world.rendered(TARGET, "ScalableTarget"), owner=None)


async def target_crashed_after_create(world: World) -> None:
    """Registered, then the pass died before the inventory said so: the write-ahead record remains."""
    made = world.rendered(TARGET, "ScalableTarget")
    world.cloud.before("create", lambda: world.cloud.plant("ScalableTarget", TARGET_NAME, made, owner=None))
    world.cloud.fail("create", "InternalError", status=500, kind="ScalableTarget")
    outcome = await world.reconcile(TARGET, kind="ScalableTarget")
    assert outcome.action is Action.ERROR and outcome.retryable, outcome


CASES = [
    Case("absent → create, tagged and recorded", nothing, {"visibilityTimeoutSeconds": 45}, Action.CREATE,
         applied=True, mutations=("create Queue/jobs",), inventory={"jobs": "Delete"},
         cloud_state={"visibilityTimeoutSeconds": 45}),
    Case("in sync → no mutating call, nothing new recorded", created_30, {"visibilityTimeoutSeconds": 30},
         Action.IN_SYNC, inventory={"jobs": "Delete"}),
    Case("drifted → update only the drifted field", drifted, {"visibilityTimeoutSeconds": 30}, Action.UPDATE,
         applied=True, mutations=("update Queue/jobs ['visibilityTimeoutSeconds']",),
         cloud_state={"visibilityTimeoutSeconds": 30}),
    Case("spec edited → update only the edited field", created_30, {"visibilityTimeoutSeconds": 30,
         "delaySeconds": 5}, Action.UPDATE, applied=True, mutations=("update Queue/jobs ['delaySeconds']",),
         cloud_state={"visibilityTimeoutSeconds": 30, "delaySeconds": 5}),
    Case("user tags stripped by hand → tags put back", tags_stripped, {"tags": {"team": "a"}}, Action.UPDATE,
         applied=True, mutations=("update Queue/jobs ['tags.team']",)),
    Case("deletionPolicy changed alone → inventory follows, AWS untouched", created_30,
         {"visibilityTimeoutSeconds": 30, "deletionPolicy": "Retain"}, Action.IN_SYNC,
         inventory={"jobs": "Retain"}),
    Case("deleted by hand → created again", removed_by_hand, {}, Action.CREATE, applied=True,
         mutations=("create Queue/jobs",), inventory={"jobs": "Delete"}),
    Case("renamed (queueName) → replace: the new one created, the old one left for the pruner", created_30,
         {"visibilityTimeoutSeconds": 30, "queueName": "jobs-v2"}, Action.REPLACE, applied=True,
         mutations=("create Queue/jobs-v2",), message="'jobs' -> 'jobs-v2'",
         inventory={"jobs": "Delete", "jobs-v2": "Delete"}),
    Case("foreign-owned → conflict, never touched, nothing recorded", foreign, {"visibilityTimeoutSeconds": 60},
         Action.CONFLICT, message="owned by other-controller", inventory={}),
    Case("foreign-owned with adopt → taken over: ownership tags and the spec written", foreign,
         {"visibilityTimeoutSeconds": 60, "adopt": True}, Action.ADOPT, applied=True,
         mutations=("update Queue/jobs ['visibilityTimeoutSeconds', 'tags.trimtab.io/owner']",),
         inventory={"jobs": "Delete"}, cloud_state={"visibilityTimeoutSeconds": 60}),
    Case("exists untagged, never ours → conflict: not created by trimtab", unowned, {}, Action.CONFLICT,
         message="not created by trimtab", inventory={}),
    Case("recorded for another spec → conflict naming that spec", recorded_for_another_spec, {},
         Action.CONFLICT, message="managed by trimtab as Queue/other", inventory={}),
    Case("inventory lost, our own tags → ours again, re-recorded", inventory_lost, {"visibilityTimeoutSeconds": 30},
         Action.IN_SYNC, inventory={"jobs": "Delete"}),
    Case("our record but a racer's tags → conflict, and our record is dropped", taken_by_a_racer,
         {"visibilityTimeoutSeconds": 30}, Action.CONFLICT, message="other-controller", inventory={}),
    Case("created concurrently by another owner → conflict after the tag read-back, nothing recorded",
         created_concurrently, {}, Action.CONFLICT, mutations=("create Queue/jobs",),
         message="already existed when created", inventory={}),
    Case("create says owned elsewhere → conflict, nothing recorded", create_says_owned_elsewhere, {},
         Action.CONFLICT, mutations=("create Queue/jobs",), message="owned by other-controller", inventory={}),
    Case("dry run, absent → plan a create, change nothing", nothing, {}, Action.CREATE, dry_run=True, inventory={}),
    Case("dry run, drifted → plan the update, change nothing", drifted, {"visibilityTimeoutSeconds": 30},
         Action.UPDATE, dry_run=True, cloud_state={"visibilityTimeoutSeconds": 99}),
    Case("ObserveOnly, drifted → report, change nothing, hold the resource as Retain", drifted,
         {"visibilityTimeoutSeconds": 30, "managementPolicy": "ObserveOnly"}, Action.UPDATE,
         inventory={"jobs": "Retain"}, cloud_state={"visibilityTimeoutSeconds": 99}),
    Case("ObserveOnly, absent → report the create, make nothing", nothing, {"managementPolicy": "ObserveOnly"},
         Action.CREATE, inventory={}),
    Case("terminal AWS error (AccessDenied) → error, no hot retry", access_denied, {}, Action.ERROR,
         mutations=("create Queue/jobs",), code="AccessDenied", retryable=False, inventory={}),
    Case("the kind's TerminalError → error, no hot retry", terminal, {}, Action.ERROR, code="Terminal",
         retryable=False, message="cannot exist"),
    Case("throttled → error, retried on backoff", throttled, {}, Action.ERROR, code="ThrottlingException",
         retryable=True),
    Case("server error on update → error, retried on backoff", server_error, {"visibilityTimeoutSeconds": 30},
         Action.ERROR, mutations=("update Queue/jobs ['visibilityTimeoutSeconds']",), code="InternalError",
         retryable=True),
    Case("QueueDeletedRecently → retried after the wait AWS states", deleted_recently, {}, Action.ERROR,
         mutations=("create Queue/jobs",), code="AWS.SimpleQueueService.QueueDeletedRecently", retryable=True,
         retry_after=BY_KIND["Queue"].retry_later["QueueDeletedRecently"], inventory={}),
    Case("a client's RetryLater → retried after its wait, not on backoff", retry_later, {}, Action.ERROR,
         mutations=("create Queue/jobs",),
         code="NameHeld", retryable=True, retry_after=30.0, message="held for 30 s", inventory={}),
    Case("S3 crashed between create and tag → the pending record makes it ours, tags written",
         bucket_crashed_before_tagging, {}, Action.UPDATE, kind="Bucket", applied=True,
         mutations=("update Bucket/jobs ['tags.trimtab.io/owner', 'tags.trimtab.io/resource']",)),
    Case("S3 in sync → no mutating call (tags after creation changes nothing later)", bucket_created, {},
         Action.IN_SYNC, kind="Bucket"),
    Case("untaggable kind: absent → create, recorded by the inventory alone", nothing, TARGET, Action.CREATE,
         kind="ScalableTarget", applied=True, mutations=(f"create ScalableTarget/{TARGET_NAME}",),
         inventory={TARGET_NAME: "Delete"}, aws_name=TARGET_NAME),
    Case("untaggable kind in the inventory, drifted → ours: update only the drifted field", target_drifted,
         TARGET, Action.UPDATE, kind="ScalableTarget", applied=True,
         mutations=(f"update ScalableTarget/{TARGET_NAME} ['minCapacity']",), aws_name=TARGET_NAME,
         cloud_state={"minCapacity": 1}),
    Case("untaggable kind, exists but not in the inventory → conflict: nothing says it is ours", target_exists,
         TARGET, Action.CONFLICT, kind="ScalableTarget", message="not created by trimtab", inventory={},
         aws_name=TARGET_NAME),
    Case("untaggable kind, crashed after create → the pending record makes it ours", target_crashed_after_create,
         TARGET, Action.IN_SYNC, kind="ScalableTarget", inventory={TARGET_NAME: "Delete"}, aws_name=TARGET_NAME),
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.store.close()


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
async def test_one_pass(world: World, case: Case) -> None:
    await case.setup(world)
    world.cloud.clear_calls()
    before = {name: resource.state.copy() for (kind, name), resource in world.cloud.resources.items()
              if kind == case.kind}

    outcome = await world.reconcile(case.spec, kind=case.kind, dry_run=case.dry_run)

    assert (outcome.action, outcome.applied) == (case.action, case.applied), outcome
    assert tuple(str(call) for call in world.cloud.mutations()) == case.mutations
    assert outcome.error_code == case.code
    assert outcome.retryable is case.retryable
    assert outcome.retry_after == case.retry_after
    assert case.message in outcome.message
    assert outcome.ready is (case.action in (Action.IN_SYNC,) or case.applied)
    if case.inventory is not None:
        assert await world.policies(f"{case.kind}/jobs") == case.inventory
    if case.cloud_state is not None:
        found = world.cloud.get(case.kind, case.aws_name)
        assert found is not None and {name: found.state.get(name) for name in case.cloud_state} == case.cloud_state
    if not case.mutations:
        after = {name: resource.state for (kind, name), resource in world.cloud.resources.items()
                 if kind == case.kind}
        assert after == before, "no mutating call, yet the cloud changed"


async def test_every_row_names_a_distinct_reason() -> None:
    """A row's id is the reason it exists: two rows with one reason are one row too many, or mislabelled."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
