"""Partitions in memory and files on disk, measured.

How many partitions a DataFrame has and how many rows each holds; how many files a write
leaves and how big they are; how skewed the tasks of a stage are. The lessons print these
numbers instead of quoting rules of thumb.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prodspark.errors import CourseError
from prodspark.frames import first_row

MiB = 2**20
# Files that describe a table rather than hold its rows.
_NOT_DATA = ("_", ".")


class LayoutError(CourseError, ValueError):
    """A layout measurement was given something it cannot measure; the message says what."""


def partitions_for(total_bytes: int, target_bytes: int) -> int:
    """How many partitions give partitions of about ``target_bytes`` each (at least one)."""
    for name, value in (("total_bytes", total_bytes), ("target_bytes", target_bytes)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise LayoutError(f"{name} must be a number of bytes, got {value!r}")
    if target_bytes == 0:
        raise LayoutError("target_bytes must be greater than 0")
    return max(1, math.ceil(total_bytes / target_bytes))


def rows_per_partition(df, partitions: int | None = None):
    """Rows in each partition of a DataFrame, empty partitions included (a pandas Series).

    partitions: the DataFrame's partition count when the caller knows it (``repartition(n)``);
    otherwise Spark is asked, which for ``repartitionByRange`` samples the data once more.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int)
                                   or partitions < 1):
        raise LayoutError(f"partitions must be a whole number of at least 1, got {partitions!r}")
    counts = {row["partition"]: row["count"]
              for row in df.groupBy(F.spark_partition_id().alias("partition")).count().collect()}
    n = df.rdd.getNumPartitions() if partitions is None else partitions
    if counts and max(counts) >= n:
        raise LayoutError(f"the DataFrame has rows in partition {max(counts)}, so it has more than {n} partitions")
    return pd.Series([counts.get(i, 0) for i in range(n)], name="rows").rename_axis("partition")


def skew_ratio(values) -> float:
    """max / median: 1 means perfectly even; large means one task does most of the work."""
    values = [v for v in values]
    if not values:
        raise LayoutError("no values to compare: the stage or DataFrame had no partitions")
    median = statistics.median(values)
    return float("inf") if median == 0 else max(values) / median


def data_files(path: str | Path) -> list[Path]:
    """The data files under a table folder (not logs, checksums or markers)."""
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(_NOT_DATA)]
        found += [Path(folder) / f for f in files if not f.startswith(_NOT_DATA) and not f.endswith(".crc")]
    return sorted(found)


def total_bytes(path: str | Path) -> int:
    """The size of a table's data files on disk, in bytes."""
    return sum(f.stat().st_size for f in data_files(path))


def file_summary(path: str | Path) -> dict:
    """Count and sizes of a table's data files."""
    sizes = [f.stat().st_size for f in data_files(path)]
    return {"files": len(sizes), "MiB": round(sum(sizes) / MiB, 2),
            "median KiB": round(statistics.median(sizes) / 1024, 1) if sizes else 0.0}


def partition_folders(path: str | Path) -> list[str]:
    """The partition folder names directly under a table, e.g. ['month=2024-01-01', ...]."""
    return sorted(p.name for p in Path(path).iterdir() if p.is_dir() and "=" in p.name)


def stage_tasks(spark, run, stage_id: int):
    """One row per successful task of a traced stage: duration and records read (pandas)."""
    import pandas as pd

    from prodspark.sparkui import SparkUI

    attempts = [s for s in run.stages if s["stageId"] == stage_id and s["status"] == "COMPLETE"]
    if not attempts:
        raise LayoutError(f"stage {stage_id} did not complete in this run: pass a stage id from run.stages")
    tasks = SparkUI(spark).tasks(stage_id, attempts[-1]["attemptId"])
    rows = [{"task": t["index"], "seconds": t.get("duration", 0) / 1000,
             "records": t["taskMetrics"]["shuffleReadMetrics"]["recordsRead"]
                        or t["taskMetrics"]["inputMetrics"]["recordsRead"]}
            for t in tasks if t["status"] == "SUCCESS"]
    return pd.DataFrame(rows).sort_values("task").set_index("task")


