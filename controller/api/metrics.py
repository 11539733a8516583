"""CloudWatch metric shapes shared by alarms and target-tracking policies, and the AWS parameters they
feed in each (the same spec fields become PutMetricAlarm's or PutScalingPolicy's members)."""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import Discriminator, Field, Tag, model_validator

from controller.api.aws_params import Hand, Like, Param, TrimtabOnly
from controller.api.fields import BucketRef, FieldError, QueueRef, SpecModel

PUT_METRIC_ALARM_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
METRIC_DATA_QUERY_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html"
TRACKING_QUERY_URL = (
    "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingMetricDataQuery.html"
)
TRACKING_STAT_URL = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingMetricStat.html"
METRIC_ID_PATTERN = r"^[a-z][a-zA-Z0-9_]*$"
_EXTENDED_STATISTIC_RE = re.compile(
    r"^(p|tm|tc|ts|wm)(100|\d{1,2}(\.\d{1,10})?)$|^IQM$|^(TM|TC|TS|WM|PR)\([^)]*\)$"
)
PERIOD_RULE = "10, 20, 30 or a multiple of 60 seconds"
STAT_NOT_EMPTY = Hand("trimtab: a statistic is never empty", min_length=1)


def check_period(seconds: int) -> int:
    """CloudWatch alarm periods are 10, 20, 30 or any multiple of 60 seconds (botocore's model says only
    `min 1`): https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    if seconds in (10, 20, 30) or (seconds >= 60 and seconds % 60 == 0):
        return seconds
    raise ValueError(f"must be {PERIOD_RULE} (got {seconds})")


def check_extended_statistic(value: str) -> str:
    """The extended statistics PutMetricAlarm lists (its model has no pattern):
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    if not _EXTENDED_STATISTIC_RE.match(value):
        raise ValueError(f"must be a percentile such as p99 or p99.9, or tm/tc/ts/wm/IQM (got {value!r})")
    return value


