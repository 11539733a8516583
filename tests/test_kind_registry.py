"""The kind registry: every per-kind table is derived from the kinds' descriptors, and each descriptor's
claims (its outputs, its event source, its delete rank) hold against the code and the emulator."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from controller.api.crd import all_crds
from controller.aws_models import lean_loader, register_services, registered_services
from controller.cli.iam_policy import build_policy
from controller.kinds.registry import BY_KIND, CLIENT_TYPES, DELETE_ORDER, DESCRIPTORS, KINDS, MODELS, SERVICES
from controller.sources.cloudtrail import event_pattern
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import Harness

REPO = Path(__file__).resolve().parent.parent


def test_each_kind_is_one_descriptor_and_the_tables_follow_from_them() -> None:
    assert tuple(descriptor.kind for descriptor in DESCRIPTORS) == KINDS
    assert set(MODELS) == set(CLIENT_TYPES) == set(KINDS)
    assert all(BY_KIND[kind].model is MODELS[kind] and BY_KIND[kind].client is CLIENT_TYPES[kind] for kind in KINDS)
    assert set(SERVICES) <= set(registered_services())
    assert {f"trimtab.io_{descriptor.crd_plural}.yaml" for descriptor in DESCRIPTORS} == set(all_crds())


def test_the_delete_order_is_the_ranks_and_puts_dependents_first() -> None:
    ranks = [BY_KIND[kind].delete_rank for kind in DELETE_ORDER]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    # Whatever a spec can refer to is deleted after the specs that refer to it.
    position = {kind: index for index, kind in enumerate(DELETE_ORDER)}
    for kind, model in MODELS.items():
        referenced = {ref_kind for ref_kind in KINDS if f"metadata.name of a {ref_kind} spec" in str(
            model.model_json_schema())}
        assert all(position[kind] < position[other] for other in referenced - {kind}), (kind, referenced)


def test_every_kind_with_events_is_in_the_rule_pattern_and_in_the_policy() -> None:
    sources = event_pattern()["detail"]["eventSource"]
    assert sources == sorted({descriptor.event_source for descriptor in DESCRIPTORS})
    assert "monitoring.amazonaws.com" in sources  # CloudWatch's prefix, read from botocore's model
    statements = {statement["Sid"] for statement in build_policy(list(KINDS))["Statement"]}
    assert {f"{d.kind}Manage" for d in DESCRIPTORS if d.iam.actions} <= statements


def test_a_service_registered_after_the_endpoints_were_read_is_refused() -> None:
    lean_loader().load_data("endpoints")  # what the first client opened does
    with pytest.raises(RuntimeError, match="registered after botocore's endpoints were read"):
        register_services(["ec2"])
    assert "ec2" not in registered_services()


@pytest.mark.moto_only(f"applies specs/ ({SEEDS_ECS})")
async def test_every_output_a_kind_reports_is_declared_on_its_descriptor(harness: Harness, boto: Any) -> None:
    shutil.copytree(REPO / "specs", harness.specs)
    result = await harness.apply()
    assert not result.failed
    seen: set[str] = set()
    for outcome in result.outcomes.values():
        kind = outcome.key.split("/", 1)[0]
        seen.add(kind)
        assert set(outcome.outputs) <= set(BY_KIND[kind].outputs), (outcome.key, outcome.outputs)
    assert seen == set(KINDS)


def test_the_readme_lists_the_registrys_kinds() -> None:
    line = next(line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("- **Kinds:**"))
    listed = line.split("**Kinds:**", 1)[1].split(". ", 1)[0]
    assert [kind.strip(" `") for kind in listed.split(",")] == list(KINDS)
