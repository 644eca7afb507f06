"""The evaluation's DuckDB statements as Spark SQL: SQLGlot, plus the hand translations.

The evaluation is written once, as DuckDB SQL (``analytics/evaluation.py``). DuckDB runs
that text as it is; for Spark each statement is parsed with SQLGlot (``read="duckdb"``),
a few nodes are rewritten here, and the tree is written out with ``write="spark"``.
SQLGlot alone already turns ``strftime`` into ``date_format``, ``datediff('day', a, b)``
into ``datediff(DAY, a, b)``, ``<<``/``>>`` into ``shiftleft``/``shiftright``,
``* EXCLUDE`` into ``* EXCEPT``, ``string_agg(... ORDER BY)`` into ``listagg ... WITHIN
GROUP``, ``QUALIFY`` into a filtered subquery and DuckDB's null-skipping ``concat`` into
``concat(coalesce(...))``. The rewrites below cover what it gets wrong or cannot know:

- ``isodow(d)``: SQLGlot writes ``dayofweek(d) % 7 + 1``, which is Monday = 3; Spark's
  ``weekday(d) + 1`` is the ISO number (Monday = 1).
- ``printf('%g', x)``: Java's ``%g`` keeps trailing zeros (``40.0000``) where DuckDB's
  (and Python's ``:g``) strips them (``40``); the argument is formatted with ``%.6g`` and
  stripped with two ``regexp_replace``. ``printf('%.1f', x)``: Java rounds half up, DuckDB
  half to even (66.25 is ``66.2``): the argument goes through ``bround`` first.
- ``CAST(x AS <enum type>)``: ``CREATE TYPE ... AS ENUM`` has no Spark counterpart; the
  enum types are plain strings there (the caller dictionary encodes the result).
- ``read_parquet([...])``: the same Parquet files, registered as a Spark view.
- ``UPDATE t SET ... FROM (...) AS f WHERE ...``: Spark views cannot be updated; it
  becomes ``SELECT`` of every column of ``t`` left-joined to ``f``, which replaces ``t``.

The badge roll-up's statements (``analytics/presence.py``, ``services/rollup_sql.py``) need
a few more:

- ``epoch_us(t)`` is ``unix_micros(t)``; ``timezone(zone, make_timestamptz(us))`` (an
  instant as office-local wall time) is ``from_utc_timestamp(timestamp_micros(us), zone)``
  cast to ``TIMESTAMP_NTZ``; ``timezone(zone, CAST(d AS TIMESTAMP))`` (a local wall time as
  an instant) is ``to_utc_timestamp``. DuckDB's ``timezone`` goes either way by its
  argument's type, which SQLGlot cannot see: any other argument is refused.
- ``list(x ORDER BY x)``: Spark's ``collect_list`` takes no order; ``array_sort`` of it.
  ``list(v ORDER BY k1 DESC, k2)``: the values collected with their keys, sorted by a
  comparator key by key, then taken out (nulls never sort first: that is refused).
  ``list[a:b]`` (1-based, both ends included) is ``slice(list, a, b - a + 1)``.
- ``list_reduce(xs, lambda, start)`` is ``aggregate(xs, start, lambda)``, and ``acc[-1]``
  (DuckDB counts from the end) is ``element_at(acc, -1)``.

The reports' roll-ups (``report_query``, for ``services/reporting/spark_rows.py``) are
read with the types of the relations they query, which settles what SQLGlot cannot see:

- ``date - date`` (DuckDB: whole days) is ``datediff(a, b)``; Spark's is an interval.
- ``len(list)`` is ``size(list)``; Spark's ``length`` takes strings only.
- ``round(x, n)`` of a DOUBLE as a column of the outer SELECT is taken off and done by the
  caller (``round_like_duckdb``): DuckDB rounds the double's exact binary value half away
  from zero (0.85995 is 0.8599), Spark its shortest decimal spelling (0.86).

``CREATE TYPE``, ``DROP TYPE`` and ``SET`` (DuckDB's optimizer switches) are skipped by
the caller; ``TEMP`` tables become checkpointed temporary views (``spark_engine``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from dutystation.analytics.evaluation_setup import CATEGORIES

ENUM_TYPES = frozenset(CATEGORIES)
# A printf conversion: %% or %[flags][width][.precision]letter.
_CONVERSION = re.compile(r"%(%|[-#+ 0,(]*\d*(?:\.\d+)?[a-zA-Z])")
# Python's ``:g`` from Java's ``%.6g``: drop the zeros ending the fraction, then a bare dot.
_PYTHON_G = (
    "regexp_replace(regexp_replace(printf('%.6g', x), '([.][0-9]*?)0+(e|$)', '$1$2'), "
    "'[.](e|$)', '$1')"
)


def statements(sql: str) -> list[exp.Expr]:
    """The statements of a DuckDB SQL text, parsed."""
    # SQLGlot warns that it keeps CREATE TYPE as a raw command: skipped anyway.
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    finally:
        quiet.setLevel(level)


def is_skipped(statement: exp.Expr) -> bool:
    """DuckDB statements with no Spark meaning: enum types and optimizer settings."""
    if isinstance(statement, exp.Set):
        return True
    if isinstance(statement, exp.Command):
        return str(statement.expression).lstrip().upper().startswith("TYPE ")
    return False


def _python_g(argument: exp.Expr) -> exp.Expr:
    template = sqlglot.parse_one(_PYTHON_G, read="spark")
    for column in template.find_all(exp.Column):
        if column.name == "x":
            column.replace(argument.copy())
    return template


def _printf(node: exp.Anonymous) -> exp.Expr:
    pattern, *arguments = node.expressions
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return node
    position = 0
    for conversion in _CONVERSION.finditer(pattern.this):
        if conversion.group(1) == "%":
            continue
        if conversion.group(1) == "g":
            arguments[position] = _python_g(arguments[position])
        elif conversion.group(1).startswith(".") and conversion.group(1).endswith("f"):
            # Java rounds half up (66.25 -> 66.3), DuckDB half to even (66.2): bround first.
            digits = exp.Literal.number(conversion.group(1)[1:-1])
            arguments[position] = exp.Anonymous(
                this="BROUND", expressions=[arguments[position], digits]
            )
        position += 1
    text = pattern.this.replace("%g", "%s")
    return exp.Anonymous(this="PRINTF", expressions=[exp.Literal.string(text), *arguments])


def _call(name: str, *arguments: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(arguments))


def _timezone(zone: exp.Expr, value: exp.Expr) -> exp.Expr:
    """DuckDB's ``timezone(zone, value)`` for the two argument shapes the SQL uses."""
    if isinstance(value, exp.Anonymous) and value.name.upper() == "MAKE_TIMESTAMPTZ":
        local = _call("FROM_UTC_TIMESTAMP", _call("TIMESTAMP_MICROS", *value.expressions), zone)
        return exp.cast(local, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    if isinstance(value, exp.Cast) and value.to.this == exp.DataType.Type.TIMESTAMPNTZ:
        return _call("TO_UTC_TIMESTAMP", value, zone)
    raise ValueError(f"no Spark translation for timezone(zone, {value.sql('duckdb')})")


def _sorted_list(node: exp.ArrayAgg, inner: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """DuckDB's ``list(v ORDER BY k1 [DESC], k2 ...)``. ``collect_list`` takes no order:
    sorted by its own value it is ``array_sort``; otherwise each value is collected with
    its keys and the array sorted by a comparator, key by key, then the values taken."""
    order = node.this
    keys = order.expressions
    if len(keys) == 1 and not keys[0].args.get("desc") and keys[0].this == order.this:
        return _call("ARRAY_SORT", exp.ArrayAgg(this=inner(order.this)))
    if any(k.args.get("nulls_first") for k in keys):
        raise ValueError(f"no Spark translation for {node.sql('duckdb')} (NULLS FIRST)")
    fields = ", ".join(f"'k{i}', {spark_text(inner(k.this))}" for i, k in enumerate(keys))
    cases = " ".join(
        f"WHEN l.k{i} > r.k{i} THEN {-1 if k.args.get('desc') else 1} "
        f"WHEN l.k{i} < r.k{i} THEN {1 if k.args.get('desc') else -1}"
        for i, k in enumerate(keys)
    )
    collected = f"COLLECT_LIST(NAMED_STRUCT({fields}, 'v', {spark_text(inner(order.this))}))"
    text = f"TRANSFORM(ARRAY_SORT({collected}, (l, r) -> CASE {cases} ELSE 0 END), x -> x.v)"
    return sqlglot.parse_one(text, read="spark")


def rewrite(statement: exp.Expr, parquet_view: Callable[[Sequence[str]], str]) -> exp.Expr:
    """``statement`` with the node rewrites of the module docstring (all but UPDATE).
    ``parquet_view(paths)`` names a Spark view over those Parquet files."""

    def inner(node: exp.Expr) -> exp.Expr:
        # A replaced node's children are not visited by ``transform``: rewritten here.
        return node.copy().transform(visit)

    def visit(node: exp.Expr) -> exp.Expr:
        name = node.name.upper() if isinstance(node, exp.Anonymous) else ""
        if name == "EPOCH_US":
            return _call("UNIX_MICROS", *map(inner, node.expressions))
        if name == "TIMEZONE":
            return _timezone(*map(inner, node.expressions))
        if name == "LIST_REDUCE":
            listed_values, merge, start = map(inner, node.expressions)
            return _call("AGGREGATE", listed_values, start, merge)
        if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
            return _sorted_list(node, inner)
        if (
            isinstance(node, exp.Bracket)
            and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Neg)
            and isinstance(node.expressions[0].this, exp.Literal)
        ):
            # Parsed with DuckDB's offset (1-based: -1 became -2); counted from the end.
            back = int(node.expressions[0].this.this) - 1
            return _call("ELEMENT_AT", inner(node.this), exp.Literal.number(-back))
        if (
            isinstance(node, exp.Bracket)
            and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Slice)
        ):
            # DuckDB's list[a:b] (1-based, both ends in) is Spark's slice(list, a, length).
            first, last = node.expressions[0].this, node.expressions[0].expression
            if not (isinstance(first, exp.Literal) and isinstance(last, exp.Literal)):
                raise ValueError(f"no Spark translation for {node.sql('duckdb')}")
            length = int(last.this) - int(first.this) + 1
            return _call("SLICE", inner(node.this), first.copy(), exp.Literal.number(length))
        if isinstance(node, exp.DayOfWeekIso):
            weekday = exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()])
            return exp.paren(exp.Add(this=weekday, expression=exp.Literal.number(1)))
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == "PRINTF":
            return _printf(node)
        if (
            isinstance(node, exp.DataType)
            and node.this == exp.DataType.Type.USERDEFINED
            and str(node.args.get("kind")) in ENUM_TYPES
        ):
            return exp.DataType.build("text")
        if isinstance(node, exp.ReadParquet):
            listed = node.expressions[0] if node.expressions else node.this
            items = listed.expressions if isinstance(listed, exp.Array) else [listed]
            view = parquet_view([str(item.this) for item in items])
            return (
                exp.to_identifier(view)
                if isinstance(node.parent, exp.Table)
                else exp.to_table(view)
            )
        return node

    return statement.transform(visit)


