"""Time notebooks end to end: how long each takes, and how much of that is start-up.

    prodspark benchmark notebooks/*.ipynb solutions/*.ipynb

Each notebook runs with papermill in a fresh kernel (as a learner's "Run All" does). The
report splits its wall time into start-up (kernel start, plus every cell up to and
including the one that starts Spark) and the work beyond it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from prodspark.paths import display_path


@dataclass
class NotebookTiming:
    notebook: str
    total: float
    startup: float
    error: str = ""

    @property
    def beyond_startup(self) -> float:
        return self.total - self.startup


def split_startup(notebook: nbformat.NotebookNode, wall_seconds: float) -> float:
    """Seconds before the lesson's own work: kernel start plus cells up to start_spark."""
    durations = [(c.source, c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
                 for c in notebook.cells if c.cell_type == "code"]
    kernel_start = wall_seconds - sum(d for _, d in durations)
    startup = max(kernel_start, 0.0)
    for source, duration in durations:
        startup += duration
        if "start_spark(" in source:
            return startup
    return max(kernel_start, 0.0)


def time_notebook(path: Path, parameters: dict | None = None) -> NotebookTiming:
    from prodspark.runner import run_copy

    run = run_copy(path, parameters)
    executed = run.notebook or nbformat.v4.new_notebook()
    return NotebookTiming(display_path(path), run.seconds, split_startup(executed, run.seconds), run.error)


def format_table(timings: list[NotebookTiming]) -> str:
    width = max([len(t.notebook) for t in timings] + [8])
    lines = [f"{'notebook':<{width}}  {'total':>8}  {'start-up':>8}  {'beyond':>8}",
             "-" * (width + 32)]
    for t in timings:
        lines.append(f"{t.notebook:<{width}}  {t.total:>7.1f}s  {t.startup:>7.1f}s  {t.beyond_startup:>7.1f}s"
                     + (f"  FAILED {t.error}" if t.error else ""))
    lines.append(f"{'all':<{width}}  {sum(t.total for t in timings):>7.1f}s")
    lines.append(f"(start-up: kernel start and every cell up to the one that starts Spark; "
                 f"measured {time.strftime('%Y-%m-%d %H:%M')})")
    return "\n".join(lines)
