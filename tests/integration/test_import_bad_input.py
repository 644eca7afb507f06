"""RELIABILITY T24: the bad-input corpus. Every line of the catalogue (RELIABILITY.md
section (c), C1-C9) is a case in tests/fixtures/bad_input/cases.yaml with the outcome the
product gives; each runs through ``run_import`` (what ``dutystation import KIND`` runs)
into a fresh copy of a small organisation and must match exactly:

* accepted / normalised files store the rows they should, with the values they should;
* rejected rows are listed in the quarantine file with line, column and reason — every
  one of them and no other — and no message repeats a value of a rejected row;
* refused files name the line and column where it helps, in one sentence;
* cases tested elsewhere name that test, and it must exist;
* where the outcome differs from the catalogue, docs/importing.md says why.

The files are written by tests/fixtures/bad_input/make_files.py; the large, binary and
time-relative inputs by the builders below.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from import_world import ROSTER_DAY, build_world, employees, stored_events, write_csv
from sqlalchemy import text

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.values import REASONS as RECORD_REASONS
from dutystation.errors import ImportHeld, ImportRejected, InputFileError
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.quarantine import REASONS as EVENT_REASONS
from dutystation.ingest.summary import ImportSummary
from dutystation.services.importing import ImportOptions, run_import
from dutystation.settings import Settings

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "bad_input"
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "cases.yaml").read_text("utf-8"))
OUTCOMES = {
    "accept",
    "normalise",
    "reject_rows",
    "quarantine",
    "reject_file",
    "held",
    "covered_elsewhere",
}
BADGES = "employee_id,timestamp,site_id,direction"
ROSTER = "employee_id,name,org_unit,duty_station,arrangement,effective_date"
DIFFERENCES = "## Where we differ from the bad-input catalogue"


# --------------------------------------------------------------------------- builders


def _parquet(path: Path, columns: dict[str, pa.Array | list[Any]], **options: Any) -> Path:
    pq.write_table(pa.table(columns), path, **options)
    return path


def _badge_columns(employee: Any, stamp: Any) -> dict[str, Any]:
    n = len(employee)
    return {
        "employee_id": employee,
        "timestamp": stamp,
        "site_id": ["NYC"] * n,
        "direction": ["IN"] * n,
    }


def oversized_value(folder: Path) -> list[Path]:
    row = ["BIG1", "A" * 1_000_000, "C", "NYC", "onsite", "2026-01-05"]
    return [write_csv(folder / "big_value.csv", ROSTER.split(","), [row])]


def oversized_record(folder: Path) -> list[Path]:
    row = ["BIG2", "A" * 3_000_000, "C", "NYC", "onsite", "2026-01-05"]
    return [write_csv(folder / "big_record.csv", ROSTER.split(","), [row])]


def ten_thousand_columns(folder: Path) -> list[Path]:
    extra = [f"x{i}" for i in range(10_000)]
    row = ["ENYC0", "2026-10-06T08:00:00", "NYC", "IN", *("v" for _ in extra)]
    return [write_csv(folder / "wide.csv", [*BADGES.split(","), *extra], [row])]


def future_timestamps(folder: Path) -> list[Path]:
    now = datetime.now(UTC)
    new_york = (now + timedelta(days=1)).astimezone().replace(tzinfo=None)
    rows = [
        ["ENYC0", (now + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ"), "NYC", "IN"],
        ["ENYC0", (now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), "NYC", "IN"],
        ["ENYC0", new_york.isoformat(timespec="seconds"), "NYC", "IN"],  # naive, a day ahead
    ]
    return [write_csv(folder / "future.csv", BADGES.split(","), rows)]


def partial_snapshot(folder: Path) -> list[Path]:
    """13 of the 19 active employees, unchanged otherwise: 6 would be separated."""
    staff = list(employees(2).items())[:13]
    rows = [[e, f"Person {e}", "C", site, "onsite", "2026-02-02"] for e, site in staff]
    return [write_csv(folder / "snapshot.csv", ROSTER.split(","), rows)]


def parquet_named_csv(folder: Path) -> list[Path]:
    return [_parquet(folder / "badges.csv", _badge_columns(["ENYC0"], ["2026-10-06T08:00:00"]))]


def parquet_int64_id(folder: Path) -> list[Path]:
    columns = _badge_columns(pa.array([12345], pa.int64()), ["2026-10-06T08:00:00"])
    return [_parquet(folder / "int_ids.parquet", columns)]


INT96 = "use_deprecated_int96_timestamps"


def parquet_timestamp_units(folder: Path) -> list[Path]:
    """The same kind of column written four ways: ns in UTC (12:00Z), us naive (09:00
    New York = 13:00Z), ms in America/New_York (10:00 local = 14:00Z), INT96 naive
    (11:00 New York = 15:00Z)."""
    day = datetime(2026, 10, 6)
    written = [
        ("ns", pa.timestamp("ns", "UTC"), day.replace(hour=12, tzinfo=UTC), {}),
        ("us", pa.timestamp("us"), day.replace(hour=9), {}),
        ("ms", pa.timestamp("ms", "America/New_York"), day.replace(hour=14, tzinfo=UTC), {}),
        ("int96", pa.timestamp("ns"), day.replace(hour=11), {INT96: True}),
    ]  # fmt: skip
    return [
        _parquet(folder / f"{name}.parquet", _badge_columns(["ENYC0"], pa.array([at], kind)), **o)
        for name, kind, at, o in written
    ]


def parquet_nulls(folder: Path) -> list[Path]:
    columns = _badge_columns(["ENYC0", None], ["2026-10-06T08:00:00", "2026-10-06T09:00:00"])
    return [_parquet(folder / "nulls.parquet", columns)]


def parquet_dictionary(folder: Path) -> list[Path]:
    columns = _badge_columns(
        pa.array(["ENYC0"]).dictionary_encode(), pa.array(["2026-10-06T08:00:00"])
    )
    columns["site_id"] = pa.array(["NYC"]).dictionary_encode()
    return [_parquet(folder / "dictionary.parquet", columns)]


def parquet_nested(folder: Path) -> list[Path]:
    columns = _badge_columns(pa.array([["ENYC0"]]), ["2026-10-06T08:00:00"])
    return [_parquet(folder / "nested.parquet", columns)]


def parquet_zero_rows(folder: Path) -> list[Path]:
    empty = pa.array([], pa.string())
    columns = dict.fromkeys(BADGES.split(","), empty)
    return [_parquet(folder / "zero.parquet", columns)]


def parquet_huge_row_group(folder: Path) -> list[Path]:
    n = 200_000
    people = list(employees(2))
    start = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    columns = {
        "employee_id": [people[i % len(people)] for i in range(n)],
        "timestamp": pa.array(
            [start + timedelta(seconds=i) for i in range(n)], pa.timestamp("s", "UTC")
        ),
        "site_id": ["NYC"] * n,
        "direction": ["IN"] * n,
    }  # fmt: skip
    return [_parquet(folder / "huge.parquet", columns, row_group_size=n)]


BUILDERS: dict[str, Callable[[Path], list[Path]]] = {
    f.__name__: f
    for f in (
        oversized_value,
        oversized_record,
        ten_thousand_columns,
        future_timestamps,
        partial_snapshot,
        parquet_named_csv,
        parquet_int64_id,
        parquet_timestamp_units,
        parquet_nulls,
        parquet_dictionary,
        parquet_nested,
        parquet_zero_rows,
        parquet_huge_row_group,
    )
}


# --------------------------------------------------------------------------- the world


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The organisation of import_world plus employee 00012345, built once."""
    root = tmp_path_factory.mktemp("bad-input-world")
    runtime = build_world(root, per_site=2)
    extra = write_csv(
        root / "zeros.csv",
        ROSTER.split(","),
        [["00012345", "Zero Padded", "C", "NYC", "onsite", ROSTER_DAY]],
    )
    run_import(runtime, ImportKind.ROSTER, [extra])
    runtime.engine.dispose()
    return root / "data"


