"""Reading the dashboard's forms: the CSRF check, text fields, dates, uploaded documents,
and which refusals go back onto the form instead of the error page."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from dutystation import errors
from dutystation.api.deps import CSRF_FIELD, CSRF_REFUSED, SESSION_COOKIE, get_runtime
from dutystation.api.text_checks import REFUSED as NUL_REFUSED
from dutystation.services import sessions
from dutystation.services.documents import Upload

FORM_FIELDS_MAX = 100
# A refusal of what was typed: shown on the form with the service's sentence.
FORM_ERRORS = (
    errors.InvalidRequest,
    errors.DocumentRejected,
    errors.Conflict,
    errors.ConfigError,
    errors.NoEvidence,
)


async def checked_form(request: Request, *, max_files: int = 0) -> FormData:
    """The posted form, after its CSRF token was checked against the session's. Call it
    from a route that has ``PageActor`` (the session is known to be live)."""
    form = await request.form(max_files=max_files, max_fields=FORM_FIELDS_MAX)
    sent = form.get(CSRF_FIELD)
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not isinstance(sent, str) or not sent:
        raise errors.Forbidden(CSRF_REFUSED)
    engine = get_runtime(request).engine
    await run_in_threadpool(sessions.check_csrf, engine, secret, sent)
    return form


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    if isinstance(value, str) and "\x00" in value:
        raise errors.InvalidRequest(NUL_REFUSED)  # PostgreSQL cannot hold it (api.text_checks)
    return value.strip() if isinstance(value, str) else ""


def form_date(form: FormData, name: str, label: str, *, required: bool) -> date | None:
    text = text_field(form, name)
    if not text:
        if required:
            raise errors.InvalidRequest(f"enter the {label}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidRequest(f"the {label} is not a date (YYYY-MM-DD)") from None


async def uploads(form: FormData, field: str = "documents") -> tuple[Upload, ...]:
    """The files chosen in ``field`` (a file input left empty sends one nameless part)."""
    found = []
    for item in form.getlist(field):
        if isinstance(item, UploadFile) and item.filename:
            found.append(Upload(file_name=item.filename, data=await item.read()))
    return tuple(found)


ID_MAX = 2**31 - 1


def path_number(text: str, missing: str) -> int:
    """A number from a URL (``/requests/17``); anything else is ``NotFound(missing)``, the
    page a request that does not exist gets (not a validation error: people edit URLs)."""
    if not text.isdigit() or not 1 <= int(text) <= ID_MAX:
        raise errors.NotFound(missing)
    return int(text)


def page_number(text: str) -> int:
    """``?page=`` as a positive number; anything else is the first page."""
    return min(int(text), 100_000) if text.isdigit() and int(text) >= 1 else 1
