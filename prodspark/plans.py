"""Read a DataFrame's physical plan as evidence: shuffles, broadcasts, join strategies.

``df.explain()`` prints the plan; these helpers return it as text and pick out what the
lessons and checks look for. They always show the plan as Spark makes it before running the
query: after an action, ``df.explain()`` shows the final plan that adaptive query execution
(AQE) re-optimised while it ran.
"""

from __future__ import annotations

import re
from collections import Counter

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
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    parts = []
    for uri in uris.split(", "):
        path = Path(unquote(urlparse(uri).path))
        parts.append(paths.display_path(path) if path.is_absolute() else uri)
    return ", ".join(parts)


def _text(df_or_plan) -> str:
    return df_or_plan if isinstance(df_or_plan, str) else plan_text(df_or_plan)
