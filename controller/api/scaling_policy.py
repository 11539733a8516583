"""ScalingPolicy: an Application Auto Scaling policy (target tracking or step scaling) on a ScalableTarget."""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.envelope import ManagedSpec, Resource
from controller.api.fields import FieldError, QueueRef, ScalableTargetRef, SpecModel
from controller.api.metrics import DimensionValue, MetricQuery, Statistic, Unit, check_metric_queries

PredefinedMetricType = Literal[
    "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget",
    "DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization", "LambdaProvisionedConcurrencyUtilization",
    "RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections", "SageMakerVariantInvocationsPerInstance",
    "EC2SpotFleetRequestAverageCPUUtilization", "ElastiCachePrimaryEngineCPUUtilization",
    "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage", "KafkaBrokerStorageUtilization",
    "WorkSpacesAverageUserSessionsCapacityUtilization",
]
_POLICY_NAME_RE = re.compile(r"^[^:/\s][^:/]{0,254}[^:/\s]$|^[^:/\s]$")


class PredefinedMetric(SpecModel):
    type: PredefinedMetricType = Field(description="A predefined metric such as ECSServiceAverageCPUUtilization.")
    resource_label: str | None = Field(default=None, max_length=1023, description="Needed by ALBRequestCountPerTarget.")

    @model_validator(mode="after")
    def _label(self) -> Self:
        if self.type == "ALBRequestCountPerTarget" and not self.resource_label:
            raise FieldError("resourceLabel", "ALBRequestCountPerTarget needs resourceLabel")
        return self


class CustomizedMetric(SpecModel):
    """Either a single metric (namespace, metricName, statistic) or metric math (metrics)."""

    namespace: str | None = Field(default=None, min_length=1)
    metric_name: str | None = Field(default=None, min_length=1)
    dimensions: dict[str, DimensionValue] = Field(default_factory=dict)
    statistic: Statistic | None = None
    unit: Unit | None = None
    metrics: list[MetricQuery] | None = Field(default=None, min_length=1, max_length=10)

    @model_validator(mode="after")
    def _single_or_math(self) -> Self:
        single = (self.namespace, self.metric_name, self.statistic)
        if self.metrics is not None:
            if any(part is not None for part in single) or self.dimensions:
                raise FieldError("metrics", "use either metrics (metric math) or namespace/metricName, not both")
            check_metric_queries(self.metrics, "metrics")
            for index, query in enumerate(self.metrics):
                if query.metric_stat is not None and query.metric_stat.period is not None:
                    raise FieldError(f"metrics[{index}].metricStat.period", "target tracking metrics take no period")
        elif any(part is None for part in single):
            raise ValueError("a customized metric needs namespace, metricName and statistic, or metrics")
        return self


class QueueBacklogPerTask(SpecModel):
    """AWS's recommended queue-worker metric: visible messages divided by running tasks."""

    queue_ref: QueueRef = Field(description="The Queue whose backlog drives scaling.")
    target: float = Field(gt=0, description="Acceptable backlog per task: latency target / time per message.")


class TargetTracking(SpecModel):
    target_value: float | None = Field(default=None, gt=0, description="The metric value to hold.")
    predefined_metric: PredefinedMetric | None = None
    customized_metric: CustomizedMetric | None = None
    queue_backlog_per_task: QueueBacklogPerTask | None = Field(
        default=None, description="Shorthand: expands to backlog-per-task metric math; carries its own target."
    )
    scale_in_cooldown: int | None = Field(default=None, ge=0, le=86400, description="Seconds.")
    scale_out_cooldown: int | None = Field(default=None, ge=0, le=86400, description="Seconds.")
    disable_scale_in: bool = False

    @model_validator(mode="after")
    def _one_metric(self) -> Self:
        sources = [self.predefined_metric, self.customized_metric, self.queue_backlog_per_task]
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                "target tracking needs exactly one of predefinedMetric, customizedMetric or queueBacklogPerTask"
            )
        if self.queue_backlog_per_task is not None and self.target_value is not None:
            raise FieldError("targetValue", "queueBacklogPerTask carries its own target; drop targetValue")
        if self.queue_backlog_per_task is None and self.target_value is None:
            raise FieldError("targetValue", "targetValue is required")
        return self

    @property
    def effective_target(self) -> float:
        if self.queue_backlog_per_task is not None:
            return self.queue_backlog_per_task.target
        assert self.target_value is not None  # guaranteed by _one_metric
        return self.target_value


