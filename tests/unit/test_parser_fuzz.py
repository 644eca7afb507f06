"""RELIABILITY T25: the parsers under Hypothesis. Whatever the bytes, each one answers with
a value, a row rejection, or one of the import errors (``InputFileError``,
``ImportRejected``) — never another exception — and no input takes more than a second.

Targets: the CSV reader with its dialect detection and header mapper (``open_source``
over generated files: encodings, BOMs, delimiters, ``sep=`` lines, quoting, line endings,
random bytes), the badge timestamp parser (``BadgeChecker``, checked against the zoneinfo
reference as well), the roster/org-unit/office row validators, and the Parquet loader
(mutated files, read in a child process so that a crash in the native reader would be
reported, not fatal).

CI runs about a minute in all; ``DUTYSTATION_TEST_PROFILE=nightly`` runs 50 times as many
examples per target (and ``DUTYSTATION_FUZZ_SCALE`` any multiple).
"""

from __future__ import annotations

import codecs
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dutystation.domain.org import validate_office_row, validate_org_unit_row
from dutystation.domain.roster_rows import RosterRow, validate_roster_row
from dutystation.domain.timestamps import WallTimeKind, resolve_wall_time
from dutystation.domain.values import Rejection
from dutystation.errors import ImportRejected, InputFileError
from dutystation.events.store import EventStore
from dutystation.ingest.badges import BadgeChecker, BadgeRules
from dutystation.ingest.fields import FIELDS, ImportKind
from dutystation.ingest.profiles import Profile, default_profile
from dutystation.ingest.quarantine import REASONS as EVENT_REASONS
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.ingest.sources import open_source

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
SCALE = float(os.environ.get("DUTYSTATION_FUZZ_SCALE", 50 if NIGHTLY else 1))
ALLOWED = (InputFileError, ImportRejected)  # the import-error family a parser may raise
SECOND = 1.0  # no single input may take longer


