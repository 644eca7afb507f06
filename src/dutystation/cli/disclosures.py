"""``dutystation disclosures list|purge``: the Privacy Act disclosure ledger (docs/privacy.md).
Thin: parse, call ``services.disclosure_ledger``, print.

``list`` shows the disclosures of one person's records — your own by default; HR,
administrators and auditors may name someone in their scope with ``--employee``. ``purge``
removes the entries past ``disclosure_retention_years`` (``--dry-run`` only counts them).
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.services.disclosure_ledger import Entry, person_disclosures, purge

disclosures_app = typer.Typer(
    help="The Privacy Act disclosure ledger: who received copies of whose records, and why.",
    no_args_is_help=True,
)
app.add_typer(disclosures_app, name="disclosures")
console = Console(soft_wrap=True, highlight=False)

RECIPIENT_KINDS = {"agency_user": "agency user", "outside_agency": "outside the agency"}


@disclosures_app.command("list")
def list_entries(
    employee: str | None = typer.Option(
        None, "--employee", help="HR id of the person (default: yourself)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    as_user: str | None = AS_OPTION,
) -> None:
    """Every recorded disclosure of a person's records, newest first."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    found = person_disclosures(runtime.engine, actor, employee)
    if as_json:
        print(json.dumps([_plain(e) for e in found.entries], indent=2))
        return
    if not found.entries:
        whose = f"of {found.employee_id}'s records" if employee else "of your records"
        console.print(Text(f"no disclosures {whose} are recorded"))
        return
    table = Table(box=None)
    for heading in ("when (UTC)", "what", "purpose", "recipient", "by"):
        table.add_column(heading, overflow="fold")
    for entry in found.entries:
        table.add_row(
            Text(entry.disclosed_at.strftime("%Y-%m-%d %H:%M")),
            Text(entry.nature),
            Text(entry.purpose),
            Text(f"{entry.recipient} ({RECIPIENT_KINDS.get(entry.recipient_kind, '?')})"),
            Text(entry.recorded_by),
        )
    console.print(table)
    console.print(Text(f"{len(found.entries)} disclosure(s) of {found.employee_id}'s records"))


def _plain(entry: Entry) -> dict[str, object]:
    return {
        "id": entry.id,
        "disclosed_at": entry.disclosed_at.isoformat(),
        "nature_kind": entry.nature_kind,
        "nature": entry.nature,
        "purpose": entry.purpose,
        "recipient": entry.recipient,
        "recipient_kind": entry.recipient_kind,
        "recorded_by": entry.recorded_by,
        "channel": entry.channel,
    }


@disclosures_app.command("purge")
def purge_entries(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what is past its retention; remove nothing."
    ),
    as_user: str | None = AS_OPTION,
) -> None:
    """Remove the entries older than disclosure_retention_years, and nothing else.

    On PostgreSQL, connect as the tables' owner (the application's role may not delete)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    years = runtime.settings.disclosure_retention_years
    done = purge(runtime.engine, actor, years, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    console.print(
        Text(
            f"{verb} {done.disclosures:,} disclosure(s) ({done.people_rows:,} people rows) "
            f"recorded before {done.cutoff.date().isoformat()} (retention {years} years)"
        )
    )
