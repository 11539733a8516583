"""One log event per action, as JSON lines on stdout (CloudWatch-friendly) or readable on a terminal.

Events: Created, Updated, Adopted, DriftCorrected, DriftDetected (observe-only), Deleted, Retained,
PruneHeld, Conflict, Error, DependencyNotReady, Suspended, InvalidSpec, SourceError, SourceChanged,
ResyncRequested (SIGHUP or the API), Resumed, SourceWatch, Progress, LibraryLog (a library's warning),
Started, Stopping, Stopped. Every line has `time` (ISO 8601, UTC, milliseconds), `level` (error, warning
or info) and `event`; resource events carry kind, name, revision and duration; listeners (the event
journal) hear every event as it is logged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

Listener = Callable[[str, str, Mapping[str, Any]], None]  # (event, message, fields)

ERROR_EVENTS = frozenset({"Error", "DeleteFailed", "SourceError", "InvalidSpec", "StopIncomplete"})
# Need a person's attention, though nothing failed: Kubernetes' event type Warning, with the errors.
WARNING_EVENTS = frozenset({"Conflict", "DriftDetected", "LeaseLost", "NotOwned", "PruneHeld"})
_COLOUR = {"error": "\033[31m", "warning": "\033[33m"}  # red, yellow; info is the terminal's own
_RESET = "\033[0m"
_NOT_DETAILS = ("time", "level", "event", "kind", "name", "message")


def level_of(event: str) -> str:
    if event in ERROR_EVENTS:
        return "error"
    return "warning" if event in WARNING_EVENTS else "info"


def utc_timestamp(seconds: float | None = None) -> str:
    """ISO 8601 in UTC with milliseconds, as CloudWatch Logs Insights parses it: 2026-12-02T16:33:56.123Z."""
    moment = datetime.now(UTC) if seconds is None else datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wants_colour(out: TextIO) -> bool:
    """On a terminal, unless NO_COLOR (no-color.org) is set or the terminal is dumb."""
    return out.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class EventLog:
    def __init__(self, out: TextIO = sys.stdout, human: bool | None = None) -> None:
        self._out = out
        self._human = out.isatty() if human is None else human
        self._colour = self._human and wants_colour(out)
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, message: str = "", *, level: str | None = None, **fields: Any) -> None:
        for listener in self._listeners:
            listener(event, message, fields)
        record = {"time": utc_timestamp(), "level": level or level_of(event), "event": event,
                  **{k: v for k, v in fields.items() if v is not None}}
        if message:
            record["message"] = message
        line = self._readable(record) if self._human else json.dumps(record, default=str, separators=(",", ":"))
        print(line, file=self._out, flush=True)

    def _readable(self, record: dict[str, Any]) -> str:
        subject = f"{record['kind']}/{record['name']}" if "kind" in record and "name" in record else ""
        details = " ".join(f"{k}={_text(v)}" for k, v in record.items() if k not in _NOT_DETAILS)
        level = record["level"]
        head = f"{record['time'][:19]}Z {level.upper():<7} {record['event']:<18}"
        line = " ".join(part for part in (head, subject, record.get("message", ""), details) if part)
        colour = _COLOUR.get(level) if self._colour else None
        return f"{colour}{line}{_RESET}" if colour else line


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))


class _IntoEventLog(logging.Handler):
    def __init__(self, events: EventLog) -> None:
        super().__init__(logging.WARNING)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = "error" if record.levelno >= logging.ERROR else "warning"
            self.events.emit("LibraryLog", record.getMessage(), level=level, logger=record.name)
        except Exception:  # a log line must never take the controller down
            self.handleError(record)


def capture_library_logs(events: EventLog) -> None:
    """botocore's, aiohttp's and every other library's warnings (and Python's own `warnings`) as
    LibraryLog events in the one stream, instead of bare lines on stderr that a JSON parser trips on."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [_IntoEventLog(events)]
    root.setLevel(logging.WARNING)
