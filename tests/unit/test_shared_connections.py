"""The DuckDB connections reports run their queries on (``analytics/shared.py``): one
database kept per process and configuration, a connection of its own per query. Pages
that build a report from a dozen small queries no longer open a dozen databases (the
``/offices`` page took seconds on a world of eight people), and requests served at the
same time never see each other's tables."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dutystation.analytics import shared
from dutystation.analytics.shared import shared_connection
from dutystation.services.reporting.tables import query
from dutystation.settings import Settings


def test_report_queries_after_the_first_open_no_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    query("SELECT 1 AS one")  # the process's database exists from here on
    opened: list[object] = []
    real = duckdb.connect

    def counting(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb, "connect", counting)
    for n in range(20):
        found = query("SELECT sum(v) AS s FROM t", t=pa.table({"v": [n, 1]}))
        assert found.column("s").to_pylist() == [n + 1]
    assert opened == []


def test_queries_at_the_same_time_each_see_their_own_tables() -> None:
    problems: list[str] = []

    def client(k: int) -> None:
        for n in range(30):
            values = list(range(k * 1000, k * 1000 + n + 1))
            try:
                with shared_connection() as con:
                    con.register("t", pa.table({"v": values}))
                    con.execute("CREATE TEMP TABLE mine AS SELECT v FROM t")
                    got = con.sql("SELECT sum(v) AS s FROM mine").to_arrow_table()
                if got.column("s").to_pylist() != [sum(values)]:
                    problems.append(f"client {k}: {got.column('s').to_pylist()}")
            except duckdb.Error as exc:  # e.g. "mine" already exists: another's table
                problems.append(f"client {k}: {exc}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert problems == []


def test_a_connection_in_use_survives_other_configurations_coming_and_going(
    tmp_path: Path,
) -> None:
    settings = [Settings(data_dir=tmp_path / f"d{n}") for n in range(shared.KEPT + 3)]
    with shared_connection(settings[0]) as held:
        held.register("t", pa.table({"v": [1, 2, 3]}))
        for other in settings[1:]:
            with shared_connection(other) as con:
                assert con.sql("SELECT 42 AS x").to_arrow_table().column("x").to_pylist() == [42]
        # Still open: a database is only closed when nobody uses it.
        assert held.sql("SELECT sum(v) AS s FROM t").to_arrow_table().column("s").to_pylist() == [6]
    assert len(shared._open) <= shared.KEPT  # idle ones beyond the few kept are closed
