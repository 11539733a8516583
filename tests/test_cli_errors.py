"""What a user meets when something around trimtab is wrong: one line on stderr that names the fix, a
nonzero exit, and never a traceback. Each case is a real `trimtab` subprocess against a real moto."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.helpers import write_specs

ONE_QUEUE = {"q.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: errors-q}
    spec: {}
    """}


def trimtab(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The single line a failed command printed, after checking it is all it printed to stderr."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trimtab: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_a_port_in_use_names_it_and_the_flag(tmp_path: Path, cli_env: dict[str, str]) -> None:
    specs = write_specs(tmp_path / "specs", ONE_QUEUE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        result = trimtab("run", "--source", str(specs), "--state-dir", str(tmp_path / "state"), "--listen", listen,
                         env=cli_env)
    one_line_error(result, f"{listen} is already in use", "--listen")


def test_a_missing_dynamodb_table_names_the_command_that_creates_it(tmp_path: Path, cli_env: dict[str, str],
                                                                    boto: Any) -> None:
    specs = write_specs(tmp_path / "specs", ONE_QUEUE)
    missing = trimtab("plan", "--store", "dynamodb://trimtab-errors", str(specs), env=cli_env)
    line = one_line_error(missing, "does not exist", "trimtab store init dynamodb://trimtab-errors")

    fix = shlex.split(line.split("`")[1])  # the command the line names, run as written
    assert fix[0] == "trimtab"
    created = trimtab(*fix[1:], env=cli_env)
    assert created.returncode == 0 and "created" in created.stdout, created.stdout + created.stderr
    table = boto("dynamodb").describe_table(TableName="trimtab-errors")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    backups = boto("dynamodb").describe_continuous_backups(TableName="trimtab-errors")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    again = trimtab(*fix[1:], env=cli_env)
    assert again.returncode == 0 and "already existed" in again.stdout, again.stdout + again.stderr

    planned = trimtab("plan", "--store", "dynamodb://trimtab-errors", str(specs), env=cli_env)
    assert planned.returncode == 2 and "1 to create" in planned.stdout, planned.stdout + planned.stderr


def test_store_init_refuses_a_table_with_other_keys(cli_env: dict[str, str], boto: Any) -> None:
    boto("dynamodb").create_table(TableName="trimtab-other", BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                  KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    result = trimtab("store", "init", "dynamodb://trimtab-other", env=cli_env)
    one_line_error(result, "exists with other keys", "pk HASH, sk RANGE")


def test_a_corrupt_state_dir_says_so(tmp_path: Path, cli_env: dict[str, str]) -> None:
    specs = write_specs(tmp_path / "specs", ONE_QUEUE)
    state = tmp_path / "state"
    state.mkdir()
    (state / "trimtab.sqlite3").write_text("not a database\n" * 100)
    one_line_error(trimtab("plan", "--state-dir", str(state), str(specs), env=cli_env),
                   f"{state}/", "not a readable trimtab database", "--state-dir")
    one_line_error(trimtab("get", "--state-dir", str(state), env=cli_env), f"{state}/", "--state-dir")


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """A directory this process cannot write into: immutable when root (whom permissions do not stop)."""
    directory.mkdir()
    command = ["chattr", "+i"] if os.geteuid() == 0 else ["chmod", "0555"]
    undo = ["chattr", "-i"] if os.geteuid() == 0 else ["chmod", "0755"]
    subprocess.run([*command, str(directory)], check=True)
    try:
        yield
    finally:
        subprocess.run([*undo, str(directory)], check=True)


def test_a_read_only_state_dir_says_so(tmp_path: Path, cli_env: dict[str, str]) -> None:
    specs = write_specs(tmp_path / "specs", ONE_QUEUE)
    state = tmp_path / "state"
    with read_only(state):
        result = trimtab("apply", "--state-dir", str(state), str(specs), env=cli_env)
    one_line_error(result, f"cannot write the state in {state}/", "--state-dir")


def test_no_aws_credentials_is_one_error_up_front(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "specs", ONE_QUEUE)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"})
    for command in (["plan", str(specs)], ["run", "--source", str(specs), "--listen", "127.0.0.1:0"]):
        result = trimtab(*command, "--state-dir", str(tmp_path / "state"), env=env)
        one_line_error(result, "no usable AWS credentials", "credential chain", "AWS_PROFILE", "--emulator")
    assert not (tmp_path / "state").exists()  # checked before anything else
