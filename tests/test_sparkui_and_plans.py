"""The REST API reader and the plan reader: the numbers the lessons print come from Spark."""

import pytest
from pyspark.sql import functions as F

from prodspark import plans
from prodspark.executors import ExecutorProcessError, driver_pid, executor_processes, kill_executor
from prodspark.sparkui import SparkUI, trace, wait_for_executors


@pytest.fixture
def numbers(spark):
    return spark.range(0, 10_000, 1, 4).withColumn("key", F.col("id") % 7)


def test_transformations_start_no_job_and_actions_do(spark, numbers):
    defined = trace(spark, lambda: numbers.groupBy("key").count())
    assert defined.jobs == [] and defined.stages_run == 0
    counted = trace(spark, lambda: defined.result.collect())
    assert len(counted.result) == 7 and counted.jobs


def test_a_shuffle_splits_a_query_into_two_stages(spark, numbers):
    query = numbers.groupBy("key").agg(F.sum("id"))
    assert plans.shuffles(query) == ["hashpartitioning"] and plans.broadcasts(query) == 0
    run = trace(spark, query.collect)
    assert run.stages_run == len(plans.shuffles(query)) + 1
    assert run.tasks >= 4 + 1, "4 input partitions, then at least one task after the shuffle"
    assert run.failed_tasks == 0 and run.spilled_bytes == 0
    table = run.stage_table()
    assert set(table["status"]) <= {"COMPLETE", "SKIPPED"} and len(table) == run.stages_run + run.stages_skipped


def test_an_earlier_run_does_not_change_the_plan_read(spark, numbers):
    query = numbers.groupBy("key").count()
    before = plans.plan_text(query)
    query.collect()
    assert "isFinalPlan=false" in plans.plan_text(query) and plans.shuffles(query) == plans.shuffles(before)


def test_join_strategies_follow_the_threshold_and_the_hint(spark, numbers):
    small = spark.range(7).withColumnRenamed("id", "key")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        assert plans.join_strategies(numbers.join(small, "key")) == {"SortMergeJoin": 1}
        assert plans.join_strategies(numbers.join(F.broadcast(small), "key")) == {"BroadcastHashJoin": 1}
    finally:
        spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")
    assert plans.join_strategies(numbers.join(small, "key")) == {"BroadcastHashJoin": 1}


def test_plans_show_file_locations_relative_to_the_course(spark, tmp_path, capsys):
    from prodspark import paths

    folder = paths.REPO_ROOT / ".course" / "test-plan-location"
    spark.range(3).write.mode("overwrite").parquet(str(folder))
    try:
        plans.show_plan(spark.read.parquet(str(folder)))
    finally:
        import shutil
        shutil.rmtree(folder)
    assert "[.course/test-plan-location]" in capsys.readouterr().out


def test_local_mode_runs_tasks_in_the_driver_jvm(spark):
    executors = wait_for_executors(spark, 1)
    assert [e["id"] for e in executors] == ["driver"]
    assert SparkUI(spark).task_executors()[0]["maxMemory"] > 0
    processes = executor_processes(spark)
    assert [(p.executor_id, p.pid) for p in processes] == [("driver", driver_pid(spark))]


def test_the_driver_is_never_killed_and_unknown_executors_are_refused(spark):
    with pytest.raises(ExecutorProcessError, match="ends the application"):
        kill_executor(spark, "driver")
    with pytest.raises(ExecutorProcessError, match="no process of executor 7"):
        kill_executor(spark, "7")
