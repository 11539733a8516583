"""Ownership marks: the tags that say "trimtab (this controller) created this for Kind/name"."""

from __future__ import annotations

from collections.abc import Mapping

OWNER_TAG = "trimtab.io/owner"
RESOURCE_TAG = "trimtab.io/resource"
DEFAULT_CONTROLLER_ID = "trimtab"


def ownership_tags(controller_id: str, key: str) -> dict[str, str]:
    return {OWNER_TAG: controller_id, RESOURCE_TAG: key}


def describe_owner(tags: Mapping[str, str] | None) -> str | None:
    """Who the tags say owns the resource, for conflict messages; None when unmarked."""
    if not tags or OWNER_TAG not in tags:
        return None
    return f"{tags[OWNER_TAG]} as {tags.get(RESOURCE_TAG, '?')}"


def is_marked_for(tags: Mapping[str, str] | None, controller_id: str, key: str) -> bool:
    return bool(tags) and tags.get(OWNER_TAG) == controller_id and tags.get(RESOURCE_TAG) == key  # type: ignore[union-attr]


def marked_for_another(found: Mapping[str, str] | None, desired: Mapping[str, str] | None) -> bool:
    """`found` tags carry an ownership mark other than the one in the `desired` tags."""
    if not found or OWNER_TAG not in found:
        return False
    desired = desired or {}
    return (found.get(OWNER_TAG), found.get(RESOURCE_TAG)) != (desired.get(OWNER_TAG), desired.get(RESOURCE_TAG))
