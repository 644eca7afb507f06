"""Bulk inserts inside an open SQLAlchemy transaction, straight through the driver.

A first roster import writes about a million rows (employees, history versions, badges,
homes). Going through the DBAPI connection underneath SQLAlchemy's (same transaction)
skips per-row parameter processing and never materialises the rows as a list:

* PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3), ~10x faster than multi-row INSERTs;
* SQLite: one prepared INSERT run by ``executemany`` over a generator.

Column and table names come from our own schema, never from input files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, Date, Table, delete, insert

CHUNK = 5_000


def _iso(value: date | None) -> str | None:
    # The text SQLAlchemy's SQLite Date type stores; sqlite3's own date adapter is
    # deprecated (Python 3.12) and would warn.
    return None if value is None else value.isoformat()


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (value tuples in ``columns`` order) into ``table``."""
    driver: Any = conn.connection.driver_connection
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        dates = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Date)]
        statement_text = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        convert: Callable[[Sequence[Any]], Sequence[Any]] = _date_converter(dates)
        cursor = driver.cursor()
        try:
            cursor.executemany(statement_text, map(convert, rows))
        finally:
            cursor.close()
    else:  # any other SQLAlchemy backend: portable, slower
        batch = [dict(zip(columns, row, strict=True)) for row in rows]
        if batch:
            conn.execute(insert(table), batch)


def _date_converter(positions: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if not positions:
        return lambda row: row

    def convert(row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for i in positions:
            values[i] = _iso(values[i])
        return values

    return convert


def delete_ids(conn: Connection, table: Table, ids: Sequence[int]) -> None:
    for chunk in chunks(ids):
        conn.execute(delete(table).where(table.c.id.in_(chunk)))


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
