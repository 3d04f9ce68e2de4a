"""Every exercise's check, both ways: a right answer passes; not attempted, a wrong answer and a
wrongly-typed answer do not. Expectations come from a freshly generated dataset with a seed
and scale other than the notebooks' defaults, so no check can lean on one run's numbers."""

import datetime
import statistics
import timeit
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from pyspark.sql import functions as F

from prodspark.datagen import generate
from prodspark.exercises import check
from prodspark.exercises.core import FAILED, NOT_ATTEMPTED, PASSED
from prodspark.exercises.progress import exercise_ids
from prodspark.params import check_parameters

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exercise-data")
    params = check_parameters(scale=0.05, seed=3, master="local[2]", data_dir=folder / "data", output_dir=folder / "out")
    generate(spark, params.data_dir, scale=params.scale, seed=params.seed, datasets=("merchants", "transactions"),
             progress=lambda line: None)
    return params


@pytest.fixture(scope="module")
def transactions(spark, course):
    return spark.read.parquet(str(course.data_dir / "transactions"))


def months(transactions):
    counts = transactions.groupBy(F.trunc("transaction_date", "month").alias("month")).count()
    return [row["month"] for row in counts.orderBy(F.desc("count"), "month").collect()]


def duckdb_by_category(course):
    t = f"{(course.data_dir / 'transactions').as_posix()}/*.parquet"
    m = f"{(course.data_dir / 'merchants').as_posix()}/*.parquet"
    return duckdb.sql(f"""SELECT m.category, SUM(t.amount) AS revenue, COUNT(DISTINCT t.customer_id) AS customers
                          FROM read_parquet('{t}') t JOIN read_parquet('{m}') m USING (merchant_id)
                          GROUP BY m.category""").df()


MEASURED = pd.DataFrame([
    {"engine": e, "rows": n, "seconds": s}
    for n, times in {1000: (0.5, 0.01, 0.02), 10000: (0.6, 0.3, 0.03), 100000: (0.9, 3.0, 0.3)}.items()
    for e, s in zip(("spark", "pandas", "duckdb"), times)
])


def cases(spark, course, transactions):
    """exercise id -> (right answer, [wrong answers of the right type], [answers of a wrong type], evidence)"""
    count = transactions.count()
    ranked = months(transactions)
    right_table = duckdb_by_category(course)
    off_table = right_table.assign(revenue=right_table["revenue"] * 1.1)
    spark.range(1).count()  # warm-up, as the solution does
    median_job = statistics.median(timeit.repeat(lambda: spark.range(1).count(), number=1, repeat=5))
    return {
        "00.1": (count, [count + 1, 0], ["200000", 1.5, True], {}),
        "00.2": (ranked[0], [ranked[-1], ranked[0].replace(day=2), datetime.date(1999, 1, 1)],
                 ["2024-01-01", datetime.datetime.combine(ranked[0], datetime.time())], {}),
        "00.3": (spark.sparkContext.defaultParallelism, [spark.sparkContext.defaultParallelism + 7], ["2"], {}),
        "01.1": (median_job, [100.0, 1e-9, -1.0], ["fast"], {}),
        "01.2": (right_table, [off_table, right_table.drop(columns="customers"), right_table.head(2)],
                 [spark.createDataFrame(right_table), {"category": []}], {}),
        "01.3": (100000, [1000, 10000, None], ["100000", 1e5], {"results": MEASURED}),
        "01.4": (0.9 / 0.3, [0.3 / 0.9, 30.0], ["3x"], {"results": MEASURED}),
    }


@pytest.fixture(scope="module")
def all_cases(spark, course, transactions):
    return cases(spark, course, transactions)


def solution_exercise_ids():
    ids = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        ids += exercise_ids(nbformat.read(path, as_version=4))
    return ids


def test_every_exercise_in_the_solutions_is_tested_here(all_cases):
    assert solution_exercise_ids(), "no exercises found in solutions/"
    assert sorted(all_cases) == sorted(solution_exercise_ids())


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_right_answer_passes(exercise_id, all_cases):
    right, _, _, evidence = all_cases[exercise_id]
    verdict = check(exercise_id, right, **evidence)
    assert verdict.status == PASSED, verdict.text()


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_unsolved_is_not_attempted(exercise_id, all_cases):
    evidence = all_cases[exercise_id][3]
    assert check(exercise_id, ..., **evidence).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_wrong_answers_fail_with_a_hint(exercise_id, all_cases):
    _, wrong_answers, _, evidence = all_cases[exercise_id]
    for wrong in wrong_answers:
        verdict = check(exercise_id, wrong, **evidence)
        assert verdict.status == FAILED, f"{wrong!r}: {verdict.text()}"
        assert verdict.message and verdict.hint


@pytest.mark.parametrize("exercise_id", solution_exercise_ids())
def test_wrongly_typed_answers_fail_with_a_message_not_a_traceback(exercise_id, all_cases):
    _, _, badly_typed, evidence = all_cases[exercise_id]
    for answer in badly_typed:
        verdict = check(exercise_id, answer, **evidence)
        assert verdict.status == FAILED, f"{answer!r}: {verdict.text()}"
        assert "expected" in verdict.message


def test_evidence_is_asked_for_when_missing(all_cases):
    verdict = check("01.3", 100000)
    assert verdict.status == FAILED and "results=results" in verdict.message
