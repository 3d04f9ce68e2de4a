"""Every exercise's check, both ways, at datasets (seed and scale) other than the notebooks'
defaults (one in the full suite, a second in the extended tier): the right answer passes; not
attempted, each plausible wrong answer of its table (tests/exercise_cases.py) and each
wrongly-typed answer do not. No verdict shows the hint."""

from pathlib import Path

import nbformat
import pytest
from exercise_cases import CASES, PROMPT_EXAMPLES, SESSION_SETTINGS, Env, stop_other_ui
from pyspark.sql import functions as F

from prodspark.course import course
from prodspark.exercises import check, hint
from prodspark.exercises.core import ERROR, FAILED, NOT_ATTEMPTED, PASSED, Hint, get_exercise
from prodspark.exercises.progress import exercise_ids
from prodspark.session import runtime_conf

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = [e.id for e in course().exercises]


def needs_data(exercise_id: str) -> bool:
    return get_exercise(exercise_id).needs_spark


# Checks that read data run their table at dataset A in the full suite, with dataset B's right
# answers among the wrong ones; the extended tier runs each table again at B, with A's as wrong
# ones (generating the data and running every table takes minutes). The quick tier runs the
# tables of the checks that need no data.
TABLES = [pytest.param(e, which, id=f"{e}-{label}", marks=mark)
          for e in EXERCISES if needs_data(e)
          for which, label, mark in (("A", "seed3", pytest.mark.full), ("B", "seed5", pytest.mark.extended))]
TABLES += [pytest.param(e, None, id=e) for e in EXERCISES if not needs_data(e)]


@pytest.fixture(scope="module")
def datasets(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exercise-data")
    found = {"A": Env(spark, folder / "a", seed=3, scale=0.2), "B": Env(spark, folder / "b", seed=5, scale=0.3)}
    yield found
    stop_other_ui()


def test_every_exercise_of_the_course_has_a_table_here():
    assert sorted(CASES) == sorted(EXERCISES)


@pytest.mark.parametrize("exercise_id,which", TABLES)
def test_wrong_answer_table(exercise_id, which, request, spark):
    env = other = None
    if which is not None:
        datasets = request.getfixturevalue("datasets")
        env, other = datasets[which].activate(), datasets["B" if which == "A" else "A"]
    with runtime_conf(spark, SESSION_SETTINGS.get(exercise_id, {})):
        table = CASES[exercise_id](env, other)
        if env is not None:
            env.activate()  # building the table may have read the other dataset
        assert len(table.wrong) >= 3, "at least three plausible wrong answers per exercise"
        the_hint = hint(exercise_id).text

        right = check(exercise_id, table.right.value, **table.right.evidence)
        assert right.status == PASSED, f"{env}: {right.text()}"

        unsolved = check(exercise_id, ..., **table.right.evidence)
        assert unsolved.status == NOT_ATTEMPTED and "replace the `...`" in unsolved.message
        shown = [unsolved.text()]

        for label, wrong in table.wrong.items():
            verdict = check(exercise_id, wrong.value, **wrong.evidence)
            assert verdict.status == FAILED, f"{env}, {label}: {verdict.text()}"
            assert verdict.message and verdict.message != "not the expected answer.", label
            shown.append(verdict.text())

        for answer in table.badly_typed:
            verdict = check(exercise_id, answer, **table.right.evidence)
            assert verdict.status == FAILED and "expected" in verdict.message, f"{answer!r}: {verdict.text()}"
            shown.append(verdict.text())
    assert all(the_hint not in text for text in shown), "a verdict must not show the hint"


def test_each_prompt_shows_its_example_and_the_table_tries_it():
    for exercise_id, example in PROMPT_EXAMPLES.items():
        module = course().module(exercise_id.split(".")[0])
        cells = nbformat.read(module.notebook("solutions"), as_version=4).cells
        prompts = [c.source for c in cells if c.cell_type == "markdown" and f"Exercise {exercise_id} " in c.source]
        assert prompts and f"`{example}`" in prompts[0], f"the prompt of {exercise_id} shows {example}"


def test_every_solution_notebook_checks_the_manifests_exercises_in_order():
    for module in course().available:
        solution = nbformat.read(module.notebook("solutions"), as_version=4)
        assert exercise_ids(solution) == [e.id for e in module.exercises], module.number


def test_hints_come_on_request_from_the_manifest():
    given = hint("04.1")
    assert isinstance(given, Hint) and given.text == course().exercise("04.1").hint
    assert "Hint for exercise 04.1" in repr(given) and "<div" in given._repr_html_()
    assert hint("77.7").status == ERROR


@pytest.mark.full
def test_evidence_is_asked_for_when_missing(datasets):
    datasets["A"].activate()
    verdict = check("01.3", 0.1)
    assert verdict.status == FAILED and "results=results" in verdict.message
    verdict = check("02.1", 3)
    assert verdict.status == FAILED and "query=query" in verdict.message


@pytest.mark.full
def test_a_broadcast_chosen_by_the_threshold_does_not_count(datasets, spark):
    env = datasets["A"].activate()
    with runtime_conf(spark, {"spark.sql.autoBroadcastJoinThreshold": "10m"}):
        verdict = check("03.2", env.transactions.join(F.broadcast(env.merchants), "merchant_id"))
    assert verdict.status == FAILED and "-1" in verdict.message


@pytest.mark.full
def test_the_spill_check_leaves_the_sessions_settings_as_they_were(datasets, spark):
    from exercise_cases import SMALLER_PARTITIONS

    datasets["A"].activate()
    before = {key: spark.conf.get(key) for key in SMALLER_PARTITIONS}
    assert check("03.4", SMALLER_PARTITIONS).status == PASSED
    assert {key: spark.conf.get(key) for key in SMALLER_PARTITIONS} == before


@pytest.mark.full
def test_a_load_that_raises_is_reported_not_crashed(datasets):
    datasets["A"].activate()

    def broken(batch, path):
        raise RuntimeError("disk full")

    verdict = check("05.3", broken)
    assert verdict.status == FAILED and "raised RuntimeError" in verdict.message


@pytest.mark.full
def test_salts_from_a_small_table_in_memory_are_a_right_answer_too(datasets, spark):
    env = datasets["A"].activate()
    salts = spark.createDataFrame([(i,) for i in range(8)], "salt int")
    left = env.transactions.withColumn("salt", (F.rand(seed=1) * 8).cast("int"))
    right = env.merchants.select("merchant_id", "category").crossJoin(salts)
    verdict = check("04.2", left.join(right, ["merchant_id", "salt"]).drop("salt"))
    assert verdict.status == PASSED, verdict.text()
    rows = spark.createDataFrame(env.salted_join().collect())  # the right rows, but not read from the tables
    assert check("04.2", rows).status == FAILED


@pytest.mark.full
def test_a_stale_table_is_named_as_such(datasets):
    from exercise_cases import stale_copy

    env = datasets["A"].activate()
    stale = stale_copy(env.monthly_table("by_month_for_staleness"), env.params.output_dir / "stale_named")
    verdict = check("04.3", "month", path=stale)
    assert verdict.status == FAILED and "before this Spark session started" in verdict.message
