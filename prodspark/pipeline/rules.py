"""Read, parse and validate the raw payments feed: every line in, every line accounted for.

The feed (``raw_transactions``, JSON Lines) is read as *text* first, so each line is a row
whatever it holds: Spark's JSON reader skips blank lines, and with ``multiLine`` it reads
a file as one document. Each line is then parsed against the producer's contract
(:data:`prodspark.datagen.RAW_SCHEMA_DDL`) with a corrupt-record column, and checked by
the rules below, in order. The first rule a record breaks is its quarantine ``reason``;
a record that breaks none is accepted (``reason`` is null). Among accepted records, a
``transaction_id`` seen earlier in the input is a ``duplicate``.

A rule is a reason, a description and a Column that is *true when the record breaks it*.
Write it null-safe: a rule that evaluates to null (``currency`` null, say) lets the
record through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from prodspark.datagen import CURRENCIES, RAW_SCHEMA_DDL
from prodspark.errors import ParameterError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

CORRUPT_COLUMN = "_corrupt_record"
DATE_FORMAT = "yyyy-MM-dd"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DUPLICATE = "duplicate"
ACCEPTED_CURRENCIES = tuple(code for code, _ in CURRENCIES)

# The fields of a record, as the producer's contract names them.
FIELDS = tuple(part.strip().split(" ", 1)[0] for part in re.split(r",(?![^()]*\))", RAW_SCHEMA_DDL))

# Columns that say where a line came from; _block and _position order lines within a file.
ORIGIN = ("raw_record", "source_file")
_ORDER = ("source_file", "_block", "_position")


@dataclass(frozen=True)
class Rule:
    """A validation rule: ``broken`` is a boolean Column, true when a record breaks it."""

    reason: str
    description: str
    broken: Column


def default_rules() -> tuple[Rule, ...]:
    """The pipeline's rules, in the order they are checked (the first broken one is the reason)."""
    from pyspark.sql import functions as F

    def blank(name: str) -> Column:
        return F.col(name).isNull() | (F.trim(F.col(name)) == "")

    date = F.col("transaction_date")
    return (
        Rule("malformed_json", "the line is not a JSON object (cut short, empty, or not JSON)",
             F.json_object_keys("raw_record").isNull()),
        Rule("wrong_type", "a field's value does not fit the schema (text where a number belongs)",
             F.col(CORRUPT_COLUMN).isNotNull()),
        Rule("missing_transaction_id", "no transaction_id", blank("transaction_id")),
        Rule("missing_customer_id", "no customer_id", blank("customer_id")),
        Rule("missing_amount", "no amount", F.col("amount").isNull()),
        Rule("non_positive_amount", "the amount is 0 or negative", F.col("amount") <= 0),
        Rule("missing_date", "no transaction_date", blank("transaction_date")),
        Rule("unparseable_date", "transaction_date is not written yyyy-MM-dd", ~date.rlike(DATE_PATTERN)),
        Rule("impossible_date", "a yyyy-MM-dd date that does not exist (2024-02-30)",
             F.try_to_date(date, DATE_FORMAT).isNull()),
    )


def rules_table(rules: Iterable[Rule] | None = None):
    """The rules as a pandas DataFrame (reason, description), in the order they apply."""
    import pandas as pd

    rows = [(rule.reason, rule.description) for rule in (default_rules() if rules is None else rules)]
    rows.append((DUPLICATE, "a transaction_id already accepted earlier in the input"))
    return pd.DataFrame(rows, columns=["reason", "description"]).set_index("reason")


def read_lines(spark: SparkSession, path: str | Path) -> DataFrame:
    """Every line under ``path`` as ``raw_record``, with its ``source_file``: blank lines too.

    Two hidden columns, ``_block`` and ``_position``, keep the input order within a file.
    """
    from pyspark.sql import functions as F

    lines = spark.read.text(str(path))
    return lines.select(
        F.col("value").alias("raw_record"),
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_position"),  # increases along the lines of one split
    )


def raw_schema(with_corrupt_column: bool = True):
    """The producer's contract as a StructType, plus the corrupt-record column by default."""
    from pyspark.sql.types import StringType, StructType

    schema = StructType.fromDDL(RAW_SCHEMA_DDL)
    if not isinstance(schema, StructType):  # fromDDL parses any type; the contract is a record
        raise TypeError(f"RAW_SCHEMA_DDL must describe a record (a struct), not {schema.simpleString()}")
    return schema.add(CORRUPT_COLUMN, StringType()) if with_corrupt_column else schema


def parse(lines: DataFrame) -> DataFrame:
    """The lines with the record's fields parsed by the schema, and ``_corrupt_record``.

    PERMISSIVE parsing keeps every row: a line that does not fit the schema keeps null
    fields and its text in ``_corrupt_record``.
    """
    from pyspark.sql import functions as F

    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
    parsed = F.from_json("raw_record", raw_schema(), options)
    with_record = lines.select("*", parsed.alias("_parsed"))
    return with_record.select(*lines.columns, *[F.col(f"_parsed.{name}").alias(name)
                                                for name in (*FIELDS, CORRUPT_COLUMN)])


def check_rules(rules: object) -> tuple[Rule, ...]:
    """The rules as a tuple, each a Rule with a Column and a unique reason."""
    from pyspark.sql import Column

    if isinstance(rules, Rule):
        rules = (rules,)
    try:
        given = tuple(cast("Iterable[object]", rules))  # not iterable: TypeError, below
    except TypeError:
        raise ParameterError(f"rules must be a list of Rule, got {type(rules).__name__}.") from None
    checked: list[Rule] = []
    for rule in given:
        if not isinstance(rule, Rule) or not isinstance(rule.broken, Column):
            raise ParameterError(f"each rule must be a Rule(reason, description, Column), got {rule!r}.")
        checked.append(rule)
    reasons = [rule.reason for rule in checked]
    repeated = sorted({reason for reason in reasons if reasons.count(reason) > 1} | ({DUPLICATE} & set(reasons)))
    if repeated:
        raise ParameterError(f"each rule needs its own reason; repeated or reserved: {', '.join(repeated)}.")
    return tuple(checked)


def first_broken_rule(parsed: DataFrame, rules: Iterable[Rule] | None = None) -> DataFrame:
    """Add ``reason``: the first rule the record breaks, or null (duplicates not looked for)."""
    from pyspark.sql import functions as F

    checked = check_rules(default_rules() if rules is None else rules)
    return parsed.withColumn("reason", F.coalesce(*[F.when(rule.broken, F.lit(rule.reason)) for rule in checked]))


def classify(parsed: DataFrame, rules: Iterable[Rule] | None = None) -> DataFrame:
    """Add ``reason``: the first rule the record breaks, ``duplicate``, or null when accepted.

    ``rules`` defaults to :func:`default_rules`; pass ``default_rules() + (my_rule,)`` to add
    one. A duplicate is an otherwise valid record whose transaction_id an earlier line of
    the input (by file, then position) already has: the first copy is accepted.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    with_reason = first_broken_rule(parsed, rules)
    earlier_first = Window.partitionBy("transaction_id", "reason").orderBy(*_ORDER)
    copy = F.when(F.col("reason").isNull(), F.row_number().over(earlier_first))
    return with_reason.withColumn(
        "reason", F.when(copy > 1, F.lit(DUPLICATE)).otherwise(F.col("reason"))
    ).drop("_block", "_position")


def reason_counts(classified: DataFrame) -> dict[str | None, int]:
    """Records per reason (None: accepted), counted by Spark in one job."""
    return {row["reason"]: row["count"] for row in classified.groupBy("reason").count().collect()}
