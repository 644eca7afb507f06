"""The reference model of RELIABILITY T21 (``test_compliance_model.py``): what the
product must say, computed in plain Python from the documented rules.

It keeps its own copy of every fact the state machine gave the product (roster history,
T&A rows in force, badge taps, exemption records, the directives) and derives from them,
day by day, the employee-period rows of ``services.evaluate`` and the distance verdicts of
the ``distance`` report. Per-day rules come from the product's pure specification
(``domain/status.py`` ``decide_status``, ``domain/presence.py``, ``domain/calendar.py``,
``domain/directive.py`` ``binding_directive``); every aggregation (history, corrections,
periods, sums, presence days, coverage, distances) is computed here.

Rules and where they are written down:
- roster history and snapshots: docs/importing.md "The roster's history";
- T&A corrections, ``conflicting_hours``, ``day_over_24h``, badge time zones, ``dst_gap``:
  docs/importing.md;
- exemption records, revocation, pending: docs/exemptions.md;
- hours, presence, status, duty-station test: docs/evaluation.md, docs/directives.md;
- the distance limit: docs/designation.md "Distances".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geographiclib.geodesic import Geodesic

from dutystation.domain.calendar import (
    Schedule,
    days_between,
    iso_week_of,
    pay_period_of,
    required_hours_by_day,
)
from dutystation.domain.directive import (
    BindingKind,
    CountsAt,
    Directive,
    ExemptionCategory,
    binding_directive,
)
from dutystation.domain.presence import BadgeEvent, PresenceSettings, presence_by_day
from dutystation.domain.status import (
    ApprovedExemption,
    DayEvidence,
    PendingRequest,
    StatusInputs,
    decide_status,
)
from dutystation.domain.vocabulary import Arrangement, Direction, ScheduleKind

START = date(2025, 2, 17)  # a Monday, Presidents' Day (a federal holiday)
END = date(2025, 3, 9)  # a Sunday: US clocks spring forward (not Phoenix, Hawaii, Guam)
WINDOW = days_between(START, END)
EMPLOYEES = ("E1", "E2", "E3", "E4")
NAMES = {"E1": "José Núñez", "E2": "Zoë O'Brien", "E3": "Łukasz Wróbel", "E4": "Ngozi Okafor"}
# Homes (coordinates in the roster): chosen at distances that fall on both sides of the
# limits the state machine picks (10, 50, 150, 3000 miles).
HOMES = {
    "E1": (40.7357, -74.1724),  # Newark: ~8 mi from the New York office
    "E2": (39.9526, -75.1652),  # Philadelphia: ~80 mi
    "E3": (32.2226, -110.9747),  # Tucson: ~105 mi from Phoenix
    "E4": (19.7070, -155.0885),  # Hilo: ~215 mi from Honolulu
}
OFFICES = {
    "NYC": ("America/New_York", 40.7128, -74.0060),
    "PHX": ("America/Phoenix", 33.4484, -112.0740),
    "HNL": ("Pacific/Honolulu", 21.3069, -157.8583),
    "GUM": ("Pacific/Guam", 13.4443, 144.7937),
}
UNITS = [
    ("D", "Department", "", "department"),
    ("A", "Component A", "D", "component"),
    ("A1", "Division A1", "A", "division"),
    ("B", "Component B", "D", "component"),
]
CHAINS = {"D": ("D",), "A": ("D", "A"), "A1": ("D", "A", "A1"), "B": ("D", "B")}
HOLD_SEPARATED, HOLD_MOVED = 0.10, 0.20  # settings' defaults (docs/configuration.md)
TOLERANCE = 1e-9
MILE_M = 1609.344


@dataclass(frozen=True)
class Assignment:
    org_unit: str
    duty_station: str | None
    arrangement: str
    schedule: str


@dataclass
class Span:
    start: date
    end: date | None  # exclusive
    values: Assignment

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass
class Record:
    """One exemption request as stored: ``decided`` None while pending."""

    status: str
    category: ExemptionCategory
    filed: date
    decided: date | None
    start: date | None
    end: date | None
    revoked_from: date | None = None

    def coverage(self) -> ApprovedExemption | None:
        if self.status not in ("approved", "revoked") or self.start is None:
            return None
        last = self.end
        if self.revoked_from is not None:
            last = self.revoked_from - timedelta(days=1)
        if last is not None and last < self.start:
            return None
        return ApprovedExemption(self.category, self.start, last)

    def state(self) -> tuple[Any, ...]:
        return (self.status, self.decided, self.start, self.end)


def _local(day: date, hour: int, minute: int, second: int, zone: ZoneInfo, fold: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone, fold=fold)


def naive_problem(day: date, clock: tuple[int, int, int], site: str) -> str | None:
    """``dst_gap`` or ``dst_ambiguous`` for a wall-clock time at ``site``, else None."""
    zone = ZoneInfo(OFFICES[site][0])
    first, second = (_local(day, *clock, zone, f) for f in (0, 1))
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(zone)
        if back.replace(tzinfo=None) != first.replace(tzinfo=None):
            return "dst_gap"
        return "dst_ambiguous"
    return None


def instant_of(day: date, clock: tuple[int, int, int], site: str) -> datetime:
    """The UTC instant of a wall-clock time at ``site`` (a real one: no gap, no fold)."""
    return _local(day, *clock, ZoneInfo(OFFICES[site][0]), 0).astimezone(UTC)


@dataclass
class Reference:
    roster: dict[str, list[Span]] = field(default_factory=dict)
    timecards: dict[tuple[str, date, str], tuple[float, str | None]] = field(default_factory=dict)
    taps: set[tuple[str, str, datetime, str | None]] = field(default_factory=set)
    records: dict[tuple[str, str, date], Record] = field(default_factory=dict)
    directives: list[Directive] = field(default_factory=list)
    debounce_seconds: float = 60.0

    # --- the roster --------------------------------------------------------------------

    def as_of(self, employee: str, day: date) -> Assignment | None:
        span = next((s for s in self.roster.get(employee, []) if s.covers(day)), None)
        return span.values if span else None

    def apply_row(self, employee: str, day: date, values: Assignment) -> None:
        spans = self.roster.setdefault(employee, [])
        current = next((s for s in spans if s.covers(day)), None)
        if current is not None:
            if current.values == values:
                return
            if current.start == day:
                current.values = values
                return
            spans.append(Span(day, current.end, values))
            current.end = day
        else:
            later = [s.start for s in spans if s.start > day]
            spans.append(Span(day, min(later) if later else None, values))
        spans.sort(key=lambda s: s.start)

    def separate(self, employee: str, day: date) -> None:
        spans = self.roster[employee]
        current = next((s for s in spans if s.covers(day)), None)
        if current is None:
            return
        if current.start >= day:
            spans.remove(current)
        else:
            current.end = day

    def active_on(self, day: date) -> list[str]:
        return sorted(e for e in self.roster if self.as_of(e, day) is not None)

    def snapshot_held(self, day: date, rows: dict[str, Assignment]) -> bool:
        active = self.active_on(day)
        if not active:
            return False
        separated = [e for e in active if e not in rows]
        moved = [
            e for e, v in rows.items() if (now := self.as_of(e, day)) and now.org_unit != v.org_unit
        ]
        n = len(active)
        return len(separated) / n > HOLD_SEPARATED or len(moved) / n > HOLD_MOVED

    def apply_snapshot(self, day: date, rows: dict[str, Assignment]) -> None:
        absent = [e for e in self.active_on(day) if e not in rows]
        for employee, values in sorted(rows.items()):
            self.apply_row(employee, day, values)
        for employee in absent:
            self.separate(employee, day)

    # --- T&A ---------------------------------------------------------------------------

    def timecards_rejected(self, rows: list[tuple[str, date, str, float, str | None]]) -> bool:
        if any(r[0] not in self.roster for r in rows):
            return True  # unknown_employee
        seen: dict[tuple[str, date, str], set[tuple[float, str | None]]] = {}
        for employee, day, code, hours, site in rows:
            seen.setdefault((employee, day, code), set()).add((hours, site))
        if any(len(v) > 1 for v in seen.values()):
            return True  # conflicting_hours
        totals: dict[tuple[str, date], float] = {}
        for (employee, day, _code), values in seen.items():
            totals[(employee, day)] = totals.get((employee, day), 0.0) + next(iter(values))[0]
        for (employee, day, code), (hours, _site) in self.timecards.items():
            if (employee, day) in totals and (employee, day, code) not in seen:
                totals[(employee, day)] += hours
        return any(total > 24 + 1e-6 for total in totals.values())  # day_over_24h

    def apply_timecards(self, rows: list[tuple[str, date, str, float, str | None]]) -> None:
        for employee, day, code, hours, site in rows:
            self.timecards[(employee, day, code)] = (hours, site)  # a later batch corrects

    # --- exemptions --------------------------------------------------------------------

    def pending_requests(self, employee: str, end: date) -> list[PendingRequest]:
        return [
            PendingRequest(r.category, r.filed)
            for (who, _, _), r in self.records.items()
            if who == employee and r.filed <= end and (r.decided is None or r.decided > end)
        ]

    def exemptions_of(self, employee: str) -> list[ApprovedExemption]:
        covered = [r.coverage() for (who, _, _), r in self.records.items() if who == employee]
        return [c for c in covered if c is not None]

    # --- presence ----------------------------------------------------------------------

    def badge_days(self, employee: str) -> set[date]:
        events = [
            BadgeEvent(
                at.astimezone(ZoneInfo(OFFICES[site][0])),
                Direction(direction) if direction else None,
                site,
            )
            for who, site, at, direction in self.taps
            if who == employee
        ]
        if not events:
            return set()
        found = presence_by_day(events, PresenceSettings(debounce_seconds=self.debounce_seconds))
        return {d for d, p in found.items() if p.present}

    # --- the evaluation ----------------------------------------------------------------

    def evidence_error(self) -> str | None:
        """The ``NoEvidence`` sentence ``evaluate`` must give, or None."""
        nothing = f"no T&A hours or badge events between {START} and {END}"
        if not self.timecards and not self.taps:
            return nothing
        assigned = {(e, d) for e in self.roster for d in WINDOW if self.as_of(e, d)}
        if not assigned:
            return f"nobody is assigned between {START} and {END}"
        evidence = {(e, d) for (e, d, _c) in self.timecards} | {
            (e, d) for e in self.roster for d in self.badge_days(e)
        }
        return None if assigned & evidence else nothing

    def evaluation(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Every employee-period row: (employee, period kind, label) -> columns."""
        periods: dict[tuple[str, str], list[date]] = {}
        for day in WINDOW:
            periods.setdefault(("day", day.isoformat()), []).append(day)
            periods.setdefault(("week", iso_week_of(day).label), []).append(day)
            periods.setdefault(("pay_period", pay_period_of(day).label), []).append(day)
        rows = {}
        for employee in sorted(self.roster):
            calendars = {
                kind.value: required_hours_by_day(Schedule(kind), START, END)
                for kind in ScheduleKind
                if kind is not ScheduleKind.CUSTOM
            }
            badge_days = self.badge_days(employee)
            for (kind, label), days in periods.items():
                row = self._period(employee, kind, days, calendars, badge_days)
                if row is not None:
                    rows[(employee, kind, label)] = row
        return rows

    def _day(
        self, employee: str, day: date, version: Assignment, counts_any: bool, required: float
    ) -> dict[str, float]:
        scheduled = Schedule(ScheduleKind(version.schedule)).scheduled_hours(day)
        f = dict.fromkeys(["own", "other", "field", "telework", "remote", "leave", "hol"], 0.0)
        for (who, when, code), (hours, site) in self.timecards.items():
            if who != employee or when != day:
                continue
            if code == "onsite":
                key = "own" if site is None or site == version.duty_station else "other"
            else:
                key = {
                    "field_travel": "field",
                    "telework_routine": "telework",
                    "telework_situational": "telework",
                    "remote": "remote",
                    "leave": "leave",
                    "holiday": "hol",
                }[code]
            f[key] += hours
        f["hol"] = max(scheduled - required, f["hol"])  # the calendar's holiday, or T&A's
        f["required"] = max(0.0, scheduled - f["hol"] - f["leave"])
        f["on_site"] = f["own"] + (f["other"] if counts_any else 0.0)
        f["off_site"] = f["telework"] + f["remote"] + (0.0 if counts_any else f["other"])
        return f

    def _period(
        self,
        employee: str,
        kind: str,
        days: list[date],
        calendars: dict[str, dict[date, float]],
        badge_days: set[date],
    ) -> dict[str, Any] | None:
        assigned = [(d, v) for d in days if (v := self.as_of(employee, d)) is not None]
        if not assigned:
            return None
        start, end = days[0], days[-1]
        last = assigned[-1][1]
        chain = CHAINS[last.org_unit]
        binding = binding_directive(
            self.directives, list(reversed(chain)), Arrangement(last.arrangement), end
        )
        directive = binding.directive
        counts_any = directive is not None and directive.counts_at is CountsAt.ANY_AGENCY_OFFICE
        figures = {
            d: self._day(employee, d, v, counts_any, calendars[v.schedule][d]) for d, v in assigned
        }
        evidence = [
            DayEvidence(d, f["required"], f["on_site"], f["field"], f["off_site"])
            for d, f in figures.items()
        ]
        decision = decide_status(
            StatusInputs(
                binding,
                start,
                end,
                evidence,
                self.exemptions_of(employee),
                self.pending_requests(employee, end),
            )
        )
        failed = None
        period = pay_period_of(start)
        whole = kind == "pay_period" and period.start >= START and period.end <= END
        if whole and last.arrangement == "telework":
            test = directive.duty_station_test if directive is not None else None
            minimum = test.min_days_per_pay_period if test else 2
            failed = sum(1 for f in figures.values() if f["own"] > 0) < minimum

        def total(key: str) -> float:
            return sum(f[key] for f in figures.values())

        return {
            "name": NAMES[employee],
            "period_start": start,
            "period_end": end,
            "org_unit": last.org_unit,
            "component": chain[1] if len(chain) > 1 else chain[0],
            "org_path": "/".join(chain),
            "duty_station": last.duty_station,
            "arrangement": last.arrangement,
            "directive_ref": decision.directive,
            "hours_required": total("required"),
            "hours_on_site": total("on_site"),
            "hours_field_travel": total("field"),
            "hours_off_site": total("off_site"),
            "hours_telework": total("telework"),
            "hours_remote": total("remote"),
            "hours_leave": total("leave"),
            "hours_holiday": total("hol"),
            "hours_other_office": total("other"),
            "days_present_badge": sum(1 for d in figures if d in badge_days),
            "days_on_site_ta": sum(1 for f in figures.values() if f["own"] + f["other"] > 0),
            "days_at_duty_station": sum(1 for f in figures.values() if f["own"] > 0),
            "status": str(decision.status),
            "reason": decision.reason,
            "duty_station_test_failed": failed,
            "bound": binding.kind is BindingKind.BOUND,
        }

    # --- the 50-mile rule --------------------------------------------------------------

    def distance_limit_m(self, org_unit: str, day: date) -> tuple[float, frozenset[str]] | None:
        """The smallest limit of the directives in force on ``day`` whose scope holds the
        unit (the nearest unit the scope names decides; "*" is farther than any root)."""
        found = []
        for d in self.directives:
            if d.distance_rule is None or not d.in_force_on(day):
                continue
            not_bound = {n.org_unit for n in d.scope.not_bound}
            holds = "*" in d.scope.org_units
            for unit in reversed(CHAINS[org_unit]):
                if unit in not_bound or unit in d.scope.org_units:
                    holds = unit not in not_bound
                    break
            if holds:
                rule = d.distance_rule
                found.append((rule.designate_beyond_miles * MILE_M, frozenset(rule.arrangements)))
        return min(found, key=lambda f: f[0]) if found else None

    def distances(self, day: date) -> dict[str, tuple[str, bool, bool] | str]:
        """Per remote worker and teleworker assigned on ``day``: (nearest office, nearest
        beyond the limit, duty station beyond the limit), or why they are not judged."""
        out: dict[str, tuple[str, bool, bool] | str] = {}
        geod = Geodesic.WGS84
        for employee in self.active_on(day):
            values = self.as_of(employee, day)
            assert values is not None
            if values.arrangement not in ("remote", "telework"):
                continue
            rule = self.distance_limit_m(values.org_unit, day)
            if rule is None:
                out[employee] = "no_distance_rule"
                continue
            lat, lon = HOMES[employee]
            metres = {s: geod.Inverse(lat, lon, o[1], o[2])["s12"] for s, o in OFFICES.items()}
            nearest = min(metres, key=lambda s: metres[s])
            station = values.duty_station
            station_far = station is not None and metres[station] > rule[0]
            out[employee] = (nearest, metres[nearest] > rule[0], station_far)
        return out
