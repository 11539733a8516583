"""The generic reconciler: one spec, one pass of observe -> create / update / conflict.

After crossplane-runtime's managed reconciler. The same function serves `plan` (dry run: decide,
change nothing), `apply`, and the controller, so `plan` shows exactly what the controller would do.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from controller.api.envelope import Resource
from controller.aws import error_code, error_message, is_retryable
from controller.kinds.base import Desired, Observation, Outputs, RefResolver, ResourceClient, TerminalError
from controller.kinds.diff import FieldChange, diff_states
from controller.kinds.ownership import describe_owner, is_marked_for, ownership_tags
from controller.store.base import InventoryEntry, Store


class Action(enum.Enum):
    IN_SYNC = "in sync"
    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    BLOCKED = "blocked"
    SUSPENDED = "suspended"
    ERROR = "error"


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
    seconds: float = 0.0

    @property
    def ready(self) -> bool:
        """The resource exists, is trimtab's, and matches its spec (after this pass)."""
        if self.action is Action.IN_SYNC:
            return True
        return self.applied and self.action in (Action.CREATE, Action.UPDATE, Action.ADOPT)


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
            outcome = await self._reconcile(resource, refs, dry_run or self._observing(resource))
        except TerminalError as error:
            outcome = Outcome(resource.key, Action.ERROR, message=str(error), error_code="Terminal")
        except Exception as error:  # one broken item never stops the rest
            outcome = Outcome(
                resource.key, Action.ERROR, message=error_message(error), error_code=error_code(error),
                retryable=is_retryable(error),
            )
        outcome.seconds = time.monotonic() - started
        return outcome

    @staticmethod
    def _observing(resource: Resource) -> bool:
        return resource.spec.management_policy == "ObserveOnly"

    async def _reconcile(self, resource: Resource, refs: RefResolver, dry_run: bool) -> Outcome:
        key = resource.key
        client = self.clients[resource.KIND]
        desired = client.desired(resource, refs, ownership_tags(self.controller_id, key))
        observation = await client.observe(desired)
        if not observation.exists:
            shown = {**desired.state, "tags": desired.tags} if client.tags_ownership and desired.tags else desired.state
            changes = diff_states(shown, {})
            if dry_run:
                return Outcome(key, Action.CREATE, changes=changes)
            outputs = await self._create(client, desired)
            return Outcome(key, Action.CREATE, applied=True, changes=changes, outputs=outputs)

        conflict = await self._conflict(client, desired, observation)
        if conflict is not None:
            if not resource.spec.adopt:
                return Outcome(key, Action.CONFLICT, outputs=observation.outputs, message=conflict)
            if dry_run:
                return Outcome(key, Action.ADOPT, changes=observation.diff, message=conflict)
            outputs = await client.update(desired, observation) if observation.diff else observation.outputs
            await self._remember(desired)
            return Outcome(key, Action.ADOPT, applied=True, changes=observation.diff, outputs=outputs)

        if observation.diff:
            if dry_run:
                return Outcome(key, Action.UPDATE, changes=observation.diff, outputs=observation.outputs)
            outputs = await client.update(desired, observation)
            await self._remember(desired)
            return Outcome(key, Action.UPDATE, applied=True, changes=observation.diff, outputs=outputs)
        if not dry_run and await self.store.owner_of(resource.KIND, desired.identity) != key:
            await self._remember(desired)  # owned by tag but unknown to this store: learn it
        return Outcome(key, Action.IN_SYNC, outputs=observation.outputs)

    async def _create(self, client: ResourceClient[Any], desired: Desired[Any]) -> Outputs:
        kind, key = desired.resource.KIND, desired.resource.key
        if not client.tags_at_creation or not client.tags_ownership:
            # Write-ahead: if we crash after AWS creates the resource but before it is marked ours,
            # the next pass finds this record and treats the resource as ours, not as foreign.
            await self.store.mark_create_pending(key, kind, desired.identity)
        outputs = await client.create(desired)
        await self._remember(desired)
        await self.store.clear_create_pending(kind, desired.identity)
        return outputs

    async def _remember(self, desired: Desired[Any]) -> None:
        resource = desired.resource
        await self.store.record_owned(InventoryEntry(
            resource.key, resource.KIND, desired.identity, resource.spec.deletion_policy, time.time()
        ))

    async def _conflict(
        self, client: ResourceClient[Any], desired: Desired[Any], observation: Observation
    ) -> str | None:
        """Why this existing resource is not ours to change, or None when it is."""
        kind, key = desired.resource.KIND, desired.resource.key
        if await self.store.pending_create(kind, desired.identity) == key:
            return None
        recorded = await self.store.owner_of(kind, desired.identity)
        if recorded == key:
            return None
        if recorded is not None:
            return f"exists and is managed by trimtab as {recorded}"
        if client.tags_ownership:
            if is_marked_for(observation.tags, self.controller_id, key):
                return None
            owner = describe_owner(observation.tags)
            if owner is not None:
                return f"exists and is tagged as owned by {owner}; set spec.adopt: true to take it over"
        return "exists but was not created by trimtab; set spec.adopt: true to take it over"
