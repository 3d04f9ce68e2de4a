"""The exercise machinery: one source for exercises and solutions, checks that never raise."""

import re
from pathlib import Path

import nbformat
import pytest

from prodspark.course import ExerciseEntry, course, parse
from prodspark.exercises import Wrong, check, exercise, hint
from prodspark.exercises.core import ERROR, FAILED, METADATA_KEY, NOT_ATTEMPTED, PASSED
from prodspark.exercises.generate import MarkerError, make_exercise, render, strip_solutions, sync
from prodspark.exercises.navigation import next_steps
from prodspark.exercises.progress import exercise_ids, grade, notebook_progress, saved_verdicts

ROOT = Path(__file__).resolve().parents[1]


# --- one source: exercises/ is generated from solutions/ ------------------------------------

def test_committed_exercises_equal_the_regenerated_ones():
    stale = sync(ROOT / "solutions", ROOT / "exercises", write=False)
    assert stale == [], f"run `prodspark exercises` to regenerate: {stale}"


def test_every_exercise_notebook_ends_with_links_that_resolve():
    links = re.compile(r"\]\(([^)]+)\)")
    for module in course().available:
        learner = nbformat.read(module.notebook("exercises"), as_version=4)
        last = learner.cells[-1]
        assert last.cell_type == "markdown" and last.source.startswith("## Next"), module.notebook_name
        targets = links.findall(last.source)
        assert f"../notebooks/{module.notebook_name}" in targets, "the cell links back to the lesson"
        for target in targets:
            assert (ROOT / "exercises" / target).resolve().is_file(), f"{module.notebook_name}: {target}"


def test_the_next_step_names_a_planned_module_without_a_link_and_the_last_says_so():
    manifest = parse({"modules": [
        {"number": "00", "slug": "a", "title": "A", "summary": "", "lesson_minutes": 1,
         "exercise_minutes": 1, "status": "available", "runs_on": "local",
         "exercises": [{"id": "00.1", "title": "T", "hint": "H"}]},
        {"number": "01", "slug": "b", "title": "B", "summary": "", "lesson_minutes": 1,
         "exercise_minutes": 1, "status": "planned", "runs_on": "local"},
    ]})
    first, second = manifest.modules
    assert "Next: 01 · B, a module still being written." in next_steps(first, manifest)
    assert "01_b.ipynb" not in next_steps(first, manifest)
    assert "last module" in next_steps(second, manifest)


def test_every_solution_notebook_has_exercises_and_no_leftover_markers():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        assert exercise_ids(solution), f"{path.name} checks no exercise"
        learner = (ROOT / "exercises" / path.name).read_text()
        assert "BEGIN SOLUTION" not in learner and "END SOLUTION" not in learner


def test_committed_exercises_have_no_outputs():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_stub_keeps_the_names_the_rest_of_the_notebook_uses():
    source = "x = 1\n### BEGIN SOLUTION\nhelper = 2\nanswer = helper * x\n### END SOLUTION\ncheck('00.1', answer)"
    stripped = strip_solutions(source, code_elsewhere="")
    assert stripped == "x = 1\n# TODO: your code here\nanswer = ...\ncheck('00.1', answer)"


def test_stub_keeps_indentation_and_names_used_in_later_cells():
    source = "def f():\n    ### BEGIN SOLUTION\n    total = 3\n    ### END SOLUTION\n    return total"
    assert strip_solutions(source, "") == "def f():\n    # TODO: your code here\n    total = ...\n    return total"
    assert strip_solutions("### BEGIN SOLUTION\nlater = 1\n### END SOLUTION", "print(later)") == \
        "# TODO: your code here\nlater = ..."


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",
    "x = 1\n### END SOLUTION",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_malformed_markers_are_reported(source):
    with pytest.raises(MarkerError):
        strip_solutions(source, "")


def test_make_exercise_drops_solution_only_cells_and_outputs():
    kernel = {"name": "production-spark", "display_name": "Production Spark"}
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": kernel, "papermill": {}})
    notebook.cells = [
        nbformat.v4.new_markdown_cell("discussion", metadata={"tags": ["solution-only"]}),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\na = 1\n### END SOLUTION\ncheck('00.1', a)",
                                  outputs=[nbformat.v4.new_output("stream", text="hi")], execution_count=3),
    ]
    learner = make_exercise(notebook)
    assert [c.cell_type for c in learner.cells] == ["code"]
    assert learner.cells[0].outputs == [] and learner.cells[0].execution_count is None
    assert "a = ..." in learner.cells[0].source
    assert "papermill" not in learner.metadata
    assert render(learner) == render(make_exercise(notebook)), "generation must be deterministic"


# --- checks: a verdict, never a traceback -----------------------------------------------------

@exercise("99.1", expects=int, needs_spark=False,
          entry=ExerciseEntry("99.1", "a test exercise", "think of the answer to everything", "99"))
def _answer_is_42(answer, ctx):
    if answer == 13:
        raise ZeroDivisionError("the check itself broke")
    if answer != 42:
        raise Wrong(f"{answer} is not it.")
    return "well done."


