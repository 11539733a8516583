"""ScalingPolicy: an Application Auto Scaling policy (target tracking, step scaling or predictive) on a
ScalableTarget."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import Hand, Like, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, QueueRef, ScalableTargetRef, SpecModel
from controller.api.metrics import (
    DimensionValue,
    MetricQuery,
    check_metric_queries,
    dimension_params,
    tracking_query_params,
)

_API = "https://docs.aws.amazon.com/autoscaling/application/APIReference"
TARGET_TRACKING_URL = f"{_API}/API_TargetTrackingScalingPolicyConfiguration.html"
CUSTOMIZED_METRIC_URL = f"{_API}/API_CustomizedMetricSpecification.html"
STEP_SCALING_URL = f"{_API}/API_StepScalingPolicyConfiguration.html"
PREDICTIVE_METRIC_URL = f"{_API}/API_PredictiveScalingMetricSpecification.html"
QUOTAS_URL = "https://docs.aws.amazon.com/autoscaling/application/userguide/application-autoscaling-limits.html"
COOLDOWN_URL = "https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html"
# "Values must be in the range of -2^360 to 2^360" (TargetValue; the model says only `double`).
TARGET_VALUE_RANGE = Hand(TARGET_TRACKING_URL, minimum=-(2.0**360), maximum=2.0**360)


class PredefinedMetric(SpecModel):
    type: str = Field(description="A predefined metric such as ECSServiceAverageCPUUtilization.")
    resource_label: str | None = Field(default=None, description="Needed by ALBRequestCountPerTarget.")

    @model_validator(mode="after")
    def _label(self) -> Self:
        if self.type == "ALBRequestCountPerTarget" and not self.resource_label:
            raise FieldError("resourceLabel", "ALBRequestCountPerTarget needs resourceLabel")
        return self


class CustomizedMetric(SpecModel):
    """Either a single metric (namespace, metricName, statistic) or metric math (metrics)."""

    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, DimensionValue] = Field(default_factory=dict)
    statistic: str | None = None
    unit: str | None = None
    metrics: list[MetricQuery] | None = None

    @model_validator(mode="after")
    def _single_or_math(self) -> Self:
        single = (self.namespace, self.metric_name, self.statistic)
        if self.metrics is not None:
            if any(part is not None for part in single) or self.dimensions:
                raise FieldError("metrics", "use either metrics (metric math) or namespace/metricName, not both")
            check_policy_queries(self.metrics, "target tracking")
        elif any(part is None for part in single):
            raise ValueError("a customized metric needs namespace, metricName and statistic, or metrics")
        return self


def check_policy_queries(queries: list[MetricQuery], policy_type: str) -> None:
    """A policy's metric math: unique ids, one query returning data, and no period (Application Auto
    Scaling's metric stats have none: TargetTrackingMetricStat, PredictiveScalingMetricStat)."""
    check_metric_queries(queries, "metrics")
    for index, query in enumerate(queries):
        if query.metric_stat is not None and query.metric_stat.period is not None:
            raise FieldError(f"metrics[{index}].metricStat.period", f"{policy_type} metrics take no period")
        if query.period is not None:
            raise FieldError(f"metrics[{index}].period", f"{policy_type} metric queries take no period")


class QueueBacklogPerTask(SpecModel):
    """AWS's recommended queue-worker metric: visible messages divided by running tasks."""

    queue_ref: QueueRef = Field(description="The Queue whose backlog drives scaling.")
    target: float = Field(description="Acceptable backlog per task: latency target / time per message.")


