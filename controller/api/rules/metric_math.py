"""Metric math, in alarms and in target-tracking policies: every id an expression names is defined.

Sources: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html. Unique ids and
exactly one query returning data are checked by the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from controller.api.alarm import Alarm
from controller.api.metrics import MetricQuery
from controller.api.rules.base import Violation, rule
from controller.api.scaling_policy import ScalingPolicy
from controller.api.yamldoc import PathKey

_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# An id starts with a lowercase letter; function names (SUM, RATE, METRICS, ...) and keywords are upper
# case, and a name followed by "(" is a call, not an id. Digits before a name are a number such as 1e3.
_ID_REFERENCE = re.compile(r"(?<![\w.])([a-z][A-Za-z0-9_]*)\b(?!\s*\()")
ALARM_METRIC_STATS_MAX = 10
ALARM_EXPRESSIONS_MAX = 10


def referenced_ids(expression: str) -> list[str]:
    """The query ids a metric math expression names; none for a Metrics Insights query (SELECT ...)."""
    if expression.lstrip().upper().startswith("SELECT"):
        return []
    return _ID_REFERENCE.findall(_STRINGS.sub(" ", expression))


def _undefined(queries: Sequence[MetricQuery], path: PathKey) -> Iterator[Violation]:
    ids = {query.id for query in queries}
    for index, query in enumerate(queries):
        if query.expression is None:
            continue
        for name in referenced_ids(query.expression):
            if name == query.id:
                yield Violation((*path, index, "expression"), f"expression {query.id!r} refers to itself")
                break
            if name not in ids:
                yield Violation((*path, index, "expression"),
                                f"expression {query.id!r} refers to {name!r}, which is not the id of a query here "
                                f"(ids: {', '.join(sorted(ids))})")
                break


@rule(Alarm)
def alarm_expressions_name_defined_ids(alarm: Alarm) -> Iterator[Violation]:
    """"A math expression can use the Id of the other metrics or queries to refer to those metrics"; an id
    that no query has is refused. https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html"""
    yield from _undefined(alarm.spec.metrics or (), ("spec", "metrics"))


@rule(ScalingPolicy)
def policy_expressions_name_defined_ids(policy: ScalingPolicy) -> Iterator[Violation]:
    """The same rule for a target-tracking policy's metric math (TargetTrackingMetricDataQuery).
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingMetricDataQuery.html"""
    tracking = policy.spec.target_tracking
    metric = tracking.customized_metric if tracking else None
    if metric is not None and metric.metrics:
        yield from _undefined(metric.metrics, ("spec", "targetTracking", "customizedMetric", "metrics"))


@rule(Alarm)
def alarm_math_size(alarm: Alarm) -> Iterator[Violation]:
    """"The 20 structures can include as many as 10 structures that contain a MetricStat parameter to retrieve
    a metric, and as many as 10 structures that contain the Expression parameter."
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html"""
    queries = alarm.spec.metrics or []
    stats = sum(query.metric_stat is not None for query in queries)
    expressions = sum(query.expression is not None for query in queries)
    if stats > ALARM_METRIC_STATS_MAX:
        yield Violation(("spec", "metrics"), f"an alarm takes at most {ALARM_METRIC_STATS_MAX} metricStat queries "
                                             f"(got {stats})")
    if expressions > ALARM_EXPRESSIONS_MAX:
        yield Violation(("spec", "metrics"), f"an alarm takes at most {ALARM_EXPRESSIONS_MAX} expressions "
                                             f"(got {expressions})")
