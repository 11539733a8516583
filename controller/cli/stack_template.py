"""The parts of the ECS stack that follow from the kinds, generated as the CRDs are from the models.

deploy/ecs/trimtab.yaml keeps each generated part between two marker comments, `# BEGIN generated:
NAME` and `# END generated: NAME`; `trimtab docs` rewrites them and `trimtab docs --check` (in
`make test`) fails when they are stale. So a kind's descriptor (controller/kinds/descriptor.py)
reaches the stack with no edit by hand:
- `task-role`: the task role's statements, from `trimtab iam-policy` (each kind's `IamGrant`). The
  policy is built with stand-ins for what only CloudFormation knows (the name prefixes, the store
  table, the events queue), and each stand-in becomes its intrinsic function here.
- `events-pattern`: the EventBridge rule's pattern, from `cloudtrail.event_pattern()` (each kind's
  `events`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.cli.iam_policy import build_policy
from controller.kinds.ownership import DEFAULT_CONTROLLER_ID
from controller.kinds.registry import KINDS
from controller.sources.cloudtrail import event_pattern

TEMPLATE = Path("deploy/ecs/trimtab.yaml")
BEGIN, END = "# BEGIN generated: ", "# END generated: "
_PREFIX, _TABLE, _QUEUE = "\x00prefix\x00", "\x00table\x00", "\x00queue\x00"
_WIDTH = 114


def statements() -> list[dict[str, Any]]:
    """The policy's statements, as `trimtab iam-policy` prints them for every kind, the store and the events."""
    policy = build_policy(list(KINDS), name_prefix=_PREFIX, store_table=_TABLE,
                          controller_id=DEFAULT_CONTROLLER_ID, events_queue=_QUEUE)
    return list(policy["Statement"])


def _resource(value: str) -> list[str]:
    """The CloudFormation of one Resource value: its lines, the first to follow `Resource:`."""
    if _PREFIX in value:  # one ARN pattern per name prefix of the NamePrefix list parameter
        before, after = value.split(_PREFIX)
        return ["!Split", '- ","',
                f'- !Sub ["{before}${{Names}}{after}", {{Names: !Join ["{after},{before}", !Ref NamePrefix]}}]']
    if _TABLE in value:
        return ["!GetAtt StoreTable.Arn"]
    if _QUEUE in value:
        return ["!GetAtt EventsQueue.Arn"]
    if value.startswith("arn:aws:iam::*:"):  # the service-linked role lives in the stack's own account
        return ["!Sub " + value.replace("arn:aws:iam::*:", "arn:${AWS::Partition}:iam::${AWS::AccountId}:")]
    return [json.dumps(value) if value == "*" else value]


def _flow_list(key: str, items: str | list[str], indent: int) -> list[str]:
    """`key: [a, b, ...]` wrapped to the template's width (continuation lines under the first item)."""
    if isinstance(items, str):
        return [f"{' ' * indent}{key}: {items}"]
    actions = items
    lines, line = [], f"{' ' * indent}{key}: ["
    hanging = " " * len(line)
    for index, action in enumerate(actions):
        word = action + ("]" if index == len(actions) - 1 else ",")
        if line.strip() and not line.endswith("[") and len(line) + 1 + len(word) > _WIDTH:
            lines.append(line)
            line = hanging + word
        else:
            line += ("" if line.endswith("[") else " ") + word
    return [*lines, line]


def _task_role(indent: int) -> list[str]:
    """The statements as YAML list items at `indent`."""
    pad, inner = " " * indent, " " * (indent + 2)
    lines: list[str] = []
    for statement in statements():
        lines += [f"{pad}- Sid: {statement['Sid']}", f"{inner}Effect: {statement['Effect']}"]
        lines += _flow_list("Action", statement["Action"], indent + 2)
        resource = _resource(statement["Resource"])
        lines.append(f"{inner}Resource: {resource[0]}")
        lines += [inner + "  " + line for line in resource[1:]]
        for operator, condition in statement.get("Condition", {}).items():
            pairs = ", ".join(f"{json.dumps(key)}: {value}" for key, value in condition.items())
            lines += [f"{inner}Condition:", f"{inner}  {operator}: {{{pairs}}}"]
    return lines


def _events_pattern(indent: int) -> list[str]:
    """The rule's `EventPattern:` mapping at `indent`."""
    pattern, pad = event_pattern(), " " * indent
    detail = pattern["detail"]
    return [f"{pad}EventPattern:", *_flow_list("detail-type", pattern["detail-type"], indent + 2),
            f"{pad}  detail:", *_flow_list("eventSource", detail["eventSource"], indent + 4),
            *_flow_list("readOnly", [json.dumps(value) for value in detail["readOnly"]], indent + 4)]


PARTS: dict[str, Callable[[int], list[str]]] = {"task-role": _task_role, "events-pattern": _events_pattern}


def regenerated(template: str) -> str:
    """`template` with every generated part (between its markers) as generated now."""
    lines = template.split("\n")
    for name, render in PARTS.items():
        begin = next(index for index, line in enumerate(lines) if line.strip().startswith(f"{BEGIN}{name} "))
        end = next(index for index, line in enumerate(lines) if line.strip() == END + name)
        indent = len(lines[begin]) - len(lines[begin].lstrip())
        lines = [*lines[:begin + 1], *render(indent), *lines[end:]]
    return "\n".join(lines)
