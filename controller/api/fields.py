"""Field types shared by every kind: names, tags, policy documents and references."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from controller.api.aws_params import Hand, Param, TrimtabOnly

API_VERSION = "trimtab.io/v1alpha1"

# Kubernetes object names (RFC 1123 subdomain), so the same specs can live in a cluster as CRs.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
_OBJECT_NAME_RE = re.compile(OBJECT_NAME_PATTERN)
OBJECT_NAME_MAX = 253


class SpecModel(BaseModel):
    """Base of every spec model: camelCase in YAML, unknown fields are errors, values are immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
        # NaN and infinities are no AWS value: `threshold: .nan` would differ from what AWS keeps forever.
        allow_inf_nan=False,
    )


# One set object per distinct (model class, fields written) pair; see share_fields_sets.
_SHARED_FIELDS_SETS: dict[tuple[type[BaseModel], frozenset[str]], set[str]] = {}


def share_fields_sets(value: object) -> None:
    """Point every model inside `value` at a shared copy of its fields-set. pydantic gives each model
    instance its own set of the field names written (~200-700 bytes); a spec is several models, so at
    10,000 specs these sets were 10 MiB of identical values. Safe because spec models are frozen:
    nothing adds to the set after validation (model_copy copies it first)."""
    if isinstance(value, BaseModel):
        written = value.__pydantic_fields_set__
        shared = _SHARED_FIELDS_SETS.setdefault((type(value), frozenset(written)), written)
        object.__setattr__(value, "__pydantic_fields_set__", shared)
        for child in value.__dict__.values():
            share_fields_sets(child)
    elif isinstance(value, (list, tuple)):
        for item in value:
            share_fields_sets(item)
    elif isinstance(value, dict):
        for item in value.values():
            share_fields_sets(item)


def _check_object_name(value: str) -> str:
    if len(value) > OBJECT_NAME_MAX:
        raise ValueError(f"must be at most {OBJECT_NAME_MAX} characters")
    if not _OBJECT_NAME_RE.match(value):
        raise ValueError(
            "must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit"
        )
    return value


ObjectName = Annotated[str, AfterValidator(_check_object_name), WithJsonSchema(
    {"type": "string", "pattern": OBJECT_NAME_PATTERN, "maxLength": OBJECT_NAME_MAX}
)]


# ---- tags -------------------------------------------------------------------------------------------

# AWS allows 50 tags on each resource of the kinds trimtab manages; trimtab's ownership tags
# (trimtab.io/owner and trimtab.io/resource, controller/kinds/ownership.py) take 2 of them.
AWS_TAGS_MAX = 50
TRIMTAB_TAGS = 2
TAGGING_URL = "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"
TAG_KEY = Hand(TAGGING_URL, min_length=1, max_length=128)
TAG_KEY_MAX = Hand(TAGGING_URL, max_length=128)  # where the model already says "at least 1"
TAG_VALUE = Hand(TAGGING_URL, max_length=256)
_RESERVED_RULE = "keys starting with aws: (AWS's) or trimtab.io/ (trimtab's) are refused"


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    """Reserved prefixes; the count and the lengths are the tags parameter's (see tag_params)."""
    for key in tags:
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the 'aws:' prefix is reserved by AWS")
        if key.startswith("trimtab.io/"):
            raise ValueError(f"tag key {key!r}: the 'trimtab.io/' prefix is reserved for ownership tags")
    return tags


def tag_params(prefix: str, service: str, operation: str, *, whole: str, keys: str, values: str,
               count_source: str, aws_max: int = AWS_TAGS_MAX,
               lengths_from_model: bool = False, key_hand: Hand = TAG_KEY) -> dict[str, Param | TrimtabOnly]:
    """A tags map (the parameter `whole`, its keys and values at `keys` and `values`): at most `aws_max`
    (as `count_source` says) less trimtab's own tags.
    Where the service's model gives no key/value lengths, AWS's tagging rules (TAGGING_URL) do."""
    keys_hand = () if lengths_from_model else (key_hand,)
    value_hand = () if lengths_from_model else (TAG_VALUE,)
    return {
        prefix: Param(service, operation, whole, (
            Hand(count_source, max_items=aws_max, reserve=TRIMTAB_TAGS, rule=_RESERVED_RULE),)),
        f"{prefix}{{key}}": Param(service, operation, keys, keys_hand),
        f"{prefix}{{value}}": Param(service, operation, values, value_hand),
    }


Tags = Annotated[dict[str, str], AfterValidator(_check_tags)]


# ---- IAM policy documents written as YAML ------------------------------------------------------------


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def _check_policy(document: dict[str, Any]) -> dict[str, Any]:
    if not _finite(document):
        raise ValueError("a policy document holds no NaN or infinite numbers (JSON has none)")
    statements = document.get("Statement")
    if statements is None:
        raise ValueError("a policy document needs a 'Statement' list")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise ValueError("'Statement' must be a non-empty list of statements")
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise ValueError(f"Statement[{index}] must be a mapping")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError(f"Statement[{index}].Effect must be Allow or Deny")
        if "Action" not in statement and "NotAction" not in statement:
            raise ValueError(f"Statement[{index}] needs Action or NotAction")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
    return document


PolicyDocument = Annotated[
    dict[str, Any],
    AfterValidator(_check_policy),
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                    "description": "An IAM policy document (Version, Statement) written as YAML."}),
]


# ---- references between specs -----------------------------------------------------------------------


@dataclass(frozen=True, order=True, slots=True)
class Ref:
    """A reference from one spec to another by kind and metadata.name, resolved by the engine."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def _ref_validator(kind: str) -> Any:
    def validate(value: object) -> Ref:
        if isinstance(value, Ref):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be the metadata.name of a {kind} spec (a string)")
        _check_object_name(value)
        return Ref(kind, value)

    return validate


def _ref_schema(kind: str) -> dict[str, Any]:
    return {"type": "string", "pattern": OBJECT_NAME_PATTERN, "description": f"metadata.name of a {kind} spec"}


def _ref_name(ref: Ref) -> str:
    return ref.name


def reference_to(kind: str) -> Any:
    """The field type of a reference to a `kind` spec, written as its metadata.name: a kind that others
    refer to needs no entry here, a field of another model says `reference_to("Topic")`."""
    return Annotated[Ref, PlainValidator(_ref_validator(kind)), PlainSerializer(_ref_name, return_type=str),
                     WithJsonSchema(_ref_schema(kind))]


QueueRef = reference_to("Queue")
BucketRef = reference_to("Bucket")
ScalableTargetRef = reference_to("ScalableTarget")
ScalingPolicyRef = reference_to("ScalingPolicy")
TopicRef = reference_to("Topic")
AlarmRef = reference_to("Alarm")
CompositeAlarmRef = reference_to("CompositeAlarm")


def find_references(value: object, path: str = "spec") -> list[tuple[str, Ref]]:
    """Every Ref inside a validated spec, with the field path it was written at."""
    found: list[tuple[str, Ref]] = []
    if isinstance(value, Ref):
        found.append((path, value))
    elif isinstance(value, BaseModel):
        for field_name, info in type(value).model_fields.items():
            child = getattr(value, field_name)
            found.extend(find_references(child, f"{path}.{info.alias or field_name}"))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(find_references(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_references(item, f"{path}.{key}"))
    return found


class FieldError(ValueError):
    """A validation error that names the field it is about, relative to the model that raised it.

    pydantic reports a model validator's errors at the model itself; the loader appends `field`
    so that the message points at the line the user must change.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration written as 90, 30s, 5m or 1h."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 30s, 5m or 1h)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
