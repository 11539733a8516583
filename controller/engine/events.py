"""One log event per action, as JSON lines on stdout (CloudWatch-friendly) or readable on a terminal.

Events: Created, Updated, Adopted, DriftCorrected, DriftDetected (observe-only), Deleted, Retained,
PruneHeld, Conflict, Error, DependencyNotReady, Suspended, InvalidSpec, SourceError, SourceChanged,
ResyncRequested (SIGHUP or the API), Resumed, SourceWatch, Started, Stopping, Stopped. Resource events
carry kind, name, revision and duration; listeners (the event journal) hear every event as it is logged.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

Listener = Callable[[str, str, Mapping[str, Any]], None]  # (event, message, fields)


class EventLog:
    def __init__(self, out: TextIO = sys.stdout, human: bool | None = None) -> None:
        self._out = out
        self._human = out.isatty() if human is None else human
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, message: str = "", **fields: Any) -> None:
        for listener in self._listeners:
            listener(event, message, fields)
        record = {"time": round(time.time(), 3), "event": event, **{k: v for k, v in fields.items() if v is not None}}
        if message:
            record["message"] = message
        if self._human:
            subject = f"{fields['kind']}/{fields['name']}" if "kind" in fields and "name" in fields else ""
            details = " ".join(
                f"{k}={v}" for k, v in record.items() if k not in ("time", "event", "kind", "name", "message")
            )
            clock = time.strftime("%H:%M:%S", time.localtime(record["time"]))
            line = " ".join(part for part in (clock, f"{event:<18}", subject, message, details) if part)
        else:
            line = json.dumps(record, default=str, separators=(",", ":"))
        print(line, file=self._out, flush=True)
