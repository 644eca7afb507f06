"""RELIABILITY T04 for the exemption workflow, through the command line on the demo
department: a medical request whose justification, document file name, document bytes
and certifiers' reasons carry a unique canary goes through filing, both certifications
and a revocation; then every role but the RA coordinator lists and shows it, tries its
document, and the reports run in every format, and the audit trail is exported.

Pass figure: 0 canary occurrences in any command output (stdout and stderr), report
file, audit export, non-medical table, or any file under the data dir (the medical store
is sealed, so its files do not show it either); the RA coordinator does see it (the
control that proves the canary went in)."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from dutystation import cli
from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.services.demo import run_demo
from dutystation.settings import load_settings
from dutystation.store.schema import Base

pytestmark = pytest.mark.slow
cli._register()

CANARY = "CANARY-q7Zx41-medical"
NON_RA = ("emp", "sup", "leader", "head", "tmo", "hr", "auditor")


@dataclass
class Demo:
    data: Path
    files: Path  # outside the data dir: commands' output files
    engine: Engine
    employee: str
    outputs: list[str] = field(default_factory=list)  # everything non-RA commands printed


def run(demo: Demo, *args: str, collect: bool = True, ok: bool = True) -> str:
    result = CliRunner().invoke(app, list(args))
    printed = result.stdout + result.stderr + (repr(result.exception) if result.exception else "")
    if collect:
        demo.outputs.append(printed)
    if ok:
        assert result.exit_code == 0, (args, printed)
    return result.stdout


def _pick_employee(engine: Engine) -> tuple[str, str, str]:
    """A teleworker with one roster version since 2024, a supervisor, and no request yet:
    (employee id, supervisor's id, component)."""
    query = text(
        """
        SELECT e.employee_id, s.employee_id, o.code
        FROM employee_assignment a
        JOIN employee e ON e.id = a.employee_pk
        JOIN employee s ON s.id = a.supervisor_pk
        JOIN org_unit o ON o.id = a.org_unit_id
        WHERE a.effective_to IS NULL AND a.arrangement = 'telework'
          AND a.effective_from <= '2025-01-01' AND o.code LIKE 'DEA-ECA%'
          AND (SELECT count(*) FROM employee_assignment b WHERE b.employee_pk = a.employee_pk) = 1
          AND NOT EXISTS (SELECT 1 FROM exemption_request r WHERE r.employee_pk = e.id)
        ORDER BY e.employee_id
        """
    )
    with engine.connect() as conn:
        employee, supervisor, _ = conn.execute(query).first() or ("", "", "")
    return employee, supervisor, "DEA-ECA"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("privacy")
    saved = dict(os.environ)
    os.environ.update(
        {
            "DUTYSTATION_DATA_DIR": str(root / "data"),
            "DUTYSTATION_CONFIG": str(root / "none.toml"),
        }
    )
    for key in ("DUTYSTATION_AS", "DUTYSTATION_DATABASE_URL"):
        os.environ.pop(key, None)
    try:
        settings = load_settings()
        run_demo(settings, employees=1000, people=False)  # the test makes its own users
        runtime = bootstrap(settings)
        employee, supervisor, component = _pick_employee(runtime.engine)
        files = root / "files"
        files.mkdir()
        found = Demo(root / "data", files, runtime.engine, employee)
        _file_certify_and_revoke(found, supervisor, component)
        yield found
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _file_certify_and_revoke(demo: Demo, supervisor: str, component: str) -> None:
    run(demo, "users", "create", "admin", "--role", "agency_admin", "--bootstrap")
    users = {
        "emp": ("employee", demo.employee, None),
        "sup": ("supervisor", supervisor, None),
        "leader": ("leader", None, component),
        "head": ("certifying_official", None, None),
        "tmo": ("tmo", None, None),
        "hr": ("hr", None, None),
        "auditor": ("auditor", None, None),
        "ra": ("ra_coordinator", None, None),
    }
    for name, (role, employee, scope) in users.items():
        args = ["users", "create", name, "--role", role, "--as", "admin"]
        args += ["--employee", employee] if employee else []
        args += ["--scope", scope] if scope else []
        run(demo, *args)
    justification = demo.files / "why.txt"
    justification.write_text(f"diagnosis {CANARY}: limitations {CANARY}", encoding="utf-8")
    letter = demo.files / f"{CANARY}-cardiology.pdf"
    letter.write_bytes(b"%PDF-1.4\n% " + CANARY.encode() + b"\n%%EOF\n")
    filing = ["exemptions", "request", demo.employee, "--category", "medical_condition"]
    filing += ["--start", "2025-02-24", "--end", "2025-03-31"]
    filing += ["--justification-file", str(justification), "--document", str(letter)]
    out = run(demo, *filing, "--as", "emp")
    request_id = out.split("request ")[1].split(" ")[0]
    decide = ["exemptions", "decide", request_id, "--approve", "--reason"]
    run(demo, *decide, f"saw the {CANARY} letter", "--as", "sup")
    assert "the request is approved" in run(demo, *decide, f"{CANARY} ok", "--as", "leader")
    revoke = ["exemptions", "revoke", request_id, "--from", "2025-03-24", "--reason"]
    run(demo, *revoke, f"recovered from {CANARY}", "--as", "head")


def _request_id(demo: Demo) -> str:
    with demo.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT r.id FROM exemption_request r JOIN employee e ON e.id = r.employee_pk "
                "WHERE e.employee_id = :e"
            ),
            {"e": demo.employee},
        ).scalar_one()
    return str(found)


