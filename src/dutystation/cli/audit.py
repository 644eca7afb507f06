"""``dutystation audit verify|export|list``: check, export and search the audit trail
(needs the audit.read operation: auditors and agency administrators); ``audit purge``:
remove records past their retention, leaving a checkpoint (audit.purge: administrators);
and
``dutystation db grant-app-role ROLE`` for the PostgreSQL role the application runs as.
Thin: parse, call ``services.audit_verify`` / ``audit_export`` / ``store.app_role``, print.

``verify`` exits 0 when the chain is intact and 1 when it is broken (``AuditTrailBroken``:
one sentence naming the first wrong record)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.cli.db import db_app
from dutystation.errors import AuditTrailBroken
from dutystation.services import import_audit
from dutystation.services.audit_export import AuditQuery, describe, export_trail, search_trail
from dutystation.services.audit_files import ExportFormat
from dutystation.services.audit_purge import purge_trail
from dutystation.services.audit_verify import VerifyResult, verify_file, verify_trail
from dutystation.services.disclosures import stated
from dutystation.settings import load_settings
from dutystation.store.app_role import grant_app_role
from dutystation.store.db import make_engine

audit_app = typer.Typer(
    help="The audit trail of every change: verify its hash chain, export it, search it, "
    "purge what is past its retention.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
console = Console(soft_wrap=True, highlight=False)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

DAY_FORMATS = ["%Y-%m-%d"]
SINCE = typer.Option(None, "--since", formats=DAY_FORMATS, help="First day (UTC), included.")
UNTIL = typer.Option(None, "--until", formats=DAY_FORMATS, help="Last day (UTC), included.")
BEFORE = typer.Option(
    None,
    "--before",
    formats=DAY_FORMATS,
    help="Remove records dated before this day (UTC); default: audit_retention_years ago. "
    "Never later than that, nor than 6 years ago.",
)
EXPECT_HEAD = typer.Option(
    None,
    "--expect-head",
    help="A head hash printed by an earlier verify: it must still be in the chain "
    "(detects records removed from the end).",
)

FILE = typer.Option(
    None, "--file", help="Verify this export (from `audit export`) instead of the database."
)
OUT = typer.Option(..., "--out", "-o", help="File to write (replaced atomically).")
FORMAT = typer.Option(ExportFormat.JSONL, "--format", "-f", help="File format.")
PURPOSE = typer.Option(
    None,
    "--purpose",
    help="Why the export is made; recorded in the disclosure ledger of the people it is "
    "about (docs/privacy.md). Needed with --recipient.",
)
RECIPIENT = typer.Option(
    None, "--recipient", help="Who outside the agency receives it; default: you."
)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@audit_app.command("verify")
def verify(
    file: Path | None = FILE,
    expect_head: str | None = EXPECT_HEAD,
    as_user: str | None = AS_OPTION,
) -> None:
    """Recompute every record's hash and check the links; exit 1 if the chain is broken."""
    if file is not None:
        result = verify_file(file, expect_head=expect_head)
        unrecorded = 0
    else:
        runtime = bootstrap()
        actor = resolve_actor(runtime, as_user)
        result = verify_trail(runtime.engine, actor, expect_head=expect_head)
        with runtime.engine.connect() as conn:
            unrecorded = len(import_audit.unrecorded(conn, runtime.events.manifests()))
    _report(result, expect_head, unrecorded)


def _report(result: VerifyResult, expect_head: str | None, unrecorded: int) -> None:
    if not result.intact:
        raise AuditTrailBroken(result.sentence())
    console.print(Text(result.sentence()))
    if result.partial:
        console.print(
            Text(
                f"  the file starts at seq {result.first_seq}: its link to the record before "
                "cannot be checked without the trail"
            )
        )
    if expect_head is not None:
        console.print(Text(f"  the expected head is record {result.anchor_seq}"))
    if unrecorded:
        console.print(
            Text(
                f"  {unrecorded} committed event import(s) have no audit record yet; the next "
                "badge or T&A import writes them"
            )
        )


