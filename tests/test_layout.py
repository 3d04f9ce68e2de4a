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


def test_a_path_read_lists_every_partition_and_a_filter_reads_one(spark, tmp_path):
    path = tmp_path / "listed"
    (spark.range(60).withColumn("key", F.col("id") % 3).repartition(2)
     .write.partitionBy("key").parquet(str(path)))
    on_disk = len(layout.data_files(path))
    with layout.files_listed(spark) as listed:
        table = spark.read.schema("id long, key int").parquet(str(path))
    assert listed.files == on_disk and listed.discovered + listed.cache_hits == listed.files
    with layout.files_listed(spark) as by_query:
        run = trace(spark, lambda: table.where("key = 1").count())
    assert by_query.files == 0, "the query filters the listing made when the DataFrame was created"
    assert layout.files_read(run) == len(layout.data_files(path / "key=1")) < on_disk
    assert layout.input_tasks(run) >= 1


def test_many_small_files_are_packed_into_few_tasks(spark, tmp_path):
    path = tmp_path / "small"
    spark.range(0, 2000, 1, 1).write.option("maxRecordsPerFile", 50).parquet(str(path))
    assert len(layout.data_files(path)) == 40, "the cap split one task's output into 40 files"
    run = trace(spark, lambda: spark.read.schema("id long").parquet(str(path)).agg(F.sum("id")).collect())
    assert layout.files_read(run) == 40
    assert layout.input_tasks(run) < 40, "files are packed into splits, not read one task each"


def test_error_names_come_from_the_error_condition(spark):
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as caught:
        spark.sql("SELECT no_such_column FROM range(1)").collect()
    assert layout.error_name(caught.value) == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
    assert layout.error_name(KeyError("x")) == "KeyError"


def test_layout_errors_are_course_errors():
    from prodspark.errors import CourseError

    with pytest.raises(CourseError, match="no values"):
        layout.skew_ratio([])


def test_rows_per_partition_with_a_known_count(spark):
    df = spark.range(0, 12, 1, 1).repartition(3, "id")
    assert layout.rows_per_partition(df, 3).sum() == 12
    with pytest.raises(layout.LayoutError, match="more than 1 partitions"):
        layout.rows_per_partition(df, 1)
    with pytest.raises(layout.LayoutError, match="whole number"):
        layout.rows_per_partition(df, 0)
