"""`trimtab get` for triage: failing rows first, -l, --status-selector, --failing, -o name, -w, NotFound,
one KIND/NAME grammar everywhere, root causes chained through dependencies, Ready=False for terminal
AWS errors, and a stale status said to be stale. Real `trimtab run` subprocesses against moto."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.api.selectors import (
    SelectorError,
    labels_match,
    parse_conditions,
    parse_key,
    parse_labels,
    parse_selector,
)
from controller.engine.reconciler import Action, Outcome
from controller.engine.status import SOURCE_SETTING, build_status, conditions_for, waiting_for
from controller.store.base import ItemStatus, decode_status, encode_status
from controller.store.sqlite import SqliteStore
from tests.console_support import (
    GHOST,
    SCENARIO_KEYS,
    TOKEN,
    Watch,
    backlog_alarm,
    cli,
    condition,
    row,
    start_converged,
    write_scenario,
)
from tests.helpers import write_specs


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "TRIMTAB_API_TOKEN": TOKEN}


# ---- the grammar, the same for every command and the API ---------------------------------------------

def test_kinds_are_named_as_kubectl_names_them() -> None:
    for written in ("Queue", "queue", "queues", "QUEUES"):
        assert parse_selector(written).kind == "Queue"
    for written, kind in (("st", "ScalableTarget"), ("scalabletargets", "ScalableTarget"), ("sp", "ScalingPolicy"),
                          ("ScalingPolicies", "ScalingPolicy"), ("alarm", "Alarm"), ("buckets", "Bucket")):
        assert parse_selector(written).kind == kind, written
    assert parse_key("queue/Orders") == "Queue/orders"
    assert parse_selector("alarms/high").matches("Alarm/high")
    assert not parse_selector("alarms/high").matches("Alarm/higher")
    assert parse_selector(None).matches("Bucket/anything")
    for bad, says in (("foo", "unknown kind 'foo'"), ("Queue/", "names no item"), ("queue", "names no item")):
        with pytest.raises(SelectorError, match=says):
            parse_key(bad)


def test_label_and_status_selectors_take_kubectl_and_flux_forms() -> None:
    labels = {"team": "orders", "tier": "dlq"}
    for selector, holds in (("team=orders", True), ("team==orders", True), ("team!=orders", False),
                            ("tier", True), ("!tier", False), ("!env", True), ("team=orders,tier!=dlq", False),
                            ("team=orders, tier=dlq", True), ("", True)):
        assert labels_match(parse_labels(selector), labels) is holds, selector
    for bad in ("=orders", "team in (a,b)", "!"):
        with pytest.raises(SelectorError, match="label selector"):
            parse_labels(bad)
    assert parse_conditions("ready=false, Synced=Unknown") == (("Ready", "False"), ("Synced", "Unknown"))
    with pytest.raises(SelectorError, match="TYPE=STATUS"):
        parse_conditions("Healthy=True")


# ---- what rows say -----------------------------------------------------------------------------------

def _ready_row(key: str) -> ItemStatus:
    return build_status(key, [("Ready", "True", "Available", ""), ("Synced", "True", "Created", "")], None,
                        observed_generation="g1", revision="r1", outputs={}, seconds=0.1)


def test_a_terminal_error_is_ready_false_and_a_retryable_one_keeps_what_was_known() -> None:
    previous = _ready_row("Queue/q")
    terminal = Outcome("Queue/q", Action.ERROR, message="not allowed", error_code="AccessDenied")
    assert conditions_for(terminal, previous, "g1") == [
        ("Ready", "False", "TerminalError", "AccessDenied: not allowed"),
        ("Synced", "False", "TerminalError", "AccessDenied: not allowed")]
    throttled = Outcome("Queue/q", Action.ERROR, message="slow down", error_code="Throttling", retryable=True)
    assert conditions_for(throttled, previous, "g1")[0] == ("Ready", "True", "Available", "")
    assert conditions_for(throttled, None, "g1")[0] == ("Ready", "Unknown", "ReconcileError", "Throttling: slow down")


def test_a_waiting_row_names_the_root_cause_through_its_dependencies() -> None:
    conflicted = build_status("Queue/taken", [("Ready", "False", "Conflict", "exists but was not created by trimtab"),
                                              ("Synced", "False", "Conflict", "exists but was not created by trimtab")],
                              None, observed_generation="g", revision="r", outputs={}, seconds=0.1)
    direct = waiting_for("Queue/taken", conflicted)
    assert direct == "waiting for Queue/taken: Conflict: exists but was not created by trimtab"
    blocked = build_status("Queue/consumer", [("Ready", "False", "DependencyNotReady", direct),
                                              ("Synced", "False", "DependencyNotReady", direct)],
                           None, observed_generation="g", revision="r", outputs={}, seconds=0.1)
    assert waiting_for("Queue/consumer", blocked) == (
        "waiting for Queue/consumer, which is waiting for Queue/taken: Conflict: exists but was not created by trimtab")
    assert waiting_for("Queue/new", None) == "waiting for Queue/new: not reconciled yet"


def test_a_row_written_before_the_describe_fields_existed_still_reads() -> None:
    old = {key: value for key, value in asdict(_ready_row("Queue/q")).items()
           if key in ("key", "conditions", "observed_generation", "revision", "outputs", "last_reconcile_time",
                      "last_reconcile_seconds", "first_seen")}
    read = decode_status(json.dumps(old))
    assert (read.origin, read.labels, read.dependencies, read.history, read.last_error) == ("", {}, (), (), None)
    assert decode_status(encode_status(read)) == read


def test_a_status_no_controller_keeps_current_is_said_to_be_stale(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    try:
        asyncio.run(store.put_status(_ready_row("Queue/q")))
        long_ago = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        source = {"source": "specs/", "revision": "abc", "phase": "applied", "appliedRevision": "abc"}
        asyncio.run(store.put_setting(SOURCE_SETTING, json.dumps({**source, "reportedTime": long_ago})))
        crashed = cli("get", "--state-dir", str(tmp_path))
        assert crashed.returncode == 0, crashed.stderr
        assert "REVISION abc (applied; no word from the controller for 10m: is it running?" in crashed.stderr
        asyncio.run(store.put_setting(SOURCE_SETTING, json.dumps({**source, "reportedTime": long_ago,
                                                                   "stoppedTime": long_ago})))
        stopped = cli("get", "--state-dir", str(tmp_path))
        assert "REVISION abc (applied; the controller stopped 10m ago: this status is from then)" in stopped.stderr
    finally:
        store.close()


# ---- against a running controller --------------------------------------------------------------------

TAKEN = {"taken.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: taken}
    spec: {}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: taken-consumer}
    spec:
      deadLetterQueue: {queueRef: taken, maxReceiveCount: 3}
    ---""" + backlog_alarm("taken-backlog", "taken-consumer")}
