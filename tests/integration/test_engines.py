"""One evaluation, two engines: DuckDB (the default) and Spark in local mode must hand back
identical reports on the same data: the demo department's roster, events, exemptions and
agreements; and the employee-day roll-up rebuilt on Spark must be DuckDB's, row for row,
with ``verify`` on Spark catching a tampered one. Marked ``spark`` (one JVM for the module:
~6-15 s); skip with ``-m 'not spark'``. Without Java 17+ or pyspark the module skips and
says why; under ``DUTYSTATION_REQUIRE_SPARK=1`` (CI) it fails instead
(``tests/spark_required.py``)."""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dutystation.analytics import spark_sql
from dutystation.analytics.spark_engine import _failure_sentence, spark_session, stop_spark
from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.inputs import EvaluationInputs
from dutystation.errors import ConfigError, RollupMismatch
from dutystation.evaluation_inputs import load_agreements, load_exemptions
from dutystation.events.rollups import ROLLUP_SCHEMAS, rollup_state
from dutystation.events.schemas import EventKind
from dutystation.ingest.fields import ImportKind
from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.services import rollup_runs
from dutystation.services.demo import run_demo
from dutystation.services.disclosures import stated
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.services.evaluation_export import export_evaluation
from dutystation.services.importing import run_import
from dutystation.services.reporting import ReportRequest, build_report
from dutystation.services.reporting.snapshot_reports import from_snapshot
from dutystation.settings import Settings, load_settings
from spark_required import fail_without_spark, require_spark

require_spark()
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.xdist_group("spark"),
    # py4j leaves sockets to the JVM for the garbage collector to close.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
# Three weeks around the order's full-compliance date (2025-02-21 in the demo's policy):
# not-yet-due, pending, covered-by-agreement, compliant and non-compliant rows all occur.
RANGE = EvaluationRequest(date(2025, 2, 3), date(2025, 2, 23), periods=("week", "pay_period"))
ORDER = ["employee_id", "period_kind", "period_label"]


@pytest.fixture(scope="module", autouse=True)
def _spark_can_run() -> None:
    fail_without_spark()  # reached only under DUTYSTATION_REQUIRE_SPARK=1 (CI)


@pytest.fixture(scope="module")
def spark_started() -> Iterator[None]:
    """Spark's JVM, started by the first test that needs it and shared by the module's
    tests; stopped after the last, so the rest of the suite on this worker gets its memory
    back."""
    yield
    stop_spark()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvaluationInputs]:
    data = tmp_path_factory.mktemp("engines")
    run_demo(load_settings(data_dir=data), employees=1000)
    files = data / "demo-files"
    approved, requests = load_exemptions(files / "exemption-requests.csv")
    agreements = load_agreements(files / "agreements.toml")
    return data, EvaluationInputs(tuple(approved), tuple(requests), tuple(agreements))


@pytest.fixture(scope="module")
def both(demo: tuple[Path, EvaluationInputs], spark_started: None) -> tuple[pa.Table, pa.Table]:
    data, inputs = demo
    results = []
    for engine in ("duckdb", "spark"):
        runtime = bootstrap(load_settings(data_dir=data, analytics=engine))
        results.append(evaluate(runtime, RANGE, inputs=inputs).employee_periods)
    return results[0], results[1]


def _rows(table: pa.Table) -> pa.Table:
    return decoded(table).sort_by([(c, "ascending") for c in ORDER])


def test_spark_and_duckdb_give_the_same_report_row_for_row(
    both: tuple[pa.Table, pa.Table],
) -> None:
    on_duckdb, on_spark = both
    assert on_duckdb.num_rows > 1000
    assert on_spark.schema == on_duckdb.schema  # names, types, dictionary columns
    expected, got = _rows(on_duckdb), _rows(on_spark)
    for name in expected.column_names:
        assert got[name].to_pylist() == expected[name].to_pylist(), name


def test_an_export_on_spark_is_the_duckdb_export_row_for_row(
    demo: tuple[Path, EvaluationInputs], spark_started: None, tmp_path: Path
) -> None:
    # The export streams (evaluate(sink=)): on Spark each period kind's rows come back in
    # batches with their own dictionaries, and the file must not show it.
    files = []
    for engine in ("duckdb", "spark"):
        runtime = bootstrap(load_settings(data_dir=demo[0], analytics=engine))
        path = tmp_path / f"{engine}.parquet"
        files.append(export_evaluation(runtime, RANGE, path, stated("engine parity")).path)
    on_duckdb, on_spark = (_rows(pq.read_table(f)) for f in files)
    assert on_duckdb.num_rows > 1000
    assert on_spark.schema == on_duckdb.schema
    assert on_spark.to_pylist() == on_duckdb.to_pylist()


