"""``dutystation users`` as an administrator uses it: the bootstrap of the first
administrator, accounts, roles, passwords, locks and tokens; bad input as one sentence and a
non-zero exit. In-process through typer's CliRunner and the real ``main`` (which turns
errors into sentences), plus one real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dutystation import cli
from dutystation.cli import app, main

cli._register()
PASSWORD = "correct horse battery staple"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "DUTYSTATION_DATA_DIR": str(tmp_path / "data"),
        "DUTYSTATION_CONFIG": str(tmp_path / "none.toml"),
        "DUTYSTATION_PASSWORD_HASH_MEMORY_KIB": "1024",
        "DUTYSTATION_PASSWORD_HASH_TIME_COST": "1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DUTYSTATION_AS", raising=False)
    monkeypatch.delenv("DUTYSTATION_DATABASE_URL", raising=False)
    return values


def ok(*args: str, stdin: str | None = None, **env: str) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env or None)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the real entry point; returns the exit code and what it printed on stderr."""
    saved, sys.argv = sys.argv, ["dutystation", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = saved
    code = exited.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


def test_the_first_administrator_is_bootstrapped_and_then_administers_everything(
    env: dict[str, str],
) -> None:
    assert "created admin (agency_admin)" in ok(
        "users", "create", "admin", "--role", "agency_admin", "--bootstrap"
    )
    ok("users", "create", "alice", "--name", "Alice A", "--role", "tmo", "--role", "auditor",
       "--as", "admin")  # fmt: skip
    ok("users", "set-password", "alice", "--password-stdin", "--as", "admin", stdin=PASSWORD + "\n")
    ok("users", "grant", "alice", "hr", "--as", "admin")
    assert "alice: auditor, tmo" in ok("users", "revoke", "alice", "hr", "--as", "admin")
    # DUTYSTATION_AS works like --as.
    listed = ok("users", "list", DUTYSTATION_AS="admin")
    assert "alice" in listed and "Alice A" in listed and "auditor, tmo" in listed
    shown = ok("users", "show", "alice", "--as", "admin")
    assert "password      set" in shown and "state         active" in shown

    secret = ok("users", "token", "create", "alice", "--name", "export", "--days", "30",
                "--as", "admin").strip()  # fmt: skip
    assert secret.startswith("dst_") and "\n" not in secret
    tokens = ok("users", "token", "list", "alice", "--as", "admin")
    assert "export" in tokens and secret[:12] in tokens and secret not in tokens
    assert "revoked" in ok("users", "token", "revoke", "1", "--as", "admin")

    assert "until unlocked" in ok("users", "lock", "alice", "--as", "admin")
    assert "locked" in ok("users", "show", "alice", "--as", "admin")
    ok("users", "unlock", "alice", "--as", "admin")
    assert "alice is deactivated" in ok("users", "deactivate", "alice", "--as", "admin")
    assert "deactivated" in ok("users", "list", "--as", "admin")


def test_set_password_asks_twice_without_echoing(env: dict[str, str]) -> None:
    ok("users", "create", "admin", "--bootstrap")
    out = ok("users", "set-password", "admin", "--as", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert "password set for admin" in out and PASSWORD not in out


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (["users", "list"], 2, "say who is acting: give --as USERNAME or set DUTYSTATION_AS"),
        (["users", "list", "--as", "ghost"], 1, "no active user 'ghost'"),
        (["users", "create", "bob", "--role", "boss", "--as", "admin"], 2, "no role 'boss'"),
        (["users", "create", "bob", "--role", "tmo", "--scope", "MARS", "--as", "admin"], 1,
         "no org unit 'MARS'"),
        (["users", "create", "ADMIN", "--as", "admin"], 1, "a user named 'admin' exists already"),
        (["users", "create", "second", "--bootstrap"], 1, "users exist already, so --bootstrap "
         "is refused"),
        (["users", "grant", "admin", "hr", "--as", "admin"], 4, "nobody may change their own"),
        (["users", "token", "create", "admin", "--name", "x", "--days", "9999", "--as", "admin"],
         2, "a token lives 1 to 90 days"),
    ],
)  # fmt: skip
def test_bad_input_is_one_sentence_and_a_non_zero_exit(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    sentence: str,
) -> None:
    ok("users", "create", "admin", "--role", "agency_admin", "--bootstrap")
    exit_code, err = fails(capsys, *args)
    assert exit_code == code
    assert err.startswith("error: ") and sentence in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_before_any_user_exists_the_error_says_how_to_bootstrap(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, err = fails(capsys, "users", "list", "--as", "admin")
    assert exit_code == 1
    assert "create the first administrator with `dutystation users create NAME --role" in err


def test_the_installed_command_bootstraps_and_refuses_an_unknown_role(tmp_path: Path) -> None:
    full = {**os.environ, "DUTYSTATION_DATA_DIR": str(tmp_path / "data"),
            "DUTYSTATION_CONFIG": str(tmp_path / "none.toml")}  # fmt: skip
    full.pop("DUTYSTATION_AS", None)
    full.pop("DUTYSTATION_DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dutystation", "users", *args],
                              capture_output=True, text=True, env=full, timeout=120)  # fmt: skip

    first = run("create", "admin", "--role", "agency_admin", "--bootstrap")
    assert first.returncode == 0, first.stderr
    bad = run("grant", "admin", "overlord", "--as", "admin")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: no role 'overlord'; the roles are employee")
    assert len(bad.stderr.strip().splitlines()) == 1
