"""The demo department, read back from the files it writes, looks like the reference case
(DESIGN.md §7): the memo's figures, the federal workforce shape, real ZIP centroids, remote
staff far from any office, a gradual and uneven return after the directive."""

from __future__ import annotations

import gzip
import tomllib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
import zipcodes
from geographiclib.geodesic import Geodesic
from openpyxl import load_workbook

from dutystation.ingest.fields import ImportKind, field_names
from dutystation.ingest.profiles import load_profile
from dutystation.synthetic import GeneratedDemo, generate_demo
from dutystation.synthetic.profiles import example_profile_path

EMPLOYEES = 5_000
FIFTY_MILES_M = 50 * 1609.344
OFFSITE = ("telework_routine", "telework_situational", "remote")
WORKED = (*OFFSITE, "onsite", "field_travel")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDemo:
    return generate_demo(tmp_path_factory.mktemp("demo"), employees=EMPLOYEES, seed=2025)


@pytest.fixture(scope="module")
def db(demo: GeneratedDemo) -> Iterator[duckdb.DuckDBPyConnection]:
    """The files as tables, T&A pay codes mapped through the example profile."""
    con = duckdb.connect()
    f = demo.files
    con.execute(f"""create table roster as select * from read_csv('{f["roster"]}',
        header=true, all_varchar=true)""")
    con.execute(f"""create table tc as select * from read_csv('{f["timecards"]}', delim='|',
        header=true, all_varchar=true)""")
    profile = load_profile(example_profile_path("time-and-attendance"), ImportKind.TIMECARDS)
    con.execute("create table codes(code varchar, category varchar)")
    con.executemany("insert into codes values (?, ?)", list(profile.values["code"].items()))
    con.execute("""create table hours as select t."Emp No" as emp,
        strptime(t."Work Date", '%m/%d/%Y')::date as day, c.category, t."Hours"::double as h,
        t."Duty Loc" as site, t."Pay Code" as code,
        (select split_part(any_value(r.org_unit), '-', 2) from roster r
         where r.employee_id = t."Emp No") as component
        from tc t join codes c on c.code = t."Pay Code" """)
    yield con
    con.close()


def _offsite_share(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, float]:
    rows = con.execute(f"""select component,
        sum(h) filter (where category in {OFFSITE}) / sum(h) filter (where category in {WORKED})
        from hours where {where} group by component""").fetchall()
    return {c: float(v) for c, v in rows}


def test_before_the_directive_three_components_work_off_site_as_the_memo_reported(
    db: duckdb.DuckDBPyConnection,
) -> None:
    share = _offsite_share(db, "day < date '2025-01-20'")
    assert share["EMA"] == pytest.approx(0.289, abs=0.015)
    assert share["EIS"] == pytest.approx(0.244, abs=0.015)
    assert share["ECA"] == pytest.approx(0.397, abs=0.015)


def test_after_the_directive_return_is_gradual_uneven_and_incomplete(
    db: duckdb.DuckDBPyConnection,
) -> None:
    before = _offsite_share(db, "day < date '2025-01-20'")
    early = _offsite_share(db, "day between date '2025-01-27' and date '2025-02-09'")
    late = _offsite_share(db, "day >= date '2025-03-03'")
    for component, share in before.items():
        assert late[component] < early[component] < share, component
        assert late[component] > 0.05, f"{component}: everyone came back"
    drops = [before[c] - late[c] for c in before]
    assert max(drops) - min(drops) > 0.03, "every component returned alike"
    medical = db.execute("select count(distinct emp) from hours where code = 'TWM'").fetchone()
    assert medical is not None and medical[0] > 0


def test_federal_holidays_are_coded_as_holidays_and_executive_closures_as_leave(
    db: duckdb.DuckDBPyConnection,
) -> None:
    for day in ("2024-11-28", "2024-12-25", "2025-01-01", "2025-01-20", "2025-02-17"):
        codes = db.execute(f"select distinct code from hours where day = '{day}'").fetchall()
        assert codes == [("HOL",)], day
    codes = db.execute("select distinct code from hours where day = '2024-12-24'").fetchall()
    assert codes == [("ADM",)]


def test_onsite_hours_name_the_duty_station_and_other_hours_do_not(
    db: duckdb.DuckDBPyConnection,
) -> None:
    bad = db.execute("""select count(*) from hours where (code = 'REG') = (site is null)""")
    assert bad.fetchone() == (0,)


