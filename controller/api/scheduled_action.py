"""ScheduledAction: an Application Auto Scaling scheduled action, which sets a ScalableTarget's minimum
and maximum capacity at a time (at), an interval (rate) or a recurring time (cron)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import ScalableTargetRef, SpecModel

PUT_SCHEDULED_ACTION_URL = (
    "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html")
SCALABLE_TARGET_ACTION_URL = (
    "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ScalableTargetAction.html")


class ScalableTargetAction(SpecModel):
    min_capacity: int | None = Field(default=None, description="The target's minimum capacity from then on.")
    max_capacity: int | None = Field(default=None, description="The target's maximum capacity from then on.")


class ScheduledActionSpec(ManagedSpec):
    scheduled_action_name: str | None = Field(
        default=None, description="The scheduled action's name; defaults to metadata.name.")
    target_ref: ScalableTargetRef = Field(description="metadata.name of the ScalableTarget this action scales.")
    schedule: str = Field(description="at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields).")
    timezone: str | None = Field(
        default=None, description="An IANA time zone for at and cron schedules (AWS's default: UTC).")
    # Without an offset a time is UTC, as botocore reads a timestamp without one.
    start_time: datetime | None = Field(default=None, description="When a recurring schedule begins (ISO-8601).")
    end_time: datetime | None = Field(default=None, description="When a recurring schedule ends (ISO-8601).")
    scalable_target_action: ScalableTargetAction = Field(description="The capacity the action sets.")


_AAS, _PUT = "application-autoscaling", "PutScheduledAction"
# Capacity is a count of units, as for the target itself (the model says only `integer`).
_CAPACITY = Hand(SCALABLE_TARGET_ACTION_URL, minimum=0)

SCHEDULED_ACTION_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "scheduledActionName": Param(_AAS, _PUT, "ScheduledActionName"),
    "targetRef": TrimtabOnly("a reference: the target's ServiceNamespace, ResourceId and ScalableDimension"),
    "schedule": Param(_AAS, _PUT, "Schedule", (Hand(
        PUT_SCHEDULED_ACTION_URL, rule="at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"),)),
    "timezone": Param(_AAS, _PUT, "Timezone"),
    "startTime": Param(_AAS, _PUT, "StartTime"),
    "endTime": Param(_AAS, _PUT, "EndTime"),
    "scalableTargetAction": Param(_AAS, _PUT, "ScalableTargetAction", (Hand(
        SCALABLE_TARGET_ACTION_URL, rule="at least one of minCapacity and maxCapacity; min <= max"),)),
    "scalableTargetAction.minCapacity": Param(_AAS, _PUT, "ScalableTargetAction.MinCapacity", (_CAPACITY,)),
    "scalableTargetAction.maxCapacity": Param(_AAS, _PUT, "ScalableTargetAction.MaxCapacity", (_CAPACITY,)),
}


class ScheduledAction(Resource):
    KIND: ClassVar[str] = "ScheduledAction"
    AWS_PARAMS: ClassVar[ParamTable] = SCHEDULED_ACTION_PARAMS
    SUMMARY: ClassVar[str] = "An Application Auto Scaling scheduled action: capacity at a time or on a schedule."
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("TARGET", ".spec.targetRef", "string"),
        ("SCHEDULE", ".spec.schedule", "string"),
    )

    kind: Literal["ScheduledAction"]
    spec: ScheduledActionSpec

    def external_name(self) -> str:
        # Scheduled action names are unique per scalable target, as policy names are.
        return f"{self.spec.target_ref.name}|{self.scheduled_action_name}"

    @property
    def scheduled_action_name(self) -> str:
        return self.spec.scheduled_action_name or self.metadata.name

