"""CloudWatch metric shapes shared by alarms and target-tracking policies."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from controller.api.fields import BucketRef, FieldError, QueueRef, SpecModel

Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
Unit = Literal[
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]
METRIC_ID_PATTERN = r"^[a-z][a-zA-Z0-9_]*$"
_EXTENDED_STATISTIC_RE = re.compile(
    r"^(p|tm|tc|ts|wm)(100|\d{1,2}(\.\d{1,10})?)$|^IQM$|^(TM|TC|TS|WM|PR)\([^)]*\)$"
)
DIMENSIONS_MAX = 30


def check_period(seconds: int) -> int:
    """CloudWatch periods are 10, 30 or a multiple of 60 seconds."""
    if seconds in (10, 30) or (seconds >= 60 and seconds % 60 == 0):
        return seconds
    raise ValueError(f"must be 10, 30 or a multiple of 60 seconds (got {seconds})")


def check_extended_statistic(value: str) -> str:
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


def _check_dimensions(dimensions: dict[str, DimensionValue]) -> None:
    if len(dimensions) > DIMENSIONS_MAX:
        raise FieldError("dimensions", f"at most {DIMENSIONS_MAX} dimensions (got {len(dimensions)})")


class Metric(SpecModel):
    namespace: str = Field(min_length=1, max_length=255, description="e.g. AWS/SQS.")
    metric_name: str = Field(min_length=1, max_length=255, description="e.g. ApproximateNumberOfMessagesVisible.")
    dimensions: dict[str, DimensionValue] = Field(
        default_factory=dict,
        description="Name to value; a value may be a reference such as {queueRef: orders}.",
    )

    @model_validator(mode="after")
    def _dimension_count(self) -> Self:
        _check_dimensions(self.dimensions)
        return self


class MetricStat(SpecModel):
    metric: Metric
    stat: str = Field(min_length=1, description="A statistic (Average, Sum, ...) or a percentile such as p99.")
    period: int | None = Field(default=None, description="Alarms only: 10, 30 or a multiple of 60 seconds.")
    unit: Unit | None = None

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

    id: str = Field(pattern=METRIC_ID_PATTERN, max_length=255, description="Lowercase-first id, e.g. m1 or e1.")
    metric_stat: MetricStat | None = None
    expression: str | None = Field(default=None, min_length=1, max_length=2048, description="e.g. m1 / m2.")
    label: str | None = None
    return_data: bool | None = Field(
        default=None, description="true on exactly one query: the one the alarm or policy uses."
    )

    @model_validator(mode="after")
    def _stat_or_expression(self) -> Self:
        if (self.metric_stat is None) == (self.expression is None):
            raise ValueError(f"metric query {self.id!r} needs exactly one of metricStat or expression")
        return self


def check_metric_queries(queries: list[MetricQuery], field: str) -> None:
    """Ids are unique, and exactly one query returns data."""
    seen: set[str] = set()
    for index, query in enumerate(queries):
        if query.id in seen:
            raise FieldError(f"{field}[{index}].id", f"duplicate metric id {query.id!r}")
        seen.add(query.id)
    # AWS treats an omitted returnData as true, so all but one query must say false.
    returning = [query.id for query in queries if query.return_data is not False]
    if len(returning) != 1:
        raise FieldError(
            field,
            "exactly one metric query may return data; set returnData: false on the others "
            f"(returning: {', '.join(returning) or 'none'})",
        )
