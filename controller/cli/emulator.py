"""`trimtab emulator`: the embedded AWS emulator in the foreground, for several commands to share."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from controller.cli.errors import Stopped
from controller.emulator import LocalEmulator

EXIT_OK = 0
Subparsers = Any


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
