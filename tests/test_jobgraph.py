"""Jobs and stages described and drawn from Spark's records; Python workers and executors waited for."""

import threading
import time

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from prodspark import jobgraph
from prodspark.executors import (
    ExecutorProcessError,
    python_workers,
    wait_for_python_workers,
    wait_for_registered_executors,
)
from prodspark.jobgraph import JobGraphError
from prodspark.sparkui import trace


@pytest.fixture
def counted(spark):
    df = spark.range(1000).groupBy((F.col("id") % 3).alias("key")).count()
    run = trace(spark, lambda: df.count(), "count of a grouped frame")
    return df, run


def test_a_count_of_an_aggregation_runs_one_job_per_exchange_and_one_for_the_result(spark, counted):
    df, run = counted
    assert run.result == 3
    assertDataFrameEqual(df, [Row(key=0, count=334), Row(key=1, count=333), Row(key=2, count=333)])
    lines = jobgraph.describe_jobs(run)
    assert len(lines) == len(run.jobs) == 3, lines
    assert lines[0].startswith("job 1 of 3") and "writes shuffle output" in lines[0]
    assert "skips stage(s)" in lines[1] and "skips stage(s)" in lines[2]
    assert lines[-1].endswith("returns its result to the driver")


def test_stage_parents_link_each_stage_to_the_stage_whose_shuffle_it_reads(spark, counted):
    _, run = counted
    parents = jobgraph.stage_parents(spark, run)
    last_job = max(run.jobs, key=lambda j: j["jobId"])
    final_stage = max(last_job["stageIds"])
    assert parents[final_stage], "the result stage reads the output of a stage of its job"
    assert all(p in last_job["stageIds"] for p in parents[final_stage])
    first_job = min(run.jobs, key=lambda j: j["jobId"])
    assert parents[min(first_job["stageIds"])] == [], "the first stage reads the input, no shuffle"


def test_stage_attempts_and_the_plot_come_from_the_trace(spark, counted):
    import matplotlib

    matplotlib.use("Agg")
    _, run = counted
    attempts = jobgraph.stage_attempts(run)
    assert {a.stage for a in attempts} == {s["stageId"] for s in run.stages}
    assert sum(a.ran for a in attempts) == run.stages_run
    ax = jobgraph.plot_jobs(run, jobgraph.stage_parents(spark, run), title="t")
    assert ax.get_title() == "t" and len(ax.patches) >= len(attempts)
    assert jobgraph.task_failures(spark, run) == []


@pytest.mark.parametrize("message,kind", [
    ("FetchFailed(BlockManagerId(1, 127.0.0.1, 4040), shuffleId=0, mapIndex=1)", "FetchFailed"),
    ("ExecutorLostFailure (executor 0 exited caused by one of the running tasks) Reason: gone", "ExecutorLostFailure"),
    ("org.apache.spark.api.python.PythonException: Traceback (most recent call last)", "PythonException"),
    ("", "unknown"),
])
def test_failure_kinds_are_read_from_spark_messages(message, kind):
    assert jobgraph.failure_kind(message) == kind


def test_bad_inputs_get_a_clear_message(spark):
    with pytest.raises(JobGraphError, match="expected the Trace"):
        jobgraph.describe_jobs("not a trace")
    with pytest.raises(JobGraphError, match="tasks must be a whole number"):
        jobgraph.wait_for_running_stage(spark, tasks=0)
    with pytest.raises(ExecutorProcessError, match="executors must be a whole number"):
        wait_for_python_workers(spark, executors=0)


def test_local_mode_has_one_registered_executor_with_host_and_port(spark):
    (driver,) = wait_for_registered_executors(spark, 1, timeout=30)
    assert driver["id"] == "driver" and ":" in driver["hostPort"]
    with pytest.raises(ExecutorProcessError, match="2 executor\\(s\\) to register"):
        wait_for_registered_executors(spark, 2, timeout=0.5)


@pytest.mark.full  # a few seconds: the quick tier keeps within its 3 minutes
def test_python_workers_run_under_the_jvm_while_a_python_job_runs(spark):
    def slow(rows):
        time.sleep(1.5)
        yield sum(1 for _ in rows)

    job = threading.Thread(target=lambda: spark.sparkContext.parallelize(range(10), 1).mapPartitions(slow).collect())
    job.start()
    try:
        workers = wait_for_python_workers(spark, executors=1, timeout=30)
    finally:
        job.join()
    daemons = [w for w in workers if w.role == "daemon"]
    assert daemons and all(w.executor_id == "driver" for w in workers)
    assert any(w.parent_pid == daemons[0].pid for w in workers if w.role == "worker")
    assert all(w.role in ("daemon", "worker") for w in python_workers(spark))
