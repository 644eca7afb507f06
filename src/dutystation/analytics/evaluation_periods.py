"""Stage 2 of the evaluation: one row per employee and period, with its status and reason.

The SQL mirrors ``domain.status.decide_status`` rule by rule (``evaluation_status.py``);
``tests/unit/test_evaluation_agreement.py`` runs both on random scenarios and requires the
same status, hours and reason. Relations used besides ``blk`` (stage 1): ``blocks``,
``per`` (the periods of one kind, clipped to the range), ``iv``, ``ua`` (org unit x
arrangement pairs), ``multi`` (employees with several versions), ``special`` (several
versions or an exemption), ``org``, ``bnd`` (bindings), ``dir`` (directives), ``epochs``,
``cal``, ``exday``, ``exe`` (approved exemptions), ``req`` (exemption requests), ``agr``
(agreements with terms) and ``selected_units``.

A period is judged as of its last day: the employee's version on their last assigned day
in it (the latest version, versions being numbered in time order) gives org unit,
arrangement, duty station and bargaining unit; the directive binding that (org unit,
arrangement) on the period's last day judges it. Reported hours are those of every
assigned day. The status's measurement leaves out the days the rules leave out (not in
force, covered by an allowed exemption, and before the due date when the period has days
after it): those parts are rare, so they are summed as "left out" and subtracted from
the totals, which keeps the aggregation to one cheap pass.
"""

from __future__ import annotations

from dutystation.analytics.evaluation_status import NOTE, REASON, STATUS, met_sql

_HOURS = (
    "hours_required",
    "on_own",
    "on_other",
    "field",
    "telework",
    "remote",
    "leave",
    "holiday",
)
# Day counts of a period are at most 31, so several travel packed in one BIGINT, 8 bits
# each: one aggregate instead of five (aggregate states are most of the memory here).
_COUNTS = ("n_badge", "n_on_site_ta", "n_at_duty_station", "n_workdays", "days")
_MEASURED = ("hours_required", "hours_at", "hours_off", "days", "n_workdays")


def _pack(names: tuple[str, ...], prefix: str = "r.") -> str:
    return " | ".join(f"(CAST({prefix}{n} AS BIGINT) << {8 * i})" for i, n in enumerate(names))


def _unpack(column: str, names: tuple[str, ...], suffix: str = "") -> str:
    return ", ".join(
        f"CAST(({column} >> {8 * i}) & 255 AS INTEGER) AS {n}{suffix}" for i, n in enumerate(names)
    )


def _rows(where: str, *, versions: bool, covered: bool) -> str:
    """Block rows (those of ``blk`` where ``where`` holds) with their period, the version
    judging it, the measured quantities as the judging directive counts them, and two
    flags: ``judged`` (in force, not covered by an allowed exemption) and ``measured``
    (judged, and from the due date on when the period has judged days from it).

    The lookups are LEFT JOINs although they always match: DuckDB keeps outer joins in
    the written order, so each small table is a hash table probed by the block rows. The
    filter sits on ``blk`` itself, and ``cov`` (whose tiny size would make the optimizer
    believe the rows are few and build hash tables on them) is joined last."""
    judge = "coalesce(j.judge, b.ver)" if versions else "b.ver"
    versions_join = "LEFT JOIN jv AS j ON j.emp = b.emp AND j.pno = p.pno" if versions else ""
    covered_join = "LEFT JOIN cov AS c ON c.emp = b.emp AND c.pno = p.pno" if covered else ""
    covered_due = "coalesce(c.covered_due, 0)" if covered else "0"
    return f"""(
    SELECT b.*, p.pno, {judge} AS judge, f.ua,
        b.on_own + b.field + CASE WHEN f.counts_any_office THEN b.on_other ELSE 0 END
            AS hours_at,
        b.telework + b.remote + CASE WHEN f.counts_any_office THEN 0 ELSE b.on_other END
            AS hours_off,
        CASE WHEN f.counts_any_office THEN b.n_at_any ELSE b.n_at_own END AS days,
        f.in_force AND (b.mask & f.allowed_mask) = 0 AS judged,
        f.due OR f.due_days - {covered_due} <= 0 AS measured
    FROM (SELECT * FROM blk WHERE {where}) AS b
    LEFT JOIN bp AS p ON p.block = b.block
    {versions_join}
    LEFT JOIN iv AS i ON i.ver = {judge}
    LEFT JOIN ve AS f ON f.ua = i.ua AND f.pno = p.pno AND f.epoch = p.epoch
    {covered_join}
) AS r"""


