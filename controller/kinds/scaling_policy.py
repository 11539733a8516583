"""Application Auto Scaling policies: target tracking, step scaling and predictive scaling.

moto gaps: no tagging (ownership rests on the inventory, as for targets), and
DescribeScalingPolicies ignores its PolicyNames filter, so we filter by name ourselves; PutScalingPolicy
refuses PolicyType PredictiveScaling, so its request is checked against botocore's model instead
(tests/test_predictive_scaling.py).
"""

from __future__ import annotations

from typing import Any

from controller.api.rules.pairs import (
    backlog_needs_ecs_target,
    policy_type_supported_by_namespace,
    predefined_metric_matches_target,
)
from controller.api.scaling_policy import PredictiveScaling, ScalingPolicy, TargetTracking
from controller.api.substitution import Environment
from controller.kinds.base import Desired, Observation, Outputs, RefResolver, ResourceClient, compare
from controller.kinds.descriptor import IamGrant, KindDescriptor
from controller.kinds.metric_rendering import dimensions, metric_queries, normalise_queries
from controller.kinds.scalable_target import find_on_target, on_target, touched_on_target
from controller.store.base import Identity

TARGET_TRACKING = "TargetTrackingScaling"
STEP_SCALING = "StepScaling"
PREDICTIVE_SCALING = "PredictiveScaling"
_CONFIG_KEY = {
    TARGET_TRACKING: "TargetTrackingScalingPolicyConfiguration",
    STEP_SCALING: "StepScalingPolicyConfiguration",
    PREDICTIVE_SCALING: "PredictiveScalingPolicyConfiguration",
}
# A predictive metric specification's metric math: AWS member -> the spec's field.
_CUSTOMIZED_PREDICTIVE = {"CustomizedScalingMetricSpecification": "customized_scaling_metric",
                          "CustomizedLoadMetricSpecification": "customized_load_metric",
                          "CustomizedCapacityMetricSpecification": "customized_capacity_metric"}


