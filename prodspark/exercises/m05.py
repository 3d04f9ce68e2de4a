"""Checks for module 05, the production pipeline. Expectations come from the raw feed itself."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from pyspark.sql import Column, DataFrame

from prodspark.exercises.core import Wrong, exercise
from prodspark.exercises.evidence import require_sources
from prodspark.frames import first_row
from prodspark.pipeline import rules as pipeline_rules
from prodspark.pipeline.job import PARTITION_COLUMN, enrich


def _raw_path(ctx) -> str:
    return str(ctx.params.data_dir / "raw_transactions")


def _parsed(ctx) -> DataFrame:
    return pipeline_rules.parse(pipeline_rules.read_lines(ctx.spark, _raw_path(ctx)))


def _classified(ctx) -> DataFrame:
    return pipeline_rules.classify(_parsed(ctx))


@exercise("05.1", expects=DataFrame, expects_text="a Spark DataFrame")
def read_every_record(answer: DataFrame, ctx) -> str:
    from pyspark.sql import functions as F

    require_sources(ctx, answer, ("raw_transactions",), "the DataFrame")
    lines = ctx.spark.read.text(_raw_path(ctx)).count()
    missing = [name for name in pipeline_rules.FIELDS if name not in answer.columns]
    if missing:
        raise Wrong(f"the DataFrame lacks the contract's field(s) {missing}: read with the schema.")
    if pipeline_rules.CORRUPT_COLUMN not in answer.columns:
        raise Wrong("there is no _corrupt_record column, so a malformed line becomes a row of nulls and "
                    "its text is lost: add it to the schema and name it with columnNameOfCorruptRecord.")
    corrupt = F.col(pipeline_rules.CORRUPT_COLUMN)
    # Spark refuses a query on raw JSON that reads only the corrupt-record column: count whole rows
    counted = first_row(answer.agg(F.count(F.lit(1)).alias("rows"),
                                   F.count(F.when(corrupt.isNotNull(), F.struct(*answer.columns))).alias("kept")))
    if counted["rows"] != lines:
        lost = lines - counted["rows"]
        raise Wrong(f"{counted['rows']:,} rows for {lines:,} input lines: "
                    + (f"{lost:,} records lost silently (multiLine reads a whole file as one document; "
                       "DROPMALFORMED drops bad lines)." if lost > 0 else "more rows than lines."))
    counts = pipeline_rules.reason_counts(pipeline_rules.first_broken_rule(_parsed(ctx)))
    bad = counts.get("malformed_json", 0) + counts.get("wrong_type", 0)
    if counted["kept"] != bad:
        raise Wrong(f"{counted['kept']:,} rows keep their text in _corrupt_record; the feed has {bad:,} lines "
                    "that do not fit the schema.")
    return f"{lines:,} rows for {lines:,} lines; the {bad:,} malformed ones keep their text."


# Currencies in the test records of 05.2: the accepted ones, then ones that must be quarantined.
_TEST_CURRENCIES = (*pipeline_rules.ACCEPTED_CURRENCIES, "XYZ", "usd", "", None)


@exercise("05.2", expects=Column, expects_text="a Spark Column (true = broken)")
def currency_rule(answer: Column, ctx) -> str:
    import json

    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    spark = ctx.spark
    rule = pipeline_rules.Rule("unknown_currency", "not a currency the business accepts", answer)
    records = [json.dumps({"transaction_id": f"T{i}", "customer_id": "C1", "merchant_id": "M1", "amount": 10.0,
                           "currency": currency, "transaction_date": "2024-03-01"})
               for i, currency in enumerate(_TEST_CURRENCIES)]
    lines = spark.createDataFrame([(r, "test", 0, i) for i, r in enumerate(records)],
                                  "raw_record string, source_file string, _block long, _position long")
    try:
        reasons = {row["transaction_id"]: row["reason"] for row in pipeline_rules.classify(
            pipeline_rules.parse(lines), pipeline_rules.default_rules() + (rule,)).collect()}
    except AnalysisException as exc:
        raise Wrong(f"Spark cannot evaluate the rule: {str(exc).splitlines()[0][:200]}") from None
    for i, currency in enumerate(_TEST_CURRENCIES):
        flagged = reasons[f"T{i}"] == "unknown_currency"
        should = currency not in pipeline_rules.ACCEPTED_CURRENCIES
        if flagged != should:
            shown = "a missing (null) currency" if currency is None else repr(currency)
            verb = "quarantines" if flagged else "lets through"
            extra = (" A comparison with null is null, and a null rule lets the record through."
                     if currency is None else "")
            raise Wrong(f"the rule {verb} {shown}.{extra}")
    valid = pipeline_rules.first_broken_rule(_parsed(ctx))
    accepted = valid.where(F.col("reason").isNull() & F.col("currency").isin(*pipeline_rules.ACCEPTED_CURRENCIES))
    wrongly = accepted.where(F.coalesce(answer, F.lit(False))).count()
    if wrongly:
        raise Wrong(f"the rule quarantines {wrongly:,} valid records of the feed.")
    return (f"accepts {', '.join(pipeline_rules.ACCEPTED_CURRENCIES)} and quarantines the others, "
            "null included.")


# The feed's first accepted records, per session and feed: small, and the same for every call.
_FIRST_ACCEPTED: dict[tuple, tuple[list, object]] = {}


def _first_accepted(ctx, count: int) -> DataFrame:
    """The first ``count`` accepted, enriched records of the feed (by key), as a small local DataFrame."""
    from pyspark.sql import functions as F

    raw = ctx.params.data_dir / "raw_transactions"
    written = max((f.stat().st_mtime for f in raw.rglob("*") if f.is_file()), default=0.0)
    key = (ctx.spark.sparkContext.applicationId, str(raw), written, count)
    if key not in _FIRST_ACCEPTED:
        accepted = enrich(_classified(ctx).where(F.col("reason").isNull()), "check")
        ordered = accepted.orderBy("transaction_id").limit(count)
        _FIRST_ACCEPTED[key] = (ordered.collect(), ordered.schema)
    rows, schema = _FIRST_ACCEPTED[key]
    return ctx.spark.createDataFrame(rows, schema)


def _batches(ctx, size: int = 200) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Two batches of enriched records and the table expected after loading both (changes win)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = _first_accepted(ctx, 2 * size)
    ranked = ordered.withColumn("_n", F.row_number().over(Window.orderBy("transaction_id")))
    first = ranked.where(F.col("_n") <= size).drop("_n")
    changed = ranked.where((F.col("_n") > size // 2) & (F.col("_n") <= size)).withColumn(
        "amount", (F.col("amount") + 1).cast("decimal(12,2)"))
    new = ranked.where(F.col("_n") > size)
    second = changed.unionByName(new).drop("_n")
    expected = ranked.where(F.col("_n") <= size // 2).drop("_n").unionByName(second)
    return first, second, expected


def _rows(df: DataFrame) -> list[tuple]:
    return sorted(tuple(row) for row in df.select(*pipeline_rules.FIELDS).collect())


def _table_state(spark, path: str) -> tuple[int, frozenset[str]]:
    """A Delta table's current version and the data files it is made of."""
    from delta.tables import DeltaTable

    version = first_row(DeltaTable.forPath(spark, path).history(1))["version"]
    return version, frozenset(spark.read.format("delta").load(path).inputFiles())


