"""Accounts, roles, locks and API tokens: ``services.accounts``, ``role_grants`` and
``tokens`` over HTTP. Who may do what is the services' business (agency administrators
manage the accounts in their scope; everyone manages their own tokens and password)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.schemas import USERNAME_PATTERN, GrantOut, IsoInstant, StrictBody
from dutystation.domain.access import Grant, Role
from dutystation.services import accounts, role_grants, tokens
from dutystation.services.account_rows import UserInfo

router = APIRouter(prefix="/users", tags=["users"])
tokens_router = APIRouter(prefix="/tokens", tags=["users"])

State = Literal["active", "locked", "deactivated"]
USERNAME = Path(min_length=1, max_length=200, description="The account's username.")
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


class UserOut(BaseModel):
    """An account (never its password hash)."""

    username: str
    display_name: str
    email: str | None
    employee_id: str | None = Field(description="HR id of the linked employee, if any.")
    state: State
    locked_until: datetime | None
    has_password: bool
    failed_logins: int
    created_at: datetime
    roles: list[GrantOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "jdoe",
                    "display_name": "Jane Doe",
                    "email": "jane.doe@example.gov",
                    "employee_id": "E000123",
                    "state": "active",
                    "locked_until": None,
                    "has_password": True,
                    "failed_logins": 0,
                    "created_at": "2026-01-05T14:03:00Z",
                    "roles": [{"role": "supervisor", "scope": None}],
                }
            ]
        }
    )

    @classmethod
    def of(cls, info: UserInfo, now: datetime) -> UserOut:
        state = info.state(now)
        return cls(
            username=info.username,
            display_name=info.display_name,
            email=info.email,
            employee_id=info.employee_id,
            state=state,
            locked_until=info.locked_until,
            has_password=info.has_password,
            failed_logins=info.failed_logins,
            created_at=info.created_at,
            roles=[GrantOut.of(g) for g in info.grants],
        )


class GrantIn(StrictBody):
    role: Role
    scope: str | None = Field(
        None, max_length=64, description="Org-unit code; null: the whole organisation."
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "leader", "scope": "HQ-OPS"}]}
    )


class NewUser(StrictBody):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    employee_id: str | None = Field(None, max_length=64, description="HR id to link to.")
    roles: list[GrantIn] = Field(default_factory=list, max_length=20)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "jdoe",
                    "display_name": "Jane Doe",
                    "email": "jane.doe@example.gov",
                    "employee_id": "E000123",
                    "roles": [{"role": "employee", "scope": None}],
                }
            ]
        }
    )


class LockIn(StrictBody):
    until: IsoInstant | None = Field(None, description="End of the lock; null: until unlocked.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"until": "2026-04-01T00:00:00Z"}]})


class PasswordIn(StrictBody):
    password: str = Field(min_length=1, max_length=1024)
    current_password: str | None = Field(
        None, max_length=1024, description="Required to change one's own password."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "password": "a long passphrase of one's own",
                    "current_password": "the one in use until now",
                }
            ]
        }
    )


class TokenOut(BaseModel):
    """An API token (never its secret)."""

    id: int
    username: str
    name: str
    prefix: str = Field(description="The first characters of the secret, to recognise it.")
    state: Literal["valid", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, info: tokens.TokenInfo, now: datetime) -> TokenOut:
        return cls(
            id=info.id,
            username=info.username,
            name=info.name,
            prefix=info.prefix,
            state=info.state(now),
            created_at=info.created_at,
            expires_at=info.expires_at,
            revoked_at=info.revoked_at,
            last_used_at=info.last_used_at,
        )


class TokenIn(StrictBody):
    name: str = Field(min_length=1, max_length=100)
    days: int = Field(ge=1, le=3660, description="Lifetime; at most token_max_days.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "nightly export", "days": 30}]}
    )


class NewTokenOut(BaseModel):
    """A new token; ``secret`` is shown this once and cannot be read back."""

    id: int
    name: str
    prefix: str
    secret: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("", summary="List accounts", response_model=Page[UserOut], responses=READ_ERRORS)
def list_users(
    actor: CurrentActor,
    runtime: RuntimeDep,
    params: Paging,
    role: Annotated[Role | None, Query(description="Only accounts holding this role.")] = None,
    state: Annotated[State | None, Query(description="Only accounts in this state.")] = None,
    q: Annotated[
        str | None, Query(max_length=64, description="Part of the username or display name.")
    ] = None,
) -> Page[UserOut]:
    """The accounts the caller may read (administrators and auditors, in their scope), by
    username."""
    now = _now()
    found = [UserOut.of(info, now) for info in accounts.list_users(runtime.engine, actor)]
    needle = q.lower() if q else None
    matching = [
        user
        for user in found
        if (role is None or any(g.role == role for g in user.roles))
        and (state is None or user.state == state)
        and (needle is None or needle in user.username or needle in user.display_name.lower())
    ]
    return Page[UserOut].of(matching, params)


@router.post(
    "",
    summary="Create an account",
    status_code=201,
    response_model=UserOut,
    responses=WRITE_ERRORS,
)
def create_user(actor: WritingActor, runtime: RuntimeDep, body: NewUser) -> UserOut:
    """An account without a password (set one with PUT .../password, or sign in by single
    sign-on), with the roles given."""
    info = accounts.create_user(
        runtime.engine,
        actor,
        body.username,
        display_name=body.display_name,
        email=body.email,
        employee_id=body.employee_id,
        grants=[Grant(g.role, g.scope) for g in body.roles],
    )
    return UserOut.of(info, _now())


@router.get("/{username}", summary="Show an account", response_model=UserOut, responses=READ_ERRORS)
def show_user(
    actor: CurrentActor, runtime: RuntimeDep, username: Annotated[str, USERNAME]
) -> UserOut:
    return UserOut.of(accounts.show_user(runtime.engine, actor, username), _now())


@router.post(
    "/{username}/grants", summary="Grant a role", response_model=UserOut, responses=WRITE_ERRORS
)
def grant_role(
    actor: WritingActor, runtime: RuntimeDep, username: Annotated[str, USERNAME], body: GrantIn
) -> UserOut:
    """Grant ``role`` over ``scope``; the user's sessions end so it applies at once."""
    info = role_grants.grant_role(runtime.engine, actor, username, body.role, body.scope)
    return UserOut.of(info, _now())


