"""``domain.status.decide_status`` as SQL expressions over one employee-period row.

Each fragment names the domain function or rule it mirrors; the texts are the domain's
own sentences, so reasons read the same whichever side computed them (the agreement test
compares them character for character). Number formats: ``printf('%g')`` is Python's
``:g`` and ``printf('%.1f%%', x * 100)`` its ``:.1%``.

Columns the fragments read (on the relation aliased ``w``): the binding (``binding_kind``,
``directive_ref``, ``presumed_compliant``, ``binding_reason``, ``presumed_reason``,
``requirement_text``,
``due_from``, requirement columns ``share_required``, ``days_per_week``,
``days_per_pay_period``), the agreement's (same names prefixed ``a_``, ``agreement``,
``terms_text``), ``period_days``, ``covered``, ``due_days``, ``used_text``,
``first_filed``, ``note``, and the measured sets ``*_j`` (judged days) and ``*_z`` (the
days the requirement is measured on) of ``hours_required``, ``hours_at``, ``hours_off``, ``days``,
``n_workdays``.
"""

from __future__ import annotations

_EPS = "1e-9"  # the same tolerance as domain.status._EPSILON


def _share(sums: str) -> str:
    # Measurement.share: at the duty station / the larger of required and worked.
    denominator = f"greatest(w.hours_required_{sums}, w.hours_at_{sums} + w.hours_off_{sums})"
    return f"(CASE WHEN {denominator} > 0 THEN w.hours_at_{sums} / {denominator} END)"


def _days_required(req: str, sums: str) -> str:
    # Prorated to the period's calendar days, rounded up, capped at its workdays.
    prorated = (
        f"CAST(ceil(CASE WHEN w.{req}days_per_week IS NOT NULL "
        f"THEN w.{req}days_per_week * CAST(w.period_days AS DOUBLE) / 7 "
        f"ELSE coalesce(w.{req}days_per_pay_period, 0) * CAST(w.period_days AS DOUBLE) / 14 "
        f"END - {_EPS}) AS BIGINT)"
    )
    return f"least({prorated}, w.n_workdays_{sums})"


def met_sql(req: str, sums: str) -> str:
    """``measure(requirement, days, period_days).met`` for the requirement in columns
    ``{req}share_required`` / ``{req}days_per_week`` / ``{req}days_per_pay_period`` over
    the measured set ``*_{sums}``."""
    share = _share(sums)
    return (
        f"(CASE WHEN w.{req}share_required IS NOT NULL "
        f"THEN {share} IS NULL OR {share} + {_EPS} >= w.{req}share_required "
        f"ELSE w.days_{sums} >= {_days_required(req, sums)} END)"
    )


def text_sql(req: str, sums: str) -> str:
    """``Measurement.describe()`` of the same measurement."""
    share = _share(sums)
    return (
        f"(CASE WHEN w.{req}share_required IS NULL "
        f"THEN printf('%d of %d required days on site', w.days_{sums}, "
        f"{_days_required(req, sums)}) "
        f"WHEN {share} IS NULL THEN 'no hours required or worked' "
        f"ELSE printf('%.1f%% of hours at the duty station (%g of %g h required)', "
        f"{share} * 100, w.hours_at_{sums}, w.hours_required_{sums}) END)"
    )


# Precedence, first match wins (domain/status.py's docstring numbers the same rules).
STATUS = """CASE
        WHEN w.binding_kind <> 'bound' OR w.directive_ref IS NULL THEN 'not_in_scope'
        WHEN w.presumed_compliant THEN 'compliant'
        WHEN w.covered > 0 AND w.n_workdays_j = 0 THEN 'exempt'
        WHEN w.kept_met THEN 'covered_by_agreement'
        WHEN w.first_filed IS NOT NULL THEN 'pending_exemption'
        WHEN w.due_days <= 0 AND NOT w.measured_met THEN 'not_yet_due'
        WHEN w.measured_met THEN 'compliant'
        ELSE 'non_compliant'
    END"""

# The texts are built only in the branch that uses them (CASE evaluates a branch on its
# own rows). Most rows are presumed compliant or not in scope: their reasons are the same
# for everyone of an (org unit, arrangement) and period, made once per such pair
# (``presumed_reason``, ``binding_reason``), never per row.
REASON = f"""CASE
        WHEN w.binding_kind <> 'bound' OR w.directive_ref IS NULL THEN w.binding_reason
        WHEN w.presumed_compliant THEN w.presumed_reason
        WHEN w.covered > 0 AND w.n_workdays_j = 0
            THEN w.used_text || ' under ' || w.directive_ref
        WHEN w.kept_met
            THEN 'covered by agreement ' || w.agreement || ' (' || w.terms_text || '): '
                 || {text_sql("a_", "j")} || w.note
        WHEN w.first_filed IS NOT NULL
            THEN 'exemption request pending since ' || strftime(w.first_filed, '%Y-%m-%d')
                 || '; meanwhile ' || {text_sql("", "z")} || ', ' || w.directive_ref
                 || ' requires ' || w.requirement_text || w.note
        WHEN w.due_days <= 0 AND NOT w.measured_met
            THEN w.directive_ref || ' requires ' || w.requirement_text || ' from '
                 || strftime(w.due_from, '%Y-%m-%d') || '; so far ' || {text_sql("", "z")}
                 || w.note
        ELSE {text_sql("", "z")} || ': '
             || CASE WHEN w.measured_met THEN 'meets ' ELSE 'falls short of ' END
             || w.directive_ref || ' (' || w.requirement_text || ')' || w.note
    END"""

# _exemption_note: covered days, and approved exemptions of categories not allowed.
NOTE = """concat(
            CASE WHEN w.covered > 0
                 THEN printf('; exemption covered %d day(s) of the period', w.covered) END,
            CASE WHEN w.refused_text IS NOT NULL
                 THEN '; approved exemption (' || w.refused_text || ') is not a category '
                      || w.directive_ref || ' allows' END)"""
