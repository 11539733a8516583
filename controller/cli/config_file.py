"""`trimtab run --config trimtab.yaml`: every flag of `run`, as YAML keys; flags on the command line win.

Keys are the flag names without the dashes (`resync-interval: 5m`). Values go through the same
conversion as the flag, so the file accepts exactly what the command line does. Unknown keys and bad
values are errors naming the file, line and key, with a suggestion for a misspelt key.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    pass


def config_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Config keys -> the action behind the flag: "resync-interval" -> --resync-interval."""
    found = {}
    for action in parser._actions:  # argparse offers no public listing of its actions
        long_flags = [flag for flag in action.option_strings if flag.startswith("--")]
        if long_flags and action.dest not in ("help", "config"):
            found[long_flags[0].removeprefix("--")] = action
    return found


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    def one(item: Any) -> Any:
        if isinstance(item, (dict, list)):
            raise ConfigError(f"{where}: expected a single value, got {type(item).__name__}")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        try:
            converted = action.type(text) if callable(action.type) else text
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            raise ConfigError(f"{where}: {error}") from None
        if action.choices is not None and converted not in action.choices:
            raise ConfigError(f"{where}: must be one of {', '.join(map(str, action.choices))} (got {item!r})")
        return converted

    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false (got {value!r})")
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._AppendAction):
        items = [f"{key}={item}" for key, item in value.items()] if isinstance(value, dict) else value
        return [one(item) for item in (items if isinstance(items, list) else [items])]
    return one(value)


def load_config(path: Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Parser defaults (dest -> value) from a config file."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:1:1: expected a mapping of option: value")
    options = config_options(parser)
    defaults: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        where = f"{path}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}: {key}"
        action = options.get(key)
        if action is None:
            close = difflib.get_close_matches(key, options, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: is not an option of `trimtab run`{hint}")
        value = yaml.safe_load(yaml.serialize(value_node))
        defaults[action.dest] = _convert(action, value, where)
    return defaults
