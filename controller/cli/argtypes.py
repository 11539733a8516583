"""Argument types shared by the commands (and the config file, which converts through them)."""

from __future__ import annotations

import argparse
import re

from controller.api.fields import parse_duration
from controller.sources.events import queue_name
from controller.store import STORE_SCHEME, table_of


def duration(text: str) -> float:
    """30s, 5m, 1h30m, or plain seconds."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def kind_interval(text: str) -> tuple[str, float]:
    kind, _, value = text.partition("=")
    if not kind or not value:
        raise argparse.ArgumentTypeError(f"expected KIND=DURATION, e.g. Alarm=10m (got {text!r})")
    return kind, duration(value)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (got {text!r})") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text!r})")
    return value


_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def store_url(text: str) -> str:
    """dynamodb://TABLE, with a name DynamoDB accepts; kept as written (the table is `table_of` it)."""
    if not text.startswith(STORE_SCHEME) or not _TABLE_NAME.fullmatch(table_of(text)):
        raise argparse.ArgumentTypeError(
            f"expected {STORE_SCHEME}TABLE, TABLE of 3 to 255 letters, digits, '_', '-' or '.' (got {text!r})")
    return text


def events_queue(text: str) -> str:
    """`sqs://NAME`, as `run --events` takes it: the queue's name."""
    try:
        return queue_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
