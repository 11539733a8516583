"""Target-tracking policies: what a predefined metric's resource label may be.

Source: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html
(ResourceLabel). Which metric types a target takes depends on the target, another spec: see pairs.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.api.rules.base import Violation, rule
from controller.api.scaling_policy import ScalingPolicy

PREDEFINED = ("spec", "targetTracking", "predefinedMetric")
_RESOURCE_LABEL = re.compile(r"^app/[^/]+/[^/]+/targetgroup/[^/]+/[^/]+$")


@rule(ScalingPolicy)
def resource_label_only_for_alb_requests(policy: ScalingPolicy) -> Iterator[Violation]:
    """"You can't specify a resource label unless the metric type is ALBRequestCountPerTarget."
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"""
    tracking = policy.spec.target_tracking
    metric = tracking.predefined_metric if tracking else None
    if metric is not None and metric.resource_label is not None and metric.type != "ALBRequestCountPerTarget":
        yield Violation((*PREDEFINED, "resourceLabel"),
                        f"resourceLabel is only for ALBRequestCountPerTarget, not {metric.type}")


@rule(ScalingPolicy)
def resource_label_format(policy: ScalingPolicy) -> Iterator[Violation]:
    """The label is "app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>".
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"""
    tracking = policy.spec.target_tracking
    metric = tracking.predefined_metric if tracking else None
    if metric is None or metric.type != "ALBRequestCountPerTarget" or not metric.resource_label:
        return
    if not _RESOURCE_LABEL.match(metric.resource_label):
        yield Violation((*PREDEFINED, "resourceLabel"),
                        "resourceLabel is app/LB-NAME/LB-ID/targetgroup/TG-NAME/TG-ID: the ends of the load "
                        f"balancer's and the target group's ARNs (got {metric.resource_label!r})")
