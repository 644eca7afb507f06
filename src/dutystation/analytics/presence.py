"""Daily presence from badge events in DuckDB: the fast path of ``domain/presence.py``.

``domain/presence.py`` is the specification; ``presence_sql`` reproduces each of its rules
with window functions over all employees at once (no Python per event), and
``tests/unit/test_presence_sql*.py`` proves with Hypothesis that both give the same
first IN, last OUT, hours, taps and presence for every convention, direction mode and
debounce window. The rule numbers below are those of the specification's docstring.

Inputs are two relations named by the caller (anything usable after ``FROM``):

- badges: ``employee_id, ts_utc (TIMESTAMPTZ), site_id, direction ('IN'|'OUT'|NULL),
  local_date`` (the event store's columns; ``local_date`` only prunes the scan),
- sites: ``site_id, timezone`` (IANA zone of each office).

The result has one row per employee and office-local day with a kept tap:
``employee_id, date, first_in, last_out (office-local TIMESTAMP), hours_on_site (DOUBLE),
taps (BIGINT), site_id`` (the site of the day's first kept tap).

Times are compared as UTC microseconds (``us``), which is what the specification's aware
datetimes do: a DST fall-back hour is counted once, spring-forward's missing hour not at
all.
"""

from __future__ import annotations

from datetime import date, timedelta

from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings

# The order of rule 1: instant, then IN before OUT before no direction, then site. Kept taps
# have distinct instants (rule 3 always collapses equal ones), so later windows order by
# ``us`` alone.
_TAP_ORDER = "us, direction IS NULL, direction, site_id NULLS FIRST"


def micros(delta: timedelta) -> int:
    """Whole microseconds, rounded as ``timedelta`` rounds: the specification compares
    ``timedelta`` values, so the SQL must use the very same thresholds."""
    return delta // timedelta(microseconds=1)


def _hours(micros_expr: str) -> str:
    # Same float operations as timedelta.total_seconds() / 3600 in the specification:
    # an exact integer turned into seconds, then hours.
    return f"(({micros_expr})::DOUBLE / 1000000 / 3600)"


def _kept_taps(badges: str, sites: str, window_us: int, scan: tuple[date, date] | None) -> str:
    """CTEs ending in ``kept``: the taps debounce keeps (rules 1-3), with local time."""
    pruning = (
        ""
        if scan is None
        else f" AND b.local_date BETWEEN DATE '{scan[0].isoformat()}' "
        f"AND DATE '{scan[1].isoformat()}'"
    )
    return f"""
taps AS (
    SELECT b.employee_id, b.site_id, b.direction,
           epoch_us(b.ts_utc) AS us,
           -- an office missing from the reference data (deleted since the import) is
           -- read in UTC rather than dropping its employees' evidence
           coalesce(s.timezone, 'UTC') AS tz,
           timezone(coalesce(s.timezone, 'UTC'), b.ts_utc) AS local_ts
    FROM {badges} AS b LEFT JOIN {sites} AS s ON s.site_id = b.site_id
    WHERE b.employee_id IS NOT NULL{pruning}
),
gaps AS (
    SELECT *, us - lag(us) OVER (PARTITION BY employee_id ORDER BY {_TAP_ORDER}) AS gap_us
    FROM taps
),
clustered AS (
    -- A cluster is a run of taps each at most the window after the previous one. Its first
    -- tap is kept; taps within the window of it are not. Only a cluster longer than the
    -- window needs the chain walked (rule 3: the window runs from the kept tap).
    SELECT *, coalesce(gap_us > {window_us}, true) AS opens,
           max(CASE WHEN coalesce(gap_us > {window_us}, true) THEN us END) OVER (
               PARTITION BY employee_id ORDER BY {_TAP_ORDER}
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS head_us
    FROM gaps
),
late AS (
    -- Taps further than the window from their cluster's first tap; gap_us > 0 keeps only
    -- the first tap at an instant, the one rule 1's order would keep.
    SELECT employee_id, head_us, list(us ORDER BY us) AS candidates
    FROM clustered
    WHERE NOT opens AND gap_us > 0 AND us - head_us > {window_us}
    GROUP BY employee_id, head_us
),
walked AS (
    -- The sequential rule as a fold over each long cluster (rare: re-reads are seconds
    -- apart, far shorter than the window, and need no walk).
    SELECT employee_id, unnest(list_reduce(
        candidates,
        lambda acc, x: CASE WHEN x - acc[-1] > {window_us} THEN list_append(acc, x) ELSE acc END,
        [head_us]
    )) AS us
    FROM late
),
kept AS (
    SELECT c.employee_id, c.site_id, c.direction, c.us, c.tz, c.local_ts,
           CAST(c.local_ts AS DATE) AS day
    FROM clustered AS c LEFT JOIN walked AS w ON w.employee_id = c.employee_id AND w.us = c.us
    WHERE c.opens OR (w.us IS NOT NULL AND c.us - c.head_us > {window_us} AND c.gap_us > 0)
)"""


def _directed(mode: DirectionMode) -> str:
    """CTE ``directed``: kept taps with the direction rule 4 gives them (``dir``)."""
    if mode is DirectionMode.READER:
        return "directed AS (SELECT *, direction AS dir FROM kept)"
    return """directed AS (
    SELECT *, CASE WHEN row_number() OVER (PARTITION BY employee_id, day ORDER BY us) % 2 = 1
                   THEN 'IN' ELSE 'OUT' END AS dir
    FROM kept
)"""


