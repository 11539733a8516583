"""Scheduled actions: the three forms of a schedule expression, and the capacity an action sets.

Sources: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html
(Schedule) and https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ScalableTargetAction.html.
Only the form is checked: what a cron field may hold is EventBridge's grammar, which AWS checks at the
call, and refusing a field AWS takes would be worse than letting AWS name the fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.api.rules.base import Violation, rule
from controller.api.scheduled_action import ScheduledAction

# "at(yyyy-mm-ddThh:mm:ss)"; "rate(value unit)", value a positive integer, unit minute | minutes |
# hour | hours | day | days; "cron(fields)", six fields separated by white space.
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")
_RATE = re.compile(r"^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(\s*\S+(\s+\S+){5}\s*\)$")
_ACTION = ("spec", "scalableTargetAction")


@rule(ScheduledAction)
def schedule_is_at_rate_or_cron(action: ScheduledAction) -> Iterator[Violation]:
    """"At expressions - at(yyyy-mm-ddThh:mm:ss)", "Rate expressions - rate(value unit)" ("value is a
    positive integer and unit is minute | minutes | hour | hours | day | days"), "Cron expressions -
    cron(fields)" ("six fields separated by white spaces").
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html"""
    schedule = action.spec.schedule
    rate = _RATE.match(schedule)
    if rate is not None:
        if int(rate.group(1)) == 0:
            yield Violation(("spec", "schedule"), "a rate's value is a positive integer, not 0")
        return
    if _AT.match(schedule) or _CRON.match(schedule):
        return
    yield Violation(("spec", "schedule"),
                    f"{schedule!r} is not at(yyyy-mm-ddThh:mm:ss), rate(value unit) with unit minute(s), hour(s) "
                    "or day(s), or cron(minutes hours day-of-month month day-of-week year)")


@rule(ScheduledAction)
def action_sets_capacity(action: ScheduledAction) -> Iterator[Violation]:
    """"The new minimum and maximum capacity. You can set both values or just one": an action that sets
    neither changes nothing.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html"""
    target_action = action.spec.scalable_target_action
    if target_action.min_capacity is None and target_action.max_capacity is None:
        yield Violation(_ACTION, "set minCapacity, maxCapacity or both")


@rule(ScheduledAction)
def min_capacity_within_max(action: ScheduledAction) -> Iterator[Violation]:
    """MaxCapacity is "the maximum value that you plan to scale out to", MinCapacity "the minimum value
    that you plan to scale in to": a minimum above the maximum is refused at the call.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ScalableTargetAction.html"""
    target_action = action.spec.scalable_target_action
    low, high = target_action.min_capacity, target_action.max_capacity
    if low is not None and high is not None and low > high:
        yield Violation((*_ACTION, "minCapacity"), f"minCapacity ({low}) must not exceed maxCapacity ({high})")
