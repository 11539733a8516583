"""The generated CRDs are current, structural, and agree with our models on example and invalid specs,
checked by an OpenAPI validator that knows nothing of our models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from controller.api.crd import all_crds, plural
from controller.api.validation import parse_document
from controller.api.yamldoc import load_documents
from controller.cli.main import main
from tests.conftest import REPO


def _schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for path in (REPO / "crds_yaml").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        schemas[crd["spec"]["names"]["kind"]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schemas


def test_checked_in_crds_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds", "--check", "--out", str(REPO / "crds_yaml")]) == 0


def test_crds_check_fails_when_stale(tmp_path: Path) -> None:
    assert main(["crds", "--out", str(tmp_path)]) == 0
    target = tmp_path / f"trimtab.io_{plural('Queue')}.yaml"
    target.write_text(target.read_text().replace("maximum: 43200", "maximum: 43201"))
    assert main(["crds", "--check", "--out", str(tmp_path)]) == 1


def _walk(node: Any, path: str = "") -> list[str]:
    """Violations of Kubernetes' structural-schema rules."""
    problems = []
    if isinstance(node, dict):
        if "$ref" in node:
            problems.append(f"{path}: $ref")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: properties beside additionalProperties")
        for union in ("anyOf", "oneOf", "allOf"):
            for option in node.get(union, []):
                if "type" in option:
                    problems.append(f"{path}: type inside {union}")
        for key in ("properties",):
            for name, child in node.get(key, {}).items():
                if "type" not in child and not child.get("x-kubernetes-preserve-unknown-fields"):
                    problems.append(f"{path}.{name}: no type")
                problems += _walk(child, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            child = node.get(key)
            if isinstance(child, dict):
                if "type" not in child and not child.get("x-kubernetes-preserve-unknown-fields"):
                    problems.append(f"{path}[{key}]: no type")
                problems += _walk(child, f"{path}[{key}]")
    return problems


def test_every_crd_is_structural_with_status_and_columns() -> None:
    for name, crd in all_crds().items():
        version = crd["spec"]["versions"][0]
        schema = version["schema"]["openAPIV3Schema"]
        assert _walk(schema) == [], name
        assert "status" in schema["properties"] and version["subresources"] == {"status": {}}
        assert {c["name"] for c in version["additionalPrinterColumns"]} >= {"Ready", "Synced", "Age"}


def _documents(root: Path) -> list[dict[str, Any]]:
    documents = []
    for path in sorted(root.rglob("*.yaml")):
        loaded, errors = load_documents(path.read_bytes(), str(path))
        assert not errors
        documents += [document.data for document in loaded]
    return documents


@pytest.mark.parametrize("root", ["specs", "tests/corpus/accepted"])
def test_example_and_accepted_specs_validate_against_their_crds(root: str) -> None:
    # The accepted corpus holds real configurations of every field (AWS's, ACK's, Terraform's examples):
    # each is valid under its CRD as well as under the models.
    schemas = _schemas()
    documents = _documents(REPO / root)
    assert len(documents) >= 20
    for document in documents:
        validator = OAS30Validator(schemas[document["kind"]])
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], (document["metadata"]["name"], errors)


INVALID = [
    ("Queue", {"visibilityTimeoutSeconds": 50000}),
    ("Queue", {"encryption": {"type": "AES"}}),
    ("Queue", {"deadLetterQueue": {"queueRef": "dlq"}}),
    ("Bucket", {"deletionPolicy": "Orphan"}),
    ("Bucket", {"region": "Mars-1"}),
    ("Bucket", {"lifecycleRules": [{"id": "x", "transitions": [{"days": -1, "storageClass": "GLACIER"}]}]}),
    ("Alarm", {"evaluationPeriods": 0, "threshold": 1, "comparisonOperator": "GreaterThanThreshold",
               "metric": {"namespace": "n", "metricName": "m", "statistic": "Average", "period": 60}}),
    ("Alarm", {"evaluationPeriods": 1, "threshold": 1, "comparisonOperator": "Bigger",
               "metric": {"namespace": "n", "metricName": "m", "statistic": "Average", "period": 60}}),
    ("ScalableTarget", {"ecsService": {"cluster": "main", "service": "web"}, "minCapacity": -1, "maxCapacity": 2}),
    ("ScalingPolicy", {"stepScaling": {"adjustmentType": "ChangeInCapacity", "steps": []}, "targetRef": "t"}),
    ("ScalingPolicy", {"targetRef": "Not_A_Name", "targetTracking": {"targetValue": 1}}),
]


@pytest.mark.parametrize(("kind", "spec"), INVALID, ids=[f"{k}-{i}" for i, (k, _) in enumerate(INVALID)])
def test_invalid_specs_are_rejected_by_both(kind: str, spec: dict[str, Any]) -> None:
    document = {"apiVersion": "trimtab.io/v1alpha1", "kind": kind, "metadata": {"name": "x"}, "spec": spec}
    assert list(OAS30Validator(_schemas()[kind]).iter_errors(document)), "the CRD schema accepted it"
    text = yaml.safe_dump(document)
    (parsed,), _ = load_documents(text, "x.yaml")
    resource, errors = parse_document(parsed)
    assert resource is None and errors, "the models accepted it"


def test_spec_reference_is_current() -> None:
    reference = REPO / "docs" / "spec-reference.md"
    assert main(["docs", "--check", "--out", str(reference), "--specs", str(REPO / "specs")]) == 0
