"""The metrics and the dashboard, proven against a real Prometheus (Debian's package, installed by .ci/run).

A dashboard whose queries return nothing is worse than none: every panel's PromQL must return data
after a cycle with a create, a drift correction, a failing spec and a manual resync.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.emulator import free_port
from controller.sources.directory import load_directory
from tests.conftest import REPO
from tests.controller_process import ControllerProcess
from tests.helpers import REQUEST_PROCESSOR_SPECS, copy_request_processor, require_tool, write_specs
from tests.test_api import TOKEN, http

PROMETHEUS = REPO / "deploy" / "prometheus"


def _tool(name: str) -> str:
    return require_tool(name, "apt-get install prometheus")


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-compose.yml"])
def test_promtool_checks_the_configs(config: str) -> None:
    checked = subprocess.run([_tool("promtool"), "check", "config", str(PROMETHEUS / config)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    tested = subprocess.run([_tool("promtool"), "test", "rules", str(PROMETHEUS / "alerts_test.yml")],
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    binary = _tool("prometheus")
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: trimtab\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                    return url
            except OSError:
                time.sleep(0.2)
        raise AssertionError("prometheus did not become ready")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def query(prometheus_url: str, expr: str) -> list[Any]:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((REPO / "deploy" / "grafana" / "trimtab.json").read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = (target["expr"].replace("$__rate_interval", "30s").replace("$job", "trimtab")
                    .replace("$instance", ".*"))
            found.append((panel["title"], expr))
    return found


def test_every_dashboard_panel_returns_data_from_a_real_prometheus(
    tmp_path: Path, boto: Any, cli_env: dict[str, str], prometheus: Any
) -> None:
    promtool = _tool("promtool")
    specs = tmp_path / "specs"
    copy_request_processor(specs)
    boto("ecs").create_cluster(clusterName="main")
    boto("ecs").create_service(cluster="main", serviceName="request-processor", desiredCount=1)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    controller = ControllerProcess(specs, tmp_path / "state", cli_env, "--resync-interval", "2s",
                                   "--api-token-file", str(token))
    try:
        api = controller.url
        prometheus_url = prometheus(api.removeprefix("http://"))
        # Prometheus applies discovered targets up to 5 s after start; the cycle must come after its first
        # scrape, or a counter already at 1 in the first sample shows no increase.
        wait_until(lambda: bool(query(prometheus_url, 'up{job="trimtab"} == 1')), "first scrape")
        controller.wait_for(lambda: len(controller.ready_keys()) == REQUEST_PROCESSOR_SPECS, what="created")
        # Added only now: at start, a controller pointed at moto seeds the ECS services its scalable
        # targets name (controller/cli/session.py), and this one must stay missing to fail.
        write_specs(specs, {"failing.yaml": """
            apiVersion: trimtab.io/v1alpha1
            kind: ScalableTarget
            metadata: {name: no-such-service}
            spec:
              ecsService: {cluster: missing, service: nowhere}
              minCapacity: 1
              maxCapacity: 2
            """})
        sqs = boto("sqs")
        url = sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "9"})
        controller.wait_for(lambda: any(e["event"] == "DriftCorrected" for e in controller.events()),
                            what="drift corrected")
        assert http("POST", f"{api}/api/v1/resync", b'{"items": ["Queue/orders"]}', TOKEN)[0] == 202

        metrics_text = http("GET", f"{api}/metrics")[1]
        checked = subprocess.run([promtool, "check", "metrics"], input=metrics_text, text=True,
                                 capture_output=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr

        # The cycle itself must be visible too, not just series that exist.
        queues = sum(key.startswith("Queue/") for key in load_directory(specs).graph.records)
        cycle = [
            ("drift corrected", 'increase(trimtab_drift_corrections_total{kind="Queue"}[5m]) > 0'),
            ("failing spec", 'controller_runtime_reconcile_errors_total{controller="ScalableTarget"} > 0'),
            ("created and ready", f'trimtab_resources{{kind="Queue", condition="Ready", status="True"}} == {queues}'),
        ]
        deadline = time.monotonic() + 60
        empty: list[str] = []
        while time.monotonic() < deadline:
            empty = [f"{title}: {expr}" for title, expr in dashboard_queries() + cycle
                     if not query(prometheus_url, expr)]
            if not empty:
                break
            time.sleep(1)
        assert not empty, "queries with no data:\n" + "\n".join(empty)
    finally:
        controller.kill()
