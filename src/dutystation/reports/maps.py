"""A map of the United States drawn offline: offices and people, over state shapes shipped
inside the package (no tile server, no download, nothing loaded when the page opens).

The shapes are ``assets/us-states-10m.json``, the ``states-10m.json`` TopoJSON of the npm
package us-atlas 3.0.1 (U.S. Census Bureau cartographic boundaries, 2017; ISC licence,
``assets/LICENSE-us-atlas.txt``). The spec inlines them with the points and uses Vega-Lite's
``albersUsa`` projection (the lower 48 states with Alaska and Hawaii moved in beside them),
so vl-convert draws the whole map to SVG, like every other chart (``reports/charts.py``).
Points outside that projection (Puerto Rico, Guam, abroad) would be drawn in a corner, so
they are left out here (``domain.capacity.on_us_map``); the caller says so in the notes.

The map draws what it is given: aggregated places (an office, a ZIP3 area), never a
person's home; the service that builds the points is responsible for that."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import altair as alt
import pyarrow as pa

from dutystation.domain.capacity import on_us_map
from dutystation.reports.charts import (
    OFF_SITE_COLOUR,
    ON_SITE_COLOUR,
    WIDTH,
    Datasets,
    _finish,
    _values,
    dataset_name,
)
from dutystation.reports.model import Chart

STATES_ASSET = "us-states-10m.json"
_STATE_FILL = "#e8e8e8"
_STATE_STROKE = "#ffffff"
_UNPLACED_COLOUR = "#6a3d9a"
_FITS, _SHORT = "seats for everyone", "short of seats"
_SHAPES_PLACEHOLDER = [{"shapes": STATES_ASSET}]


@cache
def us_states_topology() -> dict[str, Any]:
    """The shipped TopoJSON (objects ``states`` and ``nation``), read once."""
    text = (resources.files("dutystation.reports") / "assets" / STATES_ASSET).read_text("utf-8")
    topology: dict[str, Any] = json.loads(text)
    return topology


def _states(datasets: Datasets) -> alt.Chart:
    # By name, like the points (``charts.Datasets``): Altair deep-copies inline data at
    # every step, which for 115 kB of arcs took a second and a half per map. The name is
    # that of a placeholder, so it does not hash the arcs on every map.
    data = alt.NamedData(
        name=dataset_name(_SHAPES_PLACEHOLDER),
        format=alt.TopoDataFormat(type="topojson", feature="states"),
    )
    datasets.values[data.name] = us_states_topology()
    shapes: alt.Chart = alt.Chart(data).mark_geoshape(
        fill=_STATE_FILL, stroke=_STATE_STROKE, strokeWidth=0.8
    )
    return shapes


def _drawn(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in rows
        if r["latitude"] is not None
        and r["longitude"] is not None
        and on_us_map(r["latitude"], r["longitude"])
    ]


def capacity_map(
    offices: pa.Table,
    unplaced: pa.Table,
    *,
    title: str,
    description: str,
) -> Chart:
    """Offices as circles sized by seats, orange where the people expected exceed them;
    unplaced people as purple triangles sized by their number.

    ``offices``: ``place, latitude, longitude, seats, expected, shortfall``;
    ``unplaced``: ``place, latitude, longitude, people``. Both already aggregated."""
    office_values = _drawn(
        _values(offices, ["place", "latitude", "longitude", "seats", "expected", "shortfall"])
    )
    for row in office_values:
        row["seats_status"] = _SHORT if (row["shortfall"] or 0) > 0 else _FITS
    datasets = Datasets()
    position = {
        "longitude": alt.Longitude("longitude:Q"),
        "latitude": alt.Latitude("latitude:Q"),
    }
    dots = (
        alt.Chart(datasets.add(office_values))
        .mark_circle(opacity=0.75, stroke="#1a1a1a", strokeWidth=0.5)
        .encode(
            **position,
            size=alt.Size(
                "seats:Q", title="seats", scale=alt.Scale(range=[20, 600]), legend=alt.Legend()
            ),
            color=alt.Color(
                "seats_status:N",
                title="office",
                scale=alt.Scale(domain=[_FITS, _SHORT], range=[ON_SITE_COLOUR, OFF_SITE_COLOUR]),
            ),
            order=alt.Order("shortfall:Q"),  # short offices drawn on top
            tooltip=[
                alt.Tooltip("place:N", title="office"),
                alt.Tooltip("seats:Q", format=","),
                alt.Tooltip("expected:Q", format=",.1f", title="expected on the peak day"),
                alt.Tooltip("shortfall:Q", format=",", title="short by"),
            ],
        )
    )
    layers: list[alt.Chart] = [_states(datasets), dots]
    if unplaced.num_rows:
        values = _drawn(_values(unplaced, ["place", "latitude", "longitude", "people"]))
        for row in values:
            row["what"] = "unplaced staff"
        layers.append(
            alt.Chart(datasets.add(values))
            .mark_point(shape="triangle-up", filled=True, opacity=0.85, color=_UNPLACED_COLOUR)
            .encode(
                **position,
                size=alt.Size("people:Q", title="unplaced staff", scale=alt.Scale(range=[30, 500])),
                shape=alt.Shape(
                    "what:N",
                    title=None,
                    scale=alt.Scale(domain=["unplaced staff"], range=["triangle-up"]),
                ),
                tooltip=[alt.Tooltip("place:N", title="area"), alt.Tooltip("people:Q", format=",")],
            )
        )
    chart = (
        alt.layer(*layers)
        .resolve_scale(size="independent")
        .project(type="albersUsa")
        .properties(width=WIDTH, height=400)
    )
    return _finish(chart, title, description, datasets)
