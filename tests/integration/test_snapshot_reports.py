"""Reports served from the evaluation snapshot (services/reporting/snapshot_reports.py,
RELIABILITY T27), on SQLite and PostgreSQL, on the smallest demo (transfers between units,
four levels of org units): the served report renders byte for byte as the live
evaluation's in every format; a stale snapshot, an event batch it does not know, changed
policy files, or a period it does not cut the same way answer live; after a refresh the
new generation is served; authorisation still comes first."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from snapshot_world import actor, demo_world, stored_employees
from sqlalchemy import update

import dutystation.services.reporting as reporting
from dutystation.api.routes.reports import ReportFormat, report_response
from dutystation.bootstrap import Runtime, bootstrap
from dutystation.errors import NotFound
from dutystation.ingest.fields import ImportKind
from dutystation.reports.model import Report
from dutystation.services.disclosures import record_report_export, stated
from dutystation.services.evaluate import policies_dir
from dutystation.services.importing import run_import
from dutystation.services.reporting import ReportRequest, build_report
from dutystation.services.reporting.access import build_report_for
from dutystation.services.reporting.snapshot_reports import from_snapshot
from dutystation.services.snapshot import refresh_snapshot
from dutystation.store.db import write_transaction
from dutystation.store.schema_snapshot import EvaluationSnapshot
from dutystation.store.snapshot_rows import current, mark_stale

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("snapshot-reports")]
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
COMPONENT = "DEA-ECA"  # the demo leader's component
# Served: the demo's directive takes effect on a Monday (2025-01-20), the snapshot runs
# from 2024-11-25 (a Monday) to a Sunday, the last day of evidence's week.
SERVED = [
    ReportRequest("onsite-share", org_unit=COMPONENT),  # since the directive
    ReportRequest("onsite-share"),  # the whole department: components and its own staff
    ReportRequest("onsite-share", org_unit="DEA-EIS-FO", start=date(2024, 11, 25)),
    ReportRequest("onsite-share", period="2025-W07", org_unit="DEA-ECA-ENG"),  # a leaf
]
_STAMPS = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp("snapshot-reports") / "data"
    with demo_world(folder, request.param) as runtime:  # the demo refreshes it at its end
        yield runtime


def live(runtime: Runtime, request: ReportRequest) -> Report:
    """The report as evaluated, whatever the snapshot holds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reporting, "from_snapshot", lambda *_: None)
        return build_report(runtime, request)


def rendered(report: Report, fmt: ReportFormat, section: str | None = None) -> bytes:
    """What the API answers; an XLSX as its parts, less the time it was written."""
    body = bytes(report_response(report, fmt, section).body)
    if fmt is not ReportFormat.XLSX:
        return body
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        return b"\0".join(
            name.encode() + b"\0" + _STAMPS.sub(b"", book.read(name))
            for name in sorted(book.namelist())
        )


def assert_same(served: Report, evaluated: Report, *, html: bool = False) -> None:
    assert rendered(served, ReportFormat.JSON) == rendered(evaluated, ReportFormat.JSON)
    for section in evaluated.sections:
        assert rendered(served, ReportFormat.CSV, section.key) == rendered(
            evaluated, ReportFormat.CSV, section.key
        )
    assert rendered(served, ReportFormat.XLSX) == rendered(evaluated, ReportFormat.XLSX)
    if html:  # drawing the charts costs a second a report
        assert rendered(served, ReportFormat.HTML) == rendered(evaluated, ReportFormat.HTML)


def test_a_served_report_is_the_evaluated_one_in_every_format(world: Runtime) -> None:
    for n, request in enumerate(SERVED):
        served = from_snapshot(world, request)
        assert served is not None, request
        assert build_report(world, request) is served  # what every entry point gets
        evaluated = live(world, request)
        assert_same(served, evaluated, html=n == 0)
        by_unit = served.section("by-unit").table.to_pylist()
        assert by_unit[-1]["is_total"] and by_unit[-1]["employees"] > 0
    # People moved between units are counted once per unit, and once in the total.
    whole = from_snapshot(world, SERVED[1])
    assert whole is not None
    units = whole.section("by-unit").table.to_pylist()
    assert sum(u["employees"] for u in units[:-1]) >= units[-1]["employees"]


