"""Exporting and searching the audit trail: exports verify offline, a tampered export is
caught, CSV cells are formula-safe yet give back exactly what was hashed, date windows
are one unbroken piece of the chain, and only auditors may read any of it."""

from __future__ import annotations

import csv
import json
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from audit_builders import AUDITOR, CLERK, START, SUPERVISOR, build_chain, head
from sqlalchemy import Engine

from dutystation.domain.access import Actor
from dutystation.errors import Forbidden
from dutystation.reports.spreadsheet_safety import is_formula_like
from dutystation.services.audit import Change, record
from dutystation.services.audit_export import AuditQuery, export_trail, search_trail
from dutystation.services.audit_files import ExportFormat
from dutystation.services.audit_verify import verify, verify_file
from dutystation.store.db import write_transaction

HOSTILE = [
    Change("user.manage", '=HYPERLINK("http://x")', "@SUM(A1)", None, {"name": "-2+3"}),
    Change("user.manage", "", "'quoted", {"x": "=cmd|' /C calc'!A0"}, None),
    Change("user.manage", " +leading", "-12", None, {"tab": "\tX", "cr": "\rY"}),
    Change("user.manage", "'=both", 'plain, with "quotes"\nand a newline', None, None),
    Change("user.manage", "employee", "José Ñúñez", None, {"name": "Zoë 🙂", "nul": "a\x00b"}),
]
EVIL = Actor(user_id=None, username="=evil()", channel="web")


def _chain_with_hostile_text(engine: Engine) -> None:
    build_chain(engine, 12)
    for change in HOSTILE:
        with write_transaction(engine) as conn:
            record(conn, EVIL, change)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_an_export_verifies_offline_to_the_same_head(
    engine: Engine, tmp_path: Path, fmt: ExportFormat
) -> None:
    _chain_with_hostile_text(engine)
    last_seq, last_hash = head(engine)
    out = tmp_path / f"trail.{fmt}"
    done = export_trail(engine, AUDITOR, out, fmt)
    assert (done.records, done.first_seq, done.last_seq) == (last_seq, 1, last_seq)
    result = verify_file(out, expect_head=last_hash)
    assert result.intact and not result.partial
    assert (result.records, result.head_hash, result.anchor_seq) == (last_seq, last_hash, last_seq)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds who did what
    with engine.connect() as conn:  # the export itself is on the trail, chained
        assert verify(conn).records == last_seq + 1


def test_csv_cells_never_start_a_formula(engine: Engine, tmp_path: Path) -> None:
    _chain_with_hostile_text(engine)
    out = tmp_path / "trail.csv"
    export_trail(engine, AUDITOR, out, ExportFormat.CSV)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert [c for c in cells if is_formula_like(c)] == []
    assert "'=evil()" in cells and "'@SUM(A1)" in cells and "'-12" in cells
    assert "''quoted" in cells and "'" in cells  # a leading ' and the empty text, reversibly


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_tampered_export_is_caught_at_the_changed_record(
    engine: Engine, tmp_path: Path, fmt: ExportFormat
) -> None:
    build_chain(engine, 10)
    out = tmp_path / f"trail.{fmt}"
    export_trail(engine, AUDITOR, out, fmt)
    original = out.read_text(encoding="utf-8-sig")
    lines = original.splitlines(keepends=True)
    offset = 1 if fmt is ExportFormat.CSV else 0  # the header
    edited = lines[offset + 6].replace(":00:00+00:00", ":00:01+00:00", 1)  # one second
    assert edited != lines[offset + 6]
    out.write_text("".join([*lines[: offset + 6], edited, *lines[offset + 7 :]]))
    broken = verify_file(out).broken
    assert broken is not None and (broken.seq, broken.kind) == (7, "changed")
    out.write_text("".join(lines[: offset + 3] + lines[offset + 4 :]))  # drop record 4
    broken = verify_file(out).broken
    assert broken is not None and (broken.seq, broken.kind) == (4, "deleted")


def test_a_date_window_is_an_unbroken_piece_of_the_chain(engine: Engine, tmp_path: Path) -> None:
    for day in range(6):  # two records a day
        for hour in (8, 20):
            with write_transaction(engine) as conn:
                at = START + timedelta(days=day, hours=hour - 9)
                record(conn, SUPERVISOR, Change("exemption.certify", "exemption", str(day)), now=at)
    out = tmp_path / "window.jsonl"
    first_day = START.date() + timedelta(days=2)
    done = export_trail(engine, AUDITOR, out, since=first_day, until=first_day + timedelta(days=1))
    assert (done.records, done.first_seq, done.last_seq) == (4, 5, 8)
    result = verify_file(out)
    assert result.intact and result.partial and (result.first_seq, result.head_seq) == (5, 8)
    empty = export_trail(engine, AUDITOR, tmp_path / "none.csv", ExportFormat.CSV,
                         until=START.date() - timedelta(days=1))  # fmt: skip
    assert empty.records == 0 and verify_file(empty.path).records == 0


def test_search_filters_and_lists_newest_first(engine: Engine) -> None:
    build_chain(engine, 16)  # actions cycle through four kinds, actors through four people
    imports = search_trail(engine, AUDITOR, AuditQuery(action="import.*"))
    assert [r["seq"] for r in imports] == [14, 10, 6, 2]
    assert all(r["action"].startswith("import.") for r in imports)
    denied = search_trail(engine, AUDITOR, AuditQuery(outcome="denied", limit=2))
    assert [r["seq"] for r in denied] == [16, 12]
    by_actor = search_trail(engine, AUDITOR, AuditQuery(actor="casey.clerk"))
    assert {r["actor"] for r in by_actor} == {"casey.clerk"} and len(by_actor) == 4
    subject = search_trail(engine, AUDITOR, AuditQuery(subject_id="B0005"))
    assert [(r["seq"], json.loads(r["after"])["rows_stored"]) for r in subject] == [(6, 5)]
    day = START.date()
    assert len(search_trail(engine, AUDITOR, AuditQuery(since=day, until=day, limit=0))) == 15
    assert search_trail(engine, AUDITOR, AuditQuery(action="import_*")) == []  # _ is literal


def test_only_auditors_may_export_or_search(engine: Engine, tmp_path: Path) -> None:
    build_chain(engine, 3)
    with pytest.raises(Forbidden):
        export_trail(engine, CLERK, tmp_path / "x.jsonl")
    with pytest.raises(Forbidden):
        search_trail(engine, SUPERVISOR, AuditQuery())
    assert not (tmp_path / "x.jsonl").exists()


def _reference_verifier() -> str:
    """The stdlib-only verifier printed in docs/audit.md, as written there."""
    doc = (Path(__file__).parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    after = doc.split("A reference verifier", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_reference_verifier_in_the_docs_agrees_with_ours(
    engine: Engine, tmp_path: Path
) -> None:
    _chain_with_hostile_text(engine)
    script = tmp_path / "reference_verifier.py"
    script.write_text(_reference_verifier())
    out = tmp_path / "trail.jsonl"
    export_trail(engine, AUDITOR, out)
    ours = verify_file(out)
    done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"intact up to seq {ours.head_seq}, head hash {ours.head_hash}"
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace('"channel": "', '"channel": "x', 1)
    out.write_text("".join(lines))
    done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip() == "broken at seq 5"
