"""RELIABILITY T22 ``backend_parity``: the same fixtures through SQLite and PostgreSQL, with
DuckDB analytics over each one's Parquet event store, give byte-identical reports, and
the same bad rows are rejected with the same row errors.

The fixture is the seeded demo department (1,000 employees: roster history, T&A hours,
badge events, exemptions, agreements, grievances, notices) loaded on both backends, then
the same edge-case files imported into both:

- names and org-unit names in mixed case and with accents ("émile", "Émile", "EMILE",
  combining and precomposed letters), which sort differently under a server's collation;
- empty strings, blanks and ``NULL`` where a value is optional (all mean "no value") and
  where it is required (``missing_value``);
- NUL bytes in a name, an org-unit name, an id, a timestamp and hours (rejected: SQLite
  would store them, PostgreSQL refuses them, so the import must decide first);
- boundary timestamps: the instant clocks spring forward, a microsecond before local
  midnight and the end of a month, UTC offsets of +14:00 and -12:00, and hours that are
  not exact in binary (0.1 + 0.2).

Every report kind (``services.reporting.KINDS``, the CLI's ``ReportKind``) is rendered in
CSV (every section) and JSON, and the bytes are compared.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.errors import DutystationError, ImportRejected
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary
from dutystation.reports import csv as csv_report
from dutystation.reports import json as json_report
from dutystation.services.demo import run_demo
from dutystation.services.importing import ImportOptions, run_import
from dutystation.services.reporting import KINDS, ReportRequest, build_report
from dutystation.settings import Settings
from dutystation.store.db import make_engine, migrate
from dutystation.store.schema import Employee, OrgUnit
from pg_scratch import _maintenance_engine, _postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("parity")]
BACKENDS = ("sqlite", "postgres")
UNIT, OFFICE = "DEA-HQ-CIO", "GA0001"  # a unit and an office of the demo department

ORG_ROWS = [
    ("DEA-T22-A", "Équipe d'été", "DEA", "division"),
    ("DEA-T22-B", "équipe d'hiver", "DEA", "division"),
    ("DEA-T22-C", "EQUIPE", "DEA", "division"),
    ("DEA-T22-D", "Bad\x00Name", "DEA", "division"),  # nul_byte
]
OFFICE_ROWS = [
    ("T22-OF1", "Bureau d'Été", "America/Puerto_Rico", "0", "DEA-T22-A", "18.4655", "-66.1057"),
    ("T22-OF2", "bureau d'été", "Pacific/Guam", "5", "DEA-T22-B", "", ""),
    ("T22-OF3", "Nul\x00Office", "Pacific/Guam", "5", "DEA", "", ""),  # nul_byte
]
ROSTER_HEADER = [
    "employee_id", "name", "email", "org_unit", "duty_station", "arrangement",
    "effective_date", "bargaining_unit", "telework_eligible",
]  # fmt: skip
ROSTER_ROWS = [
    ("T22-001", "émile Zola", "", UNIT, OFFICE, "telework", "2025-03-01", "", "true"),
    ("T22-002", "Émile Zola", "NULL", UNIT, OFFICE, "telework", "2025-03-01", "NULL", "Y"),
    ("T22-003", "EMILE ZOLA", "n/a", "DEA-T22-A", OFFICE, "onsite", "2025-03-01", " ", "no"),
    ("T22-004", "Zoë Ångström", " ", "DEA-T22-B", "T22-OF1", "telework", "2025-03-01", "", ""),
    ("T22-005", "Zoe\u0308 Angstro\u0308m", "z@x.example", "DEA-T22-C", OFFICE, "remote",
     "2025-03-01", "", "1"),
    ("T22-006", "zoe angstrom", "Z@X.example", UNIT, OFFICE, "telework", "2025-03-01", "", ""),
    ("T22-007", "Smith\x00", "", UNIT, OFFICE, "telework", "2025-03-01", "", ""),  # nul_byte
    ("T22-008", "", "", UNIT, OFFICE, "telework", "2025-03-01", "", ""),  # missing_value
    ("T22\x00009", "Nul Id", "", UNIT, OFFICE, "telework", "2025-03-01", "", ""),
]  # fmt: skip
TIMECARD_ROWS = [
    ("T22-001", "2025-03-03", "onsite", "0.1", ""),
    ("T22-001", "2025-03-03", "telework_routine", "0.2", "NULL"),
    ("T22-001", "2025-03-04", "onsite", "7.7", OFFICE),
    ("T22-002", "2025-03-07", "onsite", "8", OFFICE),
    ("T22-002", "2025-03-09", "field_travel", "0.3", ""),
    ("T22-004", "2025-03-05", "leave", "8", ""),
    ("T22-006", "2025-03-06", "onsite", "0.7", OFFICE),
    ("T22-006", "2025-03-06", "telework_situational", "7.3", ""),
    ("T22-001\x00", "2025-03-05", "onsite", "8", ""),  # NUL in the id
    ("T22-002", "2025-03-06", "onsite", "8\x00", ""),  # NUL in the hours
    ("T22-002", "2025-03-05", "onsite", "", ""),  # missing_value
    ("T22-002", "2025-03-04", "onsite", "NULL", ""),  # missing_value
]
BADGE_ROWS = [
    ("T22-001", "2025-03-09T02:00:00-05:00", OFFICE, "IN"),  # the instant clocks spring forward
    ("T22-001", "2025-03-09T03:00:01-04:00", OFFICE, "OUT"),
    ("T22-002", "2025-02-28T23:59:59.999999", OFFICE, "in"),  # a microsecond before March
    ("T22-002", "2025-03-01T00:00:00", OFFICE, "OUT"),
    ("T22-004", "2025-03-01T04:59:59Z", OFFICE, ""),  # local 23:59:59 on 2025-02-28
    ("T22-004", "2025-03-03T00:00:00+14:00", OFFICE, "NULL"),  # 2025-03-02 local
    ("T22-006", "2025-03-03T23:59:59-12:00", OFFICE, "IN"),  # 2025-03-04 local
    ("T22-006", "2025-03-04 08:00", OFFICE, "IN"),
    ("T22-006", "2025-03-04 17:00", OFFICE, "OUT"),
    ("T22-006", "2025-03-05T08:00:00\x00", OFFICE, "IN"),  # NUL in the timestamp
    ("T22-006", "2025-03-05T08:00:00", OFFICE + "\x00", "IN"),  # NUL in the site
    ("T22-006", "", OFFICE, "IN"),  # missing_value
]


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    return path


def edge_files(folder: Path) -> list[tuple[ImportKind, Path]]:
    """The edge-case files, in import order (one folder, so messages name the same paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        (
            ImportKind.ORG_UNITS,
            _write(folder / "org.csv", ["org_unit", "name", "parent", "kind"], ORG_ROWS),
        ),
        (
            ImportKind.OFFICES,
            _write(
                folder / "offices.csv",
                ["site_id", "name", "timezone", "seats", "org_unit", "latitude", "longitude"],
                OFFICE_ROWS,
            ),
        ),
        (ImportKind.ROSTER, _write(folder / "roster.csv", ROSTER_HEADER, ROSTER_ROWS)),
        (
            ImportKind.TIMECARDS,
            _write(
                folder / "timecards.csv",
                ["employee_id", "date", "code", "hours", "site_id"],
                TIMECARD_ROWS,
            ),
        ),
        (
            ImportKind.BADGES,
            _write(
                folder / "badges.csv",
                ["employee_id", "timestamp", "site_id", "direction"],
                BADGE_ROWS,
            ),
        ),
    ]


