"""A real git remote on this machine for the GitOps tests: a bare repository with a working clone,
reachable over file:// and over HTTP (git http-backend behind a tiny server on 127.0.0.1, with
token authentication, as a hosted git service would ask for).
"""

from __future__ import annotations

import base64
import os
import subprocess
import textwrap
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

from tests.background_server import BackgroundServer

_AUTHOR = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **_AUTHOR}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


class GitRepo:
    """`remote.git` (bare, default branch main) and `work`, a clone that commits and pushes."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git("init", "--quiet", "--initial-branch=main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def file_url(self) -> str:
        return f"git+file://{self.bare}"

    def commit(self, files: dict[str, str | None], message: str = "change", branch: str = "main") -> str:
        """Write (or, for None, delete) files, commit, push; the new commit's SHA."""
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def revert_head(self) -> str:
        git("revert", "--no-edit", "HEAD", cwd=self.work)
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return self.head()

    def force_push(self, commit: str) -> str:
        """Rewind main to an older commit, as `git push --force` after a reset does."""
        git("reset", "--quiet", "--hard", commit, cwd=self.work)
        git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return commit


class GitHttpServer(BackgroundServer):
    """`git http-backend` over HTTP on 127.0.0.1 (a free port), demanding Basic auth with a token."""

    def __init__(self, project_root: Path, username: str, token: str) -> None:
        expected = "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            hop_by_hop: ClassVar[set[str]] = {"connection", "transfer-encoding"}

            def log_message(self, *_: Any) -> None:
                pass

            def _serve(self) -> None:
                outer.requests.append(f"{self.command} {self.path}")
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                env = {
                    **os.environ, "GIT_PROJECT_ROOT": str(project_root), "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""), "REMOTE_USER": username,
                    "REMOTE_ADDR": "127.0.0.1",
                }
                result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                                        check=False)
                head, _, payload = result.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name and name.lower() not in self.hop_by_hop:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        super().__init__(Handler)

    def url(self, repository: str) -> str:
        return f"git+http://127.0.0.1:{self.port}/{repository}"
