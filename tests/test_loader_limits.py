"""Hostile or broken YAML is rejected quickly with a clear error, and never crashes the loader."""

from __future__ import annotations

from pathlib import Path

from controller.api.yamldoc import Limits, load_documents
from controller.sources.directory import load_directory, read_tree
from tests.helpers import write_specs

ALIAS_BOMB = """
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""


def test_alias_bomb_is_rejected() -> None:
    documents, errors = load_documents(ALIAS_BOMB, "bomb.yaml")
    assert documents == []
    (error,) = errors
    assert "alias bomb" in error.message and error.file == "bomb.yaml"


def test_deep_nesting_is_rejected() -> None:
    deep = "a: " + "[" * 200 + "]" * 200
    _, errors = load_documents(deep, "deep.yaml")
    assert errors and ("nesting" in errors[0].message)


def test_very_deep_nesting_does_not_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _, errors = load_documents(deep, "deeper.yaml")
    assert errors and errors[0].file == "deeper.yaml"


def test_oversized_file_is_rejected_without_reading_it_all(tmp_path: Path) -> None:
    limits = Limits(max_file_bytes=1000)
    (tmp_path / "big.yaml").write_text("# padding\n" * 10_000)
    files = read_tree(tmp_path, limits)
    assert len(files[next(iter(files))]) == limits.max_file_bytes + 1
    state = load_directory(tmp_path, limits)
    (error,) = state.errors
    assert "the limit is 1000" in error.message


def test_binary_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (error,) = load_directory(tmp_path).errors
    assert "not UTF-8" in error.message


def test_merge_keys_and_multi_documents_work(tmp_path: Path) -> None:
    write_specs(tmp_path, {"q.yml": """
        defaults: &defaults
          visibilityTimeoutSeconds: 90
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: one}
        spec:
          <<: {visibilityTimeoutSeconds: 90, delaySeconds: 5}
        ---
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: two}
        spec: {}
        """})
    state = load_directory(tmp_path)
    # The first document is not a spec; the empty document is skipped.
    assert [str(e.message) for e in state.errors] == ["apiVersion is required; expected trimtab.io/v1alpha1"]
    assert set(state.graph.records) == {"Queue/one", "Queue/two"}
    assert state.graph.records["Queue/one"].resource.spec.delay_seconds == 5  # type: ignore[attr-defined]


def test_hidden_folders_and_other_files_are_ignored(tmp_path: Path) -> None:
    write_specs(tmp_path, {
        ".git/config.yaml": "not: a spec",
        "README.md": "# docs",
        "q.yaml": "apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {name: q}\nspec: {}\n",
    })
    assert list(read_tree(tmp_path)) == [str(tmp_path / "q.yaml")]
