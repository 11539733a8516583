"""Alarm: a CloudWatch metric alarm on one metric or on metric math."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, ScalingPolicyRef, SpecModel, Tags, TopicRef, tag_params
from controller.api.metrics import (
    PERIOD_RULE,
    PUT_METRIC_ALARM_URL,
    DimensionValue,
    MetricQuery,
    alarm_query_params,
    check_extended_statistic,
    check_metric_queries,
    check_period,
    dimension_params,
)
from controller.api.substitution import PARTITION_PATTERN

ONE_DAY_SECONDS = 86400
SEVEN_DAYS_SECONDS = 7 * ONE_DAY_SECONDS
ONE_HOUR_SECONDS = 3600


class AlarmMetric(SpecModel):
    namespace: str = Field(description="e.g. AWS/ECS.")
    metric_name: str = Field(description="e.g. CPUUtilization.")
    dimensions: dict[str, DimensionValue] = Field(
        default_factory=dict, description="Name to value; a value may be a reference such as {queueRef: orders}."
    )
    statistic: str | None = Field(default=None, description="Average, Sum, ...; or use extendedStatistic.")
    extended_statistic: str | None = Field(default=None, description="A percentile such as p99.")
    period: int = Field(description=f"The period: {PERIOD_RULE}.")
    unit: str | None = Field(default=None, description="A CloudWatch unit such as Count or Percent.")

    @model_validator(mode="after")
    def _statistic_and_period(self) -> Self:
        if (self.statistic is None) == (self.extended_statistic is None):
            raise ValueError("needs exactly one of statistic or extendedStatistic")
        if self.extended_statistic is not None:
            try:
                check_extended_statistic(self.extended_statistic)
            except ValueError as error:
                raise FieldError("extendedStatistic", str(error)) from None
        try:
            check_period(self.period)
        except ValueError as error:
            raise FieldError("period", str(error)) from None
        return self


class AlarmAction(SpecModel):
    """Where the alarm notifies: a Topic or ScalingPolicy spec by reference, or any action ARN."""

    topic_ref: TopicRef | None = Field(default=None, description="A Topic spec's name: the alarm notifies it.")
    scaling_policy_ref: ScalingPolicyRef | None = Field(default=None, description="A ScalingPolicy spec's name.")
    arn: str | None = Field(default=None, description="An action ARN.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if [self.topic_ref, self.scaling_policy_ref, self.arn].count(None) != 2:
            raise ValueError("an action needs exactly one of topicRef, scalingPolicyRef or arn")
        return self


class AlarmSpec(ManagedSpec):
    alarm_name: str | None = Field(default=None, description="Defaults to metadata.name.")
    description: str | None = None
    metric: AlarmMetric | None = Field(default=None, description="A single metric; or use metrics.")
    metrics: list[MetricQuery] | None = Field(default=None, description="Metric math; exactly one query returns data.")
    evaluation_periods: int = Field(description="Periods to evaluate.")
    datapoints_to_alarm: int | None = Field(default=None, description="M of N: at most evaluationPeriods.")
    threshold: float | None = Field(
        default=None, description="The value the statistic is compared with; an anomaly detection alarm has "
                                  "thresholdMetricId instead.")
    threshold_metric_id: str | None = Field(
        default=None, description="Anomaly detection: the id of the metrics query whose expression is "
                                  "ANOMALY_DETECTION_BAND(m1, 2), which the alarm compares m1 with (instead of a "
                                  "threshold), with a band operator such as LessThanLowerOrGreaterThanUpperThreshold.")
    comparison_operator: str
    evaluate_low_sample_count_percentile: str | None = Field(
        default=None, description="Percentile alarms: ignore keeps the state through periods with too few "
                                  "datapoints to be statistically significant; evaluate (AWS's default) does not.")
    treat_missing_data: str = Field(default="missing", description="How missing datapoints count.")
    actions_enabled: bool = True
    alarm_actions: list[AlarmAction] = Field(default_factory=list)
    ok_actions: list[AlarmAction] = Field(default_factory=list)
    insufficient_data_actions: list[AlarmAction] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if (self.metric is None) == (self.metrics is None):
            raise FieldError(
                "metrics" if self.metrics is not None else "metric",
                "an alarm needs exactly one of metric (a single metric) or metrics (metric math)",
            )
        period = self.metric.period if self.metric else None
        if self.metrics is not None:
            check_metric_queries(self.metrics, "metrics", band=self.threshold_metric_id)
            for index, query in enumerate(self.metrics):
                if query.metric_stat is not None and query.metric_stat.period is None:
                    raise FieldError(f"metrics[{index}].metricStat.period", "alarm metrics need a period")
            periods = [query.metric_stat.period if query.metric_stat else query.period for query in self.metrics]
            period = max((p for p in periods if p is not None), default=None)
        # "An alarm's total current evaluation period can be no longer than seven days ... For alarms with a
        # period of less than one hour (3,600 seconds), the total evaluation period can't be longer than one
        # day": https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
        # (botocore's model says only EvaluationPeriods >= 1).
        if period is not None:
            window = SEVEN_DAYS_SECONDS if period >= ONE_HOUR_SECONDS else ONE_DAY_SECONDS
            if period * self.evaluation_periods > window:
                limit = ("at most 7 days when the period is an hour or more" if window == SEVEN_DAYS_SECONDS
                         else "at most one day when the period is under an hour")
                raise FieldError(
                    "evaluationPeriods",
                    f"evaluationPeriods x period must be {limit} ({self.evaluation_periods} x {period}s)",
                )
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise FieldError(
                "datapointsToAlarm",
                f"must be at most evaluationPeriods ({self.evaluation_periods}) (got {self.datapoints_to_alarm})",
            )
        return self


_CW, _PUT = "cloudwatch", "PutMetricAlarm"
# The partition may be ${AWS::Partition} (controller/api/substitution.py); the rules check the substituted ARN.
_ACTION_ARN = rf"^arn:{PARTITION_PATTERN}:[a-z0-9-]+:.*$"


def action_params(field: str, member: str, operation: str = _PUT, source: str = PUT_METRIC_ALARM_URL) -> ParamTable:
    """An action list (AlarmAction) at `member` of PutMetricAlarm or PutCompositeAlarm."""
    return {
        field: Param(_CW, operation, member),
        f"{field}[].topicRef": TrimtabOnly(f"a reference: rendered as the topic's ARN in {member}"),
        f"{field}[].scalingPolicyRef": TrimtabOnly(f"a reference: rendered as the policy's ARN in {member}"),
        f"{field}[].arn": Param(_CW, operation, f"{member}[]", (Hand(source, pattern=_ACTION_ARN),)),
    }


ALARM_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "alarmName": Param(_CW, _PUT, "AlarmName"),
    "description": Param(_CW, _PUT, "AlarmDescription"),
    "metric": TrimtabOnly("groups PutMetricAlarm's single-metric parameters (Namespace, MetricName, ...)"),
    "metric.namespace": Param(_CW, _PUT, "Namespace"),
    "metric.metricName": Param(_CW, _PUT, "MetricName"),
    **dimension_params("metric.dimensions", _CW, _PUT, "Dimensions"),
    "metric.statistic": Param(_CW, _PUT, "Statistic"),
    "metric.extendedStatistic": Param(_CW, _PUT, "ExtendedStatistic", (
        Hand(PUT_METRIC_ALARM_URL, rule="p90, tm90, tc90, ts90, wm90, IQM, PR(n:m), TC/TM/TS/WM(X%:X%)"),)),
    "metric.period": Param(_CW, _PUT, "Period", (Hand(PUT_METRIC_ALARM_URL, rule=PERIOD_RULE),)),
    "metric.unit": Param(_CW, _PUT, "Unit"),
    **alarm_query_params("metrics"),
    "evaluationPeriods": Param(_CW, _PUT, "EvaluationPeriods", (Hand(
        PUT_METRIC_ALARM_URL, rule="x period at most 1 day, or 7 days when the period is an hour or more"),)),
    "datapointsToAlarm": Param(_CW, _PUT, "DatapointsToAlarm", (
        Hand(PUT_METRIC_ALARM_URL, rule="at most evaluationPeriods"),)),
    "threshold": Param(_CW, _PUT, "Threshold"),
    "thresholdMetricId": Param(_CW, _PUT, "ThresholdMetricId"),
    "comparisonOperator": Param(_CW, _PUT, "ComparisonOperator"),
    "evaluateLowSampleCountPercentile": Param(_CW, _PUT, "EvaluateLowSampleCountPercentile", (
        Hand(PUT_METRIC_ALARM_URL, values=("evaluate", "ignore")),)),
    "treatMissingData": Param(_CW, _PUT, "TreatMissingData", (
        Hand(PUT_METRIC_ALARM_URL, values=("breaching", "notBreaching", "ignore", "missing")),)),
    "actionsEnabled": Param(_CW, _PUT, "ActionsEnabled"),
    **action_params("alarmActions", "AlarmActions"),
    **action_params("okActions", "OKActions"),
    **action_params("insufficientDataActions", "InsufficientDataActions"),
    # "You can associate as many as 50 tags with an alarm" (PutMetricAlarm); lengths from the model.
    **tag_params("tags", _CW, "TagResource", whole="Tags", keys="Tags[].Key", values="Tags[].Value",
                 count_source=PUT_METRIC_ALARM_URL, lengths_from_model=True),
}


class Alarm(Resource):
    KIND: ClassVar[str] = "Alarm"
    AWS_PARAMS: ClassVar[ParamTable] = ALARM_PARAMS
    SUMMARY: ClassVar[str] = "A CloudWatch metric alarm on a metric or metric math, with actions by reference."
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("THRESHOLD", ".spec.threshold", "number"),
        ("ARN", ".status.outputs.arn", "string"),
    )

    kind: Literal["Alarm"]
    spec: AlarmSpec

    def external_name(self) -> str:
        return self.spec.alarm_name or self.metadata.name
