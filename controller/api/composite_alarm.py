"""CompositeAlarm: a CloudWatch alarm whose state is a rule over other alarms' states."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.alarm import AlarmAction, action_params
from controller.api.aws_params import Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import AlarmRef, CompositeAlarmRef, FieldError, Ref, SpecModel, Tags, tag_params

PUT_COMPOSITE_ALARM_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"
AlarmState = Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
_STATE = "The state the alarm must be in: ALARM (the default), OK or INSUFFICIENT_DATA."
_NOT = "true: NOT before the term, which then holds when the alarm (or the group) does not."


def _one_group(any_of: object, all_of: object) -> None:
    if (any_of is None) == (all_of is None):
        raise ValueError("a group needs exactly one of anyOf (OR) or allOf (AND)")
    if not (any_of or all_of):
        raise ValueError("a group needs at least one term")


_ALARM_REF = "An Alarm spec's name: the rule names its AWS alarm."
_COMPOSITE_REF = "Or another CompositeAlarm spec's name (never one that refers back: a cycle is an error)."


def _one_alarm(alarm_ref: Ref | None, composite_alarm_ref: Ref | None) -> Ref | None:
    if alarm_ref is not None and composite_alarm_ref is not None:
        raise ValueError("a term names one alarm: alarmRef or compositeAlarmRef, not both")
    return alarm_ref or composite_alarm_ref


class RuleAlarm(SpecModel):
    """One alarm's state, rendered ALARM("name") (or OK, INSUFFICIENT_DATA), NOT before it when `not`."""

    alarm_ref: AlarmRef | None = Field(default=None, description=_ALARM_REF)
    composite_alarm_ref: CompositeAlarmRef | None = Field(default=None, description=_COMPOSITE_REF)
    state: AlarmState = Field(default="ALARM", description=_STATE)
    negated: bool = Field(default=False, alias="not", description=_NOT)

    @model_validator(mode="after")
    def _an_alarm(self) -> Self:
        if _one_alarm(self.alarm_ref, self.composite_alarm_ref) is None:
            raise ValueError("a term of a group names an alarm: alarmRef or compositeAlarmRef")
        return self

    @property
    def alarm(self) -> Ref | None:
        return self.alarm_ref or self.composite_alarm_ref


class RuleTerm(SpecModel):
    """A term of the rule: one alarm's state (alarmRef, compositeAlarmRef), or a group of them in parentheses
    (anyOf: OR, allOf: AND)."""

    alarm_ref: AlarmRef | None = Field(default=None, description=_ALARM_REF)
    composite_alarm_ref: CompositeAlarmRef | None = Field(default=None, description=_COMPOSITE_REF)
    state: AlarmState | None = Field(
        default=None, description="With alarmRef: ALARM (the default), OK or INSUFFICIENT_DATA.")
    any_of: list[RuleAlarm] | None = Field(default=None, description="A group: true when any of these holds (OR).")
    all_of: list[RuleAlarm] | None = Field(default=None, description="A group: true when all of these hold (AND).")
    negated: bool = Field(default=False, alias="not", description=_NOT)

    @model_validator(mode="after")
    def _alarm_or_group(self) -> Self:
        if _one_alarm(self.alarm_ref, self.composite_alarm_ref) is None:
            if self.state is not None:
                raise FieldError("state", "state goes with alarmRef; a group's terms each have their own")
            _one_group(self.any_of, self.all_of)
        elif self.any_of is not None or self.all_of is not None:
            raise ValueError("a term is one alarm (alarmRef, compositeAlarmRef) or a group (anyOf, allOf), not both")
        return self

    @property
    def alarm(self) -> Ref | None:
        return self.alarm_ref or self.composite_alarm_ref


class CompositeRule(SpecModel):
    """The rule, rendered as AlarmRule text: terms joined by OR (anyOf) or AND (allOf), each an alarm's state
    or a parenthesised group of them. Deeper nesting is written as alarmRule."""

    any_of: list[RuleTerm] | None = Field(default=None, description="In ALARM when any term holds (OR).")
    all_of: list[RuleTerm] | None = Field(default=None, description="In ALARM when every term holds (AND).")

    @model_validator(mode="after")
    def _one(self) -> Self:
        _one_group(self.any_of, self.all_of)
        return self


