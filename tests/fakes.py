"""The fast test layer: an in-memory cloud behind a `ResourceClient`, for engine tests without moto.

After crossplane-runtime's `ExternalClientFns` and client-go's fake clock: the reconciler, the dispatcher,
the pruner and the revision follower run exactly as in production, but every AWS call a kind would make
lands in `FakeCloud`, a dict. A test can

- make any operation fail with a botocore `ClientError` of a chosen code, once, n times or always
  (`FakeCloud.fail`), so throttles, terminal errors and QueueDeletedRecently take no emulator;
- read every call made (`FakeCloud.calls`, `FakeCloud.mutations`), to assert what was *not* done;
- change the cloud behind the controller's back (`drift`, `remove`, `plant`): a console edit, a
  deletion by hand, a resource someone else owns.

Time is the work queue's `FakeClock` (controller/engine/workqueue/clock.py); `EngineRig` drives a
`Supervisor`'s parts by hand, a pass at a time, so nothing here sleeps.

What this layer cannot show is how AWS (or moto) answers: request shapes, pagination, eventual
consistency, real error payloads. The integration tests against moto keep those (docs/testing.md).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from controller.api.envelope import Resource
from controller.api.substitution import Environment
from controller.aws import AwsClients, AwsSettings, CallerIdentity
from controller.engine.events import EventLog
from controller.engine.reconciler import Reconciler
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.engine.workqueue import FakeClock
from controller.kinds.base import (
    Desired,
    Observation,
    Outputs,
    RefResolver,
    ResourceClient,
    ResourceGone,
    compare,
)
from controller.kinds.ownership import OWNER_TAG, RESOURCE_TAG
from controller.metrics import Metrics
from controller.sources.directory import DirectorySource
from controller.store.base import Identity
from controller.store.sqlite import SqliteStore
from tests.helpers import CONTROLLER_ID, write_specs

REGION = "us-east-1"
ACCOUNT = "123456789012"
# The ManagedSpec policies and the tags are trimtab's or compared apart: never part of a kind's state.
_NOT_STATE = {"deletion_policy", "management_policy", "adopt", "tags"}


class FakeAws(AwsClients):
    """`AwsClients` that answers only `caller_identity` (the reconciler reads it each pass) and refuses
    to open a client: a fake-layer test that reached for real AWS is a test bug, and says so."""

    def __init__(self, region: str = REGION) -> None:
        super().__init__(AwsSettings(region=region, endpoint_url="http://fake.invalid"))

    async def caller_identity(self) -> CallerIdentity:
        return CallerIdentity(ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:user/fake")

    async def client(self, service: str, region: str | None = None) -> Any:
        raise AssertionError(f"the fake layer makes no AWS calls, but {service} was asked for")


@dataclass(frozen=True)
class Call:
    kind: str
    operation: str  # observe, create, update, delete, read_tags
    name: str
    fields: tuple[str, ...] = ()  # for update: the paths of the changes sent

    def __str__(self) -> str:
        return f"{self.operation} {self.kind}/{self.name}" + (f" {list(self.fields)}" if self.fields else "")


@dataclass
class Failure:
    error: Callable[[str], BaseException]  # the operation's name -> what it raises
    times: int | None  # None: every call fails until `clear_failures`


def client_error(code: str, operation: str, *, status: int = 400, message: str = "",
                 query_code: str | None = None) -> ClientError:
    """A botocore ClientError as aiobotocore raises it: `status` matters to retryability (>= 500 is
    retried), `query_code` is the second spelling query-compatible services (SQS) add."""
    details = {"Code": code, "Message": message or f"injected {code}"}
    if query_code is not None:
        details["QueryErrorCode"] = query_code
    return ClientError({"Error": details, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@dataclass
class CloudResource:
    state: dict[str, Any]
    tags: dict[str, str]


MUTATIONS = frozenset({"create", "update", "delete"})


@dataclass
class FakeCloud:
    """The resources every fake client sees, keyed by (kind, AWS name), with the calls made to them."""

    resources: dict[tuple[str, str], CloudResource] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _failures: dict[tuple[str | None, str], list[Failure]] = field(default_factory=dict)
    _hooks: dict[tuple[str | None, str], list[Callable[[], None]]] = field(default_factory=dict)

    # ---- failures ----------------------------------------------------------------------------------

    def fail(
        self, operation: str, code: str, *, times: int | None = 1, kind: str | None = None, status: int = 400,
        message: str = "", query_code: str | None = None,
    ) -> None:
        """The next `times` calls of `operation` (of `kind`, or of any kind) raise `ClientError(code)`."""
        self.fail_with(operation, lambda name: client_error(code, name, status=status, message=message,
                                                              query_code=query_code), times=times, kind=kind)

    def fail_with(
        self, operation: str, error: Callable[[str], BaseException], *, times: int | None = 1,
        kind: str | None = None,
    ) -> None:
        """The next `times` calls of `operation` raise what `error` makes (any exception: TerminalError,
        OwnedElsewhere, a transport error). Failures queue up in the order they were asked for."""
        self._failures.setdefault((kind, operation), []).append(Failure(error, times))

    def before(self, operation: str, hook: Callable[[], None], *, kind: str | None = None) -> None:
        """Run `hook` once, right before the next `operation` (after the call is recorded): the world
        changing between two calls of one pass (a concurrent creator between observe and create)."""
        self._hooks.setdefault((kind, operation), []).append(hook)

    def clear_failures(self) -> None:
        self._failures.clear()

    def _before(self, kind: str, operation: str) -> None:
        scopes = ((kind, operation), (None, operation))
        for scope in scopes:  # every hook first: a hook of any scope is part of the world the call meets
            for hook in self._hooks.pop(scope, []):
                hook()
        for scope in scopes:
            queued = self._failures.get(scope)
            if not queued:
                continue
            failure = queued[0]
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    queued.pop(0)
            raise failure.error(operation)

    # ---- calls -------------------------------------------------------------------------------------

    def record(self, call: Call) -> None:
        self.calls.append(call)
        self._before(call.kind, call.operation)

    def mutations(self, name: str | None = None) -> list[Call]:
        return [call for call in self.calls if call.operation in MUTATIONS and name in (None, call.name)]

    def operations(self, name: str | None = None) -> list[str]:
        return [call.operation for call in self.calls if name in (None, call.name)]

    def clear_calls(self) -> None:
        self.calls.clear()

    # ---- the world outside trimtab -----------------------------------------------------------------

    def get(self, kind: str, name: str) -> CloudResource | None:
        return self.resources.get((kind, name))

    def names(self, kind: str) -> set[str]:
        return {name for (each, name) in self.resources if each == kind}

    def drift(self, kind: str, name: str, **changes: Any) -> None:
        """Someone edits the resource in the console: state fields by their camelCase names."""
        self.resources[(kind, name)].state.update(changes)

    def retag(self, kind: str, name: str, tags: Mapping[str, str]) -> None:
        self.resources[(kind, name)].tags = dict(tags)

    def remove(self, kind: str, name: str) -> None:
        """Someone deletes the resource by hand."""
        del self.resources[(kind, name)]

    def plant(
        self, kind: str, name: str, state: Mapping[str, Any] | None = None, *, owner: str | None = "someone-else",
        key: str | None = None,
    ) -> None:
        """A resource trimtab did not create: tagged as `owner`'s (as `key`), or with no owner tags at all."""
        tags = {} if owner is None else {OWNER_TAG: owner, RESOURCE_TAG: key or f"{kind}/{name}"}
        self.resources[(kind, name)] = CloudResource(dict(state or {}), tags)


