"""Predictive scaling policies, which moto refuses (PutScalingPolicy answers ValidationException for
PolicyType PredictiveScaling; docs/aws-emulator.md): the request is checked against botocore's model,
and a policy as DescribeScalingPolicies reports it reads back in sync, with only what the spec manages."""

from __future__ import annotations

import copy
from typing import Any

from botocore.validate import ParamValidator

from controller.api.fields import Ref
from controller.api.scaling_policy import ScalingPolicy
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import Desired, RefResolver
from controller.kinds.diff import spec_named
from controller.kinds.scaling_policy import ScalingPolicyClient
from tests.spec_bases import bases, parse

TARGET = {"serviceNamespace": "ecs", "resourceId": "service/main/web", "scalableDimension": "ecs:service:DesiredCount"}


class _Target(RefResolver):
    def output(self, ref: Ref, key: str) -> str:
        return TARGET[key]


class _Aas:
    """Application Auto Scaling as AWS answers: it keeps the request and describes it with its defaults."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    async def put_scaling_policy(self, **arguments: Any) -> dict[str, Any]:
        self.sent = copy.deepcopy(arguments)  # a copy, as the wire makes: a later edit is AWS's, not the spec's
        return {"PolicyARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:policyName/p"}

    def get_paginator(self, operation: str) -> Any:
        described = {
            "PolicyName": self.sent["PolicyName"], "PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:1",
            "PolicyType": self.sent["PolicyType"],
            # AWS fills in what the request left out; the spec does not manage it.
            "PredictiveScalingPolicyConfiguration": {"Mode": "ForecastOnly", "SchedulingBufferTime": 0,
                                                     **copy.deepcopy(self.sent["PredictiveScalingPolicyConfiguration"])},
        }

        class _Pages:
            def paginate(self, **_: Any) -> Any:
                async def pages() -> Any:
                    yield {"ScalingPolicies": [described]}
                return pages()

        return _Pages()


class _Aws(AwsClients):
    def __init__(self, client: _Aas) -> None:
        super().__init__(AwsSettings())
        self._client = client

    async def client(self, service: str) -> Any:
        return self._client


def _desired(spec: dict[str, Any]) -> tuple[ScalingPolicyClient, Desired[ScalingPolicy], _Aas]:
    resource, errors = parse("ScalingPolicy", spec)
    assert isinstance(resource, ScalingPolicy), errors
    aas = _Aas()
    client = ScalingPolicyClient(_Aws(aas))
    refs = _Target()
    state = client.render(resource, refs, None)  # type: ignore[arg-type]  # no pseudo parameters here
    return client, Desired(resource, client.identity(resource, refs), state, None), aas


def _predictive_base() -> dict[str, Any]:
    return next(spec for spec in bases("ScalingPolicy") if "predictiveScaling" in spec)


async def test_the_request_is_valid_for_botocore_and_reads_back_in_sync() -> None:
    client, desired, aas = _desired(_predictive_base())
    await client.create(desired)
    assert aas.sent["PolicyType"] == "PredictiveScaling"
    shape = service_model("application-autoscaling").operation_model("PutScalingPolicy").input_shape
    report = ParamValidator().validate(aas.sent, shape)
    assert not report.has_errors(), report.generate_report()
    observed = await client.observe(desired)
    assert observed.exists and observed.diff == []


async def test_unset_options_are_left_to_aws_and_a_changed_target_is_drift() -> None:
    spec = {"targetRef": "base-target", "predictiveScaling": {"metricSpecifications": [
        {"targetValue": 40, "predefinedMetricPair": {"type": "ECSServiceCPUUtilization"}}]}}
    client, desired, aas = _desired(spec)
    await client.create(desired)
    assert set(aas.sent["PredictiveScalingPolicyConfiguration"]) == {"MetricSpecifications"}
    assert (await client.observe(desired)).diff == []  # AWS's Mode and buffer are not the spec's
    aas.sent["PredictiveScalingPolicyConfiguration"]["MetricSpecifications"][0]["TargetValue"] = 70.0
    changed = spec_named((await client.observe(desired)).diff, client.spec_fields)  # as a plan names them
    assert [change.path for change in changed] == ["predictiveScaling.metricSpecifications"]


async def test_customized_metric_math_reads_back_in_sync_in_any_dimension_order() -> None:
    client, desired, aas = _desired(_predictive_base())
    await client.create(desired)
    sent = aas.sent["PredictiveScalingPolicyConfiguration"]["MetricSpecifications"]
    (customized,) = [spec for spec in sent if "CustomizedLoadMetricSpecification" in spec]
    assert set(customized) >= {"CustomizedScalingMetricSpecification", "CustomizedCapacityMetricSpecification"}
    metric = customized["CustomizedLoadMetricSpecification"]["MetricDataQueries"][0]["MetricStat"]["Metric"]
    metric["Dimensions"].reverse()  # AWS keeps no order
    assert (await client.observe(desired)).diff == []
    customized["CustomizedLoadMetricSpecification"]["MetricDataQueries"][1]["Expression"] = "raw / 10"
    changed = spec_named((await client.observe(desired)).diff, client.spec_fields)
    assert [change.path for change in changed] == ["predictiveScaling.metricSpecifications"]
