"""Alarm: a CloudWatch metric alarm on one metric or on metric math."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.envelope import ManagedSpec, Resource
from controller.api.fields import FieldError, ScalingPolicyRef, SpecModel, Tags
from controller.api.metrics import (
    DimensionValue,
    MetricQuery,
    Statistic,
    Unit,
    check_extended_statistic,
    check_metric_queries,
    check_period,
)

ComparisonOperator = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]
TreatMissingData = Literal["breaching", "notBreaching", "ignore", "missing"]
ONE_DAY_SECONDS = 86400
ACTIONS_MAX = 5


class AlarmMetric(SpecModel):
    namespace: str = Field(min_length=1, max_length=255, description="e.g. AWS/ECS.")
    metric_name: str = Field(min_length=1, max_length=255, description="e.g. CPUUtilization.")
    dimensions: dict[str, DimensionValue] = Field(
        default_factory=dict, description="Name to value; a value may be a reference such as {queueRef: orders}."
    )
    statistic: Statistic | None = Field(default=None, description="Average, Sum, ...; or use extendedStatistic.")
    extended_statistic: str | None = Field(default=None, description="A percentile such as p99.")
    period: int = Field(description="Seconds: 10, 30 or a multiple of 60.")
    unit: Unit | None = None

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
    """Where the alarm notifies: a ScalingPolicy spec by reference, or any action ARN (e.g. an SNS topic)."""

    scaling_policy_ref: ScalingPolicyRef | None = Field(default=None, description="A ScalingPolicy spec's name.")
    arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:", description="An action ARN.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.scaling_policy_ref is None) == (self.arn is None):
            raise ValueError("an action needs exactly one of scalingPolicyRef or arn")
        return self


class AlarmSpec(ManagedSpec):
    alarm_name: str | None = Field(default=None, min_length=1, max_length=255, description="Defaults to metadata.name.")
    description: str | None = Field(default=None, max_length=1024)
    metric: AlarmMetric | None = Field(default=None, description="A single metric; or use metrics.")
    metrics: list[MetricQuery] | None = Field(
        default=None, min_length=1, max_length=20, description="Metric math; exactly one query returns data."
    )
    evaluation_periods: int = Field(ge=1, description="Periods to evaluate.")
    datapoints_to_alarm: int | None = Field(default=None, ge=1, description="M of N: at most evaluationPeriods.")
    threshold: float = Field(description="The value the statistic is compared with.")
    comparison_operator: ComparisonOperator
    treat_missing_data: TreatMissingData = Field(default="missing", description="How missing datapoints count.")
    actions_enabled: bool = True
    alarm_actions: list[AlarmAction] = Field(default_factory=list, max_length=ACTIONS_MAX)
    ok_actions: list[AlarmAction] = Field(default_factory=list, max_length=ACTIONS_MAX)
    insufficient_data_actions: list[AlarmAction] = Field(default_factory=list, max_length=ACTIONS_MAX)
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
            check_metric_queries(self.metrics, "metrics")
            for index, query in enumerate(self.metrics):
                if query.metric_stat is not None and query.metric_stat.period is None:
                    raise FieldError(f"metrics[{index}].metricStat.period", "alarm metrics need a period")
            periods = [query.metric_stat.period for query in self.metrics if query.metric_stat]
            period = max((p for p in periods if p is not None), default=None)
        if period is not None and period * self.evaluation_periods > ONE_DAY_SECONDS:
            raise FieldError(
                "evaluationPeriods",
                f"evaluationPeriods x period must be at most one day ({self.evaluation_periods} x {period}s)",
            )
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise FieldError(
                "datapointsToAlarm",
                f"must be at most evaluationPeriods ({self.evaluation_periods}) (got {self.datapoints_to_alarm})",
            )
        return self


class Alarm(Resource):
    KIND: ClassVar[str] = "Alarm"
    SUMMARY: ClassVar[str] = "A CloudWatch metric alarm on a metric or metric math, with actions by reference."
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("THRESHOLD", ".spec.threshold", "number"),
        ("ARN", ".status.outputs.arn", "string"),
    )

    kind: Literal["Alarm"]
    spec: AlarmSpec

    def external_name(self) -> str:
        return self.spec.alarm_name or self.metadata.name