@pytest.fixture
def runtime(template: Path, tmp_path: Path) -> Iterator[Runtime]:
    data = tmp_path / "data"
    shutil.copytree(template, data)
    made = bootstrap(Settings(data_dir=data))
    yield made
    made.engine.dispose()


def _inputs(case: dict[str, Any], folder: Path) -> list[Path]:
    if "build" in case:
        return BUILDERS[case["build"]](folder)
    copy = folder / case["file"]
    shutil.copyfile(FIXTURES / case["file"], copy)
    return [copy]


def _stored_rows(runtime: Runtime, kind: str) -> list[dict[str, Any]]:
    if kind in ("badges", "timecards"):
        rows: list[dict[str, Any]] = stored_events(runtime).to_pylist()
        return rows
    query = {
        "roster": "SELECT e.employee_id, e.name, a.telework_eligible FROM employee e "
        "JOIN employee_assignment a ON a.employee_pk = e.id",
        "offices": "SELECT site_id, name, address FROM office",
        "org-units": "SELECT code AS org_unit, name FROM org_unit",
    }[kind]
    with runtime.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(query))]


def _matches(row: dict[str, Any], expected: dict[str, Any]) -> bool:
    for key, want in expected.items():
        got = row.get(key)
        if isinstance(want, str) and not isinstance(got, str) and got is not None:
            got = str(got)
        if got != want:
            return False
    return True


def _quarantined(path: Path | None) -> list[list[Any]]:
    assert path is not None, "rows were rejected but no quarantine file was written"
    with path.open(newline="", encoding="utf-8") as fh:
        return sorted(
            [int(r["line"]), r["column"] or None, r["reason"]] for r in csv.DictReader(fh)
        )


