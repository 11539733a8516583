"""The one reader of secrets: the admin API token, the git token and SSH key, the webhook secret.

Each comes from a file named by a flag, else from an environment variable (a container gets its
secrets as variables, from Secrets Manager; a file keeps them out of process listings). Either way
the text is stripped of surrounding whitespace, since `echo` and editors end files with a newline that
is no part of the secret, and an empty secret is none at all: what needs it stays off (the admin
endpoints and the webhook answer 403) or the request goes without it. A file named but unreadable is
a UserError, before any work, never a silent fall back to the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.cli.errors import UserError

API_TOKEN_ENV = "TRIMTAB_API_TOKEN"
GIT_TOKEN_ENV, GIT_SSH_KEY_ENV = "TRIMTAB_GIT_TOKEN", "TRIMTAB_GIT_SSH_KEY"
WEBHOOK_SECRET_ENV = "TRIMTAB_WEBHOOK_SECRET"


def read_secret(path: str | Path | None, env: str) -> str | None:
    """The secret in the file `path` if one is named, else in the variable `env`; None when empty."""
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise UserError(f"cannot read the secret in {path}: {error.strerror}") from error
    else:
        text = os.environ.get(env, "")
    return text.strip() or None
