"""Cross-field rules as AWS documents them, checked before any AWS call.

The models check each field (types, ranges, patterns). These rules check what several fields say
together, such as step bounds, a resource id's format for its namespace, lifecycle transitions, the
resources a policy names, alarm action ARNs and metric math ids: the faults that moto accepts and AWS
refuses, or that AWS refuses only when the call is made. One small function per rule, one module per
topic, each citing the AWS page it comes from.

`checked` runs the rules of one spec (the per-document hook in controller.api.validation).
The rules between two specs are in pairs.py, declared on their kinds' descriptors.
"""

from __future__ import annotations

from controller.api.envelope import Resource
from controller.api.errors import SpecError
from controller.api.rules import (  # noqa: F401  (each module registers its rules on import)
    acceleration,
    alarm_actions,
    anomaly_detection,
    lifecycle,
    metric_math,
    notifications,
    policies,
    schedules,
    step_scaling,
    subscriptions,
    target_tracking,
    targets,
    versioning,
    website,
)
from controller.api.rules.base import REGISTRY, Violation, violations
from controller.api.yamldoc import Document

__all__ = ["REGISTRY", "Violation", "check", "checked", "violations"]


def check(document: Document, resource: Resource) -> list[SpecError]:
    """The errors of every rule for `resource`, placed at the line and column their field was written."""
    return [document.error_at(found.path, resource.key, found.message) for found in violations(resource)]


def checked(document: Document, resource: Resource) -> tuple[Resource | None, list[SpecError]]:
    """`resource` if it breaks no rule; otherwise None and the errors (parse_document's return shape)."""
    errors = check(document, resource)
    return (None, errors) if errors else (resource, [])