def _values_of_lines(paths: list[Path], lines: set[int]) -> set[str]:
    """Distinctive cell values of the given records (line = record number, header = 1):
    what no message may repeat. Words of our own reason sentences are not distinctive."""
    sentences = [*RECORD_REASONS.values(), *EVENT_REASONS.values()]
    values: set[str] = set()
    limit = csv.field_size_limit(1 << 30)  # the corpus has values of several MB
    try:
        for path in paths:
            raw = path.read_bytes()
            if raw.startswith(b"PAR1"):
                continue
            decoded = raw.decode("utf-8", errors="ignore").lstrip("\ufeff")
            records = csv.reader(io.StringIO(decoded, newline=""))
            for number, record in enumerate(records, start=1):
                if number in lines:
                    values.update(
                        cell
                        for cell in record
                        if len(cell.strip()) >= 4 and not any(cell in s for s in sentences)
                    )
    finally:
        csv.field_size_limit(limit)
    return values


def _messages(summary_or_error: ImportSummary | Exception) -> str:
    if isinstance(summary_or_error, ImportRejected):
        return str(summary_or_error) + "".join(r.message for r in summary_or_error.rejections)
    return str(summary_or_error)


# --------------------------------------------------------------------------- the corpus


def test_every_case_is_well_formed_and_every_section_is_covered() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in CASES:
        assert case["outcome"] in OUTCOMES, case["id"]
        assert case["case"] and case["catalogue"], case["id"]
        if case["outcome"] != "covered_elsewhere":
            assert ("file" in case) != ("build" in case), case["id"]
            assert ImportKind(case["kind"]), case["id"]
    sections = {case["id"].split("-")[0] for case in CASES}
    assert sections == {f"C{n}" for n in range(1, 10)}
    used = {c.get("file") for c in CASES} | {c.get("profile") for c in CASES}
    stored = {p.name for p in FIXTURES.iterdir() if p.suffix not in (".py", ".yaml")}
    assert stored == used - {None}, "fixture files without a case, or cases without a file"


def test_every_difference_from_the_catalogue_is_documented() -> None:
    docs = (REPO / "docs" / "importing.md").read_text("utf-8")
    assert DIFFERENCES in docs
    section = docs.split(DIFFERENCES, 1)[1].split("\n## ", 1)[0]
    for case in CASES:
        if "differs" in case:
            assert f"`{case['id']}`" in section, case["id"]


def _run(runtime: Runtime, case: dict[str, Any], paths: list[Path]) -> ImportSummary:
    profile = FIXTURES / case["profile"] if "profile" in case else None
    options = ImportOptions(profile, snapshot=bool(case.get("snapshot", False)))
    return run_import(runtime, ImportKind(case["kind"]), paths, options)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_the_product_gives_each_case_its_expected_outcome(
    case: dict[str, Any], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    outcome = case["outcome"]
    if outcome == "covered_elsewhere":
        path, name = case["test"].split("::")
        assert f"def {name}(" in (REPO / path).read_text("utf-8"), case["test"]
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    folder = tmp_path / "inputs"
    folder.mkdir()
    paths = _inputs(case, folder)
    never_shown = list(case.get("never_shown", []))

    if outcome in ("accept", "normalise"):
        summary = _run(runtime, case, paths)
        assert summary.rejections == [], [(r.reason, r.first_line) for r in summary.rejections]
        assert summary.rows_stored == case["stored"]
        if "duplicates" in case:
            assert summary.duplicates == case["duplicates"]
        rows = _stored_rows(runtime, case["kind"])
        for expected in case.get("values", []):
            assert any(_matches(row, expected) for row in rows), (expected, rows[:5])
        return

    if outcome in ("reject_rows", "quarantine"):
        with pytest.raises(ImportRejected) as refused:
            _run(runtime, case, paths)
        found = _quarantined(refused.value.quarantine_file)
        assert found == sorted(case["rejections"])
        for line, column, reason in found:  # row + column + reason, always
            assert line >= 2 and reason
            assert column or reason == "malformed_row"  # an unsplittable row has no column
        never_shown += _values_of_lines(paths, {line for line, _, _ in found})
        error: Exception = refused.value
    elif outcome == "reject_file":
        with pytest.raises(InputFileError) as refused_file:
            _run(runtime, case, paths)
        error = refused_file.value
        assert re.search(case["match"], str(error)), str(error)
        if "line" in case:
            assert error.where.line == case["line"]
        if "column" in case:
            assert error.where.column == case["column"]
        never_shown += _values_of_lines(paths, set(range(2, 50)))
    else:
        assert outcome == "held"
        with pytest.raises(ImportHeld) as held:
            _run(runtime, case, paths)
        error = held.value
        assert re.search(case["match"], str(error)), str(error)
    shown = _messages(error)
    leaked = [value for value in never_shown if value in shown]
    assert not leaked, leaked
    # Nothing of a refused batch was stored.
    if case["kind"] in ("badges", "timecards"):
        assert not runtime.events.manifests(), "a refused batch left a manifest"