def test_verdicts_for_each_kind_of_answer():
    assert check("99.1", 42).status == PASSED
    assert check("99.1", ...).status == NOT_ATTEMPTED
    wrong = check("99.1", 7)
    assert wrong.status == FAILED and "7 is not it" in wrong.message
    assert "think of" not in wrong.text() and 'hint("99.1")' in wrong.text(), "the hint comes on request"
    unsolved = check("99.1", ...)
    assert unsolved.text() == ("⏳ Exercise 99.1 not attempted: replace the `...` under `# TODO` with your answer: "
                               "a int.")
    typed = check("99.1", "42")
    assert typed.status == FAILED and "expected a int, got str '42'" in typed.message
    assert check("99.1", True).status == FAILED, "a bool is not an acceptable int answer"
    broken = check("99.1", 13)
    assert broken.status == ERROR and "ZeroDivisionError" in broken.message


def test_a_hint_is_shown_only_when_asked_for():
    given = hint("99.1")
    assert repr(given) == "💡 Hint for exercise 99.1 (a test exercise): think of the answer to everything"
    for verdict in (check("99.1", 42), check("99.1", 7), check("99.1", ...), check("99.1", "x")):
        assert "think of" not in verdict.text() and "think of" not in verdict._repr_mimebundle_()[0]["text/html"]


def test_unknown_exercise_is_a_verdict():
    verdict = check("77.7", 1)
    assert verdict.status == ERROR and "No exercise '77.7'" in verdict.message
    assert check(None, 1).status == ERROR


def test_verdict_is_saved_in_output_metadata():
    data, metadata = check("99.1", 42)._repr_mimebundle_()
    assert data["text/plain"].startswith("✅ Exercise 99.1 passed")
    assert "<div" in data["text/html"]
    assert metadata == {METADATA_KEY: {"exercise": "99.1", "status": PASSED}}


# --- progress and grading ----------------------------------------------------------------------

def _notebook_with_verdicts(path: Path, verdicts: dict):
    notebook = nbformat.v4.new_notebook()
    for exercise_id, status in verdicts.items():
        cell = nbformat.v4.new_code_cell(f"check('{exercise_id}', answer)")
        if status:
            cell.outputs = [nbformat.v4.new_output(
                "display_data", data={"text/plain": status},
                metadata={METADATA_KEY: {"exercise": exercise_id, "status": status}})]
        notebook.cells.append(cell)
    nbformat.write(notebook, path)


def test_progress_reads_saved_verdicts(tmp_path):
    path = tmp_path / "01_x.ipynb"
    _notebook_with_verdicts(path, {"01.1": PASSED, "01.2": FAILED, "01.3": None})
    result = notebook_progress(path)
    assert result.statuses == {"01.1": PASSED, "01.2": FAILED, "01.3": None}
    assert result.solved == 1
    assert saved_verdicts(nbformat.read(path, as_version=4)) == {"01.1": PASSED, "01.2": FAILED}


def test_grade_builds_a_table_per_learner(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "bob").mkdir()
    _notebook_with_verdicts(tmp_path / "ada" / "01_x.ipynb", {"01.1": PASSED, "01.2": PASSED})
    _notebook_with_verdicts(tmp_path / "bob" / "01_x.ipynb", {"01.1": FAILED, "01.2": None})
    table = grade(tmp_path).set_index("learner")
    assert table.loc["ada", "solved"] == 2 and table.loc["bob", "solved"] == 0
    assert table.loc["bob", "01.1"] == FAILED and table.loc["bob", "01.2"] == NOT_ATTEMPTED


def test_a_name_in_a_comment_or_string_does_not_keep_a_helper_variable():
    source = "### BEGIN SOLUTION\nruns = [1]\nanswer = len(runs)\n### END SOLUTION\ncheck('01.1', answer)"
    elsewhere = "master = 'local'  # where Spark runs\nprint('runs')\nprint(f'{answer}')"
    assert strip_solutions(source, elsewhere) == "# TODO: your code here\nanswer = ...\ncheck('01.1', answer)"


def test_missing_evidence_is_a_wrong_answer_that_says_how_to_pass_it():
    from prodspark.exercises.core import Context, Wrong

    context = Context(spark=None, params=None, evidence={"path": "t"})
    assert context.require("path", "the table's folder") == "t"
    with pytest.raises(Wrong, match=r"pass the query too: check\(\.\.\., query=query\)\."):
        context.require("query", "the query")
    with pytest.raises(Wrong, match=r"check\(\.\.\., path=\.\.\.\)"):
        Context(spark=None, params=None).require("path", "the table's folder", example="...")


def test_a_broken_manifest_is_a_verdict_not_a_traceback(monkeypatch):
    import prodspark.course as course_module

    def broken():
        raise course_module.ManifestError("course.toml is not valid TOML: line 3")

    monkeypatch.setattr(course_module, "course", broken)
    for verdict in (check("42.1", 1), hint("42.1")):
        assert verdict.status == ERROR and "course.toml is not valid TOML" in verdict.message
