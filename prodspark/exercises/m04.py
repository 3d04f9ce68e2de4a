"""Checks for module 04, partitioning and layout. Every expectation is measured on the data."""

from __future__ import annotations

import datetime
from pathlib import Path

from pyspark.sql import DataFrame

from prodspark import layout
from prodspark.exercises.core import Wrong, exercise
from prodspark.exercises.evidence import require_sources, require_written_now
from prodspark.frames import first_row
from prodspark.session import runtime_conf

TARGET_BYTES = 256 * 1024

# The session settings of exercise 04.2: a sort-merge join that AQE does not rebalance.
SKEW_SETTINGS = {"spark.sql.autoBroadcastJoinThreshold": "-1", "spark.sql.shuffle.partitions": "16",
                 "spark.sql.adaptive.coalescePartitions.enabled": "false",
                 "spark.sql.adaptive.skewJoin.enabled": "false"}


def _read(ctx, name: str) -> DataFrame:
    return ctx.spark.read.parquet(str(ctx.params.data_dir / name))


@exercise("04.1", expects=DataFrame, expects_text="a Spark DataFrame")
def target_size(answer: DataFrame, ctx) -> str:
    require_sources(ctx, answer, ("transactions",), "the repartitioned DataFrame")
    files_bytes = layout.total_bytes(ctx.params.data_dir / "transactions")
    expected = layout.partitions_for(files_bytes, TARGET_BYTES)
    rows, all_rows = answer.count(), _read(ctx, "transactions").count()
    if rows != all_rows:
        raise Wrong(f"the DataFrame has {rows:,} rows; transactions has {all_rows:,}: repartitioning keeps every row.")
    partitions = answer.rdd.getNumPartitions()
    if partitions not in (expected, max(1, expected - 1)):  # rounded up, or to the nearest
        need = "more" if partitions < expected else "fewer"
        raise Wrong(f"{partitions} partitions of {files_bytes / partitions / 1024:.0f} KiB of files each: "
                    f"{need} partitions would bring them to about 256 KiB.")
    return f"{partitions} partitions of about {files_bytes / partitions / 1024:.0f} KiB of files each."


def _fingerprint(df: DataFrame):
    """Rows and amount per category: equal for two joins that give the same result."""
    from pyspark.sql import functions as F

    return sorted(tuple(r) for r in df.groupBy("category").agg(F.count("*"), F.sum("amount")).collect())


def _measured_join(spark, joined: DataFrame) -> tuple[list, float]:
    """One run of a join: its fingerprint, and the join stage's max / median records per task."""
    from prodspark.sparkui import trace

    run = trace(spark, lambda: _fingerprint(joined), "check 04.2")
    return run.result, layout.skew_ratio(layout.stage_tasks(spark, run, layout.busiest_stage(run))["records"])


@exercise("04.2", expects=DataFrame, expects_text="a Spark DataFrame (the join)")
def fix_skew(answer: DataFrame, ctx) -> str:
    missing = {"merchant_id", "amount", "category"} - set(answer.columns)
    if missing:
        raise Wrong(f"the join lacks column(s) {sorted(missing)}.")
    require_sources(ctx, answer, ("transactions", "merchants"), "the join", helpers_in_memory=True)
    spark = ctx.spark
    with runtime_conf(spark, SKEW_SETTINGS):
        reference = _read(ctx, "transactions").join(_read(ctx, "merchants").select("merchant_id", "category"),
                                                    "merchant_id")
        expected, skewed = _measured_join(spark, reference)
        result, mine = _measured_join(spark, answer)
    if result != expected:
        raise Wrong("the join's rows differ from transactions joined to merchants (count or amount "
                    "per category): a salted join must give the same result.")
    if mine > skewed / 2:
        raise Wrong(f"max / median records per task is {mine:.1f}; the plain join's is {skewed:.1f}. "
                    "Aim for half or less.")
    return f"max / median records per task went from {skewed:.1f} to {mine:.1f} (measured just now)."


def _path(ctx) -> Path:
    path = Path(ctx.require("path", "the table's folder", example="..."))
    if not path.is_dir():
        raise Wrong(f"{path} is not a folder: write the table first.")
    return path


