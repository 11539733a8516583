"""`python -m bench --resources N`: trimtab against a local moto server, measured phase by phase.

Cold converge, steady-state resync (calls per resource by service; mutating calls must be 0), drift
repair, change latency (p50/p95 over 20 edits), RSS, and two floors measured in the same run by a
bare aiobotocore loop against the same moto server: the steady state's reads, and the cold
converge's calls on fresh names (bench/cold_floor.py). Each is reported as trimtab's time divided by
the floor's. For every phase and floor, the CPU seconds (user + system, /proc) of trimtab, of the
emulator and of the bare loop say which side was busy: moto serves one request at a time, so an
emulator share of a core well below 1 means the endpoint sat idle.

The floors vary by tens of percent between runs on a shared machine, so `--repeat N` runs the whole
comparison N times, each on a fresh emulator, and reports the median and spread (min-max) of each
ratio and of each measure. `--trace` runs trimtab under bench/trace.py and adds, per phase, how many
AWS calls were on the wire over time and what the workers did (bench/dispatch.py); `--trimtab-args`
and `--override` measure a parameter change without editing controller/.
`--soak MINUTES` runs the leak watch instead (bench/soak.py); `--events`, drift corrected on change
events with a one-hour resync, and the read rates of events and polling (bench/events.py).

Prints JSON; unless --no-docs, appends a markdown section with the machine's facts to
docs/benchmarks.md. Compare ratios within one run: absolute times vary between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench import dispatch
from bench.cold_floor import measure_cold_floor
from bench.controller import REPO, Controller, progress, wait_for
from bench.cpu import Processes, Usage, child_pid
from bench.events import markdown as events_markdown
from bench.events import run_events
from bench.floor import measure_floor
from bench.soak import markdown as soak_markdown
from bench.soak import run_soak
from bench.trace import OVERRIDE_ENV, OVERRIDES, TRACE_ENV
from bench.workload import MIXES, unit_size, write_workload
from controller.aws import is_mutating
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator

EDITS, DRIFTED = 20, 20
WORKERS = 16  # trimtab's default --workers: the worker states of a trace are shares of these
PHASES = {"cold": "cold converge", "steady": "steady resync", "drift": "drift repair", "change": "change latency",
          "cold_floor": "cold-converge floor", "steady_floor": "steady floor"}


@dataclass(frozen=True)
class Options:
    """How trimtab is run: the workload's mix, extra flags, overrides through bench/trace.py, and whether to trace."""

    mix: str = "default"  # bench/workload.py MIXES
    trimtab_args: tuple[str, ...] = ()
    overrides: str = ""
    trace: bool = False
    trace_dir: Path | None = None  # where each run's raw trace is kept, for a closer look

    @property
    def workers(self) -> int:
        """trimtab's worker count: --workers from the extra flags, else its default."""
        args = list(self.trimtab_args)
        for index, arg in enumerate(args):
            if arg == "--workers" and index + 1 < len(args):
                return int(args[index + 1])
            if arg.startswith("--workers="):
                return int(arg.split("=", 1)[1])
        return WORKERS

    def describe(self) -> str:
        parts = [f"{self.mix} mix"] if self.mix != "default" else []
        parts += [f"trimtab flags `{shlex.join(self.trimtab_args)}`"] if self.trimtab_args else []
        parts += [f"overrides `{self.overrides}`"] if self.overrides else []
        parts += ["traced (bench/trace.py)"] if self.trace else []
        return "; ".join(parts)


@dataclass
class Phases:
    """Each phase's wall and CPU time, and its monotonic window for the trace."""

    processes: Processes
    usage: dict[str, Usage] = field(default_factory=dict)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[Usage]:
        started = time.monotonic()
        with self.processes.measure() as usage:
            yield usage
        self.usage[name] = usage
        self.windows[name] = (started, time.monotonic())


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


