"""`python -m bench --soak MINUTES`: N managed resources under continuous churn, watched for leaks.

Every second one spec is edited (a queue's visibility timeout, cycling through the units); every
5 seconds one queue drifts out of band; every 30 seconds a spec file is added or the last added one
is removed (a create, then a prune). trimtab runs with a 1-minute resync, so drift checks never stop.
Every 10 seconds the harness samples RSS, the asyncio task count (`trimtab_asyncio_tasks`) and open
file descriptors (`process_open_fds`: sockets included). Judged after a warm-up of a fifth of the run:
RSS growth under 10%, a flat task count, a flat descriptor count, and no unclosed-resource warning in
the log when the controller stops. At the end every edit must be live in AWS.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench.controller import Controller, progress, wait_for
from bench.workload import ENVELOPE, write_workload
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator

SAMPLE_EVERY = 10  # seconds (one tick is one second)
EDITED_LINE = "visibilityTimeoutSeconds: 31\n"  # each unit's u*-work-1 queue
# What Python and aiohttp print for a resource nobody closed, and asyncio for a task nobody awaited.
LEAK_MARKERS = ("Unclosed", "ResourceWarning", "Task was destroyed but it is pending")


def _sample(controller: Controller, elapsed: float) -> dict[str, float]:
    return {"t": round(elapsed), "rss_mib": round(controller.rss_mib(), 1),
            "tasks": controller.gauge("trimtab_asyncio_tasks"), "fds": controller.gauge("process_open_fds")}


def _extra_spec(n: int) -> str:
    return ENVELOPE.format(kind="Queue", name=f"soak-extra-{n}") + "  delaySeconds: 1\n"


def run_soak(resources: int, minutes: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work, LocalEmulator() as emulator:
        root = Path(work)
        specs = root / "specs"
        write_workload(specs, resources)
        units = sorted(specs.glob("unit-*.yaml"))
        originals = {path: path.read_text() for path in units}
        total = len(units) * 20
        access, secret = EMULATOR_CREDENTIALS
        sqs = boto3.client("sqs", endpoint_url=emulator.url, region_name="us-east-1",
                           aws_access_key_id=access, aws_secret_access_key=secret)
        env = dict(os.environ, AWS_REGION="us-east-1", PYTHONWARNINGS="always::ResourceWarning")
        controller = Controller(specs, root / "state", emulator.url, env, resync_interval="1m")
        samples: list[dict[str, float]] = []
        last_value: dict[str, str] = {}
        try:
            print(f"soak: cold converge of {total} resources ...", file=sys.stderr, flush=True)
            wait_for(lambda: controller.ready() == total, 3600, "cold converge", poll=0.25)
            started = time.monotonic()
            tick = 0
            while (elapsed := time.monotonic() - started) < minutes * 60:
                u = tick % len(units)
                value = str(100 + tick % 200)
                units[u].write_text(originals[units[u]].replace(EDITED_LINE, f"visibilityTimeoutSeconds: {value}\n"))
                last_value[f"u{u:05d}-work-1"] = value
                if tick % 5 == 0:
                    drifted = f"u{(tick // 5) % len(units):05d}-work-2"
                    url = sqs.get_queue_url(QueueName=drifted)["QueueUrl"]
                    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
                if tick % 30 == 0:
                    extra = tick // 30
                    (specs / f"soak-extra-{extra - 1}.yaml").unlink(missing_ok=True)
                    (specs / f"soak-extra-{extra}.yaml").write_text(_extra_spec(extra))
                if tick % SAMPLE_EVERY == 0:
                    samples.append(_sample(controller, elapsed))
                    progress("soak", **samples[-1])
                tick += 1
                time.sleep(max(0.0, started + tick - time.monotonic()))
            settled = wait_for(lambda: all(
                sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"],
                                         AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == v
                for name, v in last_value.items()), 600, "the last edits applied", poll=1.0)
            samples.append(_sample(controller, time.monotonic() - started))
        finally:
            log = controller.stop()
    return summarise(samples, minutes, total, settled, log)


def summarise(samples: list[dict[str, float]], minutes: float, total: int, settled: float, log: str,
              ) -> dict[str, Any]:
    warm = [s for s in samples if s["t"] >= minutes * 60 / 5]
    base = warm[0]
    leaks = [line for line in log.splitlines() if any(marker in line for marker in LEAK_MARKERS)]
    events = Counter(json.loads(line).get("event") for line in log.splitlines() if line.startswith("{"))
    return {
        "resources": total, "minutes": minutes, "samples": samples,
        "rss_after_warmup_mib": base["rss_mib"], "rss_max_mib": max(s["rss_mib"] for s in warm),
        "rss_final_mib": warm[-1]["rss_mib"],
        "rss_growth_percent": round(100 * (max(s["rss_mib"] for s in warm) - base["rss_mib"]) / base["rss_mib"], 1),
        "tasks_range": [min(s["tasks"] for s in warm), max(s["tasks"] for s in warm)],
        "fds_range": [min(s["fds"] for s in warm), max(s["fds"] for s in warm)],
        "last_edits_live_after_seconds": round(settled, 1),
        "leak_warnings": leaks[:20],
        "events": {name: events[name] for name in ("Created", "Updated", "DriftCorrected", "Deleted", "Error")},
    }


def markdown(result: dict[str, Any], machine: str) -> str:
    return (
        f"\n### Soak: N = {result['resources']}, {result['minutes']} minutes ({time.strftime('%Y-%m-%d')}, "
        f"{machine})\n\n| measure | result | goal |\n|---|---|---|\n"
        f"| RSS after warm-up / max / final | {result['rss_after_warmup_mib']} / {result['rss_max_mib']} / "
        f"{result['rss_final_mib']} MiB: growth {result['rss_growth_percent']}% | < 10% |\n"
        f"| asyncio tasks after warm-up (min-max) | {result['tasks_range'][0]:.0f}-{result['tasks_range'][1]:.0f}"
        " | stable |\n"
        f"| open descriptors after warm-up (min-max) | {result['fds_range'][0]:.0f}-{result['fds_range'][1]:.0f}"
        " | stable |\n"
        f"| unclosed-resource warnings at shutdown | {len(result['leak_warnings'])} | 0 |\n"
        f"| last edits live in AWS after churn stopped | {result['last_edits_live_after_seconds']} s | |\n"
        f"| work done (log events) | {result['events']} | no Error |\n"
    )