def _same_rows_as_transactions(ctx, table: DataFrame, columns: tuple[str, ...], what: str) -> None:
    """The table holds the rows of this notebook's transactions (compared on a few columns)."""
    from pyspark.sql import functions as F

    def summary(df: DataFrame):
        return df.agg(F.count(F.lit(1)), F.sum("amount"), F.count_distinct(*columns)).first()

    if tuple(summary(table)) != tuple(summary(_read(ctx, "transactions").select(*columns, "amount"))):
        raise Wrong(f"{what} does not hold this notebook's transactions (row count, amounts or "
                    f"{', '.join(columns)} differ): write it from `transactions`.")


@exercise("04.3", expects=str, expects_text="a column name (str)")
def prove_pruning(answer: str, ctx) -> str:
    from pyspark.sql import functions as F

    from prodspark.sparkui import trace

    path = _path(ctx)
    folders = layout.partition_folders(path)
    if not folders:
        raise Wrong(f"{path} has no partition folders: use .partitionBy(...) when writing.")
    require_written_now(ctx, layout.data_files(path), f"the table in {path.name}")
    column = {name.split("=", 1)[0] for name in folders}
    if column != {answer}:
        raise Wrong(f"the table is partitioned by {', '.join(sorted(column))}, not {answer!r}.")
    values = [name.split("=", 1)[1] for name in folders]
    try:
        months = [datetime.date.fromisoformat(value) for value in values]
    except ValueError:
        raise Wrong(f"partition values such as {values[0]!r} are not dates: use F.trunc, which returns a "
                    "date, not F.date_trunc, which returns a timestamp.") from None
    if any(month.day != 1 for month in months):
        raise Wrong("partition values must be the first day of each month.")
    expected = (_read(ctx, "transactions").select(F.trunc("transaction_date", "month").alias("m"))
                .distinct().count())
    if len(months) != expected:
        raise Wrong(f"{len(months)} month folders; the transactions span {expected} months.")
    table = ctx.spark.read.parquet(str(path))
    _same_rows_as_transactions(ctx, table, ("transaction_id",), f"the table in {path.name}")
    everything = len(layout.data_files(path))
    one = trace(ctx.spark, lambda: table.where(F.col(answer) == values[0]).count(), "check 04.3")
    read = layout.files_read(one)
    in_folder = len(layout.data_files(path / folders[0]))
    if read >= everything or read > in_folder:
        raise Wrong(f"a query for {values[0]} read {read} of {everything} files; pruning should read "
                    f"only that folder's {in_folder}.")
    return f"a one-month query read {read} of {everything} files."


@exercise("04.4", expects=str, expects_text="a column name (str)")
def prove_zorder(answer: str, ctx) -> str:
    import json

    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from prodspark.sparkui import trace

    path = _path(ctx)
    if not (path / "_delta_log").is_dir():
        raise Wrong(f"{path} is not a Delta table.")
    table = DeltaTable.forPath(ctx.spark, str(path))
    optimized = [row["version"] for row in table.history().where("operation = 'OPTIMIZE'").collect()
                 if answer in json.loads(row["operationParameters"].get("zOrderBy", "[]"))]
    if not optimized:
        raise Wrong(f"the table's history has no OPTIMIZE with ZORDER BY {answer!r}.")
    if answer != "customer_id":
        raise Wrong(f"queries look up customers: Z-ordering by {answer} does not cluster customer_id.")
    commit = path / "_delta_log" / f"{max(optimized):020d}.json"
    require_written_now(ctx, [commit], f"the OPTIMIZE of {path.name} (its commit in _delta_log)")
    files = first_row(table.detail())["numFiles"]
    if files < 2:
        raise Wrong("the table has a single file, so there is nothing to skip: lower "
                    "spark.databricks.delta.optimize.maxFileSize before OPTIMIZE.")
    data = ctx.spark.read.format("delta").load(str(path))
    _same_rows_as_transactions(ctx, data, ("customer_id", "merchant_id"), f"the table in {path.name}")
    customer = data.agg(F.min("customer_id")).first()[0]
    before_version = max(optimized) - 1  # the table as it was just before it was Z-ordered
    earlier = ctx.spark.read.format("delta").option("versionAsOf", before_version).load(str(path))

    def files_read(df) -> int:
        run = trace(ctx.spark, lambda: df.where(F.col("customer_id") == customer).count(), "check 04.4")
        return layout.files_read(run)

    read, read_before = files_read(data), files_read(earlier)
    if read >= files or read >= read_before:
        raise Wrong(f"a one-customer query reads {read} of the table's {files} files; before the Z-order "
                    f"(version {before_version}) it read {read_before}.")
    return (f"a one-customer query reads {read} of the table's {files} files; before the Z-order "
            f"(version {before_version}) it read {read_before}.")
