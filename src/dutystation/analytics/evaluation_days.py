"""Stage 1 of the evaluation: the evidence of every employee, summed per version and block.

A **block** is a run of consecutive days with the same ISO week, pay period and
``epoch`` (days on the same side of every directive date), or a single day when daily
periods are asked for. Every quantity the status needs is a sum over days, and every
period is a union of blocks, so the days are never expanded one row each: a block is at
most seven days and its days are the bits of a 7-bit mask (``dow_bit``, Monday = 1).
"Days with on-site hours" is then ``bit_count(bit_or(dow_bit))`` over T&A rows, exact
however many rows a day has, and badge presence is the same over 100M events with no
distinct-day aggregate.

Per assignment version (``ver``), block and ``mask`` (the categories of approved
exemptions covering the days; 0 for most), ``blk`` holds:

- the calendar part, from the version's schedule: days assigned (``n_days``), scheduled
  hours net of holidays, workdays, holiday hours: whole blocks come from the per-schedule
  block table ``cb``, and only the blocks cut by a version's first or last day (or by an
  exemption) are summed day by day;
- T&A hours by category, on-site hours split by office: at the duty station of that day
  (``on_own``; also a row naming no office, since T&A systems record a location only when
  it differs from the official worksite) or elsewhere (``on_other``); whether those count
  is the binding directive's ``counts_at``, applied in stage 2;
- the days of each kind of presence (bit masks, counted), and
  ``hours_required`` = scheduled - holiday - leave per day, never below 0. Holiday hours
  are the larger of the calendar's (the schedule's holiday, "in lieu of" days included)
  and the T&A holiday code's (so a DC-area Inauguration Day recorded in T&A leaves the
  denominator too). Only days with leave or holiday T&A rows differ from the calendar;
  each such row takes its hours (at most the day's) off the block's calendar figure,
  which is exact when a day has one such row. Blocks with a day of several are marked
  ``recheck`` and corrected day by day by ``absences_fix_sql`` (one more, filtered, scan:
  only when some exist);
- presence by badge: a tap on the office-local day. This is exactly the presence rule of
  ``domain/presence.py`` ("a day with at least one tap is present by badge"), without the
  pairing windows ``analytics/presence.py`` needs to compute hours.

Input relations: ``iv``, ``emp``, ``cal``, ``cs`` (calendar x schedule, per day), ``cb``
(per schedule and block), ``exday`` (emp, day, mask) (see ``evaluation_setup.py``).

``blk`` is a table of the connection's database, not a TEMP table: in the file database
``analytics.engine.connect`` opens for an evaluation it is stored compressed (about a
tenth of its 115 bytes a row in memory: 6.75M rows at 250,000 employees x 26 weeks) and
the buffer manager may page it out, which keeps the evaluation within its memory limit.
"""

from __future__ import annotations

from datetime import date

_HOURS = ("on_own", "on_other", "field", "telework", "remote", "leave")
# Each T&A row falls in one class: on site at the duty station (0) or elsewhere (1), field
# and travel (2), telework (3), remote (4), leave (5), holiday (6: counted through what it
# adds to the calendar's holiday hours).
_CLASS = """CASE t.category
            WHEN 'onsite' THEN CASE WHEN t.site_id IS NULL
                OR coalesce(t.site_id = i.duty_station, false) THEN 0 ELSE 1 END
            WHEN 'field_travel' THEN 2
            WHEN 'telework_routine' THEN 3
            WHEN 'telework_situational' THEN 3
            WHEN 'remote' THEN 4
            WHEN 'leave' THEN 5
            ELSE 6 END"""


def _days(classes: tuple[int, ...]) -> str:
    """Days in any of the 7-bit masks ``classes`` of ``day_bits`` (see ``tcb``)."""
    masks = " | ".join(f"(coalesce(t.day_bits, 0) >> {7 * c})" for c in classes)
    return f"CAST(bit_count(({masks}) & 127) AS SMALLINT)"


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def _timecard_rows(timecards: str, window: str, extra: str = "") -> str:
    """T&A rows of assigned days with the version of the day, its block, calendar hours
    (``net``: scheduled less holiday; ``cal_holiday``) and exemption mask."""
    return f"""
    SELECT i.emp, i.ver, c.block, c.day, c.dow_bit, t.hours, {_CLASS} AS cls,
        coalesce(x.mask, 0) AS mask, c.net, c.holiday AS cal_holiday
    FROM {timecards} AS t
    JOIN iv AS i ON i.employee_id = t.employee_id
        AND t.date >= i.effective_from AND t.date < i.effective_until
    JOIN cs AS c ON c.day = t.date AND c.schedule = i.schedule
    LEFT JOIN exday AS x ON x.emp = i.emp AND x.day = t.date
    WHERE t.date {window}{extra}"""


