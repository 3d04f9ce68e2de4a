"""Notebooks run end to end with papermill, as a learner's "Run All" or a scheduled job would.

nbval (see run-tests.sh) re-executes lessons and solutions with their default parameters and
compares every output with the committed one. These tests add what nbval cannot see:
- (extended tier) every lesson also runs with a second parameter set (another seed and scale);
  from module 02 on, it runs on a real standalone cluster started by the `standalone_cluster`
  fixture; the solutions of module 03, whose checks read executors' memory, run there too
  and must pass;
  (The checks of every module are run at another seed and scale, right and wrong, by
  tests/test_exercise_checks.py, which costs no notebook run.)
- an exercise notebook differs from its solution only in its stubs: no cell outside the
  stubs uses a stubbed answer except to pass it to check(...), which says "not attempted"
  for ... (tests/test_exercise_checks.py); one unsolved notebook is run to prove it;
- a bad parameter stops a notebook at once, with a one-line message naming it.
"""

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from prodspark.course import course
from prodspark.devcheck import solution_blocks
from prodspark.exercises.core import NOT_ATTEMPTED, PASSED
from prodspark.exercises.generate import STUB_COMMENT
from prodspark.exercises.progress import exercise_ids, saved_verdicts

ROOT = Path(__file__).resolve().parents[1]
COURSE = course()
LESSONS = COURSE.notebooks("notebooks")
EXERCISES = COURSE.notebooks("exercises")
# Where the extended tier runs each lesson again (course.toml's runs_on): lessons about one
# machine locally, the others on the course's standalone cluster, where the solutions of
# modules with cluster_checks (checks that read executors' memory) run too and must pass.
LOCAL_LESSONS = COURSE.notebooks("notebooks", where="local")
CLUSTER_LESSONS = COURSE.notebooks("notebooks", where="cluster")
CLUSTER_SOLUTIONS = [m.notebook("solutions") for m in COURSE.available if m.cluster_checks]
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


@pytest.mark.extended
@pytest.mark.parametrize("path", LOCAL_LESSONS, ids=label)
def test_lesson_runs_with_another_seed_and_scale(path, second_data_dir, tmp_path):
    run(path, tmp_path / path.name, **SECOND_PARAMETERS,
        data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))


@pytest.mark.extended
@pytest.mark.parametrize("path", CLUSTER_LESSONS + CLUSTER_SOLUTIONS, ids=label)
def test_runs_on_a_standalone_cluster_with_another_seed_and_scale(path, standalone_cluster, second_data_dir,
                                                                  tmp_path):
    executed = run(path, tmp_path / path.name, **SECOND_PARAMETERS, master=standalone_cluster.master_url,
                   data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))
    if path in CLUSTER_SOLUTIONS:
        verdicts = saved_verdicts(executed)
        ids = exercise_ids(executed)
        assert ids and {e: verdicts.get(e) for e in ids} == {e: PASSED for e in ids}


def stubbed_names(notebook: nbformat.NotebookNode) -> set[str]:
    """The answers an exercise notebook leaves to the learner: `name = ...` after a TODO line."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type == "code" and STUB_COMMENT in cell.source:
            for node in ast.parse(cell.source).body:
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                        and node.value.value is Ellipsis):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def uses_outside_check(source: str, names: set[str]) -> list[str]:
    """Where code reads one of `names` other than as an argument of a check(...) call."""
    tree = ast.parse(source)
    passed_to_check = {id(arg) for node in ast.walk(tree)
                       if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"
                       for arg in [*node.args, *(k.value for k in node.keywords)]}
    return [f"line {node.lineno}: {node.id}" for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names
            and id(node) not in passed_to_check]


@pytest.mark.parametrize("path", EXERCISES, ids=label)
def test_an_unsolved_exercise_passes_its_answers_only_to_checks(path):
    notebook = nbformat.read(path, as_version=4)
    names = stubbed_names(notebook)
    assert names, f"{label(path)} has no answer left to the learner"
    misuses = {cell.get("id"): found for cell in notebook.cells if cell.cell_type == "code"
               for found in [uses_outside_check(cell.source, names)] if found}
    assert not misuses, f"cells use a stubbed answer (left as ...) outside check(...): {misuses}"


def test_the_stub_check_catches_a_misused_answer():
    assert uses_outside_check("total = answer + 1\ncheck('00.1', answer)", {"answer"}) == ["line 1: answer"]
    assert uses_outside_check("check('00.1', answer, path=where)", {"answer", "where"}) == []


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed or displayed, as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for data in output.get("data", {}).values():
                parts.append(data if isinstance(data, str) else str(data))
    return "\n".join(parts)


def answer_fragments(module) -> list[str]:
    """What would give the module's answers away: its hints and the lines of its solutions."""
    solution = nbformat.read(module.notebook("solutions"), as_version=4)
    lines = [line.strip() for block in solution_blocks(solution).values() for line in block]
    return [e.hint for e in module.exercises] + [line for line in lines if len(line) >= 12
                                                 and not line.startswith(("#", "import ", "from "))]


@pytest.mark.full
def test_an_unsolved_exercise_notebook_runs_to_the_end_passes_nothing_and_prints_no_answer(second_data_dir,
                                                                                           tmp_path):
    module = COURSE.module("00")
    path = module.notebook("exercises")
    executed = run(path, tmp_path / path.name, **SECOND_PARAMETERS,
                   data_dir=str(second_data_dir), output_dir=str(tmp_path / "output"))
    verdicts = saved_verdicts(executed)
    ids = exercise_ids(executed)
    assert ids == [e.id for e in module.exercises]
    assert {e: verdicts.get(e) for e in ids} == {e: NOT_ATTEMPTED for e in ids}
    shown = output_text(executed)
    assert "replace the `...`" in shown
    leaked = [fragment for fragment in answer_fragments(module) if fragment in shown]
    assert not leaked, f"the unsolved notebook prints what gives an answer away: {leaked}"


def test_the_answer_fragments_are_found_in_a_solved_notebook():
    module = COURSE.module("00")
    fragments = answer_fragments(module)
    assert len(fragments) >= len(module.exercises) + 3
    solved_source = "\n".join(c.source for c in nbformat.read(module.notebook("solutions"), as_version=4).cells)
    assert all(fragment in solved_source for fragment in fragments[len(module.exercises):])


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