def spark_text(expression: exp.Expr) -> str:
    return expression.sql(dialect="spark")


def update_as_select(update: exp.Update, columns: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """``(table, SELECT)``: the rows of ``table`` after ``update`` (already rewritten).
    ``columns``: the table's (name, Spark type) in order. Rows the source does not match
    keep their values, as with UPDATE."""
    target = update.this.name
    changes = {eq.this.name: eq.expression for eq in update.expressions}
    source = update.args["from_"].this
    alias = source.alias
    inner = spark_text(source.this if isinstance(source, exp.Subquery) else source)
    hit = "_updated_by_source"
    listed = []
    for name, spark_type in columns:
        if name in changes:
            value = spark_text(changes[name])
            listed.append(
                f"CAST(CASE WHEN {alias}.{hit} THEN {value} ELSE {target}.{name} END "
                f"AS {spark_type}) AS {name}"
            )
        else:
            listed.append(f"{target}.{name}")
    condition = spark_text(update.args["where"].this)
    return target, (
        f"SELECT {', '.join(listed)} FROM {target} "
        f"LEFT JOIN (SELECT *, TRUE AS {hit} FROM ({inner}) AS _source) AS {alias} "
        f"ON {condition}"
    )


def _typed(node: exp.Expr, kind: object) -> bool:
    return node.type is not None and node.type.this == kind


def report_query(
    sql: str, relations: Mapping[str, Mapping[str, str]]
) -> tuple[str, dict[str, int]]:
    """A report's DuckDB query as Spark SQL, and the outer columns whose rounding the
    caller does (name: digits). ``relations``: each relation's columns and Spark types."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    schema = MappingSchema({k: dict(v) for k, v in relations.items()}, dialect="spark")
    (statement,) = statements(sql)
    statement = qualify(statement, schema=schema, dialect="duckdb", quote_identifiers=False)
    statement = annotate_types(statement, schema=schema, dialect="duckdb")

    def visit(node: exp.Expr) -> exp.Expr:
        date = exp.DataType.Type.DATE
        if isinstance(node, exp.Sub) and _typed(node.this, date) and _typed(node.expression, date):
            return _call("DATEDIFF", node.this.copy(), node.expression.copy())
        if isinstance(node, exp.Length) and isinstance(node.this, exp.Split):
            return _call("SIZE", node.this.copy())
        return node

    statement = statement.transform(visit)
    rounded: dict[str, int] = {}
    if isinstance(statement, exp.Select):
        for column in statement.expressions:
            inner, digits = column.this, None
            if isinstance(column, exp.Alias) and isinstance(inner, exp.Round):
                digits = inner.args.get("decimals")
            if (
                isinstance(digits, exp.Literal)
                and digits.is_int
                and int(digits.this) >= 0
                and _typed(inner.this, exp.DataType.Type.DOUBLE)
            ):
                rounded[column.alias] = int(digits.this)
                inner.replace(inner.this)
    statement = rewrite(statement, lambda paths: "")
    return spark_text(statement), rounded


def round_like_duckdb(values: Sequence[Any], digits: int) -> list[Any]:
    """DuckDB's ``round(double, digits)``: the exact binary value, half away from zero."""
    step = Decimal(1).scaleb(-digits)
    return [
        v
        if v is None or v != v or v in (float("inf"), float("-inf"))
        else float(Decimal(v).quantize(step, ROUND_HALF_UP))
        for v in values
    ]
