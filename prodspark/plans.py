"""Read a DataFrame's physical plan as evidence: shuffles, broadcasts, join strategies.

``df.explain()`` prints the plan; these helpers return it as text and pick out what the
lessons and checks look for. They always show the plan as Spark makes it before running the
query: after an action, ``df.explain()`` shows the final plan that adaptive query execution
(AQE) re-optimised while it ran.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from prodspark import paths

SHUFFLE = re.compile(r"\bExchange (hashpartitioning|rangepartitioning|RoundRobinPartitioning|SinglePartition)")
BROADCAST = re.compile(r"\bBroadcastExchange\b")
JOINS = ("BroadcastHashJoin", "SortMergeJoin", "ShuffledHashJoin", "BroadcastNestedLoopJoin", "CartesianProduct")
_JOIN = re.compile(r"\b(" + "|".join(JOINS) + r")\b")
_LOCATION = re.compile(r"\[(file:[^\]]+)\]")


def plan_text(df, mode: str = "simple") -> str:
    """The text ``df.explain(mode)`` prints, as a string."""
    fresh = df.select("*")  # a new query execution: not the one an earlier action re-optimised
    return fresh.sparkSession._jvm.PythonSQLUtils.explainString(fresh._jdf.queryExecution(), mode)


def shuffles(df_or_plan) -> list[str]:
    """The shuffle exchanges in the plan, by partitioning: each one is a stage boundary."""
    return SHUFFLE.findall(_text(df_or_plan))


def broadcasts(df_or_plan) -> int:
    """How many tables the plan broadcasts to every executor."""
    return len(BROADCAST.findall(_text(df_or_plan)))


def join_strategies(df_or_plan) -> Counter:
    """The physical join operators in the plan, counted: Counter({'BroadcastHashJoin': 1})."""
    return Counter(_JOIN.findall(_text(df_or_plan)))


def show_plan(df, mode: str = "simple") -> None:
    """Print the physical plan with file locations shown relative to the course folder."""
    print(_LOCATION.sub(lambda m: "[" + _short_location(m.group(1)) + "]", plan_text(df, mode)))


def _short_location(uris: str) -> str:
    from urllib.parse import unquote, urlparse

    parts = []
    for uri in uris.split(", "):
        path = Path(unquote(urlparse(uri).path))
        parts.append(paths.display_path(path) if path.is_absolute() else uri)
    return ", ".join(parts)


def _text(df_or_plan) -> str:
    return df_or_plan if isinstance(df_or_plan, str) else plan_text(df_or_plan)


# ------------------------------------------------------------------ what a plan reads
# Checks use these to make sure evidence is the learner's own: a DataFrame must be built from
# the tables an exercise names, read from this run's data folder.

def _children(node) -> list:
    children = node.children()
    return [children.apply(i) for i in range(children.size())]


def _root_paths(relation) -> set[Path]:
    """The folders a file-based relation (Parquet, JSON, Delta...) was read from."""
    roots = relation.location().rootPaths()
    return {_local_path(roots.apply(i).toString()) for i in range(roots.size())}


def _is_file_relation(relation) -> bool:
    """A HadoopFsRelation, or a subclass of it (Delta Lake's tables are one)."""
    cls = relation.getClass()
    while cls is not None:
        if cls.getName() == "org.apache.spark.sql.execution.datasources.HadoopFsRelation":
            return True
        cls = cls.getSuperclass()
    return False


def _local_path(uri: str) -> Path:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return Path(unquote(parsed.path)).resolve() if parsed.scheme in ("file", "") else Path(uri)


def _walk(node):
    yield node
    for child in _children(node):
        yield from _walk(child)


@dataclass(frozen=True)
class Sources:
    """Where a DataFrame's rows come from: table folders, and leaves that read no files."""

    tables: frozenset[Path]
    in_memory: tuple[str, ...]  # e.g. ('LocalRelation',) for spark.createDataFrame(rows)


def sources(df) -> Sources:
    """The leaves of a DataFrame's logical plan: the folders it reads, and any rows it holds in memory."""
    tables: set[Path] = set()
    in_memory: list[str] = []
    for node in _walk(df._jdf.queryExecution().analyzed()):
        if _children(node):
            continue
        name = node.getClass().getSimpleName()
        if name == "LogicalRelation" and _is_file_relation(node.relation()):
            tables |= _root_paths(node.relation())
        elif name not in ("OneRowRelation", "Range"):
            in_memory.append(name)
    return Sources(frozenset(tables), tuple(in_memory))


def broadcast_sources(df) -> list[frozenset[Path]]:
    """For each table the physical plan broadcasts, the folders that broadcast side reads."""
    plan = df.select("*")._jdf.queryExecution().executedPlan()
    if plan.getClass().getSimpleName() == "AdaptiveSparkPlanExec":
        plan = plan.initialPlan()  # the plan as made before running: not re-optimised by AQE
    sides = []
    for node in _walk(plan):
        if node.getClass().getSimpleName() == "BroadcastExchangeExec":
            found: set[Path] = set()
            for leaf in _walk(node):
                if leaf.getClass().getSimpleName() == "FileSourceScanExec":
                    found |= _root_paths(leaf.relation())
            sides.append(frozenset(found))
    return sides
