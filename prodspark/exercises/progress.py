"""Which exercises does a notebook solve? For a learner, and for a room of learners.

A check's verdict is saved in the notebook with its output (see ``core.METADATA_KEY``), so
progress is read from notebooks as they were last run and saved, without running anything.
With ``execute=True`` the notebooks are first run top to bottom (papermill), which is what
an instructor wants when grading submitted files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from prodspark.exercises.core import METADATA_KEY, NOT_ATTEMPTED, PASSED

_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d{2}\.\d+)["']""")
SYMBOLS = {PASSED: "✓", NOT_ATTEMPTED: "·", None: "·"}


@dataclass
class NotebookProgress:
    notebook: str
    statuses: dict[str, str | None]  # exercise id -> last verdict status (None: never checked)
    problem: str = ""  # e.g. the cell where an executed notebook stopped

    @property
    def solved(self) -> int:
        return sum(status == PASSED for status in self.statuses.values())


def exercise_ids(notebook: nbformat.NotebookNode) -> list[str]:
    """Exercise ids in the order the notebook checks them."""
    ids: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for found in _CHECK_CALL.findall(cell.source):
                if found not in ids:
                    ids.append(found)
    return ids


def saved_verdicts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            saved = output.get("metadata", {}).get(METADATA_KEY)
            if saved:
                verdicts[saved["exercise"]] = saved["status"]
    return verdicts


def notebook_progress(path: Path, execute: bool = False, timeout: int = 600) -> NotebookProgress:
    notebook = nbformat.read(path, as_version=4)
    problem = ""
    if execute:
        notebook, problem = _execute(path, timeout)
    found = saved_verdicts(notebook)
    statuses = {exercise: found.get(exercise) for exercise in exercise_ids(notebook)}
    return NotebookProgress(path.name, statuses, problem)


def _execute(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, str]:
    from prodspark.runner import run_copy

    run = run_copy(path, timeout=timeout)  # a learner's notebook may fail: grade what ran
    problem = f"stopped: {run.error}" if run.error else ""
    if run.notebook is None:
        return nbformat.read(path, as_version=4), problem or "did not run"
    return run.notebook, problem


def folder_progress(folder: Path, execute: bool = False) -> list[NotebookProgress]:
    return [notebook_progress(p, execute) for p in sorted(folder.glob("*.ipynb"))]


def format_progress(results: list[NotebookProgress]) -> str:
    """Per notebook, which exercises are solved; then the first unsolved one, by its title.

    It shows statuses and titles only: never an answer, a hint or a check's message.
    """
    from prodspark.course import course

    titles = {e.id: e.title for e in course().exercises}
    lines = []
    total = solved = 0
    upcoming = None
    for result in results:
        total += len(result.statuses)
        solved += result.solved
        marks = "  ".join(f"{SYMBOLS.get(s, '✗')} {e}" for e, s in result.statuses.items())
        lines.append(f"{result.notebook:<40} {result.solved}/{len(result.statuses)}  {marks}")
        if result.problem:
            lines.append(f"    {result.problem}")
        if upcoming is None:
            upcoming = next(((e, result.notebook) for e, s in result.statuses.items() if s != PASSED), None)
    lines.append(f"{'total':<40} {solved}/{total} exercises solved   (✓ passed, ✗ not yet, · not attempted)")
    if upcoming:
        exercise_id, notebook = upcoming
        lines.append(f"next: exercise {exercise_id}, {titles.get(exercise_id, '')} ({notebook})")
    elif total:
        lines.append("every exercise solved.")
    return "\n".join(lines)


def grade(submissions: Path, execute: bool = False):
    """A table (pandas DataFrame): one row per learner (a sub-folder), one column per exercise.

    Cells hold the verdict status; ``solved`` counts passed exercises. Learners' notebooks
    are matched by file name, so a learner who renamed a notebook shows its exercises too.
    """
    import pandas as pd

    rows = []
    for learner in sorted(p for p in submissions.iterdir() if p.is_dir()):
        row: dict[str, object] = {"learner": learner.name}
        problems = []
        for result in folder_progress(learner, execute):
            row.update({e: s or NOT_ATTEMPTED for e, s in result.statuses.items()})
            if result.problem:
                problems.append(f"{result.notebook}: {result.problem}")
        row["solved"] = sum(v == PASSED for k, v in row.items() if k not in ("learner",))
        row["problems"] = "; ".join(problems)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    exercise_columns = sorted(c for c in table.columns if re.fullmatch(r"\d{2}\.\d+", c))
    table = table[["learner", *exercise_columns, "solved", "problems"]]
    table[exercise_columns] = table[exercise_columns].fillna("missing")
    return table
