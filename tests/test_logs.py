"""The controller's log, as an operator scans it: a level and an ISO 8601 UTC time on every line, colour on
a terminal only, libraries' warnings in the same JSON stream, drift with its values before and after under
the spec's own field names, one line per dependency wait per revision, and N/M progress."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controller.api.queue import Queue
from controller.engine import revisions
from controller.engine.events import EventLog, capture_library_logs
from controller.engine.reconciler import Action, Outcome
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.engine.telemetry import Telemetry
from controller.kinds.diff import FieldChange, spec_named
from controller.kinds.registry import CLIENT_TYPES
from controller.metrics import Metrics
from controller.sources.directory import DirectorySource
from tests.helpers import Harness, write_specs

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_line_has_a_level_and_an_iso_utc_time() -> None:
    out = io.StringIO()
    log = EventLog(out, human=False)
    for event in ("Created", "Conflict", "Error", "DependencyNotReady"):
        log.emit(event, "m", kind="Queue", name="q")
    records = lines(out)
    assert [r["level"] for r in records] == ["info", "warning", "error", "info"]
    for record in records:
        assert ISO_UTC.match(record["time"]), record["time"]
        age = datetime.now(UTC) - datetime.fromisoformat(record["time"])
        assert 0 <= age.total_seconds() < 60


def test_colour_on_a_terminal_only_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    terminal = Terminal()
    EventLog(terminal).emit("Error", "it broke", kind="Queue", name="q", code="AccessDenied")
    EventLog(terminal).emit("Created", "", kind="Queue", name="q")
    error_line, info_line = terminal.getvalue().splitlines()
    assert error_line.startswith("\033[31m") and "ERROR" in error_line
    assert "Queue/q it broke code=AccessDenied" in error_line
    assert "\033[" not in info_line and " INFO " in info_line
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    EventLog(plain).emit("Error", "it broke")
    assert "\033[" not in plain.getvalue()
    piped = io.StringIO()
    EventLog(piped).emit("Error", "it broke")  # not a terminal: JSON, never colour
    assert json.loads(piped.getvalue())["level"] == "error"


@pytest.mark.usefixtures("root_logging")
def test_library_warnings_join_the_json_stream() -> None:
    out = io.StringIO()
    capture_library_logs(EventLog(out, human=False))
    logging.getLogger("botocore.credentials").warning("Found credentials in %s", "environment variables")
    logging.getLogger("aiohttp.client").error("Unclosed client session")
    logging.getLogger("botocore.hooks").info("not a warning: dropped")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("datetime.utcnow() is deprecated", DeprecationWarning, stacklevel=1)
    records = lines(out)
    assert [(r["event"], r["level"], r["logger"]) for r in records] == [
        ("LibraryLog", "warning", "botocore.credentials"), ("LibraryLog", "error", "aiohttp.client"),
        ("LibraryLog", "warning", "py.warnings")]
    assert records[0]["message"] == "Found credentials in environment variables"
    assert "datetime.utcnow() is deprecated" in records[2]["message"]


def test_changes_are_named_as_the_spec_names_them() -> None:
    alarm = CLIENT_TYPES["Alarm"].spec_fields
    policy = CLIENT_TYPES["ScalingPolicy"].spec_fields
    changes = [FieldChange("Threshold", 5.0, 10.0), FieldChange("Namespace", "AWS/SQS", "AWS/ECS"),
               FieldChange("OKActions", [], ["arn"]), FieldChange("tags.Team", "a", "b")]
    assert [c.path for c in spec_named(changes, alarm)] == [
        "threshold", "metric.namespace", "okActions", "tags.Team"]
    changes = [FieldChange("configuration.TargetValue", 50.0, 60.0),
               FieldChange("configuration.PredefinedMetricSpecification.ResourceLabel", "a", "b"),
               FieldChange("configuration.StepAdjustments", [], []), FieldChange("policyType", "a", "b")]
    assert [c.path for c in spec_named(changes, policy)] == [
        "targetTracking.targetValue", "targetTracking.predefinedMetric.resourceLabel", "stepScaling.steps",
        "policyType"]
    assert all(CLIENT_TYPES[kind].spec_fields == {} for kind in ("Queue", "Bucket", "ScalableTarget"))


def test_a_dependency_wait_is_logged_once_per_item_and_revision() -> None:
    out = io.StringIO()
    telemetry = Telemetry(EventLog(out, human=False), Metrics())
    queue = Queue.model_validate({"apiVersion": "trimtab.io/v1alpha1", "kind": "Queue",
                                  "metadata": {"name": "work"}, "spec": {}})

    def wait(message: str, revision: str) -> None:
        telemetry.reconciled(queue, Outcome(queue.key, Action.BLOCKED, message=message), revision, None, None)

    wait("waiting for Queue/dlq: being created", "r1")
    wait("waiting for Queue/dlq: not Ready yet", "r1")  # a recheck, whatever it says: no new line
    wait("waiting for Queue/dlq: not Ready yet", "r2")  # a new revision: news
    telemetry.reconciled(queue, Outcome(queue.key, Action.CREATE, applied=True), "r2", None, None)
    wait("waiting for Queue/dlq: deleted behind our back", "r2")  # waiting again after it went on: news
    logged = [(r["event"], r["revision"]) for r in lines(out)]
    assert logged == [("DependencyNotReady", "r1"), ("DependencyNotReady", "r2"), ("Created", "r2"),
                      ("DependencyNotReady", "r2")]


ALARM = """
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata: {{name: backlog}}
    spec:
      metric: {{namespace: AWS/SQS, metricName: ApproximateNumberOfMessagesVisible, statistic: Maximum,
               period: 60, dimensions: {{QueueName: {{queueRef: q0}}}}}}
      evaluationPeriods: 1
      threshold: 10
      comparisonOperator: GreaterThanThreshold
      tags: {{team: {team}}}
    """
QUEUE = """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {{name: q{n}}}
    spec: {{}}
    """


async def test_progress_and_drift_values_in_a_running_controller(
    harness: Harness, tmp_path: Path, boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revisions, "PROGRESS_SECONDS", 0.0)  # a line per item, so 12 items show the count
    files = {f"q{n}.yaml": QUEUE.format(n=n) for n in range(11)}
    files["alarm.yaml"] = ALARM.format(team="ops")
    specs = write_specs(tmp_path / "specs", files)
    out = io.StringIO()
    outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
    supervisor = Supervisor(ControllerConfig(resync_interval=3600), DirectorySource(specs),
                            reconciler=harness.reconciler, store=harness.store, events=EventLog(out, human=False),
                            metrics=Metrics(), on_outcome=outcomes.put_nowait)
    running = asyncio.create_task(supervisor.run())
    try:
        async with asyncio.timeout(60):
            while not any(r["event"] == "RevisionApplied" for r in lines(out)):
                await outcomes.get()
            progress = [r for r in lines(out) if r["event"] == "Progress"]
            assert progress, "no Progress line during the converge"
            assert all(r["total"] == 12 and r["message"] == f"{r['done']}/12 specs reconciled" for r in progress)
            assert [r["done"] for r in progress] == sorted(r["done"] for r in progress)

            cloudwatch = boto("cloudwatch")
            alarm = cloudwatch.describe_alarms(AlarmNames=["backlog"])["MetricAlarms"][0]
            cloudwatch.put_metric_alarm(**{key: alarm[key] for key in (
                "AlarmName", "Namespace", "MetricName", "Statistic", "Period", "Dimensions", "EvaluationPeriods",
                "DatapointsToAlarm",
                "ComparisonOperator", "TreatMissingData")}, Threshold=99.0)
            supervisor.resync(["Alarm/backlog"])
            while not any(r["event"] == "DriftCorrected" for r in lines(out)):
                await outcomes.get()
    finally:
        supervisor.stop()
        await asyncio.wait_for(running, 30)
    drift = next(r for r in lines(out) if r["event"] == "DriftCorrected")
    assert drift["fields"] == ["threshold"]
    assert drift["changes"] == [{"field": "threshold", "before": "99.0", "after": "10.0"}]
    assert drift["level"] == "info" and drift["kind"] == "Alarm"
