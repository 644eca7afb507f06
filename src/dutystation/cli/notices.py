"""``dutystation notices``: announce a directive, remind before its deadlines, deliver the
mail, see the acknowledgement rates, read and acknowledge one's own notices. Thin: parse,
call ``services/notices.py``, ``notice_status.py`` or ``mail_delivery.py``, print
(docs/notices.md)."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.directive import Directive
from dutystation.errors import StoreError
from dutystation.policy_files import load_directives
from dutystation.reports.formats import Format, write_report
from dutystation.services.evaluate import policies_dir
from dutystation.services.mail_delivery import DeliveryResult, deliver, requeue_failed, watch
from dutystation.services.notices import SendResult, acknowledge, my_notices, send_announcement
from dutystation.services.notices import send_reminders as remind_service
from dutystation.services.progress import NullProgress
from dutystation.services.progress import Progress as ProgressProtocol
from dutystation.store.schema import OrgUnit

notices_app = typer.Typer(
    help="Notices: announce a directive to everyone in its scope (in the app and by mail), "
    "remind before deadlines, track acknowledgements."
)
app.add_typer(notices_app, name="notices")
console = Console(soft_wrap=True, highlight=False)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

DIRECTIVE_REF = typer.Argument(
    ..., help="The directive as id@version (e.g. US-RTO-2025@1).", show_default=False
)
ORG = typer.Option(None, "--org", help="Only this org unit and the units below it.")
NO_DELIVER = typer.Option(
    False, "--no-deliver", help="Only queue the mail; a delivery worker sends it."
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
AGAIN = typer.Option(
    False, "--again", help="Notify people who already had this announcement as well."
)
TODAY = typer.Option(
    None, "--today", formats=["%Y-%m-%d"], help="The day to remind from (default: today)."
)
WATCH = typer.Option(False, "--watch", help="Keep delivering until stopped (SIGINT or SIGTERM).")
INTERVAL = typer.Option(
    30.0, "--interval", min=0.1, help="--watch: seconds between passes when idle."
)
LIMIT = typer.Option(None, "--limit", min=1, help="At most this many mails per pass.")
ALL_FAILED = typer.Option(
    False, "--all-failed", help="Every failed mail, not only those of unknown outcome."
)
FORMAT = typer.Option(Format.TABLE, "--format", "-f", help="Output format.")
OUTPUT = typer.Option(None, "--output", "-o", help="File to write (csv, json, xlsx, html).")
NOTICE_ID = typer.Argument(..., help="The notice's number.", show_default=False)
FULL = typer.Option(False, "--full", help="Print each notice's text too.")


class MailProgress:
    """A Rich bar counting mails (the import bar counts bytes)."""

    def __init__(self, out: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("mails"),
            console=out,
            transient=True,
        )
        self._task: TaskID | None = None

    def start(self, description: str, total_bytes: int | None) -> None:
        self._bar.start()
        self._task = self._bar.add_task(description, total=total_bytes)

    def advance(self, *, rows: int, bytes_done: int) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=bytes_done)

    def finish(self) -> None:
        self._bar.stop()
        self._task = None


def _progress(quiet: bool) -> ProgressProtocol:
    if quiet or not sys.stderr.isatty():
        return NullProgress()
    return MailProgress(err_console)


def _directives(runtime: Runtime) -> list[Directive]:
    with runtime.engine.connect() as conn:
        units = set(conn.scalars(select(OrgUnit.code)))
    return load_directives(policies_dir(runtime), known_org_units=units)


def _say(text: str) -> None:
    console.print(Text(text))


def _sent(result: SendResult) -> None:
    about = f"{result.directive_ref}"
    if result.deadline is not None:
        about += f", {result.deadline.kind.label} deadline {result.deadline.day.isoformat()}"
    if result.notice_id is None:
        _say(f"{about}: nobody new to notify ({result.skipped} already notified)")
        return
    _say(
        f"notice {result.notice_id} ({about}): {result.recipients} recipients, "
        f"{result.mails} mails queued, {result.in_app_only} in the app only (no address)"
        + (f"; {result.skipped} already notified" if result.skipped else "")
    )


def _delivered(result: DeliveryResult) -> str:
    text = f"mail: {result.sent} sent, {result.retrying} to retry, {result.failed} failed"
    if result.outcome_unknown:
        text += f", {result.outcome_unknown} of unknown outcome (not re-sent)"
    if result.stopped:
        text += f"; the SMTP server could not be used ({result.stopped})"
    return text


def _deliver_once(runtime: Runtime, quiet: bool) -> None:
    settings = runtime.settings
    if not settings.smtp_host or not settings.smtp_from:
        _say("mail is not configured (smtp_host, smtp_from): the mails wait in the outbox")
        return
    _say(_delivered(deliver(runtime.engine, settings, progress=_progress(quiet))))


@notices_app.command("send")
def send(
    directive_ref: str = DIRECTIVE_REF,
    org: str | None = ORG,
    again: bool = AGAIN,
    no_deliver: bool = NO_DELIVER,
    quiet: bool = QUIET,
    as_user: str | None = AS_OPTION,
) -> None:
    """Announce a directive to everyone in its scope today, then send the mail."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    result = send_announcement(
        runtime.engine, actor, directive_ref, org, directives=_directives(runtime), again=again
    )
    _sent(result)
    if not no_deliver and result.mails:
        _deliver_once(runtime, quiet)


