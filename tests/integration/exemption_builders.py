"""Builders for the exemption workflow tests: a little organisation with supervisors, two
directives with different certification rules, and actors for every role.

    DEPT > COMP-A > ...      TEST-RTO@1 binds everyone (from 2025-01-20): disability,
         > COMP-B            medical, compelling reason; agency head + supervisor certify.
                             COMPB-MEMO@1 binds COMP-B (from 2025-01-24, stricter by date):
                             compelling reason, lack of office space; supervisor alone.

People: S0 manages S1, who supervises E1 and E2 (COMP-A, telework); SB supervises B1
(COMP-B, telework); H1, R1, T1 are staff at DEPT. Actors hold no accounts in the store:
the workflow keeps user ids, not foreign keys to accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from test_import_records_builders import load_organisation, person, roster_csv

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import Actor, Grant, Role
from dutystation.services.import_records import import_roster
from dutystation.settings import Settings
from dutystation.store.schema import Base, Employee
from dutystation.store.schema_audit import AuditRecord

TEST_ORDER = """\
id = "TEST-RTO"
version = 1
issuer = "Test"
title = "Test order"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["*"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]
[requirement]
onsite_share_of_hours = 1.0
[exemptions]
categories = ["disability_accommodation", "medical_condition", "compelling_reason"]
certification_required_by = ["agency_head", "supervisor"]
"""
COMP_B_MEMO = """\
id = "COMPB-MEMO"
version = 1
issuer = "Component B"
title = "Component B memo"
issued = 2025-01-24
effective = 2025-01-24
[scope]
org_units = ["COMP-B"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]
[requirement]
onsite_share_of_hours = 1.0
[exemptions]
categories = ["compelling_reason", "lack_of_office_space"]
"""

PEOPLE = [
    person("S0", arrangement="onsite"),
    person("S1", arrangement="onsite", supervisor_id="S0"),
    person("E1", supervisor_id="S1"),
    person("E2", supervisor_id="S1"),
    person("SB", org_unit="COMP-B", duty_station="FIELD-1", arrangement="onsite"),
    person("B1", org_unit="COMP-B", duty_station="FIELD-1", supervisor_id="SB"),
    person("H1", org_unit="DEPT", arrangement="onsite"),
    person("R1", org_unit="DEPT", arrangement="onsite"),
    person("T1", org_unit="DEPT", arrangement="onsite"),
]


@dataclass(frozen=True)
class World:
    runtime: Runtime
    pks: dict[str, int]

    def actor(self, name: str) -> Actor:
        return actors(self.pks)[name]


def actors(pks: dict[str, int]) -> dict[str, Actor]:
    def one(uid: int, name: str, roles: tuple[Role, ...], employee: str | None) -> Actor:
        grants = tuple(Grant(r) for r in roles)
        return Actor(uid, name, grants, pks[employee] if employee else None)

    return {
        "e1": one(101, "e1", (Role.EMPLOYEE,), "E1"),
        "e2": one(102, "e2", (Role.EMPLOYEE,), "E2"),
        "b1": one(103, "b1", (Role.EMPLOYEE,), "B1"),
        "s1": one(201, "s1", (Role.SUPERVISOR, Role.EMPLOYEE), "S1"),
        "s0": one(202, "s0", (Role.SUPERVISOR, Role.EMPLOYEE), "S0"),
        "sb": one(203, "sb", (Role.SUPERVISOR, Role.EMPLOYEE), "SB"),
        "head": one(301, "head", (Role.CERTIFYING_OFFICIAL,), "H1"),
        "ra": one(401, "ra", (Role.RA_COORDINATOR,), "R1"),
        "tmo": one(501, "tmo", (Role.TMO,), "T1"),
        "hr": one(601, "hr", (Role.HR,), None),
        "auditor": one(701, "auditor", (Role.AUDITOR,), None),
        "leader": one(801, "leader", (Role.LEADER,), None),
        "nobody": one(901, "nobody", (), None),
    }


def write_policies(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test-order.toml").write_text(TEST_ORDER, encoding="utf-8")
    (folder / "comp-b-memo.toml").write_text(COMP_B_MEMO, encoding="utf-8")
    return folder


def build_world(engine: Engine, tmp_path: Path) -> World:
    """The organisation and roster in ``engine``'s database, and a runtime over it."""
    load_organisation(engine, tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=engine.url.render_as_string(hide_password=False),
        policies_dir=write_policies(tmp_path / "policies"),
    )
    import_roster(engine, [roster_csv(tmp_path, PEOPLE)], settings=settings)
    with engine.connect() as conn:
        pks = {
            str(r[0]): int(r[1]) for r in conn.execute(select(Employee.employee_id, Employee.id))
        }
    return World(bootstrap(settings), pks)


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


def audit_outcomes(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        query = select(AuditRecord.action, AuditRecord.outcome).order_by(AuditRecord.seq)
        return [(a, o) for a, o in conn.execute(query)]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
