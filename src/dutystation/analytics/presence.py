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

Debounce (rule 3) is sequential within each office-local day: whether a tap is kept
depends on the last kept tap of its day, not on its neighbour. Window functions find the
clusters of taps each within the window of the previous one; a cluster no longer than the
window keeps its first tap, and only the rare longer ones (a reader firing every few
seconds for minutes) are walked by a fold over the cluster's list of instants. A day's
first tap is always kept, so which days have a kept tap is which days have a tap: what
the evaluation reads from raw events without any of this.

DuckDB dialect; for Spark the same plan maps to ``min_by``/``max_by`` (``arg_min``/
``arg_max``), ``aggregate`` (``list_reduce``), ``unix_micros`` (``epoch_us``),
``from_utc_timestamp`` (``timezone``) and ``explode`` (``unnest``).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from datetime import date, timedelta

from dutystation.domain.calendar import days_between
from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings

# The order of rule 1: instant, then IN before OUT before no direction, then site. A day's
# kept taps have distinct instants (rule 3 collapses equal ones), but two offices' clocks can
# put taps at one instant on two local days, so windows across days order by all of it.
_TAP_ORDER = "us, dir_rank, site_id NULLS FIRST"


def micros(delta: timedelta) -> int:
    """Whole microseconds, rounded as ``timedelta`` rounds: the specification compares
    ``timedelta`` values, so the SQL must use the very same thresholds."""
    return delta // timedelta(microseconds=1)


def _hours(micros_expr: str) -> str:
    # Same float operations as timedelta.total_seconds() / 3600 in the specification:
    # an exact integer turned into seconds, then hours.
    return f"(({micros_expr})::DOUBLE / 1000000 / 3600)"


def sql_date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def in_scope(scope: str | None, employee: str, day: str) -> str:
    """A condition: the employee's assignment in force on ``day`` is one of ``scope``'s rows
    (``employee_id, valid_from, valid_to`` exclusive or NULL: an org unit's members as of
    each day, DESIGN.md §5). Always true without a scope."""
    if scope is None:
        return "true"
    return (
        f"EXISTS (SELECT 1 FROM {scope} AS v WHERE v.employee_id = {employee} "
        f"AND v.valid_from <= {day} AND (v.valid_to IS NULL OR v.valid_to > {day}))"
    )


