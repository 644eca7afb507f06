"""The checks every exemption service makes before it reads or changes a request, and the
translation of the domain's refusals into the error tree.

Order matters for what a refusal reveals: an actor whose roles never allow the operation
is told so before anything is looked up; a request that does not exist and one outside
the actor's scope answer the same sentence (``not_found``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row

from dutystation.domain.access import SYSTEM, Actor, Grant, Operation, could_ever
from dutystation.domain.exemptions import InvalidRequest, NotPermitted, Refused
from dutystation.errors import Conflict, Forbidden, NotFound
from dutystation.errors import InvalidRequest as InvalidRequestError
from dutystation.services.audit import Change
from dutystation.services.authorization import Subject, authorize
from dutystation.services.exemption_records import SUBJECT_TYPE, load_request, not_found


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """The domain's refusals as ``InvalidRequest``, ``Conflict`` and ``Forbidden``."""
    try:
        yield
    except InvalidRequest as exc:
        raise InvalidRequestError(str(exc)) from None
    except Refused as exc:
        raise Conflict(str(exc)) from None
    except NotPermitted as exc:
        raise Forbidden(str(exc)) from None


def may_ever(actor: Actor, operation: Operation) -> None:
    """``Forbidden`` when no role of the actor allows it at all, before anything is read."""
    if actor is not SYSTEM and not could_ever(actor, operation):
        raise Forbidden(f"user {actor.username!r} may not {operation.value}")


def guarded_request(
    conn: Connection, actor: Actor, operation: Operation, request_id: int
) -> tuple[Row[Any], Grant | None]:
    """The request's row, once the actor may do ``operation`` to its employee."""
    may_ever(actor, operation)
    row = load_request(conn, request_id)
    if row is None:
        raise NotFound(not_found(request_id))
    grant = authorize(
        conn,
        actor,
        operation,
        Subject(employee_pk=row.employee_pk),
        not_found=not_found(request_id),
    )
    return row, grant


def restricted(actor: Actor, grants: tuple[Grant, ...]) -> Actor:
    """The same person holding only ``grants``: authorises one role's act alone."""
    return Actor(
        user_id=actor.user_id,
        username=actor.username,
        grants=grants,
        employee_pk=actor.employee_pk,
        channel=actor.channel,
    )


def attempt(operation: Operation, request_id: int | None = None) -> Change:
    """What ``audit.denials_recorded`` writes if the operation is refused."""
    return Change(
        action=operation.value,
        subject_type=SUBJECT_TYPE if request_id is not None else None,
        subject_id=str(request_id) if request_id is not None else None,
    )
