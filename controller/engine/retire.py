"""Retiring one inventory entry: delete it if it is still verifiably ours, otherwise let it go.

Shared by the pruner (specs removed from the revision), the replacement of a renamed resource (in
the controller and in `trimtab apply`), and nothing else: the one place that deletes in AWS.

Ownership is re-read from the service right before the delete where the kind can be tagged: a
resource is deleted only when its tags name this controller and this spec. Someone else's tags, or
none at all (stripped by hand), mean it is not ours any more: it is forgotten and left alone. Where
tags cannot be read (Application Auto Scaling in the emulator), the inventory is the record.
"""

from __future__ import annotations

import enum
from typing import Any

from controller.kinds.base import ResourceClient, ResourceGone
from controller.kinds.ownership import describe_owner, is_marked_for
from controller.store.base import InventoryEntry, Store


class Retired(enum.Enum):
    DELETED = "Deleted"
    RETAINED = "Retained"  # deletionPolicy Retain: forgotten, left in AWS
    GONE = "AlreadyGone"  # deleted outside trimtab: nothing left to do
    NOT_OWNED = "NotOwned"  # its tags no longer name us: forgotten, left in AWS


async def retire(
    entry: InventoryEntry, client: ResourceClient[Any], store: Store, controller_id: str, *, delete: bool,
) -> tuple[Retired, str]:
    """Delete (or, with delete False, forget) one owned resource; returns what happened and why.
    Raises the AWS error when the delete fails: the entry stays in the inventory, to be retried."""
    if not delete:
        await store.forget(entry)
        return Retired.RETAINED, "deletionPolicy Retain leaves the resource in AWS"
    try:
        tags = await client.read_tags(entry.identity)
    except ResourceGone:
        await store.forget(entry)
        return Retired.GONE, "it no longer exists"
    if tags is not None and not is_marked_for(tags, controller_id, entry.key):
        await store.forget(entry)
        owner = describe_owner(tags) or "no trimtab owner"
        return Retired.NOT_OWNED, f"not deleted: its tags name {owner}, not {controller_id} as {entry.key}"
    await client.delete(entry.identity)
    await store.forget(entry)
    return Retired.DELETED, ""
