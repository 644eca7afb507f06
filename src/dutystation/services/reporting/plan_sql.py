"""The compliance-plan SQL (DuckDB, over the evaluation's week rows and the offices):
weekly rates per unit, the fitted trend, seat demand per office and the limits. The
method is described in ``plan.py``; the names of the relations are ``ev`` (the
evaluation) and ``offices`` (``site_id, name, seats``)."""

from __future__ import annotations

from datetime import date

from dutystation.services.reporting.tables import group_sql

FIT_WEEKS = 4
HORIZON_DAYS = 2 * 365


def weeks_sql(depth: int, root: str, *, expected: bool = False) -> str:
    """The weekly rates and the offices short of seats. ``expected``: the people needed at
    an office are the capacity model's expected attendance on its busiest day (relation
    ``cap``: ``site_id, expected``; docs/capacity.md), everyone there whatever their unit;
    otherwise the headcount of the last whole week's staff due on site (an upper bound)."""
    # Expected attendance is a sum of chances: a seat is needed for any part of a person.
    needed = (
        "CAST(ceil(coalesce(any_value(c.expected), 0) - 1e-9) AS BIGINT)"
        if expected
        else "count(*)"
    )
    joined = "LEFT JOIN cap AS c ON c.site_id = d.site_id" if expected else ""
    return f"""
    r AS (
        SELECT {group_sql(depth)} AS unit, period_start, period_end, period_label, status,
               duty_station, arrangement
        FROM ev WHERE period_kind = 'week'
    ),
    wk AS (
        SELECT coalesce(unit, '{root}') AS org_unit, grouping(unit) = 1 AS is_total,
               any_value(period_label) AS week, period_start AS week_start,
               max(period_end) - period_start >= 6 AS whole,
               count(*) FILTER (WHERE status <> 'not_in_scope') AS bound,
               count(*) FILTER (WHERE status IN ('compliant', 'exempt', 'covered_by_agreement'))
                   AS in_compliance,
               count(*) FILTER (WHERE status = 'exempt') AS exempt,
               count(*) FILTER (WHERE status = 'covered_by_agreement') AS covered_by_agreement,
               count(*) FILTER (WHERE status = 'pending_exemption') AS pending_exemption,
               count(*) FILTER (WHERE status IN ('non_compliant', 'not_yet_due'))
                   AS non_compliant
        FROM r GROUP BY GROUPING SETS ((unit, period_start), (period_start))
    ),
    rates AS (
        SELECT *, in_compliance / nullif(bound, 0) AS rate,
               week_start - DATE '1970-01-01' AS x
        FROM wk
    ),
    last_week AS (SELECT max(week_start) AS week_start FROM rates WHERE whole),
    demand AS (
        -- who must have a seat at each office in the last whole week
        SELECT r.duty_station AS site_id, r.unit
        FROM r JOIN last_week AS l ON r.period_start = l.week_start
        WHERE r.duty_station IS NOT NULL AND r.status <> 'exempt' AND r.arrangement <> 'field'
          AND NOT (r.status = 'not_in_scope' AND r.arrangement IN ('telework', 'remote'))
    ),
    offices_short AS (
        SELECT d.site_id, any_value(o.name) AS name, any_value(o.seats) AS seats,
               {needed} AS demand, {needed} - any_value(o.seats) AS shortfall,
               string_agg(DISTINCT d.unit, ', ' ORDER BY d.unit) AS units
        FROM demand AS d LEFT JOIN offices AS o ON o.site_id = d.site_id
        {joined}
        GROUP BY d.site_id
    )"""


