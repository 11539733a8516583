"""Invalid specs: each error names the right file, line, kind/name and field, in one actionable line.

In each case the offending line carries the marker `# <-`; the expected line number is computed
from the text, so the table cannot drift from the YAML.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.sources.directory import load_directory
from tests.helpers import write_specs

HEADER = "apiVersion: trimtab.io/v1alpha1\n"


def _spec_builder(kind: str, default_name: str) -> Callable[..., str]:
    """A builder of one document of `kind`, with `spec` (flush-left YAML) indented under spec:."""

    def build(spec: str, name: str = default_name) -> str:
        body = textwrap.indent(textwrap.dedent(spec), "  ")
        return f"{HEADER}kind: {kind}\nmetadata: {{name: {name}}}\nspec:\n{body}"

    return build


q = _spec_builder("Queue", "orders")
b = _spec_builder("Bucket", "acme-bucket")
a = _spec_builder("Alarm", "cpu")
t = _spec_builder("ScalableTarget", "web")
p = _spec_builder("ScalingPolicy", "out")


def mark(text: str, prefix: str) -> str:
    """Put the `# <-` marker at the end of the first line that starts with `prefix`."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.lstrip().startswith(prefix))
    lines[index] += "  # <-"
    return "\n".join(lines) + "\n"


METRIC = """\
metric:
  namespace: AWS/ECS
  metricName: CPUUtilization
  statistic: Average
  period: 60
"""
ALARM_TAIL = """\
evaluationPeriods: 3
threshold: 80
comparisonOperator: GreaterThanThreshold
"""
TARGET = t("ecsService: {cluster: main, service: web}\nminCapacity: 1\nmaxCapacity: 4\n")
STEP = "stepScaling:\n  adjustmentType: ChangeInCapacity\n  steps:\n    - {lowerBound: 0, adjustment: 1}\n"

