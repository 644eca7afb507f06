"""``dutystation exemptions``: file, certify, withdraw, revoke, renew, expire, list, show,
download a document, import historical decisions. Thin: parse, call the exemption
services, print only what the service returned for the acting user (docs/exemptions.md).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.access import SYSTEM
from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import CERTIFIER_WORDS, Decision, RequestStatus
from dutystation.errors import ConfigError, InputFileError, Location
from dutystation.evaluation_inputs import CATEGORY_ALIASES
from dutystation.services.disclosures import stated
from dutystation.services.documents import Upload
from dutystation.services.exemption_decisions import certify, expire_due, revoke
from dutystation.services.exemption_import import import_decisions
from dutystation.services.exemption_requests import (
    NewRequest,
    renew_exemption,
    request_exemption,
    withdraw_request,
)
from dutystation.services.exemption_views import (
    download_document,
    list_requests,
    show_request,
)

exemptions_app = typer.Typer(
    help="Exemption requests: file them, certify them, and see where they stand."
)
app.add_typer(exemptions_app, name="exemptions")
console = Console(soft_wrap=True, highlight=False)

DATE_FORMATS = ["%Y-%m-%d"]
REQUEST_ID = typer.Argument(..., help="The exemption request's number.", show_default=False)
CATEGORIES = ", ".join(c.value for c in ExemptionCategory)
JUSTIFICATION = typer.Option(None, "--justification", help="Why the exemption is needed.")
JUSTIFICATION_FILE = typer.Option(
    None, "--justification-file", help="Read the justification from this UTF-8 text file."
)
DOCUMENTS = typer.Option(
    None, "--document", help="A supporting document (repeatable): PDF, image, DOCX, ODT, text."
)
START = typer.Option(..., "--start", formats=DATE_FORMATS, help="First day.")
END = typer.Option(..., "--end", formats=DATE_FORMATS, help="Last day (included).")
APPROVE_START = typer.Option(
    None, "--start", formats=DATE_FORMATS, help="Approve from this day (default: as asked)."
)
APPROVE_END = typer.Option(
    None, "--end", formats=DATE_FORMATS, help="Approve up to this day (default: as asked)."
)
CERTIFIER = typer.Option(None, "--certifier", help="Certify in this role, when you hold several.")
REVOKE_FROM = typer.Option(
    ..., "--from", formats=DATE_FORMATS, help="First day the exemption no longer covers."
)
RENEW_START = typer.Option(
    None, "--start", formats=DATE_FORMATS, help="First day (default: the day after it ends)."
)
TODAY = typer.Option(
    None, "--today", formats=DATE_FORMATS, help="Expire those that ended before this day."
)
STATUS = typer.Option(None, "--status", help="Only requests in this status.")
OUT = typer.Option(..., "--out", help="File to write (must not exist yet).")
IMPORT_FILE = typer.Argument(..., help="Exemptions CSV (docs/exemptions.md).")
# A text file's size cap: the service refuses longer justifications anyway.
_MAX_JUSTIFICATION_BYTES = 200_000


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _category(text: str) -> ExemptionCategory:
    value = text.strip().lower()
    if value in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[value]
    try:
        return ExemptionCategory(value)
    except ValueError:
        raise ConfigError(f"--category {text!r} is not one of: {CATEGORIES}") from None


def _justification(text: str | None, path: Path | None) -> str:
    if (text is None) == (path is None):
        raise ConfigError("give the justification with --justification or --justification-file")
    if path is None:
        return text or ""
    try:
        data = path.read_bytes()[: _MAX_JUSTIFICATION_BYTES + 1]
        return data.decode("utf-8")
    except OSError as exc:
        raise InputFileError(Location(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(Location(path), "is not UTF-8 text") from None


def _uploads(paths: list[Path] | None) -> tuple[Upload, ...]:
    found = []
    for n, path in enumerate(paths or [], start=1):
        try:
            found.append(Upload(path.name, path.read_bytes()))
        except OSError as exc:
            # The position, not the name: a medical document's name is medical information.
            raise ConfigError(f"document {n} cannot be read ({exc.strerror})") from None
    return tuple(found)


@exemptions_app.command("request")
def request(
    employee_id: str = typer.Argument(..., help="HR id of the person the exemption is for."),
    category: str = typer.Option(..., "--category", help=f"One of: {CATEGORIES}."),
    start: datetime = START,
    end: datetime = END,
    justification: str | None = JUSTIFICATION,
    justification_file: Path | None = JUSTIFICATION_FILE,
    document: list[Path] | None = DOCUMENTS,
    acting: str | None = AS_OPTION,
) -> None:
    """File an exemption request, for yourself or (as their supervisor) for a report."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    new = NewRequest(
        employee_id=employee_id,
        category=_category(category),
        start=start.date(),
        end=end.date(),
        justification=_justification(justification, justification_file),
        documents=_uploads(document),
    )
    request_id = request_exemption(runtime, actor, new)
    _say(f"filed exemption request {request_id} for {employee_id}: submitted")


