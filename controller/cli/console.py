"""The operator's console beyond `get`: describe, events, suspend and resume. commands.py takes them as
one entry of its REGISTRATIONS, so these commands can grow without touching it."""

from __future__ import annotations

from controller.cli.describe import register_describe
from controller.cli.events import register_events
from controller.cli.suspend import register_suspend

CONSOLE_REGISTRATIONS = (register_describe, register_events, register_suspend)
