"""Composite alarms, whose PutCompositeAlarm moto lacks (the embedded emulator adds it: docs/aws-emulator.md):
the rule's text from the structured form, and every base spec's request checked against botocore's model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.api.composite_alarm import CompositeAlarm
from controller.api.fields import Ref
from controller.api.substitution import STAND_IN
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import RefResolver
from controller.kinds.composite_alarm import CompositeAlarmClient
from tests.spec_bases import BASES, parse


class _Refs(RefResolver):
    """Alarm specs whose AWS names differ from their spec names, as `alarmName` allows."""

    def output(self, ref: Ref, key: str) -> str:
        name = f"aws-{ref.name}"
        return name if key == "name" else f"arn:aws:{ref.kind.lower()}:us-east-1:123456789012:{name}"


def _rendered(spec: dict[str, Any]) -> dict[str, Any]:
    resource, errors = parse("CompositeAlarm", spec)
    assert isinstance(resource, CompositeAlarm), errors
    return CompositeAlarmClient(AwsClients(AwsSettings())).render(resource, _Refs(), STAND_IN)


def test_the_rule_names_the_alarms_aws_names_with_groups_in_parentheses() -> None:
    state = _rendered({"rule": {"anyOf": [
        {"alarmRef": "cpu"},
        {"allOf": [{"alarmRef": "memory", "state": "OK", "not": True}, {"alarmRef": "disk"}]},
        {"anyOf": [{"alarmRef": "net", "state": "INSUFFICIENT_DATA"}], "not": True},
        {"alarmRef": "deploy", "not": True},
        {"compositeAlarmRef": "db", "state": "OK"},
        {"allOf": [{"compositeAlarmRef": "api"}]},
    ]}})
    assert state["AlarmRule"] == ('ALARM("aws-cpu") OR (NOT OK("aws-memory") AND ALARM("aws-disk")) OR '
                                  'NOT (INSUFFICIENT_DATA("aws-net")) OR NOT ALARM("aws-deploy") OR OK("aws-db") OR '
                                  '(ALARM("aws-api"))')


@pytest.mark.parametrize("index", range(len(BASES["CompositeAlarm"])))
def test_every_base_is_a_valid_put_composite_alarm(index: int) -> None:
    state = _rendered(BASES["CompositeAlarm"][index])
    request = {"AlarmName": "base", "Tags": [{"Key": "team", "Value": "core"}], **state}
    shape = service_model("cloudwatch").operation_model("PutCompositeAlarm").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
