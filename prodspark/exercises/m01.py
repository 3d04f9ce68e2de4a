"""Checks for module 01, when Spark is worth it.

Measurements must be the learner's own: timings are compared with Spark's own record of
the same runs (its SQL executions), and results tables must come from engines.compare in
this session, unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import statistics
from pathlib import Path

from prodspark.exercises.core import Wrong, exercise
from prodspark.exercises.evidence import shown_folders, table_folder
from prodspark.waiting import TimedOut, wait_until

# How Spark describes spark.range(1) in a query plan.
RANGE_ONE = "Range (0, 1, step=1,"
# A timing in Python includes the call through Py4J and the collection of the result: it is a
# little longer than Spark's own record of the query, never shorter (Spark's clock ticks in ms).
CLOCK_TICK_S = 0.005
PYTHON_SIDE_S = 0.1


def _range_one_counts(spark, at_least: int, timeout: float = 5.0) -> list[float]:
    """Durations (s) of this session's completed spark.range(1).count() queries, oldest first."""
    from prodspark.sparkui import SparkUI

    ui = SparkUI(spark)
    done: list[float] = []

    def recorded() -> bool:  # Spark's listener records a query a moment after it ends
        executions = ui.get("sql?details=false&planDescription=true&length=1000000")
        mine = [e for e in executions if RANGE_ONE in e.get("planDescription", "")
                and e.get("description", "").startswith("count at")]
        done[:] = [e["duration"] / 1000 for e in sorted(mine, key=lambda e: e["id"]) if e["status"] == "COMPLETED"]
        return len(done) >= at_least and not any(e["status"] == "RUNNING" for e in mine)

    with contextlib.suppress(TimedOut):  # fewer than asked for: the caller says what is missing
        wait_until(recorded, timeout, f"{at_least} recorded spark.range(1).count() queries", interval=0.2)
    return done


@exercise("01.1", expects=(float, int), expects_text="a number of seconds (float)")
def job_overhead(answer: float, ctx) -> str:
    runs = ctx.require("runs", "your list of timings", example="runs")
    if (not isinstance(runs, (list, tuple)) or len(runs) < 5
            or any(isinstance(r, bool) or not isinstance(r, (int, float)) for r in runs)):
        raise Wrong("runs= must be the list of your timings, in seconds: five numbers or more.")
    if any(not r > 0 for r in runs):
        raise Wrong("every timing must be a positive number of seconds.")
    if not math.isclose(answer, statistics.median(runs), rel_tol=1e-9):
        raise Wrong(f"{answer:.4g} is not the median of your runs.")
    if len(set(runs)) < len(runs):
        raise Wrong("some of your timings are exactly equal, which measurements with time.perf_counter() "
                    "never are: time the job, do not type the numbers.")
    recorded = _range_one_counts(ctx.spark, at_least=len(runs))
    if len(recorded) < len(runs):
        raise Wrong(f"this session has run spark.range(1).count() {len(recorded)} time(s), fewer than your "
                    f"{len(runs)} timings: time the job itself, in this session.")
    for number, (mine, spark_s) in enumerate(zip(runs, recorded[-len(runs):], strict=True), start=1):
        if not spark_s - CLOCK_TICK_S <= mine <= spark_s * 1.5 + PYTHON_SIDE_S:
            raise Wrong(f"timing {number} ({mine:.4g} s) does not fit Spark's record of that run "
                        f"({spark_s:.3g} s): time exactly spark.range(1).count(), in seconds, and "
                        "pass the timings in the order you made them.")
    return f"the median of your {len(runs)} runs, and Spark's own record of each run agrees."


def _results(ctx):
    from prodspark.engines import measurement_problem

    results = ctx.require("results", "your measurements")
    problem = measurement_problem(results)
    if problem:
        raise Wrong(f"results= must be the table engines.compare returned in this notebook, but {problem}.")
    return results


def _parquet_folders(query: str) -> set[Path]:
    """The folders whose Parquet files a SQL text reads, from its quoted paths."""
    folders = set()
    for literal in re.findall(r"'((?:[^']|'')*)'", query):
        if "/" not in literal and not literal.endswith(".parquet"):
            continue  # a value, not a path
        head = Path(re.split(r"[*?\[]", literal.replace("''", "'"), maxsplit=1)[0] or ".").resolve()
        folders.add(head if head.is_dir() else head.parent)
    return folders