class DimensionRef(SpecModel):
    """A dimension value taken from another spec: the referenced resource's AWS name."""

    queue_ref: QueueRef | None = Field(default=None, description="The name of the referenced Queue.")
    bucket_ref: BucketRef | None = Field(default=None, description="The name of the referenced Bucket.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.queue_ref is None) == (self.bucket_ref is None):
            raise ValueError("a dimension reference needs exactly one of queueRef or bucketRef")
        return self


def _dimension_form(value: object) -> str:
    return "Reference" if isinstance(value, (dict, DimensionRef)) else "Value"


# A callable discriminator picks the branch from the input's shape, so a bad value yields one
# error about the form the user wrote instead of one per union member.
DimensionValue = Annotated[
    Annotated[str, Tag("Value")] | Annotated[DimensionRef, Tag("Reference")],
    Discriminator(_dimension_form),
]


class Metric(SpecModel):
    namespace: str = Field(description="e.g. AWS/SQS.")
    metric_name: str = Field(description="e.g. ApproximateNumberOfMessagesVisible.")
    dimensions: dict[str, DimensionValue] = Field(
        default_factory=dict,
        description="Name to value; a value may be a reference such as {queueRef: orders}.",
    )


class MetricStat(SpecModel):
    metric: Metric
    stat: str = Field(description="A statistic (Average, Sum, ...) or a percentile such as p99.")
    period: int | None = Field(default=None, description=f"Alarms only: {PERIOD_RULE}.")
    unit: str | None = Field(default=None, description="A CloudWatch unit such as Count or Percent.")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period is not None:
            try:
                check_period(self.period)
            except ValueError as error:
                raise FieldError("period", str(error)) from None
        return self


class MetricQuery(SpecModel):
    """One entry of metric math: a metric (metricStat) or an expression over other ids."""

    id: str = Field(description="Lowercase-first id, e.g. m1 or e1.")
    metric_stat: MetricStat | None = None
    expression: str | None = Field(
        default=None,
        description="Metric math over other ids (m1 / m2, ANOMALY_DETECTION_BAND(m1, 2)), or in an alarm a "
                    "Metrics Insights query (SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId)).")
    label: str | None = None
    return_data: bool | None = Field(
        default=None, description="true on exactly one query: the one the alarm or policy uses (an anomaly "
                                  "detection alarm's band returns data too)."
    )
    period: int | None = Field(
        default=None, description=f"Alarms only: the period of an expression's data, e.g. of a Metrics Insights "
                                  f"query: {PERIOD_RULE}.")

    @model_validator(mode="after")
    def _stat_or_expression(self) -> Self:
        if (self.metric_stat is None) == (self.expression is None):
            raise ValueError(f"metric query {self.id!r} needs exactly one of metricStat or expression")
        if self.period is not None:
            try:
                check_period(self.period)
            except ValueError as error:
                raise FieldError("period", str(error)) from None
        return self


def check_metric_queries(queries: list[MetricQuery], field: str, band: str | None = None) -> None:
    """Ids are unique, and exactly one query returns data; `band`, the anomaly detection band an alarm
    compares with (ThresholdMetricId), returns data beside it, as AWS's own example has it:
    https://repost.aws/knowledge-center/cloudwatch-set-anomaly-detection-alarm"""
    seen: set[str] = set()
    for index, query in enumerate(queries):
        if query.id in seen:
            raise FieldError(f"{field}[{index}].id", f"duplicate metric id {query.id!r}")
        seen.add(query.id)
    if band is not None and band not in seen:
        return  # which data returns depends on the band, which names no query: api/rules/anomaly_detection.py says so
    # AWS treats an omitted returnData as true, so all but one query must say false.
    returning = [query.id for query in queries if query.return_data is not False and query.id != band]
    if len(returning) != 1:
        raise FieldError(
            field,
            "exactly one metric query may return data; set returnData: false on the others "
            f"(returning: {', '.join(returning) or 'none'})",
        )


def dimension_params(prefix: str, service: str, operation: str, member: str,
                     like_cloudwatch: str | None = None) -> dict[str, Param | TrimtabOnly]:
    """A dimensions map (name -> value) rendered as a Dimensions list of Name/Value pairs at `member`.
    `like_cloudwatch` (an AWS page saying so) adds CloudWatch's own Dimension constraints."""

    def like(shape: str) -> tuple[Like, ...]:
        return (Like("cloudwatch", shape, like_cloudwatch),) if like_cloudwatch else ()

    return {
        prefix: Param(service, operation, member, like("Dimensions")),
        f"{prefix}{{key}}": Param(service, operation, f"{member}[].Name", like("DimensionName")),
        f"{prefix}{{value}}": Param(service, operation, f"{member}[].Value", like("DimensionValue")),
    }


def alarm_query_params(prefix: str) -> dict[str, Param | TrimtabOnly]:
    """The metric math of an alarm: PutMetricAlarm's Metrics."""
    cw, put = "cloudwatch", "PutMetricAlarm"
    stat = f"{prefix}[].metricStat"
    return {
        prefix: Param(cw, put, "Metrics", (
            Hand(METRIC_DATA_QUERY_URL, max_items=20),
            Hand(PUT_METRIC_ALARM_URL, min_items=1),  # MetricName or a Metrics array
        )),
        f"{prefix}[].id": Param(cw, put, "Metrics[].Id", (Hand(METRIC_DATA_QUERY_URL, pattern=METRIC_ID_PATTERN),)),
        stat: Param(cw, put, "Metrics[].MetricStat"),
        f"{stat}.metric": Param(cw, put, "Metrics[].MetricStat.Metric"),
        f"{stat}.metric.namespace": Param(cw, put, "Metrics[].MetricStat.Metric.Namespace"),
        f"{stat}.metric.metricName": Param(cw, put, "Metrics[].MetricStat.Metric.MetricName"),
        **dimension_params(f"{stat}.metric.dimensions", cw, put, "Metrics[].MetricStat.Metric.Dimensions"),
        f"{stat}.stat": Param(cw, put, "Metrics[].MetricStat.Stat", (STAT_NOT_EMPTY,)),
        f"{stat}.period": Param(cw, put, "Metrics[].MetricStat.Period",
                                (Hand(PUT_METRIC_ALARM_URL, rule=PERIOD_RULE),)),
        f"{stat}.unit": Param(cw, put, "Metrics[].MetricStat.Unit"),
        f"{prefix}[].expression": Param(cw, put, "Metrics[].Expression"),
        f"{prefix}[].label": Param(cw, put, "Metrics[].Label"),
        f"{prefix}[].returnData": Param(cw, put, "Metrics[].ReturnData"),
        f"{prefix}[].period": Param(cw, put, "Metrics[].Period", (Hand(PUT_METRIC_ALARM_URL, rule=PERIOD_RULE),)),
    }


def tracking_query_params(prefix: str, member: str) -> dict[str, Param | TrimtabOnly]:
    """The metric math of a target-tracking policy: PutScalingPolicy's customized metric Metrics."""
    aas, put = "application-autoscaling", "PutScalingPolicy"
    stat, stat_member = f"{prefix}[].metricStat", f"{member}[].MetricStat"
    return {
        prefix: Param(aas, put, member, (Hand("trimtab: an empty list is no metric; write the single-metric "
                                               "form instead", min_items=1),)),
        f"{prefix}[].id": Param(aas, put, f"{member}[].Id", (Hand(TRACKING_QUERY_URL, pattern=METRIC_ID_PATTERN),)),
        stat: Param(aas, put, stat_member),
        f"{stat}.metric": Param(aas, put, f"{stat_member}.Metric"),
        f"{stat}.metric.namespace": Param(aas, put, f"{stat_member}.Metric.Namespace"),
        f"{stat}.metric.metricName": Param(aas, put, f"{stat_member}.Metric.MetricName"),
        **dimension_params(f"{stat}.metric.dimensions", aas, put, f"{stat_member}.Metric.Dimensions"),
        f"{stat}.stat": Param(aas, put, f"{stat_member}.Stat", (STAT_NOT_EMPTY,)),
        f"{stat}.period": TrimtabOnly("target tracking metrics take no period (TargetTrackingMetricStat has "
                                      "none): refused if set"),
        f"{stat}.unit": Param(aas, put, f"{stat_member}.Unit",
                              (Like("cloudwatch", "StandardUnit", TRACKING_STAT_URL),)),
        f"{prefix}[].expression": Param(aas, put, f"{member}[].Expression"),
        f"{prefix}[].label": Param(aas, put, f"{member}[].Label"),
        f"{prefix}[].returnData": Param(aas, put, f"{member}[].ReturnData"),
        f"{prefix}[].period": TrimtabOnly("target tracking metric queries take no period "
                                          "(TargetTrackingMetricDataQuery has none): refused if set"),
    }