def _kept_taps(
    badges: str,
    window_us: int,
    scan: tuple[date, date] | None,
    scope: str | None,
) -> str:
    """CTEs ending in ``kept``: the taps debounce keeps (rules 1-3)."""
    pruning = (
        ""
        if scan is None
        else f" AND b.local_date BETWEEN {sql_date(scan[0])} AND {sql_date(scan[1])}"
    )
    # Only employees ever in scope need their taps paired; which of their days count is
    # decided per day at the end.
    scoped = "" if scope is None else f" AND b.employee_id IN (SELECT employee_id FROM {scope})"
    return f"""
taps AS (
    -- The fewest, narrowest columns through the sorts: local times are computed for the
    -- two taps per day that are shown, after the windows, not for every event.
    SELECT employee_id, site_id, epoch_us(ts_utc) AS us,
           CASE direction WHEN 'IN' THEN 0 WHEN 'OUT' THEN 1 ELSE 2 END::UTINYINT AS dir_rank,
           -- the office-local day the import decided from the office's zone (rule 2); the
           -- evaluation reads it too, so both always agree on a tap's day
           local_date AS day
    FROM {badges} AS b
    WHERE employee_id IS NOT NULL{pruning}{scoped}
),
gaps AS (
    -- Per office-local day: debounce never reaches across midnight (rule 3).
    SELECT *, us - lag(us) OVER (PARTITION BY employee_id, day ORDER BY {_TAP_ORDER}) AS gap_us
    FROM taps
),
clustered AS (
    -- A cluster is a run of taps each at most the window after the previous one. Its first
    -- tap is kept; taps within the window of it are not. Only a cluster longer than the
    -- window needs the chain walked (rule 3: the window runs from the kept tap).
    SELECT *, coalesce(gap_us > {window_us}, true) AS opens,
           max(CASE WHEN coalesce(gap_us > {window_us}, true) THEN us END) OVER (
               PARTITION BY employee_id, day ORDER BY {_TAP_ORDER}
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS head_us
    FROM gaps
),
late AS (
    -- Taps further than the window from their cluster's first tap; gap_us > 0 keeps only
    -- the first tap at an instant, the one rule 1's order would keep.
    SELECT employee_id, day, head_us, list(us ORDER BY us) AS candidates
    FROM clustered
    WHERE NOT opens AND gap_us > 0 AND us - head_us > {window_us}
    GROUP BY employee_id, day, head_us
),
walked AS (
    -- The sequential rule as a fold over each long cluster (rare: re-reads are seconds
    -- apart, far shorter than the window, and need no walk).
    SELECT employee_id, day, unnest(list_reduce(
        candidates,
        lambda acc, x: CASE WHEN x - acc[-1] > {window_us} THEN list_append(acc, x) ELSE acc END,
        [head_us]
    )) AS us
    FROM late
),
kept AS (
    SELECT c.employee_id, c.site_id, c.us, c.dir_rank, c.day
    FROM clustered AS c LEFT JOIN walked AS w
        ON w.employee_id = c.employee_id AND w.day = c.day AND w.us = c.us
    -- of several taps at a walked instant, only the first in rule 1's order (gap_us > 0)
    WHERE c.opens OR (w.us IS NOT NULL AND c.gap_us > 0)
)"""


def _directed(mode: DirectionMode) -> str:
    """CTE ``directed``: kept taps with the direction rule 4 gives them (``dir``: 0 IN,
    1 OUT, NULL none)."""
    if mode is DirectionMode.READER:
        return "directed AS (SELECT *, CASE WHEN dir_rank < 2 THEN dir_rank END AS dir FROM kept)"
    return """directed AS (
    SELECT *, ((row_number() OVER (PARTITION BY employee_id, day ORDER BY us) - 1) % 2)::UTINYINT
              AS dir
    FROM kept
)"""


