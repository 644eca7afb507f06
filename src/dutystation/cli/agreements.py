"""``dutystation agreements`` and ``dutystation grievances``: bargaining agreements, their
clauses and each clause's legal status; grievances filed under them. Thin: parse, call
``services.agreements`` / ``services.grievances`` as the ``--as`` user, print what they
returned (docs/agreements.md)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.agreements import LegalStatus
from dutystation.domain.grievances import GrievanceStatus
from dutystation.errors import ConfigError
from dutystation.services import agreements as service
from dutystation.services import grievances as grievance_service
from dutystation.services.grievances import GrievanceView

agreements_app = typer.Typer(
    help="Collective bargaining agreements: their clauses' hybrid terms and legal status."
)
grievances_app = typer.Typer(help="Grievances filed under a bargaining agreement.")
app.add_typer(agreements_app, name="agreements")
app.add_typer(grievances_app, name="grievances")
console = Console(soft_wrap=True, highlight=False)

DAY = ["%Y-%m-%d"]
CODE = typer.Argument(..., help="The agreement's code (e.g. EEU-L1-2023).", show_default=False)
CLAUSE = typer.Argument(..., help="The clause's ref, e.g. 'Art. 31 §4'.", show_default=False)
GRIEVANCE = typer.Argument(..., help="The grievance's number.", show_default=False)
TITLE = typer.Option(None, "--title", help="The agreement's title.")
UNION = typer.Option(None, "--union", help="The union that is party to it.")
UNITS = typer.Option(None, "--unit", help="A bargaining unit code of the roster (repeatable).")
FROM = typer.Option(None, "--from", formats=DAY, help="First day in force.")
TO = typer.Option(None, "--to", formats=DAY, help="Last day in force (included).")
LEGAL = ", ".join(s.value for s in LegalStatus)
STEPS = ", ".join(s.value for s in GrievanceStatus)
FILE_ARG = typer.Argument(..., help="Agreements file (TOML; docs/agreements.md).")
LIST_ON = typer.Option(None, "--on", formats=DAY, help="Legal status on this day (default: today).")
STATUS_ON = typer.Option(..., "--on", formats=DAY, help="The day it takes effect.")
FILED_ON = typer.Option(..., "--filed-on", formats=DAY, help="Day filed.")
EMPLOYEES = typer.Option(None, "--employee", help="HR id of an employee it concerns (repeatable).")
EMPLOYEE_IDS = typer.Argument(..., help="HR ids of the employees it concerns.")
STEP_ON = typer.Option(..., "--on", formats=DAY, help="The day of the step.")
OUTCOME_ON = typer.Option(..., "--on", formats=DAY, help="The day of the outcome.")


def _say(message: str) -> None:
    console.print(Text(message))


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _span(start: date, end: date | None) -> str:
    return f"{start.isoformat()} to {end.isoformat() if end else 'open-ended'}"


# --- agreements -------------------------------------------------------------------------


@agreements_app.command("import")
def import_file(
    path: Path = FILE_ARG,
    acting: str | None = AS_OPTION,
) -> None:
    """Store the agreements of a file, all or nothing; again, it changes nothing."""
    runtime = bootstrap()
    done = service.import_agreements(runtime.engine, resolve_actor(runtime, acting), path)
    _say(
        f"agreements: {done.agreements_created} created, {done.agreements_updated} updated; "
        f"{done.clauses_saved} clause(s) saved, {done.statuses_recorded} legal status(es) "
        "recorded" + ("" if done.changed else " (nothing changed)")
    )


@agreements_app.command("list")
def list_command(
    on: datetime | None = LIST_ON,
    acting: str | None = AS_OPTION,
) -> None:
    """Every agreement, with each clause's legal status on a day."""
    runtime = bootstrap()
    day = _day(on) or date.today()
    found = service.list_agreements(runtime.engine, resolve_actor(runtime, acting))
    table = Table(box=None)
    for column in ("code", "units", "in force", "clause", "terms", f"status on {day}"):
        table.add_column(column)
    for stored in found:
        facts = stored.facts
        clauses = facts.clauses or ()
        if not clauses:
            span = _span(facts.start, facts.end)
            table.add_row(facts.code, ", ".join(facts.units), span, "", "none", "")
        for clause in clauses:
            record = clause.status_on(day)
            status = record.status.value if record else "in_force"
            if not facts.in_force_on(day):
                status += " (agreement not in force)"
            span = _span(facts.start, facts.end)
            row = (facts.code, ", ".join(facts.units), span, clause.ref, clause.terms.describe())
            table.add_row(*(Text(v) for v in (*row, status)))
    console.print(table)


