"""CloudWatch composite alarms: PutCompositeAlarm, described 100 names per DescribeAlarms call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from controller.api.composite_alarm import CompositeAlarm, CompositeRule, RuleAlarm, RuleTerm
from controller.api.fields import Ref
from controller.api.substitution import Environment
from controller.kinds.base import Desired, RefResolver
from controller.kinds.cloudwatch_alarms import AlarmClientBase, actions_state
from controller.kinds.descriptor import IamGrant, KindDescriptor, Touched, touch

# The PutCompositeAlarm fields trimtab manages; DescribeAlarms reports the same names.
_FIELDS = ("AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions", "AlarmRule",
           "ActionsSuppressor", "ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod")
_SUPPRESSOR = "actionsSuppressor"


class CompositeAlarmClient(AlarmClientBase[CompositeAlarm]):
    kind = "CompositeAlarm"
    alarm_type = "CompositeAlarm"
    _listed = "CompositeAlarms"
    spec_fields = {
        "AlarmDescription": "description", "ActionsEnabled": "actionsEnabled", "OKActions": "okActions",
        "AlarmActions": "alarmActions", "InsufficientDataActions": "insufficientDataActions", "AlarmRule": "rule",
        "ActionsSuppressor": f"{_SUPPRESSOR}.alarm", "ActionsSuppressorWaitPeriod": f"{_SUPPRESSOR}.waitPeriod",
        "ActionsSuppressorExtensionPeriod": f"{_SUPPRESSOR}.extensionPeriod",
    }

    def render(self, resource: CompositeAlarm, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {
            **actions_state(spec, refs),
            "AlarmRule": spec.alarm_rule if spec.rule is None else rule_text(spec.rule, refs),
        }
        if spec.description is not None:
            state["AlarmDescription"] = spec.description
        suppressor = spec.actions_suppressor
        if suppressor is not None:
            state["ActionsSuppressor"] = (refs.output(suppressor.alarm_ref, "arn") if suppressor.alarm_ref is not None
                                          else suppressor.alarm)
            state["ActionsSuppressorWaitPeriod"] = suppressor.wait_period
            state["ActionsSuppressorExtensionPeriod"] = suppressor.extension_period
        return state

    async def _put(self, client: Any, **arguments: Any) -> None:
        await client.put_composite_alarm(**arguments)

    def _observed_state(self, desired: Desired[CompositeAlarm], alarm: dict[str, Any]) -> dict[str, Any]:
        state = {key: alarm[key] for key in _FIELDS if alarm.get(key) is not None}
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            state[key] = sorted(alarm.get(key, []))
        return state


def _alarm_text(ref: Ref, state: str, negated: bool, refs: RefResolver) -> str:
    text = f'{state}("{refs.output(ref, "name")}")'
    return f"NOT {text}" if negated else text


def rule_text(rule: CompositeRule, refs: RefResolver) -> str:
    """AlarmRule text: ALARM("orders-high") OR (OK("a") AND NOT ALARM("b")), with each alarm's AWS name."""

    def group(any_of: list[Any] | None, all_of: list[Any] | None, render: Callable[[Any], str]) -> str:
        terms, operator = (any_of, " OR ") if any_of else (all_of or [], " AND ")
        return operator.join(render(term) for term in terms)

    def alarm(term: RuleAlarm) -> str:
        assert term.alarm is not None  # alarmRef or compositeAlarmRef, by the model
        return _alarm_text(term.alarm, term.state, term.negated, refs)

    def term_text(term: RuleTerm) -> str:
        if term.alarm is not None:
            return _alarm_text(term.alarm, term.state or "ALARM", term.negated, refs)
        inner = f"({group(term.any_of, term.all_of, alarm)})"
        return f"NOT {inner}" if term.negated else inner

    return group(rule.any_of, rule.all_of, term_text)


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # DeleteAlarms, EnableAlarmActions, DisableAlarmActions name metric and composite alarms alike: both kinds
    # are touched by name, and only the one with that identity in the inventory is queued.
    names = parameters.get("alarmNames")
    if isinstance(names, list):
        yield from (touch("CompositeAlarm", name=alarm, region=region) for alarm in names if isinstance(alarm, str))
    if event == "PutCompositeAlarm" and isinstance(parameters.get("alarmName"), str):
        yield touch("CompositeAlarm", name=parameters["alarmName"], region=region)
    arn = str(parameters.get("resourceARN") or "")  # TagResource, UntagResource
    if ":alarm:" in arn:
        yield touch("CompositeAlarm", name=arn.split(":alarm:", 1)[1], region=region)


# Deleted before the alarms its rule names, which AWS keeps while a composite alarm depends on them (DeleteAlarms:
# "there is always still a composite alarm that depends on that alarm"). Between composite alarms the prune order
# is by key: one whose parent is pruned with it may fail once, and its retry comes after the parent is gone.
DESCRIPTOR = KindDescriptor(
    model=CompositeAlarm, client=CompositeAlarmClient, delete_rank=-1, events=_touched_by,
    iam=IamGrant(
        actions=("cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:TagResource",
                 "cloudwatch:UntagResource"),
        resource="arn:aws:cloudwatch:*:*:alarm:{prefix}*",
        owner_tagged_actions=("cloudwatch:DeleteAlarms",),
        # "you must be signed on with the cloudwatch:PutCompositeAlarm permission that is scoped to *"
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html).
        unscoped_actions=("cloudwatch:PutCompositeAlarm", "cloudwatch:DescribeAlarms", "tag:GetResources"),
    ),
)
