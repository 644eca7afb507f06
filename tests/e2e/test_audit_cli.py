"""``dutystation audit`` as a user runs it: real processes on a real data directory. Exit
codes: 0 when the chain is intact, 1 when it is broken (one sentence naming the record),
4 for a user whose roles do not allow reading the trail, 2 for a configuration mistake."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM
from dutystation.ingest.fields import ImportKind
from dutystation.services.accounts import bootstrap_admin, create_user, load_actor
from dutystation.services.audit_verify import verify_trail
from dutystation.services.importing import run_import
from dutystation.settings import Settings


def _run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data)}
    env.pop("DUTYSTATION_DATABASE_URL", None)
    env.pop("DUTYSTATION_AS", None)
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory with an administrator, a user without roles, and an import (set
    up in-process: only the audit commands themselves run as separate processes)."""
    data = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=data))
    bootstrap_admin(runtime.engine, "admin")
    with runtime.engine.connect() as conn:
        admin = load_actor(conn, "admin")
    create_user(runtime.engine, admin, "pat")
    units = tmp_path / "org.csv"
    units.write_text("org_unit,name,parent,kind\nD,Dept,,department\nC,Comp,D,component\n")
    run_import(runtime, ImportKind.ORG_UNITS, [units])
    runtime.engine.dispose()
    return data


def _head(data: Path) -> str:
    engine = Runtime(Settings(data_dir=data)).engine
    try:
        return verify_trail(engine, SYSTEM).head_hash
    finally:
        engine.dispose()


def _tamper(data: Path, statement: str) -> None:
    """What someone with write access to the database file could do."""
    conn = sqlite3.connect(data / "dutystation.sqlite3")
    conn.executescript(
        "DROP TRIGGER audit_record_no_update; DROP TRIGGER audit_record_no_delete;" + statement
    )
    conn.close()


def test_verify_export_and_list_on_an_intact_trail(data: Path, tmp_path: Path) -> None:
    verified = _run(data, "audit", "verify", "--as", "admin")
    assert verified.returncode == 0, verified.stderr
    assert "the audit trail is intact: 3 records (seq 1..3), head hash " in verified.stdout
    head = verified.stdout.split("head hash ")[1].split()[0]
    out = tmp_path / "trail.csv"
    exported = _run(data, "audit", "export", "--as", "admin", "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert f"wrote 3 audit records (seq 1..3) to {out}" in exported.stdout
    offline = _run(data, "audit", "verify", "--file", str(out), "--expect-head", head)
    assert offline.returncode == 0, offline.stderr
    assert "intact: 3 records" in offline.stdout and "expected head is record 3" in offline.stdout
    listed = _run(data, "audit", "list", "--as", "admin", "--action", "import.*")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("#3  ") and "admin" not in listed.stdout
    assert "system (system)  import.org-units  allowed  import_batch " in listed.stdout
    assert '    after: {"files":["org.csv"],"rows_read":2,' in listed.stdout


def test_a_broken_chain_exits_1_with_one_sentence_naming_the_record(data: Path) -> None:
    _tamper(data, "UPDATE audit_record SET actor = 'mallory' WHERE seq = 2;")
    broken = _run(data, "audit", "verify", "--as", "admin")
    assert broken.returncode == 1
    assert broken.stdout == ""
    assert broken.stderr.strip() == (
        "error: the audit trail is broken at seq 2: record 2 was changed after it was "
        "written (its hash does not match its contents)"
    )


def test_a_removed_tail_is_caught_by_the_head_written_down_earlier(data: Path) -> None:
    head = _head(data)
    _tamper(data, "DELETE FROM audit_record WHERE seq = 3;")  # alone, the rest looks fine
    anchored = _run(data, "audit", "verify", "--as", "admin", "--expect-head", head)
    assert anchored.returncode == 1
    assert "broken at seq 3: the expected head" in anchored.stderr
    assert len(anchored.stderr.strip().splitlines()) == 1


def test_a_user_without_the_auditor_role_is_refused(data: Path) -> None:
    refused = _run(data, "audit", "verify", "--as", "pat")
    assert refused.returncode == 4
    assert refused.stderr.strip() == "error: user 'pat' may not audit.read"
    nobody = _run(data, "audit", "list")
    assert nobody.returncode == 2 and "--as" in nobody.stderr


def test_granting_an_app_role_on_sqlite_is_a_configuration_mistake(tmp_path: Path) -> None:
    done = _run(tmp_path / "data", "db", "grant-app-role", "dutystation_app")
    assert done.returncode == 2
    assert "for PostgreSQL" in done.stderr
