"""The unified memory model and executor sizing, checked against Spark and against their rules."""

import pytest

from prodspark import memory
from prodspark.memory import MIN_OVERHEAD_MIB, MemoryRegions, MiB, parse_size, size_executors
from prodspark.sparkui import SparkUI


def test_the_model_gives_the_max_memory_spark_reports(spark):
    regions = memory.session_regions(spark)
    assert regions.fraction == 0.1  # the unit tests' session runs with SMALL_MEMORY
    reported = [e["maxMemory"] for e in SparkUI(spark).task_executors()]
    assert reported == [regions.unified]
    assert memory.unified_capacity(spark) == regions.unified


def test_regions_add_up_to_the_heap():
    regions = MemoryRegions(4096 * MiB, 0.6, 0.5)
    assert regions.reserved + regions.user + regions.storage_immune + regions.execution_floor == regions.heap
    assert regions.unified == int((4096 - 300) * MiB * 0.6)
    assert list(regions.table().index) == ["reserved", "user", "storage, protected", "execution or storage", "heap"]


@pytest.mark.parametrize("text,mib", [("1g", 1024), ("512m", 512), ("1024", 1024), ("2G", 2048), ("1.5g", 1536)])
def test_memory_sizes_parse_like_the_jvm(text, mib):
    assert parse_size(text) == mib * MiB


def test_a_bad_memory_size_is_named():
    with pytest.raises(ValueError, match="not a memory size: 'lots'"):
        parse_size("lots")


@pytest.mark.parametrize("cores,gib,per_executor", [(16, 64, 5), (32, 128, 5), (8, 16, 3), (4, 8, 1), (16, 64, 15)])
def test_executors_fit_the_node_with_their_overhead(cores, gib, per_executor):
    plan = size_executors(cores, gib, cores_per_executor=per_executor)
    assert plan.executors_per_node == (cores - 1) // per_executor
    assert plan.executors_per_node * plan.container_mib <= (gib - 1) * 1024
    assert plan.overhead_mib >= max(MIN_OVERHEAD_MIB, 0.10 * plan.heap_mib)
    assert plan.executors_per_node * (plan.container_mib + 1) > (gib - 1) * 1024 * 0.99, "memory left unused"
    assert plan.spark_settings()["spark.executor.memory"] == f"{plan.heap_mib}m"


def test_small_nodes_get_the_minimum_overhead():
    plan = size_executors(4, 4, cores_per_executor=1)
    assert plan.overhead_mib == MIN_OVERHEAD_MIB


@pytest.mark.parametrize("kwargs,words", [
    ({"node_cores": 4, "node_memory_gib": 16, "cores_per_executor": 5}, "cannot hold an executor"),
    ({"node_cores": 16, "node_memory_gib": 2, "cores_per_executor": 1}, "heap above 300 MiB"),
    ({"node_cores": "16", "node_memory_gib": 64}, "node_cores must be a whole number"),
])
def test_impossible_sizings_say_why(kwargs, words):
    with pytest.raises(ValueError, match=words):
        size_executors(**kwargs)


def test_the_pressure_frame_is_about_the_size_asked(spark):
    from pyspark import StorageLevel

    target = 8 * MiB
    frame = memory.pressure_frame(spark, target, partitions=2).persist(StorageLevel.MEMORY_ONLY)
    try:
        frame.count()
        cached = sum(entry["memoryUsed"] for entry in SparkUI(spark).cached())
        assert 0.5 * target < cached < 2 * target
        table = memory.cached_table(spark)
        assert table.loc["Memory Serialized 1x Replicated", "partitions cached"] == "2 of 2"
    finally:
        frame.unpersist(blocking=True)


def test_a_spark_failure_reads_as_its_reason():
    error = Exception("An error occurred while calling o306.collectToPython.\n"
                      ": org.apache.spark.SparkException: Job aborted due to stage failure: Total size of "
                      "serialized results of 1 tasks (3.1 MiB) is bigger than spark.driver.maxResultSize (1024.0 KiB)\n"
                      "\tat org.apache.spark.scheduler.DAGScheduler.abortStage(DAGScheduler.scala:3122)")
    assert memory.spark_error_reason(error).startswith("Total size of serialized results of 1 tasks")


def test_the_memory_plot_has_a_bar_per_heap():
    plan = size_executors(16, 64)
    figure = memory.plot_regions({"a": MemoryRegions(1024 * MiB), "b": plan.regions}, {"b": plan.overhead_mib})
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["a", "b"]
