"""Every spec field names the AWS parameter it feeds, and its constraints are botocore's.

The mapping (each kind's AWS_PARAMS, controller/api/aws_params.py) must cover every field; every member it
names must exist in botocore's model; no hand-written constraint may be looser than the model, repeat it,
or sit in the pydantic field instead of the mapping; and every constraint, the model's and the hand's, is
enforced at the field it belongs to, with the spec still accepted right at a hand-written bound.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from controller.api import aws_params
from controller.api.aws_params import JAVA_PATTERNS, Constraints, Hand, Like, Param, TrimtabOnly, constraints
from controller.api.crd import all_crds, spec_schema
from controller.api.fields import AWS_TAGS_MAX, TRIMTAB_TAGS
from controller.api.validation import parse_document
from controller.api.yamldoc import format_path, load_documents
from controller.aws_models import service_model
from controller.kinds.ownership import ownership_tags
from controller.kinds.registry import MODELS
from tests.conftest import REPO
from tests.spec_bases import BASES, bases, parse

_CONSTRAINT_KEYS = ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                    "pattern", "enum", "minItems", "maxItems", "minProperties", "maxProperties")


def _schema_paths(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in node.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        yield here, sub
        if sub.get("type") == "object" and "additionalProperties" in sub:
            yield f"{here}{{key}}", {"type": "string"}
            yield f"{here}{{value}}", sub["additionalProperties"]
        child = sub.get("items", {}) if sub.get("type") == "array" else sub
        yield from _schema_paths(child, f"{here}[]" if sub.get("type") == "array" else here)


def _params() -> Iterator[tuple[str, str, Param]]:
    for kind, model in MODELS.items():
        for path, param in model.AWS_PARAMS.items():
            if isinstance(param, Param):
                yield kind, path, param


PARAMS = list(_params())


# ---- the mapping covers the spec, and names what botocore has -------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_field_is_mapped_or_marked_trimtab_only(kind: str) -> None:
    model = MODELS[kind]
    paths = [path for path, _ in _schema_paths(spec_schema(model, with_aws=False))]
    missing = [path for path in paths if path not in model.AWS_PARAMS]
    stale = [path for path in model.AWS_PARAMS if path not in paths]
    assert not missing, f"{kind}: fields with no AWS parameter and no TrimtabOnly reason: {missing}"
    assert not stale, f"{kind}: mapped paths that are no field: {stale}"
    for path, param in model.AWS_PARAMS.items():
        assert isinstance(param, (Param, TrimtabOnly)), path
        if isinstance(param, TrimtabOnly):
            assert len(param.reason) > 10, path


@pytest.mark.parametrize(("kind", "path", "param"), PARAMS, ids=[f"{k}.{p}" for k, p, _ in PARAMS])
def test_every_member_exists_in_the_botocore_model(kind: str, path: str, param: Param) -> None:
    aws_params.shape_of(param.service, param.operation, param.member)  # raises KeyError naming what is missing
    for item in param.hand:
        if isinstance(item, Like):
            service_model(item.service).shape_for(item.shape)
        assert item.source.startswith(("https://docs.aws.amazon.com/", "trimtab: ")), item.source


@pytest.mark.parametrize("kind", list(MODELS))
def test_no_constraint_is_written_in_the_pydantic_field_of_a_mapped_field(kind: str) -> None:
    """Mapped fields take their constraints from the mapping only (the CRD gets them from there too)."""
    model = MODELS[kind]
    written = []
    for path, node in _schema_paths(spec_schema(model, with_aws=False)):
        param = model.AWS_PARAMS.get(path)
        if not isinstance(param, Param):
            continue
        keys = [key for key in _CONSTRAINT_KEYS if key in node]
        if param.translated is not None:  # trimtab's own vocabulary (SSE-S3, ...) may be an enum
            keys = [key for key in keys if key != "enum"]
        if keys:
            written.append((path, keys))
    assert not written, f"{kind}: constraints written by hand in the model, not in AWS_PARAMS: {written}"


_BOUNDS = (("minimum", max), ("exclusive_minimum", max), ("maximum", min), ("min_length", max),
           ("max_length", min), ("min_items", max), ("max_items", min))


@pytest.mark.parametrize(("kind", "path", "param"), PARAMS, ids=[f"{k}.{p}" for k, p, _ in PARAMS])
def test_no_hand_constraint_contradicts_or_repeats_the_model(kind: str, path: str, param: Param) -> None:
    shape = aws_params.shape_of(param.service, param.operation, param.member)
    model = {} if param.translated is not None else aws_params.model_constraints(shape)
    for item in param.hand:
        if not isinstance(item, Hand):
            continue
        for name, tighter in _BOUNDS:
            mine, theirs = getattr(item, name), model.get(name)
            if mine is None or theirs is None:
                continue
            assert mine != theirs, f"{path}: {name} {mine} repeats the model's; drop it"
            assert tighter(mine, theirs) == mine, f"{path}: {name} {mine} is looser than the model's {theirs}"
        if item.values is not None and "values" in model:
            extra = set(item.values) - set(model["values"])
            assert not extra, f"{path}: {sorted(extra)} are not in the model's enum"
            assert set(item.values) != set(model["values"]), f"{path}: the values repeat the model's enum"
        if item.pattern is not None:
            assert item.pattern != model.get("pattern"), f"{path}: the pattern repeats the model's"
    found = constraints(param)
    for low, high in (("minimum", "maximum"), ("min_length", "max_length"), ("min_items", "max_items")):
        if getattr(found, low) is not None and getattr(found, high) is not None:
            assert getattr(found, low) <= getattr(found, high), f"{path}: no value satisfies {low}/{high}"
    if found.values is not None:
        assert found.values, f"{path}: the enum is empty"


def test_every_java_pattern_used_has_a_portable_form_that_agrees() -> None:
    used = {aws_params.model_constraints(aws_params.shape_of(p.service, p.operation, p.member)).get("pattern")
            for _, _, p in PARAMS if p.translated is None} - {None}
    assert used <= set(JAVA_PATTERNS), sorted(used - set(JAVA_PATTERNS))
    samples = ["", "a", "ab c", ":x", "x:", "é", "日本", "\t", "\n", "\x01", "\x7f", "\x85", "a\x0bb", "~!@#"]
    for java, (python, portable) in JAVA_PATTERNS.items():
        for sample in samples:
            exact = re.fullmatch(python, sample) is not None
            crd = re.search(portable, sample) is not None
            # The CRD form may be looser (RE2 cannot write surrogates), never stricter.
            assert crd or not exact, (java, sample)


def test_the_crds_carry_the_mapped_constraints() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in all_crds().values()}
    for kind, path, param in PARAMS:
        spec = crds[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        node = aws_params.schema_node(spec, path)
        if node is None:
            continue
        found = constraints(param)
        if node["type"] == "string":
            assert node.get("maxLength") == found.max_length, path
            assert node.get("minLength") == found.min_length, path
            if param.translated is None:  # a translated field's enum is trimtab's vocabulary
                assert node.get("enum") == (list(found.values) if found.values is not None else None), path
            portable = [pattern.portable for pattern in found.patterns if pattern.portable]
            assert [node["pattern"]] if "pattern" in node else portable == [] or "allOf" in node, path
        elif node["type"] in ("integer", "number"):
            assert node.get("maximum") == found.maximum, path
            expected_minimum = found.exclusive_minimum if found.exclusive_minimum is not None else found.minimum
            assert node.get("minimum") == expected_minimum, path
        elif node["type"] == "array":
            assert (node.get("minItems"), node.get("maxItems")) == (found.min_items, found.max_items), path
    on_disk = {path.name for path in (REPO / "crds_yaml").glob("*.yaml")}
    assert on_disk == set(all_crds())


# ---- the enums are botocore's ------------------------------------------------------------------------


def _enum(service: str, shape: str) -> list[str]:
    return list(service_model(service).shape_for(shape).enum)


@pytest.mark.parametrize(("kind", "path", "service", "shape"), [
    ("ScalingPolicy", "targetTracking.predefinedMetric.type", "application-autoscaling", "MetricType"),
    ("ScalableTarget", "scalableDimension", "application-autoscaling", "ScalableDimension"),
    ("ScalableTarget", "serviceNamespace", "application-autoscaling", "ServiceNamespace"),
    ("ScalingPolicy", "stepScaling.adjustmentType", "application-autoscaling", "AdjustmentType"),
    ("Alarm", "metric.statistic", "cloudwatch", "Statistic"),
    ("Alarm", "metric.unit", "cloudwatch", "StandardUnit"),
    ("ScalingPolicy", "targetTracking.customizedMetric.unit", "cloudwatch", "StandardUnit"),
    ("Bucket", "lifecycleRules[].transitions[].storageClass", "s3", "TransitionStorageClass"),
])
def test_enums_come_from_botocore(kind: str, path: str, service: str, shape: str) -> None:
    param = MODELS[kind].AWS_PARAMS[path]
    assert isinstance(param, Param)
    assert list(constraints(param).values or ()) == _enum(service, shape)


def test_all_predefined_metric_types_are_accepted() -> None:
    types = _enum("application-autoscaling", "MetricType")
    assert len(types) >= 29 and "NeptuneReaderAverageCPUUtilization" in types
    for metric_type in types:
        spec = bases("ScalingPolicy")[0]
        spec["targetTracking"]["predefinedMetric"]["type"] = metric_type
        if metric_type != "ALBRequestCountPerTarget":
            del spec["targetTracking"]["predefinedMetric"]["resourceLabel"]
        resource, errors = parse("ScalingPolicy", spec)
        assert resource is not None, (metric_type, [str(error) for error in errors])


def test_every_scalable_dimension_belongs_to_a_namespace_the_model_lists() -> None:
    namespaces = set(_enum("application-autoscaling", "ServiceNamespace"))
    for dimension in _enum("application-autoscaling", "ScalableDimension"):
        assert dimension.split(":", 1)[0] in namespaces, dimension


def test_the_bucket_region_pattern_takes_every_region_the_model_lists() -> None:
    pattern = re.compile(next(item.pattern for item in MODELS["Bucket"].AWS_PARAMS["region"].hand  # type: ignore[union-attr]
                              if isinstance(item, Hand) and item.pattern))
    refused = [region for region in _enum("s3", "BucketLocationConstraint") if not pattern.match(region)]
    assert refused == ["EU"]  # an alias of eu-west-1, not a region a client is opened in


# ---- every constraint is enforced where it belongs; hand-written bounds accept their bound -----------


def _locate(node: Any, segments: list[tuple[str, list[str]]]) -> Iterator[tuple[Any, Any, bool, tuple[Any, ...]]]:
    """(container, key, is_map_key, concrete path) of each place `segments` names in spec data."""
    yield from _locate_at(node, segments, ())


def _locate_at(node: Any, segments: list[tuple[str, list[str]]],
               at: tuple[Any, ...]) -> Iterator[tuple[Any, Any, bool, tuple[Any, ...]]]:
    (name, suffixes), rest = segments[0], segments[1:]
    if not isinstance(node, dict) or name not in node:
        return
    holders: list[tuple[Any, Any, bool, tuple[Any, ...]]] = [(node, name, False, (*at, name))]
    for suffix in suffixes:
        nxt = []
        for container, key, _, where in holders:
            value = container[key]
            if suffix == "[]" and isinstance(value, list):
                nxt += [(value, index, False, (*where, index)) for index in range(len(value))]
            elif suffix == "{value}" and isinstance(value, dict):
                nxt += [(value, item, False, (*where, item)) for item in value]
            elif suffix == "{key}" and isinstance(value, dict):
                nxt += [(value, item, True, (*where, item)) for item in value]
        holders = nxt
    for holder in holders:
        if rest:
            if not holder[2]:
                yield from _locate_at(holder[0][holder[1]], rest, holder[3])
        else:
            yield holder


def _where(kind: str, path: str) -> tuple[dict[str, Any], tuple[Any, Any, bool, tuple[Any, ...]]] | None:
    """A copy of the first base spec that writes `path`, and its first place."""
    for spec in bases(kind):
        for place in _locate(spec, aws_params.parse_path(path)):
            return spec, place
    return None


def _set(place: tuple[Any, Any, bool, tuple[Any, ...]], value: Any) -> tuple[Any, ...]:
    container, key, is_key, at = place
    if is_key:
        container[value] = container.pop(key)
        return (*at[:-1], value)
    container[key] = value
    return at


_PATTERN_BREAKERS = ["", "Upper Case!", ":colon", "a b", "\x01", "x" * 3, "UPPER", "9starts-with-digit"]


def _too_many(value: Any, count: int) -> Any:
    if isinstance(value, dict):
        sample = next(iter(value.values()), "v")
        return {f"k{index}": copy.deepcopy(sample) for index in range(count)}
    items = []
    for index in range(count):
        item = copy.deepcopy(value[0])
        if isinstance(item, dict) and "id" in item:
            item["id"] = f"{item['id']}x{index}"
        items.append(item)
    return items


def _breakers(found: Constraints, current: Any, is_key: bool) -> Iterator[tuple[str, Any]]:
    """(which constraint, a value that breaks it) for each constraint of `found`."""
    if isinstance(current, bool):
        return
    if isinstance(current, (int, float)):
        if found.exclusive_minimum is not None:
            yield "exclusive_minimum", found.exclusive_minimum
        for name, step in (("minimum", -1), ("maximum", 1)):
            bound = getattr(found, name)
            if bound is None:
                continue
            huge = abs(bound) > 2**53
            yield name, bound * 2 if huge else (int(bound) + step if float(bound).is_integer() else bound + step)
        return
    if isinstance(current, str):
        if found.values is not None:
            yield "values", "NotAnAwsValue"
        if found.min_length:
            yield "min_length", ""
        if found.max_length is not None:
            yield "max_length", "a" * (found.max_length + 1)
        for pattern in found.patterns:
            breaker = next((text for text in _PATTERN_BREAKERS if not pattern.python.fullmatch(text)), None)
            if breaker is not None and not (is_key and breaker == ""):
                yield f"pattern {pattern.shown}", breaker
        return
    if isinstance(current, (list, dict)):
        if found.max_items is not None and found.max_items < 5000:
            yield "max_items", _too_many(current, found.max_items + 1)
        if found.min_items:
            yield "min_items", type(current)()


def _cases() -> Iterator[Any]:
    for kind, path, param in PARAMS:
        located = _where(kind, path)
        if located is None:
            continue
        _spec, place = located
        current = place[0][place[1]] if not place[2] else place[1]
        for which, value in _breakers(constraints(param), current, place[2]):
            yield pytest.param(kind, path, which, value, id=f"{kind}.{path}:{which}")


CASES = list(_cases())


def test_every_mapped_field_of_every_kind_is_exercised() -> None:
    unlocated = [f"{kind}.{path}" for kind, path, _ in PARAMS if _where(kind, path) is None]
    assert not unlocated, f"no base spec in tests/spec_bases.py writes: {unlocated}"
    assert len(CASES) > 150


@pytest.mark.parametrize(("kind", "path", "which", "value"), CASES)
def test_a_value_breaking_a_constraint_is_refused_at_its_field(kind: str, path: str, which: str, value: Any) -> None:
    located = _where(kind, path)
    assert located is not None
    spec, place = located
    at = _set(place, value)
    resource, errors = parse(kind, spec)
    assert resource is None, f"{kind} accepted {path} = {value!r} (breaks {which})"
    field = format_path(("spec", *at))
    assert any(error.field == field or error.field.startswith(f"{field}[") for error in errors), (
        field, [str(error) for error in errors])


def _bounds(found: Constraints, current: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(current, bool):
        return
    if isinstance(current, (int, float)):
        for name in ("minimum", "maximum"):
            bound = getattr(found, name)
            if bound is not None and abs(bound) < 2**53:
                yield name, int(bound) if isinstance(current, int) and float(bound).is_integer() else bound
    elif isinstance(current, str) and found.max_length is not None and not found.patterns and found.values is None:
        yield "max_length", "a" * found.max_length
    elif isinstance(current, (list, dict)) and found.max_items is not None and found.max_items < 5000:
        yield "max_items", _too_many(current, found.max_items)


# Bounds that a cross-field rule narrows for the base spec: the field alone would take the bound.
_RULED = {
    "Alarm.evaluationPeriods": "x period at most a day", "Alarm.datapointsToAlarm": "at most evaluationPeriods",
    "Alarm.metric.period": "10, 20, 30 or a multiple of 60 (test_alarm_periods_aws_allows_are_accepted)",
    "Alarm.metrics[].metricStat.period": "10, 20, 30 or a multiple of 60",
    "Alarm.metrics[].period": "10, 20, 30 or a multiple of 60",
    "Alarm.metrics": "at most 10 metric stats and 10 expressions (test_twenty_alarm_queries_are_accepted)",
    "ScalableTarget.minCapacity": "at most maxCapacity", "ScalableTarget.maxCapacity": "at least minCapacity",
    "Bucket.lifecycleRules[].transitions[].days": "a transition comes before the expiration",
    "Bucket.lifecycleRules[].noncurrentVersionTransitions[].noncurrentDays": "before the noncurrent expiration",
    "ScalingPolicy.stepScaling.steps": "steps tile the line (test_twenty_steps_are_accepted)",
    "ScheduledAction.scalableTargetAction.minCapacity": "at most maxCapacity",
    "ScheduledAction.scalableTargetAction.maxCapacity": "at least minCapacity",
}


def _bound_cases() -> Iterator[Any]:
    for kind, path, param in PARAMS:
        if not any(isinstance(item, Hand) for item in param.hand) or f"{kind}.{path}" in _RULED:
            continue
        located = _where(kind, path)
        if located is None:  # test_every_mapped_field_of_every_kind_is_exercised fails
            continue
        _spec, place = located
        current = place[0][place[1]] if not place[2] else place[1]
        for which, value in _bounds(constraints(param), current):
            yield pytest.param(kind, path, which, value, id=f"{kind}.{path}:{which}")


@pytest.mark.parametrize(("kind", "path", "which", "value"), list(_bound_cases()))
def test_a_value_at_a_hand_written_bound_is_accepted(kind: str, path: str, which: str, value: Any) -> None:
    located = _where(kind, path)
    assert located is not None
    spec, place = located
    _set(place, value)
    resource, errors = parse(kind, spec)
    assert resource is not None, (path, which, [str(error) for error in errors])


# ---- the configurations ------------------------------------------------------------------------


def _alarm(**changes: Any) -> dict[str, Any]:
    spec = bases("Alarm")[0]
    for dotted, value in changes.items():
        node = spec
        *parents, last = dotted.split("__")
        for parent in parents:
            node = node[parent]
        node[last] = value
    return spec


@pytest.mark.parametrize("period", [10, 20, 30, 60, 120, 3600, 86400])
def test_alarm_periods_aws_allows_are_accepted(period: int) -> None:
    resource, errors = parse("Alarm", _alarm(metric__period=period, evaluationPeriods=1, datapointsToAlarm=1))
    assert resource is not None, [str(error) for error in errors]


@pytest.mark.parametrize("period", [1, 5, 15, 25, 45, 90, 3601])
def test_other_alarm_periods_are_refused(period: int) -> None:
    resource, errors = parse("Alarm", _alarm(metric__period=period, evaluationPeriods=1, datapointsToAlarm=1))
    assert resource is None and "10, 20, 30 or a multiple of 60" in errors[0].message


@pytest.mark.parametrize(("period", "periods", "accepted"), [
    (3600, 168, True), (3600, 169, False), (86400, 7, True), (86400, 8, False),
    (60, 1440, True), (60, 1441, False), (1800, 48, True), (1800, 49, False),
])
def test_the_evaluation_window_is_seven_days_from_an_hour_and_one_day_below(period: int, periods: int,
                                                                             accepted: bool) -> None:
    resource, errors = parse("Alarm", _alarm(metric__period=period, evaluationPeriods=periods, datapointsToAlarm=1))
    assert (resource is not None) == accepted, [str(error) for error in errors]
    if not accepted:
        assert errors[0].field == "spec.evaluationPeriods"


@pytest.mark.parametrize("name", ["scale-out:cpu/high", "arn-ish/name:1", "Policy With Spaces", "ü-policy"])
def test_policy_names_take_any_printable_characters(name: str) -> None:
    spec = bases("ScalingPolicy")[0]
    spec["policyName"] = name
    resource, errors = parse("ScalingPolicy", spec)
    assert resource is not None, [str(error) for error in errors]


def test_a_policy_name_longer_than_256_or_with_a_control_character_is_refused() -> None:
    for name in ("p" * 257, "tab\there"):
        spec = bases("ScalingPolicy")[0]
        spec["policyName"] = name
        resource, errors = parse("ScalingPolicy", spec)
        assert resource is None and errors[0].field == "spec.policyName", name


def test_sse_s3_takes_a_bucket_key_setting() -> None:
    for bucket_key in (False, True):
        spec = bases("Bucket")[0]
        spec["encryption"] = {"type": "SSE-S3", "bucketKey": bucket_key}
        resource, errors = parse("Bucket", spec)
        assert resource is not None, [str(error) for error in errors]


@pytest.mark.parametrize("kind", ["Queue", "Bucket", "Alarm"])
def test_tags_are_awss_limit_less_trimtabs_own(kind: str) -> None:
    assert len(ownership_tags("c", "Kind/name")) == TRIMTAB_TAGS
    spec = bases(kind)[0]
    spec["tags"] = {f"tag-{index:02}": "v" for index in range(AWS_TAGS_MAX - TRIMTAB_TAGS)}
    resource, errors = parse(kind, spec)
    assert resource is not None, [str(error) for error in errors]
    spec["tags"]["one-too-many"] = "v"
    resource, errors = parse(kind, spec)
    assert resource is None
    (error,) = errors
    assert error.field == "spec.tags"
    assert error.message == "at most 48 tags: AWS allows 50 and trimtab uses 2 (got 49)"


_NON_FINITE = [".nan", ".inf", "-.inf"]


@pytest.mark.parametrize("text", _NON_FINITE)
@pytest.mark.parametrize(("kind", "base", "path"), [
    ("Alarm", 0, ("threshold",)),
    ("ScalingPolicy", 0, ("targetTracking", "targetValue")),
    ("ScalingPolicy", 3, ("targetTracking", "queueBacklogPerTask", "target")),
    ("ScalingPolicy", 4, ("stepScaling", "steps", 1, "lowerBound")),
    ("ScalingPolicy", 4, ("stepScaling", "steps", 0, "upperBound")),
    ("Queue", 0, ("policy", "Statement", 0, "Condition")),
])
def test_non_finite_numbers_are_refused_everywhere(kind: str, base: int, path: tuple[Any, ...], text: str) -> None:
    spec = bases(kind)[base]
    node: Any = spec
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = {"NumericLessThan": {"x": "NAN_HERE"}} if path[-1] == "Condition" else "NAN_HERE"
    document = yaml.safe_dump({"apiVersion": "trimtab.io/v1alpha1", "kind": kind, "metadata": {"name": "x"},
                               "spec": spec}).replace("NAN_HERE", text)
    loaded = yaml.safe_load(document)
    assert any(isinstance(v, float) and not math.isfinite(v) for v in _floats(loaded))
    (parsed,), _ = load_documents(document, "x.yaml")
    resource, errors = parse_document(parsed)
    assert resource is None, f"{kind} accepted {text} at {path}"
    assert errors[0].field.startswith(format_path(("spec", *path[:2 if kind != "Queue" else 1]))), str(errors[0])


def _floats(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _floats(item)
    elif isinstance(value, list):
        for item in value:
            yield from _floats(item)
    else:
        yield value


@pytest.mark.parametrize(("change", "field"), [
    ({"ClusterName": ""}, "spec.metric.dimensions.ClusterName"),
    ({"d" * 256: "x"}, f"spec.metric.dimensions.{'d' * 256}"),
    ({"ClusterName": "v" * 1025}, "spec.metric.dimensions.ClusterName"),
    ({f"dim{index}": "v" for index in range(31)}, "spec.metric.dimensions"),
])
def test_single_metric_alarm_dimensions_are_checked(change: dict[str, str], field: str) -> None:
    spec = bases("Alarm")[0]
    spec["metric"]["dimensions"] = change
    resource, errors = parse("Alarm", spec)
    assert resource is None and errors[0].field == field, [str(error) for error in errors]


def test_twenty_alarm_queries_are_accepted_and_twenty_one_refused() -> None:
    spec = bases("Alarm")[2]
    stat = spec["metrics"][0]
    spec["metrics"] = [{**copy.deepcopy(stat), "id": f"m{index}"} for index in range(10)] + [
        {"id": f"e{index}", "expression": f"m{index} * 2", "returnData": index == 9} for index in range(10)]
    resource, errors = parse("Alarm", spec)
    assert resource is not None, [str(error) for error in errors]
    spec["metrics"].insert(0, {"id": "e99", "expression": "m1", "returnData": False})
    resource, errors = parse("Alarm", spec)
    assert resource is None and errors[0].field == "spec.metrics", [str(error) for error in errors]


def test_twenty_steps_are_accepted_and_twenty_one_refused() -> None:
    spec = bases("ScalingPolicy")[4]
    spec["stepScaling"]["adjustmentType"] = "ChangeInCapacity"
    del spec["stepScaling"]["minAdjustmentMagnitude"]
    bounds = [None, *range(19), None]
    spec["stepScaling"]["steps"] = [
        {key: value for key, value in (("lowerBound", low), ("upperBound", high)) if value is not None}
        | {"adjustment": 1} for low, high in itertools.pairwise(bounds)]
    assert len(spec["stepScaling"]["steps"]) == 20
    resource, errors = parse("ScalingPolicy", spec)
    assert resource is not None, [str(error) for error in errors]
    spec["stepScaling"]["steps"][-1] = {"lowerBound": 18, "upperBound": 19, "adjustment": 1}
    spec["stepScaling"]["steps"].append({"lowerBound": 19, "adjustment": 1})
    resource, errors = parse("ScalingPolicy", spec)
    assert resource is None and errors[0].field == "spec.stepScaling.steps", [str(error) for error in errors]


@pytest.mark.parametrize("kind", list(MODELS))
def test_defaults_satisfy_their_parameters(kind: str) -> None:
    """The model's defaults (treatMissingData: missing, 30 s visibility, ...) are valid AWS values."""
    for spec in bases(kind):
        resource, _ = parse(kind, spec)
        assert resource is not None
        assert aws_params.violations(resource.spec, MODELS[kind].AWS_PARAMS) == []


def test_the_bases_are_valid() -> None:
    for kind, specs in BASES.items():
        for index, spec in enumerate(specs):
            resource, errors = parse(kind, spec)
            assert resource is not None, (kind, index, [str(error) for error in errors])


def test_a_number_written_as_a_string_is_checked_as_the_number_it_becomes() -> None:
    spec = bases("Queue")[0]
    spec["visibilityTimeoutSeconds"] = "50000"  # pydantic's lax mode reads it as 50000
    resource, errors = parse("Queue", spec)
    assert resource is None
    assert [(error.field, error.message) for error in errors] == [
        ("spec.visibilityTimeoutSeconds", "must be at most 43200 (got 50000)")]
