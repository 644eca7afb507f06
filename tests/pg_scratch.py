"""PostgreSQL test helpers, importable by test modules (a module named ``conftest`` is
ambiguous once several test folders have one)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

PG_ENV = "DUTYSTATION_TEST_DATABASE_URL"
SKIP_REASON = "PostgreSQL tests need DUTYSTATION_TEST_DATABASE_URL"


def _postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("DUTYSTATION_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{SKIP_REASON} (DUTYSTATION_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(SKIP_REASON)
    return url


def _maintenance_engine(url: str) -> Engine:
    admin = make_url(url).set(database="postgres")
    if admin.drivername in ("postgresql", "postgres"):
        admin = admin.set(drivername="postgresql+psycopg")
    return create_engine(admin, isolation_level="AUTOCOMMIT")
