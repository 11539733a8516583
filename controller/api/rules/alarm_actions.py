"""Alarm actions: the ARNs CloudWatch can act on, for metric and composite alarms; a composite rule's size.

Source: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
(AlarmActions, OKActions, InsufficientDataActions: "Valid values") and, for composite alarms,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html.
Only written ARNs are checked: a topicRef or scalingPolicyRef renders the ARN of a spec trimtab manages,
an SNS topic or an Auto Scaling policy, both forms listed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.api import substitution
from controller.api.alarm import Alarm
from controller.api.composite_alarm import CompositeAlarm
from controller.api.rules.base import Violation, rule

_PARTITION = r"arn:aws[a-z-]*"
_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"
_ACCOUNT = r"\d{12}"
ACTION_FORMS: dict[str, re.Pattern[str]] = {
    "EC2 action": re.compile(rf"^{_PARTITION}:automate:{_REGION}:ec2:(stop|terminate|reboot|recover)$"),
    "EC2 action (SWF form)": re.compile(
        rf"^{_PARTITION}:swf:{_REGION}:{_ACCOUNT}:action/actions/AWS_EC2\.InstanceId\.(Stop|Terminate|Reboot|Recover)/1\.0$"),
    "Auto Scaling policy": re.compile(
        rf"^{_PARTITION}:autoscaling:{_REGION}:{_ACCOUNT}:scalingPolicy:[0-9a-fA-F-]+:"
        r"(autoScalingGroupName/.+|resource/.+):policyName/.+$"),
    "Lambda function": re.compile(
        rf"^{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"),
    "SNS topic": re.compile(rf"^{_PARTITION}:sns:{_REGION}:{_ACCOUNT}:[A-Za-z0-9_-]+(\.fifo)?$"),
    "Systems Manager OpsItem": re.compile(
        rf"^{_PARTITION}:ssm:{_REGION}:{_ACCOUNT}:opsitem:[1-4](#CATEGORY=[A-Za-z]+)?$"),
    "Systems Manager Incident Manager response plan": re.compile(
        rf"^{_PARTITION}:ssm-incidents::{_ACCOUNT}:responseplan/[A-Za-z0-9_-]+$"),
}
COMPOSITE_ACTION_FORMS = {name: ACTION_FORMS[name] for name in (
    "SNS topic", "Lambda function", "Systems Manager OpsItem", "Systems Manager Incident Manager response plan")}
# "Start a Amazon Q Developer operational investigation" is listed for AlarmActions only.
INVESTIGATION = re.compile(rf"^{_PARTITION}:aiops:{_REGION}:{_ACCOUNT}:investigation-group:[A-Za-z0-9]+$")
LISTS = (("alarmActions", "alarm_actions"), ("okActions", "ok_actions"),
         ("insufficientDataActions", "insufficient_data_actions"))


def action_violations(resource: Alarm | CompositeAlarm, forms: dict[str, re.Pattern[str]]) -> Iterator[Violation]:
    """Every written action ARN of `resource` that is none of `forms` (nor, in alarmActions, an investigation
    group), checked as its pseudo parameters make it with stand-in values."""
    offline = substitution.values(resource, substitution.STAND_IN)
    for field, attribute in LISTS:
        for index, action in enumerate(getattr(resource.spec, attribute)):
            if action.arn is None:
                continue
            arn = substitution.substitute(action.arn, offline)
            if any(form.match(arn) for form in forms.values()):
                continue
            if INVESTIGATION.match(arn):
                if field == "alarmActions":
                    continue
                message = f"an investigation group can only be an alarm action, not one of {field}"
            else:
                message = (f"CloudWatch cannot act on {action.arn!r}; an action is one of: {', '.join(forms)}"
                           + (", or an Amazon Q investigation group" if field == "alarmActions" else ""))
            yield Violation(("spec", field, index, "arn"), message)


@rule(Alarm)
def actions_are_alarm_actions(alarm: Alarm) -> Iterator[Violation]:
    """An action is an SNS topic, an Auto Scaling (EC2 or Application Auto Scaling) policy, an EC2
    stop/terminate/reboot/recover action, a Lambda function, a Systems Manager OpsItem or Incident Manager
    response plan, or (alarm actions only) an Amazon Q investigation group. Any other ARN is refused. An ARN
    written with ${AWS::...} pseudo parameters is checked as it becomes with stand-in values.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    yield from action_violations(alarm, ACTION_FORMS)


@rule(CompositeAlarm)
def composite_actions(alarm: CompositeAlarm) -> Iterator[Violation]:
    """"Composite alarms can take the following actions: Notify Amazon SNS topics. Invoke Lambda functions.
    Create OpsItems in Systems Manager Ops Center. Create incidents in Systems Manager Incident Manager", and
    (alarm actions) an Amazon Q investigation: no Auto Scaling or EC2 action.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"""
    for field, attribute in LISTS:
        for index, action in enumerate(getattr(alarm.spec, attribute)):
            if action.scaling_policy_ref is not None:
                yield Violation(("spec", field, index, "scalingPolicyRef"),
                                "a composite alarm cannot have Auto Scaling actions")
    yield from action_violations(alarm, COMPOSITE_ACTION_FORMS)


COMPOSITE_RULE_ALARMS_MAX = 100


@rule(CompositeAlarm)
def composite_rule_size(alarm: CompositeAlarm) -> Iterator[Violation]:
    """"The AlarmRule can specify as many as 100 "children" alarms."
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"""
    rule_ = alarm.spec.rule
    if rule_ is None:
        return
    count = 0
    for term in rule_.any_of or rule_.all_of or []:
        count += 1 if term.alarm is not None else len(term.any_of or term.all_of or [])
    if count > COMPOSITE_RULE_ALARMS_MAX:
        yield Violation(("spec", "rule"), f"a composite alarm's rule names at most {COMPOSITE_RULE_ALARMS_MAX} "
                                          f"alarms (got {count})")
