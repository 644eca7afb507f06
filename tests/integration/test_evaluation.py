"""``services.evaluate`` on the demo department: roster history in SQLite, events in the
Parquet store, the reference policies, and the demo's exemption requests and agreements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.inputs import EvaluationInputs
from dutystation.errors import ConfigError, NoEvidence, NotFound
from dutystation.evaluation_inputs import load_agreements, load_exemptions
from dutystation.services.demo import run_demo
from dutystation.services.evaluate import (
    EvaluationRequest,
    decoded,
    evaluate,
)
from dutystation.settings import load_settings

pytestmark = pytest.mark.slow

COLUMNS = [
    "employee_id", "name", "period_kind", "period_label", "period_start", "period_end",
    "org_unit", "component", "org_path", "duty_station", "arrangement", "telework_eligible",
    "bargaining_unit", "directive_ref", "hours_required", "hours_on_site", "hours_field_travel",
    "hours_off_site", "hours_telework", "hours_remote", "hours_leave", "hours_holiday",
    "days_present_badge", "days_on_site_ta", "days_at_duty_station", "status", "reason",
    "duty_station_test_failed",
    "hours_other_office",
]  # fmt: skip
WINTER = EvaluationRequest(date(2025, 1, 6), date(2025, 3, 9))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, EvaluationInputs]]:
    data = tmp_path_factory.mktemp("demo")
    settings = load_settings(data_dir=data)
    run_demo(settings, employees=1000)
    files = data / "demo-files"
    approved, requests = load_exemptions(files / "exemption-requests.csv")
    agreements = load_agreements(files / "agreements.toml")
    inputs = EvaluationInputs(tuple(approved), tuple(requests), tuple(agreements))
    yield bootstrap(settings), inputs


@pytest.fixture(scope="module")
def winter(demo: tuple[Runtime, EvaluationInputs]) -> pa.Table:
    runtime, inputs = demo
    return evaluate(runtime, WINTER, inputs=inputs).employee_periods


def query(table: pa.Table, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.register("t", table)
    return con.execute(sql).fetchall()


def test_every_employee_gets_a_row_per_week_and_pay_period_with_the_documented_columns(
    winter: pa.Table,
) -> None:
    assert winter.column_names == COLUMNS
    kinds = dict(
        query(winter, "SELECT period_kind, count(DISTINCT period_label) FROM t GROUP BY 1")
    )
    assert kinds == {"week": 9, "pay_period": 6}  # 2024's last (cut), PP01-PP04, PP05 (cut)
    assert query(winter, "SELECT count(*) FROM t WHERE period_kind = 'week' "
                 "GROUP BY employee_id HAVING count(*) > 9") == []  # fmt: skip


def test_every_status_the_demo_can_produce_appears_with_a_reason(winter: pa.Table) -> None:
    statuses = {s for (s,) in query(winter, "SELECT DISTINCT status FROM t")}
    assert {
        "compliant",
        "non_compliant",
        "pending_exemption",
        "covered_by_agreement",
        "not_yet_due",
        "not_in_scope",
    } <= statuses
    assert query(winter, "SELECT count(*) FROM t WHERE reason IS NULL OR reason = ''") == [(0,)]


def test_the_inspector_general_is_judged_by_the_government_wide_order_only(
    winter: pa.Table,
) -> None:
    refs = query(
        winter,
        "SELECT DISTINCT directive_ref FROM t WHERE component = 'DEA-OIG' "
        "AND period_kind = 'week' AND period_start >= DATE '2025-01-27'",
    )
    assert refs == [("US-RTO-2025@1",)]


def test_weeks_before_the_order_are_not_in_scope_and_say_why(winter: pa.Table) -> None:
    reasons = query(winter, "SELECT DISTINCT status, reason FROM t WHERE period_label = '2025-W02'")
    assert reasons == [("not_in_scope", "no directive in force on 2025-01-12 covers this org unit")]


def test_off_site_hours_are_telework_remote_and_other_offices_under_duty_station_rules(
    winter: pa.Table,
) -> None:
    wrong = query(
        winter,
        "SELECT count(*) FROM t WHERE abs(hours_off_site - hours_telework - hours_remote "
        "- hours_other_office) > 1e-9",
    )
    assert wrong == [(0,)]


def test_the_duty_station_test_is_reported_for_teleworkers_whole_pay_periods_only(
    winter: pa.Table,
) -> None:
    filled = query(
        winter,
        "SELECT DISTINCT period_kind, arrangement, period_label FROM t "
        "WHERE duty_station_test_failed IS NOT NULL",
    )
    assert {(k, a) for k, a, _ in filled} == {("pay_period", "telework")}
    assert {label for *_, label in filled} == {"2025-PP01", "2025-PP02", "2025-PP03", "2025-PP04"}


def test_an_org_unit_restricts_the_evaluation_to_its_subtree(
    demo: tuple[Runtime, EvaluationInputs],
) -> None:
    runtime, inputs = demo
    request = EvaluationRequest(date(2025, 2, 24), date(2025, 3, 2), "DEA-ECA", ("week",))
    table = evaluate(runtime, request, inputs=inputs).employee_periods
    assert table.num_rows > 0
    assert {c for (c,) in query(table, "SELECT DISTINCT component FROM t")} == {"DEA-ECA"}


def test_a_period_without_evidence_is_one_clear_sentence(
    demo: tuple[Runtime, EvaluationInputs],
) -> None:
    runtime, inputs = demo
    with pytest.raises(NoEvidence) as caught:
        evaluate(runtime, EvaluationRequest(date(2024, 1, 1), date(2024, 1, 31)), inputs=inputs)
    assert str(caught.value) == "no T&A hours or badge events between 2024-01-01 and 2024-01-31"


def test_an_unknown_org_unit_is_not_found(demo: tuple[Runtime, EvaluationInputs]) -> None:
    runtime, inputs = demo
    with pytest.raises(NotFound, match="org unit 'DEA-XYZ' does not exist"):
        evaluate(runtime, EvaluationRequest(WINTER.start, WINTER.end, "DEA-XYZ"), inputs=inputs)


def test_the_result_names_its_directives_and_the_day_it_is_as_of(
    demo: tuple[Runtime, EvaluationInputs],
) -> None:
    runtime, inputs = demo
    request = EvaluationRequest(date(2025, 3, 3), date(2025, 3, 9), periods=("day",))
    result = evaluate(runtime, request, inputs=inputs)
    assert result.as_of == date(2025, 3, 9)
    assert sorted(d.ref for d in result.directives) == ["DEA-RTO-2025-01@1", "US-RTO-2025@1"]
    assert query(result.employee_periods, "SELECT DISTINCT period_kind FROM t") == [("day",)]


def test_an_empty_store_has_no_evidence_and_evaluating_it_stores_nothing(tmp_path: Path) -> None:
    # Evaluating writes nothing but DuckDB spill files under tmp/.
    runtime = bootstrap(load_settings(data_dir=tmp_path / "empty"))
    with pytest.raises(NoEvidence):
        evaluate(runtime, WINTER, inputs=EvaluationInputs())
    assert {p.name for p in (tmp_path / "empty").iterdir()} <= {
        "dutystation.sqlite3",
        "dutystation.sqlite3-wal",
        "dutystation.sqlite3-shm",
        "quarantine",
        "tmp",
    }


def test_daily_periods_for_too_many_employee_days_are_refused_before_any_work(
    demo: tuple[Runtime, EvaluationInputs], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, inputs = demo
    monkeypatch.setattr("dutystation.services.evaluate.MAX_DAY_ROWS", 1000)
    request = EvaluationRequest(date(2025, 3, 3), date(2025, 3, 9), periods=("day",))
    with pytest.raises(ConfigError, match=r"daily periods for 1,\d{3} employees over this range"):
        evaluate(runtime, request, inputs=inputs)


def test_category_columns_are_dictionary_encoded_and_decode_to_plain_strings(
    winter: pa.Table,
) -> None:
    assert pa.types.is_dictionary(winter.schema.field("status").type)
    plain = decoded(winter.slice(0, 1000))
    assert plain.schema.field("status").type == pa.string()
    assert plain.sort_by("status").num_rows == 1000