def test_the_department_has_the_federal_workforce_shape(db: duckdb.DuckDBPyConnection) -> None:
    mix = dict(
        db.execute("""select arrangement, count(*) / sum(count(*)) over ()
        from roster where effective_date = '2024-10-01' group by arrangement""").fetchall()
    )
    assert mix["onsite"] + mix["field"] == pytest.approx(0.54, abs=0.04)
    assert mix["telework"] + mix["remote"] == pytest.approx(0.46, abs=0.04)
    assert mix["remote"] == pytest.approx(0.10, abs=0.03)


def test_the_roster_has_the_generic_columns_and_a_history(
    demo: GeneratedDemo, db: duckdb.DuckDBPyConnection
) -> None:
    header = demo.files["roster"].read_text(encoding="utf-8").splitlines()[0]
    assert header.replace('"', "").split(",") == field_names(ImportKind.ROSTER)
    returns = db.execute("""select count(*) from roster r join roster p
        on p.employee_id = r.employee_id and p.effective_date < r.effective_date
        where r.effective_date > '2025-01-20' and r.arrangement = 'onsite'
        and p.arrangement in ('telework', 'remote')""").fetchone()
    moves = db.execute("""select count(*) from roster r join roster p
        on p.employee_id = r.employee_id and p.effective_date < r.effective_date
        where r.org_unit <> p.org_unit""").fetchone()
    hires = db.execute("""select count(*) from (select employee_id, min(effective_date) d
        from roster group by 1) where d > '2024-11-24'""").fetchone()
    assert returns and returns[0] > 100 and moves and moves[0] > 10 and hires and hires[0] > 10


def test_badge_numbers_are_reissued_and_replaced(db: duckdb.DuckDBPyConnection) -> None:
    passed_on = db.execute("""select count(*) from (select badge_id from roster
        group by 1 having count(distinct employee_id) > 1)""").fetchone()
    replaced = db.execute("""select count(*) from (select employee_id from roster
        group by 1 having count(distinct badge_id) > 1)""").fetchone()
    assert passed_on and passed_on[0] >= 1
    assert replaced and replaced[0] >= 5


def test_supervisors_form_one_tree_without_cycles(db: duckdb.DuckDBPyConnection) -> None:
    latest = dict(
        db.execute("""select employee_id, arg_max(supervisor_id, effective_date)
        from roster group by 1""").fetchall()
    )
    roots = [e for e, s in latest.items() if s is None]
    assert len(roots) == 1
    for start in latest:
        seen, node = set(), start
        while node is not None:
            assert node not in seen, f"cycle through {node}"
            seen.add(node)
            node = latest[node]


def test_the_org_tree_runs_department_component_division(demo: GeneratedDemo) -> None:
    con = duckdb.connect()
    units = {
        r[0]: r
        for r in con.execute(
            f"select * from read_csv('{demo.files['org-units']}', header=true, all_varchar=true)"
        ).fetchall()
    }
    kinds = [u[3] for u in units.values()]
    assert kinds.count("department") == 1 and 4 <= kinds.count("component") <= 6

    def depth(code: str) -> int:
        parent = units[code][2]
        return 1 if parent is None else 1 + depth(parent)

    assert max(depth(c) for c in units) >= 3


