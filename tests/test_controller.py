"""`trimtab run` end to end: a real subprocess against moto over HTTP."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.helpers import EXAMPLE_SPECS, example_counts, example_documents, write_specs

FAST = ("--resync-interval", "2s")


@pytest.fixture
def scenario(tmp_path: Path, boto: Any) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(REPO / "specs", specs)
    for cluster, service in (("main", "request-processor"), ("sla-portal", "api")):
        boto("ecs").create_cluster(clusterName=cluster)
        boto("ecs").create_service(cluster=cluster, serviceName=service, desiredCount=1)
    return specs


def _queue_names(boto: Any) -> list[str]:
    return sorted(url.rsplit("/", 1)[-1] for url in boto("sqs").list_queues().get("QueueUrls", []))


def test_lifecycle_drift_edit_prune_and_foreign(scenario: Path, controllers: Any, boto: Any) -> None:
    boto("sqs").create_queue(QueueName="someone-elses")  # foreign, never touched
    controller = controllers(scenario, *FAST)
    controller.wait_for(lambda: len(controller.ready_keys()) == EXAMPLE_SPECS, what="every example spec ready")

    # Drift made behind trimtab's back is corrected within one resync interval.
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "600"})
    drifted_at = time.monotonic()
    controller.wait_for(
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"][
            "MessageRetentionPeriod"] == "1209600", timeout=10, what="drift corrected")
    took = time.monotonic() - drifted_at
    assert took < 2 + 1.5, f"drift took {took:.1f}s to correct: one 2 s interval plus the reconcile and the poll"
    # The event is recorded once the reconcile that made the change ends, a moment after AWS shows it.
    controller.wait_for(lambda: any(
        e["event"] == "DriftCorrected" and e.get("name") == "orders-dlq" and e["level"] == "info"
        and {"field": "messageRetentionSeconds", "before": "600", "after": "1209600"} in e.get("changes", [])
        for e in controller.events()), timeout=5, what="the DriftCorrected event")

    # An edited spec is applied.
    queues = scenario / "request-processor" / "queues.yaml"
    queues.write_text(queues.read_text().replace("visibilityTimeoutSeconds: 60 ", "visibilityTimeoutSeconds: 75 "))
    orders = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    controller.wait_for(lambda: sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"] == "75", timeout=5, what="edit applied")

    # A removed spec prunes what trimtab owns; a Retain bucket is left in place.
    (scenario / "sla-portal" / "alarms.yaml").unlink()
    cloudwatch = boto("cloudwatch")
    controller.wait_for(lambda: not cloudwatch.describe_alarms(AlarmNames=["sla-portal-alb-5xx"])["MetricAlarms"],
                        timeout=5, what="pruned alarm")
    (scenario / "project-buckets" / "atlas.yaml").unlink()
    controller.wait_for(lambda: any(e["event"] == "Retained" for e in controller.events()), timeout=5,
                        what="Retain bucket forgotten")
    assert "acme-project-atlas-data" in [b["Name"] for b in boto("s3").list_buckets()["Buckets"]]
    assert "someone-elses" in _queue_names(boto)
    assert controller.terminate() == 0


def _prune_held_for_the_latest_revision(controller: Any, why: str = "", specs: int | None = None) -> bool:
    """The pruner's word on the newest revision loaded (of `specs` valid specs, if given): PruneHeld for it,
    `why` in its message. It is emitted in the same step that would have deleted, so once it is there,
    nothing of that revision is deleted later: the event to wait for, where a sleep only hoped a deletion
    would have shown by then."""
    events = controller.events()
    revisions = [event["revision"] for event in events if event["event"] == "SourceChanged"
                 and specs in (None, event.get("specs"))]
    return bool(revisions) and any(event["event"] == "PruneHeld" and event.get("revision") == revisions[-1]
                                   and why in event.get("message", "") for event in events)


def test_an_invalid_file_causes_no_deletions_and_valid_specs_still_apply(
    scenario: Path, controllers: Any, boto: Any
) -> None:
    controller = controllers(scenario, *FAST)
    controller.wait_for(lambda: len(controller.ready_keys()) == EXAMPLE_SPECS, what="converged")
    broken = "apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {name: x}\nspec: [\n"
    (scenario / "broken.yaml").write_text(broken)
    (scenario / "sla-portal" / "alarms.yaml").unlink()  # would prune 2 alarms ...
    queues = scenario / "request-processor" / "queues.yaml"
    queues.write_text(queues.read_text().replace("visibilityTimeoutSeconds: 60 ", "visibilityTimeoutSeconds: 90 "))
    sqs = boto("sqs")
    orders = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    controller.wait_for(lambda: sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"] == "90", timeout=5, what="valid edit applied")
    # ... but the revision has an invalid file: the pruner holds, and so nothing is deleted. (The edit was
    # the last file written, so the revision that applied it is the newest there will be.)
    controller.wait_for(lambda: _prune_held_for_the_latest_revision(controller, "invalid specs"),
                        what="the prune held for the revision with the edit")
    assert boto("cloudwatch").describe_alarms(AlarmNames=["sla-portal-alb-5xx"])["MetricAlarms"]
    events = controller.events()
    assert any(e["event"] == "InvalidSpec" and "broken.yaml" in e["message"] for e in events)
    assert any(e["event"] == "PruneHeld" and "invalid specs" in e["message"] for e in events)
    (scenario / "broken.yaml").unlink()  # fixed: now the removal goes through
    controller.wait_for(lambda: not boto("cloudwatch").describe_alarms(AlarmNames=["sla-portal-alb-5xx"])[
        "MetricAlarms"], timeout=5, what="prune after the fix")
    assert controller.terminate() == 0


def test_a_mass_deletion_is_held_until_confirmed(scenario: Path, controllers: Any, boto: Any, tmp_path: Path) -> None:
    controller = controllers(scenario, *FAST)
    controller.wait_for(lambda: len(controller.ready_keys()) == EXAMPLE_SPECS, what="converged")
    removed, _ = example_counts("request-processor")
    shutil.rmtree(scenario / "request-processor")  # over both thresholds (17 of 28 when written)
    # rmtree removes file by file, so a revision with some of them may come first; the decision that
    # matters is the one on the revision with none of them.
    left = EXAMPLE_SPECS - removed
    controller.wait_for(lambda: _prune_held_for_the_latest_revision(controller, specs=left), timeout=5,
                        what="prune held")
    assert "orders" in _queue_names(boto)
    get = subprocess.run([sys.executable, "-m", "controller", "get", "--state-dir", str(tmp_path / "state")],
                         capture_output=True, text=True, check=False, cwd=REPO)
    assert get.returncode == 3 and "PRUNE HELD" in get.stderr
    confirm = subprocess.run(
        [sys.executable, "-m", "controller", "prune", "--confirm", "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    assert confirm.returncode == 0, confirm.stdout + confirm.stderr
    controller.wait_for(lambda: "orders" not in _queue_names(boto), timeout=10, what="released prune")
    controller.wait_for(lambda: not boto("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/main/request-processor"])["ScalableTargets"], timeout=10,
        what="scalable target deleted")
    assert controller.terminate() == 0


def test_an_empty_source_is_an_error_not_a_deletion(scenario: Path, controllers: Any, boto: Any) -> None:
    controller = controllers(scenario, *FAST)
    controller.wait_for(lambda: len(controller.ready_keys()) == EXAMPLE_SPECS, what="converged")
    for path in scenario.rglob("*.yaml"):
        path.unlink()
    # SourceError is the follower's decision on the emptied tree, taken under the same lock as any prune of
    # the partial revisions before it: once it is logged, every deletion those could have made is done.
    controller.wait_for(lambda: any(e["event"] == "SourceError" for e in controller.events()), timeout=5,
                        what="source error")
    assert "orders" in _queue_names(boto)
    assert controller.terminate() == 0


def test_a_restart_mid_convergence_resumes_without_duplicates(scenario: Path, controllers: Any, boto: Any) -> None:
    first = controllers(scenario, *FAST)
    first.wait_for(lambda: len(first.statuses()) >= 3, what="some progress")
    first.kill()
    second = controllers(scenario, *FAST)
    second.wait_for(lambda: len(second.ready_keys()) == EXAMPLE_SPECS, what="converged after restart")
    assert _queue_names(boto) == sorted(queue["spec"].get("queueName", queue["metadata"]["name"])
                                        for queue in example_documents("Queue"))
    alarms = boto("cloudwatch").describe_alarms()["MetricAlarms"]
    names = [alarm["AlarmName"] for alarm in alarms]
    assert len(names) == len(set(names))
    policies = boto("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert len(policies) == len({p["PolicyName"] for p in policies}) == 6
    assert not any(e["event"] == "Conflict" for e in second.events())
    assert second.terminate() == 0


def test_sighup_resyncs_everything_and_sigterm_drains_and_exits_zero(scenario: Path, controllers: Any) -> None:
    controller = controllers(scenario, "--resync-interval", "60s")
    controller.wait_for(lambda: len(controller.ready_keys()) == EXAMPLE_SPECS, what="converged")
    before = {key: status.last_reconcile_time for key, status in controller.statuses().items()}
    time.sleep(1.1)  # status times have one-second resolution
    controller.process.send_signal(signal.SIGHUP)
    controller.wait_for(lambda: all(status.last_reconcile_time != before[key]
                                    for key, status in controller.statuses().items()), what="full resync")
    assert any(e["event"] == "ResyncRequested" and e.get("queued") == EXAMPLE_SPECS for e in controller.events())
    controller.process.send_signal(signal.SIGHUP)
    controller.wait_for(lambda: sum(e["event"] == "ResyncRequested" for e in controller.events()) == 2, what="hup")
    started = time.monotonic()
    assert controller.terminate() == 0
    assert time.monotonic() - started < 30
    events = controller.events()
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "Stopped"
    stopping = kinds.index("Stopping")
    # Between the two, only the in-flight items finish (drained, not abandoned); nothing new starts.
    assert len(kinds) - stopping - 2 <= events[stopping]["in_flight"]


def test_a_dependency_that_becomes_ready_later_unblocks_its_dependents(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    specs = write_specs(tmp_path / "specs", {"scaling.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: late}
        spec:
          ecsService: {cluster: later, service: late}
          minCapacity: 1
          maxCapacity: 2
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: late-out}
        spec:
          targetRef: late
          stepScaling:
            adjustmentType: ChangeInCapacity
            steps: [{lowerBound: 0, adjustment: 1}]
        """})
    controller = controllers(specs, "--resync-interval", "1s")
    # The wait is seen in the log, which keeps it: against moto, trimtab seeds the ECS service itself,
    # so the target may be created, and the policy's DependencyNotReady status replaced, within 100 ms.
    controller.wait_for(lambda: any(e["event"] == "DependencyNotReady" and e["name"] == "late-out"
                                    for e in controller.events()), what="policy waiting")
    waits = [e for e in controller.events() if e["event"] == "DependencyNotReady"]
    boto("ecs").create_cluster(clusterName="later")  # the missing service appears
    boto("ecs").create_service(cluster="later", serviceName="late", desiredCount=1)
    controller.wait_for(lambda: {"ScalableTarget/late", "ScalingPolicy/late-out"} <= controller.ready_keys(),
                        timeout=15, what="dependents unblocked")
    assert len(waits) == 1, "a wait is logged once, not at every recheck"
    assert controller.terminate() == 0