@audit_app.command("export")
def export(
    out: Path = OUT,
    fmt: ExportFormat = FORMAT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    purpose: str | None = PURPOSE,
    recipient: str | None = RECIPIENT,
    as_user: str | None = AS_OPTION,
) -> None:
    """Write the trail (or the records of some days) with its hashes, for offline checks."""
    said = stated(purpose, recipient)
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    done = export_trail(
        runtime.engine, actor, out, fmt, since=_day(since), until=_day(until), said=said
    )
    span = f" (seq {done.first_seq}..{done.last_seq})" if done.records else ""
    console.print(Text(f"wrote {done.records:,} audit records{span} to {done.path}"))


@audit_app.command("list")
def list_records(
    action: str | None = typer.Option(
        None, "--action", help="Exact action (exemption.certify), or a prefix with * (import.*)."
    ),
    subject: str | None = typer.Option(None, "--subject", help="Subject id, e.g. a batch id."),
    actor_name: str | None = typer.Option(None, "--actor", help="Username of who acted."),
    denied: bool = typer.Option(False, "--denied", help="Only refused attempts."),
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = typer.Option(50, "--limit", min=0, help="Newest records shown (0: all)."),
    as_user: str | None = AS_OPTION,
) -> None:
    """Search the trail, newest first."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    query = AuditQuery(
        action=action,
        subject_id=subject,
        actor=actor_name,
        outcome="denied" if denied else None,
        since=_day(since),
        until=_day(until),
        limit=limit,
    )
    found = search_trail(runtime.engine, actor, query)
    if not found:
        console.print(Text("no audit records match"))
        return
    for r in found:  # a block per record: readable at any terminal width
        at = str(r["at"]).replace("T", " ").removesuffix("+00:00")
        line = Text(f"#{r['seq']}  {at}  {r['actor']} ({r['channel']})  {r['action']}  ")
        line.append(r["outcome"], style="red" if r["outcome"] == "denied" else "green")
        if subject := describe(r):
            line.append(f"  {subject}")
        console.print(line)
        for side in ("before", "after"):
            if r[side] is not None:
                console.print(Text(f"    {side}: {r[side]}"))


@audit_app.command("purge")
def purge(
    before: datetime | None = BEFORE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what is due; remove nothing."),
    as_user: str | None = AS_OPTION,
) -> None:
    """Remove the oldest records past their retention and leave a checkpoint in the chain.

    `audit verify` then checks the rest from the checkpoint (the range removed, its last hash).

    On PostgreSQL, connect as the tables' owner: the application's role may not delete."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    years = runtime.settings.audit_retention_years
    done = purge_trail(runtime.engine, actor, years, before=_day(before), dry_run=dry_run)
    day, verb = done.cutoff.date().isoformat(), "would remove" if dry_run else "removed"
    if done.first_at is None or done.last_at is None:
        console.print(Text(f"{verb} no audit records: the oldest is not dated before {day}"))
    else:
        span = f"{done.first_at.date().isoformat()} to {done.last_at.date().isoformat()}"
        console.print(
            Text(
                f"{verb} {done.records:,} audit records dated before {day} (seq "
                f"{done.first_seq}..{done.last_seq}, {span})"
            )
        )
    if not dry_run:
        console.print(
            Text(
                f"  recorded as record {done.checkpoint_seq}; the new head hash is "
                f"{done.head_hash}: write it down for `audit verify --expect-head`"
            )
        )


@db_app.command("grant-app-role")
def grant_app_role_command(
    role: str = typer.Argument(..., help="The login role the application connects as."),
) -> None:
    """PostgreSQL: ROLE may read and append to the audit trail, never change it.

    Run as the tables' owner, after every `db upgrade` (docs/audit.md)."""
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        statements = grant_app_role(engine, role)
    finally:
        engine.dispose()
    for statement in statements:
        console.print(Text(statement + ";"))
    console.print(Text(f"role {role!r} may now read and append to the audit trail, not change it"))
