"""The subcommands, in the order `trimtab --help` and docs/cli.md list them. Each lives in a file of
its own that registers its arguments and handler; this module only lists them."""

from __future__ import annotations

from typing import Any

from controller.cli.apply import register_apply
from controller.cli.crds import register_crds
from controller.cli.describe import register_describe
from controller.cli.docs import register_docs
from controller.cli.emulator import register_emulator
from controller.cli.events import register_events
from controller.cli.get import register_get
from controller.cli.iam_policy import register_iam_policy
from controller.cli.plan import register_plan
from controller.cli.prune import register_prune
from controller.cli.resume import register_resume
from controller.cli.resync import register_resync
from controller.cli.run import register_run
from controller.cli.store_init import register_store
from controller.cli.suspend import register_suspend
from controller.cli.validate import register_validate

Subparsers = Any  # argparse's _SubParsersAction is private


def _register_docs(subcommands: Subparsers) -> None:
    register_docs(subcommands, REGISTRATIONS)  # docs renders every command's --help, its own included


REGISTRATIONS = (
    register_validate, register_plan, register_apply, register_run, register_get, register_resync, register_prune,
    register_crds, _register_docs, register_emulator, register_iam_policy,
    register_store, register_describe, register_events, register_suspend, register_resume,
)