@exemptions_app.command("decide")
def decide(
    request_id: int = REQUEST_ID,
    approve: bool = typer.Option(False, "--approve", help="Certify that it is approved."),
    deny: bool = typer.Option(False, "--deny", help="Certify that it is denied."),
    reason: str = typer.Option(..., "--reason", help="Why (every decision has a reason)."),
    start: datetime | None = APPROVE_START,
    end: datetime | None = APPROVE_END,
    certifier: Certifier | None = CERTIFIER,
    acting: str | None = AS_OPTION,
) -> None:
    """Give your certification (approve or deny) on a pending request."""
    if approve == deny:
        raise ConfigError("say --approve or --deny")
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    done = certify(
        runtime,
        actor,
        request_id,
        Decision.APPROVE if approve else Decision.DENY,
        reason,
        start=_day(start),
        end=_day(end),
        certifier=certifier,
    )
    who = CERTIFIER_WORDS[done.certifier]
    status = str(done.status)
    if done.approved is not None:
        status += f" from {done.approved.describe()}"
    elif done.status is RequestStatus.SUBMITTED:
        status += " (other certifications are still required)"
    _say(f"request {request_id}: {who}'s certification recorded; the request is {status}")


@exemptions_app.command("withdraw")
def withdraw(request_id: int = REQUEST_ID, acting: str | None = AS_OPTION) -> None:
    """Withdraw a pending request."""
    runtime = bootstrap()
    withdraw_request(runtime, resolve_actor(runtime, acting), request_id)
    _say(f"request {request_id}: withdrawn")


@exemptions_app.command("revoke")
def revoke_command(
    request_id: int = REQUEST_ID,
    from_day: datetime = REVOKE_FROM,
    reason: str = typer.Option(..., "--reason", help="Why it is revoked."),
    acting: str | None = AS_OPTION,
) -> None:
    """Revoke an approved exemption from a day on."""
    runtime = bootstrap()
    revoke(runtime, resolve_actor(runtime, acting), request_id, from_day.date(), reason)
    _say(f"request {request_id}: revoked from {from_day.date().isoformat()}")


@exemptions_app.command("renew")
def renew(
    request_id: int = REQUEST_ID,
    end: datetime = END,
    start: datetime | None = RENEW_START,
    justification: str | None = JUSTIFICATION,
    justification_file: Path | None = JUSTIFICATION_FILE,
    document: list[Path] | None = DOCUMENTS,
    acting: str | None = AS_OPTION,
) -> None:
    """File a renewal of an approved or expired exemption (a new, linked request)."""
    runtime = bootstrap()
    new_id = renew_exemption(
        runtime,
        resolve_actor(runtime, acting),
        request_id,
        end=end.date(),
        start=_day(start),
        justification=_justification(justification, justification_file),
        uploads=_uploads(document),
    )
    _say(f"filed exemption request {new_id}, renewing request {request_id}: submitted")


