"""`trimtab get`: one row per spec, as `kubectl get` lists objects, made for triage.

Failing rows come first (not Ready, or not Synced), then by kind and name. A KIND or KIND/NAME that
matches nothing is NotFound (exit 1), as kubectl says for an unknown object; filters (`-l`,
`--status-selector`, `--failing`) that leave nothing are an empty answer, not an error. `-w` prints
each row again whenever what it says changes, until Ctrl-C. Exit 3 while a prune is held.

Read from the store, the source line says when the status may be stale: the controller said it
stopped, or has not rewritten its source status for a while (a crash). Read with `--url`, it is live.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from controller.api.selectors import (
    Selector,
    labels_match,
    parse_conditions,
    parse_labels,
    parse_selector,
)
from controller.cli.output import age, column_widths, documents, streamed, table, table_line
from controller.cli.readers import Reader, add_reader_arguments, read_with, until_interrupted
from controller.engine.revisions import SOURCE_STATUS_REFRESH_SECONDS

EXIT_OK, EXIT_ERROR, EXIT_PRUNE_HELD = 0, 1, 3
OUTPUTS = ("table", "wide", "name", "json", "yaml")
WATCH_POLL_SECONDS = 1.0
# A source status not rewritten for this long was left by a controller that is no longer running.
STALE_AFTER_SECONDS = 3 * SOURCE_STATUS_REFRESH_SECONDS
Row = dict[str, Any]
Subparsers = Any


def key_of(row: Row) -> str:
    return f"{row['kind']}/{row['name']}"


def conditions_of(row: Row) -> dict[str, dict[str, str]]:
    return {condition["type"]: condition for condition in row["conditions"]}


def telling_condition(row: Row) -> dict[str, str]:
    """The condition that says most: Synced while it is not True (an error, a wait), else Ready."""
    conditions = conditions_of(row)
    synced = conditions.get("Synced", {})
    return synced if synced.get("status") != "True" else conditions.get("Ready", {})


def is_failing(row: Row) -> bool:
    """Not Ready, or not Synced: what an on-call person looks at first."""
    conditions = conditions_of(row)
    return conditions.get("Ready", {}).get("status") != "True" or conditions.get("Synced", {}).get("status") == "False"


def triage_order(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (not is_failing(row), row["kind"], row["name"]))


def not_found(selector: Selector) -> str:
    if selector.name:
        return f"trimtab: NotFound: {selector} not found"
    return f"trimtab: NotFound: no {selector.kind} resources found"


# ---- rendering ---------------------------------------------------------------------------------------

def header(wide: bool) -> list[str]:
    columns = ["KIND", "NAME", "READY", "SYNCED", "AGE", "REVISION", "REASON", "MESSAGE"]
    if wide:
        columns[6:6] = ["LAST RECONCILE"]
    return columns


def cells(row: Row, wide: bool) -> list[str]:
    conditions = conditions_of(row)
    ready, synced = conditions.get("Ready", {}), conditions.get("Synced", {})
    telling = telling_condition(row)
    reason, message = telling.get("reason", ""), telling.get("message", "")
    revision = row["revision"] if wide else row["revision"][:12]
    columns = [row["kind"], row["name"], ready.get("status", ""), synced.get("status", ""), age(row["firstSeen"]),
               revision, reason, message if wide else message[:80]]
    if wide:
        columns[6:6] = [f"{age(row['lastReconcileTime'])} ago ({row['lastReconcileSeconds']}s)"]
    return columns


def render(rows: list[Row], output: str) -> str:
    if output in ("json", "yaml"):
        return documents(rows, output)
    if output == "name":
        return "\n".join(key_of(row) for row in rows)
    return table([header(output == "wide"), *(cells(row, output == "wide") for row in rows)])


def staleness(source: Row, now: datetime | None = None) -> str:
    """Why the store's status may be out of date, or "" when a controller keeps it current."""
    now = now or datetime.now(UTC)
    if source.get("stoppedTime"):
        return f"; the controller stopped {age(source['stoppedTime'], now)} ago: this status is from then"
    reported = source.get("reportedTime")
    if reported and (now - datetime.fromisoformat(reported.replace("Z", "+00:00"))).total_seconds() > (
            STALE_AFTER_SECONDS):
        return f"; no word from the controller for {age(reported, now)}: is it running? this status may be stale"
    return ""


def print_source(source: Row) -> None:
    """The source's line, and its problems: the live revision, fetch failures, invalid specs."""
    revision = (source.get("revision") or "none")[:12]
    applied = source.get("appliedRevision")
    state = source.get("phase") or ("applied" if applied and applied == source.get("revision") else "applying")
    counts = [f"{source[field]} {label}" for field, label in (("pendingSpecs", "pending"),
              ("failingSpecs", "failing"), ("invalidSpecs", "invalid")) if source.get(field)]
    if counts:
        state += f": {', '.join(counts)} of {source.get('specCount', 0) + source.get('invalidSpecs', 0)} specs"
    state += staleness(source)
    print(f"SOURCE {source['source']}  REVISION {revision} ({state})  FETCHED {source.get('lastFetchTime')}",
          file=sys.stderr)
    if source.get("fetchError"):
        print(f"  FETCH FAILING since {source.get('failingSince')}: {source['fetchError']} "
              f"(revision {revision} stays live)", file=sys.stderr)
    for what, why in (source.get("degraded") or {}).items():
        print(f"  DEGRADED {what}: {why}", file=sys.stderr)
    for problem in source.get("specErrors", []):
        print(f"  INVALID {problem}", file=sys.stderr)
    hidden = source.get("specErrorCount", 0) - len(source.get("specErrors", []))
    if hidden > 0:
        print(f"  ... and {hidden} more invalid specs", file=sys.stderr)