class ScalingPolicyClient(ResourceClient[ScalingPolicy]):
    kind = "ScalingPolicy"
    service = "application-autoscaling"
    tags_ownership = False
    spec_fields = {
        **{f"configuration.{aws}": f"targetTracking.{spec}" for aws, spec in (
            ("TargetValue", "targetValue"), ("DisableScaleIn", "disableScaleIn"),
            ("ScaleInCooldown", "scaleInCooldown"), ("ScaleOutCooldown", "scaleOutCooldown"),
            ("PredefinedMetricSpecification", "predefinedMetric"),
            ("PredefinedMetricSpecification.PredefinedMetricType", "predefinedMetric.type"),
            ("CustomizedMetricSpecification", "customizedMetric"))},
        **{f"configuration.{aws}": f"stepScaling.{spec}" for aws, spec in (
            ("AdjustmentType", "adjustmentType"), ("MetricAggregationType", "metricAggregationType"),
            ("StepAdjustments", "steps"), ("Cooldown", "cooldown"),
            ("MinAdjustmentMagnitude", "minAdjustmentMagnitude"))},
        **{f"configuration.{aws}": f"predictiveScaling.{spec}" for aws, spec in (
            ("MetricSpecifications", "metricSpecifications"), ("Mode", "mode"),
            ("SchedulingBufferTime", "schedulingBufferTime"),
            ("MaxCapacityBreachBehavior", "maxCapacityBreachBehavior"), ("MaxCapacityBuffer", "maxCapacityBuffer"))},
    }

    def identity(self, resource: ScalingPolicy, refs: RefResolver) -> Identity:
        return on_target(resource.policy_name, resource.spec.target_ref, refs)

    def render(self, resource: ScalingPolicy, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        if spec.target_tracking is not None:
            tracking = _target_tracking(resource, spec.target_tracking, refs)
            return {"policyType": TARGET_TRACKING, "configuration": tracking}
        if spec.predictive_scaling is not None:
            return {"policyType": PREDICTIVE_SCALING, "configuration": _predictive(spec.predictive_scaling, refs)}
        assert spec.step_scaling is not None  # exactly one is set, by the model
        step = spec.step_scaling
        configuration: dict[str, Any] = {
            "AdjustmentType": step.adjustment_type,
            "MetricAggregationType": step.metric_aggregation_type,
            # In the order observe reports them: a spec listing steps highest first is not drift.
            "StepAdjustments": _sorted_steps([_step(s) for s in step.steps]),
        }
        if step.cooldown is not None:
            configuration["Cooldown"] = step.cooldown
        if step.min_adjustment_magnitude is not None:
            configuration["MinAdjustmentMagnitude"] = step.min_adjustment_magnitude
        return {"policyType": STEP_SCALING, "configuration": configuration}

    async def observe(self, desired: Desired[ScalingPolicy]) -> Observation:
        identity = desired.identity
        client = await self.aws.client("application-autoscaling")
        found = await find_on_target(client, "describe_scaling_policies", identity, results="ScalingPolicies",
                                     name_key="PolicyName", names_filter="PolicyNames")
        if found is None:
            return Observation(exists=False)
        policy_type = found["PolicyType"]
        observed = dict(found.get(_CONFIG_KEY.get(policy_type, ""), {}))
        # Settings the spec leaves out (cooldowns, ...) are unmanaged: compare only what it sets.
        wanted = desired.state["configuration"]
        configuration = {key: value for key, value in observed.items() if key in wanted}
        if policy_type == STEP_SCALING:
            configuration["StepAdjustments"] = _sorted_steps(configuration.get("StepAdjustments", []))
        if policy_type == PREDICTIVE_SCALING and "MetricSpecifications" in configuration:
            configuration["MetricSpecifications"] = _observed_predictive(configuration["MetricSpecifications"])
        custom = configuration.get("CustomizedMetricSpecification")
        if isinstance(custom, dict) and "Metrics" in custom:
            configuration["CustomizedMetricSpecification"] = {"Metrics": normalise_queries(custom["Metrics"])}
        elif isinstance(custom, dict):
            custom = dict(custom)
            custom["Dimensions"] = sorted(custom.get("Dimensions", []), key=lambda d: d["Name"])
            configuration["CustomizedMetricSpecification"] = custom
        if "DisableScaleIn" in wanted:
            configuration.setdefault("DisableScaleIn", False)
        state = {"policyType": policy_type, "configuration": configuration}
        outputs = {"arn": found["PolicyARN"], "name": found["PolicyName"]}
        return compare(desired, Observation(exists=True, state=state, outputs=outputs))

    async def create(self, desired: Desired[ScalingPolicy]) -> Outputs:
        return await self._put(desired)

    async def update(self, desired: Desired[ScalingPolicy], observation: Observation) -> Outputs:
        # PutScalingPolicy replaces a policy in place, keeping its ARN.
        return await self._put(desired)

    async def _put(self, desired: Desired[ScalingPolicy]) -> Outputs:
        client = await self.aws.client("application-autoscaling")
        identity, state = desired.identity, desired.state
        response = await client.put_scaling_policy(
            PolicyName=identity["name"],
            ServiceNamespace=identity["namespace"],
            ResourceId=identity["resourceId"],
            ScalableDimension=identity["dimension"],
            PolicyType=state["policyType"],
            **{_CONFIG_KEY[state["policyType"]]: state["configuration"]},
        )
        return {"arn": response["PolicyARN"], "name": identity["name"]}

    async def delete(self, identity: Identity) -> None:
        client = await self.aws.client("application-autoscaling")
        try:
            await client.delete_scaling_policy(
                PolicyName=identity["name"],
                ServiceNamespace=identity["namespace"],
                ResourceId=identity["resourceId"],
                ScalableDimension=identity["dimension"],
            )
        except client.exceptions.ObjectNotFoundException:
            return


def _step(step: Any) -> dict[str, Any]:
    rendered: dict[str, Any] = {"ScalingAdjustment": step.adjustment}
    if step.lower_bound is not None:
        rendered["MetricIntervalLowerBound"] = float(step.lower_bound)
    if step.upper_bound is not None:
        rendered["MetricIntervalUpperBound"] = float(step.upper_bound)
    return rendered


def _predictive(predictive: PredictiveScaling, refs: RefResolver) -> dict[str, Any]:
    """The fields the spec sets, as PutScalingPolicy takes them and DescribeScalingPolicies reports them."""
    specifications = []
    for specification in predictive.metric_specifications:
        rendered: dict[str, Any] = {"TargetValue": float(specification.target_value)}
        for aws, metric in (("PredefinedMetricPairSpecification", specification.predefined_metric_pair),
                            ("PredefinedScalingMetricSpecification", specification.predefined_scaling_metric),
                            ("PredefinedLoadMetricSpecification", specification.predefined_load_metric)):
            if metric is not None:
                rendered[aws] = {"PredefinedMetricType": metric.type}
                if metric.resource_label is not None:
                    rendered[aws]["ResourceLabel"] = metric.resource_label
        for aws, customized in _CUSTOMIZED_PREDICTIVE.items():
            chosen = getattr(specification, customized)
            if chosen is not None:
                rendered[aws] = {"MetricDataQueries": metric_queries(chosen.metrics, refs)}
        specifications.append(rendered)
    configuration: dict[str, Any] = {"MetricSpecifications": specifications}
    for aws, value in (("Mode", predictive.mode), ("SchedulingBufferTime", predictive.scheduling_buffer_time),
                       ("MaxCapacityBreachBehavior", predictive.max_capacity_breach_behavior),
                       ("MaxCapacityBuffer", predictive.max_capacity_buffer)):
        if value is not None:
            configuration[aws] = value
    return configuration


def _observed_predictive(specifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Observed metric specifications with their metric math in the rendered shape (dimensions sorted)."""
    observed = []
    for specification in specifications:
        item = dict(specification)
        for aws in _CUSTOMIZED_PREDICTIVE:
            if aws in item:
                item[aws] = {"MetricDataQueries": normalise_queries(item[aws].get("MetricDataQueries", []))}
        observed.append(item)
    return observed


def _sorted_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    normalised = [
        {key: (float(value) if key.startswith("MetricInterval") else value) for key, value in step.items()}
        for step in steps
    ]
    return sorted(normalised, key=lambda s: s.get("MetricIntervalLowerBound", float("-inf")))


def _target_tracking(resource: ScalingPolicy, tracking: TargetTracking, refs: RefResolver) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "TargetValue": float(tracking.effective_target),
        "DisableScaleIn": tracking.disable_scale_in,
    }
    if tracking.scale_in_cooldown is not None:
        configuration["ScaleInCooldown"] = tracking.scale_in_cooldown
    if tracking.scale_out_cooldown is not None:
        configuration["ScaleOutCooldown"] = tracking.scale_out_cooldown
    if tracking.predefined_metric is not None:
        predefined: dict[str, Any] = {"PredefinedMetricType": tracking.predefined_metric.type}
        if tracking.predefined_metric.resource_label:
            predefined["ResourceLabel"] = tracking.predefined_metric.resource_label
        configuration["PredefinedMetricSpecification"] = predefined
    elif tracking.customized_metric is not None:
        custom = tracking.customized_metric
        if custom.metrics is not None:
            configuration["CustomizedMetricSpecification"] = {"Metrics": metric_queries(custom.metrics, refs)}
        else:
            single: dict[str, Any] = {
                "Namespace": custom.namespace,
                "MetricName": custom.metric_name,
                "Dimensions": dimensions(custom.dimensions, refs),
                "Statistic": custom.statistic,
            }
            if custom.unit is not None:
                single["Unit"] = custom.unit
            configuration["CustomizedMetricSpecification"] = single
    else:
        assert tracking.queue_backlog_per_task is not None  # exactly one metric source, by the model
        configuration["CustomizedMetricSpecification"] = {
            "Metrics": backlog_per_task_queries(resource, tracking.queue_backlog_per_task.queue_ref, refs)
        }
    return configuration


def backlog_per_task_queries(resource: ScalingPolicy, queue_ref: Any, refs: RefResolver) -> list[dict[str, Any]]:
    """AWS's recommended metric math for queue workers: visible messages / running tasks.

    See "Scaling policy based on Amazon SQS" in the Application Auto Scaling user guide.
    """
    target = resource.spec.target_ref
    queue_name = refs.output(queue_ref, "name")
    cluster = refs.output(target, "ecsCluster")
    service = refs.output(target, "ecsService")
    return [
        {
            "Id": "m1",
            "Label": "Messages waiting in the queue",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                },
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "m2",
            "Label": "Running tasks of the ECS service",
            "MetricStat": {
                "Metric": {
                    "Namespace": "ECS/ContainerInsights",
                    "MetricName": "RunningTaskCount",
                    "Dimensions": [
                        {"Name": "ClusterName", "Value": cluster},
                        {"Name": "ServiceName", "Value": service},
                    ],
                },
                "Stat": "Average",
            },
            "ReturnData": False,
        },
        {"Id": "e1", "Label": "Backlog per task", "Expression": "m1 / m2", "ReturnData": True},
    ]


DESCRIPTOR = KindDescriptor(
    model=ScalingPolicy, client=ScalingPolicyClient, delete_rank=1,
    events=touched_on_target("ScalingPolicy", "policyName"),  # PutScalingPolicy, DeleteScalingPolicy
    plural="scalingpolicies",
    iam=IamGrant(unscoped_actions=("application-autoscaling:DescribeScalingPolicies",
                                   "application-autoscaling:PutScalingPolicy",
                                   "application-autoscaling:DeleteScalingPolicy")),
    pair_rules=(backlog_needs_ecs_target, predefined_metric_matches_target, policy_type_supported_by_namespace),
)
