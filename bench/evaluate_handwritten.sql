-- The weekly figure per employee, written by hand as one DuckDB query: hours required,
-- hours at the duty station (on site there, or in the field / on travel), hours off site,
-- the share at the duty station, and days present by badge. The baseline the product's
-- evaluation is measured against (bench/evaluate.py).
--
-- Relations handed over by the script: roster (assignment versions: employee_id,
-- effective_from, effective_until (exclusive), duty_station, schedule), calendar (day,
-- schedule, hours_scheduled, hours_holiday), and the committed Parquet files of the two
-- event kinds ({timecards}, {badges}). Weeks are ISO weeks ('2025-W07').
WITH required AS (
    -- Scheduled hours of every assigned day, holidays off.
    SELECT r.employee_id, strftime(c.day, '%G-W%V') AS week,
        sum(c.hours_scheduled - c.hours_holiday) AS scheduled
    FROM roster AS r
    JOIN calendar AS c ON c.schedule = r.schedule
        AND c.day >= r.effective_from AND c.day < r.effective_until
    GROUP BY ALL
),
worked AS (
    -- T&A hours of each week, where they were worked as of that day's assignment.
    SELECT t.employee_id, strftime(t.date, '%G-W%V') AS week,
        sum(t.hours) FILTER (WHERE t.category = 'field_travel' OR (t.category = 'onsite'
            AND (t.site_id IS NULL OR t.site_id = r.duty_station))) AS at_duty_station,
        sum(t.hours) FILTER (WHERE t.category IN ('telework_routine', 'telework_situational',
            'remote') OR (t.category = 'onsite' AND t.site_id IS NOT NULL
            AND t.site_id IS DISTINCT FROM r.duty_station)) AS off_site,
        sum(t.hours) FILTER (WHERE t.category = 'leave') AS leave
    FROM read_parquet({timecards}) AS t
    JOIN roster AS r ON r.employee_id = t.employee_id
        AND t.date >= r.effective_from AND t.date < r.effective_until
    WHERE t.date BETWEEN {start} AND {end}
    GROUP BY ALL
),
present AS (
    SELECT employee_id, strftime(local_date, '%G-W%V') AS week,
        count(DISTINCT local_date) AS days_present_badge
    FROM read_parquet({badges})
    WHERE local_date BETWEEN {start} AND {end}
    GROUP BY ALL
)
SELECT q.employee_id, q.week,
    q.scheduled - coalesce(w.leave, 0) AS hours_required,
    coalesce(w.at_duty_station, 0) AS hours_at_duty_station,
    coalesce(w.off_site, 0) AS hours_off_site,
    coalesce(w.at_duty_station, 0) / nullif(greatest(q.scheduled - coalesce(w.leave, 0),
        coalesce(w.at_duty_station, 0) + coalesce(w.off_site, 0)), 0) AS share_at_duty_station,
    coalesce(p.days_present_badge, 0) AS days_present_badge
FROM required AS q
LEFT JOIN worked AS w ON w.employee_id = q.employee_id AND w.week = q.week
LEFT JOIN present AS p ON p.employee_id = q.employee_id AND p.week = q.week
