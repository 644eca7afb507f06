"""Static analysis gate (RELIABILITY T17): bandit over ``src/`` at medium-or-higher
severity and confidence (``-ll -ii``), each finding fixed or justified in
``.bandit-baseline.json``.

The baseline is a bandit JSON report (so ``bandit -r src -ll -ii -b .bandit-baseline.json``
reads it too) whose entries carry one more key, ``justification``. bandit's own ``-b``
matches a finding by file and test only: once one B608 is accepted in a file, every later
B608 in that file passes unseen. This gate matches each finding by file, test id and the
text of the flagged line (line numbers move, the line itself rarely does), counts repeats,
and refuses an entry without a justification.

    python tools/bandit_gate.py            # check: exit 0 clean, 1 findings, 2 not scanned
    python tools/bandit_gate.py --update   # rewrite the baseline, keeping justifications of
                                           # findings still present; new entries get an
                                           # empty justification, which fails until written
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".bandit-baseline.json"
MIN_JUSTIFICATION = 20  # characters: a reason, not "ok"
Key = tuple[str, str, str]


def run_bandit(targets: list[str], root: Path) -> dict[str, Any]:
    """bandit's JSON report of ``targets`` (paths relative to ``root``)."""
    command = [sys.executable, "-m", "bandit", "-r", *targets, "-ll", "-ii", "-f", "json", "-q"]
    # Our own interpreter running bandit over our own folders: no outside input.
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"bandit did not run, so nothing was scanned ({tail})") from None
    return report


def flagged_line(result: dict[str, Any], root: Path) -> str:
    """The flagged line's text; when it interpolates nothing (``con.execute(f\"\"\"``), the
    first line of the statement that does is added, so two such statements differ."""
    lines = (root / result["filename"]).read_text(encoding="utf-8").splitlines()
    numbers = [int(n) for n in result.get("line_range") or [result["line_number"]]]
    text: list[str] = [lines[n - 1].strip() for n in numbers if 0 < n <= len(lines)]
    if not text:
        return ""
    if "{" in text[0]:
        return text[0]
    placeholder = next((t for t in text[1:] if "{" in t), "")
    return f"{text[0]} … {placeholder}" if placeholder else text[0]


def key_of(result: dict[str, Any]) -> Key:
    return (result["filename"], result["test_id"], result.get("fingerprint", ""))


def with_fingerprints(results: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    return [{**r, "fingerprint": flagged_line(r, root)} for r in results]


def compare(
    found: list[dict[str, Any]], baseline: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(new findings, baseline entries no longer found, entries without a justification)."""
    allowed = Counter(key_of(b) for b in baseline)
    new = []
    for result in found:
        key = key_of(result)
        if allowed[key] > 0:
            allowed[key] -= 1
        else:
            new.append(result)
    stale_keys = +allowed
    stale = []
    for entry in baseline:
        if stale_keys[key_of(entry)] > 0:
            stale_keys[key_of(entry)] -= 1
            stale.append(entry)
    unjustified = [
        b for b in baseline if len(str(b.get("justification", "")).strip()) < MIN_JUSTIFICATION
    ]
    return new, stale, unjustified


def _where(result: dict[str, Any]) -> str:
    return (
        f"{result['filename']}:{result['line_number']} {result['test_id']} "
        f"({result['issue_text']}) {result.get('fingerprint', '')[:80]!r}"
    )


def _entry(result: dict[str, Any], justification: str) -> dict[str, Any]:
    """A baseline entry: what bandit's ``-b`` reads, the flagged line, and the reason."""
    keep = (
        "filename",
        "test_id",
        "test_name",
        "issue_severity",
        "issue_confidence",
        "issue_cwe",
        "issue_text",
        "line_number",
        "line_range",
        "col_offset",
        "end_col_offset",
        "more_info",
    )
    entry = {k: result[k] for k in keep if k in result}
    entry["code"] = f"{result['line_number']} {result['fingerprint']}\n"
    entry["fingerprint"] = result["fingerprint"]
    entry["justification"] = justification
    return entry


def update(found: list[dict[str, Any]], baseline: list[dict[str, Any]], path: Path) -> int:
    reasons: dict[Key, list[str]] = {}
    for entry in baseline:
        reasons.setdefault(key_of(entry), []).append(str(entry.get("justification", "")))
    entries = []
    for result in sorted(found, key=lambda r: (r["filename"], r["line_number"])):
        kept = reasons.get(key_of(result), [])
        entries.append(_entry(result, kept.pop(0) if kept else ""))
    document = {"generated_by": "tools/bandit_gate.py --update", "results": entries}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    missing = sum(1 for e in entries if not e["justification"])
    print(
        f"bandit baseline: {len(entries)} entries written to {path.name}; "
        f"{missing} need a justification."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["src"])
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args(argv)
    report = run_bandit(args.targets, args.root)
    if report.get("errors"):
        names = ", ".join(str(e.get("filename")) for e in report["errors"])
        print(f"bandit could not scan {names}, so the scan is incomplete.")
        return 2
    found = with_fingerprints(report.get("results", []), args.root)
    baseline_path: Path = args.baseline
    baseline = (
        json.loads(baseline_path.read_text(encoding="utf-8")).get("results", [])
        if baseline_path.is_file()
        else []
    )
    if args.update:
        return update(found, baseline, baseline_path)
    new, stale, unjustified = compare(found, baseline)
    for result in new:
        print(f"new finding: {_where(result)}")
    for entry in unjustified:
        print(f"baseline entry without a justification: {_where(entry)}")
    for entry in stale:
        print(f"note: no longer found (run --update to drop it): {_where(entry)}")
    if new or unjustified:
        print(
            f"bandit: {len(new)} new finding(s) and {len(unjustified)} unjustified baseline "
            f"entries; fix the code or justify each in {baseline_path.name}."
        )
        return 1
    print(f"bandit: 0 new findings ({len(found)} found, each justified in {baseline_path.name}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
