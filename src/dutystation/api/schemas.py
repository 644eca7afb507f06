"""Response and request models shared by several routers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from dutystation.domain.access import Actor, Grant, Role

# What a username may look like (services.accounts.USERNAME; letters in any case, since
# usernames are compared in lower case).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def _day_text(value: Any) -> Any:
    # Pydantic would also take a number (seconds since 1970) for a day; the API takes
    # what its schema says and nothing else.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        return value
    raise ValueError("give a day as YYYY-MM-DD")


def _instant_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _INSTANT.fullmatch(value)):
        return value
    raise ValueError("give an instant as ISO 8601 with an offset (2026-03-02T09:00:00Z)")


# A day (query parameters and bodies): YYYY-MM-DD only.
IsoDay = Annotated[date, BeforeValidator(_day_text)]
# An instant with its UTC offset: ISO 8601 text only.
IsoInstant = Annotated[AwareDatetime, BeforeValidator(_instant_text)]


class StrictBody(BaseModel):
    """A request body: a field the API does not know is refused (422), never ignored, so
    nobody can believe they set ``role`` or ``status`` through a form that has no such
    field (RELIABILITY T03)."""

    model_config = ConfigDict(extra="forbid")


class GrantOut(BaseModel):
    role: Role
    scope: str | None = Field(
        None, description="Org-unit code of the subtree; null: the whole organisation."
    )

    @classmethod
    def of(cls, grant: Grant) -> GrantOut:
        return cls(role=grant.role, scope=grant.scope)


class Me(BaseModel):
    """Who the request is authenticated as."""

    username: str
    roles: list[GrantOut]
    employee_linked: bool = Field(description="Whether the account is linked to an employee.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "jdoe",
                    "roles": [{"role": "employee", "scope": None}],
                    "employee_linked": True,
                }
            ]
        }
    )

    @classmethod
    def of(cls, actor: Actor) -> Me:
        return cls(
            username=actor.username,
            roles=[GrantOut.of(g) for g in actor.grants],
            employee_linked=actor.employee_pk is not None,
        )
