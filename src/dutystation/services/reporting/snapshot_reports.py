"""Reports read from the evaluation snapshot instead of evaluated per request (RELIABILITY
T27; docs/reports.md, "From the snapshot").

Each report evaluates its org unit live: about a CPU second at 20,000 employees, 19 at
250,000, so two cores answered two reports a second. The snapshot (docs/evaluation.md,
"The snapshot") already holds, per org unit and week, the sums ``onsite-share`` is made
of, and ``from_snapshot`` builds that report from them when they give the very same
answer; otherwise, and for every other kind, it returns None and the report is evaluated
as before. The other kinds need what the snapshot does not keep: ``workforce`` the
telework-eligible flag, ``compliance-plan`` the weekly statuses of the unit's own plan
and its offices' seats, ``not-returned`` and ``duty-station-test`` people's names and
days per window or pay period, the badge reports the taps.

The same answer needs:

- the snapshot current: not marked stale (no import, decision or agreement change since),
  the event store holding the very batches it began with (an import commits its events a
  moment before it marks the snapshot stale), and the policy files unchanged since it
  began (modification times) and still describing the directives it stored;
- the org unit in its tree, and the period (cut to the evidence as always) inside its
  range, starting on a Monday or on its first day and ending on a Sunday or on its last:
  the report's weeks are then the snapshot's weeks, cut the same way;
- hours worked in the unit in the period (without any, the live path says what there is).

The sums per unit and week are the snapshot's own (``snapshot_unit_week``: each child's
whole subtree, the unit's own staff, the unit's subtree for the total row); the people
per unit over the period are counted in ``snapshot_week``. The report is then made by the
live one's code (``hours.onsite_share_of``, the same SQL expressions over the sums), so
every format renders it byte for byte the same, and the authorisation, the disclosure
ledger and the audit trail around ``build_report`` do not know where it came from.

Reports built are kept per process by generation and by everything else they depend on:
a generation never changes, and drawing the two charts costs more than reading the sums.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.errors import DutystationError
from dutystation.policy_files import SUFFIXES, load_directives
from dutystation.reports.model import Report
from dutystation.services.evaluate import policies_dir
from dutystation.services.reporting import snapshot_reads as reads
from dutystation.services.reporting.hours import onsite_share_of, shares_sql
from dutystation.services.reporting.inputs import (
    ReportRequest,
    Setting,
    context_for,
    period_for,
)
from dutystation.services.reporting.periods import Period
from dutystation.services.reporting.tables import query
from dutystation.store.db import translate_errors
from dutystation.store.schema import OrgUnit

SERVED = ("onsite-share",)
KEPT = 256  # reports kept per process: tens of kilobytes each, the two charts included
_Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class _Scope:
    """The org unit a report is about, as the snapshot's tree holds it."""

    root: str  # the unit asked for, or the single root when none was
    children: list[str]  # the units right below it
    groups: dict[str, str]  # every unit of its subtree -> its reporting unit


class _Kept:
    """Reports by key, least recently used dropped first, safe across request threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.reports: OrderedDict[_Key, Report] = OrderedDict()
        self.trees: dict[int, dict[str, tuple[str, ...]]] = {}

    def get(self, key: _Key) -> Report | None:
        with self.lock:
            found = self.reports.get(key)
            if found is not None:
                self.reports.move_to_end(key)
            return found

    def put(self, key: _Key, report: Report) -> None:
        with self.lock:
            self.reports[key] = report
            self.reports.move_to_end(key)
            while len(self.reports) > self.size:
                self.reports.popitem(last=False)

    def tree(self, conn: Connection, snapshot_id: int) -> dict[str, tuple[str, ...]]:
        """The generation's org tree, read once (a generation never changes)."""
        with self.lock:
            found = self.trees.get(snapshot_id)
        if found is None:
            found = reads.org_tree(conn, snapshot_id)
            with self.lock:
                self.trees = {snapshot_id: found}  # only the newest generation is served
        return found


_KEPT = _Kept(KEPT)


def from_snapshot(runtime: Runtime, request: ReportRequest) -> Report | None:
    """``request``'s report from the current snapshot, exactly as ``build_report`` would
    evaluate it; None when the snapshot cannot give that answer (module docstring) or
    anything goes wrong reading it: the live path then answers, or says what is wrong."""
    if request.kind not in SERVED:
        return None
    try:
        with translate_errors(), runtime.engine.connect() as conn:
            return _served(runtime, conn, request)
    except DutystationError:
        return None


