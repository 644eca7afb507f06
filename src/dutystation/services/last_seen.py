"""Recording when a session or an API token was last used, without making reads writes.

Every authenticated request looks its session or token up. The time of use is written at
most once per resolution (``sessions.SEEN_RESOLUTION``, ``tokens.USED_RESOLUTION``), and
not through ``write_transaction``: the writers' lock queues imports and decisions one
behind the other, and a status read must wait neither for one of them nor for other
requests' bookkeeping (at 200 requests/s that queue, with a disk flush per write, held
requests for seconds).

- The row is updated only if its stored time is older than the resolution, so two
  requests at once write it once.
- PostgreSQL: with ``synchronous_commit`` off (the time is bookkeeping: a crash can lose
  at most the last fraction of a second of it) and a short lock timeout.
- SQLite: with a short busy timeout (there, the writers' lock is the database's own).

A write that cannot be made at once is skipped and the next request tries again. A
skipped or lost write only makes a session look idle sooner, never later: the idle
timeout errs towards ending it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, Engine, Table, or_, text, update
from sqlalchemy.exc import OperationalError

from dutystation.store.db import WRITER_WAIT_SECONDS

SEEN_WAIT_MS = 100  # how long the write may wait for a lock before it is skipped


def note_use(
    engine: Engine,
    table: Table,
    row_id: object,
    column: Column[datetime] | Column[datetime | None],
    at: datetime,
    resolution: timedelta,
) -> None:
    """Set ``column`` of the row ``row_id`` to ``at`` unless it was set less than
    ``resolution`` before, if that can be done at once."""
    statement = (
        update(table)
        .where(table.c.id == row_id, or_(column.is_(None), column <= at - resolution))
        .values({column.name: at})
    )
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        try:
            if postgres:
                conn.execute(_PG_SETTINGS, {"wait": f"{SEEN_WAIT_MS}ms"})
            else:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SEEN_WAIT_MS}")
            conn.execute(statement)
            conn.commit()
        except OperationalError:
            conn.rollback()
        finally:
            if not postgres:  # the pooled connection's own setting again
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(WRITER_WAIT_SECONDS * 1000)}")
                conn.rollback()


# Both for this transaction only: no flush to disk at its commit, no long wait for a lock.
_PG_SETTINGS = text(
    "SELECT set_config('synchronous_commit', 'off', true), set_config('lock_timeout', :wait, true)"
)
