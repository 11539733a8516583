"""The pruner: deletes what removed specs left behind, safely, and remembers what it could not delete.

After Flux's kustomize-controller: the plan is a pure diff of the revision and the inventory
(engine/prune.py), and pruning returns its survivors. A delete that fails is not retried on every
look at the source (that hot-looped: 203 DeleteBucket calls in 10 s). The survivor keeps a
DeleteFailed row with the AWS error, is counted in metrics, and is retried through the work queue
on its own per-item backoff, exactly like a failed reconcile.

Replacements (a spec whose AWS identity changed) go through the same `retire`, once the new
resource is ready.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from controller.aws import error_code, error_message
from controller.engine.ledger import Ledger
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING, PrunePlan, PruneThreshold, delete_rank, plan_prune
from controller.engine.retire import Retired, retire
from controller.engine.telemetry import Telemetry
from controller.fencing import LeaseLost, working_on
from controller.kinds.base import ResourceClient
from controller.metrics import Metrics
from controller.sources.desired import DesiredState
from controller.store.base import FencedWrite, Identity, InventoryEntry, Store

Ownership = Callable[[str], bool]  # does this task reconcile the key's shard now?


class Pruner:
    def __init__(
        self, store: Store, clients: dict[str, ResourceClient[Any]], ledger: Ledger, telemetry: Telemetry,
        metrics: Metrics, *, owns: Ownership, threshold: PruneThreshold, controller_id: str,
        retry_later: Callable[[str], None],
    ) -> None:
        self.store = store
        self.clients = clients
        self.ledger = ledger
        self.telemetry = telemetry
        self.metrics = metrics
        self.owns = owns
        self.threshold = threshold
        self.controller_id = controller_id
        self._retry_later = retry_later  # queue the key again after its backoff
        self.survivors: dict[str, str] = {}  # key -> the error its last delete failed with
        # Live keys the inventory holds more than one resource for: a replacement not yet finished
        # (cut short by a crash or a failed delete). Learnt from the inventory at each revision.
        self._replacing: set[str] = set()

    # ---- removed specs -----------------------------------------------------------------------------

    async def prune(self, state: DesiredState) -> None:
        """Act on the revision: delete or forget what its removed specs left, unless held."""
        inventory = await self.store.inventory()
        counts = Counter(entry.key for entry in inventory)
        self._replacing = {key for key, count in counts.items() if count > 1}
        for key in [key for key in self.survivors if key in state.graph.records or key in state.graph.invalid_keys]:
            del self.survivors[key]  # put back: its spec is live again, nothing to delete
        self._count_survivors()
        plan = plan_prune(state, inventory)
        if plan.blocked_reason:
            self.telemetry.events.emit("PruneHeld", plan.blocked_reason, revision=state.revision)
            return
        if not plan.keys:
            await self._release_hold()
            return
        held = self.threshold.exceeded_by(len(plan.delete), len(inventory))
        if held and await self.store.get_setting(CONFIRM_SETTING) != plan.fingerprint():
            await self.store.put_setting(HOLD_SETTING, plan.fingerprint())
            self.metrics.prune_held.set(len(plan.delete))
            self.telemetry.events.emit(
                "PruneHeld",
                f"{len(plan.delete)} of {len(inventory)} managed resources would be deleted; "
                "run `trimtab prune --confirm` to release, or raise the threshold",
                revision=state.revision, resources=len(plan.delete),
            )
            return
        await self._execute(plan, state.revision, skip_survivors=True)
        await self._release_hold()

    async def confirmation_check(self, state: DesiredState | None) -> None:
        """`trimtab prune --confirm` wrote the held fingerprint as confirmed: prune now."""
        if state is None:
            return
        hold = await self.store.get_setting(HOLD_SETTING)
        if hold is not None and await self.store.get_setting(CONFIRM_SETTING) == hold:
            await self.prune(state)

    async def retry(self, key: str, state: DesiredState) -> None:
        """A survivor's backoff is over: try its delete again, if the revision still removes it."""
        if key not in self.survivors or not self.owns(key):
            return
        plan = plan_prune(state, await self.store.owned_by(key))
        if plan.blocked_reason or await self.store.get_setting(HOLD_SETTING) is not None:
            return  # the revision turned incomplete, or a hold waits for a person: nothing now
        await self._execute(plan, state.revision, skip_survivors=False)

    async def _execute(self, plan: PrunePlan, revision: str, *, skip_survivors: bool) -> None:
        failed: dict[str, str] = {}
        retiring = sorted([*plan.delete, *plan.retain], key=delete_rank)
        for entry in retiring:
            if not self.owns(entry.key) or (skip_survivors and entry.key in self.survivors):
                continue  # another task's shard; or backing off, retried from the queue
            try:
                error = await self._retire(entry, revision, delete=entry.deletion_policy == "Delete")
            except (LeaseLost, FencedWrite):
                continue  # the shard moved while deleting: its new holder prunes it
            if error is not None:
                failed[entry.key] = error
        for key in {entry.key for entry in retiring if self.owns(entry.key)}:
            if key in failed:
                self.survivors[key] = failed[key]
                await self.ledger.mark_delete_failed(key, failed[key], revision)
                self._retry_later(key)
            elif not (skip_survivors and key in self.survivors):
                self.survivors.pop(key, None)
                await self.ledger.drop(key)
        self._count_survivors()

    async def _release_hold(self) -> None:
        if await self.store.get_setting(HOLD_SETTING) is not None:
            await self.store.put_setting(HOLD_SETTING, None)
        if await self.store.get_setting(CONFIRM_SETTING) is not None:
            await self.store.put_setting(CONFIRM_SETTING, None)
        self.metrics.prune_held.set(0)

    # ---- replaced identities -----------------------------------------------------------------------

    async def retire_replaced(self, key: str, identity: Identity, revision: str, *, replaced: bool) -> bool:
        """The spec's resource of `identity` is ready: retire those of its old identities, if it just
        replaced them or the inventory holds more than one for it. False: a delete failed (logged and
        counted; the caller retries the key on its backoff)."""
        if not replaced and key not in self._replacing:
            return True  # the common case costs no store read
        ok = True
        for entry in sorted(await self.store.owned_by(key), key=delete_rank):
            if entry.identity != identity:
                ok = await self._retire(entry, revision, delete=entry.deletion_policy == "Delete",
                                        replaced=True) is None and ok
        if ok:
            self._replacing.discard(key)
        else:
            self._replacing.add(key)
        return ok

    # ---- one entry ---------------------------------------------------------------------------------

    async def _retire(
        self, entry: InventoryEntry, revision: str, *, delete: bool, replaced: bool = False,
    ) -> str | None:
        """Retire one entry; the error message when its delete failed, else None."""
        started = time.monotonic()
        name = entry.key.split("/", 1)[1]
        try:
            with working_on(entry.key):
                result, why = await retire(entry, self.clients[entry.kind], self.store, self.controller_id,
                                           delete=delete)
        except (LeaseLost, FencedWrite):
            raise
        except Exception as error:  # kept in the inventory: retried on its backoff
            message = f"delete failed: {error_message(error)}"
            self.metrics.prune_failures.labels(entry.kind).inc()
            self.telemetry.events.emit("DeleteFailed", message, kind=entry.kind, name=name, revision=revision,
                                       code=error_code(error), identity=entry.identity)
            return message
        if replaced:
            why = f"replaced by a new identity; {why or 'deleted'}"
        self.telemetry.events.emit(result.value, why, kind=entry.kind, name=name, revision=revision,
                                   identity=entry.identity, duration=round(time.monotonic() - started, 3)
                                   if result is Retired.DELETED else None)
        return None

    def _count_survivors(self) -> None:
        self.metrics.prune_survivors.set(len(self.survivors))
