"""Rules between a scaling policy and its scalable target, which are two specs.

These have the signature of controller.api.graph's pair rules, (record, records by key) -> (field, message)
or None, and run where the graph runs its own (`PAIR_RULES`). Sources:
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html (PolicyType);
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html and
  https://docs.aws.amazon.com/autoscaling/application/userguide/monitor-cloudwatch-metrics.html (metric types).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.api.rules.services import (
    KNOWN_PREDEFINED_METRICS,
    NO_STEP_SCALING,
    NO_TARGET_TRACKING,
    PREDEFINED_METRICS,
)
from controller.api.scalable_target import ScalableTarget
from controller.api.scaling_policy import ScalingPolicy

if TYPE_CHECKING:
    from controller.api.graph import SpecRecord

PairViolation = tuple[str, str] | None


def _policy_and_target(
    record: SpecRecord, by_key: dict[str, SpecRecord]
) -> tuple[ScalingPolicy, ScalableTarget] | None:
    policy = record.resource
    if not isinstance(policy, ScalingPolicy):
        return None
    target = by_key.get(str(policy.spec.target_ref))
    if target is None or not isinstance(target.resource, ScalableTarget):
        return None  # the graph reports the broken reference
    return policy, target.resource


def predefined_metric_matches_target(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """A predefined metric type belongs to one service ("The ALBRequestCountPerTarget metric type applies only
    to Spot Fleets and ECS services"; AWS answers "Scalable dimension X only supports the following predefined
    metric types"). https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"""
    pair = _policy_and_target(record, by_key)
    tracking = pair[0].spec.target_tracking if pair else None
    if pair is None or tracking is None or tracking.predefined_metric is None:
        return None
    metric_type = tracking.predefined_metric.type
    allowed = PREDEFINED_METRICS.get(pair[1].spec.dimension)
    if allowed is None or metric_type in allowed or metric_type not in KNOWN_PREDEFINED_METRICS:
        return None
    takes = ", ".join(sorted(allowed)) or "no predefined metric (use customizedMetric)"
    return ("spec.targetTracking.predefinedMetric.type",
            f"{metric_type} does not apply to {pair[1].spec.dimension} (target {pair[1].metadata.name}); "
            f"it takes {takes}")


def policy_type_supported_by_namespace(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """"TargetTrackingScaling—Not supported for Amazon EMR. StepScaling—Not supported for DynamoDB, Amazon
    Comprehend, Lambda, Amazon Keyspaces, Amazon MSK, Amazon ElastiCache, or Neptune."
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html"""
    pair = _policy_and_target(record, by_key)
    if pair is None:
        return None
    policy, target = pair
    namespace = target.spec.namespace
    if policy.spec.step_scaling is not None and namespace in NO_STEP_SCALING:
        return "spec.stepScaling", f"namespace {namespace} does not support step scaling; use targetTracking"
    if policy.spec.target_tracking is not None and namespace in NO_TARGET_TRACKING:
        return "spec.targetTracking", f"namespace {namespace} does not support target tracking; use stepScaling"
    return None


PAIR_RULES: tuple[Callable[[SpecRecord, dict[str, SpecRecord]], PairViolation], ...] = (
    predefined_metric_matches_target,
    policy_type_supported_by_namespace,
)
