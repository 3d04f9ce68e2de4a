"""One pipeline run: read, validate, quarantine, gate, enrich, and merge into a Delta table.

    metrics = run_pipeline(spark, "raw/", "tables/payments", "tables/quarantine",
                           min_quality=0.9, run_id="2024-07-01")

What a run guarantees:
- **nothing is lost**: records in = accepted + quarantined, and every quarantined record
  keeps its reason, its original line and its file;
- **the gate comes first**: when the accepted share is below ``min_quality`` the run
  raises :class:`QualityGateFailed` before the target table is touched (the quarantine is
  written, so the rejected records can be inspected);
- **atomic**: each write to a Delta table is one commit; a job killed mid-write leaves
  files that no version refers to, and readers keep seeing the previous version;
- **idempotent**: only records that are new or changed are merged (by transaction_id), so
  a rerun of the same input rewrites no file and commits nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from prodspark.errors import CourseError, ParameterError
from prodspark.frames import first_row
from prodspark.paths import display_path
from prodspark.pipeline import rules as rules_module
from prodspark.pipeline.rules import DATE_FORMAT, FIELDS, ORIGIN, Rule
from prodspark.timing import Timer

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PARTITION_COLUMN = "month"
KEY = "transaction_id"

# Amount buckets: below 50 is small, below 200 medium, the rest large.
BUCKETS = ((50, "small"), (200, "medium"))


class PipelineError(CourseError):
    """A pipeline run stopped; the message says why. ``metrics`` holds what was counted."""

    exit_code = 1

    def __init__(self, message: str, metrics: RunMetrics | None = None):
        super().__init__(message)
        self.metrics = metrics


class InputMissing(PipelineError):
    exit_code = 2


class QualityGateFailed(PipelineError):
    exit_code = 3


class EmptyInput(PipelineError):
    exit_code = 4


@dataclass
class RunMetrics:
    """What one run counted and did."""

    run_id: str
    input: str
    records_in: int
    accepted: int
    quarantined: dict[str, int]  # reason -> records, in the order the rules apply
    min_quality: float
    gate_passed: bool = False
    rows_inserted: int = 0
    rows_updated: int = 0
    table_version: int | None = None  # the target's version after the run
    committed: bool = False  # whether this run added a version to the target
    seconds: float = 0.0

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def quality_ratio(self) -> float:
        return self.accepted / self.records_in if self.records_in else 0.0

    @property
    def balanced(self) -> bool:
        """Records in = accepted + quarantined: no record was lost or counted twice."""
        return self.records_in == self.accepted + self.quarantined_total

    def as_dict(self) -> dict:
        return {**asdict(self), "quarantined_total": self.quarantined_total,
                "quality_ratio": round(self.quality_ratio, 6), "balanced": self.balanced}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, values: object) -> RunMetrics:
        """The metrics a run printed (:meth:`as_dict`, the command's last line), read back.

        The totals the line states must be the ones its counts give: a line that does not
        add up is refused, not trusted.
        """
        if not isinstance(values, dict):
            raise ParameterError(f"expected a run's metrics as a dict, got {type(values).__name__}.")
        names = [f.name for f in fields(cls)]
        required = {"run_id", "input", "records_in", "accepted", "quarantined", "min_quality"}
        missing = sorted(required - set(values))
        if missing:
            raise ParameterError(f"the metrics lack {', '.join(missing)}: not the metrics line of a pipeline run.")
        metrics = cls(**{name: values[name] for name in names if name in values})
        stated = {key: values[key] for key in ("quarantined_total", "quality_ratio", "balanced") if key in values}
        derived = {key: value for key, value in metrics.as_dict().items() if key in stated}
        if stated != derived:
            raise ParameterError(f"the metrics do not add up: they state {stated}, their counts give {derived}.")
        return metrics

    def summary(self) -> str:
        lines = [
            f"run {self.run_id}: {self.records_in:,} records in, {self.accepted:,} accepted, "
            f"{self.quarantined_total:,} quarantined (quality {self.quality_ratio:.2%}, "
            f"gate {self.min_quality:.0%}: {'passed' if self.gate_passed else 'FAILED'})",
        ]
        lines += [f"  {reason:<24}{count:>8,}" for reason, count in self.quarantined.items() if count]
        if self.gate_passed:
            change = (f"{self.rows_inserted:,} rows inserted, {self.rows_updated:,} updated, "
                      f"now at version {self.table_version}")
            lines.append(f"table: {change}" if self.committed
                         else f"table: nothing new, no commit (still version {self.table_version})")
        return "\n".join(lines)


def check_min_quality(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) <= 1:
        raise ParameterError(f"min_quality must be a number from 0 to 1, such as 0.95; got {value!r}.")
    return float(value)


def check_run_id(value: object) -> str:
    if value is None:
        return dt.datetime.now(dt.UTC).date().isoformat()  # the run date
    if not isinstance(value, str) or not RUN_ID_PATTERN.match(value):
        raise ParameterError(
            f"run_id must be 1 to 64 letters, digits or _ . : - (such as '2024-07-01'); got {value!r}."
        )
    return value


def _shown(path: str) -> str:
    """A local path relative to the course (the same on every machine); a URI as it is."""
    return path if "://" in path else display_path(Path(path))


def _check_path(value: object, name: str) -> str:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise ParameterError(f"{name} must be a path or URI, got {value!r}.")
    return str(value)


def enrich(accepted: DataFrame, run_id: str) -> DataFrame:
    """Typed, enriched records: a real DATE, its ``month`` (a DATE), amount bucket, weekend flag, run id."""
    from pyspark.sql import functions as F

    date = F.try_to_date("transaction_date", DATE_FORMAT)
    bucket = F.when(F.col("amount") < BUCKETS[0][0], BUCKETS[0][1])
    for limit, name in BUCKETS[1:]:
        bucket = bucket.when(F.col("amount") < limit, name)
    return accepted.select(
        "transaction_id", "customer_id", "merchant_id", "amount", "currency",
        date.alias("transaction_date"),
        "merchant_category", "channel",
        F.trunc(date, "month").alias(PARTITION_COLUMN),  # trunc gives a DATE; date_trunc a timestamp
        bucket.otherwise("large").alias("amount_bucket"),
        F.dayofweek(date).isin(1, 7).alias("is_weekend"),
        F.lit(run_id).alias("run_id"),
    )


def _is_delta(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def latest_version(spark: SparkSession, path: str) -> int | None:
    """The table's current version, or None when there is no Delta table at ``path``."""
    from delta.tables import DeltaTable

    if not _is_delta(spark, path):
        return None
    return first_row(DeltaTable.forPath(spark, path).history(1))["version"]


def _write_quarantine(rejected: DataFrame, path: str, run_id: str) -> None:
    """Replace this run's partition of the quarantine table (a rerun does not repeat its rows).

    The table is partitioned by run_id, so replacing one run's rows touches no other file.
    """
    (rejected.repartition(1).write.format("delta").mode("overwrite").partitionBy("run_id")
     .option("replaceWhere", f"run_id = '{run_id}'")  # run_id is checked: letters, digits, _.:-
     .save(path))


def changed_records(spark: SparkSession, enriched: DataFrame, path: str) -> DataFrame:
    """The records that are new, or differ from the table's copy in any field.

    Merging only these keeps a rerun free: Delta rewrites every file that holds a matched
    key, even when the update changes nothing.
    """
    from pyspark.sql import functions as F

    current = spark.read.format("delta").load(path).select(*[F.col(name).alias(f"_t_{name}") for name in FIELDS])
    same = [F.col(name).eqNullSafe(F.col(f"_t_{name}")) for name in FIELDS]
    condition = same[0]
    for test in same[1:]:
        condition = condition & test
    return enriched.join(current, condition, "left_anti")


def _load(spark: SparkSession, enriched: DataFrame, path: str, accepted: int) -> tuple[int, int, bool]:
    """Write or merge the accepted records; return (inserted, updated, committed)."""
    from delta.tables import DeltaTable

    if not _is_delta(spark, path):
        (enriched.repartition(PARTITION_COLUMN)  # one file per month, not one per task and month
         .write.format("delta").partitionBy(PARTITION_COLUMN).mode("errorifexists").save(path))
        return accepted, 0, True
    changes = changed_records(spark, enriched, path).cache()
    try:
        if changes.isEmpty():
            return 0, 0, False
        result = first_row(DeltaTable.forPath(spark, path).alias("t")
                           .merge(changes.alias("s"), f"t.{KEY} = s.{KEY}")
                           .whenMatchedUpdateAll()
                           .whenNotMatchedInsertAll()
                           .execute())
        return int(result["num_inserted_rows"]), int(result["num_updated_rows"]), True
    finally:
        changes.unpersist()


def run_pipeline(
    spark: SparkSession,
    input_path: str | Path,
    table_path: str | Path,
    quarantine_path: str | Path,
    *,
    min_quality: float = 0.90,
    run_id: str | None = None,
    rules: Iterable[Rule] | None = None,
    log: Callable[[str], None] | None = None,
) -> RunMetrics:
    """Run the pipeline once; return its metrics, or raise a :class:`PipelineError`.

    ``run_id`` defaults to today's UTC date. ``rules`` defaults to the pipeline's own
    (:func:`prodspark.pipeline.rules.default_rules`).
    """
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    min_quality = check_min_quality(min_quality)
    run_id = check_run_id(run_id)
    source = _check_path(input_path, "input_path")
    target = _check_path(table_path, "table_path")
    quarantine = _check_path(quarantine_path, "quarantine_path")
    say = log or (lambda message: None)
    chosen = rules_module.default_rules() if rules is None else rules_module.check_rules(rules)

    with Timer() as timer:
        try:
            lines = rules_module.read_lines(spark, source)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" in str(exc):
                raise InputMissing(f"the input {_shown(source)} does not exist.") from None
            raise
        classified = rules_module.classify(rules_module.parse(lines), chosen).persist()
        try:
            counts = rules_module.reason_counts(classified)
            reasons = [rule.reason for rule in chosen] + [rules_module.DUPLICATE]
            metrics = RunMetrics(
                run_id=run_id, input=source, records_in=sum(counts.values()), accepted=counts.get(None, 0),
                quarantined={reason: counts.get(reason, 0) for reason in reasons}, min_quality=min_quality,
            )
            say(f"read {metrics.records_in:,} records from {_shown(source)}")
            if metrics.records_in == 0:
                raise EmptyInput(f"the input {_shown(source)} holds no records: nothing to load.", metrics)

            rejected = classified.where(F.col("reason").isNotNull()).select(
                F.lit(run_id).alias("run_id"), "reason", *ORIGIN)
            _write_quarantine(rejected, quarantine, run_id)
            say(f"quarantined {metrics.quarantined_total:,} records in {_shown(quarantine)}")

            if metrics.quality_ratio < min_quality:
                metrics.table_version = latest_version(spark, target)
                raise QualityGateFailed(
                    f"quality gate failed: {metrics.accepted:,} of {metrics.records_in:,} records valid "
                    f"({metrics.quality_ratio:.2%}), below the minimum of {min_quality:.2%}. "
                    f"The table was not changed; the rejected records are in {_shown(quarantine)}.",
                    metrics)
            metrics.gate_passed = True

            enriched = enrich(classified.where(F.col("reason").isNull()), run_id)
            inserted, updated, committed = _load(spark, enriched, target, metrics.accepted)
        finally:
            classified.unpersist()
        metrics.rows_inserted, metrics.rows_updated, metrics.committed = inserted, updated, committed
        metrics.table_version = latest_version(spark, target)
    metrics.seconds = round(timer.seconds, 3)
    say(metrics.summary())
    return metrics
