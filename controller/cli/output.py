"""Human-readable rendering of plans, outcomes and values."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from controller.engine.reconciler import Action, Outcome
from controller.engine.runner import RunResult
from controller.kinds.diff import ABSENT, FieldChange

_SYMBOL = {
    Action.CREATE: "+", Action.REPLACE: "-/+", Action.UPDATE: "~", Action.ADOPT: "^", Action.IN_SYNC: "=",
    Action.CONFLICT: "!", Action.BLOCKED: "…", Action.ERROR: "x", Action.SUSPENDED: "-",
}
_PAST = {Action.CREATE: "created", Action.REPLACE: "replaced", Action.UPDATE: "updated", Action.ADOPT: "adopted",
         Action.IN_SYNC: "in sync"}


def show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, default=str)


def change_line(change: FieldChange, creating: bool = False) -> str:
    if creating:
        return f"{change.path}: {show(change.after)}"
    if change.after is ABSENT:
        return f"{change.path}: {show(change.before)} -> (removed)"
    return f"{change.path}: {show(change.before)} -> {show(change.after)}"


def print_plan_item(outcome: Outcome, verbose: bool, out: TextIO = sys.stdout) -> None:
    if outcome.action is Action.IN_SYNC and not verbose:
        return
    headline = f"{_SYMBOL[outcome.action]} {outcome.key}: {outcome.action.value}"
    if outcome.message:
        headline += f": {outcome.message}"
    if outcome.error_code:
        headline += f" ({outcome.error_code})"
    print(headline, file=out)
    for change in outcome.changes:
        print(f"    {change_line(change, creating=outcome.action in (Action.CREATE, Action.REPLACE))}", file=out)


def print_applied_item(outcome: Outcome, out: TextIO = sys.stdout) -> None:
    verb = _PAST.get(outcome.action, outcome.action.value) if outcome.applied or outcome.ready else outcome.action.value
    line = f"{_SYMBOL[outcome.action]} {outcome.key}: {verb} ({outcome.seconds:.2f}s)"
    if outcome.message:
        line += f": {outcome.message}"
    if outcome.error_code:
        line += f" ({outcome.error_code})"
    print(line, file=out, flush=True)
    if outcome.applied and outcome.action not in (Action.CREATE, Action.REPLACE):  # plan shows what a create sets
        for change in outcome.changes:
            print(f"    {change_line(change)}", file=out)


def summary(result: RunResult, *, dry_run: bool) -> str:
    labels = (
        (Action.CREATE, "to create" if dry_run else "created"),
        (Action.REPLACE, "to replace" if dry_run else "replaced"),
        (Action.UPDATE, "to update" if dry_run else "updated"),
        (Action.ADOPT, "to adopt" if dry_run else "adopted"),
    )
    parts = [f"{result.count(action, applied=not dry_run)} {label}" for action, label in labels]
    if not dry_run:
        # Observe-only specs report what they would change; apply leaves them as they are.
        held = sum(result.count(action, applied=False) for action, _ in labels)
        parts.append(f"{held} observe-only with changes")
    for action, label in ((Action.IN_SYNC, "in sync"), (Action.CONFLICT, "conflicts"),
                          (Action.BLOCKED, "blocked"), (Action.ERROR, "errors")):
        parts.append(f"{result.count(action)} {label}")
    return ("Plan: " if dry_run else "Apply: ") + ", ".join(parts) + "."
