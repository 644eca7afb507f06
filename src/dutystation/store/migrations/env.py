"""Alembic environment. ``dutystation.store.db.migrate`` passes an open connection in
``config.attributes["connection"]``; run from the alembic CLI (developers creating a new
revision, see alembic.ini at the repo root) it connects to the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dutystation.store.schema import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most constraints; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from dutystation.settings import load_settings
    from dutystation.store.db import make_engine

    url = config.get_main_option("sqlalchemy.url") or load_settings().resolved_database_url
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
main()