def _summary(summary: ImportSummary) -> tuple[Any, ...]:
    """What a user is told about an import, without its batch id (random per run)."""
    rejections = tuple(
        (r.reason, r.message, r.count, r.first_file.name, r.first_line, r.column)
        for r in summary.rejections
    )
    return (summary.rows_read, summary.rows_stored, summary.duplicates, rejections,
            summary.stored, tuple(summary.notes))  # fmt: skip


def _quarantine(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def import_edges(runtime: Runtime, folder: Path) -> list[tuple[Any, ...]]:
    """Each edge file imported whole (refused: its row errors) then with
    ``--accept-partial``; what each attempt said, and its quarantine file."""
    said: list[tuple[Any, ...]] = []
    for kind, path in edge_files(folder):
        try:
            run_import(runtime, kind, [path])
            said.append((kind, "stored whole"))
        except ImportRejected as refused:
            rows = tuple(
                (r.reason, r.message, r.count, r.first_file.name, r.first_line, r.column)
                for r in refused.rejections
            )
            # The message names the quarantine file, whose name holds the batch id.
            message = str(refused).replace(str(refused.quarantine_file), "<quarantine>")
            said.append((kind, message, rows, _quarantine(refused.quarantine_file)))
        summary = run_import(runtime, kind, [path], ImportOptions(accept_partial=True))
        said.append((kind, _summary(summary), _quarantine(summary.quarantine_file)))
    return said


@dataclass
class World:
    runtime: Runtime
    edges: list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    base = _postgres_url()
    name = f"dutystation_parity_{uuid.uuid4().hex[:12]}"
    admin = _maintenance_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def worlds(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[dict[str, World]]:
    root = tmp_path_factory.mktemp("parity")
    built: dict[str, World] = {}
    for backend, url in zip(BACKENDS, (None, postgres_url), strict=True):
        settings = Settings(data_dir=root / backend, database_url=url)
        run_demo(settings, employees=1000, out_dir=root / f"demo-{backend}", snapshot=False)
        runtime = bootstrap(settings)
        built[backend] = World(runtime, import_edges(runtime, root / "edge-files"))
    yield built
    for world in built.values():
        world.runtime.engine.dispose()


def rendered(runtime: Runtime, kind: str) -> bytes:
    """The report in JSON, then every section in CSV; or the sentence it was refused with."""
    try:
        report = build_report(runtime, ReportRequest(kind))
    except DutystationError as refused:
        return f"{type(refused).__name__}: {refused}".encode()
    text_out = io.StringIO()
    json_report.write_json(report, text_out)
    out = io.BytesIO()
    out.write(text_out.getvalue().encode())
    for section in report.sections:
        out.write(f"\n--- {section.key}\n".encode())
        csv_report.write_csv(section, out)
    return out.getvalue()


def _first_difference(a: bytes, b: bytes) -> str:
    left, right = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return f"line {i + 1}:\n  sqlite:   {x[:300]}\n  postgres: {y[:300]}"
    return f"lengths differ: {len(left)} and {len(right)} lines"


@pytest.mark.parametrize("kind", KINDS)
def test_every_report_is_byte_identical_on_sqlite_and_postgresql(
    worlds: dict[str, World], kind: str
) -> None:
    sqlite, postgres = (rendered(worlds[b].runtime, kind) for b in BACKENDS)
    assert not sqlite.startswith(b"NoEvidence"), sqlite[:200]
    if kind == "presence":  # the edge cases are in the reports, not only in the store
        assert b"T22-002" in sqlite and b"T22-006" in sqlite
    assert sqlite == postgres, _first_difference(sqlite, postgres)


def test_bad_rows_are_rejected_identically_with_the_same_row_errors(
    worlds: dict[str, World],
) -> None:
    sqlite, postgres = (worlds[b].edges for b in BACKENDS)
    assert sqlite == postgres
    refused = {said[0]: said[2] for said in sqlite if len(said) == 4}
    reasons = {kind: {(r[0], r[4], r[5]) for r in rows} for kind, rows in refused.items()}
    assert ("nul_byte", 5, "name") in reasons[ImportKind.ORG_UNITS]
    assert ("nul_byte", 4, "name") in reasons[ImportKind.OFFICES]
    assert ("nul_byte", 8, "name") in reasons[ImportKind.ROSTER]
    assert ("missing_value", 9, "name") in reasons[ImportKind.ROSTER]
    assert all(kind in reasons for kind in (ImportKind.TIMECARDS, ImportKind.BADGES))


def test_names_and_empty_values_are_stored_identically(worlds: dict[str, World]) -> None:
    stored = {}
    for backend in BACKENDS:
        with worlds[backend].runtime.engine.connect() as conn:
            people = conn.execute(
                select(Employee.employee_id, Employee.name, Employee.email)
                .where(Employee.employee_id.like("T22%"))
                .order_by(Employee.employee_id)
            ).all()
            units = conn.execute(
                select(OrgUnit.code, OrgUnit.name)
                .where(OrgUnit.code.like("DEA-T22%"))
                .order_by(OrgUnit.code)
            ).all()
        stored[backend] = ([tuple(p) for p in people], [tuple(u) for u in units])
    assert stored["sqlite"] == stored["postgres"]
    people = {p[0]: p[1:] for p in stored["sqlite"][0]}
    assert people["T22-001"] == ("émile Zola", None)  # "" is no value
    assert people["T22-002"][1] is None and people["T22-003"][1] is None  # NULL, n/a
    assert people["T22-005"][0] == "Zoe\u0308 Angstro\u0308m"  # kept as written
    assert not any("\x00" in (p[0] + (p[1] or "")) for p in stored["sqlite"][0])
    assert [u[0] for u in stored["sqlite"][1]] == ["DEA-T22-A", "DEA-T22-B", "DEA-T22-C"]
