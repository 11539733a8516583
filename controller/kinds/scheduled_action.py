"""Application Auto Scaling scheduled actions: capacity set at a time or on a schedule.

moto gap: no tagging (ownership rests on the inventory, as for targets and policies).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controller.api.scheduled_action import ScheduledAction
from controller.api.substitution import Environment
from controller.kinds.base import Desired, Observation, Outputs, RefResolver, ResourceClient, compare
from controller.kinds.descriptor import IamGrant, KindDescriptor
from controller.kinds.scalable_target import find_on_target, on_target, touched_on_target
from controller.store.base import Identity

# The state holds the spec's names, so a plan's field paths are the spec's (scalableTargetAction.minCapacity).
_TIMES = {"startTime": "StartTime", "endTime": "EndTime"}
_CAPACITIES = {"minCapacity": "MinCapacity", "maxCapacity": "MaxCapacity"}


class ScheduledActionClient(ResourceClient[ScheduledAction]):
    kind = "ScheduledAction"
    service = "application-autoscaling"
    tags_ownership = False

    def identity(self, resource: ScheduledAction, refs: RefResolver) -> Identity:
        return on_target(resource.scheduled_action_name, resource.spec.target_ref, refs)

    def render(self, resource: ScheduledAction, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        # The fields the spec sets: PutScheduledAction keeps what an update leaves out, as observe ignores it.
        spec = resource.spec
        action = {key: value for key, value in (("minCapacity", spec.scalable_target_action.min_capacity),
                                                ("maxCapacity", spec.scalable_target_action.max_capacity))
                  if value is not None}
        state: dict[str, Any] = {"schedule": spec.schedule, "scalableTargetAction": action}
        if spec.timezone is not None:
            state["timezone"] = spec.timezone
        for key, moment in (("startTime", spec.start_time), ("endTime", spec.end_time)):
            if moment is not None:
                state[key] = _utc(moment)
        return state

    async def observe(self, desired: Desired[ScheduledAction]) -> Observation:
        identity, wanted = desired.identity, desired.state
        client = await self.aws.client("application-autoscaling")
        found = await find_on_target(client, "describe_scheduled_actions", identity, results="ScheduledActions",
                                     name_key="ScheduledActionName", names_filter="ScheduledActionNames")
        if found is None:
            return Observation(exists=False)
        observed_action = found.get("ScalableTargetAction", {})
        state: dict[str, Any] = {
            "schedule": found["Schedule"],
            "scalableTargetAction": {key: observed_action.get(_CAPACITIES[key])
                                     for key in wanted["scalableTargetAction"]},
        }
        if "timezone" in wanted:
            state["timezone"] = found.get("Timezone")
        for key, aws in _TIMES.items():
            if key in wanted:
                state[key] = _utc(found[aws]) if isinstance(found.get(aws), datetime) else found.get(aws)
        outputs = {"arn": found["ScheduledActionARN"], "name": found["ScheduledActionName"]}
        return compare(desired, Observation(exists=True, state=state, outputs=outputs))

    async def create(self, desired: Desired[ScheduledAction]) -> Outputs:
        return await self._put(desired)

    async def update(self, desired: Desired[ScheduledAction], observation: Observation) -> Outputs:
        # PutScheduledAction updates an action in place, keeping its ARN.
        await self._put(desired)
        return observation.outputs

    async def _put(self, desired: Desired[ScheduledAction]) -> Outputs:
        client = await self.aws.client("application-autoscaling")
        identity, state = desired.identity, desired.state
        arguments: dict[str, Any] = {
            "ScheduledActionName": identity["name"],
            "ServiceNamespace": identity["namespace"],
            "ResourceId": identity["resourceId"],
            "ScalableDimension": identity["dimension"],
            "Schedule": state["schedule"],
            "ScalableTargetAction": {_CAPACITIES[key]: value for key, value in state["scalableTargetAction"].items()},
        }
        if "timezone" in state:
            arguments["Timezone"] = state["timezone"]
        for key, aws in _TIMES.items():
            if key in state:
                arguments[aws] = datetime.fromisoformat(state[key])
        await client.put_scheduled_action(**arguments)
        # PutScheduledAction answers nothing: the ARN is read back, as the next observe would.
        observed = await self.observe(desired)
        return observed.outputs

    async def delete(self, identity: Identity) -> None:
        client = await self.aws.client("application-autoscaling")
        try:
            await client.delete_scheduled_action(
                ScheduledActionName=identity["name"],
                ServiceNamespace=identity["namespace"],
                ResourceId=identity["resourceId"],
                ScalableDimension=identity["dimension"],
            )
        except client.exceptions.ObjectNotFoundException:
            return


def _utc(moment: datetime) -> str:
    """A timestamp as rendered and observed alike: UTC (also for one without an offset, as botocore
    sends it), to the second."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DESCRIPTOR = KindDescriptor(
    model=ScheduledAction, client=ScheduledActionClient, delete_rank=2,
    events=touched_on_target("ScheduledAction", "scheduledActionName"),  # Put/DeleteScheduledAction
    iam=IamGrant(unscoped_actions=("application-autoscaling:DescribeScheduledActions",
                                   "application-autoscaling:PutScheduledAction",
                                   "application-autoscaling:DeleteScheduledAction")),
)
