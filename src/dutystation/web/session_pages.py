"""Sign in, sign out, and ``/``: the first page each role needs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from dutystation.api.deps import SESSION_COOKIE, get_runtime
from dutystation.api.routes.auth import rate_limit_wait
from dutystation.domain.access import Actor, Operation, could_ever
from dutystation.errors import NotAuthenticated
from dutystation.services import login, sessions
from dutystation.web.auth import PageActor, clear_session_cookies, safe_next, set_session_cookies
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import checked_form, text_field
from dutystation.web.templating import render, sentence

router = APIRouter(route_class=WebRoute, include_in_schema=False)

USERNAME_MAX = 64
PASSWORD_MAX = 1024


def first_page(actor: Actor) -> str:
    """Leaders, TMOs, HR, the head and auditors read the overview; supervisors and
    certifiers their queue; employees their status."""
    if could_ever(actor, Operation.REPORT_READ):
        return "/overview"
    if could_ever(actor, Operation.EXEMPTION_CERTIFY) or could_ever(
        actor, Operation.EXEMPTION_READ_MEDICAL
    ):
        return "/queue"
    if actor.employee_pk is not None:
        return "/me"
    if could_ever(actor, Operation.AUDIT_READ):
        return "/audit"
    return "/account"


@router.get("/")
def home(actor: PageActor) -> Response:
    return RedirectResponse(first_page(actor), status_code=303)


@router.get("/account")
def account(request: Request, actor: PageActor) -> Response:
    """Where an account with no page of its own lands: who they are, and signing out."""
    return render(request, "account.html", {"title": "Your account"}, actor=actor)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"title": "Sign in", "next": safe_next(next)})


@router.post("/login")
async def sign_in(request: Request) -> Response:
    runtime = get_runtime(request)
    settings = runtime.settings
    form = await request.form(max_files=0, max_fields=10)
    username = text_field(form, "username")[:USERNAME_MAX]
    raw = form.get("password")
    password = raw[:PASSWORD_MAX] if isinstance(raw, str) else ""
    target = safe_next(text_field(form, "next"))
    context = {"title": "Sign in", "next": target, "username": username}
    if not username or not password:
        context["error"] = "Enter your username and your password."
        return render(request, "login.html", context, status_code=422)
    wait = rate_limit_wait(request, username)
    if wait:
        context["error"] = f"Too many sign-in attempts; wait {wait} seconds and try again."
        headers = {"Retry-After": str(wait)}
        return render(request, "login.html", context, status_code=429, headers=headers)
    try:
        actor = await run_in_threadpool(
            login.authenticate, runtime.engine, username, password, settings=settings
        )
        new = await run_in_threadpool(
            sessions.start_session, runtime.engine, actor, settings=settings
        )
    except NotAuthenticated as exc:
        context["error"] = sentence(str(exc))
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(target if target != "/" else first_page(actor), status_code=303)
    set_session_cookies(response, new, settings)
    return response


@router.post("/logout")
async def sign_out(request: Request, actor: PageActor) -> Response:
    del actor  # the session must be live for its form token to be checked
    await checked_form(request)
    runtime = get_runtime(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(sessions.end_session, runtime.engine, secret)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response, runtime.settings)
    return response
