"""Shared fixtures: one moto server over HTTP on a free port, reset before every test that uses it.

With `TRIMTAB_TEST_ENDPOINT` set (tests/external_endpoint.py), `harness` and `boto` reach that endpoint
instead, and everything that needs moto itself is skipped with its reason: the `emulator`, `moto` and
`cli_env` fixtures, and tests marked `@pytest.mark.moto_only("why")`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.aws import AwsClients, AwsSettings, is_mutating
from controller.aws_models import lean_session
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from tests.controller_process import ControllerProcess
from tests.external_endpoint import (
    AwsUnderTest,
    cleaned_up,
    configured_endpoint,
    moto_endpoint,
    moto_only_reason,
    skip_unless_moto,
)
from tests.helpers import Harness

REGION = "us-east-1"
REPO = Path(__file__).resolve().parent.parent


class CallRecorder:
    """Every AWS call botocore makes, recorded from botocore's own `before-call` event."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, event_name: str = "", **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls.append((service, operation))

    def clear(self) -> None:
        self.calls.clear()

    def mutating(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if is_mutating(call[1])]

    def operations(self) -> list[str]:
        return [operation for _, operation in self.calls]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`moto_only` needs its reason, on every endpoint; off moto, it skips the test with that reason."""
    external = configured_endpoint()
    for item in items:
        marker = item.get_closest_marker("moto_only")
        if marker is None:
            continue
        if len(marker.args) != 1 or not isinstance(marker.args[0], str) or not marker.args[0].strip():
            raise pytest.UsageError(f'{item.nodeid}: write @pytest.mark.moto_only("why it needs moto")')
        if external is not None:
            item.add_marker(pytest.mark.skip(reason=moto_only_reason(external, marker.args[0])))


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalEmulator]:
    skip_unless_moto("uses the moto server itself: its URL and credentials, or its reset API")
    with LocalEmulator() as running:
        yield running


@pytest.fixture
def moto(emulator: LocalEmulator) -> LocalEmulator:
    emulator.reset()
    return emulator


@pytest.fixture
def aws_under_test(request: pytest.FixtureRequest) -> Iterator[AwsUnderTest]:
    """moto, reset for this test; or the external endpoint, rid of what this test created when it ends."""
    external = configured_endpoint()
    if external is None:
        yield AwsUnderTest(moto_endpoint(request.getfixturevalue("moto").url), created=None)
        return
    with cleaned_up(external, REGION) as created:
        yield AwsUnderTest(external, created)


@pytest.fixture
def boto(aws_under_test: AwsUnderTest) -> Any:
    """Out-of-band changes, as a person with the AWS CLI would make them."""
    def client(service: str) -> Any:
        made = aws_under_test.endpoint.client(service, REGION)
        aws_under_test.watch(made.meta.events)
        return made
    return client


@pytest.fixture
async def harness(aws_under_test: AwsUnderTest, tmp_path: Path) -> AsyncIterator[Harness]:
    recorder = CallRecorder()
    session = lean_session()  # the session production builds
    session.events.register("before-call", recorder)
    aws_under_test.watch(session.events)
    endpoint = aws_under_test.endpoint
    settings = AwsSettings(region=REGION, endpoint_url=endpoint.url, static_credentials=endpoint.credentials)
    async with AwsClients(settings, session=session) as aws:
        built = Harness(aws, recorder, tmp_path)
        try:
            yield built
        finally:
            built.close()


@pytest.fixture
def cli_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment for running the trimtab CLI as a subprocess against the test emulator."""
    skip_unless_moto("runs trimtab in a subprocess, whose resources no cleanup on another endpoint would see")
    moto: LocalEmulator = request.getfixturevalue("moto")
    env = dict(os.environ)
    env.update({
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS[1],
        "AWS_REGION": REGION,
    })
    return env


@pytest.fixture
def controllers(tmp_path: Path, cli_env: dict[str, str]) -> Iterator[Any]:
    """Start `trimtab run` subprocesses (source, extra flags) against the test emulator; killed at the end."""
    started: list[ControllerProcess] = []

    def start(source: Path | str, *extra: str) -> ControllerProcess:
        process = ControllerProcess(source, tmp_path / "state", cli_env, *extra)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.kill()


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger's handlers and level as they were, after a test that captures library logs (the
    controller's `capture_library_logs` replaces them)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
