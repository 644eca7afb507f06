"""Pooled PostgreSQL connections: one the server has closed (a restart, a terminated
backend) is replaced when it is checked out, so the next request works, without a
round trip to test every connection first."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from dutystation.store.db import make_engine
from pg_scratch import _maintenance_engine


@pytest.mark.postgres
def test_a_connection_the_server_closed_is_replaced_at_checkout(scratch_postgres: str) -> None:
    engine = make_engine(scratch_postgres)
    try:
        with engine.connect() as conn:
            first = conn.scalar(text("SELECT pg_backend_pid()"))
        admin = _maintenance_engine(scratch_postgres)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.dispose()
        time.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) not in (None, first)
        assert engine.pool.checkedin() == 1  # the dead one was dropped, not kept
    finally:
        engine.dispose()
