"""The ``dutystation`` command line. Thin: parse, call a service, print.

Every DutystationError becomes one sentence on stderr and its exit code; any other
exception is a bug and is reported as such, without a traceback unless
DUTYSTATION_DEBUG=1."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console
from rich.text import Text

from dutystation import __version__
from dutystation.errors import DutystationError
from dutystation.store.faults import fault_of

app = typer.Typer(
    name="dutystation",
    help=(
        "Evidence of who works at their duty station as a directive requires: "
        "import rosters, offices, T&A hours and badge events, then evaluate and report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        print(f"dutystation {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Configuration comes from DUTYSTATION_* environment variables and ./dutystation.toml."""


# The modules defining each top-level command or group (``db`` gets ``audit``'s commands
# too). A command imports only its own: importing them all costs about a second of CPU,
# which every nightly import would spend beside a server (RELIABILITY T27).
# tests/unit/test_cli_commands.py checks this against what the modules register.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "agreements": ("agreements",),
    "audit": ("audit",),
    "db": ("db", "audit"),
    "demo": ("demo",),
    "designate": ("designate",),
    "disclosures": ("disclosures",),
    "evaluate": ("evaluate",),
    "exemptions": ("exemptions",),
    "grievances": ("agreements",),
    "import": ("imports",),
    "medical": ("medical",),
    "notices": ("notices",),
    "report": ("reports",),
    "rollup": ("rollup",),
    "serve": ("serve",),
    "users": ("users",),
    "verify": ("rollup",),
}


def _register(argv: list[str] | None = None) -> None:
    """Import the modules of the command ``argv`` names (each command group lives in its
    own module and registers itself), or all of them: for ``--help``, no command, one
    not known (click then lists them and suggests the nearest), or ``argv`` None."""
    named = next((arg for arg in (argv or [])[1:] if not arg.startswith("-")), None)
    wanted = COMMAND_MODULES.get(named or "")
    if wanted is None:
        wanted = tuple(sorted({m for modules in COMMAND_MODULES.values() for m in modules}))
    for module in wanted:
        importlib.import_module(f"dutystation.cli.{module}")


def main() -> None:
    _register(sys.argv)
    try:
        # Outside standalone mode click returns the code of a `typer.Exit` instead of
        # exiting with it.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except DutystationError as exc:
        err_console.print(Text("error: ", style="red") + Text(str(exc)), highlight=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors (bad option values) come from the click that typer bundles; they
        # know how to print themselves.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if os.environ.get("DUTYSTATION_DEBUG") == "1":
            raise
        # A full disk or a damaged database met where no service translated it (a
        # temporary file, a read): what it is, not "internal error".
        fault = fault_of(exc)
        if fault is not None:
            err_console.print(Text("error: ", style="red") + Text(str(fault)), highlight=False)
            sys.exit(fault.exit_code)
        # Anything else is a bug: say so plainly, without a traceback.
        err_console.print(
            Text(
                f"internal error ({type(exc).__name__}); rerun with DUTYSTATION_DEBUG=1 "
                "and report it"
            )
        )
        sys.exit(70)
