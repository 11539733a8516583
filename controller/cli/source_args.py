"""`trimtab run --source`: a directory, or a git repository with its ref, path, poll and credentials."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from controller.cli.argtypes import duration
from controller.cli.secret import GIT_SSH_KEY_ENV, GIT_TOKEN_ENV, WEBHOOK_SECRET_ENV, read_secret
from controller.sources.base import Source
from controller.sources.directory import DirectorySource
from controller.sources.git import GitSettings, GitSource
from controller.sources.git_remote import GitCredentials, GitRemote, is_git_source


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", default=None,
        help="where the specs are: a directory, or git+https://HOST/REPO, git+ssh://git@HOST/REPO, git+file:///PATH",
    )
    git = parser.add_argument_group("git source")
    git.add_argument("--git-ref", default=None,
                     help="branch, tag or full 40-character commit SHA to follow (default: the remote's default "
                          "branch)")
    git.add_argument("--git-path", default="", help="the subdirectory of the repository holding the specs")
    git.add_argument("--git-poll-interval", type=duration, default=60.0,
                     help="how often to ask the remote whether the ref moved (default: 60s); the webhook makes "
                          "it immediate")
    git.add_argument("--git-token-file", type=Path, default=None,
                     help=f"HTTPS token (else {GIT_TOKEN_ENV}); also accepted in the URL, but a file keeps it out of "
                          "process listings")
    git.add_argument("--git-username", default="x-access-token",
                     help="user name sent with the token (default: %(default)s; GitLab: oauth2)")
    git.add_argument("--git-ssh-key-file", type=Path, default=None,
                     help=f"SSH private key for git+ssh (else the key's text in {GIT_SSH_KEY_ENV})")
    git.add_argument("--git-known-hosts-file", type=Path, default=None,
                     help="known_hosts for git+ssh; without it the host key is trusted on first use")
    git.add_argument("--webhook-secret-file", type=Path, default=None,
                     help=f"secret for POST /hooks/git (else {WEBHOOK_SECRET_ENV}; none: the webhook answers 403)")


def webhook_secret(args: Any) -> str | None:
    return read_secret(args.webhook_secret_file, WEBHOOK_SECRET_ENV)


def build_source(args: Any, state_dir: Path) -> Source:
    location: str = args.source
    if not is_git_source(location):
        return DirectorySource(Path(location))
    ssh_key = args.git_ssh_key_file
    if ssh_key is None and (key_text := read_secret(None, GIT_SSH_KEY_ENV)):
        # The container gets the key as text (Secrets Manager); ssh wants a private file.
        ssh_key = state_dir / "git" / "ssh-key"
        ssh_key.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(ssh_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key_text + "\n")
    credentials = GitCredentials(
        username=args.git_username, token=read_secret(args.git_token_file, GIT_TOKEN_ENV),
        ssh_key_file=ssh_key, known_hosts_file=args.git_known_hosts_file,
    )
    remote = GitRemote.parse(location, credentials)
    settings = GitSettings(ref=args.git_ref, path=args.git_path, poll_seconds=args.git_poll_interval)
    return GitSource(remote, settings, state_dir / "git")
