"""Engines, migrations and write transactions for the operational database.

SQLite (the embedded default) runs in WAL mode so readers never wait for an import, with
foreign keys on and a busy timeout. PostgreSQL goes through psycopg 3. Both get the same
write discipline: ``write_transaction`` serialises writers (``BEGIN IMMEDIATE`` on SQLite,
a transaction-scoped advisory lock on PostgreSQL) so two imports of the same file cannot
interleave; the second waits, then sees the first one's rows and adds nothing.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dutystation.errors import StoreBusy, StoreError
from dutystation.store.faults import fault_of

MIGRATIONS = Path(__file__).parent / "migrations"
# How long a writer waits for another import to finish before giving up with "busy".
WRITER_WAIT_SECONDS = 30
# Any constant works; it only has to be the same for every dutystation writer.
PG_WRITER_LOCK = 0x6475747973746E  # "dutystn"
_WRITE = "dutystation_write"
# Connections a process keeps to a PostgreSQL server, opened as needed. A web worker's
# requests run on up to 40 threads; with SQLAlchemy's default (5 kept, 10 more opened and
# closed again) a burst opened and closed hundreds of connections a minute, each a server
# process to start (milliseconds of CPU) when the machine was busiest. A request that
# finds all of them in use waits for one. max_connections (100 by default) must allow
# this many per server worker, plus the command line's.
PG_POOL_SIZE = 20


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; ``postgresql://`` is taken to mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    # hide_parameters: bound values are row contents, never in an error's text or a log
    # (RELIABILITY C9; tests/api/test_fail_closed.py).
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, hide_parameters=True)
        _sqlite_setup(engine)
        return engine
    engine = create_engine(
        parsed, echo=echo, hide_parameters=True, pool_size=PG_POOL_SIZE, max_overflow=0
    )
    _pg_setup(engine)
    return engine


def _pg_setup(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # What ``pool_pre_ping`` finds, without its round trip on every checkout (two per
        # request): a connection the server has closed (a restart, a terminated backend,
        # an idle timeout) has the server's goodbye or end-of-file waiting on its socket.
        # The pool then replaces it, and the request goes on with a fresh one.
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the connection is closed")
        waiting = select.poll()
        waiting.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR)
        if waiting.poll(0):
            raise DisconnectionError("the server closed the connection")


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would BEGIN lazily,
        # only before the first write); SQLAlchemy emits BEGIN below instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITER_WAIT_SECONDS * 1000)}")
        # FULL: a committed import survives power loss too, not just a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        # 64 MB page cache (default 2 MB): index builds of a 250k-row import stay in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN: an import that read state under a
        # DEFERRED transaction could otherwise fail at its first write ("database is
        # locked") after another writer committed in between.
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One serialised read-write transaction: commits on success, rolls back on any
    exception. Database failures surface as ``StoreError`` without SQL or parameters."""
    with translate_errors(), engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Bounded wait, like SQLite's busy timeout, then back to the server default.
                wait = f"{int(WRITER_WAIT_SECONDS * 1000)}ms"
                conn.execute(text("SELECT set_config('lock_timeout', :w, true)"), {"w": wait})
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITER_LOCK})
                conn.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
            yield conn


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only. On PostgreSQL it is in autocommit: each query sees
    what was committed before it began, as it would in a READ COMMITTED transaction, and
    the two round trips of BEGIN and ROLLBACK that would add nothing are saved (a status
    request makes two such reads). Never write through it: nothing would roll back."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Database errors become one sentence. Their text is not reused: it would carry SQL
    and bound parameters, i.e. row contents (RELIABILITY C9)."""
    try:
        yield
    except SQLAlchemyError as exc:
        # A full disk and a damaged file are not "cannot be used, check the URL": each
        # has its own sentence and answer (store/faults.py).
        fault = fault_of(exc)
        if fault is not None:
            raise fault from None
        raise _translated(exc) from None


def _translated(exc: SQLAlchemyError) -> StoreError:
    if isinstance(exc, OperationalError):
        text_ = str(exc.orig).lower()
        if any(word in text_ for word in ("locked", "busy", "lock timeout")):
            return StoreBusy("the database is busy with another write; try again in a moment")
        return StoreError(
            f"the database cannot be used ({type(exc.orig).__name__}); check "
            "DUTYSTATION_DATABASE_URL and that the server is reachable"
        )
    cause = type(getattr(exc, "orig", None) or exc).__name__
    return StoreError(f"the database refused the change ({cause}); nothing was stored")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (Alembic upgrade; no alembic.ini needed)."""
    config = _alembic_config()
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest migrations shipped with this code."""
    with translate_errors():
        return schema_revisions(engine) == head_revisions()
