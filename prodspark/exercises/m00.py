"""Checks for module 00, set-up and orientation."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request

from prodspark.exercises.core import Wrong, exercise


def _transactions(ctx):
    return ctx.spark.read.parquet(str(ctx.params.data_dir / "transactions"))


@exercise("00.1", expects=int, expects_text="a whole number (int)")
def count_transactions(answer: int, ctx) -> str:
    expected = _transactions(ctx).count()
    if answer != expected:
        direction = "more" if answer < expected else "fewer"
        raise Wrong(f"{answer:,} is not the number of transactions: the data has {direction}.")
    return f"{answer:,} transactions."


@exercise("00.2", expects=datetime.date, expects_text="a datetime.date (the month's first day)")
def busiest_month(answer: datetime.date, ctx) -> str:
    from pyspark.sql import functions as F

    if isinstance(answer, datetime.datetime):
        raise Wrong("expected a date, got a timestamp (datetime): one of Spark's month functions returns "
                    "timestamps, the other dates.")
    if answer.day != 1:
        raise Wrong(f"{answer} is not the first day of a month.")
    counts = _transactions(ctx).groupBy(F.trunc("transaction_date", "month").alias("month")).count()
    top = counts.agg(F.max("count")).first()[0]
    mine = counts.where(F.col("month") == F.lit(answer)).first()
    if mine is None:
        raise Wrong(f"no transactions fall in the month of {answer}.")
    if mine["count"] < top:
        raise Wrong(f"{answer:%B %Y} has {mine['count']:,} transactions; another month has more.")
    return f"{answer:%B %Y}, with {mine['count']:,} transactions."


def _application_at(port: int) -> list[dict] | None:
    """The applications a Spark UI on this port reports, or None when nothing answers there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/applications", timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


@exercise("00.3", expects=int, expects_text="a port number (int)")
def web_ui_port(answer: int, ctx) -> str:
    from urllib.parse import urlparse

    if not 0 < answer < 65536:
        raise Wrong(f"{answer} is not a TCP port number (1 to 65535).")
    address = ctx.spark.sparkContext.uiWebUrl
    if not address:
        raise Wrong("this session runs without a web UI (spark.ui.enabled is false): start it with the UI on.")
    if urlparse(address).port == answer:
        return "that is this session's web UI: open it in a browser while the session runs."
    applications = _application_at(answer)
    if applications is None:
        raise Wrong(f"no Spark web UI answers on port {answer} of this machine.")
    ours = ctx.spark.sparkContext.applicationId
    theirs = ", ".join(a.get("id", "?") for a in applications) or "none"
    raise Wrong(f"port {answer} serves another Spark application ({theirs}), not this session's ({ours}).")