def _served(runtime: Runtime, conn: Connection, request: ReportRequest) -> Report | None:
    generation = reads.current_generation(conn)
    if generation is None or not _same_evidence(runtime, generation):
        return None
    tree = _KEPT.tree(conn, generation.id)
    directives = _same_directives(runtime, generation, tree)
    if directives is None:
        return None
    scope = _scope(tree, request.org_unit)
    if scope is None:
        return None
    period = period_for(request, Setting(directives, {}, generation.evidence))
    if not _covers(generation.period, period):
        return None
    key = (
        generation.id,
        generation.computed_at,
        request.kind,
        request.org_unit,
        period,
        tuple(d.model_dump_json() for d in directives),
    )
    report = _KEPT.get(key)
    if report is None:
        names = {str(c): str(n) for c, n in conn.execute(select(OrgUnit.code, OrgUnit.name))}
        setting = Setting(directives, names, generation.evidence)
        report = _onsite_share(conn, generation.id, scope, request, setting, period)
        if report is None:
            return None
        _KEPT.put(key, report)
    return report


def _same_evidence(runtime: Runtime, generation: reads.Generation) -> bool:
    """The event store holds the batches the snapshot was computed from, no more."""
    manifests = runtime.events.manifests()
    last = max(manifests, key=lambda m: m.sequence).batch_id if manifests else None
    return len(manifests) == generation.event_batches and last == generation.last_event_batch


def _same_directives(
    runtime: Runtime, generation: reads.Generation, tree: dict[str, tuple[str, ...]]
) -> list[Directive] | None:
    """The directives as the live path loads them, if no policy file was modified since
    the refresh began (it read them after) and they describe what it stored (a file added
    or removed, whatever its time, adds or removes a directive); else None."""
    # Imported here: services.snapshot builds on this package.
    from dutystation.services.snapshot import describe

    folder = policies_dir(runtime)
    try:
        files = [p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()]
        changed = max((p.stat().st_mtime for p in files), default=0.0)
    except OSError:
        return None
    if changed >= generation.started_at.timestamp():
        return None
    directives = load_directives(folder, known_org_units=set(tree))
    if [describe(d) for d in directives] != generation.directives:
        return None
    return directives


def _scope(tree: dict[str, tuple[str, ...]], org_unit: str | None) -> _Scope | None:
    """The unit asked for (without one, the single root: the live report's total then
    carries it too), its children and the reporting unit of each unit of its subtree
    (``tables.group_sql``: the unit one level below the root, or the root for its own
    staff). None when the unit is not in the tree or there are several roots."""
    if org_unit is None:
        roots = [code for code, chain in tree.items() if len(chain) == 1]
        if len(roots) != 1:
            return None
        org_unit = roots[0]
    chain = tree.get(org_unit)
    if chain is None:
        return None
    depth = len(chain)
    groups = {
        code: path[depth] if len(path) > depth else code
        for code, path in tree.items()
        if path[:depth] == chain
    }
    children = sorted(
        c for c, path in tree.items() if path[:depth] == chain and len(path) == depth + 1
    )
    return _Scope(org_unit, children, groups)


def _covers(evaluated: tuple[date, date], period: Period) -> bool:
    """Whether the snapshot's weeks inside ``period`` are the weeks an evaluation of
    ``period`` makes: inside its range, and cut only where it was cut."""
    first, last = evaluated
    return (
        first <= period.start
        and period.end <= last
        and (period.start == first or period.start.weekday() == 0)
        and (period.end == last or period.end.weekday() == 6)
    )


def _onsite_share(
    conn: Connection,
    snapshot_id: int,
    scope: _Scope,
    request: ReportRequest,
    setting: Setting,
    period: Period,
) -> Report | None:
    days = (period.start, period.end)
    weeks = reads.unit_weeks(conn, snapshot_id, scope.root, scope.children, days)
    found = reads.people(conn, snapshot_id, scope.groups, days)
    counted = query(
        """
        SELECT unit, count(DISTINCT employee_pk) AS employees FROM p GROUP BY unit
        UNION ALL SELECT NULL, count(DISTINCT employee_pk) FROM p""",
        p=found,
    )
    worked = query("SELECT sum(at_station) + sum(off_site) AS h FROM w WHERE unit IS NULL", w=weeks)
    if not (worked.column("h")[0].as_py() or 0) > 0:
        return None  # nobody, or no hours worked: the live path says which
    root = scope.root.replace("'", "''")
    by_unit = query(
        f"""
        WITH r AS (
            SELECT w.*, n.employees AS people
            FROM w LEFT JOIN n ON n.unit IS NOT DISTINCT FROM w.unit
        )
        SELECT coalesce(unit, '{root}') AS org_unit, unit IS NULL AS is_total,
               {shares_sql("any_value(people)")}
        FROM r GROUP BY unit
        ORDER BY is_total, org_unit""",
        w=weeks,
        n=counted,
    )
    weekly = query(
        f"""
        SELECT coalesce(unit, '{root}') AS org_unit, unit IS NULL AS is_total,
               any_value(week) AS week, week_start,
               max(week_end) - week_start < 6 AS partial, {shares_sql("any_value(employees)")}
        FROM w GROUP BY unit, week_start
        ORDER BY is_total, org_unit, week_start""",
        w=weeks,
    )
    return onsite_share_of(by_unit, weekly, context_for(request, setting, period), root)