@exemptions_app.command("expire")
def expire(
    today: datetime | None = TODAY,
    acting: str | None = AS_OPTION,
) -> None:
    """Mark approved exemptions whose end has passed as expired. Without --as (and
    DUTYSTATION_AS) it runs as the system, as a scheduled job does."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting) if acting else SYSTEM
    expired = expire_due(runtime, actor, _day(today) or date.today())
    listed = ", ".join(str(i) for i in expired) or "none"
    _say(f"expired {len(expired)} exemptions: {listed}")


@exemptions_app.command("list")
def list_command(
    status: RequestStatus | None = STATUS,
    group: str | None = typer.Option(
        None, "--group", help="Only this category group (medical_disability, or a category)."
    ),
    org: str | None = typer.Option(None, "--org", help="Only people in this org unit or below."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
    acting: str | None = AS_OPTION,
) -> None:
    """The requests of the people in your scope, newest first."""
    runtime = bootstrap()
    found = list_requests(
        runtime, resolve_actor(runtime, acting), status=status, category_group=group, org_unit=org
    )
    if as_json:
        for item in found:
            print(json.dumps(vars(item), default=_plain, sort_keys=True))
        return
    table = Table(box=None)
    # Ids never shrink away in a narrow terminal; the other columns fold.
    table.add_column("id", no_wrap=True, min_width=3)
    for column in ("employee", "org unit", "group", "status", "requested", "approved"):
        table.add_column(column, overflow="fold")
    for item in found:
        approved = _span(item.approved_start, item.approved_end) if item.approved_start else ""
        table.add_row(
            Text(str(item.id)),
            Text(item.employee_id),
            Text(item.org_unit or ""),
            Text(item.category_group),
            Text(item.status),
            Text(_span(item.requested_start, item.requested_end)),
            Text(approved),
        )
    console.print(table)
    _say(f"{len(found)} requests")


@exemptions_app.command("show")
def show(
    request_id: int = REQUEST_ID,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
    acting: str | None = AS_OPTION,
) -> None:
    """One request, with what your roles let you see."""
    runtime = bootstrap()
    view = show_request(runtime, resolve_actor(runtime, acting), request_id)
    if as_json:
        print(json.dumps(view, default=_plain, sort_keys=True, indent=2))
        return
    table = Table(box=None, show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    for key, value in view.items():
        table.add_row(Text(key), Text(_text(value)))
    console.print(table)


@exemptions_app.command("document")
def document(
    request_id: int = REQUEST_ID,
    position: int = typer.Argument(..., help="Which document (1, 2, ...; see show)."),
    out: Path = OUT,
    purpose: str | None = typer.Option(
        None,
        "--purpose",
        help="Why you take a copy; recorded in the employee's disclosure ledger "
        "(docs/privacy.md). Needed with --recipient.",
    ),
    recipient: str | None = typer.Option(
        None, "--recipient", help="Who outside the agency receives it; default: you."
    ),
    acting: str | None = AS_OPTION,
) -> None:
    """Save a supporting document to a file (never opened or shown)."""
    said = stated(purpose, recipient)
    runtime = bootstrap()
    got = download_document(runtime, resolve_actor(runtime, acting), request_id, position, said)
    try:
        # Owner-only, and never over an existing file.
        handle = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{out} exists already; choose another --out") from None
    except OSError as exc:
        raise ConfigError(f"{out} cannot be written ({exc.strerror})") from None
    with os.fdopen(handle, "wb") as fh:
        fh.write(got.data)
    _say(f"wrote {out} ({got.media_type}, {len(got.data):,} bytes)")


@exemptions_app.command("import")
def import_command(
    path: Path = IMPORT_FILE,
    acting: str | None = AS_OPTION,
) -> None:
    """Store the requests and decisions of an exemptions file as historical records
    (importing the same file again changes nothing)."""
    runtime = bootstrap()
    if not path.is_file():
        raise InputFileError(Location(path), "no such file")
    done = import_decisions(runtime, resolve_actor(runtime, acting), path)
    _say(
        f"{done.rows} records: {done.added} added, {done.updated} decided since, "
        f"{done.unchanged} unchanged"
    )


def _say(message: str) -> None:
    console.print(Text(message))


def _span(start: date, end: date | None) -> str:
    return f"{start.isoformat()} to {end.isoformat() if end else 'open'}"


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=_plain, sort_keys=True)
    return _plain(value) if isinstance(value, date | datetime) else str(value)