# Rows that may have days left out: of blocks with such days for some (org unit,
# arrangement), of exempted days, or of employees with exemptions or several versions.
_CANDIDATES = "mask <> 0 OR block IN (SELECT block FROM xb) OR emp IN (SELECT emp FROM special)"


def _left_out() -> str:
    """Per period, the parts of the measured quantities the status leaves out: not judged
    (``_xj``), judged but before the due date (``_xz``). Summed over those rows only."""
    parts = []
    for suffix, flag in (("xj", "NOT r.judged"), ("xz", "r.judged AND NOT r.measured")):
        for n in ("hours_required", "hours_at", "hours_off"):
            parts.append(f"sum(CASE WHEN {flag} THEN r.{n} ELSE 0 END) AS {n}_{suffix}")
        packed = _pack(("n_workdays", "days"))
        parts.append(f"sum(CASE WHEN {flag} THEN {packed} ELSE 0 END) AS counts_{suffix}")
    return ",\n        ".join(parts)


def _kept(suffix: str, base: str) -> str:
    """Measured set ``*_{suffix}``: ``*{base}`` less the part left out (``*_x{suffix}``)."""
    return ",\n    ".join(
        f"{n}{base} - coalesce({n}_x{suffix}, 0) AS {n}_{suffix}" for n in _MEASURED
    )


