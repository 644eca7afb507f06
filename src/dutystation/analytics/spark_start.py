"""Starting Spark for the evaluation (``analytics = "spark"``), or saying in one sentence
why it cannot start: a master or Connect server that cannot be reached (a 5 s TCP connect,
before any JVM starts), no Java, a server that accepts connections but never answers (a
bounded wait), a driver memory below Spark's minimum.

Sessions: ``spark_master`` (``local[2]``, ``spark://host:7077``, ``yarn``...) through
``spark-submit``'s usual builder, or ``spark_connect_url`` (``sc://host:15002``) for Spark
Connect. The JVM starts once per process (about 10 s); its stderr (Spark's log) goes to
``tmp_dir/spark-driver.log``. pyspark is imported only here and only when used.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dutystation.errors import ConfigError
from dutystation.settings import Settings

log = logging.getLogger(__name__)
_started: list[Any] = []  # sessions spark_session returned, for stop_spark
_CONNECT_PORT = 15002
_MASTER_PORT = 7077
# A server that accepts the TCP connection but never answers as Spark would otherwise keep
# the command waiting for minutes (Spark Connect's client retries with backoff for ~10).
_START_TIMEOUT_S = 120
LOG_FILE = "spark-driver.log"


@contextmanager
def _jvm_stderr_to(path: Path) -> Iterator[None]:
    """Point this process's stderr (fd 2) at ``path`` while the JVM starts: the JVM
    inherits it for good, so its warnings and Spark's log (a Java stack trace per failed
    task) go to the file, not to the terminal where the user reads dutystation's one
    sentence. Only for the start's few seconds; other threads' stderr lines written then
    land in the file too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _reachable(host: str, port: int) -> str | None:
    """None when a TCP connection to host:port opens within 5 s, else why not."""
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _check_reachable(settings: Settings) -> None:
    if settings.spark_connect_url:
        url = urlparse(settings.spark_connect_url)
        where, name = (url.hostname or "", url.port or _CONNECT_PORT), "spark_connect_url"
        shown = settings.spark_connect_url
    elif settings.spark_master.startswith("spark://"):
        # Standalone masters (several for high availability: the first is tried).
        first = settings.spark_master.removeprefix("spark://").split(",")[0]
        host, _, port = first.partition(":")
        where, name, shown = (
            (host, int(port or _MASTER_PORT)),
            "spark_master",
            settings.spark_master,
        )
    else:
        return  # local[...] needs no server; yarn/k8s masters are found by Spark itself
    why = _reachable(*where)
    if why is not None:
        raise ConfigError(f"the Spark server {shown} cannot be reached ({why}); check {name}")


def _check_java() -> None:
    """Spark's launcher runs ``$JAVA_HOME/bin/java``, else the ``java`` on PATH; without
    either it fails after a long start with a shell error, so say it first."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").is_file():
            raise ConfigError(
                f"analytics = spark needs Java 17 or later, and JAVA_HOME ({home}) has no "
                "bin/java; set JAVA_HOME to a Java installation or unset it"
            )
    elif shutil.which("java") is None:
        raise ConfigError(
            "analytics = spark needs Java 17 or later and no java is installed (none on PATH, "
            "JAVA_HOME unset); install one (apt-get install openjdk-17-jre-headless) or set "
            "JAVA_HOME"
        )


def _get_or_create(builder: Any, target: str) -> Any:
    """``builder.getOrCreate()``; for a remote master or Connect server within
    ``_START_TIMEOUT_S`` (a local master needs no network, and its start is left alone so
    Ctrl-C still cancels its jobs). The abandoned attempt's JVM ends with this process."""
    if target.startswith("local"):
        return builder.getOrCreate()
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["session"] = builder.getOrCreate()
        except Exception as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.start()
    thread.join(_START_TIMEOUT_S)
    if thread.is_alive():
        raise ConfigError(
            f"Spark did not start on {target} within {_START_TIMEOUT_S} s; check that a Spark "
            "master or Connect server answers there (spark_master, spark_connect_url)"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["session"]


def spark_session(settings: Settings) -> Any:
    """The process's Spark session for ``settings`` (started on first use). Raises
    ``ConfigError`` when pyspark or Java is missing, or the master cannot be reached or
    started."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "analytics = spark needs pyspark and sqlglot: pip install 'dutystation[spark]'"
        ) from None
    _check_reachable(settings)
    target = settings.spark_connect_url or settings.spark_master
    builder = SparkSession.builder.appName("dutystation")
    if settings.spark_connect_url:
        builder = builder.remote(settings.spark_connect_url)
    else:
        _check_java()
        builder = (
            builder.master(settings.spark_master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        if settings.spark_driver_memory:
            # Read when the JVM starts (here, on first use); local mode's executors run in
            # the driver, so this is all the memory local Spark has.
            builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
    builder = (
        builder.config("spark.sql.session.timeZone", "UTC")
        # The evaluation's stages are many small joins; 200 shuffle partitions (the
        # default) would be mostly empty tasks. Adaptive execution merges them further.
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
    )
    try:
        if settings.spark_connect_url:  # a thin client: no JVM here
            session = _get_or_create(builder, target)
        else:
            with _jvm_stderr_to(settings.tmp_dir / LOG_FILE):
                session = _get_or_create(builder, target)
    except ConfigError:
        raise
    except ImportError:  # PySparkImportError: Spark Connect's client packages (grpcio...)
        log.debug("the Spark Connect client is incomplete", exc_info=True)
        raise ConfigError(
            "spark_connect_url needs the Spark Connect client: pip install 'pyspark[connect]'"
        ) from None
    except Exception as exc:  # py4j/JVM errors: their text is a Java stack trace
        log.debug("Spark did not start", exc_info=True)
        if "[INVALID_DRIVER_MEMORY]" in str(exc):
            raise ConfigError(
                f"spark_driver_memory ({settings.spark_driver_memory}) is less than Spark needs "
                "to start (450m); raise it to 1g or more"
            ) from None
        name = "spark_connect_url" if settings.spark_connect_url else "spark_master"
        raise ConfigError(
            f"Spark could not start on {target} ({type(exc).__name__}); check {name} "
            "and that Java 17 or later is installed"
        ) from None
    _started.append(session)
    return session


def stop_spark() -> None:
    """Stop the Spark sessions this process started (the JVM's memory is given back)."""
    while _started:
        _started.pop().stop()
