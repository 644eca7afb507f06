"""``dutystation report KIND``: the reports leaders read, in the terminal or as CSV, XLSX,
JSON or HTML files. Thin: parse, call ``services.reporting.build_report``, write."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.access import SYSTEM
from dutystation.errors import ConfigError
from dutystation.reports.formats import Format, write_report
from dutystation.reports.terminal import Hints
from dutystation.services.disclosures import Stated, record_report_export, stated
from dutystation.settings import Settings

console = Console()


class ReportKind(StrEnum):
    """``services.reporting.KINDS``, as choices the help lists (a test keeps them equal)."""

    ONSITE_SHARE = "onsite-share"
    NOT_RETURNED = "not-returned"
    WORKFORCE = "workforce"
    COMPLIANCE_PLAN = "compliance-plan"
    DUTY_STATION_TEST = "duty-station-test"
    UTILISATION = "utilisation"
    DISCREPANCIES = "discrepancies"
    PRESENCE = "presence"
    CAPACITY = "capacity"
    BRIEFING = "briefing"
    ACKNOWLEDGEMENTS = "acknowledgements"
    GRIEVANCES = "grievances"
    DISTANCE = "distance"


class HoursChoice(StrEnum):
    FIRST_LAST = "first-last"
    PAIRS = "pairs"


class DirectionChoice(StrEnum):
    READER = "reader"
    ALTERNATING = "alternating"


DEFAULT_LIMIT = 100
TABLE_HINTS = Hints(
    columns="a wider terminal or --format csv, xlsx or html shows them",
    rows="--limit 0 shows all; --format csv, xlsx or json exports all",
)
_KIND_HELP = (
    "onsite-share: share of hours on and off site per org unit, weekly trend. "
    "not-returned: per component, everyone in scope with no day on site within --days of "
    "the deadline. workforce: entirely on site / telework eligible / remote. "
    "compliance-plan: compliance now, trend, expected full-compliance date, limits (seats). "
    "duty-station-test: teleworkers with fewer than two days a pay period at their duty "
    "station. utilisation: occupancy against seats per office. discrepancies: T&A against badges. "
    "presence: per employee and day from badges. capacity: per office, people expected "
    "on site at full compliance against seats, with a map. "
    "briefing: the four leader reports in one. "
    "acknowledgements: per directive and component, notices acknowledged and mail sent. "
    "grievances: per component, grievances under bargaining agreements and their status. "
    "distance: remote staff and teleworkers, home to the nearest agency office and the duty "
    "station, those beyond the distance limit per component (as of --to, default today)."
)


KIND = typer.Argument(..., help=_KIND_HELP, show_default=False)
PERIOD = typer.Option(
    None,
    "--period",
    "-p",
    help="2025-02-11, 2025-02-03..2025-02-28, 2025-W07, 2025-PP05, 2025-02, 2025-Q1 or "
    "since-directive (the default). Cut to the days with evidence.",
)
START = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="First day (not with --period).")
END = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last day (not with --period).")
ORG = typer.Option(
    None, "--org", help="Only this org unit and the units below it (rows: its children)."
)
FORMAT = typer.Option(Format.TABLE, "--format", "-f", help="Output format.")
OUTPUT = typer.Option(
    None,
    "--output",
    "-o",
    help="File to write. Default: standard output for csv and json; for xlsx and html a "
    "file named after the report and period in the current folder.",
)
SECTION = typer.Option(
    None,
    "--section",
    help="The section a CSV holds (default: the main one), or the only one a table shows.",
)
LIMIT = typer.Option(DEFAULT_LIMIT, "--limit", min=0, help="Rows per section in a table (0: all).")
DAYS = typer.Option(
    None,
    "--days",
    help="not-returned: days after the full-compliance deadline (default: the directive's "
    "not_returned_report_days, else 30).",
)
HOURS = typer.Option(
    None, "--hours", help="presence: first-last (span) or pairs (sum of IN/OUT pairs)."
)
DIRECTION = typer.Option(
    None, "--direction", help="presence: reader (as recorded) or alternating (IN, OUT, ...)."
)
PURPOSE = typer.Option(
    None,
    "--purpose",
    help="Why the file is made; recorded in the Privacy Act disclosure ledger of everyone "
    "it names (docs/privacy.md). Needed with --recipient.",
)
RECIPIENT = typer.Option(
    None,
    "--recipient",
    help="Who outside the agency receives the file (a person, office or agency); "
    "default: you, for use within the agency.",
)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@app.command("report")
def report(
    kind: ReportKind = KIND,
    period: str | None = PERIOD,
    start: datetime | None = START,
    end: datetime | None = END,
    org: str | None = ORG,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    section: str | None = SECTION,
    limit: int = LIMIT,
    days: int | None = DAYS,
    hours: HoursChoice | None = HOURS,
    direction: DirectionChoice | None = DIRECTION,
    purpose: str | None = PURPOSE,
    recipient: str | None = RECIPIENT,
    as_user: str | None = AS_OPTION,
) -> None:
    """Build a report and print or write it. Medical and disability exemption categories
    are never shown; bad input is one sentence and a non-zero exit. A file naming people
    is recorded in their disclosure ledger (docs/privacy.md); with --as the report is also
    limited to that user's scope."""
    # Imported here: the reporting stack (DuckDB queries, Altair, vl-convert) is heavy, and
    # every other command would pay for it at start-up.
    from dutystation.services.reporting import ReportRequest, build_report
    from dutystation.services.reporting.access import build_report_for

    said = stated(purpose, recipient)
    if fmt is Format.TABLE and (said.purpose or said.recipient):
        raise ConfigError(
            "--purpose and --recipient go with a file: --format csv, xlsx, json or html"
        )

    request = ReportRequest(
        kind=str(kind),
        period=period,
        start=_day(start),
        end=_day(end),
        org_unit=org,
        days=days,
        hours=str(hours) if hours else None,
        direction=str(direction) if direction else None,
    )
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user) if as_user else SYSTEM
    built = (
        build_report(runtime, request)
        if actor is SYSTEM
        else build_report_for(runtime, actor, request)
    )
    if fmt is not Format.TABLE:
        record_report_export(runtime.engine, actor, built, fmt.value, said, section=section)
    written = write_report(
        built,
        fmt,
        console=console,
        output=output,
        section=section,
        max_rows=limit or None,
        hints=TABLE_HINTS,
    )
    if written is not None:
        console.print(Text(f"wrote {written.resolve()}"), highlight=False, soft_wrap=True)


