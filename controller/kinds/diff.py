"""A field-by-field comparison of desired and observed state."""

from __future__ import annotations

from dataclasses import dataclass
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
