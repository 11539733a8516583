"""`trimtab events [KIND[/NAME]] [-w]`: what happened to the resources, as `kubectl get events` and
`flux events` list it, oldest first. Events come from the store (bounded per item and in age:
engine/journal.py), or with --url from a running controller. `-w` prints each new event, or a repeat
counted again, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from controller.api.selectors import Selector, parse_selector
from controller.cli.output import age, column_widths, documents, streamed, table, table_line
from controller.cli.readers import Reader, add_reader_arguments, read_with, until_interrupted
from controller.engine.journal import EVENT_RETENTION_SECONDS, EVENTS_PER_ITEM

EXIT_OK, EXIT_ERROR = 0, 1
WATCH_POLL_SECONDS = 1.0
HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
Document = dict[str, Any]
Subparsers = Any


def message_of(event: Document) -> str:
    """The message, with the count of a repeated event as kubectl shows it: (x3 over 5m)."""
    message = str(event["message"] or event["details"].get("code", ""))
    if event["count"] > 1:
        message += f" (x{event['count']} over {age(event['firstTime'])})"
    return message.strip()


def event_cells(event: Document) -> list[str]:
    return [age(event["lastTime"]), event["type"], event["reason"], event["object"], message_of(event)]


async def matching(reader: Reader, selector: Selector) -> list[Document]:
    found = await reader.events(str(selector) if selector.name else None)
    return [event for event in found if selector.matches(event["object"])]


def _said(event: Document) -> tuple[str, str, str, str, int]:
    return event["object"], event["reason"], event["message"], event["firstTime"], event["count"]


async def _watch(reader: Reader, selector: Selector, shown: list[Document], output: str) -> int:
    widths = column_widths([HEADER, *(event_cells(event) for event in shown)])

    def emit(event: Document) -> None:
        if output == "table":
            print(table_line(event_cells(event), widths), flush=True)
        else:
            print(streamed(event, output), flush=True)

    if output == "table":
        print(table_line(HEADER, widths), flush=True)
    said = set()
    for event in shown:
        said.add(_said(event))
        emit(event)
    while True:
        await asyncio.sleep(WATCH_POLL_SECONDS)
        for event in await matching(reader, selector):
            if _said(event) not in said:
                said.add(_said(event))
                emit(event)


async def _events(args: argparse.Namespace) -> int:
    selector = parse_selector(args.selector)
    return await read_with(args, lambda reader: _show(reader, args, selector))


async def _show(reader: Reader, args: argparse.Namespace, selector: Selector) -> int:
    found = await matching(reader, selector)
    if selector.name and not found and str(selector) not in {
            f"{row['kind']}/{row['name']}" for row in await reader.statuses()}:
        print(f"trimtab: NotFound: {selector} not found", file=sys.stderr)
        return EXIT_ERROR
    if args.watch:
        return await _watch(reader, selector, found, args.output)
    if args.output != "table":
        print(documents(found, args.output))
    elif found:
        print(table([HEADER, *(event_cells(event) for event in found)]))
    else:
        print("no events", file=sys.stderr)
    return EXIT_OK


def register_events(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "events", help="show what happened to resources: created, drift corrected, errors, deletions",
        description=f"Events kept in the store (the last {EVENTS_PER_ITEM} per resource, for "
                    f"{EVENT_RETENTION_SECONDS / 3600:.0f} h; repeats counted), oldest first, or with --url those "
                    "a running controller holds. Exit 1 when KIND/NAME is neither a resource nor has events "
                    "(NotFound).",
    )
    parser.add_argument("selector", nargs="?", metavar="KIND[/NAME]", help="a kind, or one item (default: all)")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        help="with -w, json and yaml print one document per event")
    parser.add_argument("-w", "--watch", action="store_true", help="after the list, print new events until Ctrl-C")
    add_reader_arguments(parser)
    parser.set_defaults(handler=until_interrupted(_events))
