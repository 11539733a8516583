"""Safe pruning: what a removed spec may delete, and the guard against mass deletion.

Rules (see docs/architecture.md): only resources in trimtab's inventory are candidates; a revision
with any invalid spec deletes nothing; a spec that is merely invalid is not "removed"; Retain means
forget, never delete; a prune larger than the threshold is held until a person confirms it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from controller.sources.desired import DesiredState
from controller.store.base import InventoryEntry

# Dependents before what they depend on: alarms name policies, policies name targets.
DELETE_ORDER = ("Alarm", "ScalingPolicy", "ScalableTarget", "Queue", "Bucket")
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
        return sorted(entry.key for entry in self.delete + self.retain)

    def fingerprint(self) -> str:
        """Identifies this exact set, so a confirmation never releases a different, later prune."""
        return json.dumps(self.keys)


def plan_prune(state: DesiredState, inventory: dict[str, InventoryEntry]) -> PrunePlan:
    present = set(state.graph.records) | state.graph.invalid_keys
    removed = [entry for key, entry in inventory.items() if key not in present]
    if not removed:
        return PrunePlan()
    if not state.complete:
        return PrunePlan(blocked_reason=f"revision {state.revision} has invalid specs; nothing is deleted "
                                        f"({len(removed)} resources of removed specs are kept)")
    removed.sort(key=lambda entry: (DELETE_ORDER.index(entry.kind) if entry.kind in DELETE_ORDER else 99, entry.key))
    return PrunePlan(
        delete=[entry for entry in removed if entry.deletion_policy == "Delete"],
        retain=[entry for entry in removed if entry.deletion_policy != "Delete"],
    )
