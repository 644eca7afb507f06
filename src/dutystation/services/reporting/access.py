"""Reports for a person: the catalogue of report kinds, and ``build_report_for``, which
checks ``Operation.REPORT_READ`` before ``build_report`` runs.

``build_report`` itself reads as the system (the CLI's ``report`` command has no ``--as``);
every entry point that acts for a signed-in user (the API, the dashboard) calls
``build_report_for`` instead. The subject is the org unit asked for, or, without one, every
root of the org tree: a leader of one component reads that component's reports, and the
whole organisation's only with a grant that covers it. An org unit outside the actor's
scope answers exactly like one that does not exist (RELIABILITY T01).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation
from dutystation.errors import ConfigError, NotFound
from dutystation.reports.model import Report
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import Subject, authorize
from dutystation.services.reporting import KINDS, ReportRequest, build_report
from dutystation.store.db import translate_errors
from dutystation.store.schema import OrgUnit

# One sentence per kind (docs/reports.md, "answers"); a test keeps it equal to KINDS.
DESCRIPTIONS: dict[str, str] = {
    "onsite-share": "What share of hours worked is done on site, and off site, per org "
    "unit; the weekly trend since the directive.",
    "not-returned": "Per component, who in scope has not come back within N days of the "
    "deadline, with status and documented reason.",
    "workforce": "How many are entirely on site, telework eligible, remote; where the "
    "telework-eligible work.",
    "compliance-plan": "Per component: compliance now, the trend, the expected date of full "
    "compliance, and what limits it (seats).",
    "duty-station-test": "Per component: teleworkers who report to their official duty "
    "station fewer than twice a pay period.",
    "utilisation": "Per office: average and peak daily occupancy against seats.",
    "discrepancies": "Days where T&A hours and badge taps disagree.",
    "presence": "Per employee and day: first in, last out, hours on site, from badges.",
    "capacity": "Per office and day: seats, headcount, people expected on site at full "
    "compliance, the shortfall.",
    "briefing": "onsite-share, compliance-plan, not-returned and workforce in one.",
    "acknowledgements": "Per directive and component: people notified, how many "
    "acknowledged, reminders, and what became of the mail.",
    "grievances": "Per component: grievances filed under a bargaining agreement, their "
    "status, and their outcome.",
    "distance": "Remote workers and teleworkers: home to the nearest agency office and to "
    "the duty station, those beyond the distance limit.",
}
# Options that only some kinds take (build_report refuses them elsewhere).
OPTIONS: dict[str, tuple[str, ...]] = {
    "not-returned": ("days",),
    "briefing": ("days",),
    "presence": ("hours", "direction"),
}


@dataclass(frozen=True)
class ReportKind:
    kind: str
    description: str
    options: tuple[str, ...]


def report_kinds() -> list[ReportKind]:
    """Every report kind with its one-sentence description, in ``KINDS`` order."""
    return [ReportKind(k, DESCRIPTIONS[k], OPTIONS.get(k, ())) for k in KINDS]


def build_report_for(runtime: Runtime, actor: Actor, request: ReportRequest) -> Report:
    """``build_report(runtime, request)`` once ``actor`` may read reports of
    ``request.org_unit`` (without one: of the whole organisation). ``Forbidden`` for a role
    that reads no report; ``NotFound`` for an org unit unknown or out of scope."""
    if request.kind not in KINDS:
        raise ConfigError(f"no report {request.kind!r}; the reports are {', '.join(KINDS)}")
    unit = request.org_unit
    attempt = Change(Operation.REPORT_READ.value, "report", request.kind, after={"org_unit": unit})
    check_report_scope(runtime, actor, unit, attempt)
    return build_report(runtime, request)


def check_report_scope(runtime: Runtime, actor: Actor, unit: str | None, attempt: Change) -> None:
    """Pass when ``actor`` may read reports of ``unit`` (None: of the whole organisation);
    a refusal is recorded in the audit trail as ``attempt``. ``Forbidden`` for a role that
    reads no report; ``NotFound`` for an org unit unknown or out of scope."""
    with (
        denials_recorded(runtime.engine, actor, attempt),
        translate_errors(),
        runtime.engine.connect() as conn,
    ):
        if unit is not None:
            missing = f"org unit {unit!r} does not exist"
            subject = Subject(org_unit=unit)
            authorize(conn, actor, Operation.REPORT_READ, subject, not_found=missing)
            if conn.scalar(select(OrgUnit.id).where(OrgUnit.code == unit)) is None:
                raise NotFound(missing)
        else:
            roots = conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id.is_(None)))
            for code in sorted(roots):
                authorize(
                    conn,
                    actor,
                    Operation.REPORT_READ,
                    Subject(org_unit=code),
                    not_found="the whole organisation's reports are not in your scope",
                )
            # An empty store has no root: the roles still decide (Forbidden or not).
            authorize(conn, actor, Operation.REPORT_READ)
