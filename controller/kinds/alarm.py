"""CloudWatch metric alarms, observed 100 names per DescribeAlarms call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.api.alarm import Alarm, AlarmAction
from controller.api.substitution import Environment
from controller.aws import AwsClients
from controller.kinds.base import (
    Desired,
    Observation,
    Outputs,
    RefResolver,
    ResourceClient,
    ResourceGone,
    compare,
    tag_changes,
)
from controller.kinds.batching import BatchLoader
from controller.kinds.descriptor import IamGrant, KindDescriptor, Touched, touch
from controller.kinds.metric_rendering import dimensions, metric_queries, normalise_queries
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

DESCRIBE_BATCH = 100  # DescribeAlarms takes at most 100 names
# The PutMetricAlarm fields trimtab manages; DescribeAlarms reports the same names.
_FIELDS = (
    "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics",
    "ThresholdMetricId", "EvaluateLowSampleCountPercentile",
)


class AlarmClient(ResourceClient[Alarm]):
    kind = "Alarm"
    service = "cloudwatch"
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

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        super().__init__(aws, tag_index)
        self._loader: BatchLoader[str, dict[str, Any]] = BatchLoader(self._describe, DESCRIBE_BATCH)

    def identity(self, resource: Alarm, refs: RefResolver) -> Identity:
        return {"name": resource.external_name(), "region": self.aws.region}

    def render(self, resource: Alarm, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {
            "ActionsEnabled": spec.actions_enabled,
            "OKActions": _actions(spec.ok_actions, refs),
            "AlarmActions": _actions(spec.alarm_actions, refs),
            "InsufficientDataActions": _actions(spec.insufficient_data_actions, refs),
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

    async def _describe(self, names: list[str]) -> dict[str, dict[str, Any]]:
        client = await self.aws.client("cloudwatch")
        found: dict[str, dict[str, Any]] = {}
        paginator = client.get_paginator("describe_alarms")
        async for page in paginator.paginate(AlarmNames=names, AlarmTypes=["MetricAlarm"]):
            for alarm in page["MetricAlarms"]:
                found[alarm["AlarmName"]] = alarm
        return found

    async def prefetch(self, resources: list[Alarm]) -> None:
        await self._loader.prefetch([resource.external_name() for resource in resources])

    async def observe(self, desired: Desired[Alarm]) -> Observation:
        alarm = await self._loader.load(desired.identity["name"])
        if alarm is None:
            return Observation(exists=False)
        state = {key: alarm[key] for key in _FIELDS if alarm.get(key) not in (None, [])}
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            state[key] = sorted(alarm.get(key, []))
        if "Dimensions" in desired.state:
            state["Dimensions"] = sorted(alarm.get("Dimensions", []), key=lambda d: d["Name"])
        if "Metrics" in state:
            state["Metrics"] = normalise_queries(state["Metrics"])
        if "Threshold" in state:
            state["Threshold"] = float(state["Threshold"])
        client = await self.aws.client("cloudwatch")

        async def own_tags() -> dict[str, str]:
            tags = (await client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])).get("Tags", [])
            return {tag["Key"]: tag["Value"] for tag in tags}

        observation = Observation(
            exists=True,
            state=state,
            tags=await self.tag_index.tags(alarm["AlarmArn"], self.aws.region, desired.tags, own_tags),
            outputs={"arn": alarm["AlarmArn"], "name": alarm["AlarmName"]},
        )
        return compare(desired, observation)

    async def create(self, desired: Desired[Alarm]) -> Outputs:
        client = await self.aws.client("cloudwatch")
        tags = [{"Key": key, "Value": value} for key, value in sorted((desired.tags or {}).items())]
        await client.put_metric_alarm(AlarmName=desired.identity["name"], Tags=tags, **desired.state)
        # Its ARN, read through the batch loader: alarms created together share DescribeAlarms calls.
        alarm = await self._loader.load(desired.identity["name"])
        if alarm is None:
            raise LookupError(f"alarm {desired.identity['name']} is not described right after PutMetricAlarm")
        return {"arn": alarm["AlarmArn"], "name": alarm["AlarmName"]}

    async def update(self, desired: Desired[Alarm], observation: Observation) -> Outputs:
        client = await self.aws.client("cloudwatch")
        changed = {change.path.split(".", 1)[0] for change in observation.diff}
        if changed - {"tags"}:
            # PutMetricAlarm replaces the whole alarm definition.
            await client.put_metric_alarm(AlarmName=desired.identity["name"], **desired.state)
        if "tags" in changed and desired.tags is not None:
            # AWS ignores Tags on a PutMetricAlarm that updates an alarm: tag explicitly.
            arn = observation.outputs["arn"]
            stale, tags = tag_changes(observation.tags, desired.tags)
            if stale:
                await client.untag_resource(ResourceARN=arn, TagKeys=stale)
            if tags:
                await client.tag_resource(
                    ResourceARN=arn, Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())]
                )
        return observation.outputs

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        client = await self.aws.client("cloudwatch")
        found = (await client.describe_alarms(AlarmNames=[identity["name"]])).get("MetricAlarms", [])
        if not found:
            raise ResourceGone(identity["name"])
        tags = (await client.list_tags_for_resource(ResourceARN=found[0]["AlarmArn"])).get("Tags", [])
        return {tag["Key"]: tag["Value"] for tag in tags}

    async def delete(self, identity: Identity) -> None:
        client = await self.aws.client("cloudwatch")
        await client.delete_alarms(AlarmNames=[identity["name"]])  # absent names are not an error


def _actions(actions: list[AlarmAction], refs: RefResolver) -> list[str]:
    arns = []
    for action in actions:
        if action.topic_ref is not None:
            arns.append(refs.output(action.topic_ref, "arn"))
        elif action.scaling_policy_ref is not None:
            arns.append(refs.output(action.scaling_policy_ref, "arn"))
        elif action.arn is not None:
            arns.append(action.arn)
    return sorted(arns)


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    names = parameters.get("alarmNames")  # DeleteAlarms, EnableAlarmActions, DisableAlarmActions: many
    if isinstance(names, list):
        yield from (touch("Alarm", name=alarm, region=region) for alarm in names if isinstance(alarm, str))
    if isinstance(parameters.get("alarmName"), str):  # PutMetricAlarm, SetAlarmState
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
