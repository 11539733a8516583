"""POST /hooks/git: signed pushes fetch at once, bad signatures change nothing, bursts coalesce;
and `trimtab run --config`, whose values the command line overrides."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.controller_process import ControllerProcess
from tests.git_remote import GitRepo
from tests.test_api import http
from tests.test_gitops import queue

SECRET = "webhook-secret-for-tests"
PUSH_MAIN = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()


def hook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/hooks/git", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def github(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


def fetches(url: str) -> float:
    text = http("GET", f"{url}/metrics")[1]
    return sum(float(value) for value in re.findall(r'^trimtab_source_fetches_total\{outcome="\w+"\} (\S+)$', text,
                                                    re.MULTILINE))


def test_signed_webhooks_fetch_at_once_and_bad_ones_change_nothing(
    tmp_path: Path, cli_env: dict[str, str], boto: Any
) -> None:
    repo = GitRepo(tmp_path / "git")
    repo.commit({"orders.yaml": queue("orders")})
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    config = tmp_path / "trimtab.yaml"
    config.write_text(f"source: {repo.file_url}\ngit-poll-interval: 1s\nwebhook-secret-file: {secret_file}\n"
                      "resync-interval: 10m\n")
    # The config polls every second; the flag overrides it to an hour, so only the webhook can fetch.
    controller = ControllerProcess(None, tmp_path / "state", cli_env, "--config", str(config),
                                   "--git-poll-interval", "1h")
    try:
        url = controller.url
        controller.wait_for(lambda: "Queue/orders" in controller.ready_keys(), what="first commit")
        settled = fetches(url)
        time.sleep(2.5)
        assert fetches(url) == settled, "the 1h flag must override the config's 1s poll"

        new = repo.commit({"audit.yaml": queue("audit")})
        assert hook(url, PUSH_MAIN, {})[0] == 401
        assert hook(url, PUSH_MAIN, github(PUSH_MAIN, "wrong-secret"))[0] == 401
        assert hook(url, PUSH_MAIN, {"X-Gitlab-Token": "wrong"})[0] == 401
        tampered = PUSH_MAIN.replace(b"main", b"evil")
        assert hook(url, tampered, github(PUSH_MAIN))[0] == 401  # the signature covers the exact body
        other = json.dumps({"ref": "refs/heads/feature"}).encode()
        status, body = hook(url, other, github(other))
        assert (status, body["status"]) == (202, "ignored")
        time.sleep(0.5)
        assert fetches(url) == settled and "Queue/audit" not in controller.ready_keys()

        received = time.monotonic()
        assert hook(url, PUSH_MAIN, github(PUSH_MAIN))[0] == 202
        controller.wait_for(lambda: controller.statuses().get("Queue/audit") is not None
                            and controller.statuses()["Queue/audit"].revision == new, what="applied")
        print(f"webhook receipt to applied: {time.monotonic() - received:.2f}s")

        gitlab = repo.commit({"audit.yaml": queue("audit", 50)})
        assert hook(url, PUSH_MAIN, {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"})[0] == 202
        controller.wait_for(lambda: controller.statuses()["Queue/audit"].revision == gitlab, what="gitlab hook")

        before = fetches(url)
        with ThreadPoolExecutor(max_workers=10) as pool:
            codes = list(pool.map(lambda _: hook(url, PUSH_MAIN, github(PUSH_MAIN))[0], range(50)))
        assert codes == [202] * 50
        time.sleep(1.5)
        burst = fetches(url) - before
        assert 1 <= burst <= 3, f"50 webhooks made {burst} fetches"
    finally:
        controller.kill()


def test_a_bad_config_file_names_the_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.yaml"
    config.write_text("source: specs/\nresync-intervall: 5m\n")
    result = subprocess.run([sys.executable, "-m", "controller", "run", "--config", str(config)],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert result.returncode == 1
    assert f"{config}:2:1: resync-intervall: is not an option of `trimtab run` (did you mean 'resync-interval'?)" in (
        result.stderr)
    config.write_text("source: specs/\nworkers: many\n")
    result = subprocess.run([sys.executable, "-m", "controller", "run", "--config", str(config)],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert result.returncode == 1 and f"{config}:2:1: workers:" in result.stderr
