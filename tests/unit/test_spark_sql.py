"""The hand translations of DuckDB SQL to Spark SQL (no JVM: text only). The engines'
agreement on whole evaluations is tests/integration/test_engines.py."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlglot")

from dutystation.analytics import spark_sql


def spark(sql: str) -> str:
    (statement,) = spark_sql.statements(sql)
    return spark_sql.spark_text(spark_sql.rewrite(statement, lambda paths: "files_view"))


def test_iso_weekday_is_monday_one_not_sqlglots_dayofweek_formula() -> None:
    assert spark("SELECT isodow(day) FROM cal") == "SELECT (WEEKDAY(day) + 1) FROM cal"


def test_g_and_fixed_formats_are_made_to_print_as_duckdb_does() -> None:
    text = spark("SELECT printf('%.1f%% of %g h, %d days', share * 100, hours, n)")
    assert "BROUND(share * 100, 1)" in text  # half to even, as DuckDB
    assert "PRINTF('%.6g', hours)" in text and "'%.1f%% of %s h, %d days'" in text


def test_enum_types_become_strings_and_parquet_lists_a_view() -> None:
    text = spark(
        "SELECT CAST(x AS status_t) AS s FROM read_parquet(['/a.parquet'], "
        "hive_partitioning = false)"
    )
    assert text == "SELECT CAST(x AS STRING) AS s FROM files_view"


def test_enum_statements_and_optimizer_settings_are_skipped() -> None:
    skipped = spark_sql.statements(
        "DROP TYPE IF EXISTS status_t; CREATE TYPE status_t AS ENUM (SELECT 'a'); "
        "SET disabled_optimizers = 'build_side_probe_side'"
    )
    assert [spark_sql.is_skipped(s) for s in skipped] == [True, True, True]


def test_an_update_from_a_subquery_becomes_a_select_that_keeps_unmatched_rows() -> None:
    (update,) = spark_sql.statements(
        "UPDATE blk SET n = CAST(blk.n + f.d AS SMALLINT) FROM (SELECT ver, 1 AS d FROM t) "
        "AS f WHERE blk.ver = f.ver"
    )
    columns = [("ver", "int"), ("n", "smallint")]
    target, query = spark_sql.update_as_select(update, columns)  # type: ignore[arg-type]
    assert target == "blk"
    assert query.startswith("SELECT blk.ver, CAST(CASE WHEN f._updated_by_source THEN ")
    assert "ELSE blk.n END AS smallint) AS n FROM blk LEFT JOIN (SELECT *, TRUE" in query
    assert query.endswith("AS f ON blk.ver = f.ver")


def test_duckdbs_two_way_timezone_becomes_from_or_to_utc_by_its_argument() -> None:
    # The badge roll-up's local wall times (an instant at an office) and midnights (a local
    # day start as an instant): DuckDB picks the direction by type, SQLGlot cannot.
    text = spark(
        "SELECT timezone(z, make_timestamptz(us)) AS a, "
        "epoch_us(timezone(z, CAST(d AS TIMESTAMP))) AS b FROM t"
    )
    assert "CAST(FROM_UTC_TIMESTAMP(TIMESTAMP_MICROS(us), z) AS TIMESTAMP_NTZ) AS a" in text
    assert "UNIX_MICROS(TO_UTC_TIMESTAMP(CAST(d AS TIMESTAMP_NTZ), z)) AS b" in text
    with pytest.raises(ValueError, match="no Spark translation for timezone"):
        spark("SELECT timezone(z, ts) FROM t")


def test_the_debounce_fold_keeps_its_order_and_counts_from_the_end() -> None:
    text = spark(
        "SELECT unnest(list_reduce(list(us ORDER BY us), lambda acc, x: CASE WHEN "
        "x - acc[-1] > 5 THEN list_append(acc, x) ELSE acc END, [h])) FROM t"
    )
    assert text.startswith(
        "SELECT EXPLODE(AGGREGATE(ARRAY_SORT(COLLECT_LIST(us)), ARRAY(h), (acc, x) -> "
        "CASE WHEN x - ELEMENT_AT(acc, -1) > 5 THEN"
    )


def test_a_list_ordered_by_other_keys_is_sorted_by_a_comparator_then_sliced() -> None:
    # compliance-plan's five offices short by most: largest shortfall first, then by id.
    text = spark("SELECT list(site || ':' || n ORDER BY n DESC, site)[1:5] FROM o GROUP BY u")
    assert text == (
        "SELECT SLICE(TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(n AS k0, site AS k1, "
        "site || ':' || n AS v)), (l, r) -> CASE WHEN l.k0 > r.k0 THEN -1 WHEN l.k0 < r.k0 "
        "THEN 1 WHEN l.k1 > r.k1 THEN 1 WHEN l.k1 < r.k1 THEN -1 ELSE 0 END), x -> x.v), 1, 5) "
        "FROM o GROUP BY u"
    )
    with pytest.raises(ValueError, match="NULLS FIRST"):
        spark("SELECT list(us ORDER BY us DESC NULLS FIRST) FROM t")
    with pytest.raises(ValueError, match="no Spark translation"):
        spark("SELECT list(us)[1:k] FROM t")
