"""The benchmark harness: `python -m bench --resources N` (see docs/benchmarks.md)."""
