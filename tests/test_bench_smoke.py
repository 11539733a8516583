"""The benchmark harness at a smoke size: it runs end to end, and the steady state makes no mutating
call (a behaviour, not a timing: times are only reported, in docs/benchmarks.md). One run: the
median over repeats is for `make bench`, and CI only needs to know the harness still works."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_benchmark_runs_and_a_steady_resync_changes_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--resources", "40", "--repeat", "1", "--no-docs"],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout)
    assert measured["resources"] == 40 and measured["repeat"] == 1 and len(measured["runs"]) == 1
    run = measured["runs"][0]
    assert run["steady"]["mutating"] == 0
    assert run["steady"]["reads"] > 0 and run["steady"]["floor_skipped"] == []
    assert run["change_latency"]["edits"] == 20
    # Every phase reports both processes' CPU; trimtab and moto both worked in the cold converge.
    assert set(run["cpu"]) == {"cold", "steady", "drift", "change", "steady_floor", "cold_floor"}
    assert run["cpu"]["cold"]["trimtab_cpu_s"] > 0 and run["cpu"]["cold"]["emulator_cpu_s"] > 0
    assert run["cpu"]["steady_floor"]["client_cpu_s"] > 0
    ratio = measured["summary"]["measures"]["steady.ratio_to_floor"]
    assert ratio["min"] <= ratio["median"] <= ratio["max"]


def test_the_full_mix_converges_and_a_steady_resync_changes_nothing() -> None:
    # One unit of the full mix: every part added since the default mix (topics, high-throughput FIFO,
    # bucket sub-resources, scheduled actions, ...) reads back in sync, so its steady resync writes nothing.
    result = subprocess.run([sys.executable, "-m", "bench", "--mix", "full", "--resources", "1", "--repeat", "1",
                             "--no-docs"], capture_output=True, text=True, cwd=REPO, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    steady = json.loads(result.stdout)["runs"][0]["steady"]
    assert steady["mutating_by_operation"] == {} and steady["mutating"] == 0
    assert steady["floor_skipped"] == [], "every steady read of the full mix is replayed by the floor"