@router.delete(
    "/{username}/grants/{role}",
    summary="Revoke a role",
    response_model=UserOut,
    responses=WRITE_ERRORS,
)
def revoke_role(
    actor: WritingActor,
    runtime: RuntimeDep,
    username: Annotated[str, USERNAME],
    role: Role,
    scope: Annotated[str | None, Query(max_length=64, description="The grant's scope.")] = None,
) -> UserOut:
    info = role_grants.revoke_role(runtime.engine, actor, username, role, scope)
    return UserOut.of(info, _now())


@router.post(
    "/{username}/lock", summary="Lock an account", response_model=UserOut, responses=WRITE_ERRORS
)
def lock_user(
    actor: WritingActor,
    runtime: RuntimeDep,
    username: Annotated[str, USERNAME],
    body: Annotated[LockIn | None, Body()] = None,
) -> UserOut:
    """Locks the account (until ``until``, or until unlocked) and ends its sessions and
    tokens."""
    until = body.until if body is not None else None
    return UserOut.of(accounts.lock_user(runtime.engine, actor, username, until=until), _now())


@router.post(
    "/{username}/unlock",
    summary="Unlock an account",
    response_model=UserOut,
    responses=WRITE_ERRORS,
)
def unlock_user(
    actor: WritingActor, runtime: RuntimeDep, username: Annotated[str, USERNAME]
) -> UserOut:
    return UserOut.of(accounts.unlock_user(runtime.engine, actor, username), _now())


@router.post(
    "/{username}/deactivate",
    summary="Deactivate an account",
    response_model=UserOut,
    responses=WRITE_ERRORS,
)
def deactivate_user(
    actor: WritingActor, runtime: RuntimeDep, username: Annotated[str, USERNAME]
) -> UserOut:
    """The account can no longer sign in or act; its history stays."""
    return UserOut.of(accounts.deactivate_user(runtime.engine, actor, username), _now())


@router.put(
    "/{username}/password",
    summary="Set a password",
    status_code=204,
    responses=WRITE_ERRORS,
)
def set_password(
    actor: WritingActor,
    runtime: RuntimeDep,
    username: Annotated[str, USERNAME],
    body: PasswordIn,
) -> Response:
    """Sets the password (one's own needs ``current_password``) and ends the user's
    sessions."""
    accounts.set_password(
        runtime.engine,
        actor,
        username,
        body.password,
        settings=runtime.settings,
        current_password=body.current_password,
    )
    return Response(status_code=204)


@router.get(
    "/{username}/tokens",
    summary="List an account's API tokens",
    response_model=Page[TokenOut],
    responses=READ_ERRORS,
)
def list_tokens(
    actor: CurrentActor, runtime: RuntimeDep, username: Annotated[str, USERNAME], params: Paging
) -> Page[TokenOut]:
    now = _now()
    found = [TokenOut.of(t, now) for t in tokens.list_tokens(runtime.engine, actor, username)]
    return Page[TokenOut].of(found, params)


@router.post(
    "/{username}/tokens",
    summary="Create an API token",
    status_code=201,
    response_model=NewTokenOut,
    responses=WRITE_ERRORS,
)
def create_token(
    actor: WritingActor, runtime: RuntimeDep, username: Annotated[str, USERNAME], body: TokenIn
) -> NewTokenOut:
    """A bearer token acting as the account; its secret is in this answer only."""
    new = tokens.create_token(
        runtime.engine, actor, username, body.name, days=body.days, settings=runtime.settings
    )
    return NewTokenOut(
        id=new.id, name=new.name, prefix=new.prefix, secret=new.secret, expires_at=new.expires_at
    )


@tokens_router.delete(
    "/{token_id}",
    summary="Revoke an API token",
    response_model=TokenOut,
    responses=WRITE_ERRORS,
)
def revoke_token(
    actor: WritingActor,
    runtime: RuntimeDep,
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> TokenOut:
    """Revokes one's own token, or (administrators) a token of an account in scope."""
    return TokenOut.of(tokens.revoke_token(runtime.engine, actor, token_id), _now())
