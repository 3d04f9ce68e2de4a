"""A small Spark application that sorts more rows than its own heap can hold (module 01).

Run by ``spark-submit`` in a JVM of its own (:func:`prodspark.engines_spill.run_spill_job`),
it sorts generated rows, reads back from its own REST API how much data the sort handled and
how much it spilled, and writes those numbers as JSON before it stops::

    spark-submit --master local[2] --conf spark.driver.memory=512m \\
        prodspark/engines_spill_job.py ROWS RESULT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rows_to_sort(spark, rows: int):
    """``rows`` generated rows: a hashed key and a 1 KiB payload (a SHA-256 digest in hex, 16 times),
    about 1,050 bytes a row in memory. The repeated digest compresses well on disk; what matters
    here is the room the rows take in the heap."""
    from pyspark.sql import functions as F

    digest = F.sha2(F.col("id").cast("string"), 256)
    return spark.range(rows, numPartitions=2).select(F.xxhash64("id").alias("key"),
                                                     F.repeat(digest, 16).alias("payload"))


def sort_more_than_the_heap(spark, rows: int) -> None:
    """Sort the rows into one global order by key. The ``noop`` format runs the whole query
    and writes nothing, so the time goes into the sort."""
    rows_to_sort(spark, rows).orderBy("key").write.format("noop").mode("overwrite").save()


def size_bytes(value: str) -> int:
    """The total of a size metric as the REST API shows it: its first figure, e.g. "512.3 MiB"."""
    units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    for line in value.strip().splitlines():
        parts = line.replace(",", "").split()
        if len(parts) >= 2 and parts[1] in units:
            try:
                return int(float(parts[0]) * units[parts[1]])
            except ValueError:
                continue
    return 0


def warm_up_rest_api(spark) -> None:
    """Ask the REST API once, in the background, while the sort is being planned.

    Its first answer in a fresh JVM took about 2 s here (Spark's web service sets itself up
    on that request). Asked while the sort is planned, on a core the planning leaves idle,
    it is ready when the sort's numbers are read back."""
    import threading

    from prodspark.sparkui import SparkUI, SparkUIError

    ui = SparkUI(spark)

    def ask() -> None:
        try:
            ui.get("jobs")
        except SparkUIError:
            pass  # the numbers are read again after the sort, where a failure is reported

    threading.Thread(target=ask, name="rest-api-warm-up", daemon=True).start()


def main(argv: list[str]) -> int:
    from pyspark.sql import SparkSession

    from prodspark.sparkui import trace

    rows, result_path = int(argv[0]), Path(argv[1])
    spark = SparkSession.builder.getOrCreate()
    try:
        jvm = spark.sparkContext._jvm
        if jvm is None:
            raise RuntimeError("this application needs a classic Spark session with a JVM, not Spark Connect")
        heap = jvm.java.lang.Runtime.getRuntime().maxMemory()
        warm_up_rest_api(spark)
        run = trace(spark, lambda: sort_more_than_the_heap(spark, rows), "sort more than the heap")
        exchanged = sum(size_bytes(metric["value"])
                        for execution in run.sql for node in execution.get("nodes", [])
                        if node.get("nodeName", "").startswith("Exchange")
                        for metric in node.get("metrics", []) if metric["name"] == "data size")
        result = {
            "rows": rows,
            "heap_bytes": heap,
            "driver_memory": spark.conf.get("spark.driver.memory", "1g"),
            "master": spark.sparkContext.master,
            "sorted_bytes": exchanged,
            "memory_bytes_spilled": run.spilled_bytes,
            "disk_bytes_spilled": run.disk_spilled_bytes,
            "shuffle_write_bytes": sum(s["shuffleWriteBytes"] for s in run.stages),
            "tasks": run.tasks,
            "failed_tasks": run.failed_tasks,
            "seconds": run.seconds,
        }
        result_path.write_text(json.dumps(result))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