def test_the_fixture_reaches_the_statuses_whose_texts_spark_formats_differently(
    both: tuple[pa.Table, pa.Table],
) -> None:
    # Reasons with "%g" hours and "%.1f%%" shares are where Java's formats differ from
    # DuckDB's; the comparison above means something only if such rows exist.
    statuses = set(decoded(both[1])["status"].to_pylist())
    assert {"compliant", "non_compliant", "not_yet_due", "pending_exemption"} <= statuses
    reasons = decoded(both[1])["reason"].to_pylist()
    assert any("% of hours at the duty station" in r for r in reasons)


def test_an_unreachable_spark_master_is_one_sentence_within_seconds(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, analytics="spark", spark_master="spark://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        spark_session(settings)
    # Checked with a 5 s TCP connect before any JVM starts, not Spark's minute of retries.
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert message.startswith("the Spark server spark://127.0.0.1:9 cannot be reached")
    assert "check spark_master" in message and "\n" not in message


class _JavaError(Exception):
    """What py4j raises for a failed Spark job: the Java exception's text, causes and all."""


@pytest.mark.parametrize(
    ("master", "memory", "advice"),
    [
        ("local[2]", None, "raise spark_driver_memory (now 1g) to 2g "
         "(DUTYSTATION_SPARK_DRIVER_MEMORY=2g) and run again"),
        ("local[2]", "4g", "raise spark_driver_memory (now 4g) to 8g "
         "(DUTYSTATION_SPARK_DRIVER_MEMORY=8g) and run again"),
        ("spark://m:7077", None,
         "give the cluster's executors more memory (spark.executor.memory)"),
    ],
)  # fmt: skip
def test_spark_running_out_of_memory_says_what_to_raise(
    tmp_path: Path, master: str, memory: str | None, advice: str
) -> None:
    # The text of the 20M bench run at the default 1g (bench/README.md, Spark section).
    failed = _JavaError(
        "An error occurred while calling o1234.localCheckpoint.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage "
        "41.0 failed 1 times\nCaused by: org.apache.spark.memory.SparkOutOfMemoryError: "
        "[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire 262144 bytes of memory, got 0. "
        "SQLSTATE: 53200\n\tat org.apache.spark.errors.SparkCoreErrors$.outOfMemoryError"
    )
    settings = Settings(data_dir=tmp_path, spark_master=master, spark_driver_memory=memory)
    assert _failure_sentence(settings, failed) == (
        f"Spark ran out of memory during the evaluation (UNABLE_TO_ACQUIRE_MEMORY); {advice}"
    )


def test_another_spark_failure_names_its_condition_and_the_log(tmp_path: Path) -> None:
    failed = _JavaError(
        ": org.apache.spark.sql.AnalysisException: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A "
        "column ... cannot be resolved.\n\tat org.apache"
    )
    sentence = _failure_sentence(Settings(data_dir=tmp_path), failed)
    assert sentence == (
        f"the evaluation failed on Spark (UNRESOLVED_COLUMN); {tmp_path}/tmp/spark-driver.log "
        "has the details"
    )


# Per kind: the current generations' rows, their folders, the settings their files record.
Built = dict[EventKind, tuple[pa.Table, list[str], set[bytes]]]
BADGE_HEADER = ["employee_id", "timestamp", "site_id", "direction"]
TIMECARD_HEADER = ["employee_id", "date", "code", "hours", "site_id"]
# What the demo's badges lack, added for two of its people on a weekend and the days around
# the spring-forward night of 2025-03-09: a reader firing every 50 s for minutes (debounce
# walks the chain), a missing OUT, taps at one instant, taps without direction, an OUT
# before the first IN, and pairs over midnight (one across the missing hour, one in
# Phoenix, which keeps no daylight time).
EXTRA_TAPS = [
    *(("00000003", f"2025-03-01T08:{t}", "PA0001", "IN")
      for t in ("00:00", "00:50", "01:40", "02:30", "03:20")),
    ("00000003", "2025-03-01T12:00:00", "PA0001", "OUT"),
    ("00000003", "2025-03-01T13:00:00", "PA0001", "IN"),
    ("00000003", "2025-03-02T09:00:00", "PA0001", "IN"),
    ("00000003", "2025-03-02T09:00:00", "PA0001", "OUT"),
    ("00000003", "2025-03-02T09:00:00", "PA0001", "IN"),
    ("00000003", "2025-03-02T17:00:00", "PA0001", ""),
    ("00000003", "2025-03-02T18:00:00", "PA0001", ""),
    ("00000003", "2025-03-08T22:00:00", "PA0001", "IN"),
    ("00000003", "2025-03-09T06:00:00", "PA0001", "OUT"),
    ("00000033", "2025-03-08T21:30:00", "AZ0001", "IN"),
    ("00000033", "2025-03-09T05:15:00", "AZ0001", "OUT"),
    ("00000033", "2025-03-15T07:00:00", "CO0001", "OUT"),
    ("00000033", "2025-03-15T08:00:00", "CO0001", "IN"),
    ("00000033", "2025-03-15T16:00:00", "CO0001", "OUT"),
]  # fmt: skip
# A day sent twice with other hours: the second is the row in force.
EXTRA_TIMECARDS = [
    [("00000003", "2025-03-08", "onsite", "8", "PA0001"),
     ("00000003", "2025-03-09", "telework_routine", "4", "")],
    [("00000003", "2025-03-08", "onsite", "6.5", "PA0001")],
]  # fmt: skip


def _import(runtime: Runtime, kind: ImportKind, rows: list[tuple[str, ...]], path: Path) -> None:
    header = BADGE_HEADER if kind is ImportKind.BADGES else TIMECARD_HEADER
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    run_import(runtime, kind, [path])


def _current(runtime: Runtime) -> Built:
    """Per kind: the current generations' rows in a set order, their paths relative to the
    store, and the settings their files record."""
    found = {}
    for kind in EventKind:
        state = rollup_state(runtime.events.manifests(), kind)
        paths = [runtime.events.root / g.file.path for _, g in sorted(state.current.items())]
        # Names and types; not nullability, which DuckDB's COPY infers query by query.
        table = pa.concat_tables(
            pq.read_table(p).cast(ROLLUP_SCHEMAS[kind]) for p in paths
        ).replace_schema_metadata(None)
        day = "local_date" if kind is EventKind.BADGES else "date"
        keys = ["employee_id", day] + (["source_code"] if kind is EventKind.TIMECARDS else [])
        found[kind] = (
            table.sort_by([(k, "ascending") for k in keys]),
            [str(p.relative_to(runtime.events.root).parent) for p in paths],
            {(pq.read_metadata(p).metadata or {}).get(b"dutystation", b"") for p in paths},
        )
    return found


@pytest.fixture(scope="module")
def rollups(
    demo: tuple[Path, EvaluationInputs],
    spark_started: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Runtime, Built, Built]:
    """A copy of the demo with ``EXTRA_TAPS`` and ``EXTRA_TIMECARDS`` imported; its roll-up
    rebuilt on DuckDB, then on Spark. The Spark runtime and both engines' roll-ups."""
    root = tmp_path_factory.mktemp("rollups")
    shutil.copytree(demo[0], root / "data")
    on_duckdb = bootstrap(load_settings(data_dir=root / "data"))
    _import(on_duckdb, ImportKind.BADGES, EXTRA_TAPS, root / "taps.csv")
    for n, rows in enumerate(EXTRA_TIMECARDS):
        _import(on_duckdb, ImportKind.TIMECARDS, rows, root / f"timecards-{n}.csv")
    rollup_runs.rebuild(on_duckdb)
    duckdb_built = _current(on_duckdb)
    on_spark = bootstrap(load_settings(data_dir=root / "data", analytics="spark"))
    started = time.monotonic()
    committed = rollup_runs.rebuild(on_spark)
    print(f"roll-up rebuilt on Spark in {time.monotonic() - started:.1f} s")
    assert [m.purpose for m in committed] == ["rollup-rebuild"] * 2
    return on_spark, duckdb_built, _current(on_spark)


def test_the_roll_up_rebuilt_on_spark_is_duckdbs_row_for_row(
    rollups: tuple[Runtime, Built, Built],
) -> None:
    _, on_duckdb, on_spark = rollups
    for kind in EventKind:
        (expected, layout, settings), (got, spark_layout, spark_settings) = (
            on_duckdb[kind],
            on_spark[kind],
        )
        assert spark_layout == layout and spark_settings == settings  # same months, same keys
        for name in expected.column_names:  # hours of both conventions, first IN, last OUT
            assert got[name].to_pylist() == expected[name].to_pylist(), (kind, name)
    badges = on_spark[EventKind.BADGES][0].to_pylist()
    assert len(badges) > 39_000
    assert sum(r["hours_pairs"] != r["hours_first_last"] for r in badges) > 1000
    walked = [
        r for r in badges if (r["employee_id"], str(r["local_date"])) == ("00000003", "2025-03-01")
    ]
    assert walked[0]["taps"] == 5  # three of the five stuck taps kept, an OUT, an IN
    timecards = on_spark[EventKind.TIMECARDS][0].to_pylist()
    corrected = [
        r for r in timecards if (r["employee_id"], str(r["date"])) == EXTRA_TIMECARDS[1][0][:2]
    ]
    assert [r["hours"] for r in corrected] == [6.5]


def test_verify_on_spark_finds_a_tampered_roll_up(
    rollups: tuple[Runtime, Built, Built],
) -> None:
    runtime = rollups[0]
    # The last month checked: every month before it (both kinds) must have passed.
    state = rollup_state(runtime.events.manifests(), EventKind.TIMECARDS)
    month = max(state.current)
    path = runtime.events.root / state.current[month].file.path
    table = pq.read_table(path)
    hours = table["hours"].to_pylist()
    hours[0] += 1
    i = table.schema.get_field_index("hours")
    pq.write_table(table.set_column(i, "hours", pa.array(hours, pa.float64())), path)
    with pytest.raises(RollupMismatch) as caught:
        rollup_runs.verify(runtime)
    assert str(caught.value).startswith(
        f"the timecards roll-up of {month} disagrees with the raw events on 2 rows (first: "
    )
    assert str(caught.value).endswith("; run `dutystation rollup rebuild`")


# The org-unit roll-ups of the reports on Spark (services/reporting/spark_rows.py): a
# period from a Wednesday, so its first week is partial and the snapshot (weeks from a
# Monday) cannot serve it: both engines evaluate live.
REPORT_START, REPORT_END = date(2025, 2, 5), date(2025, 2, 23)
SPARK_REPORTS = [
    ("onsite-share", None),
    ("onsite-share", "DEA-ECA"),
    ("workforce", None),
    ("duty-station-test", "DEA-ECA"),
    ("compliance-plan", "DEA-ECA"),
    ("not-returned", "DEA-ECA"),
    ("briefing", None),  # onsite-share, compliance-plan, not-returned, workforce: all units
]
# Pay periods judged by the duty-station test: those wholly inside its period (PP02-PP04).
PAY_PERIODS_START = date(2025, 1, 1)


def _json(report: Report) -> str:
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


@dataclass
class _Collected:
    """What pyspark handed to this process: rows per call of its two ways of doing so."""

    calls: list[tuple[str, int]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.calls)


@contextmanager
def _counting(collected: _Collected) -> Iterator[None]:
    """pyspark's ``DataFrame.toArrow`` and ``collect`` wrapped to count the rows they
    return (they still do their work: nothing of ours is replaced)."""
    from pyspark.sql.classic.dataframe import DataFrame

    to_arrow, collect = DataFrame.toArrow, DataFrame.collect

    def counted_arrow(frame: DataFrame) -> pa.Table:
        table = to_arrow(frame)
        collected.calls.append(("toArrow", table.num_rows))
        return table

    def counted_rows(frame: DataFrame) -> list[Any]:
        rows = collect(frame)
        collected.calls.append(("collect", len(rows)))
        return rows

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DataFrame, "toArrow", counted_arrow)
        patch.setattr(DataFrame, "collect", counted_rows)
        yield