# (id, file text (one file) or {file: text}, expected field path, a fragment of the message)
CASES: list[tuple[str, str | dict[str, str], str, str]] = [
    ("queue-visibility-range", q("visibilityTimeoutSeconds: 50000  # <-\n"),
     "spec.visibilityTimeoutSeconds", "must be at most 43200 (got 50000)"),
    ("queue-retention-range", q("messageRetentionSeconds: 30  # <-\n"),
     "spec.messageRetentionSeconds", "must be at least 60"),
    ("queue-delay-range", q("delaySeconds: 901  # <-\n"), "spec.delaySeconds", "at most 900"),
    ("queue-message-size", q("maximumMessageSize: 512  # <-\n"), "spec.maximumMessageSize", "at least 1024"),
    ("queue-wait-time", q("receiveMessageWaitTimeSeconds: 21  # <-\n"),
     "spec.receiveMessageWaitTimeSeconds", "at most 20"),
    ("queue-fifo-name", mark(q("fifo: true\n"), "metadata:"), "metadata.name", "must end in '.fifo'"),
    ("queue-fifo-suffix-on-standard", q("queueName: jobs.fifo  # <-\n"), "spec.queueName", "only a FIFO queue"),
    ("queue-dedup-needs-fifo", q("contentBasedDeduplication: true  # <-\n"),
     "spec.contentBasedDeduplication", "needs fifo: true"),
    ("queue-sse-both", q("encryption:\n  type: SSE-SQS\n  kmsKeyId: alias/x  # <-\n"),
     "spec.encryption.kmsKeyId", "exclusive"),
    ("queue-kms-needs-key", q("encryption:  # <-\n  type: SSE-KMS\n"), "spec.encryption.kmsKeyId", "needs kmsKeyId"),
    ("queue-bad-encryption-type", q("encryption: {type: AES}  # <-\n"), "spec.encryption.type", "must be one of"),
    ("queue-unknown-field", q("visibilityTimeout: 30  # <-\n"),
     "spec.visibilityTimeout", "did you mean 'visibilityTimeoutSeconds'?"),
    ("queue-dlq-receive-count", q("deadLetterQueue:\n  queueRef: dlq\n  maxReceiveCount: 0  # <-\n"),
     "spec.deadLetterQueue.maxReceiveCount", "at least 1"),
    ("queue-name-characters", q("queueName: 'bad name!'  # <-\n"), "spec.queueName", "letters, digits"),
    ("queue-policy-statement", q("policy:  # <-\n  Version: '2012-10-17'\n"), "spec.policy", "Statement"),
    ("queue-reserved-tag", q("tags:  # <-\n  'aws:owner': me\n"), "spec.tags", "reserved by AWS"),
    ("bucket-name-uppercase", b("bucketName: Acme_Bucket  # <-\n"), "spec.bucketName", "lowercase"),
    ("bucket-name-ip", b("bucketName: 192.168.1.10  # <-\n"), "spec.bucketName", "IP address"),
    ("bucket-deletion-policy", b("deletionPolicy: Orphan  # <-\n"), "spec.deletionPolicy", "must be one of"),
    ("bucket-sse-s3-with-key", b("encryption:\n  type: SSE-S3\n  kmsKeyId: alias/k  # <-\n"),
     "spec.encryption.kmsKeyId", "only allowed with type SSE-KMS"),
    ("bucket-lifecycle-no-action", b("lifecycleRules:\n  - id: nothing  # <-\n"),
     "spec.lifecycleRules[0]", "needs an action"),
    ("bucket-transition-ia-30-days",
     b("lifecycleRules:\n  - id: cool\n    transitions:\n      - days: 10  # <-\n        storageClass: STANDARD_IA\n"),
     "spec.lifecycleRules[0].transitions[0].days", "at least 30 days"),
    ("bucket-duplicate-rule-ids",
     b("lifecycleRules:\n  - id: x\n    expiration: {days: 1}\n  - id: x  # <-\n    expiration: {days: 2}\n"),
     "spec.lifecycleRules[1].id", "duplicate lifecycle rule id"),
    ("bucket-region-pattern", b("region: Mars-1  # <-\n"), "spec.region", "must match"),
    ("alarm-period-7", a(METRIC.replace("period: 60", "period: 7  # <-") + ALARM_TAIL),
     "spec.metric.period", "10, 20, 30 or a multiple of 60"),
    ("alarm-metric-and-metrics", a(METRIC + "metrics:  # <-\n  - {id: e1, expression: SUM(METRICS())}\n" + ALARM_TAIL),
     "spec.metrics", "exactly one of metric"),
    ("alarm-no-metric", mark(a(ALARM_TAIL), "spec:"), "spec.metric",
     "exactly one of metric"),
    ("alarm-comparison", a(METRIC + ALARM_TAIL.replace("comparisonOperator: GreaterThanThreshold",
                                                    "comparisonOperator: Bigger  # <-")),
     "spec.comparisonOperator", "must be one of"),
    ("alarm-datapoints", a(METRIC + ALARM_TAIL + "datapointsToAlarm: 5  # <-\n"),
     "spec.datapointsToAlarm", "at most evaluationPeriods"),
    ("alarm-statistic-and-extended", a(METRIC.replace("statistic: Average", "statistic: Average\n  extendedStatistic: p99")
                                       .replace("metric:\n", "metric:  # <-\n") + ALARM_TAIL),
     "spec.metric", "exactly one of statistic"),
    # Under an hour, the window is at most a day; from an hour on, at most 7 days (PutMetricAlarm).
    ("alarm-evaluation-over-a-day", a(METRIC.replace("period: 60", "period: 300") +
                                      ALARM_TAIL.replace("evaluationPeriods: 3", "evaluationPeriods: 289  # <-")),
     "spec.evaluationPeriods", "at most one day"),
    ("alarm-evaluation-over-seven-days", a(METRIC.replace("period: 60", "period: 3600") +
                                           ALARM_TAIL.replace("evaluationPeriods: 3", "evaluationPeriods: 169  # <-")),
     "spec.evaluationPeriods", "at most 7 days"),
    ("alarm-math-two-returns",
     a("metrics:  # <-\n  - {id: m1, expression: '1'}\n  - {id: m2, expression: '2'}\n" + ALARM_TAIL),
     "spec.metrics", "exactly one metric query may return data"),
    ("alarm-math-bad-id", a("metrics:\n  - id: M1  # <-\n    expression: '1'\n" + ALARM_TAIL),
     "spec.metrics[0].id", "must match"),
    ("alarm-action-both", a(METRIC + ALARM_TAIL + "alarmActions:\n  - arn: arn:aws:sns:us-east-1:1:x  # <-\n"
                                                  "    scalingPolicyRef: out\n"),
     "spec.alarmActions[0]", "exactly one of topicRef, scalingPolicyRef or arn"),
    ("alarm-dimension-ref-type", a(METRIC.replace("statistic: Average", "statistic: Average\n  dimensions:\n"
                                                  "    QueueName: {queueRef: 42}  # <-") + ALARM_TAIL),
     "spec.metric.dimensions.QueueName.queueRef", "metadata.name of a Queue"),
    ("target-min-above-max", t("ecsService: {cluster: main, service: web}\nminCapacity: 5  # <-\nmaxCapacity: 4\n"),
     "spec.minCapacity", "must not exceed maxCapacity"),
    ("target-both-forms", t("ecsService: {cluster: main, service: web}  # <-\nserviceNamespace: ecs\n"
                            "minCapacity: 1\nmaxCapacity: 2\n"), "spec.ecsService", "not both"),
    ("target-dimension-namespace", t("serviceNamespace: dynamodb\nresourceId: table/t\n"
                                     "scalableDimension: ecs:service:DesiredCount  # <-\nminCapacity: 1\nmaxCapacity: 2\n"),
     "spec.scalableDimension", "does not belong to namespace"),
    ("policy-both-types", p("targetRef: web\n" + STEP + "targetTracking:\n  targetValue: 50\n"
                            "  predefinedMetric: {type: ECSServiceAverageCPUUtilization}\n").replace("spec:\n", "spec:  # <-\n"),
     "spec", "exactly one of targetTracking, stepScaling or predictiveScaling"),
    ("policy-steps-gap", p("targetRef: web\nstepScaling:\n  adjustmentType: ChangeInCapacity\n  steps:\n"
                           "    - {lowerBound: 0, upperBound: 10, adjustment: 1}\n"
                           "    - {lowerBound: 20, adjustment: 2}  # <-\n"),
     "spec.stepScaling.steps[1].lowerBound", "overlap or leave gaps"),
    ("policy-backlog-with-target-value",
     p("targetRef: web\ntargetTracking:\n  targetValue: 5  # <-\n  queueBacklogPerTask: {queueRef: q, target: 100}\n"),
     "spec.targetTracking.targetValue", "carries its own target"),
    ("policy-magnitude-needs-percent",
     p("targetRef: web\n" + STEP.replace("steps:", "minAdjustmentMagnitude: 2  # <-\n  steps:")),
     "spec.stepScaling.minAdjustmentMagnitude", "PercentChangeInCapacity"),
    # ---- checks across specs -----------------------------------------------------------------------
    ("ref-missing", p("targetRef: nowhere  # <-\n" + STEP), "spec.targetRef", "not defined in the source"),
    ("ref-wrong-kind", {"a.yaml": q("{}\n", name="web"),
                        "b.yaml": p("targetRef: web  # <-\n" + STEP)},
     "spec.targetRef", "is a Queue, not a ScalableTarget"),
    ("duplicate-kind-name", {"a.yaml": q("{}\n"), "b.yaml": mark(q("{}\n"), "metadata:")},
     "metadata.name", "duplicate Queue/orders"),
    ("same-aws-resource", {"a.yaml": q("queueName: shared\n", name="one"),
                           "b.yaml": mark(q("queueName: shared\n", name="two"), "metadata:")},
     "metadata.name", "same AWS resource"),
    ("reference-cycle", {"a.yaml": q("deadLetterQueue: {queueRef: b, maxReceiveCount: 3}  # <-\n", name="a"),
                         "b.yaml": q("deadLetterQueue: {queueRef: a, maxReceiveCount: 3}\n", name="b")},
     "spec.deadLetterQueue.queueRef", "reference cycle"),
    ("fifo-dlq-must-be-fifo", {"a.yaml": q("fifo: true\ndeadLetterQueue: {queueRef: dlq, maxReceiveCount: 3}  # <-\n",
                                           name="jobs.fifo"),
                               "b.yaml": q("{}\n", name="dlq")},
     "spec.deadLetterQueue.queueRef", "must also be FIFO"),
    ("backlog-needs-ecs-target",
     {"a.yaml": t("serviceNamespace: dynamodb\nresourceId: table/t\nscalableDimension: dynamodb:table:ReadCapacityUnits\n"
                  "minCapacity: 1\nmaxCapacity: 2\n"),
      "b.yaml": q("{}\n", name="q"),
      "c.yaml": p("targetRef: web\ntargetTracking:\n  queueBacklogPerTask: {queueRef: q, target: 10}  # <-\n")},
     "spec.targetTracking.queueBacklogPerTask", "must be an ECS service"),
    # ---- the envelope and the YAML ----------------------------------------------------------------
    ("unknown-kind", "apiVersion: trimtab.io/v1alpha1\nkind: Queu  # <-\nmetadata: {name: x}\nspec: {}\n",
     "kind", "did you mean 'Queue'?"),
    ("wrong-api-version", "apiVersion: v1  # <-\nkind: Queue\nmetadata: {name: x}\nspec: {}\n",
     "apiVersion", "expected trimtab.io/v1alpha1"),
    ("bad-object-name", mark(q("{}\n", name="Orders_Queue"), "metadata:"),
     "metadata.name", "lowercase"),
    ("missing-spec", "apiVersion: trimtab.io/v1alpha1  # <-\nkind: Queue\nmetadata: {name: x}\n", "spec", "is required"),
    ("duplicate-yaml-key", q("delaySeconds: 1\ndelaySeconds: 2  # <-\n"), "", "duplicate key 'delaySeconds'"),
    ("yaml-tab-indent", q("delaySeconds: 1\n") + "\tretention: 2  # <-\n", "", "YAML"),
]


