"""What the commands and the API take to name items, parsed one way everywhere.

- KIND[/NAME], as kubectl takes it: the kind case-insensitive, singular or plural, or its initials when
  it has several words (`Queue`, `queue`, `queues`, `st` for ScalableTarget, `scalingpolicies`); the
  name as written in `metadata.name` (always lowercase). `get`, `describe`, `events`, `resync`,
  `suspend`, `resume` and the API's item lists all go through `parse_selector` or `parse_key`.
- `-l KEY=VALUE[,...]` over metadata.labels, with kubectl's equality forms: `k=v`, `k==v`, `k!=v`,
  `k` (has the label) and `!k` (has not).
- `--status-selector TYPE=STATUS[,...]` over conditions, as Flux's: `Ready=False`, `synced=unknown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.api.crd import plural
from controller.kinds.registry import MODELS


class SelectorError(ValueError):
    """A selector that cannot be read; its message is one line for the person who typed it (main()
    prints it, as it does a UserError; the API answers it as a 400)."""


def _aliases() -> dict[str, str]:
    aliases = {}
    for kind in MODELS:
        initials = "".join(letter for letter in kind if letter.isupper()).lower()
        for alias in (kind.lower(), plural(kind), *([initials] if len(initials) > 1 else [])):
            aliases[alias] = kind
    return aliases


KIND_ALIASES = _aliases()


def resolve_kind(text: str) -> str:
    kind = KIND_ALIASES.get(text.lower())
    if kind is None:
        raise SelectorError(f"unknown kind {text!r} (the kinds are {', '.join(MODELS)})")
    return kind


@dataclass(frozen=True)
class Selector:
    """A kind, one item of a kind, or (both None) everything."""

    kind: str | None = None
    name: str | None = None

    def matches(self, key: str) -> bool:
        kind, _, name = key.partition("/")
        return (self.kind is None or kind == self.kind) and (self.name is None or name == self.name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}" if self.name else (self.kind or "everything")


def parse_selector(text: str | None) -> Selector:
    if not text:
        return Selector()
    kind, slash, name = text.partition("/")
    if slash and not name:
        raise SelectorError(f"{text!r} names no item after the '/': give KIND/NAME, e.g. Queue/orders")
    return Selector(resolve_kind(kind), name.lower() or None)


def parse_key(text: str) -> str:
    """Exactly one item, as its key (`Queue/orders`)."""
    selector = parse_selector(text)
    if selector.name is None:
        raise SelectorError(f"{text!r} names no item: give KIND/NAME, e.g. Queue/orders")
    return str(selector)


# ---- labels and conditions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str  # "=", "!=", "exists" or "!exists"
    value: str = ""

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        return (labels.get(self.key) == self.value) == (self.operator == "=")


def parse_labels(text: str | None) -> tuple[LabelRequirement, ...]:
    requirements = []
    for written in (text or "").split(","):
        term = written.strip()
        if not term:
            continue
        for operator, form in (("!=", "!="), ("=", "=="), ("=", "=")):
            key, found, value = term.partition(form)
            if found:
                requirements.append(LabelRequirement(_label_key(key, text), operator, value.strip()))
                break
        else:
            negated = term.startswith("!")
            requirements.append(LabelRequirement(_label_key(term.removeprefix("!"), text),
                                                 "!exists" if negated else "exists"))
    return tuple(requirements)


def _label_key(key: str, text: str | None) -> str:
    key = key.strip()
    if not key or any(character in key for character in "!=() "):
        raise SelectorError(f"cannot read the label selector {text!r}: use key=value, key!=value, key or !key, "
                            "separated by commas")
    return key


def labels_match(requirements: tuple[LabelRequirement, ...], labels: Mapping[str, str]) -> bool:
    return all(requirement.holds(labels) for requirement in requirements)


CONDITION_STATUSES = {"true": "True", "false": "False", "unknown": "Unknown"}
CONDITION_TYPES = {"ready": "Ready", "synced": "Synced"}


def parse_conditions(text: str | None) -> tuple[tuple[str, str], ...]:
    """(type, status) pairs, each of which a row's conditions must have."""
    wanted = []
    for term in (text or "").split(","):
        if not term.strip():
            continue
        kind, _, status = term.strip().partition("=")
        if kind.lower() not in CONDITION_TYPES or status.lower() not in CONDITION_STATUSES:
            raise SelectorError(f"cannot read the status selector {term.strip()!r}: use TYPE=STATUS with TYPE Ready "
                                "or Synced and STATUS True, False or Unknown, e.g. Ready=False")
        wanted.append((CONDITION_TYPES[kind.lower()], CONDITION_STATUSES[status.lower()]))
    return tuple(wanted)
