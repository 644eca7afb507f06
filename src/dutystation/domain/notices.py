"""Rules of notices (docs/notices.md), without I/O: who a directive's announcement is for,
which deadlines are due a reminder, which component a person counts in, and how long a
mail waits before its next attempt.

Being "in a directive's scope" is decided by ``binding_directive`` itself, with the one
directive: a unit the directive names as not bound is out (with its legal basis), and
people whose arrangement is presumed compliant are in (the order applies to them too;
they meet it by the nature of their job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dutystation.domain.directive import BindingKind, Directive, binding_directive
from dutystation.domain.vocabulary import Arrangement

# A retry never waits longer than this, however many attempts came before.
MAX_RETRY_DELAY = timedelta(hours=6)


class DeadlineKind(StrEnum):
    POLICY_REVISION = "policy_revision"
    FULL_COMPLIANCE = "full_compliance"
    REPORT = "report"  # the report on officials who have not returned

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    DeadlineKind.POLICY_REVISION: "policy revision",
    DeadlineKind.FULL_COMPLIANCE: "full compliance",
    DeadlineKind.REPORT: "report on officials not returned",
}


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    day: date  # the calendar day (in the deadline's own time zone when it has one)
    shown: str  # how the directive states it: "2025-01-24 17:00 America/New_York"


def deadlines(directive: Directive) -> list[Deadline]:
    """The directive's deadlines, earliest first."""
    found = []
    revision = directive.deadlines.policy_revision
    if revision is not None:
        zone = getattr(revision.tzinfo, "key", None) or revision.strftime("%z")
        shown = f"{revision.strftime('%Y-%m-%d %H:%M')} {zone}"
        found.append(Deadline(DeadlineKind.POLICY_REVISION, revision.date(), shown))
    full = directive.deadlines.full_compliance
    if full is not None:
        found.append(Deadline(DeadlineKind.FULL_COMPLIANCE, full, full.isoformat()))
    report = directive.not_returned_report_due
    if report is not None:
        found.append(Deadline(DeadlineKind.REPORT, report, report.isoformat()))
    return sorted(found, key=lambda d: (d.day, d.kind))


def due_for_reminder(directive: Directive, today: date, days: int) -> list[Deadline]:
    """Deadlines from today to ``days`` days ahead, both included; a passed one is not."""
    return [d for d in deadlines(directive) if today <= d.day <= today + timedelta(days=days)]


def scope_day(directive: Directive, today: date) -> date | None:
    """The day whose scope an announcement made ``today`` follows: today, or the
    effective date of a directive announced ahead of it. None once it has expired."""
    if directive.expires is not None and directive.expires < today:
        return None
    return max(today, directive.effective)


def in_scope(
    directive: Directive, chain_nearest_first: Sequence[str], arrangement: Arrangement, day: date
) -> bool:
    """Whether ``directive`` holds a person of that org-unit chain and arrangement on
    ``day`` (bound by it, or presumed compliant with it)."""
    binding = binding_directive([directive], chain_nearest_first, arrangement, day)
    return binding.kind is BindingKind.BOUND


def component_of(chain_root_first: Sequence[str]) -> str:
    """The unit below the department; a department's own staff count in the department."""
    return chain_root_first[1] if len(chain_root_first) > 1 else chain_root_first[0]


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base, ... capped."""
    exponent = min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=base_seconds * 2**exponent), MAX_RETRY_DELAY)
