"""Field values as people read them: in a plan, and in the drift a status keeps for `trimtab describe`.

A plan shows every value whole. A status row keeps the last drift for as long as the spec lives, in
memory and in the store, so there a long value (a queue or bucket policy, a list of lifecycle rules) is
summarised to its first characters and its length: enough to recognise it, never a dump.
"""

from __future__ import annotations

import json
from typing import Any

from controller.kinds.diff import ABSENT, FieldChange
from controller.store.base import DriftRecord, FieldDrift

SUMMARY_CHARACTERS = 120


def show(value: Any) -> str:
    """A value as JSON text; `(absent)` for a field that is not there."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, default=str)


def summarise(value: Any) -> str:
    text = show(value)
    if len(text) <= SUMMARY_CHARACTERS:
        return text
    return f"{text[:SUMMARY_CHARACTERS]}... ({len(text)} characters)"


def drift_record(changes: list[FieldChange], *, corrected: bool, time: str) -> DriftRecord:
    return DriftRecord(time, corrected, tuple(
        FieldDrift(change.path, summarise(change.before), summarise(change.after)) for change in changes))
