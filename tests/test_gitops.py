"""`trimtab run` following a real git remote: commits, reverts, force-pushes, bad commits, mass
deletions, fetch failures, and credentials that never leak (over file:// and over HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.controller_process import ControllerProcess
from tests.git_remote import GitHttpServer, GitRepo
from tests.test_api import TOKEN, http

GIT_TOKEN = "ghp_s3cretGitToken0123456789"  # a test credential that must never be shown
FAST_POLL = ("--git-poll-interval", "1s", "--resync-interval", "10m")


def queue(name: str, visibility: int = 30) -> str:
    return (f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: {name}}}\n"
            f"spec: {{visibilityTimeoutSeconds: {visibility}}}\n")


def visibility(boto: Any, name: str) -> int | None:
    sqs = boto("sqs")
    try:  # the queue may be deleted between the two calls
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    return int(attributes["VisibilityTimeout"])


def trimtab_get(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", "get", "--state-dir", str(state_dir)],
                          capture_output=True, text=True, check=False, cwd=REPO)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "git")


def _revision_of(controller: ControllerProcess, key: str) -> str | None:
    status = controller.statuses().get(key)
    ready = status.condition("Ready") if status else None
    return status.revision if status and ready and ready.status == "True" else None


@pytest.mark.parametrize("transport", ["file", "http"])
def test_commits_edits_reverts_and_force_pushes_are_applied(
    transport: str, repo: GitRepo, controllers: Any, boto: Any, tmp_path: Path
) -> None:
    first = repo.commit({"specs/orders.yaml": queue("orders"), "README.md": "not a spec"}, "orders")
    if transport == "http":
        server = GitHttpServer(repo.bare.parent, "x-access-token", GIT_TOKEN).__enter__()
        source = server.url("remote.git")
        token_file = tmp_path / "git-token"
        token_file.write_text(GIT_TOKEN)
        extra: tuple[str, ...] = ("--git-token-file", str(token_file))
    else:
        source, extra = repo.file_url, ()
    try:
        controller = controllers(source, "--git-path", "specs", "--prune-max-fraction", "1", *FAST_POLL, *extra)
        controller.wait_for(lambda: _revision_of(controller, "Queue/orders") == first, what="first commit")

        added = repo.commit({"specs/audit.yaml": queue("audit")}, "add audit")
        controller.wait_for(lambda: _revision_of(controller, "Queue/audit") == added, what="added spec")

        edited = repo.commit({"specs/orders.yaml": queue("orders", 45)}, "longer visibility")
        controller.wait_for(lambda: visibility(boto, "orders") == 45, what="edit applied")
        controller.wait_for(lambda: _revision_of(controller, "Queue/orders") == edited, what="edit recorded")

        reverted = repo.revert_head()
        controller.wait_for(lambda: visibility(boto, "orders") == 30, what="revert applied")
        controller.wait_for(lambda: _revision_of(controller, "Queue/orders") == reverted, what="revert recorded")

        # Rewriting history back to the first commit removes audit: owned, so it is pruned.
        repo.force_push(first)
        controller.wait_for(lambda: visibility(boto, "audit") is None, what="force-push prunes audit")
        assert visibility(boto, "orders") == 30
        controller.wait_for(lambda: any(e["event"] == "RevisionApplied" and e["revision"] == first
                                        for e in controller.events()[-20:]), what="first commit applied again")
        shown = trimtab_get(controller.state_dir)
        assert first[:12] in shown.stdout and f"REVISION {first[:12]} (applied)" in shown.stderr
    finally:
        if transport == "http":
            server.__exit__()


def test_a_broken_commit_applies_its_valid_specs_and_deletes_nothing(
    repo: GitRepo, controllers: Any, boto: Any
) -> None:
    repo.commit({"orders.yaml": queue("orders"), "audit.yaml": queue("audit")})
    controller = controllers(repo.file_url, "--prune-max-fraction", "1", *FAST_POLL)
    controller.wait_for(lambda: len(controller.ready_keys()) == 2, what="two queues")

    broken = repo.commit({"audit.yaml": None, "orders.yaml": queue("orders", 60),
                          "broken.yaml": "apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {name: x\n",
                          "bad-field.yaml": queue("bad", 99999)}, "a bad commit")
    controller.wait_for(lambda: visibility(boto, "orders") == 60, what="the valid edit applies")
    controller.wait_for(lambda: any(e["event"] == "PruneHeld" and e.get("revision") == broken
                                    for e in controller.events()), what="prune refused")
    assert visibility(boto, "audit") == 30, "a bad commit must not delete"
    shown = trimtab_get(controller.state_dir)
    assert "INVALID broken.yaml:4:1: -: YAML:" in shown.stderr, shown.stderr
    assert "INVALID bad-field.yaml:4:8: Queue/bad: spec.visibilityTimeoutSeconds: must be at most 43200" in (
        shown.stderr), shown.stderr
    metrics = http("GET", f"{controller.url}/metrics")[1]
    assert "trimtab_spec_errors 2.0" in metrics
    assert any(e["event"] == "InvalidSpec" and e.get("file") == "bad-field.yaml" and e.get("line") == 4
               for e in controller.events())

    # The next fully valid revision is the reference for pruning again.
    repo.commit({"broken.yaml": None, "bad-field.yaml": None}, "fix")
    controller.wait_for(lambda: visibility(boto, "audit") is None, what="audit pruned after the fix")


def test_a_commit_deleting_every_spec_is_held_by_the_mass_deletion_guard(
    repo: GitRepo, controllers: Any, boto: Any
) -> None:
    repo.commit({f"q{n}.yaml": queue(f"q{n}") for n in range(3)})
    controller = controllers(repo.file_url, *FAST_POLL)
    controller.wait_for(lambda: len(controller.ready_keys()) == 3, what="three queues")
    emptied = repo.commit({f"q{n}.yaml": None for n in range(3)}, "delete everything")
    controller.wait_for(lambda: any(e["event"] == "PruneHeld" and e.get("revision") == emptied
                                    for e in controller.events()), what="held")
    assert [visibility(boto, f"q{n}") for n in range(3)] == [30, 30, 30]
    assert trimtab_get(controller.state_dir).returncode == 3  # exit 3: a prune is held


def test_fetch_failures_keep_the_last_good_revision_and_never_show_the_token(
    repo: GitRepo, controllers: Any, boto: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    good = repo.commit({"orders.yaml": queue("orders")})
    token_file = tmp_path / "api-token"
    token_file.write_text(TOKEN)
    with GitHttpServer(repo.bare.parent, "x-access-token", GIT_TOKEN) as server:
        # The token in the URL, the way people paste it: it must never be shown anywhere.
        source = server.url("remote.git").replace("http://", f"http://x-access-token:{GIT_TOKEN}@")
        controller = controllers(source, *FAST_POLL, "--api-token-file", str(token_file))
        controller.wait_for(lambda: _revision_of(controller, "Queue/orders") == good, what="applied over http")
        api = controller.url
    # The server is gone: every fetch fails. The last good revision stays live; nothing is deleted.
    controller.wait_for(lambda: http("GET", f"{api}/readyz")[0] == 503, what="readyz reports the source")
    status, ready = http("GET", f"{api}/readyz")
    assert "failing" in ready["checks"]["source"] and good in ready["checks"]["source"]
    metrics = http("GET", f"{api}/metrics")[1]
    assert "trimtab_source_fetch_failing 1.0" in metrics
    assert f'trimtab_source_revision_info{{revision="{good}"}} 1.0' in metrics
    status, body = http("POST", f"{api}/api/v1/resync", b'{"source": true}', TOKEN)
    assert status == 202 and body["revision"] == good and body["sourceError"]
    controller.wait_for(lambda: "FETCH FAILING" in trimtab_get(controller.state_dir).stderr, what="get shows it")
    assert visibility(boto, "orders") == 30

    everything = "\n".join([
        controller.log.read_text(), metrics, json.dumps(http("GET", f"{api}/api/v1/source")[1]),
        json.dumps(http("GET", f"{api}/api/v1/resources")[1]), trimtab_get(controller.state_dir).stderr,
        trimtab_get(controller.state_dir).stdout,
    ])
    assert GIT_TOKEN not in everything
    assert "x-access-token:" not in everything
