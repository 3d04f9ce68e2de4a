"""A small application with known problems, run in its own JVM by tests/test_monitoring.py.

It needs settings the shared test session cannot take (its own heap, task retries, event
logs, the driver's Prometheus sink), so it runs as a separate process:

    python tests/monitoring_app.py OUT_DIR SEED

Each problem job has a clean twin of the same size, each in its own job group:
skew / even (a hot key, or none), spill / nospill (a sort into 2 or 16 partitions),
gc / nogc (collect_list's boxed values, or a sum), retry / noretry (a task that fails once).
Before stopping, it writes what the REST API and the Prometheus endpoints said to
OUT_DIR/result.json; its event log is in OUT_DIR/events.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from prodspark.monitoring.eventlog import find_event_log, read_events
from prodspark.monitoring.progress import ProgressPoller
from prodspark.monitoring.rest import RestApi, executors_frame, stages_frame, tasks_frame
from prodspark.monitoring.scrape import driver_prometheus_conf, endpoints, scrape
from prodspark.session import start_spark


def main(out: Path, seed: int) -> None:
    rng = random.Random(seed)
    conf = {**driver_prometheus_conf(), "spark.driver.memory": "512m", "spark.memory.fraction": "0.3",
            "spark.sql.shuffle.partitions": "4", "spark.sql.adaptive.enabled": "false"}
    # local[2,2]: two cores, and a failed task is tried again once (plain local[2] gives up at once)
    spark = start_spark(master="local[2,2]", app_name=f"monitoring-problems-{seed}", delta=False,
                        event_log_dir=out / "events", conf=conf)
    context = spark.sparkContext
    marker = out / "failed-once"

    def fails_once(value):
        if value == 0 and not marker.exists():
            marker.write_text("a task failed here once")
            raise RuntimeError("a planned failure, to be retried")
        return value

    failing = F.udf(fails_once, LongType())
    rows = 2_000_000 + rng.randrange(0, 400_000)
    hot = rng.randrange(0, 997)

    def keyed(skewed: bool):
        share = F.col("id") % 100 < 97  # 97% of the rows on one key
        key = F.when(share, F.lit(hot)).otherwise(F.col("id") % 997) if skewed else F.col("id") % 997
        return spark.range(0, rows, 1, 4).withColumn("key", key)

    def hashed(skewed: bool):
        work = F.sha2(F.sha2(F.col("id").cast("string"), 256), 256)
        return keyed(skewed).repartition(8, "key").select(F.sum(F.length(work))).collect()

    def sort(partitions: int):
        (spark.range(0, 600_000 + rng.randrange(0, 100_000), 1, 16)
         .withColumn("s", F.sha2(F.col("id").cast("string"), 512))
         .repartition(partitions).sortWithinPartitions("s").write.format("noop").mode("overwrite").save())

    def grouped(boxed: bool):
        # collect_list keeps every value of a group alive until the task ends: the young
        # generation's survivors are copied again and again. The sum makes short-lived garbage only.
        text = F.sha2(F.col("id").cast("string"), 256)
        values = F.size(F.collect_list(text)) if boxed else F.sum(F.length(text))
        (spark.range(0, rows, 1, 2).groupBy((F.col("id") % 100).alias("k")).agg(values.alias("n"))
         .agg(F.sum("n")).collect())

    def retried(fail: bool):
        column = failing(F.col("id") % 50) if fail else F.col("id") % 50
        spark.range(0, 20_000, 1, 8).select(column.alias("v")).agg(F.sum("v")).collect()

    jobs = {"warm-up": lambda: spark.range(10_000).groupBy(F.col("id") % 3).count().collect(),
            "gc": lambda: grouped(True), "nogc": lambda: grouped(False),
            "skew": lambda: hashed(True), "even": lambda: hashed(False),
            "spill": lambda: sort(2), "nospill": lambda: sort(16),
            "retry": lambda: retried(True), "noretry": lambda: retried(False)}
    seconds = {}
    with ProgressPoller(spark, interval=0.05) as poller:
        for group, job in jobs.items():
            context.setJobGroup(group, group)
            start = time.perf_counter()
            job()
            seconds[group] = time.perf_counter() - start
    context.setLocalProperty("spark.jobGroup.id", None)
    api = RestApi.for_session(spark)
    time.sleep(1.0)  # the status store records the last task ends a moment after the job
    groups: dict[str, list[int]] = {}
    for job in api.jobs():
        groups.setdefault(job.get("jobGroup", ""), []).extend(job["stageIds"])
    urls = endpoints(spark)
    driver, executors = scrape(urls["driver"]), scrape(urls["executors"])
    live = read_events(find_event_log(out / "events", context.applicationId))  # still being written
    live_events = sum(1 for _ in live)
    result = {
        "app_id": context.applicationId,
        "seed": seed,
        "seconds": seconds,
        "groups": groups,
        "stages": stages_frame(api).to_dict("records"),
        "tasks": tasks_frame(api).to_dict("records"),
        "executors": executors_frame(api).to_dict("records"),
        "progress": poller.frame().to_dict("records"),
        "driver_metrics": sorted(driver["name"])[:4000],
        "executor_metric_labels": [row["labels"] for row in executors.to_dict("records")],
        "live_log": {"in_progress": live.in_progress, "events": live_events, "incomplete": live.incomplete},
    }
    spark.stop()
    (out / "result.json").write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
