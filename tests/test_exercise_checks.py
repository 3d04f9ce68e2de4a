"""Every exercise's check, both ways: a right answer passes; not attempted, a wrong answer and a
wrongly-typed answer do not. Expectations come from a freshly generated dataset with a seed
and scale other than the notebooks' defaults, so no check can lean on one run's numbers."""

import datetime
import statistics
import timeit
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from pyspark.sql import functions as F

from prodspark import layout, plans
from prodspark.datagen import RAW_SCHEMA_DDL, generate
from prodspark.exercises import check
from prodspark.exercises.m02 import PLACES
from prodspark.exercises.core import FAILED, NOT_ATTEMPTED, PASSED
from prodspark.exercises.progress import exercise_ids
from prodspark.params import check_parameters
from prodspark.pipeline import ACCEPTED_CURRENCIES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exercise-data")
    params = check_parameters(scale=0.05, seed=3, master="local[2]", data_dir=folder / "data", output_dir=folder / "out")
    generate(spark, params.data_dir, scale=params.scale, seed=params.seed,
             datasets=("customers", "merchants", "transactions", "raw_transactions"), progress=lambda line: None)
    return params


@pytest.fixture(scope="module")
def transactions(spark, course):
    return spark.read.parquet(str(course.data_dir / "transactions"))


def months(transactions):
    counts = transactions.groupBy(F.trunc("transaction_date", "month").alias("month")).count()
    return [row["month"] for row in counts.orderBy(F.desc("count"), "month").collect()]


def duckdb_by_category(course):
    t = f"{(course.data_dir / 'transactions').as_posix()}/*.parquet"
    m = f"{(course.data_dir / 'merchants').as_posix()}/*.parquet"
    return duckdb.sql(f"""SELECT m.category, SUM(t.amount) AS revenue, COUNT(DISTINCT t.customer_id) AS customers
                          FROM read_parquet('{t}') t JOIN read_parquet('{m}') m USING (merchant_id)
                          GROUP BY m.category""").df()


MEASURED = pd.DataFrame([
    {"engine": e, "rows": n, "seconds": s}
    for n, times in {1000: (0.5, 0.01, 0.02), 10000: (0.6, 0.3, 0.03), 100000: (0.9, 3.0, 0.3)}.items()
    for e, s in zip(("spark", "pandas", "duckdb"), times)
])


def stages_from_the_plan(query) -> int:
    """The reasoning the lesson teaches: a stage per shuffle and per broadcast, plus the final stage."""
    return len(plans.shuffles(query)) + plans.broadcasts(query) + 1


def unified_mib(spark) -> float:
    """M computed from the driver's heap and the session's fraction (the unit tests run locally)."""
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20
    return (heap - 300) * float(spark.conf.get("spark.memory.fraction"))


STARTS_A_JOB = {"spark.read.parquet(path)", "df.count()", "df.take(1)"}
ON_EXECUTORS = {"the body of a Python UDF", "reading the rows of a Parquet file", "writing shuffle files"}
SMALLER_PARTITIONS = {"spark.sql.adaptive.advisoryPartitionSizeInBytes": "4m", "spark.sql.shuffle.partitions": "64"}


