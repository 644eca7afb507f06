"""``dutystation rollup`` and ``dutystation verify``: the employee-day roll-up the
evaluation reads (docs/evaluation.md, "The roll-up"). Operator commands, like
``db upgrade``: they run as the account that owns the data directory."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.services import rollup_runs

rollup_app = typer.Typer(help="The employee-day roll-up: status, restatements, rebuild.")
app.add_typer(rollup_app, name="rollup")
console = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


@rollup_app.command("status")
def status() -> None:
    """How many months are rolled up per kind, and every restatement recorded (days an
    import changed after an earlier import had rolled them up)."""
    states, restated = rollup_runs.status(bootstrap())
    for s in states:
        console.print(
            Text(
                f"{s.kind}: {s.complete} of {s.months} months rolled up, {s.rows:,} rows"
                + ("" if s.complete == s.months else " (run `dutystation rollup rebuild`)")
            )
        )
    if not restated:
        console.print("no restatements recorded")
        return
    table = Table("batch", "kind", "committed", "month", "days", "employees", "days changed")
    for entry in restated:
        r = entry.restatement
        table.add_row(
            entry.batch_id,
            str(entry.kind),
            entry.committed_at,
            r.month,
            f"{r.first_day} to {r.last_day}",
            f"{r.employees:,}",
            f"{r.days_changed:,}",
        )
    console.print(table)


@rollup_app.command("rebuild")
def rebuild() -> None:
    """Recompute the whole roll-up from the raw events (after changing the badge settings,
    or for an event store written before roll-ups existed). Audited."""
    committed = rollup_runs.rebuild(
        bootstrap(), progress=lambda what: err.print(Text(f"rolling up {what}"))
    )
    months = sum(len(m.rollups) for m in committed)
    rows = sum(f.rows for m in committed for f in m.rollups)
    console.print(Text(f"rebuilt {months} month roll-ups, {rows:,} rows"))


@app.command("verify")
def verify() -> None:
    """Check that the employee-day roll-up agrees with the raw events, month by month
    (reads only). Exit 1 naming the first month that disagrees."""
    report = rollup_runs.verify(
        bootstrap(), progress=lambda what: err.print(Text(f"checking {what}"))
    )
    rows = sum(m.rows for m in report.months)
    console.print(
        Text(f"the roll-up agrees with the raw events: {len(report.months)} months, {rows:,} rows")
    )