def budget(examples: int) -> Any:
    """Hypothesis settings for one target: ``examples`` in CI, scaled at night. The
    per-input limit is checked by ``timed`` (wall time of the parser alone), not by
    Hypothesis's deadline, which would also count data generation."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class timed:
    """Fail when the block takes more than a second of CPU time (all threads of this
    process). CPU time, not wall time: on a shared 2-core box other jobs stretch wall
    time several-fold, which would say nothing about the parser."""

    def __enter__(self) -> None:
        self.started = time.process_time()

    def __exit__(self, *exc: object) -> None:
        took = time.process_time() - self.started
        assert took <= SECOND, f"one input took {took:.2f} s of CPU"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    # Module-scoped: Hypothesis reruns the test body, and function fixtures are not reset.
    with tempfile.TemporaryDirectory(prefix="dutystation-fuzz-") as folder:
        yield Path(folder)


# --------------------------------------------------------------------------- CSV reader

KINDS = [ImportKind.BADGES, ImportKind.ROSTER, ImportKind.OFFICES]
CELL = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\t|\"'\r\n =+-@\\\x00 0123456789:TZ.")),
        st.characters(codec="utf-8"),
        st.sampled_from(["\u200b", "\ufeff", "\u202e", "\u0301", "é", "€", "\U0001f600"]),
    ),
    max_size=12,
)


@st.composite
def delimited_files(draw: st.DrawFn) -> tuple[ImportKind, bytes, str | None]:
    """(kind, file bytes, declared delimiter): a header made of the kind's column names
    and noise, rows of awkward cells, in any encoding, dialect and line ending."""
    kind = draw(st.sampled_from(KINDS))
    names = [f.name for f in FIELDS[kind]]
    header = draw(
        st.lists(
            st.one_of(st.sampled_from(names), st.sampled_from([n.upper() for n in names]), CELL),
            min_size=1,
            max_size=8,
        )
    )
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", ":"]))
    rows = draw(st.lists(st.lists(CELL, max_size=10), max_size=12))
    quoting = draw(st.sampled_from(["minimal", "all", "none"]))
    out = io.StringIO()
    for record in [header, *rows]:
        cells = []
        for cell in record:
            if quoting == "all" or (
                quoting == "minimal" and any(c in cell for c in delimiter + '"\r\n')
            ):
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        out.write(delimiter.join(cells) + draw(st.sampled_from(["\n", "\r\n", "\r", ""])))
    text = out.getvalue()
    if draw(st.booleans()):
        text = f"sep={delimiter}\n" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if encoding == "utf-16-be" and draw(st.booleans()):
        data = codecs.BOM_UTF16_BE + data
    if draw(st.integers(0, 9)) == 0 and data:  # flip a byte
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    declared = draw(st.sampled_from([None, None, ",", ";", "tab", "|"]))
    return kind, data, declared


def read_everything(path: Path, profile: Profile) -> int:
    """Open and read a file as an import does; for the roster also validate each row."""
    rows = 0
    try:
        source = open_source(path, profile, batch_rows=7)
        for batch in source.batches():
            rows += batch.num_rows
            if profile.kind is ImportKind.ROSTER:
                names = [n for n in batch.schema.names if n != "_line"]
                for values in zip(*(batch.column(n).to_pylist() for n in names), strict=True):
                    result = validate_roster_row(dict(zip(names, values, strict=True)))
                    assert isinstance(result, RosterRow | Rejection)
        for line, reason in source.malformed_rows:
            assert line >= 1 and reason
    except ALLOWED as exc:
        assert str(exc)  # one sentence, never empty
    return rows


@budget(400)
@given(case=delimited_files())
def test_the_csv_reader_and_header_mapper_never_fail_outside_the_import_errors(
    case: tuple[ImportKind, bytes, str | None], scratch: Path
) -> None:
    kind, data, declared = case
    path = scratch / "fuzz.csv"
    path.write_bytes(data)
    profile = default_profile(kind)
    profile.source.delimiter = declared
    with timed():
        read_everything(path, profile)


@budget(200)
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".csv", ".txt", ".gz", ".bin"]))
def test_arbitrary_bytes_are_read_or_refused_in_one_sentence(
    data: bytes, suffix: str, scratch: Path
) -> None:
    path = scratch / f"bytes{suffix}"
    path.write_bytes(data)
    with timed():
        read_everything(path, default_profile(ImportKind.BADGES))


# --------------------------------------------------------------------------- timestamps

ZONES = {
    "NYC": "America/New_York",
    "PHX": "America/Phoenix",
    "ANC": "America/Anchorage",
    "HNL": "Pacific/Honolulu",
    "GUM": "Pacific/Guam",
    "LHI": "Australia/Lord_Howe",  # a half-hour DST change
}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROWS = 8


@pytest.fixture(scope="module")
def checker(scratch: Path) -> Iterator[BadgeChecker]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    reference = ReferenceData(
        pa.table({"employee_id": [f"E{i}" for i in range(ROWS)]}, schema=EMPLOYEES_SCHEMA),
        BADGES_SCHEMA.empty_table(),
        pa.table({"site_id": list(ZONES), "timezone": list(ZONES.values())}, schema=SITES_SCHEMA),
    )
    rules = BadgeRules(earliest=date(2000, 1, 1), now=NOW, future_tolerance=timedelta(minutes=5))
    yield BadgeChecker(con, reference, rules, EventStore(scratch / "events"))
    con.close()


WALLS = st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2027, 12, 31))
NEAR_CHANGES = st.builds(
    lambda day, minutes: datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes),
    st.sampled_from([date(2026, 3, 8), date(2026, 11, 1), date(2026, 4, 5), date(2026, 10, 4)]),
    st.integers(0, 24 * 60 - 1),
)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> tuple[str, datetime | None]:
    """(text, the naive wall time it spells, if it is a plain ISO wall time)."""
    wall = draw(st.one_of(WALLS, NEAR_CHANGES))
    form = draw(st.integers(0, 5))
    if form == 0:
        wall = wall.replace(microsecond=0)
        return wall.isoformat(sep=draw(st.sampled_from(["T", " "])), timespec="seconds"), wall
    if form == 1:
        return wall.strftime("%Y-%m-%dT%H:%M"), wall.replace(second=0, microsecond=0)
    if form == 2:
        hours = draw(st.integers(-16, 16))
        minutes = draw(st.sampled_from([0, 30, 45]))
        sign = "-" if hours < 0 else "+"
        tail = draw(st.sampled_from([f"{sign}{abs(hours):02d}:{minutes:02d}", "Z", "z"]))
        return wall.isoformat(timespec="seconds") + tail, None
    if form == 3:  # ISO text cut, padded or mixed with noise
        text = wall.isoformat(timespec="microseconds")
        cut = draw(st.integers(0, len(text)))
        return text[:cut] + draw(CELL), None
    return draw(CELL), None


@budget(200)
@given(
    batch=st.lists(
        st.tuples(timestamp_texts(), st.sampled_from(list(ZONES)), CELL), min_size=1, max_size=ROWS
    )
)
def test_the_timestamp_parser_agrees_with_zoneinfo_and_never_fails(
    batch: list[tuple[tuple[str, datetime | None], str, str]], checker: BadgeChecker
) -> None:
    chunk = pa.table(
        {
            "employee_id": [f"E{i}" for i in range(len(batch))],
            "timestamp": [text for (text, _), _, _ in batch],
            "site_id": [site for _, site, _ in batch],
            "direction": [random.choice(["IN", "OUT", "", direction]) for _, _, direction in batch],
            "_line": list(range(2, len(batch) + 2)),
        }
    )
    with timed():
        rejected = checker.check(chunk, 0)
        staged = checker.con.sql("SELECT employee_id, utc_us FROM staged").fetchall()
    checker.con.execute("DELETE FROM staged")
    reasons = dict(
        zip(
            rejected.column("_line").to_pylist(),
            rejected.column("_reason").to_pylist(),
            strict=True,
        )
    )
    assert set(reasons.values()) <= set(EVENT_REASONS)
    accepted = dict(staged)
    for i, ((text, wall), site, _) in enumerate(batch):
        line, employee = i + 2, f"E{i}"
        assert (line in reasons) != (employee in accepted), text  # one or the other
        if wall is None or reasons.get(line) in ("bad_direction", "too_old", "future_timestamp"):
            continue
        # A plain ISO wall time: the instant (or the refusal) is the reference's.
        reference = resolve_wall_time(wall, ZONES[site])
        if reference.kind is WallTimeKind.EXACT:
            assert reference.utc is not None
            too_late = reference.utc > NOW + timedelta(minutes=5)
            too_early = reference.utc.date() < date(2000, 1, 1) or wall.date() < date(2000, 1, 1)
            if employee in accepted:
                expected_us = (reference.utc - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                    microseconds=1
                )
                assert accepted[employee] == expected_us, text
            else:
                assert too_late or too_early, (text, reasons[line])
        else:
            assert reasons.get(line) == str(reference.kind), (text, reasons.get(line))


# --------------------------------------------------------------------------- validators

ANY_TEXT = st.one_of(st.none(), CELL, st.text(max_size=80), st.text(max_size=400))


def raw_rows(kind: ImportKind) -> st.SearchStrategy[dict[str, str | None]]:
    plausible = {
        "employee_id": st.sampled_from(["E1", "00012", "1.2E+11", "12345.0", "E\u200b1", "Е1"]),
        "effective_date": st.sampled_from(["2026-01-05", "2026-02-29", "05/01/2026", "1899-12-31"]),
        "arrangement": st.sampled_from(["onsite", "Telework", "REMOTE", "field", "hybrid"]),
        "timezone": st.sampled_from(["America/New_York", "EST", "../etc/passwd", "UTC"]),
        "seats": st.sampled_from(["0", "-1", "12", "1e3", "nan", "inf"]),
        "latitude": st.sampled_from(["38.9", "91", "nan", "-inf", "1e308"]),
        "longitude": st.sampled_from(["-77", "181", "nan"]),
        "home_latitude": st.sampled_from(["38.9", "91", "nan", "-inf"]),
        "home_longitude": st.sampled_from(["-77", "181", "nan"]),
    }
    return st.fixed_dictionaries(
        {},
        optional={
            f.name: st.one_of(ANY_TEXT, plausible.get(f.name, ANY_TEXT)) for f in FIELDS[kind]
        },
    )


@budget(800)
@given(
    roster=raw_rows(ImportKind.ROSTER),
    unit=raw_rows(ImportKind.ORG_UNITS),
    office=raw_rows(ImportKind.OFFICES),
    date_format=st.sampled_from([None, "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"]),
)
def test_row_validators_answer_a_row_or_a_rejection_for_any_values(
    roster: dict[str, str | None],
    unit: dict[str, str | None],
    office: dict[str, str | None],
    date_format: str | None,
) -> None:
    with timed():
        results = [
            validate_roster_row(roster, date_format=date_format),
            validate_org_unit_row(unit),
            validate_office_row(office),
        ]
    for result in results:
        if isinstance(result, Rejection):
            assert result.message  # a known reason code with its sentence
            assert result.column is None or result.column in {
                f.name for k in FIELDS.values() for f in k
            }


# --------------------------------------------------------------------------- Parquet

_PARQUET_CHILD = """
import sys
from pathlib import Path
from dutystation.errors import InputFileError, ImportRejected
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import default_profile
from dutystation.ingest.sources import open_source
import time
for name in sys.argv[1:]:
    started = time.process_time()
    try:
        for _ in open_source(Path(name), default_profile(ImportKind.BADGES)).batches():
            pass
        outcome = "read"
    except (InputFileError, ImportRejected):
        outcome = "refused"
    except Exception as exc:
        outcome = "BUG:" + type(exc).__name__
    print(name, outcome, f"{time.process_time() - started:.3f}", flush=True)
