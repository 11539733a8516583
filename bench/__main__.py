"""`python -m bench --resources N`: trimtab against a local moto server, measured phase by phase.

Cold converge, steady-state resync (calls per resource by service; mutating calls must be 0), drift
repair, change latency (p50/p95 over 20 edits), RSS, and two floors measured in the same run by a
bare aiobotocore loop against the same moto server: the steady state's reads, and the cold
converge's calls on fresh names (bench/cold_floor.py). Each is reported as trimtab's time divided by
the floor's. `--soak MINUTES` runs the leak watch instead (bench/soak.py).
Prints JSON; unless --no-docs, appends a markdown section with the machine's facts to
docs/benchmarks.md. Compare ratios within one run: absolute times vary between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench.cold_floor import measure_cold_floor
from bench.controller import REPO, Controller, progress, wait_for
from bench.floor import measure_floor
from bench.soak import markdown as soak_markdown
from bench.soak import run_soak
from bench.workload import write_workload
from controller.aws import is_mutating
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator

EDITS, DRIFTED = 20, 20


def _by_service(counts: Counter[tuple[str, str]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for (service, _), count in counts.items():
        totals[service] += count
    return dict(totals)


def _change_latency(path: Path, sqs: Any) -> list[float]:
    """Seconds from writing an edited spec to the new value being visible in AWS, per edit."""
    original = path.read_text()
    url = sqs.get_queue_url(QueueName="u00000-work-1")["QueueUrl"]
    latencies = []
    for edit in range(EDITS):
        value = str(200 + edit)
        path.write_text(original.replace("visibilityTimeoutSeconds: 31\n", f"visibilityTimeoutSeconds: {value}\n"))
        latencies.append(wait_for(lambda v=value: sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == v,
            60, "edit applied", poll=0.005))
    return latencies


def run(resources: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work, LocalEmulator() as emulator:
        root = Path(work)
        access, secret = EMULATOR_CREDENTIALS
        options = {"endpoint_url": emulator.url, "region_name": "us-east-1", "aws_access_key_id": access,
                   "aws_secret_access_key": secret}
        env = dict(os.environ, AWS_REGION="us-east-1")
        services = write_workload(root / "specs", resources)
        total = len(list((root / "specs").glob("*.yaml"))) * 20
        started = time.perf_counter()
        controller = Controller(root / "specs", root / "state", emulator.url, env)
        try:
            print(f"cold converge of {total} resources ...", file=sys.stderr)
            wait_for(lambda: controller.ready() == total, 3600, "cold converge", poll=0.25)
            cold_seconds = time.perf_counter() - started
            # Without the emulator's ECS seeding (--emulator creates the services targets point at).
            cold = Counter({key: n for key, n in controller.calls().items() if key[0] != "ecs"})
            progress("cold", seconds=round(cold_seconds, 2), calls=sum(cold.values()))

            print("steady-state resync ...", file=sys.stderr)
            before, reconciled = controller.calls(), controller.reconciles()
            steady_started = time.perf_counter()
            controller.resync()
            wait_for(lambda: controller.reconciles() - reconciled >= total, 3600, "steady resync", poll=0.25)
            steady_seconds = time.perf_counter() - steady_started
            steady = controller.calls() - before
            reads = Counter({key: count for key, count in steady.items() if not is_mutating(key[1])})
            mutating = sum(count for key, count in steady.items() if is_mutating(key[1]))
            progress("steady", seconds=round(steady_seconds, 2), reads=sum(reads.values()), mutating=mutating)

            print(f"drift repair of {DRIFTED} queues ...", file=sys.stderr)
            sqs = boto3.client("sqs", **options)
            drifted = [f"u{u:05d}-work-0" for u in range(min(DRIFTED, total // 20))]
            urls = [sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in drifted]
            for url in urls:
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
            drift_started = time.perf_counter()
            controller.resync([f"Queue/{name}" for name in drifted])  # as their periodic resync would
            wait_for(lambda: all(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
                "Attributes"]["VisibilityTimeout"] == "30" for url in urls), 3600, "drift repair")
            drift_seconds = time.perf_counter() - drift_started

            print(f"change latency over {EDITS} edits ...", file=sys.stderr)
            latencies = _change_latency(root / "specs" / "unit-00000.yaml", sqs)
            rss = controller.rss_mib()
            progress("drift, change latency, memory", drift_seconds=round(drift_seconds, 2),
                     latencies_ms=sorted(round(latency * 1000) for latency in latencies), rss_mib=round(rss, 1))
        finally:
            controller.stop()

        print("floor ...", file=sys.stderr)
        targets = [f"service/{cluster}/{service}" for cluster, service in services]
        floor_seconds, floor_concurrency, skipped = measure_floor(dict(reads), options, targets)
        progress("floor", seconds=round(floor_seconds, 2), concurrency=floor_concurrency)
        print("cold-converge floor ...", file=sys.stderr)
        queue_base = sqs.get_queue_url(QueueName="u00000-work-1")["QueueUrl"].rsplit("/", 1)[0]
        cold_floor_seconds, cold_skipped = measure_cold_floor(dict(cold), options, queue_base, targets,
                                                              floor_concurrency)
    latencies.sort()
    read_total = sum(reads.values())
    return {
        "resources": total,
        "cold": {"seconds": round(cold_seconds, 2), "calls": sum(cold.values()),
                 "calls_by_operation": {f"{s}:{o}": n for (s, o), n in sorted(cold.items())},
                 "floor_seconds": round(cold_floor_seconds, 2),
                 "ratio_to_floor": round(cold_seconds / cold_floor_seconds, 2), "floor_skipped": cold_skipped},
        "steady": {"seconds": round(steady_seconds, 2), "reads": read_total, "mutating": mutating,
                   "reads_per_resource": round(read_total / total, 2), "reads_by_service": _by_service(reads),
                   "floor_seconds": round(floor_seconds, 2), "floor_concurrency": floor_concurrency,
                   "ratio_to_floor": round(steady_seconds / floor_seconds, 2), "floor_skipped": skipped},
        "drift": {"resources": len(drifted), "seconds_after_resync_request": round(drift_seconds, 2)},
        "change_latency": {"edits": EDITS, "p50_ms": round(latencies[len(latencies) // 2] * 1000),
                           "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000)},
        "rss_mib": round(rss, 1),
    }


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def markdown(result: dict[str, Any]) -> str:
    cold, steady, change = result["cold"], result["steady"], result["change_latency"]
    return (
        f"\n### N = {result['resources']} ({time.strftime('%Y-%m-%d')}, {machine()})\n\n"
        "| measure | result | goal |\n|---|---|---|\n"
        f"| cold converge (process start to all Ready) | {cold['seconds']} s, {cold['calls']} AWS calls | |\n"
        f"| cold-converge floor (same calls on fresh names, bare aiobotocore, two waves) | "
        f"{cold['floor_seconds']} s; trimtab / floor = {cold['ratio_to_floor']} | <= 1.5 at 1,000 |\n"
        f"| steady-state resync | {steady['seconds']} s, {steady['reads']} reads = {steady['reads_per_resource']}"
        f"/resource, {steady['mutating']} mutating | <= 1.6 reads/resource, 0 mutating |\n"
        f"| steady reads by service | {steady['reads_by_service']} | |\n"
        f"| floor (same reads, bare aiobotocore, concurrency {steady['floor_concurrency']}) | "
        f"{steady['floor_seconds']} s; trimtab / floor = {steady['ratio_to_floor']} | <= 1.3 |\n"
        f"| drift repair ({result['drift']['resources']} queues) | {result['drift']['seconds_after_resync_request']}"
        " s from their resync to all corrected | |\n"
        f"| change latency ({change['edits']} edits) | p50 {change['p50_ms']} ms, p95 {change['p95_ms']} ms | "
        "p95 < 1 s at 1,000 |\n"
        f"| RSS | {result['rss_mib']} MiB | < 150 MiB at 10,000 |\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1000, help="N, rounded up to units of 20 (default: 1000)")
    parser.add_argument("--no-docs", action="store_true", help="do not append the result to docs/benchmarks.md")
    parser.add_argument("--soak", type=float, metavar="MINUTES", default=None,
                        help="instead of the phases: MINUTES of continuous spec churn and drift at N, watching RSS, "
                             "asyncio tasks, open descriptors and unclosed-resource warnings (see bench/soak.py)")
    args = parser.parse_args()
    if args.soak is not None:
        result = run_soak(args.resources, args.soak)
        text = soak_markdown(result, machine())
    else:
        result = run(args.resources)
        text = markdown(result)
    print(json.dumps(result, indent=2))
    if not args.no_docs:
        with (REPO / "docs" / "benchmarks.md").open("a") as docs:
            docs.write(text)


if __name__ == "__main__":
    main()
