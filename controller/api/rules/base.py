"""The shape every rule shares: a function from one validated spec to the violations it finds.

A rule looks at a spec that already passed its model (field types, ranges, patterns), and checks
what only several fields together can say: the rules AWS documents but enforces only when the call
is made. Each rule cites the AWS page it comes from, so a reviewer can check it against the source.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.api.envelope import Resource
from controller.api.yamldoc import PathKey


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a path from the document's root) and what to change."""

    path: PathKey
    message: str


Rule = Callable[[Any], Iterable[Violation]]
_R = TypeVar("_R", bound=Rule)

# Kind name -> the rules for specs of that kind, in registration order.
REGISTRY: dict[str, list[Rule]] = {}


def rule(*kinds: type[Resource]) -> Callable[[_R], _R]:
    """Register the decorated function as a rule for specs of `kinds`."""

    def register(function: _R) -> _R:
        for kind in kinds:
            REGISTRY.setdefault(kind.KIND, []).append(function)
        return function

    return register


def violations(resource: Resource) -> list[Violation]:
    found: list[Violation] = []
    for check in REGISTRY.get(resource.KIND, ()):
        found.extend(check(resource))
    return found


# ---- helpers shared by several rules ------------------------------------------------------------------


def as_list(value: object) -> list[Any]:
    """IAM lets most policy elements be one value or a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=1024)  # policies repeat their patterns across many specs
def glob_regex(pattern: str) -> re.Pattern[str]:
    """An IAM-style wildcard pattern (`*`, `?`, and `${policy:variables}`) as a regular expression."""
    parts = re.split(r"(\$\{[^}]*\}|\*|\?)", pattern)
    body = "".join(
        ".*" if part == "*" or part.startswith("${") else "." if part == "?" else re.escape(part)
        for part in parts
    )
    return re.compile(f"^{body}$", re.DOTALL)


def glob_matches(pattern: str, value: str) -> bool:
    return glob_regex(pattern).match(value) is not None


def indexed(items: Iterable[Any] | None) -> Iterator[tuple[int, Any]]:
    return enumerate(items or ())
