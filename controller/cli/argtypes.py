"""Argument types shared by the commands (and the config file, which converts through them)."""

from __future__ import annotations

import argparse

from controller.api.fields import parse_duration


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
