"""Start and stop the course's Spark session.

One call gives every notebook the same, production-like session:

    spark = start_spark(master="local[*]")

- any master by parameter (checked first: a wrong or unreachable one fails in seconds);
- Delta Lake enabled, its jars resolved by Spark from Maven Central (then from the local cache);
- bound to 127.0.0.1 when everything runs on this machine;
- quiet logs and no console progress bar, so cells show results, not log noise;
- a UI on a free port, so two notebooks never clash;
- shuffle and spill files in a folder the course owns; optional event logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from prodspark import masters, paths
from prodspark.errors import EnvironmentProblem, ParameterError

# Spark ships these libraries itself; Delta's Maven metadata drags in older copies
# (about 80 MB) that would only shadow or duplicate Spark's own.
SPARK_PROVIDED_JARS = (
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8",
    "com.github.luben:zstd-jni",
    "com.google.code.findbugs:jsr305",
    "commons-logging:commons-logging",
    "commons-pool:commons-pool",
    "io.airlift:aircompressor",
    "javax.annotation:javax.annotation-api",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "org.locationtech.jts:jts-core",
    "org.roaringbitmap:RoaringBitmap",
    "org.roaringbitmap:shims",
    "org.slf4j:slf4j-api",
    "org.xerial.snappy:snappy-java",
)

# Shuffle partitions when everything runs on this machine (local mode, or the course's
# cluster on 127.0.0.1): Spark's default of 200 is sized for clusters of many machines; on a
# laptop it makes every small shuffle write 200 blocks per task. A remote cluster keeps 200.
LOCAL_SHUFFLE_PARTITIONS = 8


def delta_artifact() -> str:
    """The Maven coordinate of Delta Lake's JVM half matching the installed delta-spark."""
    from importlib.metadata import version

    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"


def course_conf(master: masters.Master, *, delta: bool, event_log_dir: Path | None) -> dict[str, str]:
    """The settings the course applies on top of Spark's defaults, as a plain dict."""
    local_dir = paths.spark_local_dir()
    local_dir.mkdir(parents=True, exist_ok=True)
    java_options = [f"-Dlog4j.configurationFile={paths.log4j_config().as_uri()}"]
    extra = os.environ.get("PRODSPARK_DRIVER_JAVA_OPTIONS", "").strip()
    if extra:
        java_options.append(extra)
    conf = {
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.port": "0",  # a free port chosen by the OS: no clash between notebooks
        "spark.sql.session.timeZone": "UTC",
        "spark.local.dir": str(local_dir),
        "spark.driver.extraJavaOptions": " ".join(java_options),
        # Where spark.jars.packages are cached: the folder `prodspark check` reads, not the one
        # Java would derive from the password database's home.
        "spark.jars.ivy": str(paths.ivy_dir()),
    }
    if master.on_this_machine:
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.executor.extraJavaOptions"] = java_options[0]
        if master.kind != "local":  # executor JVMs of their own, started on this machine
            from prodspark.class_archive import read_option

            archive = read_option()  # set-up's class-data archive: each executor starts seconds sooner
            if archive:
                conf["spark.executor.extraJavaOptions"] += f" {archive}"
        conf["spark.sql.shuffle.partitions"] = str(LOCAL_SHUFFLE_PARTITIONS)
        conf["spark.databricks.delta.snapshotPartitions"] = "2"
    if delta:
        conf["spark.jars.packages"] = delta_artifact()
        conf["spark.jars.excludes"] = ",".join(SPARK_PROVIDED_JARS)
        conf["spark.sql.extensions"] = "io.delta.sql.DeltaSparkSessionExtension"
        conf["spark.sql.catalog.spark_catalog"] = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    if event_log_dir is not None:
        event_log_dir.mkdir(parents=True, exist_ok=True)
        conf["spark.eventLog.enabled"] = "true"
        conf["spark.eventLog.dir"] = event_log_dir.resolve().as_uri()
    return conf


def start_spark(
    master: str | None = None,
    app_name: str = "production-spark",
    *,
    delta: bool = True,
    event_log_dir: str | Path | bool | None = None,
    conf: dict[str, object] | None = None,
):
    """Start (or return the running) SparkSession for the course.

    master: ``local[*]`` by default (or ``$PRODSPARK_MASTER``); any Spark master URL.
    delta: enable Delta Lake (its jars are resolved on the first start, then cached).
    event_log_dir: True for the course's folder, or a path, to write Spark event logs.
    conf: extra Spark settings, applied last (they win over the course's defaults).
    """
    from pyspark.sql import SparkSession

    parsed = masters.parse_master(master or os.environ.get("PRODSPARK_MASTER") or masters.DEFAULT_MASTER)
    if conf is not None and not isinstance(conf, dict):
        raise ParameterError(f"conf must be a dict of Spark settings, got {type(conf).__name__}.")

    masters.ensure_reachable(parsed)  # before touching a running session: a typo must not stop it

    active = SparkSession.getActiveSession()
    if active is not None:
        if active.sparkContext.master == parsed.url and not conf:
            return active
        active.stop()  # a different master or settings: static settings need a new session

    if parsed.on_this_machine:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if event_log_dir is True:
        log_dir: Path | None = paths.event_log_dir()
    elif event_log_dir:
        log_dir = Path(event_log_dir)
    else:
        log_dir = None

    settings = course_conf(parsed, delta=delta, event_log_dir=log_dir)
    settings.update({key: str(value) for key, value in (conf or {}).items()})
    builder = SparkSession.builder.master(parsed.url).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: say why in the learner's terms
        raise EnvironmentProblem(_start_failure_message(exc, delta)) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stop_spark(spark=None) -> None:
    """Stop the given (or the active) session, freeing its UI port and executors."""
    from pyspark.sql import SparkSession

    session = spark or SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def _start_failure_message(exc: Exception, delta: bool) -> str:
    from prodspark.java import java_info, java_problem

    try:
        problem = java_problem(java_info())
    except RuntimeError as java_exc:
        problem = str(java_exc)
    if problem and "tested on" not in problem:
        return f"Spark could not start because of Java. {problem}"
    lines = [f"Spark could not start: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
    if delta and not delta_jars_cached():
        lines.append(
            f"Delta Lake's jars ({delta_artifact()}) are not in the local cache and could not be "
            "downloaded. Run `prodspark fetch-jars` while online (the set-up command does it), "
            "or start without Delta: start_spark(delta=False)."
        )
    lines.append("Run `prodspark check` for a full diagnosis of this machine.")
    return "\n".join(lines)


def ivy_jars_dir() -> Path:
    """Where Spark's dependency resolver copies the resolved jars: ``jars`` in the course's Ivy
    folder (:func:`prodspark.paths.ivy_dir`, which the course passes to Spark as ``spark.jars.ivy``)."""
    return paths.ivy_dir() / "jars"


def delta_jars_cached() -> bool:
    group, artifact, version = delta_artifact().split(":")
    return (ivy_jars_dir() / f"{group}_{artifact}-{version}.jar").exists()


@contextmanager
def runtime_conf(spark, settings: Mapping[str, object]):
    """Apply runtime (SQL) settings inside a ``with`` block, then put the previous values back.

    A value of None means the value the session was launched with (or Spark's default).
    """
    launched = dict(spark.sparkContext.getConf().getAll())
    before = {key: spark.conf.get(key, None) for key in settings}

    def apply(values):
        for key, value in values.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, str(value))

    try:
        apply({key: launched.get(key) if value is None else value for key, value in settings.items()})
        yield spark
    finally:
        apply(before)
