"""`trimtab docs`: write (or check) the spec, configuration and CLI references, and the stack's task role."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from controller.api.reference import render as render_reference
from controller.cli import stack_template
from controller.cli.cli_reference import render_cli_reference
from controller.cli.config_reference import render_configuration
from controller.cli.generated import write_or_check

Subparsers = Any
Registrations = Iterable[Callable[[Subparsers], None]]


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


def _docs(args: argparse.Namespace, registrations: Registrations) -> int:
    wanted = {args.out: render_reference(_examples(args.specs)), args.config_out: render_configuration(),
              args.cli_out: render_cli_reference(registrations)}
    if args.task_role_template.exists():  # the stack ships in the repository, not in the package
        wanted[args.task_role_template] = stack_template.regenerated(args.task_role_template.read_text())
    return write_or_check(wanted, args.check, "trimtab docs")


def register_docs(subcommands: Subparsers, registrations: Registrations) -> None:
    """`registrations`: every command's, for the CLI reference (commands.py, which lists this one too)."""
    parser = subcommands.add_parser(
        "docs", help="write (or check) the spec, configuration and CLI references, and the stack's generated parts",
        description="Generate the spec reference (every field of every kind) from the models, "
                    "with an example of each kind taken from the example specs, and the config file "
                    "reference from the flags of `trimtab run`, and the CLI reference from every command's --help; "
                    "and rewrite the ECS stack's parts that follow from the kinds: the task role's statements "
                    "(`trimtab iam-policy`) and the events rule's pattern.",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/spec-reference.md"), help="default: %(default)s")
    parser.add_argument("--config-out", type=Path, default=Path("docs/configuration.md"),
                        help="the config file reference (default: %(default)s)")
    parser.add_argument("--cli-out", type=Path, default=Path("docs/cli.md"),
                        help="the CLI reference, every command's --help (default: %(default)s)")
    parser.add_argument("--specs", type=Path, default=Path("specs"), help="examples (default: %(default)s)")
    parser.add_argument("--task-role-template", type=Path, default=stack_template.TEMPLATE,
                        help="the CloudFormation stack whose task role statements and events rule pattern are "
                             "generated, between their marker comments (default: %(default)s; skipped when absent)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    parser.set_defaults(handler=lambda args: _docs(args, registrations))
