"""``dutystation designate``: propose, apply or discard a designation plan (remote staff to
agency offices; docs/designation.md). Thin: parse, call ``services.designation``, print."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.errors import ConfigError
from dutystation.reports.formats import Format, write_report
from dutystation.services.disclosures import NatureKind, record_report_export, stated

console = Console()
DAY_FORMATS = ["%Y-%m-%d"]
OUT_FORMATS = {".csv": Format.CSV, ".xlsx": Format.XLSX, ".json": Format.JSON}
TERMINAL_SECTIONS = ("summary", "what-if", "excluded-offices")

PLAN = typer.Option(False, "--plan", help="Propose a plan (stored as 'proposed').")
APPLY = typer.Option(None, "--apply", help="Record plan PLAN_ID's designations.", metavar="PLAN_ID")
DISCARD = typer.Option(None, "--discard", help="Drop proposed plan PLAN_ID.", metavar="PLAN_ID")
ON = typer.Option(
    None,
    "--on",
    formats=DAY_FORMATS,
    help="Roster, homes and seats as of this day (default: today).",
)
EFFECTIVE = typer.Option(
    None,
    "--effective",
    formats=DAY_FORMATS,
    help="First day of the designations (default: the --on day).",
)
ORG = typer.Option(None, "--org", help="Only staff of this org unit and the units below it.")
RULES = typer.Option(
    None,
    "--rules",
    help="Designation rules (TOML); default: the designation_rules_file setting, else built-in.",
)
ADD_SEATS = typer.Option(
    None, "--add-seats", help="What-if: SITE=N more seats at an office (repeatable)."
)
OPEN = typer.Option(
    None,
    "--open",
    help="What-if: open SITE=N, a stored office with no seats or one of --offices-file "
    "(repeatable; N defaults to the file's seats).",
)
CLOSE = typer.Option(None, "--close", help="What-if: close SITE (repeatable).")
OFFICES_FILE = typer.Option(
    None, "--offices-file", help="TOML of proposed offices for --open ([[office]] tables)."
)
OUT = typer.Option(
    None,
    "--out",
    "-o",
    help="Write the plan: .csv (one row per person), .xlsx or .json (every section).",
)


def _pairs(values: list[str] | None, option: str, *, value_needed: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in values or []:
        site, sep, number = item.partition("=")
        site = site.strip()
        if not site or (value_needed and not sep):
            raise ConfigError(f"{option} takes SITE=N, not {item!r}")
        count = 0
        if sep:
            if not number.strip().isdigit() or int(number) < 1:
                raise ConfigError(f"{option} {site}: N must be a whole number of seats, 1 or more")
            count = int(number)
        if site in out:
            raise ConfigError(f"{option} names {site} twice")
        out[site] = count
    return out


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@app.command("designate")
def designate(
    plan: bool = PLAN,
    apply: int | None = APPLY,
    discard: int | None = DISCARD,
    on: datetime | None = ON,
    effective: datetime | None = EFFECTIVE,
    org: str | None = ORG,
    rules: Path | None = RULES,
    add_seats: list[str] | None = ADD_SEATS,
    open_sites: list[str] | None = OPEN,
    close: list[str] | None = CLOSE,
    offices_file: Path | None = OFFICES_FILE,
    out: Path | None = OUT,
    purpose: str | None = typer.Option(
        None,
        "--purpose",
        help="--out: why the file is made; recorded in the disclosure ledger of everyone "
        "it names (docs/privacy.md). Needed with --recipient.",
    ),
    recipient: str | None = typer.Option(
        None, "--recipient", help="--out: who outside the agency receives it; default: you."
    ),
    as_user: str | None = AS_OPTION,
) -> None:
    """Designate remote staff to agency offices under the directive's distance rule, by
    duties and job function, within free seats. Review a plan (--plan, --out), then
    record it (--apply PLAN_ID) or drop it (--discard PLAN_ID)."""
    from dutystation.services.designation import (
        PlanRequest,
        apply_designations,
        discard_designations,
        plan_designations,
    )
    from dutystation.services.designation_inputs import WhatIf, load_proposed_offices

    modes = [plan, apply is not None, discard is not None]
    if sum(modes) != 1:
        raise ConfigError("give exactly one of --plan, --apply PLAN_ID, --discard PLAN_ID")
    fmt = None
    if out is not None:
        fmt = OUT_FORMATS.get(out.suffix.lower())
        if fmt is None or not plan:
            raise ConfigError("--out goes with --plan and names a .csv, .xlsx or .json file")
    said = stated(purpose, recipient)
    if out is None and (said.purpose or said.recipient):
        raise ConfigError("--purpose and --recipient go with --out")
    runtime = bootstrap()
    actor = resolve_actor(runtime, as_user)
    if apply is not None:
        count = apply_designations(runtime, actor, apply)
        console.print(Text(f"designation plan {apply} applied: {count} designation(s) recorded"))
        return
    if discard is not None:
        count = discard_designations(runtime, actor, discard)
        console.print(Text(f"designation plan {discard} discarded ({count} proposal(s) removed)"))
        return
    proposed = tuple(load_proposed_offices(offices_file)) if offices_file else ()
    what_if = WhatIf(
        add_seats=_pairs(add_seats, "--add-seats", value_needed=True),
        open=_pairs(open_sites, "--open", value_needed=False),
        close=tuple(_pairs(close, "--close", value_needed=False)),
        proposed=proposed,
    )
    request = PlanRequest(
        day=_day(on) or date.today(),
        effective_from=_day(effective),
        org_unit=org,
        rules_file=rules,
        what_if=what_if,
    )
    outcome = plan_designations(runtime, actor, request)
    report = outcome.report
    shown = [s.key for s in report.sections if s.key in TERMINAL_SECTIONS and s.rows]
    write_report(report, Format.TABLE, console=console, sections=shown or ["summary"])
    if out is not None and fmt is not None:
        nature = f"designation plan {outcome.plan_id} ({fmt.value})"
        plan_export = NatureKind.PLAN_EXPORT
        record_report_export(
            runtime.engine,
            actor,
            report,
            fmt.value,
            said,
            section="people",
            kind=plan_export,
            nature=nature,
        )
        written = write_report(report, fmt, console=console, output=out, section="people")
        console.print(Text(f"wrote {written.resolve() if written else out}"))
    console.print(
        Text(
            f"plan {outcome.plan_id} saved as proposed; review it"
            + ("" if out else " with --out plan.xlsx")
            + (
                f", then dutystation designate --apply {outcome.plan_id}"
                if what_if.empty
                else " (a what-if plan cannot be applied)"
            )
        )
    )
