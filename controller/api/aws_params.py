"""Which AWS API parameter each spec field feeds, and the constraints that follow from it.

Every kind declares `AWS_PARAMS`: a table from a spec path to the `Param` that field is rendered into,
or to `TrimtabOnly` with the reason it has none (a reference, `deletionPolicy`, a shorthand). A `Param`
names the operation, and the member inside its input shape; the member's min, max, length, pattern and
enum are read from botocore's service model (the shared lean loader of controller.aws_models) when a spec
is validated, not copied into this code. Where the model says less than AWS documents (it says nothing
about alarm periods, nor about SQS attribute ranges), a `Hand` constraint adds to it and cites the AWS
page it comes from; where trimtab accepts less than AWS for its own reason, the `Hand` says that reason.
tests/test_model_mapping.py checks that every field is in the table, that every member exists in the
model, and that no hand-written constraint is looser than the model or silently repeats it.

The same table gives the CRDs their constraints (`annotate`) and docs/spec-reference.md its columns.

Paths: camelCase field names joined by `.`; `[]` is a list's items, `{key}` and `{value}` a map's keys
and values. Members use the same syntax from the operation's input shape, plus `{=Name}` for the map
entry whose key is Name (SQS's Attributes).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape
from pydantic import BaseModel

from controller.aws_models import service_model

# Java-style patterns in botocore's models (Smithy's), as Python patterns (exact: for validation) and
# in the subset Go's RE2 and Python share (for the CRDs; Kubernetes checks `pattern` with RE2). A pattern
# used in a mapping must be listed here (tests/test_model_mapping.py checks).
JAVA_PATTERNS: dict[str, tuple[str, str]] = {
    # CloudWatch namespaces: not starting with ':'.
    r"[^:].*": (r"[^:].*", r"^[^:].*$"),
    # "Printable": read as any character but the C0 and C1 controls, so that no name AWS takes is refused.
    r"\p{Print}+": ("[^\x00-\x1f\x7f-\x9f]+", r"^[^\x00-\x1F\x7F-\x9F]+$"),
    # Application Auto Scaling's scheduled action names: no leading or trailing space, no control
    # character, no ':', '/' or '|'. RE2 has no lookahead, so the CRD form leaves the spaces to validation.
    r"(?!((^[ ]+.*)|(.*([\u0000-\u001f]|[\u007f-\u009f]|[:/|])+.*)|(.*[ ]+$))).+": (
        r"(?!((^[ ]+.*)|(.*([\x00-\x1f]|[\x7f-\x9f]|[:/|])+.*)|(.*[ ]+$))).+", r"^[^\x00-\x1F\x7F-\x9F:/|]+$"
    ),
    # XML's Char production. The CRD form leaves out the surrogates and U+FFFE/U+FFFF, which RE2 cannot write.
    r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*": (
        "[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\r\n\t]*", r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*$"
    ),
}

_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_SEGMENT = re.compile(r"^([A-Za-z0-9_]+)((?:\[\]|\{key\}|\{value\}|\{=[A-Za-z0-9_]+\})*)$")
_SUFFIX = re.compile(r"\[\]|\{key\}|\{value\}|\{=[A-Za-z0-9_]+\}")


@dataclass(frozen=True)
class Hand:
    """A constraint written by hand. `source` is the AWS documentation page (https://...) saying it where
    the model is silent, or "trimtab: <reason>" where trimtab accepts less than AWS on purpose."""

    source: str
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    pattern: str | None = None  # in the Python/RE2 subset, matched in full
    values: tuple[str, ...] | None = None
    reserve: int = 0  # items trimtab itself uses (its ownership tags): the spec may hold max_items - reserve
    rule: str | None = None  # a rule checked by the model's own validator, described for the reference

    def __post_init__(self) -> None:
        if not (self.source.startswith("https://") or self.source.startswith("trimtab: ")):
            raise ValueError(f"a hand-written constraint cites an https:// page or says 'trimtab: why' ({self})")


@dataclass(frozen=True)
class Like:
    """The constraints of another model shape apply too, as `source` (an AWS page) says: e.g. a target
    tracking policy's customized metric must be a CloudWatch metric."""

    service: str
    shape: str
    source: str


@dataclass(frozen=True)
class Param:
    """The AWS API parameter a spec field is rendered into."""

    service: str  # botocore's name: cloudwatch, application-autoscaling, sqs, s3, ecs
    operation: str
    member: str
    hand: tuple[Hand | Like, ...] = ()
    # The spec writes trimtab's own vocabulary, which render translates (true -> "Enabled", SSE-S3 ->
    # AES256): the parameter's own constraints do not apply to the spec's value.
    translated: str | None = None

    @property
    def label(self) -> str:
        return f"{self.service} {self.operation} {self.member}"


@dataclass(frozen=True)
class TrimtabOnly:
    """A field no AWS parameter holds: a reference, a policy of trimtab's, a shorthand it expands."""

    reason: str


ParamTable = Mapping[str, "Param | TrimtabOnly"]


# ---- the constraints of one parameter ---------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    shown: str  # as written in the model or by hand
    python: re.Pattern[str]
    portable: str | None  # for the CRDs, or None where RE2 cannot write it


@dataclass(frozen=True)
class Constraints:
    type: str  # botocore's type of the member: string, integer, long, double, boolean, list, map, ...
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    patterns: tuple[Pattern, ...] = ()
    values: tuple[str, ...] | None = None
    reserve: int = 0
    aws_max_items: int | None = None  # before the reserve
    rules: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())


