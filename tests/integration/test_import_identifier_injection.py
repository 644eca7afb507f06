"""RELIABILITY T16 ``import_identifier_injection``: column names are data, never identifiers.
Files whose headers are SQL (``x"); DROP TABLE ev;--``), paths (``../``), 10,000 columns
or duplicates change no table or column of the database (SQLite and PostgreSQL), touch no
file outside the data folder, and a header that does not give the profile its columns is
refused with one sentence. Hostile names *beside* the profile's columns are ignored like
any unknown column (docs/profiles.md): they never reach a query, a path or a stored value.

Every case runs on CSV, XLSX and Parquet (the 10,000-column one on CSV).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from dutystation.bootstrap import bootstrap
from dutystation.errors import ImportRejected, InputFileError
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.settings import Settings
from dutystation.store.schema import OrgUnit

SQL = [
    'x"); DROP TABLE ev;--',
    "'; DROP TABLE org_unit; --",
    "org_unit`; DELETE FROM audit_record; --",
    "name) VALUES ('x'); DROP TABLE import_batch; --",
]
PATHS = ["../../../../evil.csv", "/tmp/evil.csv", "..\\..\\evil.csv", "C:\\evil.csv", "~/evil"]
UNITS = [("DEPT", "Department", "", "department"), ("COMP-A", "Component A", "DEPT", "component")]
FORMATS = ["csv", "xlsx", "parquet"]


def write(folder: Path, fmt: str, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    path = folder / f"units.{fmt}"
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    elif fmt == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(header)
        for row in rows:
            sheet.append(list(row))
        book.save(path)
    else:
        columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(header))]
        pq.write_table(pa.Table.from_arrays(columns, names=header), path)
    return path


def schema_of(engine: Engine) -> dict[str, Any]:
    found = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"])) for c in found.get_columns(table)],
            sorted(str(i["name"]) for i in found.get_indexes(table)),
        )
        for table in sorted(found.get_table_names())
    }


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def place(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A data folder three levels down (so ``../`` has somewhere to go) and its runtime."""
    data = tmp_path / "a" / "b" / "data"
    sources = tmp_path / "a" / "b" / "sources"
    sources.mkdir(parents=True)
    runtime = bootstrap(Settings(data_dir=data, database_url=db_url))
    yield {"runtime": runtime, "engine": engine, "sources": sources, "root": tmp_path}
    runtime.engine.dispose()


def attempt(place: dict[str, Any], path: Path) -> Exception | None:
    """Import ``path`` as org units; the refusal, or None when it was stored."""
    engine: Engine = place["engine"]
    root: Path = place["root"]
    schema, before = schema_of(engine), files_under(root)
    try:
        run_import(place["runtime"], ImportKind.ORG_UNITS, [path])
        outcome: Exception | None = None
    except (InputFileError, ImportRejected) as exc:
        outcome = exc
    assert schema_of(engine) == schema
    data: Path = place["runtime"].settings.data_dir
    new = {p for p in files_under(root) - before if data not in p.parents}
    assert new == set(), f"files written outside the data folder: {new}"
    assert not any(p.name.startswith("evil") for p in files_under(root) if p.parent != path.parent)
    return outcome


def one_sentence(exc: Exception | None) -> str:
    assert isinstance(exc, InputFileError), exc
    assert "\n" not in exc.reason and "Traceback" not in exc.reason
    return exc.reason


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("hostile", [SQL, PATHS], ids=["sql", "paths"])
def test_a_header_of_hostile_names_is_refused_with_one_sentence(
    place: dict[str, Any], fmt: str, hostile: list[str]
) -> None:
    rows = [tuple(f"v{i}" for i in range(len(hostile)))]
    reason = one_sentence(attempt(place, write(place["sources"], fmt, hostile, rows)))
    assert reason.startswith("required column 'org_unit' is missing (")


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_beside_the_profiles_columns_are_ignored(
    place: dict[str, Any], fmt: str
) -> None:
    header = ["org_unit", *SQL, "name", *PATHS, "parent", "kind"]
    rows = [(u[0], *["DROP"] * len(SQL), u[1], *["../x"] * len(PATHS), u[2], u[3]) for u in UNITS]
    assert attempt(place, write(place["sources"], fmt, header, rows)) is None
    with Session(place["engine"]) as session:
        stored = session.execute(select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code))
        assert [tuple(r) for r in stored] == [("COMP-A", "Component A"), ("DEPT", "Department")]


def test_ten_thousand_columns_are_refused_with_one_sentence(place: dict[str, Any]) -> None:
    header = ["org_unit", "name", *(f"c{i}; DROP TABLE t{i}" for i in range(9_998))]
    rows = [("DEPT", "Department", *[""] * 9_998)]
    reason = one_sentence(attempt(place, write(place["sources"], "csv", header, rows)))
    assert reason == (
        "the header has 10,000 columns, more than 1,000; export only the columns the profile maps"
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "names", [("org_unit", "ORG-UNIT"), (SQL[0], SQL[0]), (PATHS[0], PATHS[0])], ids=str
)
def test_a_name_given_twice_is_refused_with_one_sentence(
    place: dict[str, Any], fmt: str, names: tuple[str, str]
) -> None:
    header = ["org_unit", "name", *names] if names[0] != "org_unit" else ["name", *names]
    rows = [tuple("x" for _ in header)]
    reason = one_sentence(attempt(place, write(place["sources"], fmt, header, rows)))
    assert reason.startswith("the header names this column twice (columns ")