# ---- the command -------------------------------------------------------------------------------------

def _filter(args: argparse.Namespace) -> tuple[Selector, Callable[[Row], bool]]:
    """The KIND[/NAME] selector, and the other filters as one predicate."""
    selector = parse_selector(args.selector)
    labels, wanted = parse_labels(args.labels), parse_conditions(args.status_selector)

    def keep(row: Row) -> bool:
        conditions = conditions_of(row)
        return (labels_match(labels, row.get("labels") or {})
                and all(conditions.get(kind, {}).get("status") == status for kind, status in wanted)
                and (not args.failing or is_failing(row)))
    return selector, keep


async def _get(args: argparse.Namespace) -> int:
    selector, keep = _filter(args)  # before any reading: a selector that cannot be read is the first answer
    return await read_with(args, lambda reader: _show(reader, args, selector, keep))


async def _show(reader: Reader, args: argparse.Namespace, selector: Selector, keep: Callable[[Row], bool]) -> int:
    matched = [row for row in await reader.statuses() if selector.matches(key_of(row))]
    if selector.kind and not matched:
        print(not_found(selector), file=sys.stderr)
        return EXIT_ERROR
    rows = triage_order([row for row in matched if keep(row)])
    source = await reader.source() if args.output in ("table", "wide") else None
    if source is not None:
        print_source(source)
    if args.watch:
        return await _watch(reader, rows, lambda row: selector.matches(key_of(row)) and keep(row), args.output)
    if rows or args.output in ("json", "yaml"):
        print(render(rows, args.output))
    else:
        print("no resources" if not matched else "no resources match", file=sys.stderr)
    hold = await reader.held_prune()
    if hold is not None:
        print(f"PRUNE HELD: {len(hold)} resources would be deleted: {', '.join(hold)}. "
              "Release with `trimtab prune --confirm`.", file=sys.stderr)
        return EXIT_PRUNE_HELD
    return EXIT_OK


def _said(row: Row) -> str:
    """What a row says, less the times that move at every drift check: a change of it is printed."""
    return json.dumps([row["conditions"], row["revision"]], sort_keys=True)


async def _watch(reader: Reader, rows: list[Row], keep: Callable[[Row], bool], output: str) -> int:
    """Print `rows`, then each row that changes (or stops matching the filters, once) until Ctrl-C."""
    wide = output == "wide"
    widths = column_widths([header(wide), *(cells(row, wide) for row in rows)])

    def emit(row: Row) -> None:
        if output in ("json", "yaml"):
            print(streamed(row, output), flush=True)
        elif output == "name":
            print(key_of(row), flush=True)
        else:
            print(table_line(cells(row, wide), widths), flush=True)

    if output in ("table", "wide"):
        print(table_line(header(wide), widths), flush=True)
    said = {}
    for row in rows:
        said[key_of(row)] = _said(row)
        emit(row)
    while True:
        await asyncio.sleep(WATCH_POLL_SECONDS)
        for row in await reader.statuses():
            key = key_of(row)
            if (keep(row) or key in said) and said.get(key) != _said(row):
                emit(row)
                said[key] = _said(row)
                if not keep(row):
                    del said[key]  # it left the selection: shown once as it left


def register_get(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "get", help="show status: READY, SYNCED, reason and message per resource, failing first",
        description="Read the controller's store (works while it runs, and after) or, with --url, its API. "
                    "Failing rows first. Exit 1 when KIND or KIND/NAME matches nothing (NotFound); "
                    "exit 3 when a prune is held.",
    )
    parser.add_argument("selector", nargs="?", metavar="KIND[/NAME]",
                        help="a kind (Queue, queue, queues; st for ScalableTarget, sp for ScalingPolicy) or one item")
    parser.add_argument("-o", "--output", choices=OUTPUTS, default="table",
                        help="name: KIND/NAME lines; with -w, json and yaml print one document per change")
    parser.add_argument("-l", "--selector", dest="labels", default=None, metavar="KEY=VALUE[,...]",
                        help="only specs whose metadata.labels match: key=value, key!=value, key, !key")
    parser.add_argument("--status-selector", default=None, metavar="TYPE=STATUS[,...]",
                        help="only rows whose conditions match, e.g. Ready=False or Synced=Unknown")
    parser.add_argument("--failing", action="store_true", help="only rows that are not Ready or not Synced")
    parser.add_argument("-w", "--watch", action="store_true",
                        help="after the list, print a row again each time it changes, until Ctrl-C")
    add_reader_arguments(parser)
    parser.set_defaults(handler=until_interrupted(_get))
