"""One line that says what went wrong and how to fix it, never a traceback.

A command raises `UserError` where it knows the fix. The failures a user meets elsewhere (a port in
use, a corrupt or read-only state dir, missing or rejected AWS credentials, an unreachable endpoint,
an AWS error) are recognised by `explain`, so each command need not catch them itself; main() prints
the line and exits 1. Anything else is a bug: one line too, and TRIMTAB_TRACEBACK=1 shows where.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import sys
from pathlib import Path

from botocore import exceptions as botocore_errors
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from controller.api.selectors import SelectorError
from controller.aws import error_code
from controller.emulator import EmulatorError

EXIT_ERROR = 1
TRACEBACK_VARIABLE = "TRIMTAB_TRACEBACK"
CREDENTIAL_CHAIN = (
    "the standard AWS credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/, "
    "SSO, a container or instance role)"
)
CREDENTIAL_FIX = ("set AWS_PROFILE=NAME (after `aws sso login` where you use SSO) or the access key variables, "
                  "or run against an emulator with --local or --emulator URL")
# What AWS answers when it does not accept the credentials it was sent.
REJECTED_CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
    "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure",
})
_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, ProfileNotFound,
                      SSOError, TokenRetrievalError)


class UserError(Exception):
    """A problem the user can fix. Its message, one line naming the fix, is printed after "trimtab: "."""


class Stopped(BaseException):
    """SIGTERM or SIGHUP outside the controller's own handlers. A BaseException, as KeyboardInterrupt is,
    so every `with` unwinds on the way out: an embedded emulator is stopped, a temporary state dir removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def state_dir_problem(state_dir: Path, error: Exception) -> str:
    """Why a state dir cannot be used, and what to do about it."""
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        return (f"the state in {state_dir}/ is not a readable trimtab database ({error}): move {state_dir}/ aside "
                "(restoring a backup keeps the inventory; without it, scalable targets and policies read as "
                "conflicts until adopted) or pass --state-dir DIR")
    return (f"cannot write the state in {state_dir}/ ({error}): make it writable by this user, "
            "or pass --state-dir DIR")


def explain(error: BaseException, *, listen: str | None = None, state_dir: Path | None = None) -> str | None:
    """The one line for a failure a user can meet, or None for a bug. `listen` and `state_dir` are the
    command's, to name in the line."""
    if isinstance(error, BaseExceptionGroup):  # from a task group: the first failure that has an explanation
        found = (explain(inner, listen=listen, state_dir=state_dir) for inner in error.exceptions)
        return next((line for line in found if line is not None), None)
    if isinstance(error, (UserError, EmulatorError, SelectorError)):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (f"{listen or 'the address'} is already in use (another `trimtab run` or `make run`?): stop it, or pass "
                "--listen HOST:PORT (port 0 picks a free one)")
    if isinstance(error, sqlite3.Error) and state_dir is not None:
        return state_dir_problem(state_dir, error)
    if isinstance(error, OSError) and error.filename is not None:  # a file trimtab was told to read or write
        if state_dir is not None and Path(error.filename).resolve().is_relative_to(state_dir.resolve()):
            return state_dir_problem(state_dir, error)
        return f"{error.strerror}: {error.filename}"
    if isinstance(error, _CREDENTIAL_ERRORS):
        return f"no usable AWS credentials ({error}): trimtab uses {CREDENTIAL_CHAIN}; {CREDENTIAL_FIX}"
    if isinstance(error, botocore_errors.ConnectionError):
        return (f"cannot reach AWS ({error}): check the network and AWS_REGION, or, for an emulator, "
                "that it is running at AWS_ENDPOINT_URL or --emulator URL")
    if isinstance(error, ClientError):
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", "")
        if code in REJECTED_CREDENTIAL_CODES:
            return (f"AWS rejected the credentials ({code}: {message}): trimtab uses {CREDENTIAL_CHAIN}; "
                    f"{CREDENTIAL_FIX}")
        return f"AWS answered {code} to {error.operation_name}: {message}"
    return None


def report(error: Exception, *, listen: str | None = None, state_dir: Path | None = None) -> int:
    """Print the one line for `error` and return the exit code; re-raise a bug when asked for its traceback."""
    line = explain(error, listen=listen, state_dir=state_dir)
    if line is None:
        if os.environ.get(TRACEBACK_VARIABLE):
            raise error
        line = (f"unexpected {type(error).__name__}: {error} (a bug: please report it; {TRACEBACK_VARIABLE}=1 "
                "shows where it happened)")
    print(f"trimtab: {line}", file=sys.stderr, flush=True)
    return EXIT_ERROR