def _offices(demo: GeneratedDemo) -> list[dict[str, Any]]:
    book = load_workbook(demo.files["offices"], read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_offices_sit_at_real_zip_centroids_in_iana_zones(demo: GeneratedDemo) -> None:
    offices = _offices(demo)
    assert 50 <= len(offices) <= 300
    assert list(offices[0]) == field_names(ImportKind.OFFICES)
    for office in offices:
        (z,) = zipcodes.matching(str(office["zip"]))  # type: ignore[no-untyped-call]
        assert float(z["lat"]) == office["latitude"] and float(z["long"]) == office["longitude"]
        assert office["timezone"] == z["timezone"]
        ZoneInfo(str(office["timezone"]))
    zones = {o["timezone"] for o in offices}
    assert {"America/Phoenix", "Pacific/Honolulu", "America/Puerto_Rico"} <= zones
    assert len(zones) >= 6


def test_some_offices_have_fewer_seats_than_staff_and_others_room_to_spare(
    demo: GeneratedDemo, db: duckdb.DuckDBPyConnection
) -> None:
    staff = dict(
        db.execute("""select duty_station, count(*) from (select employee_id,
        arg_max(duty_station, effective_date) duty_station from roster group by 1)
        where duty_station is not null group by 1""").fetchall()
    )
    seats = {o["site_id"]: o["seats"] for o in _offices(demo)}
    tight = [s for s, n in staff.items() if n > seats[s]]
    ample = [s for s, n in staff.items() if n < 0.9 * seats[s]]
    assert len(tight) >= 3 and len(ample) >= 10


def test_some_remote_staff_live_more_than_50_miles_from_every_office(
    demo: GeneratedDemo, db: duckdb.DuckDBPyConnection
) -> None:
    offices = [(float(o["latitude"]), float(o["longitude"])) for o in _offices(demo)]
    homes = db.execute("""select distinct home_latitude::double, home_longitude::double
        from roster where arrangement = 'remote'""").fetchall()
    geod = Geodesic.WGS84
    far = [
        (la, lo)
        for la, lo in homes
        if min(geod.Inverse(la, lo, ola, olo)["s12"] for ola, olo in offices) > FIFTY_MILES_M
    ]
    assert len(far) >= 0.2 * len(homes)
    assert len(far) < len(homes)


def test_agreements_describe_each_bargaining_unit_on_the_roster(
    demo: GeneratedDemo, db: duckdb.DuckDBPyConnection
) -> None:
    doc = tomllib.loads(demo.files["agreements"].read_text(encoding="utf-8"))
    units = {a["unit"]: a for a in doc["agreement"]}
    on_roster = {
        r[0]
        for r in db.execute(
            "select distinct bargaining_unit from roster where bargaining_unit is not null"
        ).fetchall()
    }
    assert on_roster == set(units)
    hybrid = [a for a in units.values() if "clause" in a]
    assert hybrid and all(a["clause"][0]["min_onsite_days_per_pay_period"] > 0 for a in hybrid)
    assert all(a["clause"][0]["status"][0]["status"] == "disputed" for a in hybrid)
    assert all(isinstance(a["effective_from"], date) for a in units.values())


def test_badge_reads_are_utc_within_local_office_hours_with_some_duplicates(
    demo: GeneratedDemo,
) -> None:
    zones = {str(o["site_id"]): ZoneInfo(str(o["timezone"])) for o in _offices(demo)}
    with gzip.open(demo.files["badges"], "rt", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split(",")
        rows = [line.rstrip("\n").split(",") for line in fh]
    assert header == ["Card Number", "Event Time (UTC)", "Reader", "Event Type"]
    assert all(r[1].endswith("Z") for r in rows)
    for card, stamp, reader, kind in rows[:: max(1, len(rows) // 5000)]:
        local = datetime.fromisoformat(stamp).astimezone(zones[reader.split("-")[0]])
        assert 4 <= local.hour <= 22, (card, stamp, reader)
        assert kind in {"Access Granted - Entry", "Access Granted - Exit", "Access Granted"}
    assert len({tuple(r) for r in rows}) < len(rows), "no duplicate reads"


def test_onsite_days_and_badge_days_mostly_agree_but_not_always(
    demo: GeneratedDemo, db: duckdb.DuckDBPyConnection
) -> None:
    offices = _offices(demo)
    db.execute("create or replace table tz(site varchar, zone varchar)")
    db.executemany("insert into tz values (?, ?)", [(o["site_id"], o["timezone"]) for o in offices])
    db.execute(f"""create or replace table swipes as select distinct r.employee_id emp,
        (b."Event Time (UTC)"::timestamptz at time zone tz.zone)::date as day
        from read_csv('{demo.files["badges"]}', header=true, all_varchar=true) b
        join tz on tz.site = split_part(b."Reader", '-', 1)
        join roster r on r.badge_id = b."Card Number" """)
    row = db.execute("""select
        avg(case when s.emp is null then 1 else 0 end) filter (where h.code = 'REG'),
        count(*) filter (where h.code in ('TWR', 'TWS') and s.emp is not null)
        from hours h left join swipes s on s.emp = h.emp and s.day = h.day""").fetchone()
    assert row is not None
    missing_share, telework_swipes = row
    assert 0.005 < missing_share < 0.06
    assert telework_swipes > 10


def test_the_files_are_in_the_shapes_the_example_profiles_expect(demo: GeneratedDemo) -> None:
    badges = load_profile(example_profile_path("access-control"), ImportKind.BADGES)
    with gzip.open(demo.files["badges"], "rt", encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == list(badges.columns.values())
    timecards = load_profile(example_profile_path("time-and-attendance"), ImportKind.TIMECARDS)
    first = Path(demo.files["timecards"]).read_text(encoding="utf-8").splitlines()[:2]
    assert first[0].split("|") == list(timecards.columns.values())
    assert datetime.strptime(first[1].split("|")[1], "%m/%d/%Y")
