"""The generic reconciler: one spec, one pass of observe -> create / replace / update / conflict.

After crossplane-runtime's managed reconciler and ACK's resource manager. The same function serves
`plan` (dry run: decide, change nothing), `apply`, and the controller, so `plan` shows exactly what
the controller would do.

Ownership is verified, never assumed:
- an existing resource is ours only when the inventory records it for this spec AND, where the kind
  can read tags, its tags do not name another owner (a lost or foreign inventory never wins);
- after every create, the tags are read back from the service: SQS `CreateQueue`, S3 `CreateBucket`
  (us-east-1) and CloudWatch `PutMetricAlarm` succeed on a resource that already exists, so a
  concurrent creator's resource would otherwise be claimed twice. If they name another owner the
  result is a conflict and nothing is recorded.
- every spec change, its deletionPolicy included, reaches the inventory, whether or not AWS needed a
  change, so pruning always acts on the policy the spec says now.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from controller.api.envelope import Resource
from controller.aws import error_code, error_message, is_retryable
from controller.fencing import LeaseLost
from controller.kinds.base import (
    Desired,
    Observation,
    Outputs,
    OwnedElsewhere,
    Pending,
    RefResolver,
    ResourceClient,
    ResourceGone,
    RetryLater,
    TerminalError,
)
from controller.kinds.descriptor import ErrorVerdict
from controller.kinds.diff import FieldChange, diff_states, spec_named
from controller.kinds.ownership import describe_owner, is_marked_for, marked_for_another, ownership_tags
from controller.kinds.registry import BY_KIND
from controller.store.base import FencedWrite, Identity, InventoryEntry, Store


class Action(enum.Enum):
    IN_SYNC = "in sync"
    CREATE = "create"
    REPLACE = "replace"  # the AWS identity changed: create the new resource, then retire the old
    UPDATE = "update"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    BLOCKED = "blocked"
    SUSPENDED = "suspended"
    PENDING = "pending"  # exists, waiting on someone outside (kinds.base.Pending)
    ERROR = "error"


CHANGING = (Action.CREATE, Action.REPLACE, Action.UPDATE, Action.ADOPT)


@dataclass
class Outcome:
    key: str
    action: Action
    applied: bool = False  # False for a dry run, or when nothing needed doing
    changes: list[FieldChange] = field(default_factory=list)
    outputs: Outputs = field(default_factory=dict)
    message: str = ""
    error_code: str = ""
    retryable: bool = False  # for errors: back off and retry soon, or wait for a change
    retry_after: float | None = None  # for errors AWS says will pass ("deleted recently"): retry then
    seconds: float = 0.0
    identity: Identity | None = None  # the AWS identity this pass worked on
    replaced: tuple[InventoryEntry, ...] = ()  # for REPLACE: the resources of the old identity

    @property
    def ready(self) -> bool:
        """The resource exists, is trimtab's, and matches its spec (after this pass)."""
        if self.action is Action.IN_SYNC:
            return True
        return self.applied and self.action in CHANGING


def _verdict(kind: str, error: BaseException) -> ErrorVerdict:
    if isinstance(error, RetryLater):
        return ErrorVerdict(retryable=True, retry_after=error.seconds)
    descriptor = BY_KIND.get(kind)  # a test's fake kind has none: every service's codes decide
    return descriptor.verdict(error) if descriptor else ErrorVerdict(retryable=is_retryable(error))


