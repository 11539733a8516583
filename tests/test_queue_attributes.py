"""What a Queue spec sends as SQS attributes, checked against botocore's model of the request, and read
back into the same shape. This covers RedriveAllowPolicy, which moto drops (docs/aws-emulator.md), so the
lifecycle tests cannot see it; high-throughput FIFO is also in tests/test_lifecycle.py against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.api.fields import Ref
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import RefResolver
from controller.kinds.queue import QueueClient, _attributes, _state_from_attributes
from controller.kinds.registry import MODELS
from controller.sources.desired import parse_files

ENVIRONMENT = Environment(account_id="123456789012", partition="aws", region="eu-west-1")


def _sent(spec: str, name: str = "dlq") -> dict[str, str]:
    """The attributes a create or update sends for `spec`, valid for botocore, and read back unchanged."""
    state = parse_files({"q.yaml": f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: {name}}}\n"
                                   f"spec:\n{spec}".encode()})
    assert not state.errors, [str(error) for error in state.errors]
    resource = substituted(state.graph.records[f"Queue/{name}"].resource, ENVIRONMENT)
    assert isinstance(resource, MODELS["Queue"])
    rendered = QueueClient(AwsClients(AwsSettings())).render(resource, NO_REFERENCES, ENVIRONMENT)
    attributes = _attributes(rendered)
    shape = service_model("sqs").operation_model("SetQueueAttributes").input_shape
    report = ParamValidator().validate({"QueueUrl": "https://sqs/q", "Attributes": attributes}, shape)
    assert not report.has_errors(), report.generate_report()
    observed = _state_from_attributes(attributes)
    assert {key: observed.get(key) for key in rendered} == rendered, "observe reads back what render sent"
    return attributes


class _NoReferences(RefResolver):
    def output(self, ref: Ref, key: str) -> str:
        raise AssertionError(f"no reference expected, got {ref}")


NO_REFERENCES = _NoReferences()


@pytest.mark.parametrize(("spec", "policy"), [
    ("  redriveAllowPolicy: {redrivePermission: denyAll}\n", {"redrivePermission": "denyAll"}),
    ("  redriveAllowPolicy:\n    redrivePermission: byQueue\n    sourceQueueArns:\n"
     "      - arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:orders\n"
     "      - arn:aws:sqs:us-east-1:210987654321:billing\n",
     {"redrivePermission": "byQueue", "sourceQueueArns": [
         "arn:aws:sqs:eu-west-1:123456789012:orders", "arn:aws:sqs:us-east-1:210987654321:billing"]}),
], ids=["deny-all", "by-queue-with-pseudo-parameters"])
def test_redrive_allow_policy_is_sent_as_aws_documents_it(spec: str, policy: dict[str, Any]) -> None:
    assert json.loads(_sent(spec)["RedriveAllowPolicy"]) == policy


def test_a_queue_without_a_redrive_allow_policy_reads_as_aws_default_allow_all() -> None:
    assert _state_from_attributes({})["redriveAllowPolicy"] == {"redrivePermission": "allowAll"}
    assert "RedriveAllowPolicy" not in _sent("  visibilityTimeoutSeconds: 60\n")  # unmanaged when omitted


def test_high_throughput_fifo_sends_both_attributes() -> None:
    sent = _sent("  fifo: true\n  deduplicationScope: messageGroup\n  fifoThroughputLimit: perMessageGroupId\n",
                 name="events.fifo")
    assert (sent["DeduplicationScope"], sent["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
