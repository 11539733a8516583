"""What metric alarms and composite alarms share: one name space, DescribeAlarms 100 names per call (of
one alarm type), their actions as ARNs, tags read through the tag index, and DeleteAlarms."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, TypeVar

from controller.api.alarm import AlarmAction
from controller.api.envelope import Resource
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
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

DESCRIBE_BATCH = 100  # DescribeAlarms takes at most 100 names
R = TypeVar("R", bound=Resource)


def actions_state(spec: Any, refs: RefResolver) -> dict[str, Any]:
    """What a metric and a composite alarm's spec say of their actions, in PutMetricAlarm's and
    PutCompositeAlarm's (identical) names."""
    return {
        "ActionsEnabled": spec.actions_enabled,
        "OKActions": action_arns(spec.ok_actions, refs),
        "AlarmActions": action_arns(spec.alarm_actions, refs),
        "InsufficientDataActions": action_arns(spec.insufficient_data_actions, refs),
    }


def action_arns(actions: list[AlarmAction], refs: RefResolver) -> list[str]:
    """An alarm's actions as ARNs, references resolved, sorted (AWS does not keep their order)."""
    arns = []
    for action in actions:
        if action.topic_ref is not None:
            arns.append(refs.output(action.topic_ref, "arn"))
        elif action.scaling_policy_ref is not None:
            arns.append(refs.output(action.scaling_policy_ref, "arn"))
        elif action.arn is not None:
            arns.append(action.arn)
    return sorted(arns)


class AlarmClientBase(ResourceClient[R]):
    """A CloudWatch alarm of one type (DescribeAlarms' AlarmTypes), created and replaced whole by `_put`."""

    service = "cloudwatch"
    alarm_type: ClassVar[str]  # "MetricAlarm" or "CompositeAlarm"
    _listed: ClassVar[str]  # where DescribeAlarms lists that type: "MetricAlarms" or "CompositeAlarms"

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        super().__init__(aws, tag_index)
        self._loader: BatchLoader[str, dict[str, Any]] = BatchLoader(self._describe, DESCRIBE_BATCH)

    def identity(self, resource: R, refs: RefResolver) -> Identity:
        return {"name": resource.external_name(), "region": self.aws.region}

    @abstractmethod
    async def _put(self, client: Any, **arguments: Any) -> None:
        """PutMetricAlarm or PutCompositeAlarm: each creates the alarm or replaces its whole definition."""

    @abstractmethod
    def _observed_state(self, desired: Desired[R], alarm: dict[str, Any]) -> dict[str, Any]:
        """The described alarm in the rendered shape."""

    async def _describe(self, names: list[str]) -> dict[str, dict[str, Any]]:
        client = await self.aws.client("cloudwatch")
        found: dict[str, dict[str, Any]] = {}
        paginator = client.get_paginator("describe_alarms")
        async for page in paginator.paginate(AlarmNames=names, AlarmTypes=[self.alarm_type]):
            for alarm in page.get(self._listed, []):
                found[alarm["AlarmName"]] = alarm
        return found

    async def prefetch(self, resources: list[R]) -> None:
        await self._loader.prefetch([resource.external_name() for resource in resources])

    async def _own_tags(self, arn: str) -> dict[str, str]:
        client = await self.aws.client("cloudwatch")
        tags = (await client.list_tags_for_resource(ResourceARN=arn)).get("Tags", [])
        return {tag["Key"]: tag["Value"] for tag in tags}

    async def observe(self, desired: Desired[R]) -> Observation:
        alarm = await self._loader.load(desired.identity["name"])
        if alarm is None:
            return Observation(exists=False)
        arn = alarm["AlarmArn"]

        async def own_tags() -> dict[str, str]:
            return await self._own_tags(arn)

        observation = Observation(
            exists=True,
            state=self._observed_state(desired, alarm),
            tags=await self.tag_index.tags(arn, self.aws.region, desired.tags, own_tags),
            outputs={"arn": arn, "name": alarm["AlarmName"]},
        )
        return compare(desired, observation)

    async def create(self, desired: Desired[R]) -> Outputs:
        client = await self.aws.client("cloudwatch")
        tags = [{"Key": key, "Value": value} for key, value in sorted((desired.tags or {}).items())]
        await self._put(client, AlarmName=desired.identity["name"], Tags=tags, **desired.state)
        # Its ARN, read through the batch loader: alarms created together share DescribeAlarms calls.
        alarm = await self._loader.load(desired.identity["name"])
        if alarm is None:
            raise LookupError(f"alarm {desired.identity['name']} is not described right after it was put")
        return {"arn": alarm["AlarmArn"], "name": alarm["AlarmName"]}

    async def update(self, desired: Desired[R], observation: Observation) -> Outputs:
        client = await self.aws.client("cloudwatch")
        changed = {change.path.split(".", 1)[0] for change in observation.diff}
        if changed - {"tags"}:
            await self._put(client, AlarmName=desired.identity["name"], **desired.state)
        if "tags" in changed and desired.tags is not None:
            # AWS ignores Tags on a put that updates an alarm: tag explicitly.
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
        described = await client.describe_alarms(AlarmNames=[identity["name"]], AlarmTypes=[self.alarm_type])
        found = described.get(self._listed, [])
        if not found:
            raise ResourceGone(identity["name"])
        return await self._own_tags(found[0]["AlarmArn"])

    async def delete(self, identity: Identity) -> None:
        client = await self.aws.client("cloudwatch")
        await client.delete_alarms(AlarmNames=[identity["name"]])  # absent names are not an error