def shape_of(service: str, operation: str, member: str) -> Shape:
    """The botocore shape at `member` of `operation`'s input. KeyError names what is missing."""
    shape: Shape = service_model(service).operation_model(operation).input_shape
    for segment in member.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise KeyError(f"{service} {operation}: bad member segment {segment!r}")
        name, suffixes = match.groups()
        members = getattr(shape, "members", {})
        if name not in members:
            raise KeyError(f"{service} {operation}: {shape.name} has no member {name!r}")
        shape = members[name]
        for suffix in _SUFFIX.findall(suffixes):
            shape = _descend(shape, suffix, f"{service} {operation} {member}")
    return shape


def _descend(shape: Shape, suffix: str, where: str) -> Shape:
    if suffix == "[]":
        if shape.type_name != "list":
            raise KeyError(f"{where}: {shape.name} is not a list")
        return shape.member
    if shape.type_name != "map":
        raise KeyError(f"{where}: {shape.name} is not a map")
    if suffix == "{key}":
        return shape.key
    if suffix.startswith("{="):
        key = suffix[2:-1]
        allowed = getattr(shape.key, "enum", None)
        if allowed and key not in allowed:
            raise KeyError(f"{where}: {key!r} is not a key of {shape.name}")
    return shape.value


def model_constraints(shape: Shape) -> dict[str, Any]:
    """What botocore's model itself says of a shape, in Constraints' terms."""
    metadata = shape.metadata
    found: dict[str, Any] = {}
    kind = shape.type_name
    if kind == "string":
        if metadata.get("min"):
            found["min_length"] = int(metadata["min"])
        if "max" in metadata:
            found["max_length"] = int(metadata["max"])
        if "pattern" in metadata:
            found["pattern"] = metadata["pattern"]
        if getattr(shape, "enum", None):
            found["values"] = tuple(shape.enum)
    elif kind in ("integer", "long", "double", "float"):
        low, high = _INT_BOUNDS.get(kind, (None, None))
        found["minimum"] = metadata.get("min", low)
        found["maximum"] = metadata.get("max", high)
    elif kind in ("list", "map"):
        if metadata.get("min"):
            found["min_items"] = int(metadata["min"])
        if "max" in metadata:
            found["max_items"] = int(metadata["max"])
    return {key: value for key, value in found.items() if value is not None}


def java_pattern(pattern: str) -> Pattern:
    python, portable = JAVA_PATTERNS.get(pattern, (pattern, None))
    return Pattern(pattern, re.compile(python), portable)


def hand_pattern(pattern: str) -> Pattern:
    return Pattern(pattern, re.compile(pattern), pattern)


@functools.cache
def constraints(param: Param) -> Constraints:
    """The model's constraints on `param` (unless translated), narrowed by its Like and Hand entries."""
    shape = shape_of(param.service, param.operation, param.member)
    parts: list[tuple[dict[str, Any], bool]] = []  # (constraints, from the model)
    if param.translated is None:
        parts.append((model_constraints(shape), True))
    sources: list[str] = []
    rules: list[str] = []
    reserve = 0
    for item in param.hand:
        sources.append(item.source)
        if isinstance(item, Like):
            parts.append((model_constraints(service_model(item.service).shape_for(item.shape)), True))
            continue
        written = {name: getattr(item, name) for name in (
            "minimum", "exclusive_minimum", "maximum", "min_length", "max_length", "min_items", "max_items",
            "pattern", "values") if getattr(item, name) is not None}
        parts.append((written, False))
        reserve = max(reserve, item.reserve)
        if item.rule:
            rules.append(item.rule)
    merged: dict[str, Any] = {}
    patterns: list[Pattern] = []
    for part, from_model in parts:
        for name, value in part.items():
            if name == "pattern":
                pattern = java_pattern(value) if from_model else hand_pattern(value)
                if pattern.shown not in [known.shown for known in patterns]:
                    patterns.append(pattern)
            elif name == "values":
                previous = merged.get("values")
                merged["values"] = value if previous is None else tuple(v for v in previous if v in value)
            elif name in ("minimum", "exclusive_minimum", "min_length", "min_items"):
                merged[name] = value if name not in merged else max(merged[name], value)
            else:
                merged[name] = value if name not in merged else min(merged[name], value)
    aws_max_items = merged.get("max_items")
    if reserve and aws_max_items is not None:
        merged["max_items"] = aws_max_items - reserve
    return Constraints(type=shape.type_name, patterns=tuple(patterns), reserve=reserve,
                       aws_max_items=aws_max_items if reserve else None, rules=tuple(rules),
                       sources=tuple(sources), **merged)


