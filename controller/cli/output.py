"""Human-readable rendering of plans, outcomes and values, and the tables and documents the status
commands print. These formats are an interface (people read them, scripts parse them): change with care."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import yaml

from controller.engine.drift import show
from controller.engine.reconciler import Action, Outcome
from controller.engine.runner import RunResult
from controller.kinds.diff import ABSENT, FieldChange

COLUMN_GAP = "   "

SYMBOL = {
    Action.CREATE: "+", Action.REPLACE: "-/+", Action.UPDATE: "~", Action.ADOPT: "^", Action.IN_SYNC: "=",
    Action.CONFLICT: "!", Action.BLOCKED: "…", Action.ERROR: "x", Action.SUSPENDED: "-",
    Action.PENDING: "?",
}
_PAST = {Action.CREATE: "created", Action.REPLACE: "replaced", Action.UPDATE: "updated", Action.ADOPT: "adopted",
         Action.IN_SYNC: "in sync"}


def change_line(change: FieldChange, creating: bool = False) -> str:
    if creating:
        return f"{change.path}: {show(change.after)}"
    if change.after is ABSENT:
        return f"{change.path}: {show(change.before)} -> (removed)"
    return f"{change.path}: {show(change.before)} -> {show(change.after)}"


def print_plan_item(outcome: Outcome, verbose: bool, out: TextIO = sys.stdout) -> None:
    if outcome.action is Action.IN_SYNC and not verbose:
        return
    headline = f"{SYMBOL[outcome.action]} {outcome.key}: {outcome.action.value}"
    if outcome.message:
        headline += f": {outcome.message}"
    if outcome.error_code:
        headline += f" ({outcome.error_code})"
    print(headline, file=out)
    for change in outcome.changes:
        print(f"    {change_line(change, creating=outcome.action in (Action.CREATE, Action.REPLACE))}", file=out)


def print_applied_item(outcome: Outcome, out: TextIO = sys.stdout, progress: str = "") -> None:
    """One line per finished item; `progress` ("[12/40]") leads it, so a long apply shows how far it is."""
    verb = _PAST.get(outcome.action, outcome.action.value) if outcome.applied or outcome.ready else outcome.action.value
    line = f"{SYMBOL[outcome.action]} {outcome.key}: {verb} ({outcome.seconds:.2f}s)"
    if progress:
        line = f"{progress} {line}"
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
    if pending := result.count(Action.PENDING):
        parts.append(f"{pending} pending confirmation")
    return ("Plan: " if dry_run else "Apply: ") + ", ".join(parts) + "."


# ---- status commands ---------------------------------------------------------------------------------

def age(since: str, now: datetime | None = None) -> str:
    """How long ago an RFC 3339 time was, as kubectl shows it: 42s, 5m, 3h, 2d."""
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def column_widths(rows: list[list[str]]) -> list[int]:
    """Widths of every column but the last, which is never padded (a message runs as long as it is)."""
    return [max(len(row[index]) for row in rows) for index in range(len(rows[0]) - 1)]


def table_line(row: list[str], widths: list[int]) -> str:
    """One row, aligned to `widths` (a cell longer than its column pushes the rest right)."""
    return (COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
            + COLUMN_GAP + row[-1]).rstrip()


def table(rows: list[list[str]]) -> str:
    """A header row and its rows, columns three spaces apart, as kubectl prints them."""
    widths = column_widths(rows)
    return "\n".join(table_line(row, widths) for row in rows)


def documents(items: Any, output: str) -> str:
    """A document, or a list of them, as `-o json` (indented) or `-o yaml` print it."""
    if output == "json":
        return json.dumps(items, indent=2)
    return yaml.safe_dump(items, sort_keys=False).rstrip("\n")


def streamed(item: dict[str, Any], output: str) -> str:
    """One document of a `--watch`: a JSON line, or a YAML document after `---`."""
    if output == "json":
        return json.dumps(item, separators=(",", ":"))
    return "---\n" + yaml.safe_dump(item, sort_keys=False).rstrip("\n")