def test_the_ra_coordinator_sees_the_medical_content(demo: Demo) -> None:
    """The control: the canary did go in, and only the medical store holds it."""
    rid = _request_id(demo)
    view = json.loads(run(demo, "exemptions", "show", rid, "--json", "--as", "ra", collect=False))
    assert CANARY in view["justification"]
    assert view["medical_documents"][0]["file_name"].startswith(CANARY)
    assert all(CANARY in note for note in view["medical_notes"].values())
    assert len(view["medical_notes"]) == 3  # two certifications and the revocation
    out = demo.files / "ra-download.pdf"
    run(demo, "exemptions", "document", rid, "1", "--out", str(out), "--as", "ra", collect=False)
    assert CANARY.encode() in out.read_bytes()


def test_no_other_role_sees_the_canary_anywhere(demo: Demo) -> None:
    rid = _request_id(demo)
    for role in NON_RA:
        shown = json.loads(run(demo, "exemptions", "show", rid, "--json", "--as", role))
        assert shown["category_group"] == "medical_disability"
        assert shown["status"] == "revoked"
        run(demo, "exemptions", "show", rid, "--as", role)
        run(demo, "exemptions", "list", "--as", role)
        run(demo, "exemptions", "list", "--json", "--as", role)
        target = demo.files / f"{role}-download.pdf"
        run(demo, "exemptions", "document", rid, "1", "--out", str(target), "--as", role, ok=False)
        assert not target.exists()
    for fmt in ("table", "csv", "json", "xlsx", "html"):
        output = demo.files / f"briefing.{fmt}"
        args = ["report", "briefing", "--format", fmt, "--limit", "0"]
        args += ["--output", str(output)] if fmt in ("xlsx", "html") else []
        run(demo, *args)
    run(demo, "report", "not-returned", "--format", "csv")
    run(demo, "audit", "export", "--out", str(demo.files / "audit.jsonl"), "--as", "auditor")
    run(demo, "audit", "list", "--limit", "0", "--as", "auditor")

    leaks = [f"command output {n}" for n, o in enumerate(demo.outputs) if CANARY in o]
    leaks += _files_with_canary(demo.files, skip={"ra-download.pdf", "why.txt"})
    leaks += _files_with_canary(demo.data, skip=set())
    leaks += _tables_with_canary(demo.engine)
    assert leaks == []
    # The canary's file really was a named upload: only its own file name carries it.
    assert (demo.files / f"{CANARY}-cardiology.pdf").is_file()


def _files_with_canary(folder: Path, skip: set[str]) -> list[str]:
    found = []
    needle = CANARY.encode()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name in skip or path.name.startswith(CANARY):
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(path):  # XLSX: look inside the compressed parts
            with zipfile.ZipFile(path) as archive:
                data += b"".join(archive.read(name) for name in archive.namelist())
        if needle in data:
            found.append(str(path))
    return found


def _tables_with_canary(engine: Engine) -> list[str]:
    found = []
    with engine.connect() as conn:
        for name, table in Base.metadata.tables.items():
            if name.startswith("medical_"):
                continue  # sealed: ciphertext (the files scan above covers its bytes)
            if any(CANARY in repr(tuple(row)) for row in conn.execute(select(table))):
                found.append(f"table {name}")
    return found
