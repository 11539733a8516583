"""Test helpers: write specs to a temporary tree, and plan/apply them in-process through the engine."""

from __future__ import annotations

import contextlib
import os
import shutil
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from controller.api.scalable_target import ScalableTarget
from controller.aws import AwsClients
from controller.emulator import EMULATOR_CREDENTIALS
from controller.engine.reconciler import Reconciler
from controller.engine.runner import RunResult, run_graph
from controller.kinds.registry import build_clients
from controller.sources.desired import DesiredState
from controller.sources.directory import load_directory
from controller.store.sqlite import SqliteStore
from tests.external_endpoint import configured_endpoint

CONTROLLER_ID = "trimtab-test"
EXAMPLES = Path(__file__).resolve().parent.parent / "specs"
# The slice of the example specs tests apply alone: the request processor, and the on-call topic its
# alarms page by reference (a source without it would leave those alarms' topicRef unresolved).
REQUEST_PROCESSOR = ("request-processor", "oncall")


def example_counts(*parts: str) -> tuple[int, int]:
    """(specs, files) of the example tree's top directories `parts` (all of specs/ without any): the
    tests that apply the examples follow specs/ as it grows, rather than a number kept by hand."""
    files = [path for part in (parts or (".",)) for path in sorted((EXAMPLES / part).rglob("*.y*ml"))]
    specs = sum(1 for path in files for document in yaml.safe_load_all(path.read_text()) if document)
    return specs, len(files)


def example_documents(kind: str) -> list[dict[str, Any]]:
    """The example specs of `kind` in all of specs/, sorted by metadata.name."""
    documents = [document for path in sorted(EXAMPLES.rglob("*.y*ml"))
                 for document in yaml.safe_load_all(path.read_text()) if document and document.get("kind") == kind]
    return sorted(documents, key=lambda document: document["metadata"]["name"])


EXAMPLE_SPECS, EXAMPLE_FILES = example_counts()
REQUEST_PROCESSOR_SPECS, _ = example_counts(*REQUEST_PROCESSOR)


def copy_request_processor(root: Path) -> Path:
    """The request processor's specs and the on-call topic under `root`, one directory each."""
    for part in REQUEST_PROCESSOR:
        shutil.copytree(EXAMPLES / part, root / part)
    return root


def require_tool(name: str, install_hint: str) -> str:
    """The path of an external tool; skipped locally without it, but a failure in CI, which installs it."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run must install it ({install_hint})")
        pytest.skip(f"{name} is not installed ({install_hint}); CI always runs this")
    return found


def write_specs(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def _seed_ecs(aws: AwsClients, services: list[tuple[str, str]]) -> None:
    """The ECS services scalable targets need in moto, made outside the recorded session."""
    external = configured_endpoint()
    if services and external is not None:
        # Never create ECS clusters in someone's account, nor fail on an emulator without ECS: say why.
        pytest.fail(f"ScalableTargets need ECS services that only moto lets a test create; on {external.name}, "
                    "mark this test @pytest.mark.moto_only")
    ecs = boto3.client(
        "ecs", region_name=aws.region, endpoint_url=aws.settings.endpoint_url,
        aws_access_key_id=EMULATOR_CREDENTIALS[0], aws_secret_access_key=EMULATOR_CREDENTIALS[1],
    )
    for cluster, service in services:
        ecs.create_cluster(clusterName=cluster)
        with contextlib.suppress(ClientError):  # already there from an earlier run in this test
            ecs.create_service(cluster=cluster, serviceName=service, desiredCount=1)


class Harness:
    """The engine wired as `trimtab apply` wires it, with AWS calls recorded by the test's own hook."""

    def __init__(self, aws: AwsClients, recorder: Any, tmp_path: Path) -> None:
        self.aws = aws
        self.recorder = recorder
        self.specs = tmp_path / "specs"
        self.store = SqliteStore(tmp_path / "state")
        self.reconciler = Reconciler(build_clients(aws), self.store, CONTROLLER_ID)

    def close(self) -> None:
        self.store.close()

    def write(self, files: dict[str, str]) -> DesiredState:
        write_specs(self.specs, files)
        return load_directory(self.specs)

    async def run(self, *, dry_run: bool) -> RunResult:
        state = load_directory(self.specs)
        assert not state.errors, [str(error) for error in state.errors]
        ecs = [
            pair for record in state.graph.records.values()
            if isinstance(record.resource, ScalableTarget)
            and (pair := record.resource.spec.ecs_cluster_and_service) is not None
        ]
        _seed_ecs(self.aws, ecs)
        # Fresh clients per run, as each CLI invocation has: no state carried in batch loaders.
        self.reconciler.clients = build_clients(self.aws)
        return await run_graph(state.graph, self.reconciler, dry_run=dry_run)

    async def plan(self) -> RunResult:
        return await self.run(dry_run=True)

    async def apply(self) -> RunResult:
        return await self.run(dry_run=False)