def period_tables_sql(key: str) -> list[str]:
    """Statements creating the small per-kind tables; ``key`` is the kind's column in
    ``blocks``. Kept as tables so the final query's planner knows their true sizes."""
    window_start = "greatest(h.period_start, h.effective)"
    window_end = "least(h.period_end, coalesce(h.expires, h.period_end))"
    by_period = "FROM blk AS b JOIN bp AS p ON p.block = b.block"
    return [
        f"""CREATE OR REPLACE TEMP TABLE bp AS
    SELECT block, {key} AS pno, epoch, count(*) OVER (PARTITION BY {key}) = 1 AS single
    FROM blocks""",
        """CREATE OR REPLACE TEMP TABLE vb AS
    -- The binding of each (org unit, arrangement) on each period's last day: tiny.
    SELECT u.ua, p.pno, p.period_label_e, p.period_start, p.period_end, p.whole_period,
        coalesce(bn.kind, 'not_in_scope') AS binding_kind,
        bn.directive_ref, d.directive_ref_e,
        coalesce(bn.presumed_compliant, false) AS presumed_compliant,
        replace(coalesce(bn.binding_reason, 'no directive in force on {day} covers this '
            || 'org unit'), '{day}', strftime(p.period_end, '%Y-%m-%d')) AS binding_reason,
        'presumed compliant by ' || bn.directive_ref || ': ' || bn.binding_reason
            AS presumed_reason,
        CASE WHEN bn.kind = 'bound' THEN d.effective END AS effective,
        d.expires, d.due_from, coalesce(d.counts_any_office, false) AS counts_any_office,
        d.share_required, d.days_per_week, d.days_per_pay_period, d.requirement_text,
        coalesce(d.allowed_mask, 0) AS allowed_mask, d.duty_station_min_days,
        datediff('day', p.period_start, p.period_end) + 1 AS period_days
    FROM ua AS u CROSS JOIN per AS p
    LEFT JOIN bnd AS bn ON bn.org_unit = u.org_unit AND bn.arrangement = u.arrangement
        AND p.period_end BETWEEN bn.valid_from AND bn.valid_to
    LEFT JOIN dir AS d ON d.directive_ref = bn.directive_ref""",
        """CREATE OR REPLACE TEMP TABLE ve AS
    -- Per (org unit, arrangement), period and epoch: is the epoch judged, is it from the
    -- due date on, and the period's in-force calendar days from the due date on (before
    -- exemptions). Epochs never straddle a directive date: their first day decides.
    SELECT v.ua, v.pno, e.epoch, v.allowed_mask, v.counts_any_office,
        coalesce(e.epoch_start >= v.effective
            AND (v.expires IS NULL OR e.epoch_start <= v.expires), false) AS in_force,
        coalesce(e.epoch_start >= v.due_from, false) AS due,
        coalesce(greatest(0, datediff('day', greatest(v.period_start, v.effective,
            v.due_from), least(v.period_end, coalesce(v.expires, v.period_end))) + 1), 0)
            AS due_days
    FROM vb AS v
    JOIN (SELECT DISTINCT pno, epoch FROM bp) AS pe ON pe.pno = v.pno
    JOIN epochs AS e ON e.epoch = pe.epoch""",
        f"""CREATE OR REPLACE TEMP TABLE jv AS
    -- The version judging a period is that of its last assigned day: the latest. Only
    -- employees with several versions can have one judged by another than a row's own.
    SELECT b.emp, p.pno, max(b.ver) AS judge {by_period}
    WHERE b.emp IN (SELECT emp FROM multi)
    GROUP BY b.emp, p.pno""",
        f"""CREATE OR REPLACE TEMP TABLE hs AS
    -- Period heads of the few employees with exemptions or requests.
    SELECT x.emp, x.pno, v.*
    FROM (SELECT b.emp, p.pno, max(b.ver) AS judge {by_period}
          WHERE b.emp IN (SELECT emp FROM exe UNION SELECT emp FROM req)
          GROUP BY b.emp, p.pno) AS x
    JOIN iv AS i ON i.ver = x.judge
    JOIN vb AS v ON v.ua = i.ua AND v.pno = x.pno""",
        """CREATE OR REPLACE TEMP TABLE cov AS
    -- Covered calendar days, assigned or not: the domain counts every in-force day.
    SELECT h.emp, h.pno,
        count(*) FILTER (WHERE f.in_force AND (c.mask & h.allowed_mask) <> 0) AS covered,
        count(*) FILTER (WHERE f.in_force AND f.due AND (c.mask & h.allowed_mask) <> 0)
            AS covered_due
    FROM exday AS c
    JOIN cal AS k ON k.day = c.day
    JOIN bp AS p ON p.block = k.block
    JOIN hs AS h ON h.emp = c.emp AND h.pno = p.pno
    JOIN ve AS f ON f.ua = h.ua AND f.pno = p.pno AND f.epoch = p.epoch
    GROUP BY h.emp, h.pno""",
        f"""CREATE OR REPLACE TEMP TABLE exf AS
    SELECT h.emp, h.pno,
        string_agg(x.describe_text, '; ' ORDER BY x.ordinal)
            FILTER (WHERE (x.bit & h.allowed_mask) <> 0) AS used_text,
        string_agg(x.what_text, ', ' ORDER BY x.ordinal)
            FILTER (WHERE (x.bit & h.allowed_mask) = 0) AS refused_text
    FROM exe AS x
    JOIN hs AS h ON h.emp = x.emp AND h.effective IS NOT NULL
        AND x.start_day <= {window_end}
        AND (x.end_day IS NULL OR x.end_day >= {window_start})
    GROUP BY h.emp, h.pno""",
        """CREATE OR REPLACE TEMP TABLE pend AS
    SELECT h.emp, h.pno, min(r.filed) AS first_filed
    FROM req AS r
    JOIN hs AS h ON h.emp = r.emp AND r.filed <= h.period_end
        AND (r.decided_on IS NULL OR r.decided_on > h.period_end)
    GROUP BY h.emp, h.pno""",
        """CREATE OR REPLACE TEMP TABLE xb AS
    -- Blocks in which some (org unit, arrangement) has days the status leaves out.
    SELECT DISTINCT p.block FROM bp AS p
    JOIN ve AS f ON f.pno = p.pno AND f.epoch = p.epoch
    WHERE NOT f.in_force OR NOT (f.due OR f.due_days <= 0)""",
        f"""CREATE OR REPLACE TEMP TABLE x AS
    -- What the status leaves out, per period: only rows of those blocks, of exempted
    -- days, or of employees with exemptions or several versions can have any.
    SELECT r.emp, r.pno, {_left_out()}
    FROM {_rows(_CANDIDATES, versions=True, covered=True)}
    WHERE NOT r.judged OR NOT r.measured
    GROUP BY r.emp, r.pno""",
    ]