# Per T&A row, what it takes off the day's hours required and adds to its holiday hours,
# and whether it takes the whole day off (a workday no more). Exact on a day with at most
# one leave or holiday row: hours required = net - leave - holiday, never below 0, where a
# calendar holiday already has net 0 and reports the larger of its hours and T&A's.
_CUT = "CASE WHEN t.cls >= 5 AND t.cal_holiday = 0 THEN least(t.hours, t.net) ELSE 0 END"
_HOLIDAY_ADDED = "CASE WHEN t.cls = 6 THEN greatest(0, t.hours - t.cal_holiday) ELSE 0 END"
_WHOLE_DAY_OFF = "t.cls >= 5 AND t.cal_holiday = 0 AND t.net > 0 AND t.hours >= t.net"


def blocks_sql(timecards: str, badges: str, start: date, end: date) -> str:
    """``CREATE TABLE blk`` (module docstring) from the two event relations."""
    window = f"BETWEEN {_day(start)} AND {_day(end)}"
    hour_sums = ",\n        ".join(
        f"sum(t.hours) FILTER (WHERE t.cls = {cls}) AS {name}" for cls, name in enumerate(_HOURS)
    )
    return f"""
CREATE OR REPLACE TABLE blk AS
WITH tcb AS (
    SELECT t.ver, t.block, t.mask,
        {hour_sums},
        sum({_CUT}) AS required_cut,
        sum({_HOLIDAY_ADDED}) AS holiday_added,
        -- Days as 7-bit masks packed in one integer, one aggregate instead of five: on-site
        -- hours at the duty station (bits 0-6), elsewhere (7-13), field (14-20), a leave or
        -- holiday row (21-27), the whole day off (28-34).
        bit_or(CASE WHEN t.cls < 3 AND t.hours > 0 THEN CAST(t.dow_bit AS BIGINT) << (7 * t.cls)
                    WHEN t.cls >= 5 THEN (CAST(t.dow_bit AS BIGINT) << 21) | CASE
                        WHEN {_WHOLE_DAY_OFF} THEN CAST(t.dow_bit AS BIGINT) << 28 ELSE 0 END
                    ELSE 0 END) AS day_bits,
        count(*) FILTER (WHERE t.cls >= 5) AS absence_rows
    FROM ({_timecard_rows(timecards, window)}) AS t
    GROUP BY t.ver, t.block, t.mask
),
covered AS (
    -- Calendar part of the days covered by exemptions (few): per version, block, mask.
    SELECT i.emp, i.ver, c.block, x.mask, count(*) AS n_days, sum(c.net) AS net,
        count(*) FILTER (WHERE c.net > 0) AS workdays, sum(c.holiday) AS holiday,
        bit_or(c.dow_bit) AS bits
    FROM exday AS x
    JOIN iv AS i ON i.emp = x.emp AND x.day >= i.effective_from AND x.day < i.effective_until
    JOIN cs AS c ON c.day = x.day AND c.schedule = i.schedule
    GROUP BY i.emp, i.ver, c.block, x.mask
),
whole AS (
    -- Calendar part of every version's days: whole blocks from cb, cut blocks by day.
    SELECT i.emp, i.ver, b.block, b.n_days, b.net, b.workdays, b.holiday, b.bits
    FROM iv AS i
    JOIN cb AS b ON b.schedule = i.schedule
        AND b.block_start >= i.effective_from AND b.block_end < i.effective_until
    UNION ALL
    SELECT i.emp, i.ver, c.block, count(*), sum(c.net), count(*) FILTER (WHERE c.net > 0),
        sum(c.holiday), bit_or(c.dow_bit)
    FROM iv AS i
    JOIN cs AS c ON c.schedule = i.schedule
        AND c.day >= i.effective_from AND c.day < i.effective_until
    WHERE (i.effective_from > {_day(start)} OR i.effective_until <= {_day(end)})
        AND NOT (c.block_start >= i.effective_from AND c.block_end < i.effective_until)
    GROUP BY i.emp, i.ver, c.block
),
cover_b AS (
    SELECT ver, block, sum(n_days) AS n_days, sum(net) AS net, sum(workdays) AS workdays,
        sum(holiday) AS holiday, bit_or(bits) AS bits
    FROM covered GROUP BY ver, block
),
calendar_part AS (
    -- mask 0: the days no exemption covers (all of them, for most versions and blocks)
    SELECT w.emp, w.ver, w.block, 0 AS mask,
        w.n_days - coalesce(v.n_days, 0) AS n_days,
        w.net - coalesce(v.net, 0) AS net,
        w.workdays - coalesce(v.workdays, 0) AS workdays,
        w.holiday - coalesce(v.holiday, 0) AS holiday,
        w.bits AS all_bits
    FROM whole AS w LEFT JOIN cover_b AS v ON v.ver = w.ver AND v.block = w.block
    UNION ALL
    SELECT emp, ver, block, mask, n_days, net, workdays, holiday, 0 FROM covered
),
badge_b AS (
    -- Grouped on the text id first: 100M events reduce to a row per employee and block
    -- before any join (cheaper than joining every event to the employee table).
    SELECT e.emp, g.block, g.bits
    FROM (SELECT b.employee_id, c.block, bit_or(c.dow_bit) AS bits
          FROM {badges} AS b JOIN cal AS c ON c.day = b.local_date
          WHERE b.local_date {window}
          GROUP BY b.employee_id, c.block) AS g
    JOIN emp AS e ON e.employee_id = g.employee_id
)
SELECT a.emp, a.ver, a.block, a.mask,
    CAST(a.n_days AS SMALLINT) AS n_days,
    a.net - coalesce(t.required_cut, 0) AS hours_required,
    CAST(a.workdays - {_days((4,))} AS SMALLINT) AS n_workdays,
    a.holiday + coalesce(t.holiday_added, 0) AS holiday,
    {", ".join(f"coalesce(t.{h}, 0) AS {h}" for h in _HOURS)},
    {_days((0, 2))} AS n_at_own,
    {_days((0, 1, 2))} AS n_at_any,
    {_days((0,))} AS n_at_duty_station,
    {_days((0, 1))} AS n_on_site_ta,
    -- Badge days are counted once, on the row of the uncovered days (mask 0), over every
    -- day the version is assigned: reports show presence whatever the exemptions.
    CAST(bit_count(coalesce(g.bits, 0) & a.all_bits) AS SMALLINT) AS n_badge,
    -- Positive when the block has any evidence at all: badge days, or T&A rows.
    CAST(bit_count(coalesce(g.bits, 0) & a.all_bits)
        + CASE WHEN t.ver IS NULL THEN 0 ELSE 1 END AS SMALLINT) AS evidence,
    -- Several leave or holiday rows on one day: the per-row cut may be wrong; corrected
    -- by ``absences_fix_sql`` (rare).
    coalesce(t.absence_rows, 0) > {_days((3,))} AS recheck
FROM calendar_part AS a
LEFT JOIN tcb AS t ON t.ver = a.ver AND t.block = a.block AND t.mask = a.mask
LEFT JOIN badge_b AS g ON g.emp = a.emp AND g.block = a.block AND a.mask = 0
"""