def _days(sites: str, settings: PresenceSettings) -> str:
    """CTEs ending in ``days``: per employee and day, the kept taps, the first IN and last
    OUT, the hours of valid pairs and the midnights a pair carries in from / out to
    (rules 5 to 7), in one window pass and one aggregation."""
    limit_us = micros(timedelta(hours=settings.max_pair_hours))
    # Alternating mode: the open IN is dropped when the day changes (each day stands alone).
    alternating = settings.direction_mode is DirectionMode.ALTERNATING
    same_day = (" AND prev_day = day", " AND next_day = day") if alternating else ("", "")
    return f"""
sequenced AS (
    -- Only directed taps open or close pairs, so they are sequenced apart from the rest
    -- (the partition): the open IN is the previous directed tap when that is an IN (a
    -- second IN replaced any earlier one; an OUT closed it).
    SELECT *, lag(dir) OVER seq AS prev_dir, lag(us) OVER seq AS prev_us,
           lag(day) OVER seq AS prev_day, lead(dir) OVER seq AS next_dir,
           lead(us) OVER seq AS next_us, lead(day) OVER seq AS next_day,
           lead(site_id) OVER seq AS next_site
    FROM directed
    WINDOW seq AS (PARTITION BY employee_id, dir IS NULL ORDER BY {_TAP_ORDER})
),
paired AS (
    -- Each tap of a pair accounts for its own day only: the OUT for the pair (or, over
    -- midnight, for the part after its day's midnight), the IN for the part before the
    -- next midnight when the pair crosses it (rule 6).
    SELECT *,
           dir = 1 AND prev_dir = 0 AND us - prev_us <= {limit_us}{same_day[0]} AS closes,
           dir = 0 AND next_dir = 1 AND next_us - us <= {limit_us}{same_day[1]} AS opens_pair,
           CASE WHEN closes AND prev_day <> day THEN site_id
                WHEN opens_pair AND next_day <> day THEN next_site END AS cut_site,
           CASE WHEN closes AND prev_day <> day THEN day
                WHEN opens_pair AND next_day <> day THEN next_day END AS cut_day
    FROM sequenced
),
cut AS (
    -- The cut is the local midnight starting the OUT's day, in the OUT's office zone.
    SELECT p.*,
           epoch_us(timezone({_zone("s")}, CAST(p.cut_day AS TIMESTAMP))) AS cut_us
    FROM paired AS p LEFT JOIN {sites} AS s ON s.site_id = p.cut_site
),
days AS (
    SELECT employee_id, day, count(*) AS taps,
           min(us) FILTER (WHERE dir = 0) AS first_in_us,
           arg_min(site_id, us) FILTER (WHERE dir = 0) AS first_in_site,
           max(us) FILTER (WHERE dir = 1) AS last_out_us,
           arg_max(site_id, us) FILTER (WHERE dir = 1) AS last_out_site,
           arg_min(site_id, us) AS site_id,
           coalesce(sum(CASE WHEN closes AND cut_us IS NULL THEN {_hours("us - prev_us")}
                             WHEN closes THEN {_hours("greatest(0, us - cut_us)")}
                             WHEN opens_pair AND cut_us IS NOT NULL
                                 THEN {_hours("greatest(0, cut_us - us)")} END), 0.0)
               AS pair_hours,
           arg_max(cut_us, us) FILTER (WHERE closes AND cut_us IS NOT NULL) AS carried_in_us,
           arg_max(cut_us, next_us) FILTER (WHERE opens_pair AND cut_us IS NOT NULL)
               AS carried_out_us
    FROM cut
    GROUP BY employee_id, day
)"""


def _zone(site: str) -> str:
    # An office missing from the reference data (deleted since the import) is read in UTC
    # rather than dropping its employees' evidence.
    return f"coalesce({site}.timezone, 'UTC')"


def _local(us: str, site: str) -> str:
    """Office-local wall time (TIMESTAMP) of the instant ``us`` at the office ``site``."""
    return f"timezone({_zone(site)}, make_timestamptz({us}))"


def _hours_expr(convention: HoursConvention) -> str:
    if convention is HoursConvention.PAIRS:
        return "d.pair_hours"
    # Rule 7: entry is midnight when a pair carries in, else the first IN; exit likewise.
    entry = "coalesce(d.carried_in_us, d.first_in_us)"
    exit_ = "coalesce(d.carried_out_us, d.last_out_us)"
    return (
        f"CASE WHEN {entry} IS NULL OR {exit_} IS NULL THEN 0.0 "
        f"ELSE {_hours(f'greatest(0, {exit_} - {entry})')} END"
    )


def presence_sql(
    badges: str,
    sites: str,
    settings: PresenceSettings,
    days: tuple[date, date] | None = None,
    scope: str | None = None,
) -> str:
    """A DuckDB query (wrapped in parentheses, usable after ``FROM``) of daily presence for
    the office-local days ``days`` (inclusive; None: every day with a tap), of the
    employees of ``scope`` on each day (see ``in_scope``; None: everyone).

    The scan reaches one day beyond each end so a pair over midnight at either end is
    counted (rule 6): results equal the specification's over the whole history unless,
    with ``max_pair_hours`` over 23, a pair spans all of a 23-hour spring-forward day just
    before the range."""
    scan = None if days is None else (days[0] - timedelta(days=1), days[1] + timedelta(days=1))
    window_us = micros(timedelta(seconds=settings.debounce_seconds))
    in_days = (
        "true" if days is None else f"d.day BETWEEN {sql_date(days[0])} AND {sql_date(days[1])}"
    )
    return f"""(
WITH {_kept_taps(badges, window_us, scan, scope)},
{_directed(settings.direction_mode)},
{_days(sites, settings)}
SELECT d.employee_id, d.day AS date,
       {_local("d.first_in_us", "fs")} AS first_in,
       {_local("d.last_out_us", "ls")} AS last_out,
       {_hours_expr(settings.hours_convention)} AS hours_on_site,
       d.taps, d.site_id
FROM days AS d
LEFT JOIN {sites} AS fs ON fs.site_id = d.first_in_site
LEFT JOIN {sites} AS ls ON ls.site_id = d.last_out_site
WHERE {in_days} AND {in_scope(scope, "d.employee_id", "d.day")}
)"""


