"""Builders for the notice and mail tests: a small roster in the standard organisation of
``test_import_records_builders``, a directive that names one component as not bound, the
actors who send, read and acknowledge, and an in-process SMTP server (aiosmtpd).

    DEPT > COMP-A > DIV-A1 > BR-A1X > TEAM-A1X1
         > COMP-B   (not bound by the directive: legal impediment)

In scope: E1 (COMP-A, telework), E2 (DIV-A1, remote), E3 (TEAM-A1X1, onsite: presumed
compliant), E6 (COMP-A, telework, no mail address), E7 (DEPT's own staff, telework).
Out: E4 (COMP-A, field: not covered), E5 (COMP-B, telework: not bound).
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from test_import_records_builders import load_organisation, person, roster_csv, settings_for

from dutystation.domain.access import Actor, Grant, Role
from dutystation.domain.directive import Directive
from dutystation.services.import_records import import_roster
from dutystation.settings import Settings
from dutystation.store.db import make_engine, migrate, write_transaction
from dutystation.store.schema import Employee
from dutystation.store.schema_audit import AuditRecord
from dutystation.store.schema_notices import MailOutbox, Notice, NoticeRecipient
from pg_scratch import _maintenance_engine, _postgres_url

REF = "ORDER@1"
ANNOUNCED_ON = date(2025, 1, 21)
NOW = datetime(2025, 1, 21, 14, 0, tzinfo=UTC)
IN_SCOPE = {"E1", "E2", "E3", "E6", "E7"}
MAILED = IN_SCOPE - {"E6"}
SENDER = "dutystation@agency.example.gov"

ROSTER = [
    person("E1", org_unit="COMP-A", arrangement="telework"),
    person("E2", org_unit="DIV-A1", arrangement="remote"),
    person("E3", org_unit="TEAM-A1X1", arrangement="onsite"),
    person("E4", org_unit="COMP-A", arrangement="field"),
    person("E5", org_unit="COMP-B", arrangement="telework", duty_station="FIELD-1"),
    person("E6", org_unit="COMP-A", arrangement="telework", email=""),
    person("E7", org_unit="DEPT", arrangement="telework"),
]


def directive(**changes: Any) -> Directive:
    data: dict[str, Any] = {
        "id": "ORDER",
        "version": 1,
        "issuer": "The Secretary",
        "title": "Return to the office",
        "issued": "2025-01-20",
        "effective": "2025-01-20",
        "scope": {
            "org_units": ["DEPT"],
            "not_bound": [{"org_unit": "COMP-B", "legal_basis": "legal impediment"}],
            "arrangements": ["telework", "remote"],
            "presumed_compliant": ["onsite"],
        },
        "requirement": {"onsite_share_of_hours": 1.0},
        "deadlines": {
            "policy_revision": "2025-01-24 17:00 America/New_York",
            "full_compliance": "2025-02-21",
        },
        "exemptions": {"categories": ["medical_condition", "compelling_reason"]},
    }
    data.update(changes)
    return Directive.model_validate(data)


def load_roster(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]] = ROSTER) -> None:
    load_organisation(engine, tmp_path)
    add_people(engine, tmp_path, rows)


def add_people(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    name = f"roster-{len(list(tmp_path.glob('roster-*.csv')))}.csv"
    import_roster(engine, [roster_csv(tmp_path, rows, name)], settings=settings_for(tmp_path))


# --- one database per module and backend, emptied of notices before each test ------------
# Creating a PostgreSQL database and loading the roster take ~2 s; per test, that would be
# most of this area's run time. The roster is the same for every test, so it is loaded once
# and each test starts from no notices, no mail, no audit records and only ROSTER's people.


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """For a module-scoped fixture parametrised by BACKENDS: a migrated database with
    ROSTER loaded (PostgreSQL: a scratch database, dropped at the end)."""
    folder = tmp_path_factory.mktemp("notices")
    admin, name = None, None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'store.sqlite3'}"
    else:
        base = _postgres_url()
        name = f"dutystation_test_{uuid.uuid4().hex[:16]}"
        admin = _maintenance_engine(base)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate(engine)
        load_roster(engine, folder)
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# The audit trail is append-only (triggers refuse DELETE): a test reads the records
# written after its start.
_AUDIT_START: dict[str, int] = {}


def fresh_roster(engine: Engine) -> Engine:
    """``engine`` with no notices, no mail and only ROSTER's people."""
    people = [row["employee_id"] for row in ROSTER]
    with write_transaction(engine) as conn:
        for table in (MailOutbox, NoticeRecipient, Notice):
            conn.execute(delete(table))
        conn.execute(delete(Employee).where(Employee.employee_id.not_in(people)))
        last = conn.scalar(select(func.max(AuditRecord.seq)))
    _AUDIT_START[str(engine.url)] = last or 0
    return engine


def audit_rows(engine: Engine, action: str) -> list[AuditRecord]:
    """The audit records of ``action`` written since ``fresh_roster``, oldest first."""
    start = _AUDIT_START.get(str(engine.url), 0)
    with Session(engine) as session:
        query = (
            select(AuditRecord)
            .where(AuditRecord.action == action, AuditRecord.seq > start)
            .order_by(AuditRecord.seq)
        )
        return list(session.scalars(query))


def pk(engine: Engine, employee_id: str) -> int:
    with engine.connect() as conn:
        found = conn.scalar(select(Employee.id).where(Employee.employee_id == employee_id))
    assert found is not None
    return int(found)


def sender(scope: str | None = None, role: Role = Role.TMO) -> Actor:
    return Actor(user_id=1, username="tmo", grants=(Grant(role, scope),))


def employee(engine: Engine, employee_id: str, channel: str = "cli") -> Actor:
    return Actor(
        user_id=100,
        username=employee_id.lower(),
        grants=(Grant(Role.EMPLOYEE),),
        employee_pk=pk(engine, employee_id),
        channel=channel,
    )


LEADER = Actor(user_id=3, username="leader", grants=(Grant(Role.LEADER),))


# --- a real SMTP server -----------------------------------------------------------------


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted message; ``rcpt_reply`` refuses recipients."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    rcpt_reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        with self.lock:
            return sorted(a for tos, _ in self.messages for a in tos)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self, tmp_path: Path, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_from": SENDER,
            "smtp_starttls": False,
            "smtp_timeout_seconds": 5,
            "mail_lease_seconds": 60,
            "mail_max_attempts": 3,
            "mail_retry_base_seconds": 60,
        }
        return Settings(**(values | changes))