def absences_fix_sql(timecards: str, start: date, end: date) -> str:
    """Correct ``blk`` where a day has several leave or holiday rows (``recheck``): the
    day's totals, not each row, are compared with its net scheduled hours."""
    window = f"BETWEEN {_day(start)} AND {_day(end)}"
    only = (
        " AND i.emp IN (SELECT emp FROM blk WHERE recheck) AND t.category IN ('leave', 'holiday')"
    )
    return f"""
UPDATE blk SET hours_required = blk.hours_required + f.required_delta,
    n_workdays = CAST(blk.n_workdays + f.workdays_delta AS SMALLINT),
    holiday = blk.holiday + f.holiday_delta
FROM (
    SELECT ver, block, mask,
        sum(approx_cut - CASE WHEN cal_holiday = 0 THEN least(net, absent) ELSE 0 END)
            AS required_delta,
        sum(CAST(approx_off AS INTEGER) - CAST(cal_holiday = 0 AND net > 0 AND absent >= net
            AS INTEGER)) AS workdays_delta,
        sum(greatest(0, ta_holiday - cal_holiday) - approx_added) AS holiday_delta
    FROM (
        SELECT t.ver, t.block, t.mask, t.day, t.net, t.cal_holiday,
            sum(t.hours) AS absent,
            coalesce(sum(t.hours) FILTER (WHERE t.cls = 6), 0) AS ta_holiday,
            sum({_CUT}) AS approx_cut,
            sum({_HOLIDAY_ADDED}) AS approx_added,
            bool_or({_WHOLE_DAY_OFF}) AS approx_off
        FROM ({_timecard_rows(timecards, window, only)}) AS t
        GROUP BY t.ver, t.block, t.mask, t.day, t.net, t.cal_holiday
    ) AS d
    GROUP BY ver, block, mask
) AS f
WHERE blk.ver = f.ver AND blk.block = f.block AND blk.mask = f.mask
"""
