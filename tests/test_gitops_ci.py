"""The pull-request plan of docs/gitops.md, run as its jobs run it: the GitHub Actions step's script and
the GitLab job's script lines, taken from the document itself, on a fresh directory (another machine:
no state dir of the controller's) against the emulator and the controller's DynamoDB store. Only the
lines that install trimtab and post the comment are left out: they need the forge.

`plan --format json|markdown` is checked here too: what a CI check and a PR comment read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from controller.store.dynamodb import table_definition
from tests.conftest import REPO
from tests.helpers import copy_request_processor

TABLE = "trimtab-state"
DOC = REPO / "docs" / "gitops.md"
NEEDS_THE_FORGE = ("pip install", "curl ")


def yaml_blocks(text: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


def github_plan_script() -> str:
    workflow = next(block for block in yaml_blocks(DOC.read_text()) if "jobs" in block)
    step = next(step for step in workflow["jobs"]["plan"]["steps"] if step.get("id") == "plan")
    assert workflow["jobs"]["plan"]["env"]["TRIMTAB_STORE"].startswith("dynamodb://")
    return str(step["run"])


def gitlab_plan_script() -> str:
    job = next(block for block in yaml_blocks(DOC.read_text()) if "trimtab-plan" in block)["trimtab-plan"]
    assert job["variables"]["TRIMTAB_STORE"].startswith("dynamodb://")
    return "\n".join(line for line in job["script"] if not line.startswith(NEEDS_THE_FORGE))


def run_script(script: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


def trimtab(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240, check=False)


def test_the_documented_pr_jobs_plan_from_another_machine(
    cli_env: dict[str, str], boto: Any, tmp_path: Path
) -> None:
    boto("dynamodb").create_table(**table_definition(TABLE))
    repo = tmp_path / "specs-repo"
    copy_request_processor(repo / "aws")
    controller_side = tmp_path / "controller"
    controller_side.mkdir()
    applied = trimtab("apply", "--store", f"dynamodb://{TABLE}", str(repo / "aws"), env=cli_env, cwd=controller_side)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    output = tmp_path / "github-output"
    env = {**cli_env, "TRIMTAB_STORE": f"dynamodb://{TABLE}", "GITHUB_OUTPUT": str(output),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{cli_env['PATH']}"}
    scripts = {"github": github_plan_script(), "gitlab": gitlab_plan_script()}

    # In sync, as seen from a machine that never ran the controller: the scalable target and its
    # policies are the team's, by the store's inventory, not conflicts.
    for forge, script in scripts.items():
        run = run_script(script, repo, env)
        assert run.returncode == 0, f"{forge}: {run.stdout}{run.stderr}"
        assert "### trimtab plan: in sync" in (repo / "plan.md").read_text(), forge
    assert output.read_text().splitlines() == ["exit-code=0"]
    # Without the store, the same plan cannot tell them from someone else's: why the jobs pass --store.
    blind = trimtab("plan", "aws/", env=cli_env, cwd=repo)
    assert blind.returncode == 1 and "ScalableTarget/" in blind.stdout, blind.stdout

    # A pull request that raises a threshold: a change (exit code 2), and the job passes.
    alarms = repo / "aws" / "request-processor" / "alarms.yaml"
    before = alarms.read_text()
    threshold = re.search(r"threshold: (\d+)", before)
    assert threshold is not None
    alarms.write_text(before.replace(threshold.group(0), "threshold: 4242", 1))
    for forge, script in scripts.items():
        run = run_script(script, repo, env)
        assert run.returncode == 0, f"{forge}: {run.stdout}{run.stderr}"
        comment = (repo / "plan.md").read_text()
        assert "### trimtab plan: changes to apply" in comment and "| `~` | `Alarm/" in comment, comment
        assert f"`threshold`: `{float(threshold.group(1))}` → `4242.0`" in comment, comment
    assert output.read_text().splitlines()[-1] == "exit-code=2"

    document = json.loads(trimtab("plan", "--store", f"dynamodb://{TABLE}", "--format", "json", "aws/",
                                  env=cli_env, cwd=repo).stdout)
    assert document["exitCode"] == 2 and document["summary"]["update"] == 1
    update = next(item for item in document["resources"] if item["action"] == "update")
    assert update["changes"] == [{"field": "threshold", "after": "4242.0", "before": str(float(threshold.group(1)))}]
    assert document["resources"][0] == update  # changes first, in-sync rows after

    # A broken spec fails the job (exit code 1), and the comment still says why.
    alarms.write_text(before.replace(threshold.group(0), "threshold: not-a-number", 1))
    for forge, script in scripts.items():
        run = run_script(script, repo, env)
        assert run.returncode != 0, forge
        assert "threshold" in run.stderr, f"{forge}: {run.stderr}"