# ---- checking a validated spec ----------------------------------------------------------------------

PathKey = tuple[str | int, ...]


Segments = tuple[tuple[str, tuple[str, ...]], ...]


@functools.cache
def parse_path(path: str) -> Segments:
    """"metrics[].metricStat.metric.dimensions{key}" -> (("metrics", ("[]",)), ..., ("dimensions", ("{key}",)))"""
    parsed = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"bad spec path segment {segment!r} in {path!r}")
        parsed.append((match.group(1), tuple(_SUFFIX.findall(match.group(2)))))
    return tuple(parsed)


@functools.cache
def _aliases(model: type[BaseModel]) -> dict[str, str]:
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def values_at(spec: Any, path: str) -> Iterator[tuple[PathKey, Any]]:
    """Every value at `path` in a spec, as written (the parsed YAML, camelCase keys) or validated (a model,
    defaults included), with its concrete path."""
    yield from _values(spec, parse_path(path), ())


def _values(node: Any, segments: Segments, at: PathKey) -> Iterator[tuple[PathKey, Any]]:
    if not segments:
        yield at, node
        return
    (name, suffixes), rest = segments[0], segments[1:]
    if isinstance(node, BaseModel):
        attribute = _aliases(type(node)).get(name)
        if attribute is None:
            raise KeyError(f"{type(node).__name__} has no field {name!r}")
        value = getattr(node, attribute)
    elif isinstance(node, dict):
        value = node.get(name)
    else:
        return
    if value is None:
        return
    yield from _suffixed(value, suffixes, rest, (*at, name))


def _suffixed(value: Any, suffixes: tuple[str, ...], rest: Segments,
              at: PathKey) -> Iterator[tuple[PathKey, Any]]:
    if not suffixes:
        yield from _values(value, rest, at)
        return
    suffix, more = suffixes[0], suffixes[1:]
    if suffix == "[]" and isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _suffixed(item, more, rest, (*at, index))
    elif suffix == "{key}" and isinstance(value, dict):
        for key in value:
            yield from _suffixed(key, more, rest, (*at, key))
    elif suffix == "{value}" and isinstance(value, dict):
        for key, item in value.items():
            yield from _suffixed(item, more, rest, (*at, key))


