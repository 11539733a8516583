"""`trimtab describe KIND/NAME`: file:line, AWS identity and ARN, owner, conditions and their history, the
last error with its AWS code, the last drift before and after, dependencies and dependents with their
states, and recent events; the same from the store and from the API. Real `trimtab run` against moto."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.console_support import GHOST, TOKEN, api, cli, start_converged, write_scenario
from tests.helpers import write_specs


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "TRIMTAB_API_TOKEN": TOKEN}


def _section(text: str, title: str) -> list[list[str]]:
    """The rows of one indented table of the text form, split into columns."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        rows.append(re.split(r"\s{3,}", line.strip()))
    return rows


def _field(text: str, label: str) -> str:
    found = next(line for line in text.splitlines() if line.startswith(f"{label}:"))
    return found.split(":", 1)[1].strip()


def test_describe_shows_where_what_whose_and_what_happened(tmp_path: Path, controllers: Any, boto: Any) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    state = ("--state-dir", str(controller.state_dir))
    sqs = boto("sqs")
    sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="orders")["QueueUrl"],
                             Attributes={"VisibilityTimeout": "99"})
    assert api(controller.url, "POST", "/api/v1/resync", {"items": ["queue/orders"]})[0] == 202
    controller.wait_for(lambda: "DriftCorrected" in cli("describe", "queue/orders", *state).stdout,
                        what="the drift corrected")
    shown = cli("describe", "QUEUE/orders", *state)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert (_field(text, "Name"), _field(text, "Kind"), _field(text, "Labels")) == ("orders", "Queue", "team=orders")
    assert _field(text, "Origin").endswith("/specs/queues.yaml:8")
    assert _field(text, "AWS identity") == "name=orders, region=us-east-1"
    assert _field(text, "ARN") == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert _field(text, "Owner").startswith(
        "trimtab, by its inventory (name=orders, region=us-east-1, deletionPolicy Delete, since ")
    assert _field(text, "Suspended") == "no"
    conditions = _section(text, "Conditions")
    assert conditions[0] == ["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]
    assert [row[:3] for row in conditions[1:]] == [["Ready", "True", "Available"], ["Synced", "True", "Updated"]]
    assert conditions[2][4] == "changed: visibilityTimeoutSeconds"
    assert ["Synced", "True", "Created"] in [row[:3] for row in _section(text, "Condition history")]
    assert _field(text, "Last error") == "<none>"
    assert re.fullmatch(r"\S+Z \(corrected\)", _field(text, "Last drift"))
    assert "  visibilityTimeoutSeconds: 99 -> 30" in text.splitlines()
    assert _section(text, "Depends on")[1] == ["Queue/orders-dlq", "True", "True", "Available"]
    assert _section(text, "Dependents")[1] == ["Alarm/orders-backlog", "True", "True", "Available"]
    events = _section(text, "Events")
    assert events[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [row[2] for row in events[1:]][-1] == "DriftCorrected"

    stored = json.loads(cli("describe", "queue/orders", "-o", "json", *state).stdout)
    assert stored["lastDrift"]["changes"] == [{"path": "visibilityTimeoutSeconds", "before": "99", "after": "30"}]
    assert stored["inventory"][0]["identity"] == {"name": "orders", "region": "us-east-1"}
    assert [d["object"] for d in stored["dependencies"]] == ["Queue/orders-dlq"]
    served = json.loads(cli("describe", "queue/orders", "-o", "json", "--url", controller.url).stdout)
    assert served == stored, "the API and the store describe it alike"


def test_describe_keeps_the_last_error_with_its_aws_code_after_recovery(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    state = ("--state-dir", str(controller.state_dir))
    write_specs(specs, GHOST)
    controller.wait_for(lambda: "TerminalError" in cli("describe", "st/ghost", *state).stdout, what="the error")
    failing = cli("describe", "st/ghost", *state).stdout
    error = _field(failing, "Last error")
    assert re.fullmatch(r"\S+Z ClusterNotFoundException \(terminal\): .+", error), error
    assert _field(failing, "Owner") == "none recorded (not created yet, or only observed)"
    controller.wait_for(lambda: _section(cli("describe", "st/ghost", *state).stdout, "Dependents")[1][:4] == [
        "ScalingPolicy/ghost-out", "False", "False", "DependencyNotReady"], what="the dependent waiting")

    boto("ecs").create_cluster(clusterName="nowhere")
    boto("ecs").create_service(cluster="nowhere", serviceName="ghost", desiredCount=1)
    assert api(controller.url, "POST", "/api/v1/resync", {"items": ["ScalableTarget/ghost"]})[0] == 202
    controller.wait_for(lambda: {"ScalableTarget/ghost", "ScalingPolicy/ghost-out"} <= controller.ready_keys(),
                        what="recovered")
    recovered = cli("describe", "scalabletarget/ghost", *state).stdout
    assert _field(recovered, "Last error") == error, "the last error stays after the recovery"
    assert [row[:2] for row in _section(recovered, "Conditions")[1:]] == [["Ready", "True"], ["Synced", "True"]]
    assert ["Ready", "False", "TerminalError"] in [row[:3] for row in _section(recovered, "Condition history")]


def test_describe_of_nothing_is_not_found(tmp_path: Path, controllers: Any) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    for where in (("--state-dir", str(controller.state_dir)), ("--url", controller.url)):
        missing = cli("describe", "Queue/nope", *where)
        assert (missing.returncode, missing.stderr.strip()) == (1, "trimtab: NotFound: Queue/nope not found")
    kind_only = cli("describe", "queue", "--state-dir", str(controller.state_dir))
    assert kind_only.returncode == 1 and "names no item: give KIND/NAME" in kind_only.stderr