@agreements_app.command("show")
def show(code: str = CODE, acting: str | None = AS_OPTION) -> None:
    """One agreement: its clauses, their terms and the history of their legal status."""
    runtime = bootstrap()
    stored = service.show_agreement(runtime.engine, resolve_actor(runtime, acting), code)
    facts = stored.facts
    _say(f"{facts.code}: {facts.title}")
    _say(f"union: {facts.union}; bargaining units: {', '.join(facts.units)}")
    _say(f"in force: {_span(facts.start, facts.end)}")
    if not facts.clauses:
        _say("no clause with hybrid terms: the directive applies to its members")
    for clause in facts.clauses:
        _say(f"\n{clause.ref}: {clause.terms.describe()}")
        if clause.summary:
            _say(f"  {clause.summary}")
        table = Table(box=None)
        for column in ("from", "legal status", "source", "recorded by", "recorded at"):
            table.add_column(column)
        table.add_row(facts.start.isoformat(), "in_force", "the agreement as signed", "", "")
        for recorded in stored.recorded.get(clause.ref, ()):
            r = recorded.record
            at = recorded.recorded_at.strftime("%Y-%m-%d %H:%M")
            cells = (r.effective_on.isoformat(), r.status.value, r.source, recorded.recorded_by, at)
            table.add_row(*(Text(c) for c in cells))
        console.print(table)


@agreements_app.command("add")
def add(
    code: str = CODE,
    title: str | None = TITLE,
    union: str | None = UNION,
    unit: list[str] | None = UNITS,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    acting: str | None = AS_OPTION,
) -> None:
    """A new agreement; give it a clause with `agreements clause`."""
    if not unit or start is None:
        raise ConfigError("a new agreement needs --unit (one or more) and --from")
    runtime = bootstrap()
    draft = service.AgreementDraft(
        code, title or "", union or "", tuple(unit), start.date(), _day(end)
    )
    facts = service.create_agreement(runtime.engine, resolve_actor(runtime, acting), draft)
    _say(f"agreement {facts.code} added: {_span(facts.start, facts.end)}")