def badge_days_sql(
    badges: str,
    sites: str,
    settings: PresenceSettings,
    days: tuple[date, date],
    employees: str | None = None,
) -> str:
    """The employee-day roll-up of badges (``events.rollups.BADGE_DAYS_SCHEMA``) for the
    office-local ``days``, with the hours of both conventions; ``employees`` (a relation
    with ``employee_id``) limits it to some employees. Same rules and margins as
    ``presence_sql``; ``settings.hours_convention`` is not used."""
    scan = (days[0] - timedelta(days=1), days[1] + timedelta(days=1))
    window_us = micros(timedelta(seconds=settings.debounce_seconds))
    scope = (
        None
        if employees is None
        else f"(SELECT employee_id, DATE '0001-01-01' AS valid_from, NULL::DATE AS valid_to "
        f"FROM {employees})"
    )
    hours = {c: _hours_expr(c) for c in (HoursConvention.FIRST_LAST, HoursConvention.PAIRS)}
    return f"""(
WITH {_kept_taps(badges, window_us, scan, scope)},
{_directed(settings.direction_mode)},
{_days(sites, settings)}
SELECT d.employee_id, d.day AS local_date, d.taps,
       {_local("d.first_in_us", "fs")} AS first_in,
       {_local("d.last_out_us", "ls")} AS last_out,
       {hours[HoursConvention.FIRST_LAST]} AS hours_first_last,
       {hours[HoursConvention.PAIRS]} AS hours_pairs,
       d.site_id
FROM days AS d
LEFT JOIN {sites} AS fs ON fs.site_id = d.first_in_site
LEFT JOIN {sites} AS ls ON ls.site_id = d.last_out_site
WHERE d.day BETWEEN {sql_date(days[0])} AND {sql_date(days[1])}
)"""


# DuckDB memory per badge event a chunk scans: about 200-220 bytes measured at the peak
# (bench/presence.py, bench/README.md); 300 leaves room for the margin days, which the
# estimate below does not count, and for busier days than the month's mean. A chunk that
# fits the memory limit never spills (spilling cost a third more CPU).
BYTES_PER_EVENT = 300
# Each chunk also scans a day either side (pairs over midnight): a week or more keeps that
# margin small.
MIN_CHUNK_DAYS = 7


def day_chunks(
    days: tuple[date, date], events_per_month: Mapping[str, int], max_events: int
) -> list[tuple[date, date]]:
    """Consecutive ranges covering ``days``, each with about ``max_events`` badge events or
    fewer (a month's events taken as spread evenly over its days), but at least
    ``MIN_CHUNK_DAYS`` long. Querying the chunks one by one keeps memory flat whatever the
    range; their results are exactly the range's, since each scans its own margin."""
    chunks: list[tuple[date, date]] = []
    first, load = days[0], 0.0
    for day in days_between(days[0], days[1]):
        per_day = events_per_month.get(f"{day:%Y-%m}", 0) / monthrange(day.year, day.month)[1]
        if load + per_day > max_events and (day - first).days >= MIN_CHUNK_DAYS:
            chunks.append((first, day - timedelta(days=1)))
            first, load = day, 0.0
        load += per_day
    chunks.append((first, days[1]))
    return chunks
