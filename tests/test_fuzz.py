"""Fuzzing the spec loader and validator with Hypothesis: whatever the bytes, a list of errors with a
file and a line comes back, never an exception. (Alias bombs, deep nesting and huge files are the
hand-written cases of test_loader_limits.py.)"""

from __future__ import annotations

import string
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.kinds.registry import MODELS
from controller.sources.desired import parse_files

FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["", "Queue", "Alarm", "5m", "-1", "1e309", "~"]))
keys = st.one_of(st.text(string.ascii_letters, min_size=1, max_size=20),
                 st.sampled_from(["name", "queueRef", "metric", "metrics", "spec", "tags", "deadLetterQueue",
                                  "visibilityTimeoutSeconds", "threshold", "period", "dimensions", "adopt"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


def spec_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Documents shaped like specs (right envelope, random body): they reach the validators."""
    return st.fixed_dictionaries({
        "apiVersion": st.sampled_from(["trimtab.io/v1alpha1", "trimtab.io/v2", "v1"]),
        "kind": st.sampled_from([*MODELS, "Nope"]),
        "metadata": st.fixed_dictionaries({"name": st.one_of(st.text(max_size=70), st.integers())},
                                          optional={"annotations": st.dictionaries(keys, scalars, max_size=3)}),
        "spec": st.one_of(st.dictionaries(keys, values, max_size=6), values),
    })


def _check(files: dict[str, bytes]) -> None:
    state = parse_files(files)  # must not raise
    for error in state.errors:
        assert error.file in files and error.line >= 1 and error.message


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check({"fuzz.yaml": data})


@FUZZ
@given(st.lists(spec_documents(), min_size=1, max_size=4))
def test_spec_shaped_documents_never_raise(documents: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False)
    _check({"specs.yaml": text.encode(), "other.yaml": b"apiVersion: trimtab.io/v1alpha1\nkind: Queue\n"})
