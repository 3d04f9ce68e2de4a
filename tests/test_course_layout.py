"""What every notebook must have, so each module can copy the same skeleton."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
REQUIRED_PARAMETERS = ("scale", "seed", "master", "data_dir", "output_dir")


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_modules_00_and_01_exist_in_all_three_folders():
    for folder in ("notebooks", "solutions", "exercises"):
        names = [p.name for p in sorted((ROOT / folder).glob("*.ipynb"))]
        assert names[:2] == ["00_setup_orientation.ipynb", "01_when_spark_is_worth_it.ipynb"], folder


def test_every_solution_has_its_lesson():
    assert {p.name for p in SOLUTIONS} <= {p.name for p in LESSONS}


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