@pytest.fixture(scope="module")
def report_pairs(
    demo: tuple[Path, EvaluationInputs], spark_started: None
) -> dict[tuple[str, str | None], tuple[Report, Report, _Collected]]:
    """Each of ``SPARK_REPORTS`` built live on DuckDB and on Spark, with the rows pyspark
    handed to this process while Spark built it."""
    data, _ = demo
    on = {e: bootstrap(load_settings(data_dir=data, analytics=e)) for e in ("duckdb", "spark")}
    built = {}
    for kind, unit in SPARK_REPORTS:
        start = PAY_PERIODS_START if kind == "duty-station-test" else REPORT_START
        request = ReportRequest(kind, start=start, end=REPORT_END, org_unit=unit)
        assert from_snapshot(on["duckdb"], request) is None  # live on both engines
        started = time.monotonic()
        on_duckdb = build_report(on["duckdb"], request)
        duckdb_s = time.monotonic() - started
        collected = _Collected()
        with _counting(collected):
            started = time.monotonic()
            on_spark = build_report(on["spark"], request)
        print(
            f"{kind} {unit or 'all'}: DuckDB {duckdb_s:.1f} s, Spark "
            f"{time.monotonic() - started:.1f} s, {collected.rows} rows to the driver"
        )
        built[(kind, unit)] = (on_duckdb, on_spark, collected)
    return built