@exercise("05.3", expects_text="a function load(batch, path)")
def idempotent_load(answer: Callable, ctx) -> str:
    from delta.tables import DeltaTable

    if not callable(answer):
        raise Wrong(f"expected a function load(batch, path), got {type(answer).__name__}.")
    spark = ctx.spark
    path = ctx.params.output_dir / "check_05_3"
    shutil.rmtree(path, ignore_errors=True)
    first, second, expected = _batches(ctx)

    def load(batch: DataFrame, step: str) -> list[tuple]:
        try:
            answer(batch, str(path))
        except Exception as exc:  # the learner's code: report, do not crash
            raise Wrong(f"load(...) raised {type(exc).__name__} on {step}: "
                        f"{(str(exc).strip().splitlines() or [''])[0][:200]}") from None
        if not DeltaTable.isDeltaTable(spark, str(path)):
            raise Wrong(f"after {step}, {path.name} is not a Delta table.")
        return _rows(spark.read.format("delta").load(str(path)))

    def rerun(batch: DataFrame, step: str) -> list[tuple]:
        """Load a batch the table already holds: nothing may be committed or rewritten."""
        before = _table_state(spark, str(path))
        rows = load(batch, step)
        version, files = _table_state(spark, str(path))
        if version != before[0]:
            raise Wrong(f"{step} committed table version {version}: a rerun that changes nothing must not "
                        "commit (a MERGE commits, and rewrites the files of every matched key, even when "
                        "the values are the same).")
        if files != before[1]:
            raise Wrong(f"{step} rewrote {len(files - before[1])} data file(s) without changing a record.")
        return rows

    want_first = _rows(first)
    load(first, "the first batch")
    partitioned = first_row(DeltaTable.forPath(spark, str(path)).detail())["partitionColumns"]
    if list(partitioned) != [PARTITION_COLUMN]:
        shown = ", ".join(partitioned) or "nothing"
        raise Wrong(f"the table is partitioned by {shown}; partition it by {PARTITION_COLUMN}, as the "
                    "lesson's table is.")
    again = rerun(first, "the same batch again")
    if again != want_first:
        raise Wrong(f"after loading the same batch twice the table has {len(again):,} rows for "
                    f"{len(want_first):,} records: a rerun must not add or change anything.")
    after = load(second, "a second batch")
    want = _rows(expected)
    if after != want:
        keys_after = {row[0] for row in after}
        if not {row[0] for row in want_first} <= keys_after:
            raise Wrong("the second batch removed records of the first: an overwrite loses what the "
                        "new batch does not repeat.")
        raise Wrong("records that changed in the second batch were not updated (or were added twice): "
                    "merge on the key, updating matches.")
    rerun(second, "the second batch again")
    return (f"the same batch twice left {len(want_first):,} rows, with no new commit and no file rewritten; "
            f"a second batch updated {len(want_first) // 2:,} records and added {len(want) - len(want_first):,}.")
