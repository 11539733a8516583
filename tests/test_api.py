"""The HTTP API of `trimtab run`: auth, resync, bodies, health, and the metrics text."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.controller_process import ControllerProcess
from tests.helpers import REQUEST_PROCESSOR, REQUEST_PROCESSOR_SPECS, copy_request_processor

TOKEN = "s3cret-token-for-tests"


def http(method: str, url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


@pytest.fixture
def scenario(tmp_path: Path, boto: Any) -> Path:
    specs = tmp_path / "specs"
    copy_request_processor(specs)
    boto("ecs").create_cluster(clusterName="main")
    boto("ecs").create_service(cluster="main", serviceName="request-processor", desiredCount=1)
    return specs


@pytest.fixture
def controller(scenario: Path, tmp_path: Path, cli_env: dict[str, str]) -> Iterator[ControllerProcess]:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    process = ControllerProcess(scenario, tmp_path / "state", cli_env, "--resync-interval", "10m",
                                "--api-token-file", str(token_file))
    process.wait_for(lambda: len(process.ready_keys()) == REQUEST_PROCESSOR_SPECS, what="converged")
    yield process
    if process.process.poll() is None:
        process.kill()


def _reconcile_counts(url: str) -> dict[str, float]:
    _, text = http("GET", f"{url}/metrics")
    counts = {}
    for line in text.splitlines():
        if line.startswith("controller_runtime_reconcile_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels] = float(value)
    return counts


def test_admin_endpoints_need_the_right_token(controller: ControllerProcess) -> None:
    url = controller.url
    assert http("POST", f"{url}/api/v1/resync")[0] == 401
    assert http("POST", f"{url}/api/v1/resync", token="wrong")[0] == 401
    assert http("POST", f"{url}/api/v1/prune/confirm", token="wrong")[0] == 401
    status, body = http("POST", f"{url}/api/v1/resync", token=TOKEN)
    assert status == 202 and body["queued"] == REQUEST_PROCESSOR_SPECS
    assert http("POST", f"{url}/api/v1/prune/confirm", token=TOKEN) == (409, {"error": "no prune is held"})
    # Read endpoints and metrics need no token.
    assert http("GET", f"{url}/api/v1/resources")[0] == 200
    assert http("GET", f"{url}/metrics")[0] == 200


def test_resync_of_one_item_moves_only_that_item(controller: ControllerProcess) -> None:
    url = controller.url
    before = {key: s.last_reconcile_time for key, s in controller.statuses().items()}
    counts = _reconcile_counts(url)
    time.sleep(1.1)  # status times have one-second resolution
    status, body = http("POST", f"{url}/api/v1/resync", json.dumps({"items": ["Queue/orders"]}).encode(), TOKEN)
    assert (status, body["queued"]) == (202, 1)
    controller.wait_for(lambda: controller.statuses()["Queue/orders"].last_reconcile_time != before["Queue/orders"],
                        what="orders reconciled")
    # Anything that pass queued (its dependents, say) would be taken at once: once the queue is drained,
    # every pass the resync caused has finished, so the statuses below are the whole effect.
    controller.wait_for(controller.drained, what="the queue drained")
    after = {key: s.last_reconcile_time for key, s in controller.statuses().items()}
    assert [key for key in after if after[key] != before[key]] == ["Queue/orders"]
    moved = {labels: value - counts.get(labels, 0) for labels, value in _reconcile_counts(url).items()
             if value != counts.get(labels, 0)}
    assert moved == {'controller_runtime_reconcile_total{controller="Queue",result="success"}': 1.0}


def test_bad_bodies_get_clear_errors(controller: ControllerProcess) -> None:
    url = controller.url
    status, body = http("POST", f"{url}/api/v1/resync", b"{not json", TOKEN)
    assert status == 400 and "malformed JSON" in body["error"]
    status, body = http("POST", f"{url}/api/v1/resync", b'{"items": "Queue/orders"}', TOKEN)
    assert status == 400 and "list" in body["error"]
    status, body = http("POST", f"{url}/api/v1/resync", b'{"items": ["Queue/nope"]}', TOKEN)
    assert status == 404 and "Queue/nope" in body["error"]
    status, _ = http("POST", f"{url}/api/v1/resync", b'{"items": ["' + b"x" * 100_000 + b'"]}', TOKEN)
    assert status == 413


def test_health_readiness_and_resources(controller: ControllerProcess) -> None:
    url = controller.url
    assert http("GET", f"{url}/healthz") == (200, {"status": "ok"})
    status, body = http("GET", f"{url}/readyz")
    assert status == 200 and body["checks"] == {"source": "ok", "store": "ok", "aws": "ok"}
    status, resource = http("GET", f"{url}/api/v1/resources/Queue/orders")
    assert status == 200 and resource["kind"] == "Queue" and resource["outputs"]["arn"].endswith(":orders")
    assert http("GET", f"{url}/api/v1/resources/Queue/missing")[0] == 404
    listed = subprocess.run([sys.executable, "-m", "controller", "get", "--url", url, "-o", "json"],
                            capture_output=True, text=True, check=True, cwd=REPO)
    assert len(json.loads(listed.stdout)) == REQUEST_PROCESSOR_SPECS


def test_resync_cli_waits_and_prints_results(controller: ControllerProcess, tmp_path: Path) -> None:
    token_file = tmp_path / "cli-token"
    token_file.write_text(TOKEN)
    time.sleep(1.1)
    result = subprocess.run(
        [sys.executable, "-m", "controller", "resync", "Queue/orders", "Alarm/orders-queue-empty", "--url",
         controller.url, "--token-file", str(token_file), "--wait", "--timeout", "20"],
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "queued 2 item(s)" in result.stdout
    assert "Queue/orders: Ready=True Synced=True" in result.stdout
    assert "Alarm/orders-queue-empty: Ready=True Synced=True" in result.stdout


def test_without_a_token_admin_endpoints_answer_403(scenario: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {key: value for key, value in cli_env.items() if key != "TRIMTAB_API_TOKEN"}
    process = ControllerProcess(scenario, tmp_path / "state", env)
    try:
        status, body = http("POST", f"{process.url}/api/v1/resync", token="anything")
        assert status == 403 and "no API token" in body["error"]
        process.wait_for(lambda: any("no API token configured" in e.get("message", "") for e in process.events()),
                         what="the log says why")
    finally:
        process.kill()


def test_prune_confirm_through_the_api(controller: ControllerProcess, tmp_path: Path) -> None:
    token_file = tmp_path / "cli-token"
    token_file.write_text(TOKEN)
    result = subprocess.run(
        [sys.executable, "-m", "controller", "prune", "--confirm", "--url", controller.url, "--token-file",
         str(token_file)], capture_output=True, text=True, check=False, cwd=REPO)
    assert (result.returncode, result.stdout.strip()) == (0, "no prune is held")
    wrong = tmp_path / "wrong-token"
    wrong.write_text("nope")
    refused = subprocess.run(
        [sys.executable, "-m", "controller", "prune", "--confirm", "--url", controller.url, "--token-file",
         str(wrong)], capture_output=True, text=True, check=False, cwd=REPO)
    assert refused.returncode == 1 and "401" in refused.stderr


def test_items_are_named_as_on_the_command_line(controller: ControllerProcess) -> None:
    url = controller.url
    status, body = http("POST", f"{url}/api/v1/resync", json.dumps({"items": ["queue/orders"]}).encode(), TOKEN)
    assert (status, body["items"]) == (202, ["Queue/orders"])
    assert http("GET", f"{url}/api/v1/resources/QUEUE/orders")[1]["name"] == "orders"
    status, body = http("POST", f"{url}/api/v1/resync", b'{"items": ["foo/orders"]}', TOKEN)
    assert status == 400 and "unknown kind 'foo'" in body["error"]
    status, body = http("POST", f"{url}/api/v1/suspend", b'{"items": ["Queue"]}', TOKEN)
    assert status == 400 and "names no item" in body["error"]
    assert http("GET", f"{url}/api/v1/events?item=nothing")[0] == 400


def test_events_inventory_suspend_and_resume_endpoints(controller: ControllerProcess) -> None:
    url = controller.url
    status, events = http("GET", f"{url}/api/v1/events?item=queues")
    assert status == 200 and {event["object"] for event in events} == {
        "Queue/orders", "Queue/orders-dlq", "Queue/request-processor-alarm-feed"}
    assert {"object", "type", "reason", "message", "count", "firstTime", "lastTime", "details"} == set(events[0])
    status, owned = http("GET", f"{url}/api/v1/inventory?item=queue/orders")
    assert status == 200 and owned == [{"object": "Queue/orders", "kind": "Queue", "identity": {
        "name": "orders", "region": "us-east-1"}, "deletionPolicy": "Delete", "recordedTime": owned[0]["recordedTime"]}]
    assert len(http("GET", f"{url}/api/v1/inventory")[1]) == REQUEST_PROCESSOR_SPECS
    body = json.dumps({"items": ["Queue/orders"], "reason": "test"}).encode()
    assert http("POST", f"{url}/api/v1/suspend", body)[0] == 401
    assert http("POST", f"{url}/api/v1/suspend", body, TOKEN) == (202, {"suspended": ["Queue/orders"]})
    assert http("POST", f"{url}/api/v1/resume", body, TOKEN) == (
        202, {"resumed": ["Queue/orders"], "stillSuspended": {}, "notSuspended": []})


def test_resync_source_exits_1_when_the_fetch_failed(controller: ControllerProcess, scenario: Path,
                                                     tmp_path: Path) -> None:
    token_file = tmp_path / "cli-token"
    token_file.write_text(TOKEN)
    command = [sys.executable, "-m", "controller", "resync", "--source", "--url", controller.url, "--token-file",
               str(token_file)]
    fetched = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    assert fetched.returncode == 0, fetched.stderr
    for part in REQUEST_PROCESSOR:  # an empty source is an error, never "delete everything"
        shutil.rmtree(scenario / part)
    failed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    assert failed.returncode == 1
    assert f"queued {REQUEST_PROCESSOR_SPECS} item(s)" in failed.stdout and "the source fetch failed" in failed.stderr
