"""The README's first hour, walked as a new user walks it: in the order it is written, from a directory of
their own holding the example specs, each command exactly as the README writes it (`.venv/bin/trimtab` is
this checkout's), and each succeeding or failing as the README says.

What differs from a user's terminal, and only that: each controller listens on a free port
(TRIMTAB_LISTEN, which `--listen` defaults to) instead of 8080, `--url` names that port, and `make` is told
(-o) that this checkout's .venv/, linked into the user's directory, is set up already."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.emulator import free_port
from tests.conftest import REPO
from tests.helpers import EXAMPLE_SPECS

README = (REPO / "README.md").read_text()
BIN = Path(sys.executable).parent  # this checkout's .venv/bin, where `make` puts trimtab
# The commands of the README's first hour, as written there, in the order written.
FIRST_HOUR = [
    "make run",
    ".venv/bin/trimtab get --local",
    ".venv/bin/trimtab validate specs/",
    ".venv/bin/trimtab plan --local specs/",
    ".venv/bin/trimtab apply --local specs/",
    ".venv/bin/trimtab emulator",
    ".venv/bin/trimtab apply specs/ && .venv/bin/trimtab plan specs/",
    "export TRIMTAB_API_TOKEN=$(openssl rand -hex 16)",
    ".venv/bin/trimtab run --source specs/",
    ".venv/bin/trimtab resync Queue/orders --wait",
    ".venv/bin/trimtab get --url http://127.0.0.1:8080",
]


def test_the_readme_writes_the_first_hour_in_this_order() -> None:
    at = 0
    for command in FIRST_HOUR:
        at = README.find(command, at)
        assert at >= 0, f"{command!r} is not in the README after the commands before it"


class User:
    """A shell in the user's own directory: commands as the README writes them, with the exports so far."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("AWS_", "TRIMTAB_"))} | {"AWS_EC2_METADATA_DISABLED": "true"}
        self.started: list[subprocess.Popen[bytes]] = []

    def argv(self, command: str) -> list[str]:
        return [str(BIN / "trimtab") if word == ".venv/bin/trimtab" else word for word in shlex.split(command)]

    def run(self, command: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv(command), *extra], cwd=self.home, env=env or self.env,
                              capture_output=True, text=True, timeout=180, check=False)

    def start(self, command: str, **env: str) -> Started:
        """A command left running in another shell; its output goes to a file, read as it grows."""
        log = self.home / f"{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(self.argv(command), cwd=self.home, env=self.env | env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return Started(process, log)

    def stop_all(self) -> None:
        """Whatever is left of each started command's process group (moto too, were it orphaned)."""
        for process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Started:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def line(self, found: Callable[[str], bool], timeout: float = 60.0) -> str:
        """The first line of its output that satisfies `found`, once it is printed."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log.read_text().splitlines()
            if match := next((line for line in lines if found(line)), None):
                return match
            assert self.process.poll() is None, f"exited {self.process.returncode}: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"not printed in {timeout:.0f} s: {self.log.read_text()}"
            time.sleep(0.1)

    def event(self, name: str) -> dict[str, Any]:
        return dict(json.loads(self.line(lambda line: line.startswith("{") and f'"event":"{name}"' in line)))

    def stop(self, signum: int = signal.SIGTERM) -> int:
        os.killpg(self.process.pid, signum)
        return self.process.wait(30)


@pytest.fixture
def user(tmp_path: Path) -> Iterator[User]:
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-dev.lock", ".venv"):  # make ran here
        (tmp_path / name).symlink_to(REPO / name)
    walker = User(tmp_path)
    try:
        yield walker
    finally:
        walker.stop_all()


def _children(pid: int) -> set[int]:
    return {int(child) for children in Path(f"/proc/{pid}/task").glob("*/children")
            for child in children.read_text().split()}


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_first_hour_in_the_readme(user: User) -> None:
    # make run: a token printed for the other shell, the controller on specs/ against its own emulator.
    # -o: this checkout's .venv/ is set up already; make must not rebuild it.
    port = free_port()
    make = user.start("make -o .venv/.installed run", TRIMTAB_LISTEN=f"127.0.0.1:{port}")
    token = make.line(lambda line: "export TRIMTAB_API_TOKEN=" in line).rsplit("=", 1)[1]
    make.event("RevisionApplied")
    got = user.run(".venv/bin/trimtab get --local")
    assert got.returncode == 0 and "(applied)" in got.stderr, got.stdout + got.stderr
    database = user.home / ".trimtab" / "local" / "trimtab.sqlite3"
    inode = database.stat().st_ino

    # The quick start, while make run runs: each --local command keeps its state to itself.
    validated = user.run(".venv/bin/trimtab validate specs/")
    assert validated.returncode == 0 and f"{EXAMPLE_SPECS} specs" in validated.stdout, validated.stderr
    planned = user.run(".venv/bin/trimtab plan --local specs/")
    assert planned.returncode == 2 and f"{EXAMPLE_SPECS} to create" in planned.stdout, planned.stderr  # exit 2: changes
    applied = user.run(".venv/bin/trimtab apply --local specs/")
    assert applied.returncode == 0 and f"{EXAMPLE_SPECS} created" in applied.stdout, applied.stderr
    assert database.stat().st_ino == inode
    got = user.run(".venv/bin/trimtab get --local")
    assert got.returncode == 0 and "(applied)" in got.stderr, got.stdout + got.stderr
    resynced = user.run(".venv/bin/trimtab resync Queue/orders --wait", "--url", f"http://127.0.0.1:{port}",
                        env=user.env | {"TRIMTAB_API_TOKEN": token})
    assert resynced.returncode == 0, resynced.stdout + resynced.stderr  # the printed token is the run's
    make.stop(signal.SIGINT)  # Ctrl-C: make itself exits by the signal; the controller drains and says so
    make.event("Stopped")

    # One emulator for several commands.
    emulator = user.start(".venv/bin/trimtab emulator")
    export = emulator.line(lambda line: line.strip().startswith("export "))
    user.env.update(word.split("=", 1) for word in shlex.split(export)[1:])
    both = user.run("sh -c", ".venv/bin/trimtab apply specs/ && .venv/bin/trimtab plan specs/".replace(
        ".venv/bin/trimtab", str(BIN / "trimtab")))
    assert both.returncode == 0, both.stdout + both.stderr  # the plan exits 0: in sync
    assert f"{EXAMPLE_SPECS} created" in both.stdout and f"{EXAMPLE_SPECS} in sync" in both.stdout

    # Resync by hand: the token first, then the controller, then resync from the other shell.
    user.env["TRIMTAB_API_TOKEN"] = secrets.token_hex(16)  # `openssl rand -hex 16`
    port = free_port()
    controller = user.start(".venv/bin/trimtab run --source specs/", TRIMTAB_LISTEN=f"127.0.0.1:{port}")
    controller.event("RevisionApplied")
    url = f"http://127.0.0.1:{port}"
    got = user.run(".venv/bin/trimtab get")
    assert got.returncode == 0 and "(applied)" in got.stderr, got.stdout + got.stderr
    assert re.search(r"^Queue\s+orders\s+True\s+True", got.stdout, re.MULTILINE), got.stdout
    # "a request without the controller's token gets 401"
    without_token = user.run(".venv/bin/trimtab resync Queue/orders --wait", "--url", url,
                             env={key: value for key, value in user.env.items() if key != "TRIMTAB_API_TOKEN"})
    assert without_token.returncode == 1 and "401" in without_token.stderr, without_token.stderr
    resynced = user.run(".venv/bin/trimtab resync Queue/orders --wait", "--url", url)
    assert resynced.returncode == 0, resynced.stdout + resynced.stderr
    through_api = user.run(f".venv/bin/trimtab get --url {url}")
    assert through_api.returncode == 0 and "orders" in through_api.stdout, through_api.stderr
    assert controller.stop() == 0

    # Stopping the emulator stops its moto too.
    moto = _children(emulator.process.pid)
    assert moto, "the emulator runs moto as its child"
    assert emulator.stop() == 0
    assert not any(_running(pid) for pid in moto), "moto outlived `trimtab emulator`"


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=["HUP", "INT", "KILL"])
def test_the_emulator_takes_moto_with_it_on_any_signal(user: User, signum: int) -> None:
    emulator = user.start(".venv/bin/trimtab emulator")
    emulator.line(lambda line: line.strip().startswith("export "))
    (moto,) = _children(emulator.process.pid)
    emulator.process.send_signal(signum)  # SIGKILL: no handler runs; the kernel tells moto (PR_SET_PDEATHSIG)
    assert emulator.process.wait(30) == (-signal.SIGKILL if signum == signal.SIGKILL else 0)
    deadline = time.monotonic() + 30
    while _running(moto):
        assert time.monotonic() < deadline, "moto outlived `trimtab emulator`"
        time.sleep(0.05)