def problem(value: Any, found: Constraints, *, key: bool = False) -> str | None:
    """What is wrong with `value` under `found`, as the end of an error message; None if nothing."""
    what = f"key {_short(value)}: " if key else ""
    if isinstance(value, bool) or value is None or isinstance(value, BaseModel):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        got = f" (got {value!r})"
        if found.exclusive_minimum is not None and value <= found.exclusive_minimum:
            return f"must be more than {_number(found.exclusive_minimum)}{got}"
        if found.minimum is not None and value < found.minimum:
            return f"must be at least {_number(found.minimum)}{got}"
        if found.maximum is not None and value > found.maximum:
            return f"must be at most {_number(found.maximum)}{got}"
        return None
    if isinstance(value, str):
        if found.min_length is not None and len(value) < found.min_length:
            unit = "character" if found.min_length == 1 else "characters"
            return f"{what}must have at least {found.min_length} {unit} (got {len(value)})"
        if found.max_length is not None and len(value) > found.max_length:
            return f"{what}must have at most {found.max_length} characters (got {len(value)})"
        for pattern in found.patterns:
            if pattern.python.fullmatch(value) is None:
                return f"{what}must match {pattern.shown} (got {_short(value)})"
        if found.values is not None and value not in found.values:
            close = difflib.get_close_matches(value, found.values, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"{what}must be one of {', '.join(map(repr, found.values))} (got {_short(value)}{hint})"
        return None
    if isinstance(value, (list, tuple, dict)):
        count = len(value)
        noun = "tags" if found.reserve else "items"
        if found.min_items is not None and count < found.min_items:
            return f"must have at least {found.min_items} {noun} (got {count})"
        if found.max_items is not None and count > found.max_items:
            if found.reserve:
                return (f"at most {found.max_items} tags: AWS allows {found.aws_max_items} and trimtab uses "
                        f"{found.reserve} (got {count})")
            return f"must have at most {found.max_items} items (got {count})"
    return None


def _short(value: str) -> str:
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**63 else repr(value)


def violations(spec: Any, table: ParamTable) -> list[tuple[PathKey, str]]:
    """Every value in `spec` that breaks its parameter's constraints: (path below spec, message)."""
    found: list[tuple[PathKey, str]] = []
    for segments, limits, key in _compiled(table):
        for at, value in _values(spec, segments, ()):
            message = problem(value, limits, key=key)
            if message is not None:
                found.append((at, message))
    return found


# id(table) -> (the table, its checks): each kind's table is resolved against botocore once per process.
_COMPILED: dict[int, tuple[ParamTable, list[tuple[Segments, Constraints, bool]]]] = {}


def _compiled(table: ParamTable) -> list[tuple[Segments, Constraints, bool]]:
    cached = _COMPILED.get(id(table))
    if cached is None or cached[0] is not table:
        checks = [(parse_path(path), constraints(param), path.endswith("{key}"))
                  for path, param in table.items() if isinstance(param, Param)]
        cached = _COMPILED[id(table)] = (table, checks)
    return cached[1]


# ---- the CRDs and the reference ---------------------------------------------------------------------


def schema_node(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node of a structural spec schema at `path`; None for a map's keys or an opaque value."""
    node: Any = schema
    for name, suffixes in parse_path(path):
        node = node.get("properties", {}).get(name)
        if node is None:
            return None
        for suffix in suffixes:
            if suffix == "[]":
                node = node.get("items")
            elif suffix == "{value}":
                node = node.get("additionalProperties")
            else:
                return None
            if not isinstance(node, dict):
                return None
    return node if isinstance(node, dict) and "type" in node else None


def annotate(schema: dict[str, Any], table: ParamTable) -> None:
    """Write each parameter's constraints into the spec schema, in the keywords Kubernetes knows."""
    for path, param in table.items():
        if not isinstance(param, Param):
            continue
        node = schema_node(schema, path)
        if node is None:
            continue
        found = constraints(param)
        kind = node["type"]
        if kind == "string":
            _put(node, "minLength", found.min_length)
            _put(node, "maxLength", found.max_length)
            portable = [pattern.portable for pattern in found.patterns if pattern.portable]
            if len(portable) == 1:
                node["pattern"] = portable[0]
            elif portable:  # several patterns: all must match
                node["allOf"] = [{"pattern": pattern} for pattern in portable]
            if found.values is not None:
                node["enum"] = list(found.values)
        elif kind in ("integer", "number"):
            if found.exclusive_minimum is not None:
                node["minimum"], node["exclusiveMinimum"] = found.exclusive_minimum, True
            else:
                _put(node, "minimum", found.minimum)
            _put(node, "maximum", found.maximum)
        elif kind == "array":
            _put(node, "minItems", found.min_items)
            _put(node, "maxItems", found.max_items)
        elif kind == "object":
            _put(node, "minProperties", found.min_items)
            _put(node, "maxProperties", found.max_items)


def _put(node: dict[str, Any], key: str, value: float | None) -> None:
    if value is not None:
        node[key] = int(value) if float(value).is_integer() else value


def describe(found: Constraints) -> str:
    """The constraints in words, for the reference."""
    parts: list[str] = []
    if found.values is not None:
        parts.append("one of " + ", ".join(f"`{value}`" for value in found.values))
    if found.exclusive_minimum is not None:
        parts.append(f"> {_number(found.exclusive_minimum)}")
    if found.minimum is not None:
        parts.append(f">= {_number(found.minimum)}")
    if found.maximum is not None:
        parts.append(f"<= {_number(found.maximum)}")
    if found.min_length is not None or found.max_length is not None:
        parts.append(f"length {found.min_length or 0} to {found.max_length}" if found.max_length is not None
                     else f"length at least {found.min_length}")
    if found.reserve:
        parts.append(f"at most {found.max_items} (AWS allows {found.aws_max_items}; trimtab uses {found.reserve})")
    elif found.min_items is not None or found.max_items is not None:
        parts.append(f"{found.min_items or 0} to {found.max_items} items" if found.max_items is not None
                     else f"at least {found.min_items} items")
    parts += [f"pattern `{pattern.shown}`" for pattern in found.patterns]
    parts += list(found.rules)
    return "; ".join(parts)