def periods_sql(kind: str, *, filtered: bool) -> str:
    """The employee-period rows of one kind, after ``period_tables_sql``. ``filtered``:
    keep only rows whose org unit is in ``selected_units``."""
    window_end = "least(h.period_end, coalesce(h.expires, h.period_end))"
    hours_cols = ", ".join(f"r.{n}" for n in _HOURS)
    hours_sums = ", ".join(f"sum(r.{n}) AS {n}" for n in _HOURS)
    # Employees whose periods may hold several rows for other reasons than the calendar.
    plain = "emp NOT IN (SELECT emp FROM special)"
    single = "block IN (SELECT block FROM bp WHERE single)"
    where = "WHERE w.org_unit IN (SELECT org_unit FROM selected_units)" if filtered else ""
    return f"""
WITH g AS (
    -- A period made of one block row (most, when weeks are asked for alone) is that row;
    -- the others are summed.
    SELECT r.emp, r.pno, r.judge, r.ua, {hours_cols}, {_pack(_COUNTS)} AS counts
    FROM {_rows(f"{single} AND {plain}", versions=False, covered=False)}
    UNION ALL
    SELECT r.emp, r.pno, r.judge, r.ua, {hours_sums}, sum({_pack(_COUNTS)})
    FROM {_rows(f"NOT ({single} AND {plain})", versions=True, covered=True)}
    GROUP BY r.emp, r.pno, r.judge, r.ua
),
m AS (
    SELECT g.* EXCLUDE (counts), {_unpack("g.counts", _COUNTS)},
        {_unpack("x.counts_xj", ("n_workdays", "days"), "_xj")},
        {_unpack("x.counts_xz", ("n_workdays", "days"), "_xz")},
        x.hours_required_xj, x.hours_at_xj, x.hours_off_xj,
        x.hours_required_xz, x.hours_at_xz, x.hours_off_xz,
        g.on_own + g.field + CASE WHEN h.counts_any_office THEN g.on_other ELSE 0 END
            AS hours_at,
        g.telework + g.remote + CASE WHEN h.counts_any_office THEN 0 ELSE g.on_other END
            AS hours_off,
        h.* EXCLUDE (ua, pno), i.org_unit, i.arrangement, i.bargaining_unit,
        i.employee_id, i.name, i.telework_eligible, i.org_unit_e, i.duty_station_e,
        i.arrangement_e, i.bargaining_unit_e,
        coalesce(cov.covered, 0) AS covered,
        -- Days left to judge from the due date on: in force, not covered, assigned or not.
        greatest(0, datediff('day', greatest(h.period_start, h.effective, h.due_from),
            {window_end}) + 1) - coalesce(cov.covered_due, 0) AS due_days,
        exf.used_text, exf.refused_text, pend.first_filed,
        a.agreement, a.share_required AS a_share_required, a.days_per_week AS a_days_per_week,
        a.days_per_pay_period AS a_days_per_pay_period, a.terms_text
    FROM g
    LEFT JOIN vb AS h ON h.ua = g.ua AND h.pno = g.pno
    LEFT JOIN iv AS i ON i.ver = g.judge
    LEFT JOIN x ON x.emp = g.emp AND x.pno = g.pno
    LEFT JOIN cov ON cov.emp = g.emp AND cov.pno = g.pno
    LEFT JOIN exf ON exf.emp = g.emp AND exf.pno = g.pno
    LEFT JOIN pend ON pend.emp = g.emp AND pend.pno = g.pno
    LEFT JOIN agr AS a ON a.bargaining_unit = i.bargaining_unit
        AND h.period_end BETWEEN a.start_day AND coalesce(a.end_day, DATE '9999-12-31')
),
mj AS (SELECT *, {_kept("j", "")} FROM m),
mz AS (SELECT *, {_kept("z", "_j")} FROM mj),
w AS (
    SELECT *, {NOTE} AS note,
        w.agreement IS NOT NULL AND {met_sql("a_", "j")} AS kept_met,
        {met_sql("", "z")} AS measured_met
    FROM mz AS w
)
SELECT
    w.employee_id, w.name, CAST('{kind}' AS period_kind_t) AS period_kind,
    w.period_label_e AS period_label, w.period_start, w.period_end,
    w.org_unit_e AS org_unit, o.component_e AS component, o.org_path,
    w.duty_station_e AS duty_station, w.arrangement_e AS arrangement,
    w.telework_eligible, w.bargaining_unit_e AS bargaining_unit,
    w.directive_ref_e AS directive_ref,
    w.hours_required,
    w.on_own + CASE WHEN w.counts_any_office THEN w.on_other ELSE 0 END AS hours_on_site,
    w.field AS hours_field_travel,
    w.hours_off AS hours_off_site,
    w.telework AS hours_telework, w.remote AS hours_remote, w.leave AS hours_leave,
    w.holiday AS hours_holiday,
    CAST(w.n_badge AS INTEGER) AS days_present_badge,
    CAST(w.n_on_site_ta AS INTEGER) AS days_on_site_ta,
    CAST(w.n_at_duty_station AS INTEGER) AS days_at_duty_station,
    CAST({STATUS} AS status_t) AS status,
    {REASON} AS reason,
    CASE WHEN '{kind}' = 'pay_period' AND w.arrangement = 'telework' AND w.whole_period
         THEN w.n_at_duty_station < coalesce(w.duty_station_min_days, 2) END
        AS duty_station_test_failed,
    w.on_other AS hours_other_office
FROM w
LEFT JOIN org AS o ON o.org_unit = w.org_unit
{where}
"""
