"""A command imports only the modules that define it (``cli.COMMAND_MODULES``): the
table must name every command and group the modules register, with every module that adds
to it, or a command would be missing from its own invocation."""

from __future__ import annotations

import subprocess
import sys

from dutystation import cli


def _registered() -> dict[str, set[str]]:
    cli._register()
    found: dict[str, set[str]] = {}
    for command in cli.app.registered_commands:
        name = command.name or command.callback.__name__
        found.setdefault(name, set()).add(command.callback.__module__)
    for group in cli.app.registered_groups:
        typer_app = group.typer_instance
        assert typer_app is not None and group.name is not None
        modules = {c.callback.__module__ for c in typer_app.registered_commands}
        for sub in typer_app.registered_groups:
            assert sub.typer_instance is not None
            modules |= {c.callback.__module__ for c in sub.typer_instance.registered_commands}
        found.setdefault(group.name, set()).update(modules)
    return found


def test_the_table_names_every_command_with_the_modules_that_define_it() -> None:
    expected = {
        name: {f"dutystation.cli.{m}" for m in modules}
        for name, modules in cli.COMMAND_MODULES.items()
    }
    assert _registered() == expected


PROBE = """
import sys
from dutystation import cli
sys.argv = ["dutystation", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print(",".join(sorted(m for m in sys.modules if m.startswith("dutystation.cli."))), file=sys.stderr)
"""


def _modules_loaded(*args: str) -> tuple[set[str], str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    loaded = run.stderr.strip().splitlines()[-1]
    return {m.removeprefix("dutystation.cli.") for m in loaded.split(",")}, run.stdout


def test_a_command_loads_only_its_own_modules_and_help_lists_every_command() -> None:
    loaded, out = _modules_loaded("db", "--help")
    assert {"db", "audit"} <= loaded and not loaded & {"demo", "reports", "serve", "imports"}
    assert "grant-app-role" in out  # audit's command in the db group
    everything, out = _modules_loaded("--help")
    assert {m for modules in cli.COMMAND_MODULES.values() for m in modules} <= everything
    for name in cli.COMMAND_MODULES:
        assert f" {name} " in out, name
