"""What a physical plan says about memory: shuffle serializers, final join strategies, broadcast metrics.

Module 03 reads these from the running session instead of stating them:

- :func:`shuffle_serializers`: the serializer of every shuffle exchange of a DataFrame, read from
  the exchange's shuffle dependency (a DataFrame exchange writes Spark's binary ``UnsafeRow``
  format whatever ``spark.serializer`` says);
- :func:`final_plan`: the plan adaptive execution settled on, after an action on the DataFrame;
- :func:`broadcast_metrics`: the size and timings of the broadcasts a traced action built.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodspark.errors import CourseError

_SHUFFLE_EXCHANGE = "ShuffleExchangeExec"


class PlanNotRun(CourseError):
    """A DataFrame's final adaptive plan was asked for before any action ran it."""


def _children(node) -> list:
    children = node.children()
    return [children.apply(i) for i in range(children.size())]


def _walk(node):
    yield node
    for child in _children(node):
        yield from _walk(child)


def _physical(df):
    plan = df._jdf.queryExecution().executedPlan()
    if plan.getClass().getSimpleName() == "AdaptiveSparkPlanExec":
        plan = plan.initialPlan()
    return plan


def shuffle_serializers(df) -> list[str]:
    """The class of the serializer each shuffle exchange of ``df`` writes its rows with (no job runs)."""
    return [str(node.shuffleDependency().serializer().getClass().getName())
            for node in _walk(_physical(df)) if node.getClass().getSimpleName() == _SHUFFLE_EXCHANGE]


def final_plan(df) -> str:
    """The physical plan adaptive execution chose while an action on ``df`` itself ran.

    Run an action on this very DataFrame first (``df.collect()``); actions that build a new
    DataFrame, such as ``df.count()`` or ``df.write``, re-plan and leave this one untouched.
    """
    plan = df._jdf.queryExecution().executedPlan()
    if plan.getClass().getSimpleName() != "AdaptiveSparkPlanExec":
        return str(plan.toString())  # adaptive execution is off: the plan is final from the start
    if "isFinalPlan=true" not in str(plan.simpleString(1)):
        raise PlanNotRun("this DataFrame has not run yet, so adaptive execution has no final plan: "
                         "call df.collect() on it first (a small result, e.g. after an aggregation).")
    return str(plan.executedPlan().toString())  # the final plan alone (the text of `plan` adds the initial one)


@dataclass(frozen=True)
class BroadcastMetrics:
    """One broadcast exchange, as the SQL tab of the REST API reports it."""

    rows: int
    data_size_bytes: int
    collect_ms: int  # rows brought to the driver
    build_ms: int  # the hash table built on the driver
    broadcast_ms: int  # sent to the executors


def broadcast_metrics(trace) -> list[BroadcastMetrics]:
    """The broadcast exchanges of a traced action (:func:`prodspark.sparkui.trace`), with their metrics."""
    found = []
    for execution in trace.sql:
        for node in execution.get("nodes", []):
            if node.get("nodeName") != "BroadcastExchange":
                continue
            values = {metric["name"]: metric["value"] for metric in node.get("metrics", [])}
            found.append(BroadcastMetrics(_number(values.get("number of output rows", "0")),
                                          _size(values.get("data size", "0")),
                                          _millis(values.get("time to collect", "0")),
                                          _millis(values.get("time to build", "0")),
                                          _millis(values.get("time to broadcast", "0"))))
    return found


def _number(text: str) -> int:
    return int(text.replace(",", "").split()[0])


_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _size(text: str) -> int:
    """ "1234.5 KiB" -> bytes. The SQL tab may give "total (min, med, max)\\n..." for per-task metrics."""
    first = text.splitlines()[-1] if "\n" in text else text
    number, _, unit = first.strip().partition(" ")
    return int(float(number.replace(",", "")) * _UNITS.get(unit.strip() or "B", 1))


def _millis(text: str) -> int:
    first = text.splitlines()[-1] if "\n" in text else text
    value = first.strip()
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)):
        if value.endswith(suffix):
            return int(float(value[: -len(suffix)].strip().replace(",", "")) * scale)
    return int(float(value or 0))
