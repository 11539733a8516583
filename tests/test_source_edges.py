"""Edges of the directory source: symlinks that leave the root are spec errors naming the file (and
are never read), symlinks inside it are read, and a tree whose every file is empty is a SourceError
like a tree with no files, so the last good revision stays live and nothing is pruned."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from controller.sources.base import SourceError
from controller.sources.directory import DirectorySource, load_directory, read_tree
from tests.test_api import http
from tests.test_gitops import queue


def _errors_for(state_errors: list[Any], link: Path) -> list[str]:
    return [error.message for error in state_errors if error.file == str(link)]


def test_a_symlink_out_of_the_root_is_a_spec_error_naming_the_file_and_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere" / "secret.yaml"
    outside.parent.mkdir()
    outside.write_text(queue("outside"))  # a valid spec: were the link followed, it would load
    root = tmp_path / "specs"
    root.mkdir()
    (root / "orders.yaml").write_text(queue("orders"))
    link = root / "sneaky.yaml"
    link.symlink_to(outside)

    state = load_directory(root)
    assert set(state.graph.records) == {"Queue/orders"}  # the others still load; the link is not followed
    (message,) = _errors_for(state.errors, link)
    monkeypatch.chdir(tmp_path)  # paths show relative to the working directory: the link's own, not its target's
    assert [error.file for error in load_directory(root).errors] == ["specs/sneaky.yaml"]
    assert f"symlink to {outside}" in message and "outside the source root" in message
    assert not state.complete  # an incomplete revision prunes nothing

    with pytest.raises(SourceError, match=r"sneaky\.yaml"):  # asked for files alone, it is an error too
        read_tree(root)

    # Removing the link is a new revision (its error was part of the old one).
    link.unlink()
    assert load_directory(root).revision != state.revision


def test_dangling_and_looping_symlinks_are_errors_not_crashes(tmp_path: Path) -> None:
    root = tmp_path / "specs"
    root.mkdir()
    (root / "orders.yaml").write_text(queue("orders"))
    dangling = root / "gone.yaml"
    dangling.symlink_to(tmp_path / "nowhere" / "gone.yaml")
    loop = root / "loop.yaml"
    loop.symlink_to(root / "loop.yaml")
    state = load_directory(root)
    assert "outside the source root" in _errors_for(state.errors, dangling)[0]
    assert "cannot be resolved" in _errors_for(state.errors, loop)[0]
    assert set(state.graph.records) == {"Queue/orders"}


def test_symlinks_inside_the_root_are_read_as_in_a_configmap_volume(tmp_path: Path) -> None:
    # Kubernetes mounts a ConfigMap as root/NAME -> ..data/NAME, ..data -> ..<timestamp>/ (hidden folders).
    root = tmp_path / "specs"
    version = root / "..2026_01_01_00_00_00.000000001"
    version.mkdir(parents=True)
    (version / "orders.yaml").write_text(queue("orders"))
    (root / "..data").symlink_to(version.name)
    (root / "orders.yaml").symlink_to("..data/orders.yaml")
    # And a root that is itself reached through a symlink.
    through = tmp_path / "current"
    through.symlink_to(root)
    for path in (root, through):
        state = load_directory(path)
        assert state.complete and set(state.graph.records) == {"Queue/orders"}


@pytest.mark.parametrize("contents", [
    [""],
    ["", "\n\n  \n"],
    ["# all specs moved elsewhere\n", "---\n---\n", "--- # nothing\n...\n"],
], ids=["one-empty", "blank", "comments-and-separators"])
async def test_a_tree_of_empty_files_is_an_error_like_an_empty_tree(tmp_path: Path, contents: list[str]) -> None:
    for index, text in enumerate(contents):
        (tmp_path / f"file{index}.yaml").write_text(text)
    with pytest.raises(SourceError, match=r"no specs: every \.yaml or \.yml file is empty"):
        load_directory(tmp_path)

    source = DirectorySource(tmp_path)  # what the controller reads: it reports the failure
    with pytest.raises(SourceError):
        await source.load()
    assert source.fetches.error is not None and "no specs" in source.fetches.error

    (tmp_path / "file0.yaml").write_text(queue("orders"))  # one spec is enough
    assert set((await source.load()).graph.records) == {"Queue/orders"}


def test_one_invalid_file_among_empty_ones_is_a_spec_error_not_an_empty_source(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    state = load_directory(tmp_path)  # reported as the spec error it is; incomplete, so nothing is pruned
    assert not state.complete and not state.graph.records


def test_truncating_every_file_of_a_running_controller_prunes_nothing(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("orders", "audit"):
        (specs / f"{name}.yaml").write_text(queue(name))
    controller = controllers(specs, "--resync-interval", "10m")
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/orders", "Queue/audit"}, what="converged")
    url = controller.url
    live = http("GET", f"{url}/api/v1/source")[1]["revision"]

    for path in specs.iterdir():
        os.truncate(path, 0)
    controller.wait_for(lambda: any(e["event"] == "SourceError" for e in controller.events()), what="source error")
    # The SourceError is the outcome of reading the truncated tree: the revision it would have replaced
    # stays live, so there was nothing to prune from.
    (error,) = [e for e in controller.events() if e["event"] == "SourceError"]
    assert "no specs" in error["message"] and error["revision"] == live
    assert not any(e["event"] in ("Deleted", "PruneHeld", "SourceChanged") for e in controller.events())
    source = http("GET", f"{url}/api/v1/source")[1]
    assert source["revision"] == live and "no specs" in source["fetchError"]
    queues = {url.rsplit("/", 1)[-1] for url in boto("sqs").list_queues().get("QueueUrls", [])}
    assert {"orders", "audit"} <= queues
    assert controller.terminate() == 0
