"""S3 event notifications: configurations may not overlap.

Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html: S3 refuses a
notification configuration ("Configurations overlap. Configurations on the same bucket cannot share a common
event type.") when two of its configurations share an event type and their key filters can match the same
key: prefixes of which one starts the other, suffixes of which one ends the other, an absent filter matching
every key. Destinations do not matter: a queue and a topic overlap too.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from controller.api.bucket import Bucket, NotificationFilter
from controller.api.rules.base import Violation, rule


def _events_overlap(one: str, other: str) -> bool:
    """s3:ObjectCreated:* covers every s3:ObjectCreated:... type."""
    if one == other:
        return True
    return any(wild.endswith(":*") and exact.startswith(wild[:-1]) for wild, exact in ((one, other), (other, one)))


def _keys_overlap(one: NotificationFilter | None, other: NotificationFilter | None) -> bool:
    prefixes = (one.prefix if one else None) or "", (other.prefix if other else None) or ""
    suffixes = (one.suffix if one else None) or "", (other.suffix if other else None) or ""
    return (prefixes[0].startswith(prefixes[1]) or prefixes[1].startswith(prefixes[0])) and (
        suffixes[0].endswith(suffixes[1]) or suffixes[1].endswith(suffixes[0]))


@rule(Bucket)
def notifications_do_not_overlap(bucket: Bucket) -> Iterator[Violation]:
    """Two configurations sharing an event type must filter keys apart (a prefix or suffix neither covers).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"""
    notifications = bucket.spec.notifications
    if notifications is None:
        return
    placed = [((name, index), configuration_id, item) for name, items in notifications.configurations().items()
              for index, (configuration_id, item) in enumerate(items)]
    for (_, first_id, first), ((name, index), second_id, second) in combinations(placed, 2):
        shared = sorted({event for event in second.events if any(_events_overlap(event, other)
                                                                  for other in first.events)})
        if shared and _keys_overlap(first.filter, second.filter):
            yield Violation(("spec", "notifications", name, index, "events"),
                            f"notification {second_id!r} overlaps {first_id!r}: both send {', '.join(shared)} for "
                            "the same keys; S3 refuses overlapping configurations (use prefixes or suffixes "
                            "that do not cover each other)")
            return
