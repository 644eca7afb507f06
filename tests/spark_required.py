"""What Spark's tests need: pyspark and Java 17 or later. Without them the tests skip and say
why, unless ``DUTYSTATION_REQUIRE_SPARK=1`` (``.ci/run`` sets it) turns the skip into a
failure, so CI never passes by skipping them. Importable by test modules, like
``pg_scratch``."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRE_ENV = "DUTYSTATION_REQUIRE_SPARK"


def _java() -> str | None:
    """The java Spark's launcher would run: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


@functools.cache
def missing() -> str | None:
    """Why Spark cannot run here, or None when it can."""
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("sqlglot") is None:
        return "Spark's tests need pyspark and sqlglot: pip install -e '.[dev]'"
    java = _java()
    if java is None:
        home = os.environ.get("JAVA_HOME")
        where = f"JAVA_HOME ({home}) has no bin/java" if home else "no java on PATH"
        return f"Spark's tests need Java 17 or later: {where}"
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)', shown.stderr + shown.stdout)
    if found is None or int(found.group(1)) < 17:
        return f"Spark's tests need Java 17 or later: {java} is not ({shown.stderr.strip()[:80]})"
    return None


def require_spark() -> None:
    """At module level: skip the module when Spark cannot run here, unless
    ``DUTYSTATION_REQUIRE_SPARK=1``; then the module's tests run and ``fail_without_spark``
    fails each of them (a failure at collection would stop the whole run)."""
    why = missing()
    if why is not None and os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip(why, allow_module_level=True)


def fail_without_spark() -> None:
    """In a fixture: fail the test, saying why, when Spark cannot run here."""
    why = missing()
    if why is not None:
        pytest.fail(f"{why} ({REQUIRE_ENV}=1)", pytrace=False)
