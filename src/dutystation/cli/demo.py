"""``dutystation demo``: a fictional department, generated and imported in one command."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.cli import app
from dutystation.cli.progress import progress_for
from dutystation.services.demo import DemoResult, default_out_dir, run_demo
from dutystation.services.demo_people import GOVERNMENT_WIDE_ORDER, DemoPeople
from dutystation.settings import load_settings
from dutystation.synthetic import DEFAULT_EMPLOYEES, DEFAULT_SEED, MAX_EMPLOYEES, MIN_EMPLOYEES
from dutystation.synthetic.generate import check_arguments
from dutystation.synthetic.spec import COMPONENTS, DEPARTMENT_CODE, DEPARTMENT_NAME

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


EMPLOYEES = typer.Option(
    DEFAULT_EMPLOYEES,
    "--employees",
    "-n",
    help=f"How many employees the fictional department has ({MIN_EMPLOYEES:,} to "
    f"{MAX_EMPLOYEES:,}).",
)
SEED = typer.Option(DEFAULT_SEED, "--seed", help="Random seed: the same seed, the same files.")
OUT = typer.Option(
    None, "--out", help="Where to write the generated files (default: DATA_DIR/demo-files)."
)
FRESH = typer.Option(False, "--fresh", help="Delete the data dir (database, events) first.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress output.")


@app.command("demo")
def demo(
    employees: int = EMPLOYEES,
    seed: int = SEED,
    out: Path | None = OUT,
    fresh: bool = FRESH,
    quiet: bool = QUIET,
) -> None:
    """Generate the fictional "Department of Example Affairs (synthetic)" (org units,
    offices, an effective-dated roster, 16 weeks of T&A hours and badge events around the
    January 2025 return-to-office directive) and import it as a user would."""
    check_arguments(employees, seed)  # before --fresh touches anything
    settings = load_settings()
    target = out or default_out_dir(settings)
    if not quiet:
        console.print(
            Text(
                f"Generating {DEPARTMENT_NAME}: {employees:,} employees, seed {seed}, "
                f"files in {target}"
            )
        )
    started = time.perf_counter()

    def on_step(name: str) -> None:
        if quiet:
            return
        console.print(Text(f"  {time.perf_counter() - started:6.1f} s  {name}", style="dim"))

    progress = progress_for(err_console, quiet)
    try:
        result = run_demo(
            settings,
            employees=employees,
            seed=seed,
            out_dir=target,
            fresh=fresh,
            progress=progress,
            on_step=on_step,
        )
    finally:
        progress.finish()
    _print_result(result, time.perf_counter() - started)
    if not quiet:
        # The demo ends the way a leader's week starts: the memo's metric, who has not
        # returned, and the HTML briefing.
        from dutystation.cli.reports import print_demo_reports

        print_demo_reports(settings, console)
    _print_people(result.people)


def _print_result(result: DemoResult, seconds: float) -> None:
    table = Table(title=f"Loaded {DEPARTMENT_NAME}", box=box.SIMPLE_HEAD)
    table.add_column("kind", no_wrap=True)
    table.add_column("file", no_wrap=True)
    for name in ("rows read", "stored", "duplicates", "rejected"):
        table.add_column(name, justify="right", no_wrap=True)
    for step in result.imports:
        s = step.summary
        table.add_row(
            str(step.kind),
            step.path.name,
            f"{s.rows_read:,}",
            f"{s.rows_stored:,}",
            f"{s.duplicates:,}",
            f"{s.rows_rejected:,}",
        )
    if result.exemptions is not None:
        x = result.exemptions
        table.add_row(
            "exemptions",
            "exemption-requests.csv",
            f"{x.rows:,}",
            f"{x.added + x.updated:,}",
            f"{x.unchanged:,}",
            "0",
        )
    console.print(table)
    gen = result.generated
    memo = {f"{DEPARTMENT_CODE}-{c.suffix}": c.memo_offsite for c in COMPONENTS}
    figures = ", ".join(
        f"{code} {share:.1%}" + (f" (memo {memo[code]:.1%})" if memo[code] else "")
        for code, share in gen.offsite_before.items()
    )
    console.print(Text(f"Off-site share of hours before the directive: {figures}"))
    console.print(
        Text(
            f"{gen.employees:,} employees, {gen.offices} offices; generated in "
            f"{result.generate_seconds:.1f} s, {seconds:.1f} s in all. Files: {gen.out_dir} "
            "(exemption-requests.csv is imported as exemption requests, agreements.toml "
            "as bargaining agreements, with one grievance filed under them)."
        )
    )
    sys.stdout.flush()


def _print_people(people: DemoPeople | None) -> None:
    """Who to act as: each demo account, its role and scope, and a command to try."""
    if people is None:
        console.print(
            Text(
                "The store holds users of its own, so the demo made no accounts or requests "
                "(run it with --fresh on its own data dir to get them)."
            )
        )
        return
    table = Table(
        title="Try it as each role (--as USERNAME, or DUTYSTATION_AS)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for name in ("user", "role", "scope", "try"):
        table.add_column(name, no_wrap=name != "try")
    for user in people.users:
        table.add_row(user.username, user.roles, user.scope, user.example)
    console.print(table)
    ids = {k: people.requests.get(k, "?") for k in ("approved", "denied", "medical", "pending")}
    made = "" if people.created else " (made by an earlier run)"
    console.print(
        Text(
            f"Requests{made}: {ids['approved']} approved by the supervisor and the agency head; "
            f"{ids['denied']} denied by the component head; {ids['medical']} medical, pending "
            f"(only ra reads its justification); {ids['pending']} pending, certified by the "
            "supervisor, waiting for the component head: "
            f'dutystation exemptions decide {ids["pending"]} --approve --reason "desk found" '
            "--as leader"
        )
    )
    if people.notice_id is not None:
        console.print(
            Text(
                f"Notice {people.notice_id} announces {GOVERNMENT_WIDE_ORDER}; the employee "
                "acknowledged it. "
                f"No mail was sent: {people.mails_waiting:,} mails wait in the outbox "
                "(`dutystation notices deliver` sends them once smtp_host is set)."
            )
        )
    console.print(
        Text(
            f"Every demo account has the password {people.password!r} (demo only: never use "
            "it for real accounts). The command line needs no password; the web sign-in "
            "that uses it comes with `dutystation serve` later."
        )
    )