def layouts(spark, transactions, folder):
    """A table partitioned by month (exercise 04.3) and a Z-ordered Delta table (04.4), as solved."""
    from delta.tables import DeltaTable

    monthly = folder / "by_month"
    (transactions.withColumn("month", F.trunc("transaction_date", "month")).repartition("month")
     .write.mode("overwrite").partitionBy("month").parquet(str(monthly)))
    zordered = folder / "zordered"
    transactions.repartition(8).write.format("delta").mode("overwrite").save(str(zordered))
    spark.conf.set("spark.databricks.delta.optimize.maxFileSize",
                   str(layout.total_bytes(zordered) // 4))
    DeltaTable.forPath(spark, str(zordered)).optimize().executeZOrderBy("customer_id")
    spark.conf.unset("spark.databricks.delta.optimize.maxFileSize")
    return monthly, zordered


def append_load(batch, path):
    batch.write.format("delta").mode("append").save(path)


def overwrite_load(batch, path):
    batch.write.format("delta").mode("overwrite").save(path)


def _merge(spark, batch, path, update: bool):
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return batch.write.format("delta").save(path)
    merge = DeltaTable.forPath(spark, path).alias("t").merge(batch.alias("s"), "t.transaction_id = s.transaction_id")
    (merge.whenMatchedUpdateAll() if update else merge).whenNotMatchedInsertAll().execute()


def merge_load(spark):
    return lambda batch, path: _merge(spark, batch, path, update=True)


def insert_only_load(spark):
    return lambda batch, path: _merge(spark, batch, path, update=False)


def cases(spark, course, transactions):
    """exercise id -> (right answer, [wrong answers of the right type], [answers of a wrong type], evidence)"""
    count = transactions.count()
    ranked = months(transactions)
    right_table = duckdb_by_category(course)
    off_table = right_table.assign(revenue=right_table["revenue"] * 1.1)
    spark.range(1).count()  # warm-up, as the solution does
    median_job = statistics.median(timeit.repeat(lambda: spark.range(1).count(), number=1, repeat=5))
    customers = spark.read.parquet(str(course.data_dir / "customers"))
    merchants = spark.read.parquet(str(course.data_dir / "merchants"))
    query = transactions.join(customers, "customer_id").groupBy("segment").agg(F.sum("amount").alias("revenue"))
    stages = stages_from_the_plan(query)
    memory = unified_mib(spark)
    files_bytes = layout.total_bytes(course.data_dir / "transactions")
    sized = layout.partitions_for(files_bytes, 256 * 1024)
    category = merchants.select("merchant_id", "category")
    salted = (transactions.withColumn("salt", (F.rand(seed=1) * 8).cast("int"))
              .join(category.crossJoin(spark.range(8).select(F.col("id").cast("int").alias("salt"))),
                    ["merchant_id", "salt"]).drop("salt"))
    monthly, zordered = layouts(spark, transactions, course.output_dir)
    sizing = {"executors_per_node": 6, "heap_mib": 19703, "overhead_mib": 1971}
    raw, feed_schema = str(course.data_dir / "raw_transactions"), RAW_SCHEMA_DDL + ", _corrupt_record STRING"
    every_record = spark.read.schema(feed_schema).json(raw)
    currency = F.col("currency")
    return {
        "00.1": (count, [count + 1, 0], ["200000", 1.5, True], {}),
        "00.2": (ranked[0], [ranked[-1], ranked[0].replace(day=2), datetime.date(1999, 1, 1)],
                 ["2024-01-01", datetime.datetime.combine(ranked[0], datetime.time())], {}),
        "00.3": (spark.sparkContext.defaultParallelism, [spark.sparkContext.defaultParallelism + 7], ["2"], {}),
        "01.1": (median_job, [100.0, 1e-9, -1.0], ["fast"], {}),
        "01.2": (right_table, [off_table, right_table.drop(columns="customers"), right_table.head(2)],
                 [spark.createDataFrame(right_table), {"category": []}], {}),
        "01.3": (100000, [1000, 10000, None], ["100000", 1e5], {"results": MEASURED}),
        "01.4": (0.9 / 0.3, [0.3 / 0.9, 30.0], ["3x"], {"results": MEASURED}),
        "02.1": (stages, [stages - 1, stages + 1], ["3", float(stages)], {"query": query}),
        "02.2": (STARTS_A_JOB, [STARTS_A_JOB | {"df.cache()"}, STARTS_A_JOB - {"df.take(1)"}, set(),
                                [*STARTS_A_JOB, "df.collect()"], [*STARTS_A_JOB, 1]],
                 ["df.count()", {"df.count()": True}], {}),
        "02.3": (ON_EXECUTORS, [ON_EXECUTORS - {"writing shuffle files"}, set(PLACES), {"the GPU"}],
                 ["writing shuffle files", dict.fromkeys(ON_EXECUTORS, "executor")], {}),
        "02.4": ("k8s://https://k8s-api.example.com:6443",
                 ["https://k8s-api.example.com:6443", "k8s://https://k8s-api.example.com:443",
                  "spark://k8s-api.example.com:6443", "mesos://k8s-api.example.com:6443"],
                 [6443, None], {}),
        "03.1": (memory, [memory * 6, memory * 1.02, 0.0], ["72.4", True], {}),
        "03.2": (transactions.join(F.broadcast(merchants), "merchant_id"),
                 [transactions.join(merchants, "merchant_id"),
                  transactions.where("amount > 100").join(F.broadcast(merchants), "merchant_id"),
                  transactions],
                 [transactions.toPandas(), "joined"], {}),
        "03.3": (sizing, [{**sizing, "executors_per_node": 7}, {**sizing, "overhead_mib": 100},
                          {**sizing, "heap_mib": 21000}, {**sizing, "heap_mib": 8000}, {**sizing, "heap_mib": "19703"},
                          {"heap_mib": 19703}],
                 [[6, 19703, 1971], "6"], {}),
        "04.1": (transactions.repartition(sized), [transactions.repartition(sized + 5), transactions.coalesce(1)
                                                   if sized > 3 else transactions.repartition(sized + 9)],
                 [sized, "transactions"], {}),
        "04.2": (salted, [transactions.join(category, "merchant_id"), salted.where("amount > 10"), transactions],
                 [salted.toPandas(), None], {}),
        "04.3": ("month", ["transaction_date", "Month"], [["month"], None], {"path": monthly}),
        "04.4": ("customer_id", ["amount", "merchant_id"], [["customer_id"], 1], {"path": zordered}),
        "05.1": (every_record, [spark.read.schema(feed_schema).option("multiLine", "true").json(raw),
                                spark.read.schema(feed_schema).option("mode", "DROPMALFORMED").json(raw),
                                spark.read.schema(RAW_SCHEMA_DDL).json(raw)],
                 [raw, every_record.toPandas()], {}),
        "05.2": (~F.coalesce(currency.isin(*ACCEPTED_CURRENCIES), F.lit(False)),
                 [~currency.isin(*ACCEPTED_CURRENCIES), currency == "XYZ", currency.isNull(),
                  ~F.coalesce(currency.isin(*ACCEPTED_CURRENCIES), F.lit(False)) | (F.col("amount") > 20)],
                 ["currency not in ('USD', 'EUR', 'GBP')", None], {}),
        "05.3": (merge_load(spark), [append_load, overwrite_load, insert_only_load(spark)],
                 ["load", None], {}),
        "03.4": (SMALLER_PARTITIONS, [{"spark.memory.fraction": "0.5"}, {}, {"spark.sql.shuffle.partitions": "2"}],
                 ["64", ["spark.sql.shuffle.partitions"]], {}),
    }


@pytest.fixture(scope="module")
def all_cases(spark, course, transactions):
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")  # as exercise 03.2 sets it
    yield cases(spark, course, transactions)
    spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")


def solution_exercise_ids():
    ids = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        ids += exercise_ids(nbformat.read(path, as_version=4))
    return ids


def test_every_exercise_in_the_solutions_is_tested_here(all_cases):
    assert solution_exercise_ids(), "no exercises found in solutions/"
    assert sorted(all_cases) == sorted(solution_exercise_ids())


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_right_answer_passes(exercise_id, all_cases):
    right, _, _, evidence = all_cases[exercise_id]
    verdict = check(exercise_id, right, **evidence)
    assert verdict.status == PASSED, verdict.text()


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_unsolved_is_not_attempted(exercise_id, all_cases):
    evidence = all_cases[exercise_id][3]
    assert check(exercise_id, ..., **evidence).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_wrong_answers_fail_with_a_hint(exercise_id, all_cases):
    _, wrong_answers, _, evidence = all_cases[exercise_id]
    for wrong in wrong_answers:
        verdict = check(exercise_id, wrong, **evidence)
        assert verdict.status == FAILED, f"{wrong!r}: {verdict.text()}"
        assert verdict.message and verdict.hint


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_wrongly_typed_answers_fail_with_a_message_not_a_traceback(exercise_id, all_cases):
    _, _, badly_typed, evidence = all_cases[exercise_id]
    for answer in badly_typed:
        verdict = check(exercise_id, answer, **evidence)
        assert verdict.status == FAILED, f"{answer!r}: {verdict.text()}"
        assert "expected" in verdict.message


def test_evidence_is_asked_for_when_missing(all_cases):
    verdict = check("01.3", 100000)
    assert verdict.status == FAILED and "results=results" in verdict.message


def test_a_query_must_come_with_the_stage_prediction(all_cases):
    verdict = check("02.1", 3)
    assert verdict.status == FAILED and "query=query" in verdict.message


def test_a_broadcast_chosen_by_the_threshold_does_not_count(all_cases, spark):
    right = all_cases["03.2"][0]
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "10m")
    try:
        verdict = check("03.2", right)
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    assert verdict.status == FAILED and "-1" in verdict.message


def test_the_spill_check_leaves_the_sessions_settings_as_they_were(all_cases, spark):
    before = {key: spark.conf.get(key) for key in SMALLER_PARTITIONS}
    assert check("03.4", SMALLER_PARTITIONS).status == PASSED
    assert {key: spark.conf.get(key) for key in SMALLER_PARTITIONS} == before


def test_timestamp_partition_folders_are_not_accepted_as_months(spark, course, transactions):
    path = course.output_dir / "by_timestamp"
    (transactions.withColumn("month", F.date_trunc("month", "transaction_date"))
     .write.mode("overwrite").partitionBy("month").parquet(str(path)))
    verdict = check("04.3", "month", path=path)
    assert verdict.status == FAILED and "not dates" in verdict.message


def test_an_unpartitioned_table_does_not_prove_pruning(spark, course, transactions):
    path = course.output_dir / "flat"
    transactions.write.mode("overwrite").parquet(str(path))
    verdict = check("04.3", "month", path=path)
    assert verdict.status == FAILED and "no partition folders" in verdict.message


def test_a_table_without_zorder_does_not_pass(spark, course, transactions):
    path = course.output_dir / "random_delta"
    transactions.repartition(8).write.format("delta").mode("overwrite").save(str(path))
    verdict = check("04.4", "customer_id", path=path)
    assert verdict.status == FAILED and "no OPTIMIZE with ZORDER BY" in verdict.message


def test_a_currency_rule_that_lets_nulls_through_is_told_why(all_cases):
    verdict = check("05.2", ~F.col("currency").isin(*ACCEPTED_CURRENCIES))
    assert verdict.status == FAILED and "null" in verdict.message


def test_a_load_that_raises_is_reported_not_crashed(all_cases):
    def broken(batch, path):
        raise RuntimeError("disk full")

    verdict = check("05.3", broken)
    assert verdict.status == FAILED and "raised RuntimeError" in verdict.message