"""


def test_mutated_parquet_files_are_read_or_refused_in_a_child_process(tmp_path: Path) -> None:
    """Random byte flips, truncations and splices of a valid file, read in a child: a
    native crash would end the child (and be reported with the file), not this run."""
    good = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "employee_id": ["E1", "E2", None] * 20,
                "timestamp": pa.array([datetime(2026, 10, 6, 8)] * 60, pa.timestamp("ms", "UTC")),
                "site_id": pa.array(["NYC"] * 60).dictionary_encode(),
                "direction": ["IN", "OUT", ""] * 20,
            }
        ),
        good,
        row_group_size=16,
    )
    original = good.getvalue()
    rng = random.Random(25)
    files = []
    for n in range(int(150 * SCALE)):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if n % 5 == 0:
            data = data[: rng.randrange(len(data))]
        if n % 7 == 0:
            start = rng.randrange(len(data))
            data[start:start] = os.urandom(rng.randint(1, 64))
        path = tmp_path / f"m{n}.parquet"
        path.write_bytes(bytes(data))
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-c", _PARQUET_CHILD, *files], capture_output=True, text=True, timeout=600
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, (
        f"the reader crashed after {len(lines)} files: {done.stderr[-500:]}"
    )
    outcomes = [line.split() for line in lines]
    assert len(outcomes) == len(files)
    bugs = [o for o in outcomes if o[1].startswith("BUG")]
    assert not bugs, bugs[:5]
    slow = [o for o in outcomes if float(o[2]) > SECOND]
    assert not slow, slow[:5]
