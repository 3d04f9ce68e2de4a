"""The course's production pipeline: raw JSON Lines payments in, a clean Delta table out.

    from prodspark.pipeline import run_pipeline
    metrics = run_pipeline(spark, input_path, table_path, quarantine_path, min_quality=0.9)

- every input line is read (as text first: the JSON reader would skip blank lines);
- each record is parsed against an explicit schema, and the first rule it breaks gives its
  quarantine reason (:mod:`prodspark.pipeline.rules`); nothing is dropped;
- a quality gate stops the run before the target table is touched;
- accepted records are enriched and merged into a Delta table partitioned by month, so a
  rerun of the same input changes nothing (:mod:`prodspark.pipeline.job`);
- the same code runs as a ``spark-submit`` job (:mod:`prodspark.pipeline.cli`).
"""

from prodspark.pipeline.job import (
    EmptyInput,
    InputMissing,
    PipelineError,
    QualityGateFailed,
    RunMetrics,
    check_min_quality,
    enrich,
    run_pipeline,
)
from prodspark.pipeline.rules import (
    ACCEPTED_CURRENCIES,
    Rule,
    classify,
    default_rules,
    parse,
    read_lines,
    rules_table,
)

__all__ = [
    "ACCEPTED_CURRENCIES",
    "EmptyInput",
    "InputMissing",
    "PipelineError",
    "QualityGateFailed",
    "default_rules",
    "Rule",
    "RunMetrics",
    "check_min_quality",
    "classify",
    "enrich",
    "parse",
    "read_lines",
    "rules_table",
    "run_pipeline",
]