def test_a_restart_resumes_without_redoing_work(scenario: Path, controllers: Any) -> None:
    first = controllers(scenario, "--resync-interval", "60s")
    first.wait_for(lambda: len(first.ready_keys()) == EXAMPLE_SPECS, what="converged")
    assert first.terminate() == 0
    before = {key: status.last_reconcile_time for key, status in first.statuses().items()}
    listed = subprocess.run(
        [sys.executable, "-m", "controller", "get", "Queue", "-o", "json", "--state-dir", str(first.state_dir)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )
    queues = json.loads(listed.stdout)
    assert [(q["kind"], q["name"]) for q in queues] == [("Queue", queue["metadata"]["name"])
                                                        for queue in example_documents("Queue")]
    ready = next(c for c in queues[0]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "Available" and ready["lastTransitionTime"]
    first_queue = example_documents("Queue")[0]
    assert queues[0]["revision"] and queues[0]["outputs"]["arn"].endswith(
        ":" + first_queue["spec"].get("queueName", first_queue["metadata"]["name"]))
    second = controllers(scenario, "--resync-interval", "60s")
    second.wait_for(lambda: any(e["event"] == "Started" for e in second.events()), what="restarted")
    # Started comes after the first load has queued whatever it redoes; once that is drained, any redone
    # item has been reconciled. (The drift checks it resumes come no sooner than 6 s: a tenth of 60 s.)
    second.wait_for(second.drained, what="the queue drained after the restart")
    assert second.reconciles() == 0, "settled items are not re-reconciled at once after a restart"
    after = {key: status.last_reconcile_time for key, status in second.statuses().items()}
    assert after == before, "settled items are not re-reconciled at once after a restart"
    assert second.terminate() == 0


def test_a_suspended_spec_is_left_alone(scenario: Path, controllers: Any, boto: Any) -> None:
    queues = scenario / "request-processor" / "queues.yaml"
    queues.write_text(queues.read_text().replace(
        "  name: orders-dlq\n", '  name: orders-dlq\n  annotations:\n    trimtab.io/suspend: "true"\n'))
    controller = controllers(scenario, "--resync-interval", "1s")
    controller.wait_for(lambda: (s := controller.statuses().get("Queue/orders-dlq")) is not None
                        and s.condition("Synced").reason == "Suspended", what="suspended status")  # type: ignore[union-attr]
    assert "orders-dlq" not in _queue_names(boto)
    assert controller.terminate() == 0
