"""The one reader of secrets (controller/cli/secret.py): a named file, else the variable; stripped;
empty is none; an unreadable file is an error, not a fall back to the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli.errors import UserError
from controller.cli.secret import read_secret

ENV = "TRIMTAB_TEST_SECRET"


def test_a_named_file_wins_over_the_variable_and_loses_its_newline(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv(ENV, "from-env")
    assert read_secret(secret, ENV) == "from-file"
    assert read_secret(str(secret), ENV) == "from-file"  # --token-file is taken as text


def test_without_a_file_the_variable_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "  from-env \n")
    assert read_secret(None, ENV) == "from-env"


def test_an_empty_secret_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv(ENV, "from-env")
    assert read_secret(empty, ENV) is None  # the file was named: never the variable instead
    monkeypatch.setenv(ENV, " ")
    assert read_secret(None, ENV) is None
    monkeypatch.delenv(ENV)
    assert read_secret(None, ENV) is None


def test_an_unreadable_file_is_a_user_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "from-env")
    missing = tmp_path / "missing"
    with pytest.raises(UserError, match=f"cannot read the secret in {missing}: No such file or directory"):
        read_secret(missing, ENV)
