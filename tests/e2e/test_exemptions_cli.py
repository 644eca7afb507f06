"""``dutystation exemptions`` as people use it: file, certify twice, list and show; bad
input is one sentence on stderr and the documented exit code. In-process through typer's
CliRunner and the real ``main`` (which turns errors into sentences)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dutystation import cli
from dutystation.cli import app, main
from dutystation.domain.access import SYSTEM, Grant, Role
from dutystation.services.accounts import create_user
from dutystation.store.db import make_engine, migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from exemption_builders import build_world

cli._register()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'dutystation.sqlite3'}")
    migrate(engine)
    world = build_world(engine, tmp_path)
    users = {
        "e1": (Role.EMPLOYEE, "E1"),
        "s1": (Role.SUPERVISOR, "S1"),
        "head": (Role.CERTIFYING_OFFICIAL, None),
        "ra": (Role.RA_COORDINATOR, None),
    }
    for name, (role, employee) in users.items():
        create_user(engine, SYSTEM, name, employee_id=employee, grants=[Grant(role)])
    world.runtime.engine.dispose()
    engine.dispose()
    monkeypatch.setenv("DUTYSTATION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DUTYSTATION_POLICIES_DIR", str(tmp_path / "policies"))
    monkeypatch.setenv("DUTYSTATION_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("DUTYSTATION_AS", raising=False)
    monkeypatch.delenv("DUTYSTATION_DATABASE_URL", raising=False)
    yield tmp_path


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


REQUEST = ["exemptions", "request", "E1", "--category", "compelling_reason"]
REQUEST += ["--start", "2025-02-01", "--end", "2025-03-31", "--justification", "a carer"]


def test_a_request_is_filed_certified_twice_and_shown(env: Path) -> None:
    note = env / "note.txt"
    note.write_text("from the care home", encoding="utf-8")
    assert "filed exemption request 1 for E1: submitted" in ok(
        *REQUEST, "--document", str(note), "--as", "e1"
    )
    first = ok("exemptions", "decide", "1", "--approve", "--reason", "ok", "--as", "s1")
    assert "supervisor's certification recorded; the request is submitted" in first
    second = ok("exemptions", "decide", "1", "--approve", "--reason", "ok", "--as", "head")
    assert "the request is approved from 2025-02-01 to 2025-03-31" in second
    shown = json.loads(ok("exemptions", "show", "1", "--json", "--as", "s1"))
    assert shown["status"] == "approved" and shown["documents"][0]["file_name"] == "note.txt"
    listed = ok("exemptions", "list", "--as", "e1")
    assert " E1 " in listed and "COMP-A" in listed and "1 requests" in listed
    out = env / "copy.txt"
    ok("exemptions", "document", "1", "1", "--out", str(out), "--as", "s1")
    assert out.read_text(encoding="utf-8") == "from the care home"
    assert "expired 1 exemptions: 1" in ok("exemptions", "expire", "--today", "2025-04-01")


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (["--end", "2025-01-01"], 2, "the end date 2025-01-01 is before the start date"),
        (["--category", "lack_of_office_space"], 2, "TEST-RTO@1 does not allow"),
        (["--category", "flu"], 2, "--category 'flu' is not one of"),
    ],
)
def test_bad_requests_are_one_sentence_with_their_exit_code(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, sentence: str
) -> None:
    exit_code, err = fails(capsys, *REQUEST, *args, "--as", "e1")
    assert (exit_code, err.count("\n")) == (code, 1)
    assert sentence in err and "Traceback" not in err


def test_deciding_twice_and_deciding_someone_elses_are_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(*REQUEST, "--as", "e1")
    ok("exemptions", "decide", "1", "--deny", "--reason", "no", "--as", "head")
    decide = ["exemptions", "decide", "1", "--approve", "--reason", "x"]
    code, err = fails(capsys, *decide, "--as", "s1")
    assert code == 1 and "request 1 is already denied; it cannot be decided again" in err
    code, err = fails(capsys, *decide, "--as", "e1")
    assert code == 4 and "may not exemption.certify" in err
    code, err = fails(capsys, "exemptions", "show", "99", "--as", "s1")
    assert code == 1 and "no exemption request 99" in err