NOT_OURS = "exists but was not created by trimtab; set spec.adopt: true to take it over"


def test_get_lists_failing_rows_first_filters_them_and_chains_their_causes(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    boto("sqs").create_queue(QueueName="taken")  # someone else's: a conflict, which its dependents wait on
    specs = write_scenario(tmp_path / "specs")
    write_specs(specs, TAKEN)
    controller = start_converged(controllers, specs)
    chained = f"waiting for Queue/taken-consumer, which is waiting for Queue/taken: Conflict: {NOT_OURS}"
    state = ("--state-dir", str(controller.state_dir))
    controller.wait_for(lambda: condition(row(controller, "Alarm/taken-backlog"), "Synced")[2] == chained,
                        what="the alarm names the root cause")
    assert condition(row(controller, "Queue/taken-consumer"), "Synced") == (
        "False", "DependencyNotReady", f"waiting for Queue/taken: Conflict: {NOT_OURS}")

    table = cli("get", *state)
    assert table.returncode == 0, table.stderr
    names = [line.split()[:2] for line in table.stdout.splitlines()[1:]]
    assert names == [["Alarm", "taken-backlog"], ["Queue", "taken"], ["Queue", "taken-consumer"],
                     ["Alarm", "orders-backlog"], ["Queue", "orders"], ["Queue", "orders-dlq"]]
    failing = "Alarm/taken-backlog\nQueue/taken\nQueue/taken-consumer\n"
    assert cli("get", "--failing", "-o", "name", *state).stdout == failing
    assert cli("get", "--status-selector", "ready=false", "-o", "name", *state).stdout == failing
    assert cli("get", "queues", "--failing", "-o", "name", *state).stdout == "Queue/taken\nQueue/taken-consumer\n"
    assert cli("get", "-l", "team=orders", "-o", "name", *state).stdout == "Queue/orders\nQueue/orders-dlq\n"
    assert cli("get", "-l", "team=orders,tier!=dlq", "-o", "name", *state).stdout == "Queue/orders\n"
    assert cli("get", "-l", "team", "--failing", "-o", "name", *state).stdout == ""
    assert cli("get", "QUEUE/ORDERS", "-o", "name", *state).stdout == "Queue/orders\n"
    listed = json.loads(cli("get", "-l", "!team", "-o", "json", *state).stdout)
    assert [(r["kind"], r["name"]) for r in listed] == [("Alarm", "taken-backlog"), ("Queue", "taken"),
                                                        ("Queue", "taken-consumer")]
    assert listed[0]["dependsOn"] == ["Queue/taken-consumer"] and listed[0]["origin"].endswith("/taken.yaml:12")


def test_not_found_and_unknown_kinds_exit_1_as_kubectl_does(tmp_path: Path, controllers: Any) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    state = ("--state-dir", str(controller.state_dir))
    for args, says in ((("buckets",), "trimtab: NotFound: no Bucket resources found"),
                       (("Queue/nope",), "trimtab: NotFound: Queue/nope not found"),
                       (("queue/nope", "-o", "json"), "trimtab: NotFound: Queue/nope not found"),
                       (("foo",), "trimtab: unknown kind 'foo'"),
                       (("-l", "=x"), "trimtab: cannot read the label selector")):
        result = cli("get", *args, *state)
        assert (result.returncode, result.stdout) == (1, ""), args
        assert result.stderr.startswith(says), result.stderr
    empty = cli("get", "--status-selector", "Synced=Unknown", *state)
    assert (empty.returncode, empty.stdout.strip()) == (0, "") and "no resources match" in empty.stderr
    assert cli("get", "--url", controller.url, "Queue/nope").returncode == 1


def test_a_terminal_aws_error_is_ready_false_and_its_dependents_say_why(
    tmp_path: Path, controllers: Any
) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    write_specs(specs, GHOST)
    controller.wait_for(lambda: "ScalableTarget/ghost" in controller.statuses() and condition(
        row(controller, "ScalableTarget/ghost"), "Synced")[1] == "TerminalError", what="the target's error")
    ready = condition(row(controller, "ScalableTarget/ghost"), "Ready")
    assert ready[:2] == ("False", "TerminalError") and "not found" in ready[2].lower()  # AWS's code and message
    controller.wait_for(lambda: condition(row(controller, "ScalingPolicy/ghost-out"), "Synced")[2] == (
        f"waiting for ScalableTarget/ghost: TerminalError: {ready[2]}"), what="the policy names the cause")


def test_watch_prints_a_row_again_when_it_changes_until_ctrl_c(
    tmp_path: Path, controllers: Any, cli_env: dict[str, str]
) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    watch = Watch("get", "queues", "-w", "--state-dir", str(controller.state_dir), env=cli_env)
    try:
        watch.wait_for(lambda line: line.split()[:2] == ["KIND", "NAME"], what="the header")
        first = watch.wait_for(lambda line: line.split()[:2] == ["Queue", "orders"], what="the orders row")
        queues = specs / "queues.yaml"
        queues.write_text(queues.read_text().replace("visibilityTimeoutSeconds: 30", "visibilityTimeoutSeconds: 45"))
        revision = first.split()[5]
        controller.wait_for(lambda: controller.statuses()["Queue/orders"].revision[:12] != revision,
                            what="the edit reconciled")
        moved = controller.statuses()["Queue/orders"].revision[:12]
        watch.wait_for(lambda line: line.split()[:2] == ["Queue", "orders"] and moved in line, what="the new row")
        assert watch.interrupt() == 0
    finally:
        watch.kill()
    assert not any(line.startswith("Alarm") for line in watch.lines), "only the selected kind is watched"


def test_after_the_controller_stops_get_says_its_status_is_from_then(tmp_path: Path, controllers: Any) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    state = ("--state-dir", str(controller.state_dir))
    controller.wait_for(lambda: "(applied)" in cli("get", *state).stderr, what="applied")
    assert controller.terminate() == 0
    stopped = cli("get", *state)
    assert stopped.returncode == 0
    assert "(applied; the controller stopped " in stopped.stderr and "this status is from then" in stopped.stderr
    assert {f"{r['kind']}/{r['name']}" for r in json.loads(cli("get", "-o", "json", *state).stdout)} == (
        SCENARIO_KEYS)


def test_resync_takes_the_same_names_as_get(tmp_path: Path, controllers: Any, cli_env: dict[str, str]) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    before = controller.statuses()["Queue/orders"].last_reconcile_time
    time.sleep(1.1)  # status times have one-second resolution
    result = cli("resync", "queue/orders", "--url", controller.url, "--wait", "--timeout", "20", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "Queue/orders: Ready=True Synced=True" in result.stdout
    assert controller.statuses()["Queue/orders"].last_reconcile_time != before
    unknown = cli("resync", "foo/orders", "--url", controller.url, env=cli_env)
    assert unknown.returncode == 1 and "unknown kind 'foo'" in unknown.stderr
