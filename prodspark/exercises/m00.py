"""Checks for module 00, set-up and orientation."""

from __future__ import annotations

import datetime

from prodspark.exercises.core import Wrong, exercise


def _transactions(ctx):
    return ctx.spark.read.parquet(str(ctx.params.data_dir / "transactions"))


@exercise("00.1", "Count the transactions", expects=int, expects_text="a whole number (int)",
          hint="A DataFrame's count() returns its number of rows as an int.")
def count_transactions(answer: int, ctx) -> str:
    expected = _transactions(ctx).count()
    if answer != expected:
        direction = "more" if answer < expected else "fewer"
        raise Wrong(f"{answer:,} is not the number of transactions: the data has {direction}.")
    return f"{answer:,} transactions."


@exercise("00.2", "The busiest month", expects=datetime.date, expects_text="a datetime.date (the month's first day)",
          hint="Group by F.trunc('transaction_date', 'month'), which gives a date; "
               "F.date_trunc gives a timestamp instead.")
def busiest_month(answer: datetime.date, ctx) -> str:
    from pyspark.sql import functions as F

    if isinstance(answer, datetime.datetime):
        raise Wrong("expected a date, got a timestamp (datetime): date_trunc returns timestamps, trunc returns dates.")
    if answer.day != 1:
        raise Wrong(f"{answer} is not the first day of a month.")
    counts = _transactions(ctx).groupBy(F.trunc("transaction_date", "month").alias("month")).count()
    top = counts.orderBy(F.desc("count"), "month").first()
    mine = counts.where(F.col("month") == F.lit(answer)).first()
    if mine is None:
        raise Wrong(f"no transactions fall in the month of {answer}.")
    if mine["count"] < top["count"]:
        raise Wrong(f"{answer:%B %Y} has {mine['count']:,} transactions; another month has more.")
    return f"{answer:%B %Y}, with {mine['count']:,} transactions."


@exercise("00.3", "Tasks at once", expects=int, expects_text="a whole number (int)",
          hint="The SparkContext knows how many tasks it runs in parallel by default: "
               "spark.sparkContext.defaultParallelism.")
def parallelism(answer: int, ctx) -> str:
    expected = ctx.spark.sparkContext.defaultParallelism
    if answer != expected:
        raise Wrong(f"this session does not run {answer} tasks at once by default.")
    return f"{answer} tasks at once, one per core Spark was given."
