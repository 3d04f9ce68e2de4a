"""What every notebook must have, so each module can copy the same skeleton."""

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from prodspark.course import FOLDERS, ManifestError, course, module_table, parse, readme_with_table
from prodspark.devcheck import check_course

ROOT = Path(__file__).resolve().parents[1]
LESSONS = course().notebooks("notebooks")
SOLUTIONS = course().notebooks("solutions")
REQUIRED_PARAMETERS = ("scale", "seed", "master", "data_dir", "output_dir")


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_each_folder_holds_exactly_the_available_modules_notebooks():
    expected = [m.notebook_name for m in course().available]
    assert len(expected) >= 6
    for folder in FOLDERS:
        assert sorted(p.name for p in (ROOT / folder).glob("*.ipynb")) == expected, folder


def test_the_course_agrees_with_its_manifest():
    assert check_course() == []


@pytest.fixture
def copy_of_the_course(tmp_path):
    for name in ("course.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "exercise_cases.py", tmp_path / "tests" / "exercise_cases.py")
    assert check_course(tmp_path) == []
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_dev_check_finds_a_missing_and_a_stray_notebook(copy_of_the_course):
    root = copy_of_the_course
    (root / "exercises" / "03_memory_and_resources.ipynb").unlink()
    planned = next(m for m in course().modules if m.status == "planned")
    stray = f"notebooks/{planned.notebook_name}"
    shutil.copy(root / "notebooks" / "00_setup_orientation.ipynb", root / stray)
    problems = "\n".join(check_course(root))
    assert "exercises/03_memory_and_resources.ipynb is missing" in problems
    assert f"{stray} should not be there: its module is planned" in problems


def test_dev_check_finds_an_exercise_without_a_check_a_case_or_a_prompt(copy_of_the_course):
    root = copy_of_the_course
    edit(root / "course.toml", '[[modules]]\nnumber = "01"',
         '[[modules.exercises]]\nid = "00.4"\ntitle = "New"\nhint = "Think."\n\n[[modules]]\nnumber = "01"')
    problems = "\n".join(check_course(root))
    assert "exercise 00.4 has no check" in problems
    assert "exercise 00.4 has no table of wrong answers" in problems
    assert "checks 00.1, 00.2, 00.3; course.toml lists 00.1, 00.2, 00.3, 00.4" in problems
    assert "no prompt headed 'Exercise 00.4" in problems


def test_dev_check_finds_a_hint_that_gives_the_answer_away(copy_of_the_course):
    root = copy_of_the_course
    edit(root / "course.toml", 'hint = "Every DataFrame can tell',
         'hint = "Write n_transactions = transactions.count(). Every DataFrame can tell')
    assert any("hint of exercise 00.1 gives the solution away: 'n_transactions = transactions.count()'" in p
               for p in check_course(root))


def test_dev_check_finds_a_stale_readme_table_and_stale_exercises(copy_of_the_course):
    root = copy_of_the_course
    edit(root / "README.md", "| 15 min |", "| 16 min |")
    edit(root / "exercises" / "00_setup_orientation.ipynb", "Count the transactions", "Count them")
    problems = "\n".join(check_course(root))
    assert "README.md's module table differs from course.toml" in problems
    assert "exercises/ is out of date (00_setup_orientation.ipynb)" in problems


def test_the_readme_table_is_generated_from_the_manifest():
    readme = (ROOT / "README.md").read_text()
    assert module_table(course()) in readme and readme_with_table(readme, course()) == readme
    for m in course().modules:
        assert f"| {m.number} | " in readme


@pytest.mark.parametrize("data,message", [
    ({}, "lists no modules"),
    ({"modules": [{"number": "1"}]}, "two digits"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "ready", "runs_on": "local"}]}, "status = 'ready'"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 0, "exercise_minutes": 1,
                   "status": "planned", "runs_on": "local"}]}, "lesson_minutes"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "available", "runs_on": "local",
                   "exercises": [{"id": "00.1", "title": "t", "hint": "h"},
                                 {"id": "00.1", "title": "t", "hint": "h"}]}]},
     "listed twice"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "available", "runs_on": "local",
                   "exercises": [{"id": "01.1", "title": "t", "hint": "h"}]}]},
     "ids read 00.1"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "available", "runs_on": "local",
                   "exercises": [{"id": "00.1", "title": "t", "hint": " "}]}]},
     "non-empty text 'hint'"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "planned", "runs_on": "local", "uses": ["grafana"]}]},
     "uses = ['grafana']; use a list of prometheus"),
    ({"modules": [{"number": "00", "slug": "a", "title": "A", "lesson_minutes": 1, "exercise_minutes": 1,
                   "status": "planned", "runs_on": "local", "uses": "prometheus"}]},
     "uses = 'prometheus'"),
])
def test_a_bad_manifest_is_refused_with_a_message_naming_the_entry(data, message):
    with pytest.raises(ManifestError, match=re.escape(message)):
        parse(data)


def test_the_notebooks_that_use_prometheus_are_the_ones_that_start_it():
    for m in course().available:
        lesson = (ROOT / "notebooks" / m.notebook_name).read_text()
        assert ("prometheus.start_prometheus" in lesson) == ("prometheus" in m.uses), m.number


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_skeleton(path):
    assert re.fullmatch(r"\d{2}_[a-z0-9_]+\.ipynb", path.name)
    notebook = read(path)
    assert notebook.metadata["kernelspec"]["name"] == "production-spark"
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith(f"# {path.name[:2]} ·")
    first_code = code_cells(notebook)[0]
    assert "parameters" in first_code.metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    for name in REQUIRED_PARAMETERS:
        assert re.search(rf"^{name} = ", first_code.source, re.MULTILINE), f"parameter {name} missing"
    assert any("check_parameters(" in c.source for c in code_cells(notebook))
    last = code_cells(notebook)[-1].source.strip()
    assert last in ("spark.stop()", "release_cluster(spark, started_cluster_here)"), \
        "end by stopping Spark (frees the UI port), and the cluster the notebook started"


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_with_outputs_and_without_errors(path):
    cells = code_cells(read(path))
    assert any(c.outputs for c in cells), "commit lessons and solutions with their outputs (nbval compares them)"
    for cell in cells:
        assert all(o.output_type != "error" for o in cell.outputs), cell.source[:80]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lessons_open_with_objectives_and_close_with_a_recap(path):
    markdown = [c.source for c in read(path).cells if c.cell_type == "markdown"]
    assert "**In this lesson you will**" in markdown[0]
    assert any(m.startswith("## Recap") or "\n## Recap" in m for m in markdown)
