"""Suspension: an item is left alone while its spec's annotation `trimtab.io/suspend: "true"` says so,
or while an operator's `trimtab suspend` holds it (until `trimtab resume`). Either suspends; resuming
one leaves the other in force.

The operator's suspensions live in the store, so they survive restarts, and every task reads them
there: the task that took the request writes the record and knows at once, the others learn it at
their next `refresh`. Flux's `flux suspend` writes `spec.suspend` on the object the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.api.envelope import Resource
from controller.engine.intervals import is_suspended
from controller.engine.status import rfc3339
from controller.store.base import Store, Suspension

REFRESH_SECONDS = 2.0  # how soon a task learns of a suspension another task took


class Suspensions:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.held: dict[str, Suspension] = {}

    async def load(self) -> None:
        self.held = await self.store.suspensions()

    async def refresh(self) -> set[str]:
        """Read the store again; returns the keys whose suspension another task began or ended."""
        fresh = await self.store.suspensions()
        changed = {key for key in fresh.keys() | self.held.keys() if fresh.get(key) != self.held.get(key)}
        self.held = fresh
        return changed

    async def suspend(self, key: str, reason: str) -> Suspension:
        """Suspend `key`; suspending again keeps the first record (its time and reason)."""
        held = self.held.get(key)
        if held is None:
            held = Suspension(self.clock(), reason)
            await self.store.put_suspension(key, held)
            self.held[key] = held
        return held

    async def resume(self, key: str) -> bool:
        """End the operator's suspension of `key`; False when there was none."""
        if key not in self.held:
            return False
        await self.store.put_suspension(key, None)
        del self.held[key]
        return True

    def why(self, resource: Resource) -> str | None:
        """Why `resource` is suspended, or None when it is not."""
        reasons = []
        if is_suspended(resource):
            reasons.append('trimtab.io/suspend is "true"')
        held = self.held.get(resource.key)
        if held is not None:
            reasons.append(f"suspended with `trimtab suspend` at {rfc3339(held.since)}"
                           + (f": {held.reason}" if held.reason else ""))
        return "; ".join(reasons) or None
