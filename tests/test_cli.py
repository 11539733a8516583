"""The `trimtab` command as a user runs it: a real subprocess, real moto over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.helpers import EXAMPLE_SPECS, REQUEST_PROCESSOR_SPECS, copy_request_processor, write_specs

SPECS = REPO / "specs"


def trimtab(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=240, check=False,
    )


def test_validate_accepts_the_examples_and_rejects_errors(tmp_path: Path) -> None:
    good = trimtab("validate", "specs/")
    assert good.returncode == 0, good.stderr
    assert f"{EXAMPLE_SPECS} specs" in good.stdout
    write_specs(tmp_path, {"bad.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: q}
        spec: {delaySeconds: 9000, visibilityTimeoutSeconds: -1}
        """})
    bad = trimtab("validate", str(tmp_path))
    assert bad.returncode == 1
    assert "spec.delaySeconds" in bad.stderr and "spec.visibilityTimeoutSeconds" in bad.stderr
    assert "2 error(s)" in bad.stderr


def test_empty_or_missing_source_is_an_error(tmp_path: Path) -> None:
    assert trimtab("validate", str(tmp_path)).returncode == 1
    assert trimtab("validate", str(tmp_path / "nope")).returncode == 1


def test_apply_local_runs_the_whole_scenario() -> None:
    result = trimtab("apply", "--local", "specs/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded AWS emulator" in result.stderr
    assert f"{EXAMPLE_SPECS} created" in result.stdout and "0 errors" in result.stdout
    numbered = re.findall(rf"^\[(\d+)/{EXAMPLE_SPECS}\] ", result.stdout, re.MULTILINE)
    # N/M progress, one line per spec
    assert [int(n) for n in numbered] == list(range(1, EXAMPLE_SPECS + 1)), result.stdout


def test_apply_against_a_running_emulator_seeds_ecs_and_keeps_state(tmp_path: Path, cli_env: dict[str, str],
                                                                     boto: Any) -> None:
    # What deploy/docker-compose.yml runs: an emulator that outlives trimtab, and no AWS credentials.
    env = {key: value for key, value in cli_env.items() if not key.startswith("AWS_")}
    state = tmp_path / "state"
    specs = str(copy_request_processor(tmp_path / "specs"))
    result = trimtab("apply", "--emulator", cli_env["AWS_ENDPOINT_URL"], "--state-dir", str(state), specs, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "main/request-processor" in result.stderr and f"{REQUEST_PROCESSOR_SPECS} created" in result.stdout
    assert boto("ecs").describe_services(cluster="main", services=["request-processor"])["services"]
    # The state survives, so a second run owns what the first created: no conflicts, nothing to do.
    again = trimtab("plan", "--emulator", cli_env["AWS_ENDPOINT_URL"], "--state-dir", str(state), specs, env=env)
    assert again.returncode == 0, again.stdout + again.stderr


def test_apply_then_plan_is_in_sync_and_plan_exit_codes(cli_env: dict[str, str], boto: Any, tmp_path: Path) -> None:
    for cluster, service in (("main", "request-processor"), ("sla-portal", "api")):
        boto("ecs").create_cluster(clusterName=cluster)
        boto("ecs").create_service(cluster=cluster, serviceName=service, desiredCount=1)
    state = ["--state-dir", str(tmp_path / "state")]

    before = trimtab("plan", *state, "specs/", env=cli_env)
    assert before.returncode == 2, before.stdout + before.stderr
    assert f"{EXAMPLE_SPECS} to create" in before.stdout

    applied = trimtab("apply", *state, "specs/", env=cli_env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    after = trimtab("plan", *state, "specs/", env=cli_env)
    assert after.returncode == 0, after.stdout
    assert f"{EXAMPLE_SPECS} in sync" in after.stdout

    again = trimtab("apply", *state, "specs/", env=cli_env)
    assert again.returncode == 0 and f"{EXAMPLE_SPECS} in sync" in again.stdout
    assert "(0 mutating)" in again.stderr

    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "600"})
    drifted = trimtab("plan", *state, "specs/", env=cli_env)
    assert drifted.returncode == 2
    assert "~ Queue/orders: update" in drifted.stdout
    assert "messageRetentionSeconds: 600 -> 345600" in drifted.stdout


def test_conflict_exits_1(cli_env: dict[str, str], boto: Any, tmp_path: Path) -> None:
    boto("sqs").create_queue(QueueName="taken")
    write_specs(tmp_path / "specs", {"q.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: taken}
        spec: {}
        """})
    result = trimtab("apply", "--state-dir", str(tmp_path / "state"), str(tmp_path / "specs"), env=cli_env)
    assert result.returncode == 1
    assert "! Queue/taken: conflict" in result.stdout


def test_help_explains_every_command() -> None:
    result = trimtab("--help")
    assert result.returncode == 0
    for command in ("validate", "plan", "apply", "crds", "emulator", "get", "describe", "events", "suspend",
                    "resume"):
        assert command in result.stdout
    assert "--local" in trimtab("apply", "--help").stdout
    get = trimtab("get", "--help").stdout
    for option in ("--watch", "--selector", "--status-selector", "--failing", "name"):
        assert option in get, option


def test_the_cli_reference_lists_every_option_that_help_shows() -> None:
    """docs/cli.md (generated by `trimtab docs`, checked by `make test`) against each command's --help."""
    reference = (REPO / "docs" / "cli.md").read_text()
    commands = re.findall(r"^    (\w[\w-]*)(?: |$)", trimtab("--help").stdout.split("positional arguments", 1)[1],
                          re.MULTILINE)
    assert {"validate", "plan", "apply", "run", "get", "describe", "events", "suspend", "store",
            "iam-policy"} <= set(commands)
    for command in commands:
        assert f"## `trimtab {command}`" in reference, command
        section = reference.split(f"## `trimtab {command}`", 1)[1].split("\n## ", 1)[0]
        shown = trimtab(command, "--help").stdout
        listed = re.findall(r"^ {2}(?:-\w(?: \S+)?, )?(--[a-z][a-z-]+)", shown, re.MULTILINE)
        for option in set(listed) - {"--help"}:
            assert f"`{option}`" in section, (command, option)


def test_get_outputs_and_missing_state(tmp_path: Path) -> None:
    missing = trimtab("get", "--state-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "no state" in missing.stderr
    assert not (tmp_path / "none").exists()