def _expected_line(files: dict[str, str]) -> tuple[str, int]:
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), start=1):
            if "# <-" in line:
                return name, number
    raise AssertionError("a case needs a '# <-' marker")


def _normalise(case: str | dict[str, str]) -> dict[str, str]:
    if isinstance(case, str):
        text = case if "# <-" in case else case.replace("\n", "  # <-\n", 1)
        return {"spec.yaml": text}
    if not any("# <-" in text for text in case.values()):
        first = next(iter(case))
        case = {**case, first: case[first].replace("\n", "  # <-\n", 1)}
    return case


@pytest.mark.parametrize(("files", "field", "fragment"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_error_names_file_line_and_field(tmp_path: Path, files: str | dict[str, str], field: str, fragment: str) -> None:
    normalised = _normalise(files)
    root = write_specs(tmp_path / "specs", {name: text for name, text in normalised.items()})
    # write_specs dedents; our texts are already flush-left, so line numbers are unchanged.
    state = load_directory(root)
    expected_file, expected_line = _expected_line(normalised)
    matching = [e for e in state.errors if e.file.endswith(expected_file) and e.line == expected_line]
    assert matching, f"no error at {expected_file}:{expected_line}; got: {[str(e) for e in state.errors]}"
    error = matching[0]
    assert error.field == field, str(error)
    assert fragment in error.message, str(error)
    text = str(error)
    assert re.match(rf".*{re.escape(expected_file)}:{expected_line}:\d+: ([A-Za-z?]+/[^:]+|-): ", text), text


def test_there_are_at_least_thirty_distinct_cases() -> None:
    assert len({case[0] for case in CASES}) >= 30


def test_validate_reports_all_errors_not_just_the_first(tmp_path: Path) -> None:
    root = write_specs(tmp_path / "specs", {
        "one.yaml": q("visibilityTimeoutSeconds: 50000\ndelaySeconds: 901\n"),
        "two.yaml": b("region: nowhere\n"),
    })
    state = load_directory(root)
    assert {e.field for e in state.errors} == {"spec.visibilityTimeoutSeconds", "spec.delaySeconds", "spec.region"}


def test_example_message_format(tmp_path: Path) -> None:
    # The issue's own example: the bad value on line 12.
    text = "apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata:\n  name: orders\nspec:\n" \
           + "\n" * 6 + "  visibilityTimeoutSeconds: 50000\n"
    root = write_specs(tmp_path / "specs", {"orders.yaml": text})
    (error,) = load_directory(root).errors
    assert str(error).endswith(
        "orders.yaml:12:3: Queue/orders: spec.visibilityTimeoutSeconds: must be at most 43200 (got 50000)"
    )
