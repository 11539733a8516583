"""Turn parsed documents into validated models, translating pydantic's errors into SpecErrors."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from controller.api import aws_params, rules, substitution
from controller.api.envelope import Resource
from controller.api.errors import SpecError
from controller.api.fields import API_VERSION, FieldError
from controller.api.yamldoc import Document, PathKey, parse_path
from controller.kinds.registry import MODELS


def parse_document(document: Document) -> tuple[Resource | None, list[SpecError]]:
    data = document.data
    if not isinstance(data, dict):
        return None, [_error(document, (), "-", f"a spec must be a mapping (got {type(data).__name__})")]
    subject = _subject(data)
    api_version = data.get("apiVersion")
    if api_version != API_VERSION:
        message = "apiVersion is required" if api_version is None else f"unknown apiVersion {api_version!r}"
        return None, [_error(document, ("apiVersion",), subject, f"{message}; expected {API_VERSION}")]
    kind = data.get("kind")
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        hint = _did_you_mean(str(kind), MODELS)
        return None, [_error(document, ("kind",), subject,
                             f"unknown kind {kind!r}; known kinds: {', '.join(MODELS)}{hint}")]
    # A misspelt pseudo parameter (${AWS::Regoin}) is what is wrong with its field: the pattern or rule
    # errors that follow from it on that field would only repeat it, so they are left out.
    unknown = [_error(document, path, subject, message) for path, message in substitution.problems(model.KIND, data)]
    resource, errors = _validated(document, model, subject)
    named = {found.field for found in unknown}
    errors = unknown + [found for found in errors if found.field not in named]
    return (None, errors) if errors else (resource, [])


def _validated(document: Document, model: type[Resource], subject: str) -> tuple[Resource | None, list[SpecError]]:
    """The model of a document whose apiVersion and kind are known, or None and every error."""
    data = document.data
    # Each field against its AWS parameter's constraints (read from botocore's model), on the data as
    # written: before the models' cross-field checks, which assume each field is valid.
    spec = data.get("spec")
    field_errors = [_error(document, ("spec", *path), subject, message)
                    for path, message in aws_params.violations(spec, model.AWS_PARAMS)]
    try:
        resource = model.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        if field_errors:  # what several fields say together waits until each field is right
            details = [detail for detail in details if not _is_cross_field(model, detail)]
        errors = [_translate(document, subject, model, detail) for detail in details]
        taken = {found.field for found in field_errors}
        return None, field_errors + [found for found in errors if found.field not in taken]
    # Again on the validated spec: values pydantic converted ("50000" is 50000) and defaults.
    taken = {found.field for found in field_errors}
    field_errors += [found for found in (_error(document, ("spec", *path), subject, message)
                                         for path, message in aws_params.violations(resource.spec, model.AWS_PARAMS))
                     if found.field not in taken]
    # Then the cross-field rules as AWS documents them. Where a rule and a field's constraints speak of one
    # field, the rule says more (e.g. which scalable dimensions a namespace has, where the model lists all).
    rule_errors = [_error(document, found.path, subject, found.message)
                   for found in _rule_violations(resource, fields_valid=not field_errors)]
    ruled = {found.field for found in rule_errors}
    errors = [found for found in field_errors if found.field not in ruled] + rule_errors
    return (None, errors) if errors else (resource, [])


def _rule_violations(resource: Resource, *, fields_valid: bool) -> list[rules.Violation]:
    """Every rule's violations. A rule may assume each field is valid (a storage class it can rank, ...):
    when a field is not, a rule that trips over it is skipped, as the field's own error says what to fix."""
    if fields_valid:
        return rules.violations(resource)
    found: list[rules.Violation] = []
    for check in rules.REGISTRY.get(resource.KIND, ()):
        try:
            found.extend(check(resource))
        except (ArithmeticError, LookupError, TypeError, ValueError):
            continue
    return found


def _is_cross_field(model: type[BaseModel], detail: Any) -> bool:
    """A model validator's error: its location is a whole model (or the document), not one field."""
    if detail["type"] != "value_error":
        return False
    current: Any = model
    for part in detail["loc"]:
        if isinstance(part, int) or current is None:
            continue
        fields = {(info.alias or name): info for name, info in current.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return False
        current = _model_in(info.annotation)
        if current is None:
            return False
    return True


def _subject(data: dict[str, Any]) -> str:
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"


def _error(document: Document, path: PathKey, subject: str, message: str) -> SpecError:
    return document.error_at(path, subject, message)


def _translate(document: Document, subject: str, model: type[BaseModel], detail: Any) -> SpecError:
    loc = _written_path(document, tuple(detail["loc"]))
    context = detail.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, FieldError):
        loc = (*loc, *parse_path(cause.field))
        return _error(document, loc, subject, str(cause))
    return _error(document, loc, subject, _message(detail, model, loc))


def _written_path(document: Document, loc: tuple[Any, ...]) -> PathKey:
    """Drop pydantic's union-branch labels ("str", "DimensionRef", ...) that the user never wrote."""
    path: list[str | int] = []
    for part in loc:
        candidate = (*path, part)
        if isinstance(part, int) or candidate in document.positions or not _is_union_label(part):
            path.append(part)
    return tuple(path)


def _is_union_label(part: str) -> bool:
    return part[:1].isupper() or part in {"str", "int", "float", "bool", "dict", "list"} or "[" in part


def _message(detail: Any, model: type[BaseModel], loc: PathKey) -> str:
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input")
    got = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field" + _field_hint(model, loc)
    if kind in ("less_than_equal", "less_than"):
        bound = context.get("le", context.get("lt"))
        return f"must be at most {bound}{got}" if kind == "less_than_equal" else f"must be less than {bound}{got}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        return f"must be at least {bound}{got}" if kind == "greater_than_equal" else f"must be more than {bound}{got}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}{got}"
    if kind == "string_pattern_mismatch":
        return f"must match {context.get('pattern')}{got}"
    if kind in ("string_too_short", "too_short"):
        return f"must have at least {context.get('min_length')} {'characters' if 'string' in kind else 'items'}"
    if kind in ("string_too_long", "too_long"):
        return f"must have at most {context.get('max_length')} {'characters' if 'string' in kind else 'items'}"
    if kind == "value_error":
        return str(context.get("error", detail["msg"]))
    return f"{detail['msg'][0].lower()}{detail['msg'][1:]}{got}"


def _field_hint(model: type[BaseModel], loc: PathKey) -> str:
    """Suggest the closest known field for a misspelt one."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = {(info.alias or name): info for name, info in current.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return ""
        current = _model_in(info.annotation)
        if current is None:
            return ""
    known = [info.alias or name for name, info in current.model_fields.items()]
    return _did_you_mean(str(loc[-1]) if loc else "", known)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _did_you_mean(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
