"""A field-by-field comparison of desired and observed state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.before!r} -> {self.after!r}"


def diff_states(desired: dict[str, Any], observed: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Changes needed to turn `observed` into `desired`. Keys only in `observed` count for nested
    maps (tags, policy statements) but not at the top level, where `observed` may hold extra fields."""
    changes: list[FieldChange] = []
    for key, want in desired.items():
        path = f"{prefix}.{key}" if prefix else key
        have = observed.get(key, ABSENT)
        if isinstance(want, dict) and isinstance(have, dict):
            changes.extend(diff_states(want, have, path))
            changes.extend(
                FieldChange(f"{path}.{extra}", have[extra], ABSENT) for extra in sorted(set(have) - set(want))
            )
        elif want != have:
            changes.append(FieldChange(path, have, want))
    return changes


def lower_first(name: str) -> str:
    """An AWS member name as a spec spells it: "MetricName" -> "metricName", "OKActions" -> "okActions"."""
    capitals = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if capitals <= 1 or capitals == len(name):
        return name[:1].lower() + name[1:] if capitals < len(name) else name.lower()
    return name[:capitals - 1].lower() + name[capitals - 1:]  # an acronym's last capital starts the next word


def spec_named(changes: list[FieldChange], spec_fields: Mapping[str, str]) -> list[FieldChange]:
    """Changes of a kind whose state uses AWS's member names, renamed to the spec's: the longest path of
    `spec_fields` that a change's path starts with is replaced, and the members under it lower-firsted."""
    if not spec_fields:
        return changes
    renamed = []
    for change in changes:
        prefix = max((known for known in spec_fields
                      if change.path == known or change.path.startswith(f"{known}.")), key=len, default=None)
        if prefix is None:
            renamed.append(change)
            continue
        rest = change.path[len(prefix) + 1:].split(".") if change.path != prefix else []
        path = ".".join([spec_fields[prefix], *map(lower_first, rest)])
        renamed.append(replace(change, path=path))
    return renamed
