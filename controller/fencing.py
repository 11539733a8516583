"""Fencing of side effects: which item a coroutine works on, and the check that stops an AWS mutation
for an item whose shard this task no longer holds.

Store writes are fenced exactly, inside the store (a DynamoDB transaction checks the lease). AWS
cannot check our leases, so an AWS mutation is fenced as close to the wire as we can get: `AwsClients`
calls `Fence.check` from botocore's `before-send` event, after the rate limiter's wait and before
every attempt, retries included. The check asks whether the item named by `working_on` is still held,
and the owner's answer compares the lease expiry with the wall clock at that moment, so a task that was
frozen (SIGSTOP, a paused VM) and resumes past its lease sends nothing. What no client-side check can
close is the moment between the check and the bytes leaving (a connection-pool wait, a freeze right
then); the lease's safety margin is what covers it.

A foundation module, under `aws.py` and the store: it imports nothing of the engine. The engine wraps
each reconcile and each prune delete in `with working_on(key):`, and the CLI installs the coordinator's
`owns` with `AwsClients.fence.install`. The context variable follows the coroutine, and every task
it starts (asyncio copies the context), so concurrent items never see each other's key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

OwnsCheck = Callable[[str], bool]

_current_item: ContextVar[str | None] = ContextVar("trimtab_current_item", default=None)


class LeaseLost(Exception):
    """An AWS mutation refused before it was sent: this task no longer holds the lease on the item's
    shard, so another task may be changing the same resource. Not retryable here: the item's new
    holder does the work."""

    def __init__(self, key: str, operation: str) -> None:
        super().__init__(f"{key}: the lease on its shard is no longer held; {operation} was not sent")
        self.key = key
        self.operation = operation


@contextmanager
def working_on(key: str) -> Iterator[None]:
    """Name `key` (Kind/name) as the item this coroutine's AWS mutations and store writes are for."""
    token = _current_item.set(key)
    try:
        yield
    finally:
        _current_item.reset(token)


def current_item() -> str | None:
    """The item named by the innermost `working_on`, or None outside of any."""
    return _current_item.get()


class Fence:
    """The check run before each mutating AWS call. Until a check is installed (one task, the embedded
    store, plan and apply), everything passes; calls made outside `working_on` always pass (the store's
    own, source reads, seeding an emulator)."""

    def __init__(self, owns: OwnsCheck | None = None) -> None:
        self._owns = owns

    def install(self, owns: OwnsCheck | None) -> None:
        """`owns(key)`: whether this task may change item `key` now; None removes the check."""
        self._owns = owns

    def check(self, operation: str) -> None:
        """Raise LeaseLost if the current item's shard is not held now."""
        key, owns = _current_item.get(), self._owns
        if key is not None and owns is not None and not owns(key):
            raise LeaseLost(key, operation)
