"""The effective-dated history that roster rows (``roster_rows``) update. Pure: the store loads a
``RosterState``, ``apply_roster`` changes it in memory and marks what changed, the store
writes the marks back.

History rules (docs/importing.md repeats them for users):

* A row (employee, D, values) means "from D on, these values hold". If the version in
  effect on D already has them, nothing changes (re-imports are no-ops). Otherwise that
  version is closed at D (``effective_to`` is exclusive) and a new one starts at D.
* A new version runs until the next stored version starts. Versions that start after D
  stay as they are: a back-dated correction does not erase later, already-known changes.
* A roster *snapshot* dated D also separates, as of D, every employee active on D who is
  absent from it. Employees whose rows were rejected are not separated.
* Home locations are sensitive: they never appear in a repr, a message or a summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from dutystation.domain.roster_rows import AssignmentValues, HomeLocation, RosterRow

MAX_DEACTIVATION_SHARE = 0.10  # RELIABILITY T28 defaults
MAX_ORG_MOVE_SHARE = 0.20


# --- history ------------------------------------------------------------------------------


@dataclass(slots=True)
class Version:
    start: date
    end: date | None  # exclusive; None = open
    values: AssignmentValues
    key: int | None = None  # store row id; None until written
    dirty: bool = False

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(slots=True)
class BadgeSpan:
    employee_id: str
    start: date
    end: date | None
    key: int | None = None
    dirty: bool = False

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(slots=True)
class HomeVersion:
    start: date
    location: HomeLocation
    stored: bool = False
    dirty: bool = False


@dataclass(slots=True)
class EmployeeState:
    employee_id: str
    name: str
    email: str | None
    versions: list[Version] = field(default_factory=list)
    key: int | None = None
    # (name, email, active, separated_on) as stored, to write only real changes.
    stored: tuple[str, str | None, bool, date | None] | None = None

    def as_of(self, day: date) -> Version | None:
        return next((v for v in self.versions if v.covers(day)), None)

    @property
    def active(self) -> bool:
        return any(v.end is None for v in self.versions)

    @property
    def separated_on(self) -> date | None:
        if not self.versions or self.active:
            return None
        return max(v.end for v in self.versions if v.end is not None)

    def row(self) -> tuple[str, str | None, bool, date | None]:
        return (self.name, self.email, self.active, self.separated_on)


@dataclass
class RosterState:
    employees: dict[str, EmployeeState]
    badges: dict[str, list[BadgeSpan]]
    homes: dict[str, list[HomeVersion]]
    removed_versions: list[int] = field(default_factory=list)
    removed_badges: list[int] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    touched_badges: set[str] = field(default_factory=set)
    touched_homes: set[str] = field(default_factory=set)
    # employee -> badge numbers they ever held; tuples, as nearly everyone has exactly one.
    _held: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        held = self._held
        for badge, spans in self.badges.items():
            for span in spans:
                mine = held.get(span.employee_id, ())
                if badge not in mine:
                    held[span.employee_id] = (*mine, badge)


def apply_change(versions: list[Version], day: date, values: AssignmentValues) -> bool:
    """Merge one (day, values) into a sorted history; True if anything changed."""
    for i, current in enumerate(versions):
        if current.covers(day):
            if current.values == values:
                return False
            if current.start == day:
                current.values, current.dirty = values, True
                return True
            versions.insert(i + 1, Version(day, current.end, values, dirty=True))
            current.end, current.dirty = day, True
            return True
    later = [v.start for v in versions if v.start > day]
    versions.append(Version(day, min(later) if later else None, values, dirty=True))
    versions.sort(key=lambda v: v.start)
    return True


S = TypeVar("S", Version, BadgeSpan)


def _end_span(spans: list[S], span: S, day: date) -> int | None:
    """Close ``span`` at ``day``; a span that would become empty is dropped and its store
    key returned for deletion."""
    if span.start >= day:
        spans.remove(span)
        return span.key
    span.end, span.dirty = day, True
    return None


def _assign_badge(state: RosterState, badge: str, employee: str, day: date) -> bool:
    spans = state.badges.setdefault(badge, [])
    current = next((s for s in spans if s.covers(day)), None)
    if current is not None and current.employee_id == employee:
        return False
    # The roster holds one badge per employee: a new number ends the old one, and a
    # reissued number ends its previous holder's span (badge numbers change hands).
    if current is not None:
        _drop(state.removed_badges, _end_span(spans, current, day))
    _end_badges(state, employee, day, keep=badge)
    later = [s.start for s in spans if s.start > day]
    spans.append(BadgeSpan(employee, day, min(later) if later else None, dirty=True))
    spans.sort(key=lambda s: s.start)
    mine = state._held.get(employee, ())
    if badge not in mine:
        state._held[employee] = (*mine, badge)
    state.touched_badges.add(badge)
    return True


def _end_badges(state: RosterState, employee: str, day: date, keep: str | None = None) -> None:
    for other in list(state._held.get(employee, ())):
        if other == keep:
            continue
        spans = state.badges[other]
        for span in [s for s in spans if s.employee_id == employee and s.covers(day)]:
            _drop(state.removed_badges, _end_span(spans, span, day))
            state.touched_badges.add(other)


def _drop(removed: list[int], key: int | None) -> None:
    if key is not None:
        removed.append(key)


def _set_home(state: RosterState, employee: str, day: date, home: HomeLocation) -> bool:
    history = state.homes.setdefault(employee, [])
    current = max((h for h in history if h.start <= day), key=lambda h: h.start, default=None)
    if current is not None and current.location == home:
        return False
    if current is not None and current.start == day:
        current.location, current.dirty = home, True
    else:
        history.append(HomeVersion(day, home, dirty=True))
    state.touched_homes.add(employee)
    return True


@dataclass(frozen=True)
class BlastRadius:
    """How much a roster snapshot would change, measured against those active on its day."""

    day: date
    active_before: int
    separated: int
    moved: int

    def share(self, count: int) -> float:
        return count / self.active_before if self.active_before else 0.0

    def exceeds(
        self,
        max_separated: float = MAX_DEACTIVATION_SHARE,
        max_moved: float = MAX_ORG_MOVE_SHARE,
    ) -> bool:
        return self.share(self.separated) > max_separated or self.share(self.moved) > max_moved

    def describe(self) -> str:
        return (
            f"the roster snapshot of {self.day.isoformat()} would separate {self.separated} of "
            f"{self.active_before} active employees ({self.share(self.separated):.0%}) and move "
            f"{self.moved} ({self.share(self.moved):.0%}) to another org unit"
        )


def absent_employees(
    state: RosterState, rows: Iterable[RosterRow], day: date, protected: Set[str]
) -> list[str]:
    present = {row.employee_id for row in rows} | protected
    return sorted(
        e.employee_id
        for e in state.employees.values()
        if e.employee_id not in present and e.as_of(day) is not None
    )


def blast_radius(
    state: RosterState, rows: Sequence[RosterRow], day: date, protected: Set[str]
) -> BlastRadius:
    active = sum(1 for e in state.employees.values() if e.as_of(day) is not None)
    moved = 0
    for row in rows:
        employee = state.employees.get(row.employee_id)
        current = employee.as_of(day) if employee is not None else None
        if current is not None and current.values.org_unit != row.values.org_unit:
            moved += 1
    separated = len(absent_employees(state, rows, day, protected))
    return BlastRadius(day, active, separated, moved)


@dataclass
class RosterOutcome:
    changed_rows: int = 0
    unchanged_rows: int = 0
    hired: int = 0
    separated: int = 0


def apply_roster(
    state: RosterState,
    rows: Sequence[RosterRow],
    *,
    snapshot_day: date | None = None,
    protected: Set[str] = frozenset(),
) -> RosterOutcome:
    """Merge validated, de-duplicated rows into ``state``; mark every change for the store."""
    outcome = RosterOutcome()
    ordered = sorted(rows, key=lambda r: (r.employee_id, r.effective_date))
    separated = absent_employees(state, ordered, snapshot_day, protected) if snapshot_day else []
    latest: dict[str, RosterRow] = {r.employee_id: r for r in ordered}
    for row in ordered:
        employee = state.employees.get(row.employee_id)
        if employee is None:
            employee = EmployeeState(row.employee_id, row.name, row.email)
            state.employees[row.employee_id] = employee
            outcome.hired += 1
        # Name and email are not effective-dated: the newest row wins, unless it predates
        # what is stored (a back-filled history file must not rename people).
        newest_stored = max((v.start for v in employee.versions), default=None)
        changed = False
        if latest[row.employee_id] is row and (
            newest_stored is None or row.effective_date >= newest_stored
        ):
            changed = (employee.name, employee.email) != (row.name, row.email)
            employee.name, employee.email = row.name, row.email
        changed |= apply_change(employee.versions, row.effective_date, row.values)
        if row.badge_id is not None:
            changed |= _assign_badge(state, row.badge_id, row.employee_id, row.effective_date)
        if row.home is not None:
            changed |= _set_home(state, row.employee_id, row.effective_date, row.home)
        if changed:
            state.touched.add(row.employee_id)
            outcome.changed_rows += 1
        else:
            outcome.unchanged_rows += 1
    if snapshot_day is not None:
        _separate(state, separated, snapshot_day)
        outcome.separated = len(separated)
    return outcome


def _separate(state: RosterState, employee_ids: Iterable[str], day: date) -> None:
    """End, as of ``day``, the history version and badges of employees absent from a
    snapshot. Later versions (from a later-dated import) are left alone."""
    for employee_id in employee_ids:
        employee = state.employees[employee_id]
        current = employee.as_of(day)
        if current is not None:
            _drop(state.removed_versions, _end_span(employee.versions, current, day))
        _end_badges(state, employee_id, day)
        state.touched.add(employee_id)
