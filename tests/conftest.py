"""Shared fixtures: one moto server over HTTP on a free port, reset before every test that uses it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.aws import AwsClients, AwsSettings, is_mutating
from controller.aws_models import lean_session
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from tests.controller_process import ControllerProcess
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


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalEmulator]:
    with LocalEmulator() as running:
        yield running


@pytest.fixture
def moto(emulator: LocalEmulator) -> LocalEmulator:
    emulator.reset()
    return emulator


@pytest.fixture
def boto(moto: LocalEmulator) -> Any:
    """Out-of-band changes, as a person with the AWS CLI would make them."""
    def client(service: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=moto.url,
            aws_access_key_id=EMULATOR_CREDENTIALS[0], aws_secret_access_key=EMULATOR_CREDENTIALS[1],
        )
    return client


@pytest.fixture
async def harness(moto: LocalEmulator, tmp_path: Path) -> AsyncIterator[Harness]:
    recorder = CallRecorder()
    session = lean_session()  # the session production builds
    session.events.register("before-call", recorder)
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=session) as aws:
        built = Harness(aws, recorder, tmp_path)
        try:
            yield built
        finally:
            built.close()


@pytest.fixture
def cli_env(moto: LocalEmulator) -> dict[str, str]:
    """Environment for running the trimtab CLI as a subprocess against the test emulator."""
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