DEMO_ROWS = 15
DEMO_PURPOSE = Stated(purpose="demonstration: the briefing page of `dutystation demo`")


def print_demo_reports(settings: Settings, out: Console | None = None) -> Path:
    """The end of ``dutystation demo``: the onsite-share and not-returned reports in the
    terminal, and the briefing (all leader reports, with charts) as an HTML file in the
    data dir, whose path is printed and returned."""
    from dutystation.services.reporting import ReportRequest, briefing, leader_reports

    shown = out or console
    hints = Hints(
        columns="a wider terminal shows them",
        rows="dutystation report not-returned --format csv lists everyone",
    )
    runtime = bootstrap(settings)
    parts = {r.kind: r for r in leader_reports(runtime, ReportRequest("briefing"))}
    # The memo's figure per component, then who has not returned; the rest is in the HTML.
    for kind, sections in (("onsite-share", ["by-unit"]), ("not-returned", None)):
        write_report(
            parts[kind],
            Format.TABLE,
            console=shown,
            max_rows=DEMO_ROWS,
            hints=hints,
            sections=sections,
        )
    page = briefing(list(parts.values()))
    record_report_export(runtime.engine, SYSTEM, page, Format.HTML.value, DEMO_PURPOSE)
    path = write_report(
        page,
        Format.HTML,
        console=shown,
        output=settings.data_dir / "briefing.html",
    )
    assert path is not None  # an HTML report always goes to a file
    shown.print(Text(f"HTML report: {path.resolve()}"), highlight=False, soft_wrap=True)
    return path
