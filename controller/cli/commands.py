"""The subcommands. Each registers its own arguments and handler."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from controller.api.crd import all_crds
from controller.api.reference import render as render_reference
from controller.cli import task_role
from controller.cli.api_client import register_resync
from controller.cli.cli_reference import render_cli_reference
from controller.cli.config_reference import render_configuration
from controller.cli.console import CONSOLE_REGISTRATIONS
from controller.cli.controller_commands import register_get, register_prune, register_run
from controller.cli.errors import Stopped
from controller.cli.iam_policy import register_iam_policy
from controller.cli.output import print_applied_item, print_plan_item, summary
from controller.cli.plan_report import PLAN_FORMATS, plan_document, plan_markdown
from controller.cli.session import add_aws_arguments, ecs_services_of, open_session
from controller.cli.store_init import register_store
from controller.emulator import LocalEmulator
from controller.engine.runner import RunResult, run_graph
from controller.sources.base import SourceError
from controller.sources.desired import DesiredState
from controller.sources.directory import load_directory

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
Subparsers = Any  # argparse's _SubParsersAction is private


def _load(path: Path) -> DesiredState | None:
    """Load and validate a source, printing every error; None when the source cannot be read."""
    try:
        state = load_directory(path)
    except SourceError as error:
        print(f"trimtab: {error}", file=sys.stderr)
        return None
    for problem in state.errors:
        print(problem, file=sys.stderr)
    return state


# ---- validate ----------------------------------------------------------------------------------------

def _validate(args: argparse.Namespace) -> int:
    state = _load(args.path)
    if state is None:
        return EXIT_ERROR
    if state.errors:
        print(f"{len(state.errors)} error(s) in {state.file_count} file(s)", file=sys.stderr)
        return EXIT_ERROR
    print(f"{len(state.graph.records)} specs in {state.file_count} file(s) are valid (revision {state.revision})")
    return EXIT_OK


def register_validate(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "validate", help="check specs without touching AWS",
        description="Check every spec under PATH: models, AWS's rules, references, duplicates and cycles. "
                    "Prints all errors, not just the first.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="a spec file or a directory tree of .yaml/.yml")
    parser.set_defaults(handler=_validate)


# ---- plan / apply ------------------------------------------------------------------------------------

async def _plan_or_apply(args: argparse.Namespace, dry_run: bool) -> int:
    state = _load(args.path)
    if state is None:
        return EXIT_ERROR
    report = getattr(args, "format", "text")
    async with open_session(args, ecs_services_of(state.graph)) as session:
        if dry_run:
            result = await run_graph(state.graph, session.reconciler, dry_run=True, concurrency=args.concurrency)
            if report == "text":
                for outcome in result.outcomes.values():
                    print_plan_item(outcome, args.verbose)
        else:
            total = len(state.graph.records)
            print(f"trimtab: applying {total} specs (revision {state.revision})", file=sys.stderr)
            done = itertools.count(1)
            result = await run_graph(
                state.graph, session.reconciler, dry_run=False, concurrency=args.concurrency,
                on_outcome=lambda outcome: print_applied_item(outcome, progress=f"[{next(done)}/{total}]"),
            )
        stats = session.aws.stats
    exit_code = _exit_code(state, result, dry_run)
    if report == "json":
        print(json.dumps(plan_document(result, state, exit_code), indent=2))
    elif report == "markdown":
        print(plan_markdown(result, state, exit_code))
    else:
        print(summary(result, dry_run=dry_run))
    print(f"AWS calls: {stats.total()} ({stats.total(mutating=True)} mutating)", file=sys.stderr)
    if state.errors:
        print(f"{len(state.errors)} invalid spec error(s); those specs were skipped", file=sys.stderr)
    return exit_code


def _exit_code(state: DesiredState, result: RunResult, dry_run: bool) -> int:
    if state.errors or result.failed:
        return EXIT_ERROR
    if dry_run and not result.in_sync:
        return EXIT_CHANGES
    return EXIT_OK


def register_plan_apply(subcommands: Subparsers) -> None:
    plan = subcommands.add_parser(
        "plan", help="show what apply would change",
        description="Observe AWS and print, per resource: create, update (field by field, before -> after), "
                    "conflict, or in sync. Changes nothing. Exit 0: in sync; 2: changes; 1: errors or conflicts.",
    )
    plan.add_argument("path", type=Path, metavar="PATH")
    plan.add_argument("-v", "--verbose", action="store_true", help="also list resources that are in sync")
    plan.add_argument("--format", choices=PLAN_FORMATS, default="text",
                      help="text (default); json, for a CI check to read; markdown, for a pull-request comment "
                           "(docs/gitops.md). Same exit codes in every format")
    _add_concurrency(plan)
    add_aws_arguments(plan)
    plan.set_defaults(handler=lambda args: asyncio.run(_plan_or_apply(args, dry_run=True)))

    apply = subcommands.add_parser(
        "apply", help="make AWS match the specs",
        description="Create and update resources in dependency order, independent ones in parallel. "
                    "Idempotent: a second apply makes no changes. Never touches a resource trimtab does not "
                    "own unless its spec says adopt: true. Exit 0: success; 1: any error or conflict.",
    )
    apply.add_argument("path", type=Path, metavar="PATH")
    _add_concurrency(apply)
    add_aws_arguments(apply)
    apply.set_defaults(handler=lambda args: asyncio.run(_plan_or_apply(args, dry_run=False)))


# ---- crds --------------------------------------------------------------------------------------------

def _render(document: dict[str, Any]) -> str:
    header = "# Generated by `trimtab crds` from the pydantic models. Do not edit.\n"
    return header + yaml.safe_dump(document, sort_keys=False, width=120)


def write_or_check(wanted: dict[Path, str], check: bool, command: str, unexpected: list[Path] | None = None) -> int:
    """Write generated files, or with `check` report (exit 1) those that differ from what would be written."""
    if check:
        stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path}: stale or missing; run `{command}`", file=sys.stderr)
        for path in unexpected or []:
            print(f"{path}: not generated from any model; remove it", file=sys.stderr)
        if stale or unexpected:
            return EXIT_ERROR
        print(f"{len(wanted)} generated file(s) are up to date")
        return EXIT_OK
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(wanted)} file(s)")
    return EXIT_OK


def _crds(args: argparse.Namespace) -> int:
    out: Path = args.out
    wanted = {out / name: _render(document) for name, document in all_crds().items()}
    unexpected = sorted(path for path in out.glob("*.yaml") if path not in wanted)
    return write_or_check(wanted, args.check, f"trimtab crds --out {out}", unexpected)


def register_crds(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "crds", help="write (or check) the CustomResourceDefinitions",
        description="Generate one apiextensions.k8s.io/v1 CRD per kind from the models.",
    )
    parser.add_argument("--out", type=Path, default=Path("crds_yaml"), help="directory (default: crds_yaml)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files in --out are stale")
    parser.set_defaults(handler=_crds)


# ---- docs ---------------------------------------------------------------------------------------------

def _examples(root: Path) -> dict[str, str]:
    """The fullest example spec (most lines) of each kind under `root`, as written."""
    examples: dict[str, str] = {}
    for path in sorted(root.rglob("*.yaml")):
        for text in path.read_text().split("\n---\n"):
            body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
            kind = next((line.split(":", 1)[1].strip() for line in body.splitlines() if line.startswith("kind:")), "")
            if kind and len(body) > len(examples.get(kind, "")):
                examples[kind] = body.strip("\n")
    return examples


def _docs(args: argparse.Namespace) -> int:
    wanted = {args.out: render_reference(_examples(args.specs)), args.config_out: render_configuration(),
              args.cli_out: render_cli_reference(REGISTRATIONS)}
    if args.task_role_template.exists():  # the stack ships in the repository, not in the package
        wanted[args.task_role_template] = task_role.regenerated(args.task_role_template.read_text())
    return write_or_check(wanted, args.check, "trimtab docs")


def _add_concurrency(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=16, help="items reconciled at once (default: 16)")


def register_docs(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "docs", help="write (or check) the spec, configuration and CLI references, and the stack's task role",
        description="Generate the spec reference (every field of every kind) from the models, "
                    "with an example of each kind taken from the example specs, and the config file "
                    "reference from the flags of `trimtab run`, and the CLI reference from every command's --help; "
                    "and rewrite the ECS stack's task role statements from `trimtab iam-policy`.",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/spec-reference.md"), help="default: %(default)s")
    parser.add_argument("--config-out", type=Path, default=Path("docs/configuration.md"),
                        help="the config file reference (default: %(default)s)")
    parser.add_argument("--cli-out", type=Path, default=Path("docs/cli.md"),
                        help="the CLI reference, every command's --help (default: %(default)s)")
    parser.add_argument("--specs", type=Path, default=Path("specs"), help="examples (default: %(default)s)")
    parser.add_argument("--task-role-template", type=Path, default=task_role.TEMPLATE,
                        help="the CloudFormation stack whose task role statements are generated, between their "
                             "marker comments (default: %(default)s; skipped when absent)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    parser.set_defaults(handler=_docs)


# ---- emulator ----------------------------------------------------------------------------------------

def _emulator(args: argparse.Namespace) -> int:
    with LocalEmulator() as emulator:
        print("The embedded AWS emulator (moto) is running. In another shell:")
        print(f"  export AWS_ENDPOINT_URL={emulator.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
        print("trimtab commands there use it, and create the ECS services scalable targets need.")
        print("Stop it with Ctrl-C (or any stop signal); everything it holds is then gone.", flush=True)
        try:
            while True:
                signal.pause()  # main() turns SIGTERM and SIGHUP into Stopped, as Ctrl-C is KeyboardInterrupt
        except (KeyboardInterrupt, Stopped):
            return EXIT_OK


def register_emulator(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "emulator", help="run the embedded AWS emulator in the foreground",
        description="Start moto on a free 127.0.0.1 port and print the environment that points trimtab "
                    "(and the AWS CLI) at it, so several commands can share one emulator.",
    )
    parser.set_defaults(handler=_emulator)


REGISTRATIONS = (
    register_validate, register_plan_apply, register_run, register_get, register_resync, register_prune, register_crds,
    register_docs, register_emulator, register_iam_policy,
    register_store,
    *CONSOLE_REGISTRATIONS,
)
