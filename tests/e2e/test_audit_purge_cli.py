"""``dutystation audit purge`` as an administrator runs it, on a real data directory:
in-process through typer's CliRunner and the real ``main`` (which turns errors into
sentences). Too recent a day is one sentence and exit 2; a purge says what it removed and
the new head to write down; ``audit verify`` then says what was purged and still passes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dutystation import cli
from dutystation.bootstrap import Runtime
from dutystation.cli import app, main
from dutystation.domain.access import SYSTEM
from dutystation.services.accounts import bootstrap_admin
from dutystation.services.audit import Change, record
from dutystation.settings import Settings
from dutystation.store.db import write_transaction

cli._register()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three records from 2018 (written with their old dates, as if the trail had been
    kept since then), then an administrator created today."""
    data = tmp_path / "data"
    monkeypatch.setenv("DUTYSTATION_DATA_DIR", str(data))
    monkeypatch.setenv("DUTYSTATION_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DUTYSTATION_AS", "admin")
    monkeypatch.delenv("DUTYSTATION_DATABASE_URL", raising=False)
    runtime = Runtime(Settings(data_dir=data))
    for i in range(3):
        with write_transaction(runtime.engine) as conn:
            when = datetime(2018, 3, 1, tzinfo=UTC) + timedelta(days=i)
            record(conn, SYSTEM, Change("user.manage", "user", f"u{i}"), now=when)
    bootstrap_admin(runtime.engine, "admin")
    runtime.engine.dispose()
    return data


def ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    saved, sys.argv = sys.argv, ["dutystation", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = saved
    code = exited.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


def test_purge_refuses_too_recent_a_day_then_purges_and_verify_still_passes(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    too_recent = (datetime.now(UTC) - timedelta(days=5 * 365)).date().isoformat()
    code, err = fails(capsys, "audit", "purge", "--before", too_recent)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: audit records are kept at least 6 years (NARA General ")

    dry = ok("audit", "purge", "--dry-run")
    assert "would remove 3 audit records dated before " in dry
    assert "(seq 1..3, 2018-03-01 to 2018-03-03)" in dry
    done = ok("audit", "purge")
    assert "removed 3 audit records dated before " in done
    head = done.split("the new head hash is ")[1].split(":")[0]

    verified = ok("audit", "verify", "--expect-head", head)
    assert "records 1..3 (3, dated 2018-03-01 to 2018-03-03) were purged" in verified
    assert "the file starts at" not in verified

    shown = ok("audit", "purge", "--help")
    assert "--before" in shown and "--dry-run" in shown and "checkpoint" in shown
