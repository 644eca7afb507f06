"""Vega-Lite specs (built with Altair) for the report charts.

Each function takes a small table the reporting service has already computed and returns
a ``Chart``; the specs only draw (encode, fold, label), they never aggregate, so the chart
and the table beside it always show the same figures. Data is inlined as values: the spec
is complete on its own and vl-convert renders it offline.

Colours: the on-site / off-site pair is blue and orange (distinguishable with the common
colour-vision deficiencies); series per org unit use the ``tableau10`` scheme and every
series is also labelled or in the legend, so colour is never the only cue."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import altair as alt
import pyarrow as pa

from dutystation.reports.model import Chart

ON_SITE_COLOUR = "#1b6ca8"
OFF_SITE_COLOUR = "#c55a11"
WIDTH = 640
_FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def _values(table: pa.Table, columns: Sequence[str]) -> list[dict[str, Any]]:
    rows = table.select(list(columns)).to_pylist()
    return [
        {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in row.items()}
        for row in rows
    ]


class Datasets:
    """Values a chart refers to by name (``add``) and ``_finish`` puts in the spec's
    top-level ``datasets``, where Altair would have moved them, under the name it would
    have given them. Altair deep-copies inline values at every step of building a chart
    and validates each of them: two seconds for a map of 2,000 offices on a loaded
    machine, against milliseconds for the rest of the spec."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, values: Any, data_format: Any = None) -> alt.NamedData:
        name = dataset_name(values)
        self.values[name] = values
        if data_format is None:
            return alt.NamedData(name=name)
        return alt.NamedData(name=name, format=data_format)


def dataset_name(values: Any) -> str:
    """The name Altair gives inline values it moves to ``datasets``."""
    text = json.dumps(values, sort_keys=True, default=str)
    return "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _finish(
    chart: alt.TopLevelMixin, title: str, description: str, datasets: Datasets | None = None
) -> Chart:
    spec = (
        chart.properties(title=title, description=description)
        .configure(font=_FONT)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor="#1a1a1a")
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="bottom")
        .configure_view(stroke=None)
        .to_dict()
    )
    if datasets is not None:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets.values}
    return Chart(spec=spec, title=title, description=description)


def _markers(markers: Sequence[tuple[date, str]]) -> alt.LayerChart | None:
    """Dashed vertical rules with a label at the top: the directive date, deadlines."""
    if not markers:
        return None
    data = alt.InlineData(values=[{"date": d.isoformat(), "label": text} for d, text in markers])
    base = alt.Chart(data).encode(x="date:T")
    rule = base.mark_rule(strokeDash=[4, 4], color="#4a4a4a")
    text = base.mark_text(align="left", dx=4, dy=-4, baseline="bottom", color="#1a1a1a").encode(
        text="label:N", y=alt.value(0)
    )
    return alt.LayerChart(layer=[rule, text])


def share_bars(table: pa.Table, *, title: str, description: str) -> Chart:
    """On-site and off-site share of hours side by side, one bar per org unit.
    ``table``: ``unit, share_on_site, share_off_site``."""
    data = alt.InlineData(values=_values(table, ["unit", "share_on_site", "share_off_site"]))
    order = table.column("unit").to_pylist()
    base = (
        alt.Chart(data)
        .transform_fold(["share_on_site", "share_off_site"], as_=["where", "share"])
        .transform_calculate(
            place="datum.where === 'share_on_site' ? 'on site' : 'off site'",
            rank="datum.where === 'share_on_site' ? 0 : 1",
        )
        .encode(
            y=alt.Y("unit:N", sort=order, title=None),
            x=alt.X(
                "share:Q", stack="zero", axis=alt.Axis(format="%"), title="share of hours worked"
            ),
            order=alt.Order("rank:Q"),
        )
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "place:N",
            scale=alt.Scale(
                domain=["on site", "off site"], range=[ON_SITE_COLOUR, OFF_SITE_COLOUR]
            ),
            title=None,
        ),
        tooltip=["unit:N", "place:N", alt.Tooltip("share:Q", format=".1%")],
    )
    labels = (
        base.transform_filter("datum.share >= 0.06")
        .transform_stack(
            stack="share", groupby=["unit"], sort=[alt.SortField("rank")], as_=["x0", "x1"]
        )
        .transform_calculate(mid="(datum.x0 + datum.x1) / 2")
        .mark_text(color="white", fontWeight="bold")
        .encode(x="mid:Q", text=alt.Text("share:Q", format=".1%"))
    )
    chart = (bars + labels).properties(width=WIDTH, height=alt.Step(28))
    return _finish(chart, title, description)


