"""The period a report covers: parsed from what a person types, then cut to the evidence.

Accepted spellings (docs/reports.md, "Periods"):

- ``2025-02-11``: one day; ``2025-02-03..2025-02-28``: a range, both days included;
- ``2025-W07``: an ISO week (Monday to Sunday);
- ``2025-PP05``: a federal biweekly pay period of leave year 2025 (Sunday to Saturday);
- ``2025-02``: a calendar month; ``2025-Q1``: a calendar quarter;
- ``since-directive``: from the earliest directive's effective date to the last day with
  evidence.

A period is then cut to the days that have evidence (T&A hours or badge events): a day
after the last import has no hours, and evaluating it would read as scheduled hours not
worked, i.e. non-compliance nobody committed. The cut is stated in the report's notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dutystation.domain.calendar import IsoWeek, pay_period
from dutystation.domain.directive import Directive
from dutystation.errors import ConfigError, NoEvidence

SINCE_DIRECTIVE = "since-directive"
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_PAY_PERIOD = re.compile(r"(\d{4})-PP(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_FORMS = (
    "a day (2025-02-11), a range (2025-02-03..2025-02-28), an ISO week (2025-W07), "
    "a pay period (2025-PP05), a month (2025-02), a quarter (2025-Q1) or since-directive"
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    notes: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _parse(text: str) -> tuple[date, date]:
    if ".." in text:
        first, _, last = text.partition("..")
        return _day(first.strip()), _day(last.strip())
    if match := _WEEK.fullmatch(text):
        week = IsoWeek(int(match.group(1)), int(match.group(2)))
        return week.start, week.end
    if match := _PAY_PERIOD.fullmatch(text):
        period = pay_period(int(match.group(1)), int(match.group(2)))
        return period.start, period.end
    if match := _QUARTER.fullmatch(text):
        year, quarter = int(match.group(1)), int(match.group(2))
        return date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    if match := _MONTH.fullmatch(text):
        year, month = int(match.group(1)), int(match.group(2))
        return date(year, month, 1), _month_end(year, month)
    day = _day(text)
    return day, day


def parse_period(text: str) -> tuple[date, date]:
    """First and last day of a period spelled as in the module docstring (not
    ``since-directive``, which needs the directives and the evidence)."""
    cleaned = text.strip()
    try:
        start, end = _parse(cleaned)
    except ValueError:
        # ValueError from date(), fromisoformat(), fromisocalendar() or pay_period():
        # the shape was right but a number was out of range, or the shape was wrong.
        raise ConfigError(f"period {text!r} is not {_FORMS}") from None
    if end < start:
        raise ConfigError(f"period {text!r} ends before it starts")
    return start, end


def directive_start(directives: Sequence[Directive]) -> date:
    if not directives:
        raise ConfigError("since-directive needs a directive, and no policy file is loaded")
    return min(d.effective for d in directives)


def resolve(
    text: str | None,
    start: date | None,
    end: date | None,
    *,
    directives: Sequence[Directive],
    evidence: tuple[date, date],
) -> Period:
    """The period to report: ``--from``/``--to`` (either may be left open), else ``text``,
    else since the directive; cut to ``evidence`` (first and last day with evidence)."""
    if text is not None and (start is not None or end is not None):
        raise ConfigError("give either --period or --from/--to, not both")
    if text is not None and text.strip().lower() != SINCE_DIRECTIVE:
        start, end = parse_period(text)
    elif text is not None or (start is None and end is None):
        start = directive_start(directives)
    # An open end runs to the evidence's last day (and its weekend: see cut_to_evidence).
    start, end = start or evidence[0], end or date.max
    if end < start:
        raise ConfigError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return cut_to_evidence(start, end, evidence)


def cut_to_evidence(start: date, end: date, evidence: tuple[date, date]) -> Period:
    first, last = evidence
    if end < first or start > last:
        raise NoEvidence(
            f"no T&A hours or badge events between {start.isoformat()} and {end.isoformat()}; "
            f"the evidence runs from {first.isoformat()} to {last.isoformat()}"
        )
    notes = []
    if start < first:
        notes.append(f"Evidence starts on {first.isoformat()}; the period starts there.")
        start = first
    if end > last:
        # Evidence that stops on a Friday or Saturday is a whole week: the weekend after it
        # holds no scheduled hours, and keeping it lets the last week count as whole.
        weekend = last + timedelta(days=6 - last.weekday()) if last.weekday() >= 4 else last
        end = min(end, weekend)
        notes.append(
            f"Evidence ends on {last.isoformat()}; the period ends "
            + ("there." if end == last else f"on the Sunday after, {end.isoformat()}.")
        )
    return Period(start, end, tuple(notes))
