"""Field values as people read them: in a plan, and in the drift a status keeps for `trimtab describe`.

A plan shows every value whole. A status row keeps the last drift for as long as the spec lives, in
memory and in the store, and the log carries drift and updates to wherever logs go, so there a policy is
summarised to its statement count, length and digest, and any other long value (a list of lifecycle
rules) to its first characters and its length: enough to recognise it, never a dump.
"""

from __future__ import annotations

import hashlib
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


def is_policy(path: str) -> bool:
    """A queue's, a bucket's or any other IAM policy document: `policy`, `queuePolicy`, `tags.x` is not."""
    return path.rsplit(".", 1)[-1].lower().endswith("policy")


def summarise(value: Any, path: str = "") -> str:
    text = show(value)
    if value is not ABSENT and is_policy(path):
        statements = value.get("Statement", []) if isinstance(value, dict) else []
        count = len(statements) if isinstance(statements, list) else 1
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"(a policy: {count} statement(s), {len(text)} characters, sha256 {digest})"
    if len(text) <= SUMMARY_CHARACTERS:
        return text
    return f"{text[:SUMMARY_CHARACTERS]}... ({len(text)} characters)"


def drift_record(changes: list[FieldChange], *, corrected: bool, time: str) -> DriftRecord:
    return DriftRecord(time, corrected, tuple(
        FieldDrift(change.path, summarise(change.before, change.path), summarise(change.after, change.path))
        for change in changes))
