"""What a report is built from: the request, the directives and org-unit names, the days
with evidence, the period, and the evaluation's or the badge services' tables. Everything
here touches the store; the builders (``hours``, ``plan``, ...) only aggregate tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from dutystation.analytics.shared import shared_connection
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.domain.presence import PresenceSettings
from dutystation.errors import ConfigError, NoEvidence, NotFound
from dutystation.events.schemas import EventKind
from dutystation.policy_files import load_directives
from dutystation.services import presence as badges_service
from dutystation.services.evaluate import (
    policies_dir,
)
from dutystation.services.reporting import returns
from dutystation.services.reporting.periods import Period, cut_to_evidence, resolve
from dutystation.services.reporting.tables import ReportContext
from dutystation.store.history import org_unit_chains
from dutystation.store.schema import Office, OrgUnit


@dataclass(frozen=True)
class ReportRequest:
    """What a person asks for. ``period`` (``2025-W07``, ``since-directive``, ...) or
    ``start``/``end``; neither: since the directive (for ``not-returned``: each directive's
    window after its deadline). ``days``: the not-returned window; ``hours``/``direction``:
    the badge conventions of ``presence`` (default: the configured ones)."""

    kind: str
    period: str | None = None
    start: date | None = None
    end: date | None = None
    org_unit: str | None = None
    days: int | None = None
    hours: str | None = None
    direction: str | None = None


@dataclass(frozen=True)
class Setting:
    """What every report reads once: directives, org-unit names by code, and the first and
    last day with evidence."""

    directives: list[Directive]
    unit_names: dict[str, str]
    evidence: tuple[date, date]


def evidence_range(runtime: Runtime) -> tuple[date, date] | None:
    """First and last day with T&A hours or a badge event, or None when nothing is stored.
    Only the first and last stored months are read."""
    store = runtime.events
    months = sorted({f.month for m in store.manifests() for f in m.files})
    if not months:
        return None
    parts = [
        f"SELECT {column} AS d FROM {store.scan_sql(kind, [month])}"
        for month in {months[0], months[-1]}
        for kind, column in ((EventKind.TIMECARDS, "date"), (EventKind.BADGES, "local_date"))
    ]
    with shared_connection(runtime.settings) as con:
        row = con.execute(f"SELECT min(d), max(d) FROM ({' UNION ALL '.join(parts)})").fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def load_setting(runtime: Runtime, org_unit: str | None) -> Setting:
    with Session(runtime.engine) as session:
        chains = org_unit_chains(session)
        rows = session.execute(select(OrgUnit.code, OrgUnit.name)).all()
    names = {str(code): str(name) for code, name in rows}
    if org_unit is not None and org_unit not in chains:
        raise NotFound(f"org unit {org_unit!r} does not exist")
    directives = load_directives(policies_dir(runtime), known_org_units=set(chains))
    evidence = evidence_range(runtime)
    if evidence is None:
        raise NoEvidence("no T&A hours or badge events are stored yet; import some first")
    return Setting(directives, names, evidence)


def context_for(
    request: ReportRequest, setting: Setting, period: Period, **parameters: str
) -> ReportContext:
    shown = {"org unit": request.org_unit} if request.org_unit else {}
    return ReportContext(
        start=period.start,
        end=period.end,
        as_of=period.end,
        org_unit=request.org_unit,
        directives=setting.directives,
        unit_names=setting.unit_names,
        notes=period.notes,
        parameters={**shown, **parameters},
    )


def period_for(request: ReportRequest, setting: Setting) -> Period:
    return resolve(
        request.period,
        request.start,
        request.end,
        directives=setting.directives,
        evidence=setting.evidence,
    )


def offices_table(runtime: Runtime) -> pa.Table:
    """Every office: ``site_id, name, seats``."""
    with Session(runtime.engine) as session:
        rows = session.execute(select(Office.site_id, Office.name, Office.seats)).all()
    return pa.table(
        {
            "site_id": pa.array([r[0] for r in rows], pa.string()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "seats": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def not_returned_scope(
    request: ReportRequest, setting: Setting
) -> tuple[list[returns.Window], Period]:
    """The not-returned windows and the period that holds them, cut to the evidence."""
    if request.days is not None and not 1 <= request.days <= 366:
        raise ConfigError(f"--days must be between 1 and 366, not {request.days}")
    found = returns.windows(setting.directives, request.days)
    if request.period is not None or request.start is not None or request.end is not None:
        # One window for everyone: the period asked for.
        period = period_for(request, setting)
        return [returns.Window(w.directive_ref, period.start, period.end) for w in found], period
    if not found:
        raise ConfigError("not-returned needs a directive, and no policy file is loaded")
    first = min(w.start for w in found)
    last = max(w.end for w in found)
    return found, cut_to_evidence(first, last, setting.evidence)


def presence_settings_for(runtime: Runtime, request: ReportRequest) -> PresenceSettings:
    """The configured badge conventions, with ``--hours``/``--direction`` applied."""
    configured = badges_service.presence_settings_from(runtime.settings)
    hours = request.hours
    direction = request.direction
    return PresenceSettings(
        badges_service.parse_hours_convention(hours) if hours else configured.hours_convention,
        badges_service.parse_direction_mode(direction) if direction else configured.direction_mode,
        configured.debounce_seconds,
        configured.max_pair_hours,
    )
