"""The dashboard's charts that no report draws: a unit's weekly trend from the snapshot's
figures and one person's hours by week. Vega-Lite specs through the reports' own chart
functions where one fits (``reports.charts``), drawn in the browser by vega-embed; each
has a title and a description, and the page shows the same figures in a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pyarrow as pa

from dutystation.reports import charts
from dutystation.reports.model import Chart

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def unit_label(code: str, own_staff_only: bool) -> str:
    return f"{code} (own staff)" if own_staff_only else code


def unit_shares(units: Sequence[Any]) -> Chart | None:
    """On-site and off-site share per unit (``status_overview.UnitFigures``)."""
    rows = [u for u in units if u.share_on_site is not None]
    if not rows:
        return None
    table = pa.table(
        {
            "unit": [unit_label(u.org_unit, u.own_staff_only) for u in rows],
            "share_on_site": [u.share_on_site for u in rows],
            "share_off_site": [round(1 - u.share_on_site, 4) for u in rows],
        }
    )
    lines = [
        f"{unit_label(u.org_unit, u.own_staff_only)} {u.share_on_site:.1%} on site" for u in rows
    ]
    return charts.share_bars(
        table,
        title="Share of hours worked on site and off site",
        description="Stacked bars per org unit. " + "; ".join(lines) + ".",
    )


def weekly_trend(units: Sequence[Any]) -> Chart | None:
    """One line per unit: the share of hours on site, week by week since the directive."""
    points = [
        (unit_label(u.org_unit, u.own_staff_only), w.week_start, w.share_on_site)
        for u in units
        for w in u.weeks
        if w.share_on_site is not None
    ]
    if not points:
        return None
    unit, week_start, share = zip(*points, strict=True)
    table = pa.table({"unit": unit, "week_start": week_start, "share_on_site": share})
    return charts.weekly_lines(
        table,
        value="share_on_site",
        value_title="share of hours on site",
        title="Weekly share of hours worked on site",
        description="One line per org unit, one point per week since the directive, from 0 "
        "to 100 % on site. The table below gives every value.",
    )


def person_weeks(weeks: Sequence[Any]) -> Chart | None:
    """One person's hours by week (``status.WeekStatus``): at the duty station (field work
    and travel included) and elsewhere, stacked, with the hours required as a black tick."""
    if not weeks:
        return None
    values = [
        {
            "week": w.week,
            "where": where,
            "hours": hours,
            "required": w.hours_required,
        }
        for w in weeks
        for where, hours in (
            ("at the duty station", w.hours_on_site + w.hours_field_travel),
            ("elsewhere", w.hours_off_site),
        )
    ]
    data = alt.InlineData(values=values)
    order = [w.week for w in weeks]
    x = alt.X("week:N", sort=order, title="ISO week", axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("hours:Q", stack="zero", title="hours (black tick: required on site)"),
            color=alt.Color(
                "where:N",
                title=None,
                sort=["at the duty station", "elsewhere"],
                scale=alt.Scale(range=[charts.ON_SITE_COLOUR, charts.OFF_SITE_COLOUR]),
            ),
            order=alt.Order("where:N", sort="ascending"),
            tooltip=["week:N", "where:N", alt.Tooltip("hours:Q", format=".1f")],
        )
    )
    ticks = (
        alt.Chart(data)
        .transform_filter("datum.where === 'elsewhere'")
        .mark_tick(color="#1a1a1a", thickness=3)
        .encode(x=x, y="required:Q", tooltip=["week:N", alt.Tooltip("required:Q", format=".1f")])
    )
    spec = (
        alt.layer(bars, ticks)
        .properties(
            width=alt.Step(64),
            height=240,
            title="Hours by week",
            description="Hours worked at the duty station and elsewhere per week, against "
            "the hours required on site.",
        )
        .configure(font=FONT)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor="#1a1a1a")
        .configure_legend(orient="bottom", labelFontSize=12)
        .configure_view(stroke=None)
        .to_dict()
    )
    return Chart(
        spec=spec,
        title="Hours by week",
        description="Stacked bars per ISO week: hours at the duty station (blue) and "
        "elsewhere (orange); the black tick is the hours required on site. The table below "
        "gives every value.",
    )
