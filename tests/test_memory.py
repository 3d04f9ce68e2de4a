"""The unified memory model and executor sizing, checked against Spark and against their rules."""

import pytest

from prodspark import memory
from prodspark.errors import ParameterError
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


def test_the_memory_plot_has_a_panel_per_heap_each_on_its_own_scale():
    plan = size_executors(16, 64)
    figure = memory.plot_regions({"a": MemoryRegions(1024 * MiB), "b": plan.regions}, {"b": plan.overhead_mib})
    assert [t.get_text() for axis in figure.axes for t in axis.get_yticklabels()] == ["a", "b"]
    small, large = (axis.get_xlim()[1] for axis in figure.axes)
    assert small < 1100 < 20_000 < large  # the 1 GiB bar fills its own panel
    assert len(figure.legends) == 1 and not any(axis.get_legend() for axis in figure.axes)


def test_the_memory_plot_needs_a_heap():
    with pytest.raises(ParameterError, match="at least one"):
        memory.plot_regions({})


@pytest.mark.parametrize("heap,factor,expected", [(2048, 0.10, 384), (8192, 0.10, 819), (3909, 0.10, 390),
                                                  (2048, 0.40, 819), (512, 0.40, 384)])
def test_overhead_is_the_factor_of_the_heap_truncated_at_least_the_minimum(heap, factor, expected):
    assert memory.memory_overhead_mib(heap, factor) == expected


def test_overhead_as_sparks_resource_profile_computes_it(spark):
    from prodspark.memory_k8s import scala_object

    profile = scala_object(spark.sparkContext._jvm, "org.apache.spark.resource.ResourceProfile")
    none = spark.sparkContext._jvm.scala.Option.empty()
    for heap in (1024, 3909, 8192, 19549):
        for factor in (0.10, 0.40):
            assert memory.memory_overhead_mib(heap, factor) == profile.calculateOverHeadMemory(none, 384, heap, factor)


@pytest.mark.parametrize("kwargs,words", [({"heap_mib": -1}, "heap_mib must be"),
                                          ({"heap_mib": 1.5}, "heap_mib must be"),
                                          ({"heap_mib": 1024, "factor": 0}, "factor must be a number above 0")])
def test_a_bad_overhead_input_is_named(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        memory.memory_overhead_mib(**kwargs)


def test_each_cluster_manager_adds_its_own_overhead():
    assert memory.container_memory("yarn", 2048, python=True).requested_mib == 2048 + 384
    assert memory.container_memory("kubernetes", 2048, python=False).requested_mib == 2048 + 384
    assert memory.container_memory("kubernetes", 2048, python=True).requested_mib == 2048 + 819
    standalone = memory.container_memory("standalone", 2048, python=True)
    assert (standalone.overhead_mib, standalone.requested_mib) == (0, 2048)
    table = memory.overhead_table(2048)
    assert table.loc[("kubernetes", "Python"), "requested MiB"] == 2867
    assert len(table) == 6
    with pytest.raises(ParameterError, match="manager must be one of yarn, kubernetes, standalone"):
        memory.container_memory("mesos", 2048)


def test_the_overhead_model_matches_sparks_own_kubernetes_pods(spark):
    from prodspark.memory_k8s import PodMemory, pod_memory

    for python in (False, True):
        pods = pod_memory(spark, "2g", python=python)
        assert PodMemory.mib(pods.driver_request) == memory.container_memory("kubernetes", 2048, python).requested_mib
        assert pods.overhead_factor_passed_on == (0.4 if python else 0.1)
        assert pods.executor_request_mib("4g") == memory.container_memory("kubernetes", 4096, python).requested_mib
    assert pod_memory(spark, "2g", python=True, settings={"spark.driver.memoryOverheadFactor": "0.2"}
                      ).driver_request == "2457Mi"
    with pytest.raises(ParameterError, match="not a memory size"):
        pod_memory(spark, "two gigs")


@pytest.mark.full  # about 5 s: the quick tier keeps within its 3 minutes
def test_filling_past_memory_leaves_partitions_out(spark):
    capacity = memory.unified_capacity(spark)
    fill = memory.fill_past_memory(spark, capacity, partitions=8)
    try:
        assert 0 < fill.cached_partitions < fill.partitions == 8
        assert fill.dropped_partitions == 8 - fill.cached_partitions
        assert fill.memory_used <= capacity
    finally:
        fill.frame.unpersist(blocking=True)
    with pytest.raises(ParameterError, match="capacity must be"):
        memory.fill_past_memory(spark, 0)


def test_dataframe_shuffles_use_sparks_row_serializer_and_shuffled_hash_joins_give_the_same_rows(spark):
    from pyspark.sql import functions as F
    from pyspark.testing import assertDataFrameEqual

    from prodspark import plans
    from prodspark.memory_plans import PlanNotRun, final_plan, shuffle_serializers
    from prodspark.session import runtime_conf

    left = spark.range(0, 2000, 1, 4).withColumn("key", F.col("id") % 50)
    right = spark.range(0, 50).withColumnRenamed("id", "key")
    assert shuffle_serializers(left.groupBy("key").count()) == ["org.apache.spark.sql.execution.UnsafeRowSerializer"]
    results, strategies = [], []
    for value in (None, "256m"):
        with runtime_conf(spark, {"spark.sql.autoBroadcastJoinThreshold": -1,
                                  "spark.sql.adaptive.maxShuffledHashJoinLocalMapThreshold": value}):
            joined = left.join(right, "key").groupBy("key").count()
            with pytest.raises(PlanNotRun, match="collect"):
                final_plan(joined)
            results.append(spark.createDataFrame(joined.collect()))
            strategies.append(set(plans.join_strategies(final_plan(joined))))
    assert strategies == [{"SortMergeJoin"}, {"ShuffledHashJoin"}]
    assertDataFrameEqual(results[0], results[1])


def test_broadcast_metrics_are_read_from_a_traced_join(spark):
    from pyspark.sql.functions import broadcast

    from prodspark.memory_plans import broadcast_metrics
    from prodspark.sparkui import trace

    small = spark.range(0, 1000).withColumnRenamed("id", "key")
    large = spark.range(0, 20_000, 1, 2).withColumnRenamed("id", "key")
    run = trace(spark, lambda: large.join(broadcast(small), "key").write.format("noop").mode("overwrite").save())
    [metrics] = broadcast_metrics(run)
    assert metrics.rows == 1000
    assert 1000 * 8 <= metrics.data_size_bytes < 64 * MiB  # a hash table: pages, not just the rows
    assert min(metrics.collect_ms, metrics.build_ms, metrics.broadcast_ms) >= 0