def busiest_stage(run) -> int:
    """The stage of a run that read the most shuffle data: where a join or aggregation happened."""
    ran = [s for s in run.stages if s["status"] == "COMPLETE"]
    return max(ran, key=lambda s: (s["shuffleReadRecords"], s["numTasks"]))["stageId"]


def split_bytes(spark, path: str | Path) -> int:
    """The size Spark cuts a folder's files into when reading them (FilePartition's rule).

    min(maxPartitionBytes, max(openCostInBytes, (total bytes + files x openCostInBytes) / parallelism))
    """
    from prodspark.memory import parse_size

    conf = spark.conf
    max_bytes = parse_size(conf.get("spark.sql.files.maxPartitionBytes"), default_unit="")
    open_cost = parse_size(conf.get("spark.sql.files.openCostInBytes"), default_unit="")
    min_partitions = conf.get("spark.sql.files.minPartitionNum", None)
    parallelism = int(min_partitions) if min_partitions else spark.sparkContext.defaultParallelism
    sizes = [f.stat().st_size for f in data_files(path)]
    per_core = (sum(sizes) + len(sizes) * open_cost) / parallelism
    return int(min(max_bytes, max(open_cost, per_core)))


def files_read(run) -> int:
    """Data files a traced query opened: the Parquet scans' "number of files read".

    Delta tables are Parquet files too; reads of Delta's own JSON log are not counted.
    """
    return run.metric("number of files read", node="Scan parquet")


def delta_files(spark, path: str | Path) -> int:
    """Files in the current version of a Delta table (older versions' files stay on disk until VACUUM)."""
    from delta.tables import DeltaTable

    return first_row(DeltaTable.forPath(spark, str(path)).detail())["numFiles"]


@dataclass
class Listing:
    """Files Spark's file index listed while a ``with files_listed(spark)`` block ran."""

    discovered: int = 0  # listed from the file system
    cache_hits: int = 0  # served from the session's cache of earlier listings
    listing_jobs: int = 0  # Spark jobs started to list many folders in parallel

    @property
    def files(self) -> int:
        """Every file the index listed, from the file system or from its cache."""
        return self.discovered + self.cache_hits


def _catalog_counters(spark) -> tuple[int, int, int]:
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        raise LayoutError("files_listed reads Spark's own counters in the driver's JVM, which this session "
                          "(Spark Connect) does not expose: use a classic session, start_spark().")
    metrics = jvm.org.apache.spark.metrics.source.HiveCatalogMetrics
    return (metrics.METRIC_FILES_DISCOVERED().getCount(), metrics.METRIC_FILE_CACHE_HITS().getCount(),
            metrics.METRIC_PARALLEL_LISTING_JOB_COUNT().getCount())


@contextmanager
def files_listed(spark) -> Iterator[Listing]:
    """Count the files Spark lists for file-based reads inside the block.

    Spark's file index (``InMemoryFileIndex``) adds every file it lists to the driver's
    ``HiveCatalogMetrics`` counters ("filesDiscovered", or "fileCacheHits" when the listing
    came from the session's cache). The counters are the driver's, so a block should run one
    read at a time.
    """
    before = _catalog_counters(spark)
    listing = Listing()
    try:
        yield listing
    finally:
        after = _catalog_counters(spark)
        listing.discovered, listing.cache_hits, listing.listing_jobs = (
            b - a for a, b in zip(before, after, strict=True))


def input_tasks(run) -> int:
    """Tasks of a traced run's stages that read files (stages whose input records are above 0)."""
    return sum(s["numTasks"] for s in run.stages
               if s["status"] == "COMPLETE" and s.get("inputRecords", 0) > 0)


def error_name(error: BaseException) -> str:
    """The condition of a Spark or Delta error (e.g. DELTA_ZORDERING_ON_PARTITION_COLUMN), else its class.

    Errors PySpark does not translate arrive as a Py4JJavaError; the condition is read from the
    Java exception inside it.
    """
    condition = getattr(error, "getCondition", None)
    name = condition() if callable(condition) else None
    java = getattr(error, "java_exception", None)
    if not name and java is not None:
        try:
            name = java.getCondition()
        except Exception:  # not a SparkThrowable: name the Java class instead
            name = java.getClass().getSimpleName()
    return name or type(error).__name__
