"""The `prodspark` command as a learner, an instructor and a maintainer use it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prodspark.course import course

ROOT = Path(__file__).resolve().parents[1]


def prodspark(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "prodspark", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_environment_check_passes_here():
    result = prodspark("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ready for the course." in result.stdout


def test_bad_data_arguments_are_refused_before_spark_starts():
    for args, message in ((["--scale", "-1"], "scale must be greater than 0"),
                          (["--scale", "ten"], "scale must be a positive number"),
                          (["--seed", "-5"], "seed must be a whole number"),
                          (["--master", "mesos://h:5050"], "Mesos support was removed")):
        result = prodspark("data", *args)
        assert result.returncode == 2, args
        assert message in result.stderr, result.stderr


def test_unwritable_data_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = prodspark("data", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2 and "data_dir" in result.stderr and str(blocker) in result.stderr


def test_exercises_are_in_sync(capsys):
    from prodspark.cli import main

    assert main(["exercises", "--check"]) == 0
    assert "exercises/ matches solutions/." in capsys.readouterr().out


def test_exercises_check_reports_drift(tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(ROOT / "solutions", copy / "solutions")
    shutil.copytree(ROOT / "exercises", copy / "exercises")
    (copy / "exercises" / "00_setup_orientation.ipynb").write_text("{}")
    from prodspark.exercises.generate import sync

    assert sync(copy / "solutions", copy / "exercises", write=False) == ["00_setup_orientation.ipynb"]
    assert sync(copy / "solutions", copy / "exercises") == ["00_setup_orientation.ipynb"]
    assert sync(copy / "solutions", copy / "exercises", write=False) == []


EXERCISES = [e.id for e in course().exercises]


def total_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("total"))


@pytest.mark.full  # a few seconds: the quick tier keeps within its 3 minutes
def test_progress_of_the_committed_solutions_is_complete():
    result = prodspark("progress", "solutions")
    assert result.returncode == 0
    assert total_line(result.stdout).split()[1] == f"{len(EXERCISES)}/{len(EXERCISES)}", result.stdout
    assert result.stdout.strip().endswith("every exercise solved.")


def test_progress_of_fresh_exercises_is_zero_and_names_the_next_without_answers():
    result = prodspark("progress")
    assert result.returncode == 0
    assert total_line(result.stdout).split()[1] == f"0/{len(EXERCISES)}", result.stdout
    first = course().exercises[0]
    assert result.stdout.strip().endswith(f"next: exercise {first.id}, {first.title} (00_setup_orientation.ipynb)")
    for entry in course().exercises:
        assert entry.hint not in result.stdout


def test_a_hint_on_the_command_line():
    result = prodspark("hint", "04.1")
    assert result.returncode == 0 and course().exercise("04.1").hint in result.stdout
    unknown = prodspark("hint", "4.1")
    assert unknown.returncode == 2 and "No exercise '4.1'" in unknown.stderr


def test_dev_check_passes_here():
    result = prodspark("dev", "check")
    assert result.returncode == 0, result.stdout
    assert f"{len(EXERCISES)} exercises" in result.stdout


@pytest.mark.full  # a few seconds: the quick tier keeps within its 3 minutes
def test_grade_a_room(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "ada")
    shutil.copytree(ROOT / "exercises", tmp_path / "bob")
    result = prodspark("grade", str(tmp_path), "--csv", str(tmp_path / "grades.csv"))
    assert result.returncode == 0, result.stderr
    import pandas as pd

    table = pd.read_csv(tmp_path / "grades.csv").set_index("learner")
    assert [c for c in table.columns if c not in ("solved", "problems")] == EXERCISES
    assert (table.loc["ada", EXERCISES] == "passed").all() and table.loc["ada", "solved"] == len(EXERCISES)
    assert (table.loc["bob", EXERCISES] == "not attempted").all() and table.loc["bob", "solved"] == 0
    assert "ada" in result.stdout and "bob" in result.stdout


def test_grade_needs_a_folder(tmp_path):
    result = prodspark("grade", str(tmp_path / "missing"))
    assert result.returncode == 2 and "is not a folder" in result.stderr