def plan_sql(depth: int, root: str, fit_from: date, *, expected: bool = False) -> str:
    return f"""
    WITH {weeks_sql(depth, root, expected=expected)},
    fit AS (
        -- Weeks before the deadline judge only the days from it (or none), so they are
        -- left out of the trend when at least two whole weeks follow it.
        SELECT org_unit, regr_slope(rate, x) AS slope, regr_intercept(rate, x) AS intercept,
               max(x) AS last_x
        FROM (SELECT *, row_number() OVER (PARTITION BY org_unit ORDER BY week_start DESC) AS k
              FROM rates WHERE whole AND rate IS NOT NULL AND (week_start >= DATE '{fit_from}'
                OR (SELECT count(DISTINCT week_start) FROM rates
                    WHERE whole AND week_start >= DATE '{fit_from}') < 2))
        WHERE k <= {FIT_WEEKS} GROUP BY org_unit
    ),
    now AS (
        SELECT r.* FROM rates AS r JOIN last_week AS l ON r.week_start = l.week_start
    ),
    short AS (
        SELECT d.unit, count(*) AS offices, sum(o.shortfall) AS seats,
               -- the five offices short by most, each with its shortfall
               array_to_string(list(o.site_id || ': ' || o.shortfall
                                    ORDER BY o.shortfall DESC, o.site_id)[1:5], ', ')
               || CASE WHEN count(*) > 5 THEN printf(' and %d more', count(*) - 5) ELSE '' END
                   AS sites
        FROM (SELECT DISTINCT unit, site_id FROM demand) AS d
        JOIN offices_short AS o ON o.site_id = d.site_id AND o.shortfall > 0
        GROUP BY d.unit
    ),
    unplaced AS (
        SELECT unit, count(*) AS people
        FROM r JOIN last_week AS l ON r.period_start = l.week_start
        WHERE duty_station IS NULL
          AND status IN ('non_compliant', 'not_yet_due', 'pending_exemption')
        GROUP BY unit
    ),
    joined AS (
        SELECT n.org_unit, n.is_total, n.bound, round(n.rate, 4) AS compliance_rate,
               round(f.slope * 7, 4) AS change_per_week, n.pending_exemption,
               CASE WHEN n.rate >= 1 THEN NULL
                    WHEN f.slope > 0 THEN (1 - f.intercept) / f.slope END AS x_full,
               f.last_x, n.week_start,
               -- the total counts each office once, though several units may share it
               CASE WHEN n.is_total THEN (SELECT count(*) FROM offices_short WHERE shortfall > 0)
                    ELSE s.offices END AS short_offices,
               CASE WHEN n.is_total
                    THEN (SELECT sum(shortfall) FROM offices_short WHERE shortfall > 0)
                    ELSE s.seats END AS short_seats,
               s.sites AS short_sites,
               CASE WHEN n.is_total THEN (SELECT sum(people) FROM unplaced) ELSE u.people END
                   AS unplaced
        FROM now AS n LEFT JOIN fit AS f USING (org_unit)
        LEFT JOIN short AS s ON s.unit = n.org_unit AND NOT n.is_total
        LEFT JOIN unplaced AS u ON u.unit = n.org_unit AND NOT n.is_total
    )
    SELECT *,
           CASE WHEN compliance_rate >= 1 THEN week_start + 6
                WHEN coalesce(short_seats, 0) > 0 THEN NULL
                ELSE trend_full_compliance END AS expected_full_compliance,
           concat_ws('; ',
               CASE WHEN coalesce(short_seats, 0) > 0
                    THEN printf('seats: %d office(s) short by %d%s, not possible until '
                                || 'seats are added', short_offices, short_seats,
                                coalesce(' (' || short_sites || ')', '')) END,
               CASE WHEN compliance_rate >= 1 THEN 'none: in full compliance' END,
               CASE WHEN compliance_rate < 1 AND trend_full_compliance IS NULL
                    THEN 'trend: no 100 % within two years' END,
               CASE WHEN pending_exemption > 0
                    THEN printf('%d exemption request(s) pending', pending_exemption) END,
               CASE WHEN unplaced > 0
                    THEN printf('%d off site with no agency office as duty station', unplaced)
               END
           ) AS limits
    FROM (
        SELECT org_unit, is_total, bound, compliance_rate, change_per_week, week_start,
               short_seats, short_offices, short_sites, pending_exemption, unplaced,
               CASE WHEN compliance_rate < 1 AND x_full IS NOT NULL
                         AND x_full - last_x <= {HORIZON_DAYS}
                    THEN DATE '1970-01-01' + CAST(ceil(x_full) AS INTEGER) END
                   AS trend_full_compliance
        FROM joined)
    ORDER BY is_total, org_unit"""
