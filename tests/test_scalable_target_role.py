"""A scalable target's roleARN: sent, read back and compared only when the spec sets it.

moto keeps the RoleARN of a target's first registration and ignores it on a later one
(docs/aws-emulator.md), so the update's request is checked against botocore's model here instead of a
drift test in tests/test_lifecycle.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.api.scalable_target import ScalableTarget
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import Desired, Observation
from controller.kinds.scalable_target import ScalableTargetClient
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import Harness
from tests.spec_bases import parse

ROLE = "arn:aws:iam::123456789012:role/aas-custom"
BASE = {"ecsService": {"cluster": "main", "service": "worker"}, "minCapacity": 1, "maxCapacity": 4}


class _Recording:
    """An Application Auto Scaling client that keeps the last RegisterScalableTarget request."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    async def register_scalable_target(self, **arguments: Any) -> dict[str, Any]:
        self.sent = arguments
        return {}


class _Aws(AwsClients):
    def __init__(self, client: _Recording) -> None:
        super().__init__(AwsSettings())
        self._recording = client

    async def client(self, service: str) -> Any:
        return self._recording


def _desired(spec: dict[str, Any]) -> tuple[ScalableTargetClient, Desired[ScalableTarget], _Recording]:
    resource, errors = parse("ScalableTarget", spec)
    assert isinstance(resource, ScalableTarget), errors
    recording = _Recording()
    client = ScalableTargetClient(_Aws(recording))
    state = client.render(resource, None, None)  # type: ignore[arg-type]  # a target refers to nothing
    identity = client.identity(resource, None)  # type: ignore[arg-type]
    return client, Desired(resource, identity, state, None), recording


async def test_an_update_sends_the_role_valid_for_botocore() -> None:
    client, desired, recording = _desired({**BASE, "roleARN": ROLE})
    assert desired.state["roleARN"] == ROLE
    await client.update(desired, Observation(exists=True))
    assert recording.sent["RoleARN"] == ROLE
    shape = service_model("application-autoscaling").operation_model("RegisterScalableTarget").input_shape
    report = ParamValidator().validate(recording.sent, shape)
    assert not report.has_errors(), report.generate_report()


async def test_without_a_role_none_is_sent_or_managed() -> None:
    client, desired, recording = _desired(BASE)
    await client.update(desired, Observation(exists=True))
    assert "roleARN" not in desired.state and "RoleARN" not in recording.sent


@pytest.mark.moto_only(SEEDS_ECS)
async def test_a_managed_role_is_read_back_and_another_role_is_drift(harness: Harness, boto: Any) -> None:
    target = """
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: worker}
        spec:
          ecsService: {cluster: main, service: worker}
          minCapacity: 1
          maxCapacity: 4
        """
    harness.write({"t.yaml": target.replace("maxCapacity: 4", f"maxCapacity: 4\n          roleARN: {ROLE}")})
    assert not (await harness.apply()).failed
    registered = boto("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
    assert registered["ScalableTargets"][0]["RoleARN"] == ROLE
    assert (await harness.plan()).in_sync

    harness.write({"t.yaml": target.replace("maxCapacity: 4", "maxCapacity: 4\n          roleARN: "
                                            "arn:aws:iam::123456789012:role/other")})
    planned = (await harness.plan()).outcomes["ScalableTarget/worker"]
    assert [change.path for change in planned.changes] == ["roleARN"]

    harness.write({"t.yaml": target})  # unmanaged: the role AWS holds is no drift
    assert (await harness.plan()).in_sync
