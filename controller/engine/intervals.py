"""Resync intervals: global, per kind, and per spec by annotation; durations like 90, 30s, 5m, 1h."""

from __future__ import annotations

import random

from controller.api.envelope import RESYNC_ANNOTATION, SUSPEND_ANNOTATION, Resource
from controller.api.fields import parse_duration

JITTER = 0.1


def resync_interval(resource: Resource, default: float, per_kind: dict[str, float]) -> float:
    annotated = resource.metadata.annotations.get(RESYNC_ANNOTATION)
    if annotated:  # validated by the Metadata model
        return max(1.0, parse_duration(annotated))
    return per_kind.get(resource.KIND, default)


def is_suspended(resource: Resource) -> bool:
    return resource.metadata.annotations.get(SUSPEND_ANNOTATION, "").lower() == "true"


def next_resync(interval: float, first: bool) -> float:
    """The delay to the next drift check, never longer than the interval, so drift is always seen
    within one interval. The first one after a (re)start lands anywhere in the interval, so items
    loaded together never resync together; later ones keep that phase, less up to 10%."""
    if first:
        return interval * random.uniform(JITTER, 1.0)
    return interval * random.uniform(1 - JITTER, 1.0)