def weekly_lines(
    table: pa.Table,
    *,
    value: str,
    value_title: str,
    title: str,
    description: str,
    markers: Sequence[tuple[date, str]] = (),
    dash: str | None = None,
) -> Chart:
    """One line per org unit over weeks. ``table``: ``unit, week_start, <value>`` (and
    ``<dash>``, a text column drawn as solid or dashed, e.g. observed / projected)."""
    columns = ["unit", "week_start", value, *([dash] if dash else [])]
    data = alt.InlineData(values=_values(table, columns))
    encoding: dict[str, Any] = {
        "x": alt.X("week_start:T", title="week starting", axis=alt.Axis(format="%d %b")),
        "y": alt.Y(
            f"{value}:Q",
            title=value_title,
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        "color": alt.Color("unit:N", title="org unit", scale=alt.Scale(scheme="tableau10")),
        "tooltip": ["unit:N", "week_start:T", alt.Tooltip(f"{value}:Q", format=".1%")],
    }
    if dash:
        encoding["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=None)
    lines = alt.Chart(data).mark_line(point=True, strokeWidth=2).encode(**encoding)
    rules = _markers(markers)
    chart = lines if rules is None else alt.LayerChart(layer=[lines, rules])
    return _finish(chart.properties(width=WIDTH, height=320), title, description)


def capacity_bars(
    table: pa.Table,
    *,
    measures: Sequence[tuple[str, str]],
    title: str,
    description: str,
) -> Chart:
    """Per office, people against seats. ``table``: ``office, seats`` and the ``measures``
    columns (name, legend label), e.g. demand at full compliance, or average and peak
    daily occupancy. Bars are the measures, a black tick marks the seats."""
    names = [name for name, _ in measures]
    folded: list[str | alt.FieldName] = [*names]
    datasets = Datasets()
    data = datasets.add(_values(table, ["office", "seats", *names]))
    order = table.column("office").to_pylist()
    labels = dict(measures)
    expr = " : ".join(f"datum.measure === '{n}' ? '{labels[n]}'" for n in names) + " : ''"
    y = alt.Y("office:N", sort=order, title=None)
    bars = (
        alt.Chart(data)
        .transform_fold(folded, as_=["measure", "people"])
        .transform_calculate(what=expr)
        .mark_bar()
        .encode(
            y=y,
            yOffset=alt.YOffset("what:N", sort=[labels[n] for n in names]),
            x=alt.X("people:Q", title="people per day (black tick: seats)"),
            color=alt.Color(
                "what:N",
                title=None,
                sort=[labels[n] for n in names],
                scale=alt.Scale(range=[ON_SITE_COLOUR, OFF_SITE_COLOUR, "#6a3d9a"]),
            ),
            tooltip=["office:N", "what:N", alt.Tooltip("people:Q", format=",.0f")],
        )
    )
    seats = (
        alt.Chart(data)
        .mark_tick(color="#1a1a1a", thickness=3, size=22)
        .encode(y=y, x="seats:Q", tooltip=["office:N", alt.Tooltip("seats:Q", format=",")])
    )
    chart = alt.layer(bars, seats).properties(width=WIDTH, height=alt.Step(30))
    return _finish(chart, title, description, datasets)


def utilisation_bars(
    table: pa.Table,
    *,
    measures: Sequence[tuple[str, str]],
    title: str,
    description: str,
) -> Chart:
    """Per office, occupancy as a share of seats, with a rule at 100 % (full): offices of
    every size on one scale. ``table``: ``office`` and the ``measures`` share columns."""
    names = [name for name, _ in measures]
    folded: list[str | alt.FieldName] = [*names]
    labels = dict(measures)
    expr = " : ".join(f"datum.measure === '{n}' ? '{labels[n]}'" for n in names) + " : ''"
    order = table.column("office").to_pylist()
    bars = (
        alt.Chart(alt.InlineData(values=_values(table, ["office", *names])))
        .transform_fold(folded, as_=["measure", "share"])
        .transform_calculate(what=expr)
        .mark_bar()
        .encode(
            y=alt.Y("office:N", sort=order, title=None),
            yOffset=alt.YOffset("what:N", sort=[labels[n] for n in names]),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of seats occupied"),
            color=alt.Color(
                "what:N",
                title=None,
                sort=[labels[n] for n in names],
                scale=alt.Scale(range=[ON_SITE_COLOUR, OFF_SITE_COLOUR]),
            ),
            tooltip=["office:N", "what:N", alt.Tooltip("share:Q", format=".0%")],
        )
    )
    full = (
        alt.Chart(alt.InlineData(values=[{"full": 1.0}]))
        .mark_rule(color="#1a1a1a", strokeDash=[4, 4])
        .encode(x="full:Q")
    )
    chart = alt.LayerChart(layer=[bars, full]).properties(width=WIDTH, height=alt.Step(14))
    return _finish(chart, title, description)


def composition_bars(
    table: pa.Table,
    *,
    categories: Sequence[str],
    title: str,
    description: str,
) -> Chart:
    """Stacked shares of the workforce per org unit. ``table``: ``unit`` and one share
    column per category (name = the label shown), in stacking order."""
    data = alt.InlineData(values=_values(table, ["unit", *categories]))
    order = table.column("unit").to_pylist()
    rank = " : ".join(f"datum.category === '{c}' ? {i}" for i, c in enumerate(categories))
    chart = (
        alt.Chart(data)
        .transform_fold([*categories], as_=["category", "share"])
        .transform_calculate(rank=f"{rank} : {len(categories)}")
        .mark_bar()
        .encode(
            y=alt.Y("unit:N", sort=order, title=None),
            x=alt.X("share:Q", stack="zero", axis=alt.Axis(format="%"), title="share of employees"),
            color=alt.Color(
                "category:N",
                sort=list(categories),
                title=None,
                scale=alt.Scale(range=[ON_SITE_COLOUR, "#7fb2d9", OFF_SITE_COLOUR]),
            ),
            order=alt.Order("rank:Q"),
            tooltip=["unit:N", "category:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=WIDTH, height=alt.Step(28))
    )
    return _finish(chart, title, description)