def test_periods_the_snapshot_does_not_cut_alike_are_evaluated(world: Runtime) -> None:
    not_served = [
        ReportRequest("onsite-share", period="2025-02", org_unit=COMPONENT),  # a Saturday
        ReportRequest("onsite-share", start=date(2025, 1, 6), end=date(2025, 2, 5)),
    ]
    for request in not_served:
        assert from_snapshot(world, request) is None
        assert build_report(world, request).section("by-unit").rows > 0
    try:
        refresh_snapshot(world, start=date(2025, 1, 6))
        inside = ReportRequest("onsite-share", start=date(2025, 1, 6), org_unit=COMPONENT)
        outside = ReportRequest("onsite-share", start=date(2024, 12, 2), org_unit=COMPONENT)
        served = from_snapshot(world, inside)
        assert served is not None
        assert_same(served, live(world, inside))
        assert from_snapshot(world, outside) is None
        assert build_report(world, outside).period_start == date(2024, 12, 2)
    finally:
        refresh_snapshot(world)


def test_an_event_batch_the_snapshot_does_not_know_is_evaluated(world: Runtime) -> None:
    # An import commits its events a moment before it marks the snapshot stale.
    request = SERVED[0]
    with world.engine.connect() as conn:
        snapshot = current(conn)
    assert snapshot is not None and from_snapshot(world, request) is not None
    s = EvaluationSnapshot
    with write_transaction(world.engine) as conn:
        conn.execute(update(s).where(s.id == snapshot.id).values(event_batches=s.event_batches - 1))
    try:
        assert from_snapshot(world, request) is None
    finally:
        with write_transaction(world.engine) as conn:
            conn.execute(
                update(s).where(s.id == snapshot.id).values(event_batches=s.event_batches + 1)
            )
    assert from_snapshot(world, request) is not None


def test_policy_files_changed_since_the_refresh_are_evaluated(
    world: Runtime, tmp_path: Path
) -> None:
    copied = tmp_path / "policies"
    shutil.copytree(policies_dir(world), copied)  # modification times kept
    runtime = bootstrap(world.settings.model_copy(update={"policies_dir": copied}))
    try:
        assert from_snapshot(runtime, SERVED[0]) is not None
        edited = sorted(copied.glob("*.toml"))[0]
        os.utime(edited)  # saved again, even unchanged: it may say something else now
        assert from_snapshot(runtime, SERVED[0]) is None
        assert_same(build_report(runtime, SERVED[0]), live(world, SERVED[0]))
    finally:
        runtime.engine.dispose()


def test_authorisation_comes_before_the_snapshot(world: Runtime) -> None:
    leader = actor(world, "leader")  # leader of DEA-ECA
    own = build_report_for(world, leader, SERVED[0])
    assert own is from_snapshot(world, SERVED[0])
    with pytest.raises(NotFound) as served_refusal:
        build_report_for(world, leader, ReportRequest("onsite-share", org_unit="DEA-EIS"))
    with (
        pytest.MonkeyPatch.context() as patch,
        pytest.raises(NotFound) as live_refusal,
    ):
        patch.setattr(reporting, "from_snapshot", lambda *_: None)
        build_report_for(world, leader, ReportRequest("onsite-share", org_unit="DEA-EIS"))
    assert str(served_refusal.value) == str(live_refusal.value)
    # A report naming nobody is no disclosure, wherever its figures came from.
    assert record_report_export(world.engine, leader, own, "json", stated()) is None


def test_a_stale_snapshot_is_evaluated_and_a_refresh_served(world: Runtime, tmp_path: Path) -> None:
    request = SERVED[0]
    before = from_snapshot(world, request)
    assert before is not None
    # Two people of the component telework a week they had worked on site, in hours that
    # binary floating point does not hold exactly (sums in another order could differ).
    people = sorted(
        e for e, row in stored_employees(world).items() if row["component"] == COMPONENT
    )
    file = tmp_path / "ta.csv"
    with file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["employee_id", "date", "code", "hours", "site_id"])
        for employee, hours in zip(people[:2], ("7.3", "2.15"), strict=True):
            for day in range(3, 8):
                writer.writerow([employee, f"2025-02-0{day}", "telework_routine", hours, ""])
    run_import(world, ImportKind.TIMECARDS, [file])
    with world.engine.connect() as conn:
        snapshot = current(conn)
    assert snapshot is not None and snapshot.stale
    assert from_snapshot(world, request) is None
    evaluated = build_report(world, request)
    assert rendered(evaluated, ReportFormat.JSON) != rendered(before, ReportFormat.JSON)
    refresh_snapshot(world)
    after = from_snapshot(world, request)
    assert after is not None and after is not before
    assert_same(after, evaluated)
    with write_transaction(world.engine) as conn:
        mark_stale(conn, "test")  # a decision, say
    assert from_snapshot(world, request) is None
    refresh_snapshot(world)