@pytest.mark.parametrize(("kind", "unit"), SPARK_REPORTS)
def test_a_report_rolled_up_on_spark_is_duckdbs_to_the_byte(
    report_pairs: dict[tuple[str, str | None], tuple[Report, Report, _Collected]],
    kind: str,
    unit: str | None,
) -> None:
    on_duckdb, on_spark, _ = report_pairs[(kind, unit)]
    # Every section's rows, every column, the charts' data and texts: one JSON document.
    assert _json(on_spark) == _json(on_duckdb)
    for mine, theirs in zip(on_spark.sections, on_duckdb.sections, strict=True):
        assert mine.rows == theirs.rows > 0
        assert decoded(mine.table).to_pylist() == decoded(theirs.table).to_pylist()
    if kind == "onsite-share":
        weekly = on_spark.sections[1]
        assert weekly.notes == ("Partial weeks (cut by the period): 2025-W06.",)
        assert {r["week"] for r in weekly.table.to_pylist()} == {
            "2025-W06",
            "2025-W07",
            "2025-W08",
        }
    if unit is not None and kind == "onsite-share":
        totals = [r for r in on_spark.sections[0].table.to_pylist() if r["is_total"]]
        assert [r["org_unit"] for r in totals] == [unit]
        units = [r["org_unit"] for r in on_spark.sections[0].table.to_pylist()]
        assert all(u == unit or u.startswith(f"{unit}-") for u in units) and len(units) > 2


