"""Alarms on an anomaly detection band: a threshold or a band, the band operators, and what the band is.

Sources: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
(Threshold, ThresholdMetricId, ComparisonOperator) and the user guide's
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html.
The band and the metric both returning data is the model's (check_metric_queries).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.api import substitution
from controller.api.alarm import Alarm
from controller.api.rules.alarm_actions import ACTION_FORMS, LISTS
from controller.api.rules.base import Violation, rule

BAND_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
_BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\s*\(")


@rule(Alarm)
def threshold_or_band(alarm: Alarm) -> Iterator[Violation]:
    """Threshold "is required for alarms based on static thresholds, but should not be used for alarms based
    on anomaly detection models", whose ThresholdMetricId names the band instead: exactly one of the two.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    spec = alarm.spec
    if spec.threshold is not None and spec.threshold_metric_id is not None:
        yield Violation(("spec", "thresholdMetricId"),
                        "an anomaly detection alarm compares with its band, not a threshold: remove threshold")
    elif spec.threshold is None and spec.threshold_metric_id is None:
        yield Violation(("spec", "threshold"), "an alarm needs a threshold, or thresholdMetricId (the id of an "
                                               "ANOMALY_DETECTION_BAND query) for an anomaly detection alarm")


@rule(Alarm)
def band_operators_need_a_band(alarm: Alarm) -> Iterator[Violation]:
    """"The values LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, and GreaterThanUpperThreshold
    are used only for alarms based on anomaly detection models."
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    spec = alarm.spec
    if spec.comparison_operator in BAND_OPERATORS and spec.threshold_metric_id is None:
        yield Violation(("spec", "comparisonOperator"),
                        f"{spec.comparison_operator} compares with an anomaly detection band: set thresholdMetricId "
                        "to the id of an ANOMALY_DETECTION_BAND query, or use a threshold operator")


@rule(Alarm)
def threshold_metric_id_names_a_band(alarm: Alarm) -> Iterator[Violation]:
    """ThresholdMetricId must "match the ID of the ANOMALY_DETECTION_BAND function", one of the alarm's
    metric queries. https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html"""
    band = alarm.spec.threshold_metric_id
    if band is None:
        return
    queries = {query.id: query for query in alarm.spec.metrics or ()}
    path = ("spec", "thresholdMetricId")
    if not queries:
        yield Violation(path, "an anomaly detection alarm's band is one of its metrics: write metrics (the metric "
                              "m1 and a query ANOMALY_DETECTION_BAND(m1, 2)), not metric")
    elif band not in queries:
        yield Violation(path, f"{band!r} is not the id of a query in metrics (ids: {', '.join(sorted(queries))})")
    elif not _BAND.match(queries[band].expression or ""):
        yield Violation(path, f"query {band!r} is not an anomaly detection band: its expression must be "
                              "ANOMALY_DETECTION_BAND(id, standard deviations)")


@rule(Alarm)
def band_alarms_take_no_auto_scaling_actions(alarm: Alarm) -> Iterator[Violation]:
    """ThresholdMetricId: "If your alarm uses this parameter, it cannot have Auto Scaling actions."
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    if alarm.spec.threshold_metric_id is None:
        return
    offline = substitution.values(alarm, substitution.STAND_IN)
    scaling = ACTION_FORMS["Auto Scaling policy"]
    for field, attribute in LISTS:
        for index, action in enumerate(getattr(alarm.spec, attribute)):
            if action.scaling_policy_ref is not None:
                yield Violation(("spec", field, index, "scalingPolicyRef"),
                                "an anomaly detection alarm cannot have Auto Scaling actions")
            elif action.arn is not None and scaling.match(substitution.substitute(action.arn, offline)):
                yield Violation(("spec", field, index, "arn"),
                                "an anomaly detection alarm cannot have Auto Scaling actions")