class ActionsSuppressor(SpecModel):
    """While the suppressor alarm is in ALARM, this alarm's actions are not taken."""

    alarm_ref: AlarmRef | None = Field(default=None, description="An Alarm spec's name: rendered as its ARN.")
    alarm: str | None = Field(default=None, description="An alarm not managed here: its name or ARN.")
    wait_period: int = Field(description="Seconds to wait for the suppressor to go into ALARM before acting.")
    extension_period: int = Field(description="Seconds to wait after the suppressor leaves ALARM before acting.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.alarm_ref is None) == (self.alarm is None):
            raise ValueError("an actions suppressor needs exactly one of alarmRef or alarm")
        return self


class CompositeAlarmSpec(ManagedSpec):
    alarm_name: str | None = Field(default=None, description="Defaults to metadata.name.")
    description: str | None = None
    rule: CompositeRule | None = Field(
        default=None, description="The rule over Alarm specs, by reference (so they are created first); or use "
                                  "alarmRule.")
    alarm_rule: str | None = Field(
        default=None, description='The rule as AlarmRule text, for alarms not managed here: ALARM("name") AND NOT '
                                  'OK("other"), with OR and parentheses.')
    actions_enabled: bool = True
    alarm_actions: list[AlarmAction] = Field(default_factory=list)
    ok_actions: list[AlarmAction] = Field(default_factory=list)
    insufficient_data_actions: list[AlarmAction] = Field(default_factory=list)
    actions_suppressor: ActionsSuppressor | None = None
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        if (self.rule is None) == (self.alarm_rule is None):
            raise FieldError("alarmRule" if self.alarm_rule is not None else "rule",
                             "a composite alarm needs exactly one of rule (over Alarm specs) or alarmRule (text)")
        return self


_CW, _PUT = "cloudwatch", "PutCompositeAlarm"


def _rule_params() -> ParamTable:
    rendered = TrimtabOnly("rendered as AlarmRule text")
    table: dict[str, Param | TrimtabOnly] = {"rule": rendered}
    for group in ("anyOf", "allOf"):
        term = f"rule.{group}[]"
        table[f"rule.{group}"] = rendered
        for field in ("alarmRef", "compositeAlarmRef", "state", "not"):
            table[f"{term}.{field}"] = rendered
        for inner in ("anyOf", "allOf"):
            table[f"{term}.{inner}"] = rendered
            for field in ("alarmRef", "compositeAlarmRef", "state", "not"):
                table[f"{term}.{inner}[].{field}"] = rendered
    return table


COMPOSITE_ALARM_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "alarmName": Param(_CW, _PUT, "AlarmName"),
    "description": Param(_CW, _PUT, "AlarmDescription"),
    **_rule_params(),
    "alarmRule": Param(_CW, _PUT, "AlarmRule"),
    "actionsEnabled": Param(_CW, _PUT, "ActionsEnabled"),
    **action_params("alarmActions", "AlarmActions", _PUT, PUT_COMPOSITE_ALARM_URL),
    **action_params("okActions", "OKActions", _PUT, PUT_COMPOSITE_ALARM_URL),
    **action_params("insufficientDataActions", "InsufficientDataActions", _PUT, PUT_COMPOSITE_ALARM_URL),
    "actionsSuppressor": TrimtabOnly("groups ActionsSuppressor and its two periods"),
    "actionsSuppressor.alarmRef": TrimtabOnly("a reference: rendered as the alarm's ARN in ActionsSuppressor"),
    "actionsSuppressor.alarm": Param(_CW, _PUT, "ActionsSuppressor"),
    "actionsSuppressor.waitPeriod": Param(_CW, _PUT, "ActionsSuppressorWaitPeriod"),
    "actionsSuppressor.extensionPeriod": Param(_CW, _PUT, "ActionsSuppressorExtensionPeriod"),
    # "You can associate as many as 50 tags with an alarm" (PutCompositeAlarm); lengths from the model.
    **tag_params("tags", _CW, "TagResource", whole="Tags", keys="Tags[].Key", values="Tags[].Value",
                 count_source=PUT_COMPOSITE_ALARM_URL, lengths_from_model=True),
}


class CompositeAlarm(Resource):
    KIND: ClassVar[str] = "CompositeAlarm"
    AWS_PARAMS: ClassVar[ParamTable] = COMPOSITE_ALARM_PARAMS
    SUMMARY: ClassVar[str] = ("A CloudWatch composite alarm: a rule over Alarm specs' states by reference, "
                              "with actions and an actions suppressor.")
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (("ARN", ".status.outputs.arn", "string"),)

    kind: Literal["CompositeAlarm"]
    spec: CompositeAlarmSpec

    def external_name(self) -> str:
        return self.spec.alarm_name or self.metadata.name