def test_spark_hands_the_driver_the_report_rows_not_the_employee_weeks(
    report_pairs: dict[tuple[str, str | None], tuple[Report, Report, _Collected]],
    demo: tuple[Path, EvaluationInputs],
) -> None:
    _, on_spark, collected = report_pairs[("onsite-share", None)]
    shown = sum(s.rows for s in on_spark.sections)
    runtime = bootstrap(load_settings(data_dir=demo[0]))
    asked = EvaluationRequest(REPORT_START, REPORT_END, periods=("week",))
    employee_weeks = evaluate(runtime, asked).employee_periods.num_rows
    assert employee_weeks > 2500
    # The weekly and per-unit sums, plus single-row answers (employee count, evidence,
    # the roots of the org tree): nothing the size of one row per employee and week.
    assert shown <= collected.rows <= shown + 10, collected.calls
    assert max(n for _, n in collected.calls) == max(s.rows for s in on_spark.sections)


def test_report_queries_round_and_count_days_as_duckdb_does() -> None:
    # DuckDB rounds a double's exact binary value (0.85995 is 0.859949999...: 0.8599);
    # Spark's round, its shortest decimal spelling (0.86): the reports round as DuckDB.
    values = [0.85995, 0.32125, 0.28935, 12.345, 1.005, 2.5, -2.5, -0.00005, 1 / 3, None]
    con = duckdb.connect()
    con.register("t", pa.table({"x": pa.array(values, pa.float64())}))
    for digits in (0, 2, 4):
        expected = [r[0] for r in con.execute(f"SELECT round(x, {digits}) FROM t").fetchall()]
        assert spark_sql.round_like_duckdb(values, digits) == expected, digits
    con.close()
    text, rounded = spark_sql.report_query(
        "SELECT max(d) - min(d) < 6 AS short, len(string_split(p, '/')) AS n, "
        "round(sum(x), 2) AS x2, round(count(*), 2) AS c FROM t GROUP BY p",
        {"t": {"d": "date", "p": "string", "x": "double"}},
    )
    assert "DATEDIFF(MAX(t.d), MIN(t.d)) < 6" in text and "SIZE(SPLIT(" in text
    assert rounded == {"x2": 2}  # the count is no double: Spark rounds it, as DuckDB does
    assert "SUM(t.x) AS x2" in text
