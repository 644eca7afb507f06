"""One evaluation, two engines: DuckDB (the default) and Spark in local mode must hand back
identical reports on the same data: the demo department's roster, events, exemptions and
agreements. Marked ``spark`` (a JVM starts: ~15 s); skip with ``-m 'not spark'``. Without
Java 17+ or pyspark the module skips and says why; under ``DUTYSTATION_REQUIRE_SPARK=1``
(CI) it fails instead (``tests/spark_required.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from dutystation.analytics.spark_engine import _failure_sentence, spark_session, stop_spark
from dutystation.bootstrap import bootstrap
from dutystation.domain.inputs import EvaluationInputs
from dutystation.errors import ConfigError
from dutystation.evaluation_inputs import load_agreements, load_exemptions
from dutystation.services.demo import run_demo
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
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
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvaluationInputs]:
    data = tmp_path_factory.mktemp("engines")
    run_demo(load_settings(data_dir=data), employees=1000)
    files = data / "demo-files"
    approved, requests = load_exemptions(files / "exemption-requests.csv")
    agreements = load_agreements(files / "agreements.toml")
    return data, EvaluationInputs(tuple(approved), tuple(requests), tuple(agreements))


@pytest.fixture(scope="module")
def both(demo: tuple[Path, EvaluationInputs]) -> Iterator[tuple[pa.Table, pa.Table]]:
    data, inputs = demo
    results = []
    for engine in ("duckdb", "spark"):
        runtime = bootstrap(load_settings(data_dir=data, analytics=engine))
        results.append(evaluate(runtime, RANGE, inputs=inputs).employee_periods)
    yield results[0], results[1]
    stop_spark()  # the rest of the suite on this worker gets the JVM's memory back


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
