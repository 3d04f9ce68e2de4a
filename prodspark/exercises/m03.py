"""Checks for module 03, memory and resources. Expected values are read from the running Spark."""

from __future__ import annotations

from pyspark.sql import DataFrame

from prodspark.exercises.core import Wrong, exercise
from prodspark.exercises.evidence import require_sources, table_folder
from prodspark.memory import MIN_OVERHEAD_MIB, MiB, size_executors


@exercise("03.1", expects=(float, int), expects_text="a number of MiB (float)")
def unified_memory(answer: float, ctx) -> str:
    from prodspark.sparkui import wait_for_executors

    reported = [e["maxMemory"] / MiB for e in wait_for_executors(ctx.spark, 1)]
    off = [r for r in reported if abs(answer - r) > 0.005 * r]
    if off:
        raise Wrong(f"{answer:.1f} MiB is not what the executors report as maxMemory "
                    f"({'larger' if answer > off[0] else 'smaller'} by more than 0.5%).")
    return f"{answer:.1f} MiB, as the REST API reports for every executor."


def _transactions_join_merchants(ctx) -> int:
    data = ctx.params.data_dir
    transactions = ctx.spark.read.parquet(str(data / "transactions"))
    merchants = ctx.spark.read.parquet(str(data / "merchants"))
    return transactions.join(merchants, "merchant_id").count()


@exercise("03.2", expects=DataFrame, expects_text="a Spark DataFrame (the join)")
def forced_broadcast(answer: DataFrame, ctx) -> str:
    from prodspark import plans

    threshold = ctx.spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    if threshold != "-1":
        raise Wrong(f"the threshold is {threshold}; set it to -1 so that only your hint can choose the broadcast.")
    require_sources(ctx, answer, ("transactions", "merchants"), "the join")
    strategies = plans.join_strategies(answer)
    if not strategies:
        raise Wrong("the plan has no join.")
    if set(strategies) != {"BroadcastHashJoin"}:
        raise Wrong(f"the plan joins with {', '.join(sorted(strategies))}, not BroadcastHashJoin.")
    sides = plans.broadcast_sources(answer)
    small = table_folder(ctx, "merchants")
    if sides != [frozenset({small})]:
        raise Wrong("the plan broadcasts the wrong side: every executor would receive a copy of the large "
                    "table. Broadcast the small one.")
    expected = _transactions_join_merchants(ctx)
    rows = answer.count()
    if rows != expected:
        raise Wrong(f"the join has {rows:,} rows; transactions joined to merchants on merchant_id has {expected:,}.")
    return f"BroadcastHashJoin in the plan, no shuffle of transactions, {rows:,} rows."


SIZING_KEYS = ("executors_per_node", "heap_mib", "overhead_mib")


@exercise("03.3", expects=dict, expects_text="a dict with executors_per_node, heap_mib and overhead_mib",
          needs_spark=False)
def size_for_node(answer: dict, ctx) -> str:
    missing = [key for key in SIZING_KEYS if key not in answer]
    if missing:
        raise Wrong(f"missing key(s): {', '.join(missing)}.")
    bad = [key for key in SIZING_KEYS if isinstance(answer[key], bool) or not isinstance(answer[key], int)]
    if bad:
        raise Wrong(f"give whole numbers (int) for: {', '.join(bad)}.")
    best = size_executors(32, 128, cores_per_executor=5)
    executors, heap, overhead = (answer[key] for key in SIZING_KEYS)
    if executors != best.executors_per_node:
        raise Wrong(f"{executors} executors of 5 cores do not match the node's 31 usable cores.")
    if overhead < max(MIN_OVERHEAD_MIB, 0.10 * heap) - 1:
        raise Wrong(f"an overhead of {overhead} MiB is below max(384 MiB, 10% of the {heap} MiB heap).")
    share = (128 - 1) * 1024 / executors
    if heap + overhead > share:
        raise Wrong(f"heap + overhead = {heap + overhead} MiB does not fit the {share:.0f} MiB each executor gets.")
    if heap < 0.97 * best.heap_mib:
        raise Wrong(f"a {heap} MiB heap leaves much of the node's memory unused.")
    return f"{executors} executors with {heap} MiB heap + {overhead} MiB overhead each."


def spill_job(spark):
    """The job of exercise 03.4: sort data about the size of the session's unified memory."""
    from prodspark.memory import pressure_frame, unified_capacity

    data = pressure_frame(spark, unified_capacity(spark))
    return lambda: data.orderBy("payload").write.format("noop").mode("overwrite").save()


def spilled_with(spark, settings: dict[str, str | None]) -> int:
    """Bytes the spill job spills with ``settings`` applied (None: the value the session started with).

    The session's current values are restored afterwards.
    """
    from prodspark.session import runtime_conf
    from prodspark.sparkui import trace

    with runtime_conf(spark, settings):
        return trace(spark, spill_job(spark), "check 03.4").spilled_bytes


# The spill as the session started, per session and runtime settings: the same job measures the
# same bytes, so a second answer need not run it again.
_BASELINES: dict[tuple, int] = {}


def _baseline_spill(spark, keys: tuple[str, ...]) -> int:
    key = (spark.sparkContext.applicationId, keys, tuple(sorted(spark.conf.getAll.items())))
    if key not in _BASELINES:
        _BASELINES[key] = spilled_with(spark, dict.fromkeys(keys))
    return _BASELINES[key]


@exercise("03.4", expects=dict, expects_text="a dict of runtime settings (name -> value)")
def spill_less(answer: dict, ctx) -> str:
    if not answer:
        raise Wrong("give at least one setting.")
    fixed = [key for key in answer if not ctx.spark.conf.isModifiable(str(key))]
    if fixed:
        raise Wrong(f"{', '.join(map(str, fixed))} cannot change on a running session; "
                    "choose settings that spark.conf.isModifiable accepts.")
    settings = {str(key): value for key, value in answer.items()}
    baseline = _baseline_spill(ctx.spark, tuple(sorted(settings)))
    if baseline == 0:
        raise Wrong("the job does not spill in this session at all; start it with memory.SMALL_MEMORY "
                    "as the exercise's set-up cell does.")
    mine = spilled_with(ctx.spark, settings)
    if mine > baseline / 2:
        raise Wrong(f"with your settings the job spilled {mine / MiB:.0f} MiB; as the session started, "
                    f"{baseline / MiB:.0f} MiB. Aim for half or less.")
    return ("with your settings the job spills at most half of what it spills as the session started "
            "(both measured just now).")