@dataclass
class Measured:
    """What trimtab's phases counted, for the floors to replay and the report to show."""

    cold: Counter[tuple[str, str]]
    reads: Counter[tuple[str, str]]
    mutating: Counter[tuple[str, str]]
    drifted: list[str]
    latencies: list[float]
    rss_mib: float


def run(resources: int, options: Options) -> dict[str, Any]:
    """One full comparison on a fresh emulator: trimtab's phases, then both floors on the same moto."""
    with tempfile.TemporaryDirectory() as work, LocalEmulator() as emulator:
        root = Path(work)
        access, secret = EMULATOR_CREDENTIALS
        aws = {"endpoint_url": emulator.url, "region_name": "us-east-1", "aws_access_key_id": access,
               "aws_secret_access_key": secret}
        env = dict(os.environ, AWS_REGION="us-east-1")
        trace_path = root / "trace.json"
        if options.trace:
            env[TRACE_ENV] = str(trace_path)
        if options.overrides:
            env[OVERRIDE_ENV] = options.overrides
        services = write_workload(root / "specs", resources, options.mix)
        total = len(services) * unit_size(options.mix)
        moto = child_pid("moto.server")
        phases = Phases(Processes({"emulator": moto}))
        with phases.phase("cold"):  # from process start: trimtab's CPU counts from 0, all of it here
            controller = Controller(root / "specs", root / "state", emulator.url, env,
                                    extra_args=options.trimtab_args, wrapped=options.trace or bool(options.overrides))
            phases.processes.pids["trimtab"] = controller.process.pid
            try:
                print(f"cold converge of {total} resources ...", file=sys.stderr)
                wait_for(lambda: controller.ready() == total, 3600, "cold converge", poll=0.25)
            except BaseException:
                controller.stop()
                raise
        sqs = boto3.client("sqs", **aws)
        try:
            measured = _trimtab_phases(controller, phases, len(services), total, root / "specs", sqs=sqs)
        finally:
            controller.stop()

        floor_processes = Processes({"client": os.getpid(), "emulator": moto})
        print("floor ...", file=sys.stderr)
        targets = [f"service/{cluster}/{service}" for cluster, service in services]
        floor, concurrency, skipped = measure_floor(dict(measured.reads), aws, targets, floor_processes)
        phases.usage["steady_floor"] = floor
        progress("floor", seconds=round(floor.seconds, 2), concurrency=concurrency, **floor.report())
        print("cold-converge floor ...", file=sys.stderr)
        queue_base = sqs.get_queue_url(QueueName="u00000-work-1")["QueueUrl"].rsplit("/", 1)[0]
        cold_floor, cold_skipped = measure_cold_floor(dict(measured.cold), aws, queue_base, targets, concurrency,
                                                      processes=floor_processes)
        phases.usage["cold_floor"] = cold_floor
        progress("cold floor", seconds=round(cold_floor.seconds, 2), **cold_floor.report())
        traced = _dispatch(trace_path, phases, options) if options.trace else None
    latencies = sorted(measured.latencies)
    usage = phases.usage
    read_total = sum(measured.reads.values())
    result: dict[str, Any] = {
        "resources": total,
        "cold": {"seconds": round(usage["cold"].seconds, 2), "calls": sum(measured.cold.values()),
                 "calls_by_operation": {f"{s}:{o}": n for (s, o), n in sorted(measured.cold.items())},
                 "floor_seconds": round(cold_floor.seconds, 2),
                 "ratio_to_floor": round(usage["cold"].seconds / cold_floor.seconds, 2),
                 "floor_skipped": cold_skipped},
        "steady": {"seconds": round(usage["steady"].seconds, 2), "reads": read_total,
                   "mutating": sum(measured.mutating.values()),
                   "mutating_by_operation": {f"{s}:{o}": n for (s, o), n in sorted(measured.mutating.items())},
                   "reads_per_resource": round(read_total / total, 2),
                   "reads_by_service": _by_service(measured.reads),
                   "floor_seconds": round(floor.seconds, 2), "floor_concurrency": concurrency,
                   "ratio_to_floor": round(usage["steady"].seconds / floor.seconds, 2), "floor_skipped": skipped},
        "drift": {"resources": len(measured.drifted),
                  "seconds_after_resync_request": round(usage["drift"].seconds, 2)},
        "change_latency": {"edits": EDITS, "p50_ms": round(latencies[len(latencies) // 2] * 1000),
                           "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000)},
        "rss_mib": round(measured.rss_mib, 1),
        "cpu": {name: {"seconds": round(phase.seconds, 2), **phase.report()} for name, phase in usage.items()},
    }
    if traced is not None:
        result["dispatch"] = traced
    return result


def _trimtab_phases(controller: Controller, phases: Phases, units: int, total: int, specs: Path, *,
                    sqs: Any) -> Measured:
    """The phases after the cold converge, on the running controller. The emulator CPU of the drift and
    change-latency phases includes the harness's own polling of the queues (every 0.1 s and 5 ms)."""
    # Without the emulator's ECS seeding (--emulator creates the services targets point at).
    cold = Counter({key: n for key, n in controller.calls().items() if key[0] != "ecs"})
    progress("cold", seconds=round(phases.usage["cold"].seconds, 2), calls=sum(cold.values()),
             **phases.usage["cold"].report())

    print("steady-state resync ...", file=sys.stderr)
    before, reconciled = controller.calls(), controller.reconciles()
    with phases.phase("steady"):
        controller.resync()
        wait_for(lambda: controller.reconciles() - reconciled >= total, 3600, "steady resync", poll=0.25)
    steady = controller.calls() - before
    reads = Counter({key: count for key, count in steady.items() if not is_mutating(key[1])})
    mutating = Counter({key: count for key, count in steady.items() if is_mutating(key[1])})
    progress("steady", seconds=round(phases.usage["steady"].seconds, 2), reads=sum(reads.values()),
             mutating=sum(mutating.values()), **phases.usage["steady"].report())

    print(f"drift repair of {DRIFTED} queues ...", file=sys.stderr)
    drifted = [f"u{u:05d}-work-0" for u in range(min(DRIFTED, units))]
    urls = [sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in drifted]
    for url in urls:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    with phases.phase("drift"):
        controller.resync([f"Queue/{name}" for name in drifted])  # as their periodic resync would
        wait_for(lambda: all(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
            "Attributes"]["VisibilityTimeout"] == "30" for url in urls), 3600, "drift repair")

    print(f"change latency over {EDITS} edits ...", file=sys.stderr)
    with phases.phase("change"):
        latencies = _change_latency(specs / "unit-00000.yaml", sqs)
    rss = controller.rss_mib()
    progress("drift, change latency, memory", drift_seconds=round(phases.usage["drift"].seconds, 2),
             latencies_ms=sorted(round(latency * 1000) for latency in latencies), rss_mib=round(rss, 1))
    return Measured(cold, reads, mutating, drifted, latencies, rss)


def _dispatch(path: Path, phases: Phases, options: Options) -> dict[str, Any]:
    """The trace of trimtab's phases (written when it stopped), summarised per phase; kept in full
    in --trace-dir with the phases' windows, for questions the summary does not answer."""
    trace = dispatch.load(path)
    if options.trace_dir is not None:
        options.trace_dir.mkdir(parents=True, exist_ok=True)
        kept = options.trace_dir / f"trace-{time.strftime('%Y%m%d-%H%M%S')}.json"
        kept.write_text(json.dumps({"trace": trace, "windows": phases.windows}))
    return {name: dispatch.summarise(trace, start, end, options.workers)
            for name, (start, end) in phases.windows.items()}


# ---- repeats -------------------------------------------------------------------------------------------

# (label, path in a run's result, goal) of every measure summarised over the runs; ratios first.
MEASURES: list[tuple[str, tuple[str, ...], str]] = [
    ("cold converge / its floor", ("cold", "ratio_to_floor"), "<= 1.5 at 1,000"),
    ("steady resync / its floor", ("steady", "ratio_to_floor"), "<= 1.3"),
    ("cold converge (process start to all Ready), s", ("cold", "seconds"), ""),
    ("cold-converge floor (same calls on fresh names, bare aiobotocore, two waves), s", ("cold", "floor_seconds"), ""),
    ("steady resync, s", ("steady", "seconds"), ""),
    ("steady floor (same reads, bare aiobotocore, best concurrency), s", ("steady", "floor_seconds"), ""),
    ("steady reads per resource", ("steady", "reads_per_resource"), "<= 1.6"),
    ("steady mutating calls", ("steady", "mutating"), "0"),
    (f"drift repair ({DRIFTED} queues), s from their resync to all corrected",
     ("drift", "seconds_after_resync_request"), ""),
    (f"change latency p50 ({EDITS} edits), ms", ("change_latency", "p50_ms"), ""),
    (f"change latency p95 ({EDITS} edits), ms", ("change_latency", "p95_ms"), "< 1,000 at 1,000"),
    ("RSS, MiB", ("rss_mib",), "< 150 at 10,000"),
]


def _get(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = result
    for key in path:
        value = value[key]
    return value


def spread(values: list[float]) -> dict[str, Any]:
    """Median, min and max of one measure over the runs (and the values, in run order)."""
    return {"median": round(statistics.median(values), 2), "min": min(values), "max": max(values), "values": values}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per measure and per phase's CPU, the median and spread over the runs."""
    measures = {".".join(path): spread([_get(run, path) for run in runs]) for _, path, _ in MEASURES}
    cpu: dict[str, dict[str, Any]] = {}
    for phase in runs[0]["cpu"]:
        cpu[phase] = {key: spread([run["cpu"][phase][key] for run in runs]) for key in runs[0]["cpu"][phase]}
    return {"measures": measures, "cpu": cpu}


# ---- the report ----------------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def commit() -> str:
    """The commit measured, and whether controller/ differed from it (others edit the same tree). Read-only git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "controller"], cwd=REPO,
                               check=False).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {head}" + (" with uncommitted changes in controller/" if dirty else "")


def _range(values: dict[str, Any]) -> str:
    return f"{values['min']}-{values['max']}" if values["min"] != values["max"] else f"{values['min']}"


def markdown(report: dict[str, Any], options: Options) -> str:
    runs, summary = report["runs"], report["summary"]
    first = runs[0]
    how = f"; {options.describe()}" if options.describe() else ""
    lines = [
        f"\n### N = {report['resources']}, {len(runs)} run{'s' if len(runs) > 1 else ''} "
        f"({time.strftime('%Y-%m-%d')}, {commit()}, {machine()}{how})\n",
        f"| measure | median | min-max over {len(runs)} | goal |", "|---|---|---|---|",
    ]
    for label, path, goal in MEASURES:
        values = summary["measures"][".".join(path)]
        lines.append(f"| {label} | {values['median']} | {_range(values)} | {goal} |")
    lines += [
        f"| steady reads by service (run 1) | {first['steady']['reads_by_service']} | | |",
        f"| cold-converge AWS calls (run 1) | {first['cold']['calls']} | | |",
        f"| steady floor's concurrency, per run | {[run['steady']['floor_concurrency'] for run in runs]} | | |",
        "",
        "CPU seconds per phase (medians; in parentheses, CPU / wall: 1.0 is one core kept busy; moto serves",
        "one request at a time, so an emulator share well below 1 is an idle endpoint; the floors' client is",
        "the bare aiobotocore loop):",
        "",
        "| phase | wall s | trimtab CPU s | emulator CPU s | bare loop CPU s |", "|---|---|---|---|---|",
    ]
    for phase, cpu in summary["cpu"].items():
        cells = [f"{cpu[f'{role}_cpu_s']['median']} ({cpu[f'{role}_cpu_share']['median']})"
                 if f"{role}_cpu_s" in cpu else "" for role in ("trimtab", "emulator", "client")]
        lines.append(f"| {PHASES[phase]} | {cpu['seconds']['median']} | {' | '.join(cells)} |")
    if "dispatch" in first:
        lines += ["", "Dispatch (run 1, bench/dispatch.py): share of the phase with no AWS call on the wire, mean "
                  f"calls on the wire, mean of the {options.workers} workers waiting for their service's slot:", "",
                  "| phase | no call on the wire | calls on the wire (by service) | workers waiting for a slot |",
                  "|---|---|---|---|"]
        for phase, traced in first["dispatch"].items():
            lines.append(f"| {PHASES[phase]} | {traced['wire_idle_share']} | {traced['calls_mean']['wire']} "
                         f"({traced['wire_mean_by_service']}) | {traced['workers_mean']['slot']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1000,
                        help="N, rounded up to whole units of the mix (20 specs in the default mix; default: 1000)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="default",
                        help="the workload (bench/workload.py): default, the mix the read goals are set on; full, "
                             "the default unit plus every part added since (topics, FIFO, bucket sub-resources, "
                             "scheduled actions, ...), to report their reads per resource")
    parser.add_argument("--repeat", type=int, default=3, metavar="RUNS",
                        help="full comparisons to run, each on a fresh emulator; the report gives the median and "
                             "min-max of each measure (default: %(default)s)")
    parser.add_argument("--no-docs", action="store_true", help="do not append the result to docs/benchmarks.md")
    parser.add_argument("--trimtab-args", default="", metavar="ARGS",
                        help="extra flags for `trimtab run`, one shell-quoted string, e.g. '--aws-max-rate 1000'")
    parser.add_argument("--override", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter without a flag, set by bench/trace.py (diagnosis only; repeatable): "
                             + "; ".join(f"{name}: {what}" for name, what in OVERRIDES.items()))
    parser.add_argument("--trace", action="store_true",
                        help="trace trimtab's AWS calls and workers (bench/trace.py) and report, per phase, the "
                             "calls on the wire over time and what the workers did (bench/dispatch.py)")
    parser.add_argument("--trace-dir", type=Path, default=None, metavar="DIR",
                        help="with --trace: keep each run's raw trace and phase windows in DIR")
    parser.add_argument("--events", action="store_true",
                        help="instead of the phases: drift corrected on CloudTrail change events with a one-hour "
                             "resync (p50/p95 per kind), and the steady read rate with events and a 30-minute "
                             "resync beside 5-minute polling (see bench/events.py)")
    parser.add_argument("--soak", type=float, metavar="MINUTES", default=None,
                        help="instead of the phases: MINUTES of continuous spec churn and drift at N, watching RSS, "
                             "asyncio tasks, open descriptors and unclosed-resource warnings (see bench/soak.py)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.soak is not None:
        result = run_soak(args.resources, args.soak)
        text = soak_markdown(result, machine())
    elif args.events:
        result = run_events(args.resources)
        text = events_markdown(result, f"{time.strftime('%Y-%m-%d')}, {commit()}, {machine()}")
    else:
        options = Options(args.mix, tuple(shlex.split(args.trimtab_args)), ",".join(args.override),
                          args.trace or args.trace_dir is not None, args.trace_dir)
        runs = []
        for index in range(args.repeat):
            print(f"run {index + 1} of {args.repeat} ...", file=sys.stderr, flush=True)
            runs.append(run(args.resources, options))
        result = {"resources": runs[0]["resources"], "repeat": args.repeat, "options": options.describe(),
                  "summary": summarise(runs), "runs": runs}
        text = markdown(result, options)
    print(json.dumps(result, indent=2))
    if not args.no_docs:
        with (REPO / "docs" / "benchmarks.md").open("a") as docs:
            docs.write(text)


if __name__ == "__main__":
    main()
