"""Find the example source profiles (access-control, time-and-attendance) the demo's
files are shaped for: inside the installed package if they ship there
(``dutystation/profiles/``), else in the source checkout's ``profiles/`` folder."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dutystation.errors import ConfigError

_CHECKOUT = Path(__file__).resolve().parents[3] / "profiles"


def example_profile_path(name: str) -> Path:
    candidates: list[Path] = []
    try:
        packaged = resources.files("dutystation") / "profiles" / f"{name}.toml"
        candidates.append(Path(str(packaged)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - zipped installs
        pass
    candidates.append(_CHECKOUT / f"{name}.toml")
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        f"the example profile {name!r} was not found (looked in: "
        f"{', '.join(str(p.parent) for p in candidates)})"
    )
