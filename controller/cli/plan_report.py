"""`trimtab plan --format json|markdown`: a plan as a CI check reads it (JSON) or as a pull-request comment
shows it (Markdown, GitHub and GitLab flavoured). Both are interfaces: change with care.

Values are shown whole, as the text plan shows them, except policies, which are summarised as the log
summarises them (a policy diff in a PR comment is noise; the text plan has it whole)."""

from __future__ import annotations

from typing import Any

from controller.cli.output import SYMBOL, summary
from controller.engine.drift import is_policy, show, summarise
from controller.engine.reconciler import Action, Outcome
from controller.engine.runner import RunResult
from controller.kinds.diff import ABSENT, FieldChange
from controller.sources.desired import DesiredState

PLAN_FORMATS = ("text", "json", "markdown")
_ORDER = {Action.ERROR: 0, Action.CONFLICT: 1, Action.BLOCKED: 2, Action.REPLACE: 3, Action.CREATE: 4,
          Action.UPDATE: 5, Action.ADOPT: 6, Action.SUSPENDED: 7, Action.PENDING: 8,
          Action.IN_SYNC: 9}


def _value(path: str, value: Any) -> str | None:
    if value is ABSENT:
        return None
    return summarise(value, path) if is_policy(path) else show(value)


def _change(outcome: Outcome, change: FieldChange) -> dict[str, Any]:
    entry: dict[str, Any] = {"field": change.path, "after": _value(change.path, change.after)}
    if outcome.action not in (Action.CREATE, Action.REPLACE):  # a create has no before
        entry["before"] = _value(change.path, change.before)
    return entry


def _ordered(result: RunResult) -> list[Outcome]:
    return sorted(result.outcomes.values(), key=lambda outcome: (_ORDER[outcome.action], outcome.key))


def plan_document(result: RunResult, state: DesiredState, exit_code: int) -> dict[str, Any]:
    counts = {action.value: result.count(action) for action in Action if result.count(action)}
    return {
        "revision": state.revision,
        "exitCode": exit_code,  # 0 in sync, 2 changes, 1 errors or conflicts: what the command returns
        "summary": counts,
        "invalidSpecs": [str(problem) for problem in state.errors],
        "resources": [
            {"resource": outcome.key, "action": outcome.action.value, "message": outcome.message or None,
             "code": outcome.error_code or None, "changes": [_change(outcome, c) for c in outcome.changes]}
            for outcome in _ordered(result)
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(result: RunResult, state: DesiredState, exit_code: int) -> str:
    verdict = {0: "in sync", 2: "changes to apply"}.get(exit_code, "errors or conflicts")
    lines = [f"### trimtab plan: {verdict}", "", f"Revision `{state.revision}`. {summary(result, dry_run=True)}", ""]
    shown = [outcome for outcome in _ordered(result) if outcome.action is not Action.IN_SYNC]
    if shown:
        lines += ["| | Resource | Action | Detail |", "|---|---|---|---|"]
        for outcome in shown:
            parts = [_cell(part) for part in (outcome.message, outcome.error_code) if part]
            for change in (_change(outcome, change) for change in outcome.changes):
                before = f"`{_cell(change['before'] or '(absent)')}` → " if "before" in change else ""
                after = f"`{_cell(change['after'])}`" if change["after"] is not None else "(removed)"
                parts.append(f"`{change['field']}`: {before}{after}")
            lines.append(f"| `{SYMBOL[outcome.action]}` | `{outcome.key}` | {outcome.action.value} | "
                         f"{'<br>'.join(parts)} |")
        lines.append("")
    if state.errors:
        lines += [f"**{len(state.errors)} invalid spec(s)**, skipped:", ""]
        lines += [f"- `{_cell(str(problem))}`" for problem in state.errors]
        lines.append("")
    return "\n".join(lines)