class FakeClient(ResourceClient[Resource]):
    """One kind's client over a `FakeCloud`. Identity is {"name": the spec's AWS name}; the state is the
    spec's own fields (camelCase, trimtab's policies and the tags left out), so a diff names spec fields.

    `fake_client_type` makes one per kind and ownership model; the ClassVars are the contract's."""

    kind: ClassVar[str] = "Queue"
    service: ClassVar[str] = "sqs"

    def __init__(self, cloud: FakeCloud, aws: FakeAws | None = None) -> None:
        super().__init__(aws or FakeAws())
        self.cloud = cloud

    def identity(self, resource: Resource, refs: RefResolver) -> Identity:
        return {"name": resource.external_name()}

    def render(self, resource: Resource, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        state = resource.spec.model_dump(mode="json", by_alias=True, exclude=_NOT_STATE)
        return {name: value for name, value in state.items() if value is not None}  # omitted: unmanaged

    def outputs(self, name: str) -> Outputs:
        return {"name": name, "arn": f"arn:aws:{self.service}:{REGION}:{ACCOUNT}:{name}"}

    async def observe(self, desired: Desired[Resource]) -> Observation:
        name = desired.identity["name"]
        self.cloud.record(Call(self.kind, "observe", name))
        found = self.cloud.get(self.kind, name)
        if found is None:
            return Observation(exists=False)
        tags = dict(found.tags) if self.tags_ownership else None
        return compare(desired, Observation(True, copy.deepcopy(found.state), tags, self.outputs(name)))

    async def create(self, desired: Desired[Resource]) -> Outputs:
        name = desired.identity["name"]
        self.cloud.record(Call(self.kind, "create", name))
        if self.cloud.get(self.kind, name) is None:
            # As SQS CreateQueue, S3 CreateBucket (us-east-1) and PutMetricAlarm: a create that finds the
            # resource already there succeeds and changes nothing. The reconciler's tag read-back is what
            # tells such a "create" apart (tests rely on this to show it).
            tags = dict(desired.tags or {}) if self.tags_ownership else {}
            self.cloud.resources[(self.kind, name)] = CloudResource(copy.deepcopy(desired.state), tags)
        return self.outputs(name)

    async def update(self, desired: Desired[Resource], observation: Observation) -> Outputs:
        name = desired.identity["name"]
        changed = tuple(change.path for change in observation.diff)
        self.cloud.record(Call(self.kind, "update", name, changed))
        found = self.cloud.get(self.kind, name)
        if found is None:
            raise client_error("NotFound", "update", message=f"{name} does not exist")
        # Only what the diff names is sent, as the real kinds do: the other fields keep their values.
        for path in changed:
            top = path.split(".", 1)[0].split("[", 1)[0]
            if top == "tags":
                found.tags = dict(desired.tags or {})
            elif top in desired.state:
                found.state[top] = copy.deepcopy(desired.state[top])
            else:
                found.state.pop(top, None)
        return self.outputs(name)

    async def delete(self, identity: Identity) -> None:
        name = identity["name"]
        self.cloud.record(Call(self.kind, "delete", name))
        self.cloud.resources.pop((self.kind, name), None)  # absent already is success

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        name = identity["name"]
        self.cloud.record(Call(self.kind, "read_tags", name))
        found = self.cloud.get(self.kind, name)
        if found is None:
            raise ResourceGone(name)
        return dict(found.tags) if self.tags_ownership else None


def fake_client_type(
    kind: str, service: str, *, tags_ownership: bool = True, tags_at_creation: bool = True,
) -> type[FakeClient]:
    """A FakeClient subclass for `kind`, with that kind's ownership model (S3: tags after creation;
    Application Auto Scaling in the emulator: no tags, the inventory decides)."""
    return type(f"Fake{kind}Client", (FakeClient,), {
        "kind": kind, "service": service, "tags_ownership": tags_ownership, "tags_at_creation": tags_at_creation,
    })


# The real kinds' ownership models (controller/kinds/*.py), so the engine takes the same paths.
FAKE_KINDS: dict[str, type[FakeClient]] = {
    "Queue": fake_client_type("Queue", "sqs"),
    "Bucket": fake_client_type("Bucket", "s3", tags_at_creation=False),
    "Alarm": fake_client_type("Alarm", "cloudwatch"),
    "ScalableTarget": fake_client_type("ScalableTarget", "application-autoscaling", tags_ownership=False),
    "ScalingPolicy": fake_client_type("ScalingPolicy", "application-autoscaling", tags_ownership=False),
}


def fake_clients(cloud: FakeCloud, kinds: Iterable[str] = FAKE_KINDS) -> dict[str, ResourceClient[Any]]:
    aws = FakeAws()
    return {kind: FAKE_KINDS[kind](cloud, aws) for kind in kinds}


class EngineRig:
    """A `Supervisor` on a fake cloud, a fake clock and a real SQLite store, driven by hand.

    `supervisor.run()` is never started: its loops poll on real time. Instead `drain()` works the queue
    the way its workers do until nothing is left to do now, and `advance()` moves time and releases what
    came due, as its timer task would. So "X does not happen" is shown by a drained queue, not a sleep.
    """

    def __init__(self, tmp_path: Path, *, config: ControllerConfig | None = None) -> None:
        self.cloud = FakeCloud()
        self.clock = FakeClock()
        self.specs = tmp_path / "specs"
        self.specs.mkdir(parents=True, exist_ok=True)
        self.store = SqliteStore(tmp_path / "state")
        self.reconciler = Reconciler(fake_clients(self.cloud), self.store, CONTROLLER_ID)
        self.log = io.StringIO()
        self.supervisor = Supervisor(config or ControllerConfig(resync_interval=300, workers=1),
                                     DirectorySource(self.specs), reconciler=self.reconciler, store=self.store,
                                     events=EventLog(self.log, human=False), metrics=Metrics(), clock=self.clock)
        self.queue = self.supervisor.queue

    async def close(self) -> None:
        """End what the follower started in the background (its restamp task), then the store: a task
        left pending is finalised by the garbage collector at some later moment, inside another test."""
        await self.supervisor.follower.stop()
        self.store.close()

    # ---- specs -------------------------------------------------------------------------------------

    def write(self, files: Mapping[str, str]) -> None:
        write_specs(self.specs, dict(files))

    def remove(self, *names: str) -> None:
        for name in names:
            (self.specs / name).unlink()

    async def start(self) -> None:
        """What `Supervisor.run` does before its loops: load the store, then the first revision."""
        await self.supervisor.ledger.load()
        await self.supervisor.suspensions.load()
        await self.supervisor.follower.refresh(initial=True)

    async def refresh(self) -> None:
        """The source changed: the follower loads the new revision (and prunes what it removed)."""
        await self.supervisor.follower.refresh()

    # ---- time and work -----------------------------------------------------------------------------

    async def drain(self, max_passes: int = 1000) -> list[str]:
        """Process queued keys, one worker's way, until the queue is empty now; returns the keys processed.
        Anything deferred (a backoff, a resync) stays pending on the clock."""
        processed: list[str] = []
        while (key := self.queue.get_nowait()) is not None:
            try:
                await self.supervisor.dispatcher.process(key)
            finally:
                self.queue.done(key)
            processed.append(key)
            if len(processed) >= max_passes:
                raise AssertionError(f"still busy after {max_passes} passes (a hot loop?): {processed[-10:]}")
        return processed

    async def advance(self, seconds: float) -> list[str]:
        """Move the fake clock, release what came due (the timer task's job), and drain."""
        self.clock.advance(seconds)
        self.queue.release_due()
        return await self.drain()

    def deadline_in(self, key: str) -> float | None:
        """Seconds from now until `key` is queued again, or None when nothing is pending for it."""
        deadline = self.queue.pending_deadline(key)
        return None if deadline is None else deadline - self.clock.now()

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines() if line.strip()]
        return [line for line in lines if event in (None, line.get("event"))]

    async def status(self, key: str) -> Any:
        return self.supervisor.ledger.statuses.get(key)
