"""CustomResourceDefinitions generated from the models, so the models stay the one source of truth.

Kubernetes wants structural OpenAPI v3: no $ref, a type on every node, nullable instead of
`anyOf: [X, null]`. pydantic's JSON Schema is turned into that shape here.
"""

from __future__ import annotations

import copy
from typing import Any

from controller.api.aws_params import annotate
from controller.api.envelope import Resource
from controller.kinds.registry import BY_KIND, MODELS

GROUP = "trimtab.io"
VERSION = "v1alpha1"
_DROP_KEYS = {"title", "discriminator"}
_OPAQUE = {"x-kubernetes-preserve-unknown-fields": True}

CONDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": {"type": "string", "description": "Ready or Synced."},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "observedGeneration": {"type": "string", "description": "Hash of the spec the condition describes."},
    },
}
STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "conditions": {"type": "array", "items": CONDITION_SCHEMA},
        "revision": {"type": "string", "description": "The source revision last applied."},
        "observedGeneration": {"type": "string"},
        "outputs": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Values other specs may reference: name, arn, url, ..."},
        "lastReconcileTime": {"type": "string", "format": "date-time"},
        "lastReconcileSeconds": {"type": "number"},
    },
}


def plural(kind: str) -> str:
    return BY_KIND[kind].crd_plural


def spec_schema(model: type[Resource], *, with_aws: bool = True) -> dict[str, Any]:
    """The spec's structural schema; `with_aws` adds each field's AWS parameter constraints
    (controller/api/aws_params.py), as the CRDs carry them."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.pop("$defs", {})
    structural = _structural(schema, definitions)
    spec = dict(structural["properties"]["spec"])
    if with_aws:
        annotate(spec, model.AWS_PARAMS)
    return spec


def crd(model: type[Resource]) -> dict[str, Any]:
    kind = model.KIND
    columns = [
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
        {"name": "Synced", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Synced')].status"},
        *({"name": header.title(), "type": kind_, "jsonPath": path} for header, path, kind_ in model.EXTRA_COLUMNS),
        {"name": "Reason", "type": "string", "priority": 1,
         "jsonPath": ".status.conditions[?(@.type=='Ready')].reason"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural(kind)}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural(kind),
                "singular": kind.lower(),
                "categories": ["trimtab", "aws"],
            },
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": model.SUMMARY,
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec_schema(model),
                        "status": copy.deepcopy(STATUS_SCHEMA),
                    },
                }},
            }],
        },
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name -> CRD, one per kind."""
    return {f"{GROUP}_{plural(kind)}.yaml": crd(model) for kind, model in MODELS.items()}


def _structural(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, definitions)
    for union in ("anyOf", "oneOf"):
        if union in node:
            options = [option for option in node[union] if option.get("type") != "null"]
            nullable = len(options) < len(node[union])
            rest = {k: v for k, v in node.items() if k != union}
            result: dict[str, Any]
            if len(options) == 1:
                result = _structural({**options[0], **rest}, definitions)
            else:
                # Structural schemas cannot give one field several types: accept any value here and
                # leave the check to trimtab's own validation.
                result = {**_OPAQUE, **{k: v for k, v in rest.items() if k in ("description", "default")}}
            if nullable:
                result["nullable"] = True
            return result
    result = {}
    for key, value in node.items():
        if key in _DROP_KEYS:
            continue
        if key == "const":
            result["enum"] = [value]
        elif key in ("properties",):
            result[key] = {name: _structural(child, definitions) for name, child in value.items()}
        else:
            result[key] = _structural(value, definitions)
    if "enum" in result and "type" not in result:
        result["type"] = "string"
    if "properties" in result:
        result.setdefault("type", "object")
        # Kubernetes forbids additionalProperties beside properties; it prunes unknown fields instead.
        result.pop("additionalProperties", None)
    return result