class Step(SpecModel):
    lower_bound: float | None = Field(
        default=None, description="Lower bound, relative to the alarm threshold; omitted means minus infinity."
    )
    upper_bound: float | None = Field(default=None, description="Upper bound; omitted means infinity.")
    adjustment: int = Field(description="Capacity change when the metric falls in this step.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.lower_bound is not None and self.upper_bound is not None and self.lower_bound >= self.upper_bound:
            raise FieldError(
                "upperBound", f"upperBound ({self.upper_bound}) must exceed lowerBound ({self.lower_bound})"
            )
        return self


class StepScaling(SpecModel):
    adjustment_type: Literal["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"]
    steps: list[Step] = Field(min_length=1, max_length=20)
    cooldown: int | None = Field(default=None, ge=0, le=86400, description="Seconds between scaling activities.")
    metric_aggregation_type: Literal["Average", "Minimum", "Maximum"] = "Average"
    min_adjustment_magnitude: int | None = Field(
        default=None, ge=1, description="PercentChangeInCapacity only: the smallest change in capacity."
    )

    @model_validator(mode="after")
    def _steps_tile(self) -> Self:
        if self.min_adjustment_magnitude is not None and self.adjustment_type != "PercentChangeInCapacity":
            raise FieldError(
                "minAdjustmentMagnitude", "minAdjustmentMagnitude needs adjustmentType PercentChangeInCapacity"
            )
        ordered = sorted(
            enumerate(self.steps),
            key=lambda pair: float("-inf") if pair[1].lower_bound is None else pair[1].lower_bound,
        )
        for position, (index, step) in enumerate(ordered):
            if step.lower_bound is None and position != 0:
                raise FieldError(f"steps[{index}].lowerBound", "only one step may omit lowerBound")
            if step.upper_bound is None and position != len(ordered) - 1:
                raise FieldError(f"steps[{index}].upperBound", "only the highest step may omit upperBound")
            if position > 0:
                previous = ordered[position - 1][1]
                if previous.upper_bound != step.lower_bound:
                    raise FieldError(
                        f"steps[{index}].lowerBound",
                        f"steps must not overlap or leave gaps: lowerBound {step.lower_bound} "
                        f"should equal the previous step's upperBound {previous.upper_bound}",
                    )
        return self


class ScalingPolicySpec(ManagedSpec):
    policy_name: str | None = Field(default=None, description="The policy name; defaults to metadata.name.")
    target_ref: ScalableTargetRef = Field(description="metadata.name of the ScalableTarget this policy scales.")
    target_tracking: TargetTracking | None = None
    step_scaling: StepScaling | None = None

    @model_validator(mode="after")
    def _one_type(self) -> Self:
        if (self.target_tracking is None) == (self.step_scaling is None):
            raise ValueError("a scaling policy needs exactly one of targetTracking or stepScaling")
        return self


class ScalingPolicy(Resource):
    KIND: ClassVar[str] = "ScalingPolicy"
    SUMMARY: ClassVar[str] = "An Application Auto Scaling policy: target tracking or step scaling."
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("TARGET", ".spec.targetRef", "string"),
        ("ARN", ".status.outputs.arn", "string"),
    )

    kind: Literal["ScalingPolicy"]
    spec: ScalingPolicySpec

    def external_name(self) -> str:
        # Policy names are unique per scalable target; the engine maps the target to its AWS identity.
        return f"{self.spec.target_ref.name}|{self.spec.policy_name or self.metadata.name}"

    @property
    def policy_name(self) -> str:
        return self.spec.policy_name or self.metadata.name

    @model_validator(mode="after")
    def _name_rules(self) -> Self:
        if not _POLICY_NAME_RE.match(self.policy_name):
            raise FieldError(
                "spec.policyName" if self.spec.policy_name else "metadata.name",
                "a policy name is 1 to 256 printable characters without ':' or '/'",
            )
        return self
