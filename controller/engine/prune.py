"""Safe pruning, as a pure function of the live revision and the inventory (after Flux's inventory diff).

Rules (see docs/architecture.md): only resources in trimtab's inventory are candidates; a revision
with any invalid spec deletes nothing; a spec that is merely invalid is not "removed"; Retain means
forget, never delete; a prune larger than the threshold is held until a person confirms it. A
resource whose spec is still live but names another AWS identity now (a rename) is not pruned
here: it is retired once its replacement is ready (engine/retire.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.kinds.registry import DELETE_ORDER
from controller.sources.desired import DesiredState
from controller.store.base import InventoryEntry

HOLD_SETTING = "prune.hold"
CONFIRM_SETTING = "prune.confirm"


@dataclass(frozen=True)
class PruneThreshold:
    max_count: int = 10
    max_fraction: float = 0.25

    def exceeded_by(self, removing: int, managed: int) -> bool:
        return removing > self.max_count or (managed > 0 and removing / managed > self.max_fraction)


@dataclass
class PrunePlan:
    delete: list[InventoryEntry] = field(default_factory=list)  # deletionPolicy Delete
    retain: list[InventoryEntry] = field(default_factory=list)  # deletionPolicy Retain: forget only
    blocked_reason: str = ""  # why nothing may be deleted now (an incomplete revision)

    @property
    def keys(self) -> list[str]:
        return sorted({entry.key for entry in self.delete + self.retain})

    def fingerprint(self) -> str:
        """Identifies this exact set, so a confirmation never releases a different, later prune."""
        return json.dumps(self.keys)


def delete_rank(entry: InventoryEntry) -> tuple[int, str]:
    """Dependents before what they depend on (each kind's `delete_rank`): alarms name policies, policies
    name targets. A kind this version does not know (an inventory written by another) comes last."""
    return (DELETE_ORDER.index(entry.kind) if entry.kind in DELETE_ORDER else len(DELETE_ORDER), entry.key)


def plan_prune(state: DesiredState, inventory: Iterable[InventoryEntry]) -> PrunePlan:
    present = set(state.graph.records) | state.graph.invalid_keys
    removed = sorted((entry for entry in inventory if entry.key not in present), key=delete_rank)
    if not removed:
        return PrunePlan()
    if not state.complete:
        return PrunePlan(blocked_reason=f"revision {state.revision} has invalid specs; nothing is deleted "
                                        f"({len(removed)} resources of removed specs are kept)")
    return PrunePlan(
        delete=[entry for entry in removed if entry.deletion_policy == "Delete"],
        retain=[entry for entry in removed if entry.deletion_policy != "Delete"],
    )
