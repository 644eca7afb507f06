"""The demo's exemption requests: four filings by the demo users for the demo supervisor's
team, decided as they would have been in early 2025 (``services/demo_people.py`` picks the
team and makes the accounts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import Decision
from dutystation.services.documents import Upload
from dutystation.services.exemption_decisions import certify
from dutystation.services.exemption_requests import NewRequest, request_exemption


def at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


_CARE_NOTE = (
    b"Care schedule (synthetic demo document; every name and fact is fictional).\n"
    b"A family member is in daily outpatient treatment from 2025-01-21 to 2025-03-14.\n"
    b"I drive them to the clinic each morning and am their only carer at home.\n"
)
_CLINICIAN_LETTER = (
    b"Clinician's letter (synthetic demo document; every name and fact is fictional).\n"
    b"The patient is recovering from surgery and should not commute until 2025-05-09.\n"
)


@dataclass(frozen=True)
class _Filing:
    """One demo request: who files it for which report, and the certifications given."""

    filer: str  # a demo username
    report: int  # index into the team's reports
    category: ExemptionCategory
    days: tuple[str, str]  # first and last day asked for
    justification: str
    filed_on: str
    documents: tuple[Upload, ...] = ()
    decisions: tuple[tuple[str, Decision, str, str], ...] = ()  # user, decision, reason, day


# In the order they happened. The first is filed the day after the presidential memorandum,
# before the department memo took effect (2025-01-24): the government-wide order judges it,
# so the supervisor and the agency head certify it. The department memo judges the others:
# the supervisor and the component head (the leader) certify. A request the supervisor
# files leaves the supervisor's certification to someone above them.
_APPROVE, _DENY = Decision.APPROVE, Decision.DENY
# fmt: off
_FILINGS = (
    _Filing(  # approved
        "employee", 0, ExemptionCategory.COMPELLING_REASON, ("2025-01-21", "2025-03-14"),
        "I am the only carer of a family member in daily outpatient treatment until "
        "mid-March (synthetic demo text).",
        "2025-01-21", (Upload("care-schedule.txt", _CARE_NOTE),),
        (("supervisor", _APPROVE, "care duties confirmed for the period", "2025-01-22"),
         ("head", _APPROVE, "compelling reason certified", "2025-01-23")),
    ),
    _Filing(  # denied
        "supervisor", 3, ExemptionCategory.COMPELLING_REASON, ("2025-02-03", "2025-04-30"),
        "Asks to keep a full telework schedule while a long commute is re-planned "
        "(synthetic demo text).",
        "2025-01-27",
        decisions=(("leader", _DENY, "a commute is not a compelling reason under the memo; "
                    "situational telework stays available for short absences", "2025-01-30"),),
    ),
    _Filing(  # confidential: the justification and the letter go to the medical store
        "supervisor", 2, ExemptionCategory.MEDICAL_CONDITION, ("2025-02-10", "2025-05-09"),
        "Recovering from surgery; the clinician advises no commuting until 2025-05-09 "
        "(synthetic demo text).",
        "2025-02-04", (Upload("clinician-letter.txt", _CLINICIAN_LETTER),),
    ),
    _Filing(  # pending: the component head's certification is missing
        "employee2", 1, ExemptionCategory.LACK_OF_OFFICE_SPACE, ("2025-02-18", "2025-05-30"),
        "My duty station has no free desk for my team until the floor is re-fitted "
        "(synthetic demo text).",
        "2025-02-10",
        decisions=(("supervisor", _APPROVE, "no seat until the re-fit", "2025-02-11"),),
    ),
)
# fmt: on


def file_requests(runtime: Runtime, actors: dict[str, Actor], reports: Sequence[str]) -> None:
    """File and decide the demo's requests for ``reports`` (employee ids of the demo
    supervisor's team, in ``_Team`` order) on days inside the evidence window: the
    compliance engine reads the filing and decision days."""
    for f in _FILINGS:
        person = reports[f.report]
        first, last = (date.fromisoformat(day) for day in f.days)
        new = NewRequest(person, f.category, first, last, f.justification, f.documents)
        filed = request_exemption(runtime, actors[f.filer], new, now=at(f.filed_on, 15))
        for user, decision, reason, day in f.decisions:
            certify(runtime, actors[user], filed, decision, reason, now=at(day, 16))