@exercise("01.2", expects_text="the DuckDB relation that duckdb.sql(...) returns")
def duckdb_by_category(answer, ctx) -> str:
    import duckdb
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    if isinstance(answer, pd.DataFrame):
        raise Wrong("expected the DuckDB relation that duckdb.sql(...) returns, got a pandas DataFrame: pass it "
                    "before .df(), so that the check can read which files the query reads.")
    if not isinstance(answer, duckdb.DuckDBPyRelation):
        raise Wrong(f"expected the DuckDB relation that duckdb.sql(...) returns, got {type(answer).__name__}.")
    data = ctx.params.data_dir
    wanted = {table_folder(ctx, "transactions"), table_folder(ctx, "merchants")}
    read = _parquet_folders(answer.sql_query())
    if read != wanted:
        raise Wrong(f"the query reads {shown_folders(read, 'no Parquet files')}; it must read this notebook's "
                    f"transactions and merchants ({shown_folders(wanted)}) with read_parquet.")
    frame = answer.df()
    missing = {"category", "revenue", "customers"} - set(frame.columns)
    if missing:
        raise Wrong(f"missing column(s) {sorted(missing)}; found {list(frame.columns)}.")
    transactions = ctx.spark.read.parquet(str(data / "transactions"))
    merchants = ctx.spark.read.parquet(str(data / "merchants"))
    expected = (transactions.join(merchants.select("merchant_id", "category"), "merchant_id")
                .groupBy("category")
                .agg(F.sum("amount").cast("double").alias("revenue"),
                     F.countDistinct("customer_id").alias("customers"))
                .toPandas().sort_values("category").reset_index(drop=True))
    mine = frame[["category", "revenue", "customers"]].sort_values("category").reset_index(drop=True)
    if list(mine["category"]) != list(expected["category"]):
        raise Wrong(f"expected one row per category ({len(expected)} rows), got {len(mine)} rows.")
    if not np.allclose(mine["revenue"].astype(float), expected["revenue"], atol=0.01, rtol=0):
        raise Wrong("the categories are right but some revenues differ from Spark's.")
    if not (mine["customers"].astype("int64").values == expected["customers"].values).all():
        raise Wrong("revenues match, but the numbers of distinct customers differ from Spark's.")
    return f"DuckDB and Spark agree on all {len(expected)} categories."


def _line(results, engine: str) -> tuple[float, float]:
    """(per_row, fixed): the least-squares line seconds = fixed + per_row * rows of one engine."""
    import numpy as np

    part = results[results["engine"] == engine]
    if part["rows"].nunique() < 2:
        raise Wrong(f"results has fewer than two sizes measured for {engine}: no line to fit.")
    per_row, fixed = np.polyfit(part["rows"].astype(float), part["seconds"].astype(float), 1)
    return float(per_row), float(fixed)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


@exercise("01.3", expects=(float, int), expects_text="a number of seconds (float)")
def spark_fixed_cost(answer: float, ctx) -> str:
    results = _results(ctx)
    per_row, fixed = _line(results, "spark")
    if _close(answer, fixed):
        return "right: that is where the line through Spark's measurements meets zero rows."
    if _close(answer, per_row):
        raise Wrong("that is the line's slope, the cost of one more row; the fixed cost is the other coefficient.")
    for engine in ("pandas", "duckdb"):
        if (results["engine"] == engine).any() and _close(answer, _line(results, engine)[1]):
            raise Wrong(f"that is {engine}'s fixed cost, from its own measurements, not Spark's.")
    spark_times = results.loc[results["engine"] == "spark", "seconds"]
    if any(_close(answer, float(s)) for s in spark_times):
        raise Wrong("that is one measured time, which includes the work on its rows: the fixed cost is "
                    "what the line through all of Spark's measurements gives for zero rows.")
    raise Wrong(f"{answer:.4g} s is not the fixed cost of the line through Spark's measurements in results.")


@exercise("01.4", expects=(float, int), expects_text="a ratio (float)")
def duckdb_speedup(answer: float, ctx) -> str:
    results = _results(ctx)
    both = results.pivot(index="rows", columns="engine", values="seconds").dropna(subset=["spark", "duckdb"])
    if both.empty:
        raise Wrong("results has no size where both Spark and DuckDB were measured.")
    largest = both.index.max()
    expected = both.loc[largest, "spark"] / both.loc[largest, "duckdb"]
    if abs(answer - expected) > 0.01 * expected:
        inverse = 1 / expected
        if abs(answer - inverse) <= 0.01 * inverse:
            raise Wrong("that is DuckDB's time over Spark's: the speed-up is the slower time over the faster one.")
        raise Wrong(f"{answer:.3g} is not Spark's time over DuckDB's at the largest size ({int(largest):,} rows).")
    return f"right, that is Spark's time over DuckDB's at {int(largest):,} rows in your measurements."
