"""Every exercise's right answer and its table of plausible wrong answers, for any dataset.

A case is built for one dataset (:class:`Env`, a seed and a scale) with another dataset at
hand (``other``), so that each table holds, besides the exercise's own traps:
- the example from the exercise's prompt (:data:`PROMPT_EXAMPLES`; a test proves the prompt
  shows it);
- the right answer for the other dataset;
- a right-typed answer built from the wrong data, stale output or fabricated evidence.
tests/test_exercise_checks.py runs every table at two datasets: the right answer passes,
every wrong one fails with a message, every wrongly-typed one fails with "expected ...".
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from pyspark.sql import functions as F

from prodspark import engines, layout, plans
from prodspark.datagen import RAW_SCHEMA_DDL, generate
from prodspark.exercises import m06
from prodspark.exercises.m02 import PLACES, exercise_query
from prodspark.params import check_parameters
from prodspark.pipeline import ACCEPTED_CURRENCIES


@dataclass
class Answer:
    """One answer to check, with the evidence passed beside it (``check(id, answer, **evidence)``)."""

    value: Any
    evidence: dict = field(default_factory=dict)


@dataclass
class Table:
    right: Answer
    wrong: dict[str, Answer]  # label -> a right-typed answer that must fail
    badly_typed: list[Any] = field(default_factory=list)


# The example each prompt shows, as written there: it must not be the right answer.
PROMPT_EXAMPLES = {"00.2": "datetime.date(2023, 11, 1)", "00.3": "4040", "06.1": "(7, 'gc')"}


class Env:
    """One generated dataset, its parameters, and the answers the solutions give on it."""

    def __init__(self, spark, folder: Path, seed: int, scale: float):
        self.spark, self.seed, self.scale = spark, seed, scale
        self.params = check_parameters(scale=scale, seed=seed, master="local[2]", data_dir=folder / "data",
                                       output_dir=folder / "out")
        generate(spark, self.params.data_dir, scale=scale, seed=seed,
                 datasets=("customers", "merchants", "transactions", "raw_transactions"), progress=lambda line: None)

    def __repr__(self) -> str:
        return f"seed {self.seed}, scale {self.scale:g}"

    def activate(self):
        """Make this dataset the one the checks read (as a notebook's check_parameters does)."""
        check_parameters(scale=self.scale, seed=self.seed, master="local[2]", data_dir=self.params.data_dir,
                         output_dir=self.params.output_dir)
        return self

    def read(self, name: str):
        return self.spark.read.parquet(str(self.params.data_dir / name))

    @cached_property
    def transactions(self):
        return self.read("transactions")

    @cached_property
    def merchants(self):
        return self.read("merchants")

    @cached_property
    def months_by_count(self) -> list[datetime.date]:
        counts = self.transactions.groupBy(F.trunc("transaction_date", "month").alias("month")).count()
        return [row["month"] for row in counts.orderBy(F.desc("count"), "month").collect()]

    def duckdb_relation(self, revenue: str = "SUM(t.amount)", customers: str = "COUNT(DISTINCT t.customer_id)"):
        t = f"{(self.params.data_dir / 'transactions').as_posix()}/*.parquet"
        m = f"{(self.params.data_dir / 'merchants').as_posix()}/*.parquet"
        return duckdb.sql(f"""SELECT m.category, {revenue} AS revenue, {customers} AS customers
                              FROM read_parquet('{t}') t JOIN read_parquet('{m}') m USING (merchant_id)
                              GROUP BY m.category""")

    @cached_property
    def results(self):
        """Measurements made by engines.compare, as the exercise's measurement cell makes them."""
        sizes = [2_000, 4_000, 8_000]
        files = engines.write_sizes(self.spark, self.params.output_dir / "engines", sizes, seed=self.seed)
        return engines.compare(self.spark, files, repeat=1, progress=lambda line: None)

    def salted_join(self, salts: int = 8, copy_merchants: bool = True):
        category = self.merchants.select("merchant_id", "category")
        left = self.transactions.withColumn("salt", (F.rand(seed=1) * salts).cast("int"))
        if copy_merchants:
            right = category.crossJoin(self.spark.range(salts).select(F.col("id").cast("int").alias("salt")))
        else:
            right = category.withColumn("salt", F.lit(0))
        return left.join(right, ["merchant_id", "salt"]).drop("salt")

    def folder(self, name: str) -> Path:
        path = self.params.output_dir / name
        shutil.rmtree(path, ignore_errors=True)
        return path

    def monthly_table(self, name: str = "by_month", month=None) -> Path:
        path = self.folder(name)
        month = F.trunc("transaction_date", "month") if month is None else month
        (self.transactions.withColumn("month", month).repartition("month")
         .write.partitionBy("month").parquet(str(path)))
        return path

    def delta_payments(self, name: str, zorder: bool) -> Path:
        from delta.tables import DeltaTable

        path = self.folder(name)
        self.transactions.select("customer_id", "merchant_id", "amount").repartition(8) \
            .write.format("delta").save(str(path))
        if zorder:
            table = DeltaTable.forPath(self.spark, str(path))
            self.spark.conf.set("spark.databricks.delta.optimize.maxFileSize",
                                str(table.detail().first()["sizeInBytes"] // 4))
            try:
                table.optimize().executeZOrderBy("customer_id")
            finally:
                self.spark.conf.unset("spark.databricks.delta.optimize.maxFileSize")
        return path


def backdate(path: Path, seconds: float = 3600) -> Path:
    """Make every file under ``path`` look written an hour ago: output left by an earlier run."""
    past = time.time() - seconds
    for folder, _, files in os.walk(path):
        for name in files:
            os.utime(Path(folder) / name, (past, past))
    return path


def stale_copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return backdate(target)


# ------------------------------------------------------------------ one case per exercise

def case_00_1(env: Env, other: Env) -> Table:
    count = env.transactions.count()
    return Table(Answer(count), {
        "one more": Answer(count + 1),
        "zero": Answer(0),
        "the other dataset's count": Answer(other.transactions.count()),
        "the customers, not the transactions": Answer(env.read("customers").count()),
    }, ["200000", 1.5, True])


def case_00_2(env: Env, other: Env) -> Table:
    ranked = env.months_by_count
    by_revenue = (env.transactions.groupBy(F.trunc("transaction_date", "month").alias("month"))
                  .agg(F.sum("amount").alias("revenue")).orderBy(F.desc("revenue")).first()["month"])
    wrong = {
        "the prompt's example": Answer(eval(PROMPT_EXAMPLES["00.2"])),
        "the quietest month": Answer(ranked[-1]),
        "not the first day of the month": Answer(ranked[0].replace(day=2)),
        "the other dataset's busiest month": Answer(other.months_by_count[0]),
    }
    if by_revenue != ranked[0]:
        wrong["the month with the most revenue"] = Answer(by_revenue)
    return Table(Answer(ranked[0]), wrong,
                 [ranked[0].isoformat(), datetime.datetime.combine(ranked[0], datetime.time())])


class _OtherSparkUI(BaseHTTPRequestHandler):
    """Answers like another application's Spark UI: fabricated evidence for exercise 00.3."""

    def do_GET(self):
        body = json.dumps([{"id": "app-20240101000000-0001", "name": "someone else's job"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


_other_ui: HTTPServer | None = None


def other_ui_port() -> int:
    global _other_ui
    if _other_ui is None:
        _other_ui = HTTPServer(("127.0.0.1", 0), _OtherSparkUI)
        threading.Thread(target=_other_ui.serve_forever, daemon=True).start()
    return _other_ui.server_address[1]


def stop_other_ui() -> None:
    global _other_ui
    if _other_ui is not None:
        _other_ui.shutdown()
        _other_ui.server_close()
        _other_ui = None


def case_00_3(env: Env, other: Env) -> Table:
    from urllib.parse import urlparse

    url = env.spark.sparkContext.uiWebUrl
    port = urlparse(url).port
    return Table(Answer(port), {
        "the prompt's example": Answer(eval(PROMPT_EXAMPLES["00.3"])),
        "the number of cores": Answer(os.cpu_count()),
        "another application's UI": Answer(other_ui_port()),
        "not a port": Answer(70000),
    }, [url, float(port), True])


def timed(action: Callable[[], Any], times: int = 5) -> list[float]:
    runs = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return runs


def case_01_1(env: Env, other: Env) -> Table:
    env.spark.range(1).count()  # the warm-up the prompt asks for
    runs = timed(lambda: env.spark.range(1).count())
    median = statistics.median(runs)
    assert statistics.mean(runs) != median
    typed = [0.001, 0.002, 0.003, 0.004, 0.005]
    return Table(Answer(median, {"runs": runs}), {
        "a number typed in, without timings": Answer(0.05),
        "the same number typed five times": Answer(0.05, {"runs": [0.05] * 5}),
        "timings typed by hand": Answer(statistics.median(typed), {"runs": typed}),
        "milliseconds, not seconds": Answer(median * 1000, {"runs": [r * 1000 for r in runs]}),
        "the mean, not the median": Answer(statistics.mean(runs), {"runs": runs}),
    }, ["fast", None])


def case_01_2(env: Env, other: Env) -> Table:
    frame = env.duckdb_relation().df()
    copied = env.spark.createDataFrame(frame).toPandas()  # noqa: F841 (read by DuckDB by name)
    return Table(Answer(env.duckdb_relation()), {
        "the other dataset's files": Answer(other.duckdb_relation()),
        "rows copied in from pandas": Answer(duckdb.sql("SELECT * FROM copied")),
        "revenue off by 10%": Answer(env.duckdb_relation(revenue="SUM(t.amount) * 1.1")),
        "customers counted with repeats": Answer(env.duckdb_relation(customers="COUNT(t.customer_id)")),
    }, [frame, env.spark.createDataFrame(frame), {"category": []}])


# Measurements nobody made: right-typed, with a right answer computed from them.
FABRICATED = pd.DataFrame([
    {"engine": e, "rows": n, "seconds": s}
    for n, times in {1000: (0.5, 0.01, 0.02), 10000: (0.6, 0.3, 0.03), 100000: (0.9, 3.0, 0.3)}.items()
    for e, s in zip(("spark", "pandas", "duckdb"), times, strict=True)
])


def fixed_cost(results, engine: str = "spark") -> tuple[float, float]:
    import numpy as np

    part = results[results["engine"] == engine]
    per_row, fixed = np.polyfit(part["rows"], part["seconds"], 1)
    return float(fixed), float(per_row)


def speedup(results, at=max) -> float:
    times = results.pivot(index="rows", columns="engine", values="seconds")
    size = at(times.index)
    return float(times.loc[size, "spark"] / times.loc[size, "duckdb"])


def doubled(results):
    edited = results.copy()
    edited["seconds"] = edited["seconds"] * 2
    return edited


def case_01_3(env: Env, other: Env) -> Table:
    results = env.results
    fixed, per_row = fixed_cost(results)
    evidence = {"results": results}
    return Table(Answer(fixed, evidence), {
        "the slope, not the fixed cost": Answer(per_row, evidence),
        "pandas's fixed cost": Answer(fixed_cost(results, "pandas")[0], evidence),
        "Spark's time at the smallest size": Answer(float(results.query("engine == 'spark'")["seconds"].iloc[0]),
                                                    evidence),
        "the other run's answer": Answer(fixed_cost(other.results)[0], evidence),
        "fabricated results": Answer(fixed_cost(FABRICATED)[0], {"results": FABRICATED}),
        "results edited after measuring": Answer(fixed_cost(doubled(results))[0], {"results": doubled(results)}),
    }, ["0.2 s", None])


def case_01_4(env: Env, other: Env) -> Table:
    results = env.results
    right = speedup(results)
    evidence = {"results": results}
    wrong = {"DuckDB over Spark": Answer(1 / right, evidence)}
    # Two measured ratios can coincide (within the check's 1 %): such an answer is right too.
    for label, ratio in (("at the smallest size", speedup(results, at=min)),
                         ("the other run's answer", speedup(other.results))):
        if abs(ratio - right) > 0.02 * right:
            wrong[label] = Answer(ratio, evidence)
    return Table(Answer(right, evidence), {
        **wrong,
        "fabricated results": Answer(speedup(FABRICATED), {"results": FABRICATED}),
        "results edited after measuring": Answer(right, {"results": doubled(results).assign(
            seconds=lambda t: t["seconds"].where(t["engine"] != "duckdb", t["seconds"] / 2))}),
    }, ["3x"])


def stages_from_the_plan(query) -> int:
    """The reasoning the lesson teaches: a stage per shuffle and per broadcast, plus the final stage."""
    return len(plans.shuffles(query)) + plans.broadcasts(query) + 1


def case_02_1(env: Env, other: Env) -> Table:
    query = exercise_query(env.spark, env.params.data_dir)
    stages = stages_from_the_plan(query)
    another = env.transactions.groupBy("channel").count()
    return Table(Answer(stages, {"query": query}), {
        "one stage too few": Answer(stages - 1, {"query": query}),
        "one stage too many": Answer(stages + 1, {"query": query}),
        "the other dataset's query": Answer(stages, {"query": exercise_query(other.spark, other.params.data_dir)}),
        "another query's stages": Answer(stages_from_the_plan(another), {"query": another}),
        "no query passed": Answer(stages),
    }, ["3", float(stages)])


STARTS_A_JOB = {"spark.read.parquet(path)", "df.count()", "df.take(1)"}
ON_EXECUTORS = {"the body of a Python UDF", "reading the rows of a Parquet file", "writing shuffle files"}


def case_02_2(env: Env, other: Env) -> Table:
    return Table(Answer(STARTS_A_JOB), {
        "cache() runs a job": Answer(STARTS_A_JOB | {"df.cache()"}),
        "take() is lazy": Answer(STARTS_A_JOB - {"df.take(1)"}),
        "only actions": Answer({"df.count()", "df.take(1)"}),
        "nothing": Answer(set()),
        "a name not in the list": Answer([*STARTS_A_JOB, "df.collect()"]),
        "not a name": Answer([*STARTS_A_JOB, 1]),
    }, ["df.count()", {"df.count()": True}])


def case_02_3(env: Env, other: Env) -> Table:
    return Table(Answer(ON_EXECUTORS), {
        "shuffle files on the driver": Answer(ON_EXECUTORS - {"writing shuffle files"}),
        "everything on the executors": Answer(set(PLACES)),
        "collect() on the executors": Answer(ON_EXECUTORS | {"the list that collect() returns"}),
        "not in the list": Answer({"the GPU"}),
    }, ["writing shuffle files", dict.fromkeys(ON_EXECUTORS, "executor")])


def case_02_4(env: Env, other: Env) -> Table:
    return Table(Answer("k8s://https://k8s-api.example.com:6443"), {
        "the API server's URL alone": Answer("https://k8s-api.example.com:6443"),
        "the wrong port": Answer("k8s://https://k8s-api.example.com:443"),
        "a standalone URL": Answer("spark://k8s-api.example.com:6443"),
        "Mesos, gone since Spark 4": Answer("mesos://k8s-api.example.com:6443"),
    }, [6443, None])


def unified_mib(spark, fraction: float | None = None) -> float:
    """M computed from the driver's heap and the session's fraction (the unit tests run locally)."""
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20
    return (heap - 300) * (float(spark.conf.get("spark.memory.fraction")) if fraction is None else fraction)


def case_03_1(env: Env, other: Env) -> Table:
    memory = unified_mib(env.spark)
    heap = env.spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20
    return Table(Answer(memory), {
        "the default fraction, not the session's": Answer(unified_mib(env.spark, 0.6)),
        "no reserved memory": Answer(heap * float(env.spark.conf.get("spark.memory.fraction"))),
        "2% off": Answer(memory * 1.02),
        "zero": Answer(0.0),
    }, ["72.4", True])


def case_03_2(env: Env, other: Env) -> Table:
    t, m = env.transactions, env.merchants
    return Table(Answer(t.join(F.broadcast(m), "merchant_id")), {
        "the big side broadcast": Answer(F.broadcast(t).join(m, "merchant_id")),
        "no broadcast": Answer(t.join(m, "merchant_id")),
        "a filtered join": Answer(t.where("amount > 100").join(F.broadcast(m), "merchant_id")),
        "the other dataset's tables": Answer(other.transactions.join(F.broadcast(other.merchants), "merchant_id")),
        "customers broadcast instead": Answer(t.join(F.broadcast(env.read("customers")), "customer_id")),
        "no join": Answer(t),
    }, [m.toPandas(), "joined"])


def case_03_3(env: Env, other: Env) -> Table:
    sizing = {"executors_per_node": 6, "heap_mib": 19703, "overhead_mib": 1971}
    return Table(Answer(sizing), {
        "cores not reserved": Answer({**sizing, "executors_per_node": 7}),
        "overhead below its floor": Answer({**sizing, "overhead_mib": 100}),
        "a heap that does not fit": Answer({**sizing, "heap_mib": 21000}),
        "memory left unused": Answer({**sizing, "heap_mib": 8000}),
        "a number as text": Answer({**sizing, "heap_mib": "19703"}),
        "keys missing": Answer({"heap_mib": 19703}),
    }, [[6, 19703, 1971], "6"])


SMALLER_PARTITIONS = {"spark.sql.adaptive.advisoryPartitionSizeInBytes": "4m", "spark.sql.shuffle.partitions": "64"}


def case_03_4(env: Env, other: Env) -> Table:
    return Table(Answer(SMALLER_PARTITIONS), {
        "a static setting": Answer({"spark.memory.fraction": "0.5"}),
        "nothing": Answer({}),
        "fewer partitions": Answer({"spark.sql.shuffle.partitions": "2"}),
        "more partitions, which AQE merges again": Answer({"spark.sql.shuffle.partitions": "64"}),
    }, ["64", ["spark.sql.shuffle.partitions"]])


def sized_partitions(env: Env) -> int:
    return layout.partitions_for(layout.total_bytes(env.params.data_dir / "transactions"), 256 * 1024)


def case_04_1(env: Env, other: Env) -> Table:
    sized, other_sized = sized_partitions(env), sized_partitions(other)
    assert other_sized not in (sized, sized - 1), "choose datasets whose right answers differ"
    t = env.transactions
    return Table(Answer(t.repartition(sized)), {
        "five too many": Answer(t.repartition(sized + 5)),
        "one partition": Answer(t.coalesce(1) if sized > 2 else t.repartition(sized + 9)),
        "the other dataset's count": Answer(t.repartition(other_sized)),
        "merchants, not transactions": Answer(env.merchants.repartition(sized)),
        "some rows filtered out": Answer(t.where("amount > 10").repartition(sized)),
    }, [sized, "transactions"])


def case_04_2(env: Env, other: Env) -> Table:
    salted = env.salted_join()
    return Table(Answer(salted), {
        "the plain join": Answer(env.transactions.join(env.merchants.select("merchant_id", "category"),
                                                       "merchant_id")),
        "salted, some rows filtered out": Answer(salted.where("amount > 10")),
        "salted, merchants not copied per salt": Answer(env.salted_join(copy_merchants=False)),
        "the other dataset's salted join": Answer(other.salted_join()),
        "no join": Answer(env.transactions),
    }, [None, "salted"])


def case_04_3(env: Env, other: Env) -> Table:
    monthly = env.monthly_table()
    stale = stale_copy(monthly, env.params.output_dir / "stale_by_month")
    flat = env.folder("flat")
    env.transactions.write.parquet(str(flat))
    by_timestamp = env.monthly_table("by_timestamp", F.date_trunc("month", "transaction_date"))
    return Table(Answer("month", {"path": monthly}), {
        "another column": Answer("transaction_date", {"path": monthly}),
        "the name in the wrong case": Answer("Month", {"path": monthly}),
        "output left by an earlier run": Answer("month", {"path": stale}),
        "the other dataset's table": Answer("month", {"path": other.monthly_table("by_month_other_data")}),
        "months as timestamps": Answer("month", {"path": by_timestamp}),
        "not partitioned": Answer("month", {"path": flat}),
        "no folder passed": Answer("month"),
    }, [["month"], None])


def case_04_4(env: Env, other: Env) -> Table:
    zordered = env.delta_payments("zordered", zorder=True)
    return Table(Answer("customer_id", {"path": zordered}), {
        "a column nobody filters on": Answer("amount", {"path": zordered}),
        "another column": Answer("merchant_id", {"path": zordered}),
        "no Z-order": Answer("customer_id", {"path": env.delta_payments("not_zordered", zorder=False)}),
        "Z-ordered by an earlier run": Answer("customer_id", {"path": stale_copy(
            zordered, env.params.output_dir / "stale_zordered")}),
        "the other dataset's table": Answer("customer_id", {"path": other.delta_payments(
            "zordered_other_data", zorder=True)}),
    }, [["customer_id"], 1])


def case_05_1(env: Env, other: Env) -> Table:
    schema = RAW_SCHEMA_DDL + ", _corrupt_record STRING"

    def raw(e: Env, **options):
        reader = e.spark.read.schema(options.pop("schema", schema))
        for key, value in options.items():
            reader = reader.option(key, value)
        return reader.json(str(e.params.data_dir / "raw_transactions"))

    every_record = raw(env)
    return Table(Answer(every_record), {
        "multiLine": Answer(raw(env, multiLine="true")),
        "malformed lines dropped": Answer(raw(env, mode="DROPMALFORMED")),
        "no column for malformed lines": Answer(raw(env, schema=RAW_SCHEMA_DDL)),
        "the other dataset's feed": Answer(raw(other)),
    }, [str(env.params.data_dir / "raw_transactions"), every_record.limit(5).toPandas()])


def case_05_2(env: Env, other: Env) -> Table:
    currency = F.col("currency")
    right = ~F.coalesce(currency.isin(*ACCEPTED_CURRENCIES), F.lit(False))
    return Table(Answer(right), {
        "null lets a record through": Answer(~currency.isin(*ACCEPTED_CURRENCIES)),
        "one bad currency only": Answer(currency == "XYZ"),
        "missing currencies only": Answer(currency.isNull()),
        "valid records quarantined too": Answer(right | (F.col("amount") > 20)),
    }, ["currency not in ('USD', 'EUR', 'GBP')", None])


def _is_delta(spark, path) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def loader(spark, *, partitioned: bool = True, merge: str = "changes"):
    """A load(batch, path) as a learner might write it; ``merge``: changes, all, insert or none."""
    from delta.tables import DeltaTable

    def load(batch, path):
        if not _is_delta(spark, path):
            writer = batch.write.format("delta")
            (writer.partitionBy("month") if partitioned else writer).save(path)
            return
        table = DeltaTable.forPath(spark, path)
        if merge == "changes":
            batch = batch.subtract(table.toDF().select(*batch.columns))
            if batch.isEmpty():
                return
        merging = table.alias("t").merge(batch.alias("s"), "t.transaction_id = s.transaction_id")
        if merge != "insert":
            merging = merging.whenMatchedUpdateAll()
        merging.whenNotMatchedInsertAll().execute()

    return load


def case_05_3(env: Env, other: Env) -> Table:
    spark = env.spark

    def append(batch, path):
        batch.write.format("delta").mode("append").partitionBy("month").save(path)

    def overwrite(batch, path):
        batch.write.format("delta").mode("overwrite").partitionBy("month").save(path)

    return Table(Answer(loader(spark)), {
        "append": Answer(append),
        "overwrite": Answer(overwrite),
        "insert new records only": Answer(loader(spark, merge="insert")),
        "a MERGE of every record on every run": Answer(loader(spark, merge="all")),
        "not partitioned by month": Answer(loader(spark, partitioned=False)),
    }, ["load", None])


def report_answer(env: Env):
    """The report of exercise 06.1 run in this session, and its right answer, read from the REST API."""
    from prodspark.monitoring.rest import RestApi, stages_frame
    from prodspark.sparkui import trace

    run = trace(env.spark, m06.report_job(env.spark, env.params.data_dir), m06.REPORT)
    ran = {s["stageId"] for s in run.stages if s["status"] != "SKIPPED"}
    stages = stages_frame(RestApi.for_session(env.spark))
    mine = stages[stages["stage_id"].isin(ran)]
    return run, mine, m06.slowest_and_cause(env.spark, mine)


def case_06_1(env: Env, other: Env) -> Table:
    from prodspark.sparkui import trace

    run, stages, (slowest, cause) = report_answer(env)
    fastest = int(stages.sort_values(["duration_s", "stage_id"]).iloc[0]["stage_id"])
    _, _, (other_slowest, other_cause) = report_answer(other)
    not_the_report = trace(env.spark, m06.spill_job(env.spark, env.params.data_dir), "another job")
    return Table(Answer((slowest, cause), {"run": run}), {
        "the prompt's example": Answer((7, "gc"), {"run": run}),
        "the right stage, another cause": Answer((slowest, "skew" if cause != "skew" else "gc"), {"run": run}),
        "the fastest stage": Answer((fastest, cause), {"run": run}),
        "the other dataset's answer": Answer((other_slowest, other_cause), {"run": run}),
        "another job's trace": Answer((slowest, cause), {"run": not_the_report}),
        "no run passed": Answer((slowest, cause)),
        "a cause not in the list": Answer((slowest, "memory"), {"run": run}),
    }, [f"{slowest}", {"stage": slowest, "cause": cause}])


def skew_fires(stages, tasks, gate: bool = True, long_task_rule: bool = True) -> bool:
    """The solution's check of exercise 06.2; without the gate or the 0.75 rule for wrong answers."""
    for stage in stages.itertuples():
        if gate and not stage.duration_s >= 2.0:
            continue
        run_times = tasks.loc[(tasks["stage_id"] == stage.stage_id) & (tasks["status"] == "SUCCESS"),
                              "executor_run_time_s"]
        if (len(run_times) >= 2 and run_times.max() >= 4 * run_times.median()
                and (not long_task_rule or run_times.max() > 0.75 * stage.duration_s)):
            return True
    return False


def case_06_2(env: Env, other: Env) -> Table:
    return Table(Answer(skew_fires), {
        "always fires": Answer(lambda stages, tasks: True),
        "never fires": Answer(lambda stages, tasks: False),
        "a ratio with no gate on duration": Answer(lambda s, t: skew_fires(s, t, gate=False, long_task_rule=False)),
        "any long stage": Answer(lambda stages, tasks: bool((stages["duration_s"] >= 2.0).any())),
        "spill instead of skew": Answer(lambda stages, tasks: bool((stages["memory_spilled_bytes"] > 0).any())),
        "one argument only": Answer(lambda stages: True),
        "not a bool": Answer(lambda stages, tasks: [1]),
    }, ["fires", None])


def spill_counter(spark) -> str:
    """The name of the driver's spill counter in this session (it carries the application's id
    or its spark.metrics.namespace)."""
    from prodspark.monitoring.scrape import endpoints, scrape

    names = scrape(endpoints(spark)["driver"])["name"]
    return next(name for name in names if name.endswith("_driver_executor_diskBytesSpilled_Count"))


def case_06_3(env: Env, other: Env) -> Table:
    SPILL_COUNTER = spill_counter(env.spark)  # noqa: N806 (a name, as the learner copies it)
    return Table(Answer(f"increase({SPILL_COUNTER}[30s]) > 0"), {
        "the lesson's rule for failed tasks": Answer("sum(increase(metrics_executor_failedTasks_total[30s])) > 0"),
        "the total since the start": Answer(f"{SPILL_COUNTER} > 0"),
        "no comparison": Answer(f"increase({SPILL_COUNTER}[30s])"),
        "a name that does not exist": Answer("increase(metrics_executor_diskBytesSpilled_total[30s]) > 0"),
        "not PromQL": Answer(f"increase({SPILL_COUNTER}"),
    }, [0, None])


CASES: dict[str, Callable[[Env, Env], Table]] = {
    name[len("case_"):].replace("_", "."): function
    for name, function in globals().items() if name.startswith("case_")
}

# Runtime settings an exercise's notebook makes before its check (exercise 03.2 turns the
# automatic broadcast off, so that only the learner's hint can choose one).
SESSION_SETTINGS = {"03.2": {"spark.sql.autoBroadcastJoinThreshold": "-1"}}
