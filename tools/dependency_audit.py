"""Dependency audit (RELIABILITY T17): pip-audit over the pins of requirements/lock.txt
(what `make install` installs, hash-checked), judged so that it never reports a pass it
could not check.

pip-audit on its own exits 0 and prints "No known vulnerabilities found" when every
package was *skipped* (the advisory service had no record of it, e.g. behind a mirror
that serves only the package index). Here each package is either checked or counted as
"not checked", and one unchecked package makes the whole audit "not checked":

    exit 0  passed: every package checked, no known vulnerability
    exit 1  vulnerable: known vulnerabilities found (listed)
    exit 2  not checked: the service could not be reached, or some packages could not be
            checked; nothing is claimed about them

    python tools/dependency_audit.py                      # the lock's pins (make audit)
    python tools/dependency_audit.py --environment        # the installed environment
    python tools/dependency_audit.py -- -r req.txt --no-deps --disable-pip
    python tools/dependency_audit.py --service osv --osv-url http://127.0.0.1:9/

Arguments after ``--`` go to pip-audit unchanged, in place of the lock file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT = "dutystation"  # our own editable install: not a dependency, not on any index
LOCK = Path(__file__).resolve().parents[1] / "requirements" / "lock.txt"
# Every line of the lock is pinned and hashed, so pip-audit reads the versions as written
# instead of resolving them with pip (which would need the index).
LOCK_ARGS = ["-r", str(LOCK), "--require-hashes", "--disable-pip"]
SHOWN = 5


def run_pip_audit(service: str, osv_url: str | None, extra: list[str]) -> tuple[int, Any, str]:
    """(pip-audit's exit code, its JSON report or None, the last line it wrote to stderr)."""
    with tempfile.TemporaryDirectory(prefix="dutystation-audit-") as folder:
        report = Path(folder) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--vulnerability-service",
            service,
            "--format",
            "json",
            "--output",
            str(report),
            "--progress-spinner",
            "off",
            *(["--osv-url", osv_url] if osv_url else []),
            *extra,
        ]
        # Our own interpreter running pip-audit; the extra arguments are the operator's.
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else ""
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            data = None
        return done.returncode, data, last


def judge(code: int, data: Any, last: str, service: str) -> tuple[int, list[str]]:
    """(exit code, lines to print) for pip-audit's result."""
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        reason = f" ({last})" if last else ""
        return 2, [
            f"Dependency audit: not checked — pip-audit could not finish against the {service} "
            f"advisory service{reason}, so no package was checked."
        ]
    deps = [d for d in data["dependencies"] if d.get("name", "").lower() != PROJECT]
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [d for d in deps if d.get("vulns")]
    checked = len(deps) - len(skipped)
    lines = [
        f"{d['name']} {d.get('version', '')}: {v.get('id')} (fixed in "
        f"{', '.join(v.get('fix_versions') or []) or 'no release yet'})"
        for d in vulnerable
        for v in d["vulns"]
    ]
    if skipped:
        names = ", ".join(str(d["name"]) for d in skipped[:SHOWN])
        more = f" and {len(skipped) - SHOWN} more" if len(skipped) > SHOWN else ""
        lines.append(
            f"Dependency audit: not checked — {len(skipped)} of {len(deps)} packages could not "
            f"be checked against the {service} advisory service ({names}{more}; first "
            f"reason: {skipped[0]['skip_reason']}); {checked} checked, {len(vulnerable)} "
            "with known vulnerabilities."
        )
        return 2, lines
    if vulnerable:
        lines.append(
            f"Dependency audit: {len(vulnerable)} of {len(deps)} packages have known "
            "vulnerabilities."
        )
        return 1, lines
    if code != 0 or not deps:
        return 2, [
            f"Dependency audit: not checked — pip-audit ended with code {code} and reported "
            f"{len(deps)} packages."
        ]
    return 0, [
        f"Dependency audit: passed — {checked} packages checked against the {service} "
        "advisory service, none with a known vulnerability."
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=["pypi", "osv"], default="pypi")
    parser.add_argument("--osv-url", default=None)
    parser.add_argument(
        "--environment",
        action="store_true",
        help="audit the packages installed in this interpreter instead of the lock file",
    )
    args = parser.parse_args(argv)
    if not extra and not args.environment:
        extra = LOCK_ARGS
    code, data, last = run_pip_audit(args.service, args.osv_url, extra)
    status, lines = judge(code, data, last, args.service)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
