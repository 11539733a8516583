"""Talking to a git remote through the git command: where it is, how to authenticate, and how to
say so in a log without ever showing a credential.

Credentials never reach git's command line, where `ps` and error messages would show them: an HTTPS
token goes in an `http.extraHeader` passed through git's environment-variable config, an SSH key
through GIT_SSH_COMMAND. Everything git prints is redacted before anyone sees it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from controller.sources.base import SourceError

GIT_SCHEMES = ("git+https://", "git+http://", "git+ssh://", "git+file://")
GIT_TIMEOUT_SECONDS = 120.0
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def is_git_source(text: str) -> bool:
    return text.startswith(GIT_SCHEMES)


@dataclass(frozen=True)
class GitCredentials:
    """A token for HTTPS, or an SSH private key (with an optional known_hosts file)."""

    username: str = "x-access-token"
    token: str | None = field(default=None, repr=False)
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None


@dataclass(frozen=True)
class GitRemote:
    url: str  # what git is given: no scheme prefix, no userinfo
    credentials: GitCredentials = field(default_factory=GitCredentials)

    @classmethod
    def parse(cls, source: str, credentials: GitCredentials) -> GitRemote:
        """`git+https://[user:token@]host/repo` and friends. A token in the URL is taken out of it."""
        if not is_git_source(source):
            raise SourceError(f"not a git source (expected one of {', '.join(GIT_SCHEMES)}): {redact(source)}")
        parts = urlsplit(source.removeprefix("git+"))
        if parts.scheme in ("http", "https") and parts.password:
            credentials = GitCredentials(parts.username or credentials.username, parts.password,
                                         credentials.ssh_key_file, credentials.known_hosts_file)
        keep_user = parts.scheme == "ssh" and parts.username  # ssh://git@host: a user name, not a secret
        netloc = (f"{parts.username}@" if keep_user else "") + (parts.hostname or "") + (
            f":{parts.port}" if parts.port else "")
        return cls(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), credentials)

    @property
    def secrets(self) -> tuple[str, ...]:
        token = self.credentials.token
        if not token:
            return ()
        return token, self._basic_auth()

    def _basic_auth(self) -> str:
        pair = f"{self.credentials.username}:{self.credentials.token}"
        return base64.b64encode(pair.encode()).decode()

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"})
        config: list[tuple[str, str]] = [("credential.helper", "")]  # never a stored or prompted credential
        if self.credentials.token and self.url.startswith(("http://", "https://")):
            config.append(("http.extraHeader", f"Authorization: Basic {self._basic_auth()}"))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        if self.url.startswith("ssh://"):
            options = ["ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
            if self.credentials.ssh_key_file:
                options += ["-i", str(self.credentials.ssh_key_file)]
            if self.credentials.known_hosts_file:
                options += ["-o", f"UserKnownHostsFile={self.credentials.known_hosts_file}",
                            "-o", "StrictHostKeyChecking=yes"]
            else:  # trust on first use; pin with --git-known-hosts-file
                options += ["-o", "StrictHostKeyChecking=accept-new"]
            env["GIT_SSH_COMMAND"] = shlex.join(options)
        return env

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact(text)

    async def git(self, *args: str, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
        """Run git; its output on success, SourceError with redacted stderr on failure or timeout."""
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, env=self.environment(),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), GIT_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise SourceError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS:.0f}s ({self.url})") from None
        if process.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            detail = "; ".join(line for line in message if line and not line.startswith("hint:"))[-500:]
            detail = detail or f"exit {process.returncode}"
            raise SourceError(self.redact(f"git {args[0]} failed ({self.url}): {detail}"))
        return out


def redact(text: str) -> str:
    """Remove userinfo from any URL in text: https://user:token@host -> https://***@host."""
    return _USERINFO.sub("***@", text)
