"""The regression gate of ``web_load.py`` (RELIABILITY T27): a run fails when any
scenario's p99 is more than 20 % above the stored baseline of the same machine kind,
data size and server workers, or when it had errors.

Latency depends on the machine, so baselines are stored per machine kind, one file each
(``bench/baselines/<kind>.json``), and a run is compared only with a baseline of its own
kind and size. No such baseline is never a pass: the gate says so and exits 2.

    .venv/bin/python bench/load_gate.py RESULTS.json            # gate a saved run
    .venv/bin/python bench/load_gate.py RESULTS.json --record   # store it as the baseline

Exit status: 0 every scenario within its limit; 1 a regression or errors; 2 nothing to
compare with (no baseline for this machine kind, data size or scenario, or another rate).
A scenario that had errors when the baseline was recorded is left out of it, so it
stays "no baseline" (exit 2) until a clean run is recorded. The import scenario's two rows
are compared only with a baseline whose imports ran the same way (``IMPORT_SETTINGS``:
cores, ``nice``, idle class, stand-in, lead-in, command line or upload): a baseline
without them predates them, and is not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASELINES = Path(__file__).resolve().parent / "baselines"
TOLERANCE = 0.20
KIND_ENV = "DUTYSTATION_BENCH_MACHINE_KIND"
PASS, REGRESSION, NO_BASELINE = 0, 1, 2
IMPORT_ROWS = ("status-alone", "status-during-import")
IMPORT_SETTINGS = (
    "import_cpus",
    "import_nice",
    "import_idle",
    "import_stand_in",
    "import_lead_in_s",
    "import_via",
)


def machine_kind() -> str:
    """Architecture, CPU model, cores and memory, e.g. ``x86_64-amd-epyc-2cpu-24gb``: what
    decides latency. ``DUTYSTATION_BENCH_MACHINE_KIND`` names it instead (e.g. a CI box
    whose CPU model varies between hosts of the same size)."""
    named = os.environ.get(KIND_ENV, "").strip()
    if named:
        return slug(named)
    model = platform.processor() or "cpu"
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = next(x.split(":", 1)[1] for x in info.splitlines() if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return slug(f"{platform.machine()}-{model}-{os.cpu_count()}cpu-{memory_gb}gb")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Measured:
    """One scenario of one run, as the gate reads it."""

    p99_ms: float | None
    rate: float
    errors: int = 0


@dataclass(frozen=True)
class Verdict:
    status: int  # PASS, REGRESSION or NO_BASELINE
    lines: list[str]


def gate(
    current: Mapping[str, Measured],
    baseline: Mapping[str, Measured],
    tolerance: float = TOLERANCE,
    not_comparable: Mapping[str, str] | None = None,
) -> Verdict:
    """Each scenario of ``current`` against the same scenario of ``baseline``: a p99
    more than ``tolerance`` above it, or any error, is a regression; a scenario without
    a baseline, measured at another rate, or named in ``not_comparable`` (with why)
    cannot be judged (never a pass)."""
    lines: list[str] = []
    failed = unjudged = False
    not_comparable = not_comparable or {}
    if not current:
        return Verdict(NO_BASELINE, ["nothing was measured, so nothing can pass"])
    for name, now in sorted(current.items()):
        then = baseline.get(name)
        if now.errors:
            failed = True
            lines.append(f"FAIL {name}: {now.errors} errors (0 allowed)")
        if then is None or then.p99_ms is None:
            unjudged = True
            lines.append(f"NO BASELINE {name}: no stored p99 for this scenario")
            continue
        if name in not_comparable:
            unjudged = True
            lines.append(f"NO BASELINE {name}: {not_comparable[name]}: not comparable")
            continue
        if now.rate != then.rate:
            unjudged = True
            lines.append(
                f"NO BASELINE {name}: baseline at {then.rate:g} requests/s, this run at "
                f"{now.rate:g}: not comparable"
            )
            continue
        if now.p99_ms is None:
            failed = True
            lines.append(f"FAIL {name}: no request answered")
            continue
        limit = then.p99_ms * (1 + tolerance)
        change = f"{(now.p99_ms / then.p99_ms - 1) * 100:+.0f} %"
        words = (
            f"p99 {now.p99_ms:g} ms vs baseline {then.p99_ms:g} ms ({change}; limit {limit:.1f})"
        )
        if now.p99_ms > limit:
            failed = True
            lines.append(f"FAIL {name}: {words}")
        elif not now.errors:
            lines.append(f"ok   {name}: {words}")
    for name in sorted(set(baseline) - set(current)):
        lines.append(f"--   {name}: in the baseline, not measured in this run")
    # A regression outranks what could not be judged: both exit non-zero.
    return Verdict(REGRESSION if failed else NO_BASELINE if unjudged else PASS, lines)


def measured(scenarios: Mapping[str, Mapping[str, object]]) -> dict[str, Measured]:
    """The gate's view of a results file's (or a baseline's) scenarios."""
    found = {}
    for name, row in scenarios.items():
        errors = row.get("errors", {})
        found[name] = Measured(
            p99_ms=None if row.get("p99_ms") is None else float(row["p99_ms"]),  # type: ignore[arg-type]
            rate=float(row["rate"]),  # type: ignore[arg-type]
            errors=sum(errors.values()) if isinstance(errors, dict) else int(errors),  # type: ignore[call-overload]
        )
    return found


def same_world(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return a["data"] == b["data"] and a["workers"] == b["workers"]


def import_settings(run: Mapping[str, object]) -> dict[str, object]:
    """How a run's (or a baseline's) imports ran; empty for one from before these were
    written down."""
    return {k: run[k] for k in IMPORT_SETTINGS if k in run}


def import_mismatch(results: Mapping[str, object], entry: Mapping[str, object]) -> dict[str, str]:
    """The import rows, with why, when the baseline's imports ran another way."""
    now, then = import_settings(results), import_settings(entry)
    if now == then:
        return {}
    why = f"baseline's imports ran with {then or 'settings not recorded'}, this run's with {now}"
    return dict.fromkeys(IMPORT_ROWS, why)


def check(results: Mapping[str, object], folder: Path = BASELINES) -> Verdict:
    """``results`` (as ``web_load.py --results`` writes them) against the stored
    baseline of its machine kind, data size and workers."""
    kind = str(results["machine_kind"])
    path = folder / f"{kind}.json"
    where = f"data {results['data']}, {results['workers']} workers"
    if not path.exists():
        return Verdict(
            NO_BASELINE,
            [
                f"NO BASELINE for machine kind {kind!r} ({path} does not exist): this run "
                "is not gated. Record one on a quiet machine of this kind with "
                "--record-baseline (bench/README.md, web_load.py)."
            ],
        )
    stored = json.loads(path.read_text())
    entry = next((b for b in stored["baselines"] if same_world(b, results)), None)
    if entry is None:
        sizes = "; ".join(f"data {b['data']}, {b['workers']} workers" for b in stored["baselines"])
        return Verdict(
            NO_BASELINE,
            [f"NO BASELINE for machine kind {kind!r} at {where} (stored: {sizes or 'none'})"],
        )
    scenarios: Mapping[str, Mapping[str, object]] = results["scenarios"]  # type: ignore[assignment]
    verdict = gate(
        measured(scenarios),
        measured(entry["scenarios"]),
        not_comparable=import_mismatch(results, entry),
    )
    head = f"gate: machine kind {kind!r}, {where}, baseline of {entry['measured_at']}"
    load = (
        f"load average at start {results.get('load_average')} "
        f"(baseline's {entry.get('load_average')})"
    )
    left = [
        f"--   {n}: left out of the baseline ({why})"
        for n, why in entry.get("left_out", {}).items()
    ]
    return Verdict(verdict.status, [head, load, *verdict.lines, *left])


def record(results: Mapping[str, object], folder: Path = BASELINES) -> Path:
    """Store ``results`` as the baseline of its machine kind, data size and workers
    (replacing the previous one). A scenario with errors is left out (its p99 covers
    only what was answered, so it is no reference): the gate then has no baseline for it
    and says so. Refused when every scenario had errors."""
    everything: Mapping[str, Mapping[str, object]] = results["scenarios"]  # type: ignore[assignment]
    broken = sorted(n for n, m in measured(everything).items() if m.errors or m.p99_ms is None)
    scenarios = {n: row for n, row in everything.items() if n not in broken}
    if not scenarios:
        raise SystemExit("not recorded: every scenario had errors; a baseline must have none")
    kind = str(results["machine_kind"])
    path = folder / f"{kind}.json"
    stored: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"machine_kind": kind}
    )
    stored["machine"] = results["machine"]
    keep = [b for b in stored.get("baselines", []) if not same_world(b, results)]
    entry: dict[str, object] = {
        k: results[k]
        for k in (
            "data",
            "workers",
            *IMPORT_SETTINGS,
            "measured_at",
            "command",
            "load_average",
            "how",
        )
        if k in results
    }
    entry["scenarios"] = {
        name: {k: row[k] for k in ("rate", "seconds", "p50_ms", "p95_ms", "p99_ms") if k in row}
        for name, row in scenarios.items()
    }
    if broken:
        entry["left_out"] = dict.fromkeys(broken, "errors when recorded")
    stored["baselines"] = sorted(
        [*keep, entry], key=lambda b: json.dumps(b["data"], sort_keys=True)
    )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2) + "\n")
    return path


def left_out(results: Mapping[str, object]) -> list[str]:
    """What ``record`` did not store, one line each."""
    scenarios: Mapping[str, Mapping[str, object]] = results["scenarios"]  # type: ignore[assignment]
    return [
        f"not in the baseline: {n} ({m.errors} errors)"
        for n, m in sorted(measured(scenarios).items())
        if m.errors or m.p99_ms is None
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="A file written by web_load.py --results.")
    parser.add_argument("--baselines", type=Path, default=BASELINES)
    parser.add_argument("--record", action="store_true", help="Store it as the baseline.")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    if args.record:
        print(f"baseline stored in {record(results, args.baselines)}")
        print("\n".join(left_out(results)))
        return
    verdict = check(results, args.baselines)
    print("\n".join(verdict.lines))
    sys.exit(verdict.status)


if __name__ == "__main__":
    main()
