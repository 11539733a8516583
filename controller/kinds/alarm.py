"""CloudWatch metric alarms (what they share with composite alarms is kinds/cloudwatch_alarms.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.api.alarm import Alarm
from controller.api.substitution import Environment
from controller.kinds.base import Desired, RefResolver
from controller.kinds.cloudwatch_alarms import AlarmClientBase, actions_state
from controller.kinds.descriptor import IamGrant, KindDescriptor, Touched, touch
from controller.kinds.metric_rendering import dimensions, metric_queries, normalise_queries

# The PutMetricAlarm fields trimtab manages; DescribeAlarms reports the same names.
_FIELDS = (
    "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics",
    "ThresholdMetricId", "EvaluateLowSampleCountPercentile",
)


class AlarmClient(AlarmClientBase[Alarm]):
    kind = "Alarm"
    alarm_type = "MetricAlarm"
    _listed = "MetricAlarms"
    spec_fields = {
        "AlarmDescription": "description", "ActionsEnabled": "actionsEnabled", "OKActions": "okActions",
        "AlarmActions": "alarmActions", "InsufficientDataActions": "insufficientDataActions",
        "EvaluationPeriods": "evaluationPeriods", "DatapointsToAlarm": "datapointsToAlarm", "Threshold": "threshold",
        "ComparisonOperator": "comparisonOperator", "TreatMissingData": "treatMissingData", "Metrics": "metrics",
        "ThresholdMetricId": "thresholdMetricId",
        "EvaluateLowSampleCountPercentile": "evaluateLowSampleCountPercentile",
        **{aws: f"metric.{spec}" for aws, spec in (
            ("Namespace", "namespace"), ("MetricName", "metricName"), ("Dimensions", "dimensions"),
            ("Period", "period"), ("Statistic", "statistic"), ("ExtendedStatistic", "extendedStatistic"),
            ("Unit", "unit"))},
    }

    def render(self, resource: Alarm, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {
            **actions_state(spec, refs),
            "EvaluationPeriods": spec.evaluation_periods,
            "DatapointsToAlarm": spec.datapoints_to_alarm or spec.evaluation_periods,
            "ComparisonOperator": spec.comparison_operator,
            "TreatMissingData": spec.treat_missing_data,
        }
        # An anomaly detection alarm has a band (ThresholdMetricId) and no Threshold, by the rules.
        if spec.threshold is not None:
            state["Threshold"] = float(spec.threshold)
        if spec.threshold_metric_id is not None:
            state["ThresholdMetricId"] = spec.threshold_metric_id
        if spec.evaluate_low_sample_count_percentile is not None:
            state["EvaluateLowSampleCountPercentile"] = spec.evaluate_low_sample_count_percentile
        if spec.description is not None:
            state["AlarmDescription"] = spec.description
        if spec.metric is not None:
            metric = spec.metric
            state.update({
                "Namespace": metric.namespace,
                "MetricName": metric.metric_name,
                "Dimensions": dimensions(metric.dimensions, refs),
                "Period": metric.period,
            })
            if metric.statistic is not None:
                state["Statistic"] = metric.statistic
            if metric.extended_statistic is not None:
                state["ExtendedStatistic"] = metric.extended_statistic
            if metric.unit is not None:
                state["Unit"] = metric.unit
        else:
            assert spec.metrics is not None  # exactly one of metric/metrics, by the model
            state["Metrics"] = metric_queries(spec.metrics, refs)
        return state

    async def _put(self, client: Any, **arguments: Any) -> None:
        await client.put_metric_alarm(**arguments)

    def _observed_state(self, desired: Desired[Alarm], alarm: dict[str, Any]) -> dict[str, Any]:
        state = {key: alarm[key] for key in _FIELDS if alarm.get(key) not in (None, [])}
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            state[key] = sorted(alarm.get(key, []))
        if "Dimensions" in desired.state:
            state["Dimensions"] = sorted(alarm.get("Dimensions", []), key=lambda d: d["Name"])
        if "Metrics" in state:
            state["Metrics"] = normalise_queries(state["Metrics"])
        if "Threshold" in state:
            state["Threshold"] = float(state["Threshold"])
        return state


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    names = parameters.get("alarmNames")  # DeleteAlarms, EnableAlarmActions, DisableAlarmActions: many
    if isinstance(names, list):
        yield from (touch("Alarm", name=alarm, region=region) for alarm in names if isinstance(alarm, str))
    # PutCompositeAlarm names its alarm alike: the CompositeAlarm kind's.
    if event in ("PutMetricAlarm", "SetAlarmState") and isinstance(parameters.get("alarmName"), str):
        yield touch("Alarm", name=parameters["alarmName"], region=region)
    arn = str(parameters.get("resourceARN") or "")  # TagResource, UntagResource
    if ":alarm:" in arn:
        yield touch("Alarm", name=arn.split(":alarm:", 1)[1], region=region)


DESCRIPTOR = KindDescriptor(
    model=Alarm, client=AlarmClient, delete_rank=0, events=_touched_by,
    iam=IamGrant(
        actions=("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource",
                 "cloudwatch:TagResource", "cloudwatch:UntagResource"),
        resource="arn:aws:cloudwatch:*:*:alarm:{prefix}*",
        owner_tagged_actions=("cloudwatch:DeleteAlarms",),
        unscoped_actions=("cloudwatch:DescribeAlarms", "tag:GetResources"),
    ),
)
