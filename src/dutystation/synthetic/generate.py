"""Generate the whole fictional department and write its files: the entry point of the
synthetic package. Every random draw comes from one seed, split per stage, so a stage
can change without shifting the others' numbers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dutystation.errors import DutystationError
from dutystation.synthetic import agreements, writer
from dutystation.synthetic.attendance import build_cells, offsite_share
from dutystation.synthetic.badges import build_badge_events
from dutystation.synthetic.history import MODE_NAMES, build_history
from dutystation.synthetic.offices import build_offices
from dutystation.synthetic.org import build_org
from dutystation.synthetic.people import build_people
from dutystation.synthetic.roster import roster_table
from dutystation.synthetic.spec import COMPONENTS, DEPARTMENT_CODE
from dutystation.synthetic.timeline import DIRECTIVE, Timeline

DEFAULT_SEED = 2025
DEFAULT_EMPLOYEES = 20_000
MIN_EMPLOYEES = 1_000  # below this some units would have no supervisor to speak of
MAX_EMPLOYEES = 250_000

FILE_NAMES = {
    "org-units": "org-units.csv",
    "offices": "offices.xlsx",
    "roster": "roster.csv",
    "timecards": "timecards.txt",
    "badges": "badges.csv.gz",
    "agreements": "agreements.toml",
    "exemption-requests": "exemption-requests.csv",
    "manifest": "demo-manifest.json",
}


@dataclass
class GeneratedDemo:
    out_dir: Path
    seed: int
    employees: int
    offices: int
    files: dict[str, Path]
    rows: dict[str, int]
    # Off-site share of hours worked before the directive, per component code.
    offsite_before: dict[str, float]
    offsite_last_two_weeks: dict[str, float]
    modes: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)


def check_arguments(employees: int, seed: int) -> None:
    if not MIN_EMPLOYEES <= employees <= MAX_EMPLOYEES:
        raise DutystationError(
            f"the demo generates between {MIN_EMPLOYEES:,} and {MAX_EMPLOYEES:,} employees, "
            f"not {employees:,}"
        )
    if seed < 0:
        raise DutystationError(f"the seed is a whole number >= 0, not {seed}")


def generate_demo(
    out_dir: Path,
    *,
    employees: int = DEFAULT_EMPLOYEES,
    seed: int = DEFAULT_SEED,
    on_step: Callable[[str], None] | None = None,
) -> GeneratedDemo:
    check_arguments(employees, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now
        if on_step is not None:
            on_step(name)

    files = {kind: out_dir / name for kind, name in FILE_NAMES.items()}
    rows: dict[str, int] = {}
    timeline = Timeline()
    org = build_org()
    offices = build_offices(org, employees, rng[0])
    people = build_people(org, offices, timeline, employees, rng[1])
    history = build_history(org, offices, people, timeline, rng[2])
    step("department")
    rows["org-units"] = writer.write_org_units(org, files["org-units"])
    rows["offices"] = writer.write_offices(org, offices, history.seats, files["offices"])
    rows["roster"] = writer.write_roster(
        roster_table(org, offices, people, history, timeline), files["roster"]
    )
    rows["agreements"] = agreements.write_agreements(files["agreements"])
    rows["exemption-requests"] = agreements.write_exemption_requests(
        people, history, timeline, files["exemption-requests"]
    )
    step("reference files")
    cells = build_cells(people, history, timeline, rng[3])
    rows["timecards"] = writer.write_timecards(
        cells, people, history, offices, timeline, files["timecards"]
    )
    step("timecards")
    events = build_badge_events(cells, people, history, offices, timeline, rng[4])
    rows["badges"] = writer.write_badges(events, offices, files["badges"])
    step("badges")

    codes = [f"{DEPARTMENT_CODE}-{c.suffix}" for c in COMPONENTS]
    d0 = timeline.index(DIRECTIVE)
    before = offsite_share(cells, people.component, cells.day < d0, len(COMPONENTS))
    last = offsite_share(
        cells, people.component, cells.day >= timeline.n_days - 14, len(COMPONENTS)
    )
    result = GeneratedDemo(
        out_dir=out_dir,
        seed=seed,
        employees=employees,
        offices=len(offices),
        files=files,
        rows=rows,
        offsite_before={c: round(float(v), 4) for c, v in zip(codes, before, strict=True)},
        offsite_last_two_weeks={c: round(float(v), 4) for c, v in zip(codes, last, strict=True)},
        modes={
            name: int(k)
            for name, k in zip(
                MODE_NAMES, np.bincount(history.mode, minlength=len(MODE_NAMES)), strict=True
            )
        },
        timings=timings,
    )
    _write_manifest(result, timeline)
    return result


def _write_manifest(result: GeneratedDemo, timeline: Timeline) -> None:
    manifest = {
        "generator": "dutystation demo",
        "seed": result.seed,
        "employees": result.employees,
        "offices": result.offices,
        "window": [timeline.start.isoformat(), timeline.end.isoformat()],
        "directive": DIRECTIVE.isoformat(),
        "files": {k: p.name for k, p in result.files.items()},
        "rows": result.rows,
        "offsite_share_of_hours_before_directive": result.offsite_before,
        "offsite_share_of_hours_last_two_weeks": result.offsite_last_two_weeks,
        "after_directive_modes": result.modes,
    }
    result.files["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