class Reconciler:
    def __init__(
        self,
        clients: dict[str, ResourceClient[Any]],
        store: Store,
        controller_id: str,
    ) -> None:
        self.clients = clients
        self.store = store
        self.controller_id = controller_id

    async def reconcile(self, resource: Resource, refs: RefResolver, *, dry_run: bool) -> Outcome:
        started = time.monotonic()
        try:
            observing = self._observing(resource)
            outcome = await self._reconcile(resource, refs, dry_run or observing, hold=observing and not dry_run)
        except (LeaseLost, FencedWrite):
            raise  # not this item's error: the task lost its shard, and must record nothing
        except Pending as error:
            outcome = Outcome(resource.key, Action.PENDING, message=str(error))
        except TerminalError as error:
            outcome = Outcome(resource.key, Action.ERROR, message=str(error), error_code="Terminal")
        except Exception as error:  # one broken item never stops the rest
            verdict = _verdict(resource.KIND, error)
            code = error.code if isinstance(error, RetryLater) else error_code(error)
            outcome = Outcome(resource.key, Action.ERROR, message=error_message(error), error_code=code,
                              retryable=verdict.retryable, retry_after=verdict.retry_after)
        outcome.seconds = time.monotonic() - started
        outcome.changes = spec_named(outcome.changes, self.clients[resource.KIND].spec_fields)
        return outcome

    @staticmethod
    def _observing(resource: Resource) -> bool:
        return resource.spec.management_policy == "ObserveOnly"

    async def _reconcile(self, resource: Resource, refs: RefResolver, dry_run: bool, *, hold: bool) -> Outcome:
        """`hold`: observe-only, outside a plan. Nothing changes in AWS, and an owned resource's inventory
        entry says Retain meanwhile, so removing an observe-only spec never deletes what it observed."""
        key = resource.key
        client = self.clients[resource.KIND]
        caller = await client.aws.caller_identity()  # read once per process: pseudo parameters' values
        desired = client.desired(resource, refs, ownership_tags(self.controller_id, key), caller)
        observation = await client.observe(desired)
        if not observation.exists:
            return await self._create(client, desired, dry_run)

        conflict = await self._conflict(client, desired, observation)
        if conflict is not None:
            if not resource.spec.adopt:
                return Outcome(key, Action.CONFLICT, outputs=observation.outputs, message=conflict,
                               identity=desired.identity)
            if dry_run:
                return Outcome(key, Action.ADOPT, changes=observation.diff, message=conflict,
                               identity=desired.identity)
            outputs = await client.update(desired, observation) if observation.diff else observation.outputs
            await self._remember(desired)
            return Outcome(key, Action.ADOPT, applied=True, changes=observation.diff, outputs=outputs,
                           identity=desired.identity)
        if hold:
            await self._remember(desired, policy="Retain")

        if observation.diff:
            if dry_run:
                return Outcome(key, Action.UPDATE, changes=observation.diff, outputs=observation.outputs,
                               identity=desired.identity)
            outputs = await client.update(desired, observation)
            await self._remember(desired)
            return Outcome(key, Action.UPDATE, applied=True, changes=observation.diff, outputs=outputs,
                           identity=desired.identity)
        if not dry_run:
            await self._remember(desired)  # the policy may have changed with no change in AWS
        return Outcome(key, Action.IN_SYNC, outputs=observation.outputs, identity=desired.identity)

    async def _create(self, client: ResourceClient[Any], desired: Desired[Any], dry_run: bool) -> Outcome:
        resource = desired.resource
        kind, key = resource.KIND, resource.key
        shown = {**desired.state, "tags": desired.tags} if client.tags_ownership and desired.tags else desired.state
        changes = diff_states(shown, {})
        replaced = tuple(entry for entry in await self.store.owned_by(key) if entry.identity != desired.identity)
        action, message = Action.CREATE, ""
        if replaced:
            action = Action.REPLACE
            message = "; ".join(replacement_reason(entry.identity, desired.identity) for entry in replaced)
        if dry_run:
            return Outcome(key, action, changes=changes, message=message, identity=desired.identity,
                           replaced=replaced)
        if not client.tags_at_creation or not client.tags_ownership:
            # Write-ahead: if we crash after AWS creates the resource but before it is marked ours,
            # the next pass finds this record and treats the resource as ours, not as foreign.
            await self.store.mark_create_pending(key, kind, desired.identity)
        try:
            outputs = await client.create(desired)
            foreign = await self._foreign_after_create(client, desired)
        except OwnedElsewhere as error:
            foreign = str(error)
        if foreign is not None:
            # Another creator got there first: theirs, not ours. Record nothing, change nothing more.
            await self.store.clear_create_pending(kind, desired.identity)
            return Outcome(key, Action.CONFLICT, message=foreign, identity=desired.identity)
        await self._remember(desired)
        await self.store.clear_create_pending(kind, desired.identity)
        return Outcome(key, action, applied=True, changes=changes, outputs=outputs, message=message,
                       identity=desired.identity, replaced=replaced)

    async def _foreign_after_create(self, client: ResourceClient[Any], desired: Desired[Any]) -> str | None:
        """Why the resource just "created" is someone else's, read back from the service, or None."""
        if not client.tags_ownership:
            return None
        try:
            tags = await client.read_tags(desired.identity)
        except ResourceGone:
            return None  # deleted meanwhile: the next pass creates it again
        if tags is None or is_marked_for(tags, self.controller_id, desired.resource.key):
            return None
        owner = describe_owner(tags) or "nobody (its tags carry no trimtab owner)"
        return f"already existed when created: it is owned by {owner}; set spec.adopt: true to take it over"

    async def _remember(self, desired: Desired[Any], policy: str | None = None) -> None:
        resource = desired.resource
        policy = policy or resource.spec.deletion_policy
        recorded = await self.store.owned(resource.KIND, desired.identity)
        if recorded is not None and recorded.key == resource.key and recorded.deletion_policy == policy:
            return  # nothing new to say: no store write on an in-sync pass
        await self.store.record_owned(InventoryEntry(resource.key, resource.KIND, desired.identity, policy,
                                                     time.time()))

    async def _conflict(
        self, client: ResourceClient[Any], desired: Desired[Any], observation: Observation
    ) -> str | None:
        """Why this existing resource is not ours to change, or None when it is."""
        kind, key = desired.resource.KIND, desired.resource.key
        if client.tags_ownership and marked_for_another(observation.tags, desired.tags):
            # Tags are the resource's own word: a foreign owner wins over any record of ours, and a
            # record of ours is wrong (a creator that raced us and won), so it goes.
            recorded = await self.store.owned(kind, desired.identity)
            if recorded is not None and recorded.key == key and not desired.resource.spec.adopt:
                await self.store.forget(recorded)
            return f"exists and is tagged as owned by {describe_owner(observation.tags)}; " \
                   "set spec.adopt: true to take it over"
        if await self.store.pending_create(kind, desired.identity) == key:
            return None
        recorded = await self.store.owned(kind, desired.identity)
        if recorded is not None:
            return None if recorded.key == key else f"exists and is managed by trimtab as {recorded.key}"
        if client.tags_ownership and is_marked_for(observation.tags, self.controller_id, key):
            return None
        return "exists but was not created by trimtab; set spec.adopt: true to take it over"


def replacement_reason(old: Identity, new: Identity) -> str:
    """Why a spec's resource is replaced, Terraform's "forces replacement": the identity fields that moved."""
    moved = [f"{name} {old.get(name)!r} -> {new.get(name)!r}" for name in sorted(set(old) | set(new))
             if old.get(name) != new.get(name)]
    return f"replaces the resource of its old identity ({', '.join(moved)})"
