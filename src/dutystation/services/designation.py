"""Use cases of designation (docs/designation.md): seats free and designated per office,
proposing a plan (``dutystation designate --plan``), applying or discarding it, and the
distance overview behind ``dutystation report distance``.

An applied designation is the employee's designated duty station from its
``effective_from``; the roster stays HR's record (the evaluation keeps reading the roster's
duty station), and the distance report lists designations the roster does not reflect yet.
Every change is authorised here and audited in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation, could_ever
from dutystation.domain.directive import Directive, in_force
from dutystation.errors import ConfigError, Conflict, Forbidden, NotFound
from dutystation.policy_files import load_directives
from dutystation.reports.model import Report
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.designation_inputs import (
    OfficeSet,
    StaffSet,
    WhatIf,
    load_offices,
    load_rules,
    load_staff,
)
from dutystation.services.designation_plan import Computed, compute
from dutystation.services.designation_report import plan_report
from dutystation.services.evaluate import policies_dir
from dutystation.services.reporting.distance import distance_report
from dutystation.store import designations as store
from dutystation.store.db import write_transaction
from dutystation.store.history import org_unit_chains
from dutystation.store.schema import Office

PLAN_SUBJECT = "designation_plan"


# --- what the capacity planning reads -------------------------------------------------------


def free_seats(conn: Connection, day: date) -> dict[str, int]:
    """site_id -> seats not taken on ``day``: ``office.seats`` minus the people whose duty
    station it is and who work on site (``onsite`` or ``telework``), minus applied
    designations in force there whose employee the roster does not count on site there
    yet. Negative when an office is over capacity already."""
    taken = store.onsite_headcount(conn, day)
    waiting = store.designated_not_seated(conn, day)
    rows = conn.execute(select(Office.id, Office.site_id, Office.seats)).all()
    return {site: seats - taken.get(pk, 0) - waiting.get(pk, 0) for pk, site, seats in rows}


def designated_headcount(conn: Connection, day: date) -> dict[str, int]:
    """site_id -> people with an applied designation to the office in force on ``day``
    (whether or not the roster reflects it yet). Offices with none are absent."""
    counts = store.designated_headcount(conn, day)
    if not counts:
        return {}
    rows = conn.execute(select(Office.id, Office.site_id).where(Office.id.in_(counts))).all()
    return {site: counts[pk] for pk, site in rows}


# --- shared set-up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    chains: dict[str, tuple[str, ...]]
    directives: list[Directive]


def _setting(runtime: Runtime, conn: Connection, day: date) -> Setting:
    chains = org_unit_chains(Session(bind=conn))
    directives = load_directives(policies_dir(runtime), known_org_units=set(chains))
    if not any(d.distance_rule for d in in_force(directives, day)):
        raise ConfigError(
            f"no directive in force on {day.isoformat()} has a distance_rule; the 50-mile "
            "rule needs its designate_beyond_miles (docs/directives.md)"
        )
    return Setting(chains, directives)


def _authorize_scope(
    conn: Connection, actor: Actor, operation: Operation, org_unit: str | None, setting: Setting
) -> None:
    """On the org unit asked for; without one, on every root: the whole organisation."""
    if org_unit is not None:
        missing = f"org unit {org_unit!r} does not exist"
        authorize(conn, actor, operation, Subject(org_unit=org_unit), not_found=missing)
        if org_unit not in setting.chains:
            raise NotFound(missing)
        return
    for code, chain in sorted(setting.chains.items()):
        if len(chain) == 1:
            authorize(conn, actor, operation, Subject(org_unit=code), not_found="not found")


# --- plans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    """``day``: the roster, homes, seats and directives as of this day; ``effective_from``:
    when the designations would start (default: ``day``). ``save``: store the plan."""

    day: date
    effective_from: date | None = None
    org_unit: str | None = None
    rules_file: Path | None = None
    what_if: WhatIf = field(default_factory=WhatIf)
    save: bool = True


@dataclass(frozen=True)
class PlanOutcome:
    plan_id: int | None
    report: Report
    computed: Computed
    base: Computed | None  # the plan without the what-if changes, when there were any


def _compute(
    conn: Connection,
    request: PlanRequest,
    setting: Setting,
    what_if: WhatIf,
    rules_file: Path | None,
) -> Computed:
    rules = load_rules(rules_file)
    offices: OfficeSet = load_offices(conn, request.day, rules, what_if, set(setting.chains))
    staff: StaffSet = load_staff(
        conn, request.day, offices, setting.directives, setting.chains, rules, request.org_unit
    )
    return compute(offices, staff, rules, setting.chains)


def plan_designations(runtime: Runtime, actor: Actor, request: PlanRequest) -> PlanOutcome:
    """Propose a designation for everyone who needs one (module docstring of
    ``designation_plan``); store it as a ``proposed`` plan unless ``request.save`` is false.
    With what-if changes the plan without them is computed too, for comparison."""
    effective = request.effective_from or request.day
    if effective < request.day:
        raise ConfigError("--effective cannot be before the plan's day (--on)")
    engine = runtime.engine
    attempt = Change(Operation.DESIGNATION_PLAN.value, PLAN_SUBJECT, None)
    with denials_recorded(engine, actor, attempt), engine.connect() as conn:
        setting = _setting(runtime, conn, request.day)
        _authorize_scope(conn, actor, Operation.DESIGNATION_PLAN, request.org_unit, setting)
        rules_file = request.rules_file or runtime.settings.designation_rules_file
        computed = _compute(conn, request, setting, request.what_if, rules_file)
        base = None
        if not request.what_if.empty:
            unchanged = WhatIf(proposed=request.what_if.proposed)
            base = _compute(conn, request, setting, unchanged, rules_file)
    parameters: dict[str, Any] = {
        "day": request.day.isoformat(),
        "effective_from": effective.isoformat(),
        "org_unit": request.org_unit,
        "rules": computed.rules.model_dump(mode="json"),
        "what_if": request.what_if.as_json(),
        "directives": sorted(d.ref for d in in_force(setting.directives, request.day)),
    }
    plan_id = _save(runtime, actor, computed, parameters, effective) if request.save else None
    report = plan_report(computed, base, plan_id, parameters)
    return PlanOutcome(plan_id, report, computed, base)


def _save(
    runtime: Runtime,
    actor: Actor,
    computed: Computed,
    parameters: dict[str, Any],
    effective: date,
) -> int:
    offices = computed.offices
    rows = [
        (int(computed.staff.pk[w]), int(offices.pk[o]), float(m), rule)
        for w, o, m, rule in zip(
            computed.who.tolist(),
            computed.office.tolist(),
            computed.metres.tolist(),
            computed.rule,
            strict=True,
        )
        if o >= 0 and offices.pk[o] >= 0  # a proposed (what-if) office has no row to point at
    ]
    placed = len([o for o in computed.office.tolist() if o >= 0])
    # Full precision: apply compares it with import batches made seconds apart.
    now = datetime.now(UTC)
    with write_transaction(runtime.engine) as conn:
        plan_id = store.insert_plan(
            conn,
            created_at=now,
            created_by=actor.username,
            parameters=parameters,
            total_distance_m=computed.total_metres(),
            placed=placed,
            unplaced=len(computed.status) - placed,
        )
        store.insert_proposals(conn, plan_id, effective, rows)
        summary = {
            "status": "proposed",
            "placed": placed,
            "unplaced": computed.count("unplaced"),
            "excluded": computed.count("excluded"),
            "parameters": parameters,
        }
        record(
            conn,
            actor,
            Change(Operation.DESIGNATION_PLAN.value, PLAN_SUBJECT, str(plan_id), None, summary),
        )
    return plan_id


def _plan_for(conn: Connection, actor: Actor, plan_id: int, operation: Operation) -> dict[str, Any]:
    missing = f"no designation plan {plan_id}"
    if not could_ever(actor, operation):  # before the lookup: plan numbers are not its business
        raise Forbidden(f"user {actor.username!r} may not {operation.value}")
    row = store.plan_row(conn, plan_id)
    if row is None:
        raise NotFound(missing)
    org_unit = (row["parameters"] or {}).get("org_unit")
    subject = Subject(org_unit=org_unit) if org_unit else Subject()
    authorize(conn, actor, operation, subject, not_found=missing)
    if row["status"] != "proposed":
        raise Conflict(
            f"designation plan {plan_id} is {row['status']} already; nothing was changed"
        )
    return row


def apply_designations(
    runtime: Runtime, actor: Actor, plan_id: int, *, now: datetime | None = None
) -> int:
    """Record the proposals of plan ``plan_id`` as the employees' designations, each closing
    the employee's earlier open designation. Refused (``Conflict``) for a what-if plan, or
    when the roster or offices were imported, or another plan applied, after the plan was
    made: the plan would no longer say what was reviewed. Returns how many were applied."""
    attempt = Change(Operation.DESIGNATION_APPLY.value, PLAN_SUBJECT, str(plan_id))
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    with (
        denials_recorded(runtime.engine, actor, attempt),
        write_transaction(runtime.engine) as conn,
    ):
        row = _plan_for(conn, actor, plan_id, Operation.DESIGNATION_APPLY)
        parameters = row["parameters"] or {}
        if any((parameters.get("what_if") or {}).values()):
            raise Conflict(
                f"designation plan {plan_id} is a what-if (it changes seats or offices); "
                "make a plan without what-if options to apply"
            )
        created = row["created_at"]
        if store.imports_since(conn, created):
            raise Conflict(
                f"the roster or offices were imported after designation plan {plan_id} was "
                "made; make a new plan"
            )
        later = [p for p in store.plans_applied_since(conn, created) if p != plan_id]
        if later:
            raise Conflict(
                f"designation plan {later[0]} was applied after plan {plan_id} was made; "
                "make a new plan"
            )
        if store.later_designations(conn, plan_id):
            raise Conflict(
                f"some employees of designation plan {plan_id} have a designation starting "
                "on or after its effective date; nothing was changed"
            )
        count = store.apply_plan(conn, plan_id, actor.username, stamp)
        after = {
            "status": "applied",
            "designations": count,
            "effective_from": parameters.get("effective_from"),
        }
        record(
            conn,
            actor,
            Change(attempt.action, PLAN_SUBJECT, str(plan_id), {"status": "proposed"}, after),
        )
    return count


def discard_designations(runtime: Runtime, actor: Actor, plan_id: int) -> int:
    """Drop a proposed plan's proposals and mark it discarded; returns how many."""
    attempt = Change(Operation.DESIGNATION_PLAN.value, PLAN_SUBJECT, str(plan_id))
    with (
        denials_recorded(runtime.engine, actor, attempt),
        write_transaction(runtime.engine) as conn,
    ):
        _plan_for(conn, actor, plan_id, Operation.DESIGNATION_PLAN)
        count = store.discard_plan(conn, plan_id)
        after = {"status": "discarded", "proposals_removed": count}
        record(
            conn,
            actor,
            Change(attempt.action, PLAN_SUBJECT, str(plan_id), {"status": "proposed"}, after),
        )
    return count


# --- the distance report ---------------------------------------------------------------------


def distance_overview(
    runtime: Runtime, actor: Actor, day: date, org_unit: str | None = None
) -> Report:
    """The ``distance`` report as of ``day``: every remote worker and teleworker, the
    distance from home to the nearest agency office and to their duty station, those
    beyond the limit per component, and what could not be judged and why."""
    with runtime.engine.connect() as conn:
        setting = _setting(runtime, conn, day)
        _authorize_scope(conn, actor, Operation.REPORT_READ, org_unit, setting)
        rules = load_rules(None)
        offices = load_offices(conn, day, rules, WhatIf(), set(setting.chains))
        staff = load_staff(conn, day, offices, setting.directives, setting.chains, rules, org_unit)
    return distance_report(offices, staff, day, org_unit)