@agreements_app.command("update")
def update(
    code: str = CODE,
    title: str | None = TITLE,
    union: str | None = UNION,
    unit: list[str] | None = UNITS,
    start: datetime | None = FROM,
    end: datetime | None = TO,
    open_ended: bool = typer.Option(False, "--open-ended", help="Remove the expiry date."),
    acting: str | None = AS_OPTION,
) -> None:
    """Change an agreement's title, union, units or dates; what is not given stays."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    old = service.show_agreement(runtime.engine, actor, code).facts
    draft = service.AgreementDraft(
        old.code,
        title if title is not None else old.title,
        union if union is not None else old.union,
        tuple(unit) if unit else old.units,
        _day(start) or old.start,
        None if open_ended else (_day(end) or old.end),
    )
    facts = service.update_agreement(runtime.engine, actor, draft)
    _say(f"agreement {facts.code} updated: {_span(facts.start, facts.end)}")


@agreements_app.command("clause")
def clause(
    code: str = CODE,
    ref: str = CLAUSE,
    per_pay_period: int | None = typer.Option(
        None, "--min-days-per-pay-period", help="At least N days on site each pay period."
    ),
    per_week: int | None = typer.Option(
        None, "--min-days-per-week", help="At least N days on site each week."
    ),
    share: float | None = typer.Option(
        None, "--min-share", help="At least this share of hours on site (0 to 1)."
    ),
    cap: int | None = typer.Option(
        None,
        "--max-telework-days-per-pay-period",
        help="Up to N telework days each pay period (read as 10 - N days on site).",
    ),
    summary: str | None = typer.Option(None, "--summary", help="What the clause says."),
    acting: str | None = AS_OPTION,
) -> None:
    """Add a clause with hybrid terms (one kind) to an agreement, or change one."""
    runtime = bootstrap()
    terms = {
        "min_onsite_days_per_pay_period": per_pay_period,
        "min_onsite_days_per_week": per_week,
        "min_onsite_share_of_hours": share,
        "max_telework_days_per_pay_period": cap,
    }
    actor = resolve_actor(runtime, acting)
    saved = service.save_clause(runtime.engine, actor, code, ref, terms, summary)
    _say(f"{code} {saved.ref}: {saved.terms.describe()}")


@agreements_app.command("clause-status")
def clause_status(
    code: str = CODE,
    ref: str = CLAUSE,
    status: str = typer.Option(..., "--status", help=f"One of: {LEGAL}."),
    on: datetime = STATUS_ON,
    source: str = typer.Option(
        ..., "--source", help="Where it comes from, e.g. 'OPM memo 2025-02-03'."
    ),
    acting: str | None = AS_OPTION,
) -> None:
    """Record a clause's legal status from a day on (its history is kept)."""
    try:
        legal = LegalStatus(status.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise ConfigError(f"--status {status!r} is not one of: {LEGAL}") from None
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    service.record_legal_status(runtime.engine, actor, code, ref, legal, on.date(), source)
    effect = "binds" if legal.binds else "does not bind: the directive applies"
    _say(f"{code} {ref}: {legal.value} from {on.date().isoformat()}; the clause {effect}")


# --- grievances -------------------------------------------------------------------------


def _grievance_line(g: GrievanceView) -> str:
    step = g.history.current
    return (
        f"grievance {g.id} ({g.component}, under {g.agreement}): {step.status.value} since "
        f"{step.on.isoformat()}; {len(g.employees)} employee(s)"
    )


def _step(text: str) -> GrievanceStatus:
    try:
        return GrievanceStatus(text.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        raise ConfigError(f"--status {text!r} is not one of: {STEPS}") from None


@grievances_app.command("file")
def file(
    agreement: str = typer.Option(..., "--agreement", help="The agreement's code."),
    component: str = typer.Option(..., "--component", help="Org unit it is filed in."),
    filed_on: datetime = FILED_ON,
    subject: str = typer.Option(..., "--subject", help="What it is about."),
    union: str | None = typer.Option(None, "--union", help="Default: the agreement's union."),
    employee: list[str] | None = EMPLOYEES,
    acting: str | None = AS_OPTION,
) -> None:
    """File a grievance under an agreement."""
    runtime = bootstrap()
    filed = grievance_service.file_grievance(
        runtime.engine,
        resolve_actor(runtime, acting),
        agreement=agreement,
        component=component,
        filed_on=filed_on.date(),
        subject=subject,
        union=union,
        employees=employee or (),
    )
    _say(_grievance_line(filed))


@grievances_app.command("add-employees")
def add_employees(
    grievance_id: int = GRIEVANCE,
    employee: list[str] = EMPLOYEE_IDS,
    acting: str | None = AS_OPTION,
) -> None:
    """Add employees a grievance concerns."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    _say(
        _grievance_line(
            grievance_service.add_employees(runtime.engine, actor, grievance_id, employee)
        )
    )


@grievances_app.command("list")
def list_grievances(
    org: str | None = typer.Option(None, "--org", help="Only this org unit's (and above)."),
    status: str | None = typer.Option(None, "--status", help=f"Only in: {STEPS}."),
    acting: str | None = AS_OPTION,
) -> None:
    """The grievances you may read."""
    runtime = bootstrap()
    wanted = _step(status) if status else None
    found = grievance_service.list_grievances(runtime.engine, resolve_actor(runtime, acting), org)
    table = Table(box=None)
    for column in ("no.", "component", "agreement", "filed", "status", "since", "employees"):
        table.add_column(column, no_wrap=True)
    table.add_column("subject")
    for g in found:
        if wanted is not None and g.status is not wanted:
            continue
        step = g.history.current
        cells = (
            str(g.id),
            g.component,
            g.agreement,
            g.filed_on.isoformat(),
            step.status.value,
            step.on.isoformat(),
            str(len(g.employees)),
            g.subject,
        )
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


@grievances_app.command("show")
def show_grievance(grievance_id: int = GRIEVANCE, acting: str | None = AS_OPTION) -> None:
    """One grievance: parties, employees, status history, outcome."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    g = grievance_service.show_grievance(runtime.engine, actor, grievance_id)
    _say(f"grievance {g.id}: {g.subject}")
    _say(f"agreement {g.agreement}; union: {g.union}; filed in {g.component} on {g.filed_on}")
    _say(f"employees: {', '.join(g.employees) if g.employees else 'none named yet'}")
    for step in g.history.steps:
        note = f" ({step.note})" if step.note else ""
        _say(f"  {step.on.isoformat()} {step.status.value}{note}")
    if g.outcome is not None and g.outcome_on is not None:
        _say(f"outcome on {g.outcome_on.isoformat()}: {g.outcome}")


@grievances_app.command("status")
def status_command(
    grievance_id: int = GRIEVANCE,
    status: str = typer.Option(..., "--status", help=f"One of: {STEPS}."),
    on: datetime = STEP_ON,
    note: str = typer.Option("", "--note", help="A short note (e.g. the step's meeting)."),
    acting: str | None = AS_OPTION,
) -> None:
    """Move a grievance to its next step."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    moved = grievance_service.change_status(
        runtime.engine, actor, grievance_id, _step(status), on.date(), note
    )
    _say(_grievance_line(moved))


@grievances_app.command("outcome")
def outcome(
    grievance_id: int = GRIEVANCE,
    text: str = typer.Option(..., "--text", help="The settlement or award."),
    on: datetime = OUTCOME_ON,
    acting: str | None = AS_OPTION,
) -> None:
    """Record a grievance's outcome (an open one is resolved with it)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    done = grievance_service.record_outcome(runtime.engine, actor, grievance_id, text, on.date())
    _say(_grievance_line(done) + f"; outcome recorded on {on.date().isoformat()}")
