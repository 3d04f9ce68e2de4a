"""Notebooks run end to end with papermill, as a learner's "Run All" or a scheduled job would.

nbval (see run-tests.sh) re-executes lessons and solutions with their default parameters and
compares every output with the committed one. These tests add what nbval cannot see:
- every lesson also runs with a second parameter set (another seed and scale);
- the modules about clusters (02, 03) run their lesson and their solutions, with the second
  parameter set, on a real standalone cluster started by the `standalone_cluster` fixture,
  and every solution's checks pass there. (The checks of the other modules are run at another
  seed and scale by tests/test_exercise_checks.py, which costs no notebook run.)
- every exercise notebook, unsolved, runs to its end and passes none of its checks;
- a bad parameter stops a notebook at once, with a one-line message naming it.
"""

from pathlib import Path

import nbformat
import papermill
import pytest

from prodspark.exercises.core import NOT_ATTEMPTED, PASSED
from prodspark.exercises.progress import exercise_ids, saved_verdicts

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
SECOND_PARAMETERS = {"scale": 0.5, "seed": 7}


def label(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture(scope="session")
def second_data_dir(tmp_path_factory) -> Path:
    """Generated once for the second parameter set, shared by all notebooks that use it."""
    return tmp_path_factory.mktemp("second-parameter-set-data")


def run(path: Path, output: Path, **parameters) -> nbformat.NotebookNode:
    papermill.execute_notebook(str(path), str(output), parameters=parameters, cwd=str(path.parent),
                               progress_bar=False, log_output=False)
    return nbformat.read(output, as_version=4)


CLUSTER_MODULES = ("02", "03")  # run on the standalone cluster as well as locally


def on_cluster(path: Path) -> bool:
    return path.name[:2] in CLUSTER_MODULES


@pytest.mark.full
@pytest.mark.parametrize("path", [p for p in LESSONS if not on_cluster(p)], ids=label)
def test_lesson_runs_with_another_seed_and_scale(path, second_data_dir, tmp_path):
    run(path, tmp_path / path.name, **SECOND_PARAMETERS,
        data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))


@pytest.mark.full
@pytest.mark.parametrize("path", [p for p in LESSONS + SOLUTIONS if on_cluster(p)], ids=label)
def test_runs_on_a_standalone_cluster(path, standalone_cluster, second_data_dir, tmp_path):
    executed = run(path, tmp_path / path.name, **SECOND_PARAMETERS, master=standalone_cluster.master_url,
                   data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))
    if path in SOLUTIONS:
        verdicts = saved_verdicts(executed)
        ids = exercise_ids(executed)
        assert ids and {e: verdicts.get(e) for e in ids} == {e: PASSED for e in ids}


@pytest.mark.full
@pytest.mark.parametrize("path", EXERCISES, ids=label)
def test_unsolved_exercises_run_to_the_end_and_pass_nothing(path, second_data_dir, tmp_path):
    executed = run(path, tmp_path / path.name, **SECOND_PARAMETERS,
                   data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))
    verdicts = saved_verdicts(executed)
    ids = exercise_ids(executed)
    assert ids and {e: verdicts.get(e) for e in ids} == {e: NOT_ATTEMPTED for e in ids}


@pytest.mark.parametrize("value,message", [
    (-1, "scale must be greater than 0"),
    ("abc", "scale must be a positive number such as 1 or 0.5, got 'abc' (str)"),
])
def test_bad_parameter_stops_the_notebook_with_its_name(value, message, tmp_path):
    lesson = ROOT / "notebooks" / "00_setup_orientation.ipynb"
    output = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run(lesson, output, scale=value)
    assert error.value.ename == "ParameterError"
    assert message in error.value.evalue
    failed = [o for c in nbformat.read(output, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert len(failed) == 1 and len(failed[0]["traceback"]) == 1, "one short message, not a traceback"
