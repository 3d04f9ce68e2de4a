"""Small helpers for reading results back from Spark."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row


def first_row(df: DataFrame) -> Row:
    """The first row of a result that always has one (an aggregate without ``groupBy``, a
    table's latest history entry, a MERGE's metrics); an empty result is a bug, named here
    instead of as ``'NoneType' object is not subscriptable``."""
    row = df.first()
    if row is None:
        raise RuntimeError(f"expected at least one row, got none from: {df.columns}")
    return row
