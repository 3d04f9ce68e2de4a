"""Partition and file measurements: counts, sizes and skew computed from what Spark did."""

import pytest
from pyspark.sql import functions as F

from prodspark import layout
from prodspark.sparkui import trace


@pytest.mark.parametrize("total,target,expected",
                         [(0, 100, 1), (100, 100, 1), (101, 100, 2), (10 * 2**30, 128 * 2**20, 80)])
def test_partitions_for_a_target_size(total, target, expected):
    assert layout.partitions_for(total, target) == expected


@pytest.mark.parametrize("total,target,words",
                         [(-1, 10, "total_bytes"), (10, 0, "greater than 0"), ("1g", 10, "total_bytes")])
def test_bad_sizes_are_named(total, target, words):
    with pytest.raises(ValueError, match=words):
        layout.partitions_for(total, target)


def test_skew_ratio_is_max_over_median():
    assert layout.skew_ratio([1, 1, 1, 5]) == 5
    assert layout.skew_ratio([2, 2]) == 1
    with pytest.raises(ValueError):
        layout.skew_ratio([])


def test_rows_per_partition_counts_empty_partitions(spark):
    df = spark.range(0, 10, 1, 2).repartition(4, F.lit(1))  # every row in one partition
    sizes = layout.rows_per_partition(df)
    assert len(sizes) == 4 and sizes.sum() == 10 and sorted(sizes) == [0, 0, 0, 10]


def test_files_and_partition_folders_of_a_written_table(spark, tmp_path):
    path = tmp_path / "table"
    (spark.range(100).withColumn("month", F.when(F.col("id") < 50, "2024-01-01").otherwise("2024-02-01"))
     .repartition(3).write.partitionBy("month").parquet(str(path)))
    assert layout.partition_folders(path) == ["month=2024-01-01", "month=2024-02-01"]
    files = layout.data_files(path)
    assert files and all(f.suffix == ".parquet" for f in files), "no _SUCCESS or .crc files"
    summary = layout.file_summary(path)
    assert summary["files"] == len(files) and summary["median KiB"] > 0
    assert layout.total_bytes(path) == sum(f.stat().st_size for f in files)
    assert summary["MiB"] == round(layout.total_bytes(path) / layout.MiB, 2)


def test_the_tasks_of_a_skewed_stage_show_the_skew(spark):
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        keys = spark.range(0, 20_000, 1, 4).select(
            F.when(F.col("id") < 15_000, 0).otherwise(F.col("id") % 8).alias("k"))
        run = trace(spark, lambda: keys.groupBy("k").count().collect())
    finally:
        spark.conf.unset("spark.sql.adaptive.enabled")
    tasks = layout.stage_tasks(spark, run, layout.busiest_stage(run))
    assert len(tasks) == 8 and tasks["records"].sum() > 0
    assert layout.skew_ratio(tasks["records"]) > 2


def test_files_read_come_from_the_query_metrics(spark, tmp_path):
    path = tmp_path / "by_key"
    spark.range(90).withColumn("key", F.col("id") % 3).write.partitionBy("key").parquet(str(path))
    table = spark.read.parquet(str(path))
    everything = trace(spark, lambda: table.count())
    one = trace(spark, lambda: table.where("key = 1").count())
    assert everything.metric("number of files read") == len(layout.data_files(path))
    assert one.metric("number of files read") == len(layout.data_files(path / "key=1"))