def _pairs(settings: PresenceSettings) -> str:
    """CTEs ending in ``pair_days``: per employee and day, hours of valid pairs and the
    midnights a pair carries in from / out to (rules 5 and 6)."""
    limit_us = micros(timedelta(hours=settings.max_pair_hours))
    # Alternating mode: the open IN is dropped when the day changes (each day stands alone).
    same_day = " AND prev_day = day" if settings.direction_mode is DirectionMode.ALTERNATING else ""
    return f"""
sequenced AS (
    -- Only directed taps open or close pairs; the open IN is the previous directed tap
    -- when that is an IN (a second IN replaced any earlier one; an OUT closed it).
    SELECT employee_id, us, day, tz, dir,
           lag(dir) OVER seq AS prev_dir, lag(us) OVER seq AS prev_us,
           lag(day) OVER seq AS prev_day
    FROM directed
    WHERE dir IS NOT NULL
    WINDOW seq AS (PARTITION BY employee_id ORDER BY us)
),
pairs AS (
    SELECT employee_id, prev_us AS in_us, prev_day AS in_day, us AS out_us, day AS out_day,
           tz AS out_tz
    FROM sequenced
    WHERE dir = 'OUT' AND prev_dir = 'IN' AND us - prev_us <= {limit_us}{same_day}
),
cut AS (
    -- Rule 6: a pair over midnight is cut at the OUT day's local midnight.
    SELECT *, epoch_us(timezone(out_tz, CAST(out_day AS TIMESTAMP))) AS cut_us
    FROM pairs
    WHERE in_day <> out_day
),
pieces AS (
    SELECT employee_id, in_day AS day, out_us - in_us AS piece_us,
           NULL::BIGINT AS carried_in_us, NULL::BIGINT AS carried_out_us, out_us AS ord
    FROM pairs WHERE in_day = out_day
    UNION ALL
    SELECT employee_id, in_day, greatest(0, cut_us - in_us), NULL, cut_us, out_us FROM cut
    UNION ALL
    SELECT employee_id, out_day, greatest(0, out_us - cut_us), cut_us, NULL, out_us FROM cut
),
pair_days AS (
    SELECT employee_id, day, sum({_hours("piece_us")}) AS pair_hours,
           arg_max(carried_in_us, ord) FILTER (WHERE carried_in_us IS NOT NULL)
               AS carried_in_us,
           arg_max(carried_out_us, ord) FILTER (WHERE carried_out_us IS NOT NULL)
               AS carried_out_us
    FROM pieces
    GROUP BY employee_id, day
)"""


def _hours_expr(convention: HoursConvention) -> str:
    if convention is HoursConvention.PAIRS:
        return "coalesce(p.pair_hours, 0.0)"
    # Rule 7: entry is midnight when a pair carries in, else the first IN; exit likewise.
    entry = "coalesce(p.carried_in_us, d.first_in_us)"
    exit_ = "coalesce(p.carried_out_us, d.last_out_us)"
    return (
        f"CASE WHEN {entry} IS NULL OR {exit_} IS NULL THEN 0.0 "
        f"ELSE {_hours(f'greatest(0, {exit_} - {entry})')} END"
    )


def presence_sql(
    badges: str,
    sites: str,
    settings: PresenceSettings,
    days: tuple[date, date] | None = None,
) -> str:
    """A DuckDB query (wrapped in parentheses, usable after ``FROM``) of daily presence for
    the office-local days ``days`` (inclusive; None: every day with a tap).

    The scan reaches one day beyond each end so a pair over midnight at either end is
    counted (rule 6) and debounce sees the taps before the first day: results equal the
    specification's over the whole history unless one cluster of taps, each within the
    window of the previous, runs for more than a day (a stuck reader)."""
    scan = None if days is None else (days[0] - timedelta(days=1), days[1] + timedelta(days=1))
    window_us = micros(timedelta(seconds=settings.debounce_seconds))
    keep = (
        ""
        if days is None
        else f"WHERE d.day BETWEEN DATE '{days[0].isoformat()}' AND DATE '{days[1].isoformat()}'"
    )
    return f"""(
WITH {_kept_taps(badges, sites, window_us, scan)},
{_directed(settings.direction_mode)},
days AS (
    SELECT employee_id, day, count(*) AS taps,
           min(us) FILTER (WHERE dir = 'IN') AS first_in_us,
           arg_min(local_ts, us) FILTER (WHERE dir = 'IN') AS first_in,
           max(us) FILTER (WHERE dir = 'OUT') AS last_out_us,
           arg_max(local_ts, us) FILTER (WHERE dir = 'OUT') AS last_out,
           arg_min(site_id, us) AS site_id
    FROM directed
    GROUP BY employee_id, day
),
{_pairs(settings)}
SELECT d.employee_id, d.day AS date, d.first_in, d.last_out,
       {_hours_expr(settings.hours_convention)} AS hours_on_site,
       d.taps, d.site_id
FROM days AS d LEFT JOIN pair_days AS p ON p.employee_id = d.employee_id AND p.day = d.day
{keep}
)"""
