"""The embedded AWS emulator behind `--local` and `trimtab emulator`: a moto server subprocess on a
free 127.0.0.1 port; and what any moto needs before the example specs apply to it (`seed_ecs_services`)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import aiohttp
from botocore.exceptions import ClientError

from controller.aws import AwsClients

EMULATOR_CREDENTIALS = ("testing", "testing")
_START_TIMEOUT_SECONDS = 30.0
_START_ATTEMPTS = 3
_PROBE_TIMEOUT_SECONDS = 2.0
# moto's own entry point, run so that the kernel stops it when its parent dies, whatever killed the parent
# (SIGKILL included, which no handler sees): PR_SET_PDEATHSIG, set in the child itself since
# Popen(preexec_fn=...) is unsafe in a process with threads. Where prctl is missing (not Linux) the parent's
# own stop() is all there is.
_CHILD = """\
import ctypes, os, signal, sys
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass
if os.getppid() != parent:  # the parent died before prctl took effect
    sys.exit(0)
from controller.emulator import extend_moto
extend_moto()
from moto.server import main
main(sys.argv[2:])
"""


def extend_moto() -> None:
    """What moto lacks and the kinds need, added to it in the emulator's process (docs/aws-emulator.md).

    PutCompositeAlarm: moto (5.2.5) answers "not implemented", though its alarms already carry a composite
    alarm's rule (`rule`), which DescribeAlarms lists under CompositeAlarms with it as AlarmRule. This puts
    one through moto's own backend, keeping the suppressor, so that the CompositeAlarm kind round-trips."""
    from moto.cloudwatch.responses import CloudWatchResponse  # noqa: PLC0415  (moto is optional: trimtab[local])
    from moto.core.responses import EmptyResult  # noqa: PLC0415

    def put_composite_alarm(self: CloudWatchResponse) -> EmptyResult:
        # A composite alarm has no metric, comparison or threshold: moto keeps those empty.
        no_metric: dict[str, Any] = dict.fromkeys((
            "namespace", "metric_name", "comparison_operator", "evaluation_periods", "period", "threshold",
            "statistic"))
        alarm: Any = self.cloudwatch_backend.put_metric_alarm(
            name=self._get_param("AlarmName"), description=self._get_param("AlarmDescription"), dimensions=[],
            alarm_actions=self._get_param("AlarmActions", []), ok_actions=self._get_param("OKActions", []),
            insufficient_data_actions=self._get_param("InsufficientDataActions", []),
            actions_enabled=self._get_bool_param("ActionsEnabled"), rule=self._get_param("AlarmRule"),
            tags=self._get_param("Tags", []), **no_metric)
        alarm.actions_suppressor = self._get_param("ActionsSuppressor")
        alarm.actions_suppressor_wait_period = self._get_param("ActionsSuppressorWaitPeriod")
        alarm.actions_suppressor_extension_period = self._get_param("ActionsSuppressorExtensionPeriod")
        return EmptyResult()

    CloudWatchResponse.put_composite_alarm = put_composite_alarm  # type: ignore[attr-defined]


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalEmulator:
    """Start with `with LocalEmulator() as emulator:`; `emulator.url` is the endpoint. Start it from a thread
    that outlives it: the kernel stops moto when the thread that started it exits."""

    def __init__(self) -> None:
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object | type[BaseException] | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        if importlib.util.find_spec("moto") is None:
            raise EmulatorError("the embedded AWS emulator needs moto, which is not installed: install trimtab with "
                                "its extra, pip install 'trimtab[local]' (with pipx: pipx inject trimtab "
                                "'moto[server]'), or use --emulator URL for one already running")
        # Another process may take the free port between our probe and moto's bind: retry.
        for _ in range(_START_ATTEMPTS):
            port = free_port()
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(os.getpid()), "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                return
            self.stop()
        raise EmulatorError("the embedded AWS emulator (moto) did not start; is moto[server] installed?")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def reset(self) -> None:
        """Forget every resource: POST /moto-api/reset."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


async def is_moto(url: str) -> bool:
    """Whether a moto server answers at `url` (its dashboard, /moto-api/): AWS_ENDPOINT_URL may name one
    (`trimtab emulator` prints that export), or a real endpoint such as a VPC or FIPS one."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_PROBE_TIMEOUT_SECONDS)) as session, \
                session.get(f"{url.rstrip('/')}/moto-api/") as response:
            return response.status == 200 and b"moto" in (await response.read()).lower()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False


async def seed_ecs_services(aws: AwsClients, services: Iterable[tuple[str, str]]) -> list[str]:
    """Create the ECS clusters and services that scalable targets point at.

    moto gap: RegisterScalableTarget for ECS fails unless the cluster and service exist in the
    emulator (real AWS needs them too, but there they are deployed by other means).
    """
    ecs = await aws.client("ecs")
    created = []
    for cluster, service in sorted(set(services)):
        await ecs.create_cluster(clusterName=cluster)
        try:
            await ecs.create_service(cluster=cluster, serviceName=service, desiredCount=1)
        except ClientError as error:
            if "already exists" not in str(error).lower():
                raise
        created.append(f"{cluster}/{service}")
    return created
