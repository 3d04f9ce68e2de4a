"""Checks for module 01, when Spark is worth it."""

from __future__ import annotations

import statistics
import time

from prodspark.exercises.core import Wrong, exercise


@exercise("01.1", "Spark's cost per job", expects=(float, int), expects_text="a number of seconds (float)",
          hint="Time spark.range(1).count() five times with time.perf_counter() and take the median.")
def job_overhead(answer: float, ctx) -> str:
    if not answer > 0:
        raise Wrong(f"a duration must be positive, got {answer}.")
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        ctx.spark.range(1).count()
        runs.append(time.perf_counter() - start)
    measured = statistics.median(runs)
    # Timings vary with load; a factor of 4 either way still tells seconds from milliseconds.
    if not measured / 4 <= answer <= measured * 4:
        raise Wrong(f"{answer:.4g} s is far from what the check measures now ({measured:.3g} s). "
                    "Did you time the whole job, in seconds?")
    return f"about {answer * 1000:.0f} ms per job (the check measured {measured * 1000:.0f} ms)."


def _results(ctx):
    return ctx.require("results", "your measurements")


@exercise("01.2", "The same answer from DuckDB", expects_text="a pandas DataFrame",
          hint="duckdb.sql(query).df() returns a pandas DataFrame; join transactions to merchants on "
               "merchant_id, group by category, and name the columns category, revenue, customers.")
def duckdb_by_category(answer, ctx) -> str:
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    if not isinstance(answer, pd.DataFrame):
        raise Wrong(f"expected a pandas DataFrame, got {type(answer).__module__}.{type(answer).__name__}.")
    missing = {"category", "revenue", "customers"} - set(answer.columns)
    if missing:
        raise Wrong(f"missing column(s) {sorted(missing)}; found {list(answer.columns)}.")
    data = ctx.params.data_dir
    transactions = ctx.spark.read.parquet(str(data / "transactions"))
    merchants = ctx.spark.read.parquet(str(data / "merchants"))
    expected = (transactions.join(merchants.select("merchant_id", "category"), "merchant_id")
                .groupBy("category")
                .agg(F.sum("amount").cast("double").alias("revenue"),
                     F.countDistinct("customer_id").alias("customers"))
                .toPandas().sort_values("category").reset_index(drop=True))
    mine = answer[["category", "revenue", "customers"]].sort_values("category").reset_index(drop=True)
    if list(mine["category"]) != list(expected["category"]):
        raise Wrong(f"expected one row per category ({len(expected)} rows), got {len(mine)} rows.")
    if not np.allclose(mine["revenue"].astype(float), expected["revenue"], atol=0.01, rtol=0):
        raise Wrong("the categories are right but some revenues differ from Spark's.")
    if not (mine["customers"].astype("int64").values == expected["customers"].values).all():
        raise Wrong("revenues match, but the distinct customer counts differ: COUNT(DISTINCT customer_id).")
    return f"DuckDB and Spark agree on all {len(expected)} categories."


@exercise("01.3", "Where Spark overtakes pandas", expects=(int, type(None)),
          expects_text="a row count (int), or None if Spark never won",
          hint="For each size in results, compare Spark's seconds with pandas's; "
               "answer the smallest size where Spark's time is lower, or None.")
def spark_beats_pandas(answer, ctx) -> str:
    results = _results(ctx)
    times = results.pivot(index="rows", columns="engine", values="seconds").dropna(subset=["spark", "pandas"])
    wins = [int(rows) for rows, row in times.sort_index().iterrows() if row["spark"] < row["pandas"]]
    expected = wins[0] if wins else None
    if answer != expected:
        if expected is None:
            raise Wrong(f"in your measurements Spark is never faster than pandas, so not {answer}.")
        raise Wrong(f"{answer} is not the smallest measured size where Spark was faster.")
    return "right, that is what your measurements show."


@exercise("01.4", "DuckDB's speed-up over Spark", expects=(float, int), expects_text="a ratio (float)",
          hint="At the largest size in results: Spark's seconds divided by DuckDB's seconds.")
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
        raise Wrong(f"{answer:.3g} is not Spark's time over DuckDB's at {int(largest):,} rows.")
    return f"right, that is Spark's time over DuckDB's at {int(largest):,} rows in your measurements."
