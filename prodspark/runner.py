"""Run a copy of a notebook top to bottom with papermill, as a learner's "Run All" would.

Used to grade submissions and to benchmark lessons: the notebook itself is never modified,
and a failing notebook still returns what ran before the failure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from prodspark.timing import Timer


@dataclass
class NotebookRun:
    notebook: nbformat.NotebookNode | None  # the executed copy; None if it did not start
    error: str  # "" when every cell ran, else the error's type and last line
    seconds: float


def run_copy(path: Path, parameters: dict | None = None, timeout: int | None = None) -> NotebookRun:
    import papermill

    with tempfile.TemporaryDirectory(prefix="prodspark-run-") as scratch:
        output = Path(scratch) / path.name
        error = ""
        with Timer() as wall:
            try:
                papermill.execute_notebook(str(path), str(output), parameters=parameters or {},
                                           cwd=str(path.parent), progress_bar=False,
                                           request_save_on_cell_execute=False,
                                           execution_timeout=timeout, log_output=False)
            except Exception as exc:  # a failing notebook is a result, not a crash
                error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200]}"
        executed = nbformat.read(output, as_version=4) if output.exists() else None
        return NotebookRun(executed, error, wall.seconds)