class TargetTracking(SpecModel):
    target_value: float | None = Field(default=None, description="The metric value to hold.")
    predefined_metric: PredefinedMetric | None = None
    customized_metric: CustomizedMetric | None = None
    queue_backlog_per_task: QueueBacklogPerTask | None = Field(
        default=None, description="Shorthand: expands to backlog-per-task metric math; carries its own target."
    )
    scale_in_cooldown: int | None = Field(default=None, description="Seconds.")
    scale_out_cooldown: int | None = Field(default=None, description="Seconds.")
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
    adjustment_type: str
    steps: list[Step]
    cooldown: int | None = Field(default=None, description="Seconds between scaling activities.")
    metric_aggregation_type: str = "Average"
    min_adjustment_magnitude: int | None = Field(
        default=None, description="PercentChangeInCapacity only: the smallest change in capacity."
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


class PredictiveMetric(SpecModel):
    type: str = Field(description="A predefined metric such as ECSServiceCPUUtilization.")
    resource_label: str | None = Field(default=None, description="Needed by the ALB request count metrics.")


class PredictiveCustomizedMetric(SpecModel):
    """A metric of your own for predictive scaling, as CloudWatch metric math."""

    metrics: list[MetricQuery] = Field(description="Metric queries; exactly one returns the metric (returnData).")

    @model_validator(mode="after")
    def _queries(self) -> Self:
        check_policy_queries(self.metrics, "predictive scaling")
        return self


class PredictiveMetricSpecification(SpecModel):
    """A metric pair, or a scaling and a load metric, each predefined or customized (metric math)."""

    target_value: float = Field(description="The scaling metric's value to hold.")
    predefined_metric_pair: PredictiveMetric | None = None
    predefined_scaling_metric: PredictiveMetric | None = None
    predefined_load_metric: PredictiveMetric | None = None
    customized_scaling_metric: PredictiveCustomizedMetric | None = Field(
        default=None, description="The scaling metric as metric math, instead of predefinedScalingMetric.")
    customized_load_metric: PredictiveCustomizedMetric | None = Field(
        default=None, description="The load metric (what the forecast is made of) as metric math, instead of "
                                  "predefinedLoadMetric.")
    customized_capacity_metric: PredictiveCustomizedMetric | None = Field(
        default=None, description="The capacity metric as metric math (optional).")

    @model_validator(mode="after")
    def _pair_or_both(self) -> Self:
        # "Specify either a metric pair, or a load metric and a scaling metric individually"; each of
        # the two is predefined or customized (API_PredictiveScalingMetricSpecification).
        scaling = {"predefinedScalingMetric": self.predefined_scaling_metric,
                   "customizedScalingMetric": self.customized_scaling_metric}
        load = {"predefinedLoadMetric": self.predefined_load_metric,
                "customizedLoadMetric": self.customized_load_metric}
        chosen = [[name for name, value in metric.items() if value is not None] for metric in (scaling, load)]
        for names in chosen:
            if len(names) > 1:
                raise FieldError(names[1], f"use either {' or '.join(names)}")
        if self.predefined_metric_pair is not None and any(chosen):
            raise FieldError("predefinedMetricPair", "use either predefinedMetricPair or the scaling and load metrics")
        if self.predefined_metric_pair is None and not all(chosen):
            raise ValueError("needs predefinedMetricPair, or a scaling metric (predefinedScalingMetric or "
                             "customizedScalingMetric) and a load metric (predefinedLoadMetric or "
                             "customizedLoadMetric)")
        return self


class PredictiveScaling(SpecModel):
    metric_specifications: list[PredictiveMetricSpecification]
    mode: str | None = Field(default=None, description="ForecastOnly (AWS's default) or ForecastAndScale.")
    scheduling_buffer_time: int | None = Field(default=None, description="Seconds to launch capacity early.")
    max_capacity_breach_behavior: str | None = Field(
        default=None, description="HonorMaxCapacity (AWS's default) or IncreaseMaxCapacity.")
    max_capacity_buffer: int | None = Field(
        default=None, description="Percent above the forecast that IncreaseMaxCapacity may raise the maximum to.")


class ScalingPolicySpec(ManagedSpec):
    policy_name: str | None = Field(default=None, description="The policy name; defaults to metadata.name.")
    target_ref: ScalableTargetRef = Field(description="metadata.name of the ScalableTarget this policy scales.")
    target_tracking: TargetTracking | None = None
    step_scaling: StepScaling | None = None
    predictive_scaling: PredictiveScaling | None = None

    @model_validator(mode="after")
    def _one_type(self) -> Self:
        if sum(kind is not None for kind in (self.target_tracking, self.step_scaling, self.predictive_scaling)) != 1:
            raise ValueError("a scaling policy needs exactly one of targetTracking, stepScaling or predictiveScaling")
        return self


_AAS, _PUT = "application-autoscaling", "PutScalingPolicy"
_TT = "TargetTrackingScalingPolicyConfiguration"
_CUSTOM = f"{_TT}.CustomizedMetricSpecification"
_SS = "StepScalingPolicyConfiguration"
_PS = "PredictiveScalingPolicyConfiguration"
_PM = f"{_PS}.MetricSpecifications[]"
# A customized metric is a CloudWatch metric ("Add values for each required parameter from CloudWatch"):
# CloudWatch's own limits on its names apply, where Application Auto Scaling's model has none.
_LIKE_CLOUDWATCH = CUSTOMIZED_METRIC_URL
_COOLDOWN = Hand(COOLDOWN_URL, minimum=0)  # an amount of time in seconds

SCALING_POLICY_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "policyName": Param(_AAS, _PUT, "PolicyName"),
    "targetRef": TrimtabOnly("a reference: the target's ServiceNamespace, ResourceId and ScalableDimension"),
    "targetTracking": Param(_AAS, _PUT, _TT),
    "targetTracking.targetValue": Param(_AAS, _PUT, f"{_TT}.TargetValue", (TARGET_VALUE_RANGE,)),
    "targetTracking.predefinedMetric": Param(_AAS, _PUT, f"{_TT}.PredefinedMetricSpecification"),
    "targetTracking.predefinedMetric.type": Param(
        _AAS, _PUT, f"{_TT}.PredefinedMetricSpecification.PredefinedMetricType"),
    "targetTracking.predefinedMetric.resourceLabel": Param(
        _AAS, _PUT, f"{_TT}.PredefinedMetricSpecification.ResourceLabel"),
    "targetTracking.customizedMetric": Param(_AAS, _PUT, _CUSTOM),
    "targetTracking.customizedMetric.namespace": Param(
        _AAS, _PUT, f"{_CUSTOM}.Namespace", (Like("cloudwatch", "Namespace", _LIKE_CLOUDWATCH),)),
    "targetTracking.customizedMetric.metricName": Param(
        _AAS, _PUT, f"{_CUSTOM}.MetricName", (Like("cloudwatch", "MetricName", _LIKE_CLOUDWATCH),)),
    **dimension_params("targetTracking.customizedMetric.dimensions", _AAS, _PUT, f"{_CUSTOM}.Dimensions",
                       like_cloudwatch=_LIKE_CLOUDWATCH),
    "targetTracking.customizedMetric.statistic": Param(_AAS, _PUT, f"{_CUSTOM}.Statistic"),
    "targetTracking.customizedMetric.unit": Param(
        _AAS, _PUT, f"{_CUSTOM}.Unit", (Like("cloudwatch", "StandardUnit", _LIKE_CLOUDWATCH),)),
    **tracking_query_params("targetTracking.customizedMetric.metrics", f"{_CUSTOM}.Metrics"),
    "targetTracking.queueBacklogPerTask": TrimtabOnly(
        "a shorthand: expands to CustomizedMetricSpecification metric math (backlog / running tasks)"),
    "targetTracking.queueBacklogPerTask.queueRef": TrimtabOnly("a reference: the queue's name in the metric math"),
    "targetTracking.queueBacklogPerTask.target": Param(_AAS, _PUT, f"{_TT}.TargetValue", (
        TARGET_VALUE_RANGE,
        Hand("trimtab: a backlog per task is never negative, and a target of 0 would never scale in",
             exclusive_minimum=0),
    )),
    "targetTracking.scaleInCooldown": Param(_AAS, _PUT, f"{_TT}.ScaleInCooldown", (_COOLDOWN,)),
    "targetTracking.scaleOutCooldown": Param(_AAS, _PUT, f"{_TT}.ScaleOutCooldown", (_COOLDOWN,)),
    "targetTracking.disableScaleIn": Param(_AAS, _PUT, f"{_TT}.DisableScaleIn"),
    "stepScaling": Param(_AAS, _PUT, _SS),
    "stepScaling.adjustmentType": Param(_AAS, _PUT, f"{_SS}.AdjustmentType"),
    "stepScaling.steps": Param(_AAS, _PUT, f"{_SS}.StepAdjustments", (
        Hand(STEP_SCALING_URL, min_items=1),  # "At least one step adjustment is required"
        Hand(QUOTAS_URL, max_items=20),  # step adjustments per step scaling policy
    )),
    "stepScaling.steps[].lowerBound": Param(_AAS, _PUT, f"{_SS}.StepAdjustments[].MetricIntervalLowerBound"),
    "stepScaling.steps[].upperBound": Param(_AAS, _PUT, f"{_SS}.StepAdjustments[].MetricIntervalUpperBound"),
    "stepScaling.steps[].adjustment": Param(_AAS, _PUT, f"{_SS}.StepAdjustments[].ScalingAdjustment"),
    "stepScaling.cooldown": Param(_AAS, _PUT, f"{_SS}.Cooldown", (Hand(STEP_SCALING_URL, minimum=0),)),
    "stepScaling.metricAggregationType": Param(_AAS, _PUT, f"{_SS}.MetricAggregationType"),
    # "The minimum value to scale by": a count of capacity units, so at least 1.
    "stepScaling.minAdjustmentMagnitude": Param(_AAS, _PUT, f"{_SS}.MinAdjustmentMagnitude", (
        Hand(STEP_SCALING_URL, minimum=1),)),
    "predictiveScaling": Param(_AAS, _PUT, _PS),
    "predictiveScaling.metricSpecifications": Param(_AAS, _PUT, f"{_PS}.MetricSpecifications", (
        Hand(PREDICTIVE_METRIC_URL, min_items=1),)),  # MetricSpecifications is required: at least one
    "predictiveScaling.metricSpecifications[].targetValue": Param(_AAS, _PUT, f"{_PM}.TargetValue"),
    **{f"predictiveScaling.metricSpecifications[].{spec}{leaf}": Param(_AAS, _PUT, f"{_PM}.{aws}{wire}")
       for spec, aws in (("predefinedMetricPair", "PredefinedMetricPairSpecification"),
                         ("predefinedScalingMetric", "PredefinedScalingMetricSpecification"),
                         ("predefinedLoadMetric", "PredefinedLoadMetricSpecification"))
       for leaf, wire in (("", ""), (".type", ".PredefinedMetricType"), (".resourceLabel", ".ResourceLabel"))},
    # PredictiveScalingMetricDataQuery has TargetTrackingMetricDataQuery's shape, in PutScalingPolicy too.
    **{key: value
       for spec, aws in (("customizedScalingMetric", "CustomizedScalingMetricSpecification"),
                         ("customizedLoadMetric", "CustomizedLoadMetricSpecification"),
                         ("customizedCapacityMetric", "CustomizedCapacityMetricSpecification"))
       for key, value in {
           f"predictiveScaling.metricSpecifications[].{spec}": Param(_AAS, _PUT, f"{_PM}.{aws}"),
           **tracking_query_params(f"predictiveScaling.metricSpecifications[].{spec}.metrics",
                                   f"{_PM}.{aws}.MetricDataQueries"),
       }.items()},
    "predictiveScaling.mode": Param(_AAS, _PUT, f"{_PS}.Mode"),
    "predictiveScaling.schedulingBufferTime": Param(_AAS, _PUT, f"{_PS}.SchedulingBufferTime"),
    "predictiveScaling.maxCapacityBreachBehavior": Param(_AAS, _PUT, f"{_PS}.MaxCapacityBreachBehavior"),
    "predictiveScaling.maxCapacityBuffer": Param(_AAS, _PUT, f"{_PS}.MaxCapacityBuffer"),
}


class ScalingPolicy(Resource):
    KIND: ClassVar[str] = "ScalingPolicy"
    AWS_PARAMS: ClassVar[ParamTable] = SCALING_POLICY_PARAMS
    SUMMARY: ClassVar[str] = "An Application Auto Scaling policy: target tracking, step scaling or predictive."
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
