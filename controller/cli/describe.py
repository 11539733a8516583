"""`trimtab describe KIND/NAME`: everything known about one resource, as `kubectl describe` shows it.

Where the spec is (file:line, revision, labels), what it is in AWS (identity, ARN) and whose (the
inventory, or who else holds it), its conditions and the ones they replaced, the last error with its
AWS code, the last drift with the values before and after, what it depends on and what depends on it
(with their states), and its recent events. From the store, or with --url a running controller.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from controller.api.selectors import parse_key
from controller.cli.events import HEADER, event_cells
from controller.cli.get import conditions_of, key_of, telling_condition
from controller.cli.output import documents, table
from controller.cli.readers import Reader, add_reader_arguments, read_with

EXIT_OK, EXIT_ERROR = 0, 1
LABEL_WIDTH = 18
Document = dict[str, Any]
Subparsers = Any


def _state(key: str, rows: dict[str, Document]) -> Document:
    """Another item's state, as a dependency or a dependent."""
    row = rows.get(key)
    if row is None:
        return {"object": key, "ready": None, "synced": None, "reason": "NoStatus",
                "message": "no status row: not in the live revision, or not reconciled yet"}
    conditions, telling = conditions_of(row), telling_condition(row)
    return {"object": key, "ready": conditions.get("Ready", {}).get("status"),
            "synced": conditions.get("Synced", {}).get("status"), "reason": telling.get("reason"),
            "message": telling.get("message")}


async def describe_document(reader: Reader, key: str) -> Document | None:
    """The row of `key`, with its dependencies, dependents, inventory and events; None if there is no row."""
    rows = {key_of(row): row for row in await reader.statuses()}
    row = rows.get(key)
    if row is None:
        return None
    dependents = sorted(other for other, found in rows.items() if key in found.get("dependsOn", ()))
    return {**row,
            "dependencies": [_state(needed, rows) for needed in row.get("dependsOn", ())],
            "dependents": [_state(other, rows) for other in dependents],
            "inventory": await reader.inventory(key),
            "events": await reader.events(key)}


# ---- the text form -----------------------------------------------------------------------------------

def _field(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}"


def _pairs(mapping: dict[str, Any] | None) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted((mapping or {}).items())) or "<none>"


def _indented(rows: list[list[str]]) -> list[str]:
    return ["  " + line for line in table(rows).splitlines()] if len(rows) > 1 else ["  <none>"]


def _owner(document: Document) -> str:
    entries = document["inventory"]
    if entries:
        return "; ".join(f"trimtab, by its inventory ({_pairs(entry['identity'])}, deletionPolicy "
                         f"{entry['deletionPolicy']}, since {entry['recordedTime']})" for entry in entries)
    ready = conditions_of(document).get("Ready", {})
    if ready.get("reason") == "Conflict":
        return f"not trimtab's: {ready.get('message')}"
    return "none recorded (not created yet, or only observed)"


def _conditions(conditions: list[Document]) -> list[str]:
    return _indented([["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"],
                      *([c["type"], c["status"], c["reason"], c["lastTransitionTime"], c["message"]]
                        for c in conditions)])


def _states(states: list[Document]) -> list[str]:
    return _indented([["OBJECT", "READY", "SYNCED", "REASON", "MESSAGE"],
                      *([s["object"], s["ready"] or "-", s["synced"] or "-", s["reason"] or "", s["message"] or ""]
                        for s in states)])


def _error(error: Document | None) -> str:
    if not error:
        return "<none>"
    kind = "retryable" if error["retryable"] else "terminal"
    return f"{error['time']} {error['code'] or 'error'} ({kind}): {error['message']}"


def _drift(drift: Document | None) -> list[str]:
    if not drift:
        return [_field("Last drift", "<none>")]
    outcome = "corrected" if drift["corrected"] else "reported, not changed"
    return [_field("Last drift", f"{drift['time']} ({outcome})"),
            *(f"  {change['path']}: {change['before']} -> {change['after']}" for change in drift["changes"])]


def render_text(document: Document) -> str:
    synced = conditions_of(document).get("Synced", {})
    lines = [
        _field("Name", document["name"]),
        _field("Kind", document["kind"]),
        _field("Origin", document.get("origin") or "<unknown>"),
        _field("Revision", f"{document['revision']} (spec generation {document['observedGeneration'] or '-'})"),
        _field("Labels", _pairs(document.get("labels"))),
        _field("AWS identity", _pairs(document.get("identity"))),
        _field("ARN", document["outputs"].get("arn", "<none>")),
        _field("Owner", _owner(document)),
        _field("Suspended", synced.get("message", "") if synced.get("reason") == "Suspended" else "no"),
        _field("Last reconcile", f"{document['lastReconcileTime']} ({document['lastReconcileSeconds']}s)"),
        "Conditions:", *_conditions(document["conditions"]),
        "Condition history:", *_conditions(document.get("conditionHistory", [])),
        _field("Last error", _error(document.get("lastError"))),
        *_drift(document.get("lastDrift")),
        "Depends on:", *_states(document["dependencies"]),
        "Dependents:", *_states(document["dependents"]),
        "Events:", *_indented([HEADER, *(event_cells(event) for event in document["events"])]),
    ]
    return "\n".join(lines)


# ---- the command -------------------------------------------------------------------------------------

async def _describe(args: argparse.Namespace) -> int:
    key = parse_key(args.item)
    return await read_with(args, lambda reader: _show(reader, args, key))


async def _show(reader: Reader, args: argparse.Namespace, key: str) -> int:
    document = await describe_document(reader, key)
    if document is None:
        print(f"trimtab: NotFound: {key} not found", file=sys.stderr)
        return EXIT_ERROR
    print(render_text(document) if args.output == "text" else documents(document, args.output))
    return EXIT_OK


def register_describe(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "describe", help="everything about one resource: origin, AWS identity, owner, conditions, errors, events",
        description="Show one resource in full: file:line, AWS identity and ARN, owner, conditions with their "
                    "history, the last error with its AWS code, the last drift (before -> after), dependencies "
                    "and dependents with their states, and recent events. Exit 1 when it is not found.",
    )
    parser.add_argument("item", metavar="KIND/NAME", help="e.g. Queue/orders or queue/orders")
    parser.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text",
                        help="json or yaml: the document the text shows")
    add_reader_arguments(parser)
    parser.set_defaults(handler=lambda args: asyncio.run(_describe(args)))
