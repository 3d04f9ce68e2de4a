"""Checks for module 02, architecture. Expected values are measured on the running Spark."""

from __future__ import annotations

from functools import partial

from prodspark.exercises.core import Wrong, exercise


def exercise_query(spark, data_dir):
    """The query of exercise 02.1, built from this notebook's data."""
    from pyspark.sql import functions as F

    transactions = spark.read.parquet(str(data_dir / "transactions"))
    customers = spark.read.parquet(str(data_dir / "customers"))
    return (transactions.join(customers, "customer_id")
            .groupBy("segment")
            .agg(F.sum("amount").alias("revenue")))


def _query_evidence(ctx):
    from pyspark.sql import DataFrame

    query = ctx.require("query", "the query")
    if not isinstance(query, DataFrame):
        raise Wrong(f"query= must be the Spark DataFrame of the exercise, got {type(query).__name__}.")
    if not query.sameSemantics(exercise_query(ctx.spark, ctx.params.data_dir)):
        raise Wrong("query= is not the exercise's query (transactions joined to customers, revenue per "
                    "segment, from this notebook's data): pass the `query` the notebook built.")
    return query


@exercise("02.1", expects=int, expects_text="a whole number of stages (int)")
def predict_stages(answer: int, ctx) -> str:
    from prodspark.sparkui import trace

    query = _query_evidence(ctx).select("*")  # a fresh execution: no shuffle output left from earlier runs
    measured = trace(ctx.spark, query.collect, "check 02.1").stages_run
    if answer != measured:
        raise Wrong(f"{answer} is not what Spark ran for query.collect(): it ran "
                    f"{'more' if answer < measured else 'fewer'} stages.")
    return f"{measured} stages, as Spark's REST API reports for query.collect()."


# What each operation is, as a learner sees it, and how the check runs it on `transactions`.
OPERATIONS = {
    "spark.read.parquet(path)": lambda spark, df, path: spark.read.parquet(path),
    "df.where('amount > 100')": lambda spark, df, path: df.where("amount > 100"),
    "df.groupBy('channel').count()": lambda spark, df, path: df.groupBy("channel").count(),
    "df.orderBy('amount')": lambda spark, df, path: df.orderBy("amount"),
    "df.cache()": lambda spark, df, path: df.where("amount > 0").cache(),
    "df.count()": lambda spark, df, path: df.count(),
    "df.take(1)": lambda spark, df, path: df.take(1),
}


def starts_jobs(spark, path: str) -> dict[str, bool]:
    """For each operation: does it start a Spark job? Measured with the REST API."""
    from prodspark.sparkui import trace

    df = spark.read.schema(spark.read.parquet(path).schema).parquet(path)
    found = {}
    for name, operation in OPERATIONS.items():
        run = trace(spark, partial(operation, spark, df, path), f"check 02.2: {name}")
        if isinstance(run.result, type(df)):
            run.result.unpersist()
        found[name] = len(run.jobs) > 0
    return found


def _names(answer, known, what: str) -> set[str]:
    """The learner's chosen names, checked against the known ones."""
    chosen = set(answer)
    not_text = [name for name in chosen if not isinstance(name, str)]
    if not_text:
        raise Wrong(f"give the {what} as strings, exactly as listed; got {not_text[0]!r}.")
    unknown = sorted(chosen - set(known))
    if unknown:
        raise Wrong(f"not in the list: {', '.join(map(repr, unknown))}. Copy the {what} exactly as printed.")
    return chosen


@exercise("02.2", expects=(set, list, tuple), expects_text="a set of operation names (str)")
def which_start_jobs(answer, ctx) -> str:
    chosen = _names(answer, OPERATIONS, "operations")
    measured = starts_jobs(ctx.spark, str(ctx.params.data_dir / "transactions"))
    expected = {name for name, starts in measured.items() if starts}
    wrong = sorted(chosen ^ expected)
    if wrong:
        raise Wrong(f"{len(wrong)} of {len(OPERATIONS)} wrong: {', '.join(wrong)}. "
                    "Try one with trace(spark, lambda: ...) and count its jobs.")
    return f"{len(expected)} of {len(OPERATIONS)} start jobs; the others are lazy (measured just now)."


PLACES = {
    "optimising the query plan": "driver",
    "the body of a Python UDF": "executor",
    "reading the rows of a Parquet file": "executor",
    "the list that collect() returns": "driver",
    "scheduling tasks and retrying failed ones": "driver",
    "writing shuffle files": "executor",
}


@exercise("02.3", expects=(set, list, tuple), expects_text="a set of the items (str) that happen on the executors",
          needs_spark=False)
def driver_or_executor(answer, ctx) -> str:
    chosen = _names(answer, PLACES, "items")
    expected = {item for item, place in PLACES.items() if place == "executor"}
    wrong = sorted(chosen ^ expected)
    if wrong:
        raise Wrong(f"{len(wrong)} of {len(PLACES)} misplaced: {', '.join(wrong)}.")
    return "every item placed right: the others happen on the driver."


@exercise("02.4", expects=str, expects_text="a master URL (str)", needs_spark=False)
def kubernetes_master(answer: str, ctx) -> str:
    from prodspark.errors import ParameterError
    from prodspark.masters import parse_master

    try:
        parsed = parse_master(answer.strip())
    except ParameterError as error:
        raise Wrong(str(error).splitlines()[0]) from None
    if parsed.kind != "k8s":
        raise Wrong(f"{answer!r} is a {parsed.kind} master URL, not a Kubernetes one.")
    if parsed.endpoints != (("k8s-api.example.com", 6443),) or not answer.strip().startswith("k8s://https://"):
        raise Wrong(f"{answer!r} does not point at https://k8s-api.example.com:6443.")
    return f"spark-submit --master {answer.strip()} --deploy-mode cluster ... would reach that API server."
