"""The API tests' world with hostile text everywhere a person's or unit's name shows
(T13, T14): every roster name is an XSS, template-injection or bidi-spoofing attempt
(each at most the 200 characters a name may have), one org unit is named with markup, two
weeks of T&A evidence are evaluated so the names reach the status pages and reports, and
W1 has filed an exemption request whose justification is 10 KB of markup and bidi
controls. Built once per test session (per xdist worker), like ``visits``, every user's
crawl of it; import them into a test module to use them, and change neither.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from site_crawl import Visit, crawl_everyone

from api_world import ORG_UNITS, PEOPLE, ROSTER_COLUMNS, World, make_client, world_settings
from dutystation.api.app import create_app
from dutystation.bootstrap import bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot

POLICIES = Path(__file__).resolve().parents[2] / "policies"
RENAMED = "2025-02-03"
NAMES = {
    "W1": "<script>alert('w1')</script>",
    "W2": '"><img src=x onerror=alert(2)>',
    "W3": "Wynn \u202eexe.fdp\u202c Worker",
    "MGR1": "Mor\u200dgan\u200c Man\u2066ager\u2069",
    "MGR2": "</td></tr></table><svg onload=alert(5)>",
    "DIR": "Dana' onmouseover='alert(6)' x='",
    "BMGR": "{{7*7}} ${7*7} <%= 7*7 %> \u202bBlair\u202c",
    "B1": "javascript:alert(8)//<a href=javascript:alert(8)>x</a>",
}
UNIT_NAME = "<iframe src=javascript:alert(9)></iframe>\u202eTeam A1"
JUSTIFICATION = ("<script>alert(10)</script>\u202e\u200d<b onclick=alert(11)>x</b> " * 200)[:10240]
EVIDENCE_START = date(2025, 2, 24)
NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
BUDGET = 400 if NIGHTLY else 60  # pages per user
# Reports that list people or units by name, in every format a person opens.
DOWNLOADS = [
    f"/reports/download?kind={kind}&format={fmt}"
    for kind in ("not-returned", "workforce", "onsite-share", "presence")
    for fmt in ("csv", "xlsx", "html")
]


@dataclass
class HostileWorld(World):
    request_id: int = 0

    def settings(self, **overrides: Any) -> Any:
        return world_settings(self.data_dir, policies_dir=self.data_dir / "policies", **overrides)

    def path_values(self) -> dict[str, str]:
        """Real values for the app's path parameters."""
        return {
            "username": "w1",
            "employee_id": "W1",
            "org_unit": "TEAM-A1",
            "unit": "TEAM-A1",
            "request_id": str(self.request_id),
            "position": "1",
        }


def _csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _timecards(path: Path) -> Path:
    rows = []
    for n in range(12):
        day = EVIDENCE_START + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        for employee_id, *_rest, arrangement, _boss in PEOPLE:
            site = "FIELD-B" if employee_id in ("BMGR", "B1") else "HQ"
            on_site = arrangement == "onsite" or (employee_id == "W2" and day.weekday() < 3)
            code = "onsite" if on_site else "telework_routine"
            rows.append((employee_id, day.isoformat(), code, "8", site if on_site else ""))
    return _csv(path, ["employee_id", "date", "code", "hours", "site_id"], rows)


@pytest.fixture(scope="session")
def hostile_world(world_template: World, tmp_path_factory: pytest.TempPathFactory) -> HostileWorld:
    root = tmp_path_factory.mktemp("hostile-world")
    data_dir = root / "data"
    shutil.copytree(world_template.data_dir, data_dir)
    (data_dir / "policies").mkdir()
    shutil.copy(POLICIES / "2025-01-20-return-to-in-person-work.toml", data_dir / "policies")
    made = HostileWorld(data_dir=data_dir, users=dict(world_template.users))
    runtime = bootstrap(made.settings())
    units = [(c, UNIT_NAME if c == "TEAM-A1" else n, p, k) for c, n, p, k in ORG_UNITS]
    run_import(
        runtime,
        ImportKind.ORG_UNITS,
        [_csv(root / "units.csv", ["org_unit", "name", "parent", "kind"], units)],
    )
    roster = [(p[0], NAMES[p[0]], *p[2:], RENAMED, f"{p[0].lower()}@example.gov") for p in PEOPLE]
    run_import(runtime, ImportKind.ROSTER, [_csv(root / "roster.csv", ROSTER_COLUMNS, roster)])
    run_import(runtime, ImportKind.TIMECARDS, [_timecards(root / "timecards.csv")])
    refresh_snapshot(runtime)
    runtime.engine.dispose()

    employee = make_client(create_app(made.settings()), made.users["employee"].token)
    filed = employee.post(
        "/api/v1/exemptions",
        data={
            "employee_id": "W1",
            "category": "compelling_reason",
            "start": "2025-03-03",
            "end": "2025-04-30",
            "justification": JUSTIFICATION,
        },
    )
    assert filed.status_code == 201, filed.text
    made.request_id = int(filed.json()["id"])
    employee.close()
    return made


@pytest.fixture(scope="session")
def visits(hostile_world: HostileWorld) -> list[Visit]:
    """Every user's crawl of the hostile world (tests/api/site_crawl.py): ``BUDGET`` pages
    each; report downloads as the administrator (nightly: as everyone)."""
    return crawl_everyone(
        create_app(hostile_world.settings()),
        hostile_world,
        hostile_world.path_values(),
        BUDGET,
        downloads_for=None if NIGHTLY else frozenset({"agency_admin"}),
        download_paths=DOWNLOADS,
    )