@notices_app.command("remind")
def remind(
    org: str | None = ORG,
    today: datetime | None = TODAY,
    no_deliver: bool = NO_DELIVER,
    quiet: bool = QUIET,
    as_user: str | None = AS_OPTION,
) -> None:
    """Remind who has not acknowledged a directive of its deadlines (once per deadline)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    results = remind_service(
        runtime.engine,
        actor,
        today.date() if today else date.today(),
        directives=_directives(runtime),
        reminder_days=runtime.settings.notice_reminder_days,
        org_unit=org,
    )
    if not results:
        _say(f"no deadline within {runtime.settings.notice_reminder_days} days")
    for result in results:
        _sent(result)
    if not no_deliver and any(r.mails for r in results):
        _deliver_once(runtime, quiet)


@notices_app.command("deliver")
def deliver_command(
    watch_: bool = WATCH,
    interval: float = INTERVAL,
    limit: int | None = LIMIT,
    quiet: bool = QUIET,
) -> None:
    """Send the mails that are due (the delivery worker; several may run at once)."""
    runtime = bootstrap()
    if not watch_:
        result = deliver(runtime.engine, runtime.settings, limit=limit, progress=_progress(quiet))
        _say(_delivered(result))
        return
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _pass(result: DeliveryResult) -> None:
        if result.sent or result.retrying or result.failed or result.outcome_unknown:
            _say(_delivered(result))

    def _error(exc: StoreError) -> None:
        err_console.print(Text(f"error: {exc}; trying again in {interval:g} s"))

    _say(f"delivering mail every {interval:g} s; stop with Ctrl-C or SIGTERM")
    watch(
        runtime.engine,
        runtime.settings,
        stop=stop,
        interval=interval,
        batch=limit or 500,
        on_pass=_pass,
        on_error=_error,
    )


@notices_app.command("requeue")
def requeue(
    all_failed: bool = ALL_FAILED,
    as_user: str | None = AS_OPTION,
) -> None:
    """Queue failed mails again (default: those of unknown outcome; may duplicate)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    count = requeue_failed(
        runtime.engine, actor, codes=None if all_failed else ("outcome_unknown",)
    )
    _say(f"{count} mails queued again; `dutystation notices deliver` sends them")


@notices_app.command("status")
def status(
    directive_ref: str = DIRECTIVE_REF,
    org: str | None = ORG,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    as_user: str | None = AS_OPTION,
) -> None:
    """Acknowledgement rate per component for one directive (the acknowledgements report)."""
    # Imported here: the reporting stack is heavy, and every other command would pay for it.
    from dutystation.services.notice_status import status as notice_status

    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    built = notice_status(runtime.engine, actor, directive_ref, org)
    written = write_report(built, fmt, console=console, output=output)
    if written is not None:
        _say(f"wrote {written.resolve()}")


@notices_app.command("ack")
def ack(
    notice_id: int = NOTICE_ID,
    as_user: str | None = AS_OPTION,
) -> None:
    """Acknowledge one of your notices."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    when = acknowledge(runtime.engine, actor, notice_id)
    _say(f"notice {notice_id} acknowledged at {when.isoformat()}")


@notices_app.command("mine")
def mine(
    full: bool = FULL,
    as_user: str | None = AS_OPTION,
) -> None:
    """Your notices, newest first (showing them counts as delivered in the app)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    notices = my_notices(runtime.engine, actor)
    if not notices:
        _say("you have no notices")
        return
    table = Table("Notice", "Kind", "Subject", "Sent", "Acknowledged")
    for n in notices:
        acknowledged = n.acknowledged_at.date().isoformat() if n.acknowledged_at else "no"
        table.add_row(
            str(n.notice_id),
            n.kind,
            Text(n.subject),
            n.created_at.date().isoformat(),
            acknowledged,
        )
    console.print(table)
    if full:
        for n in notices:
            console.rule(Text(f"notice {n.notice_id}"))
            console.print(Text(n.body))
    if any(n.acknowledged_at is None for n in notices):
        _say("acknowledge with: dutystation notices ack NOTICE")
