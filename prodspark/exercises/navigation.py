"""The "Next" cell at the end of each exercise notebook, written from course.toml.

The cell links back to the module's lesson, says how to see one's progress, and points
to the next module: its lesson and exercises when it is available, its title alone while
it is still planned. Written from the manifest, it cannot point at a notebook that does
not exist.
"""

from __future__ import annotations

import nbformat

from prodspark.course import Course, Module

CELL_ID = "next-steps"


def _link(module: Module, folder: str) -> str:
    return f"[{module.number} · {module.title}](../{folder}/{module.notebook_name})"


def next_steps(module: Module, course: Course) -> str:
    """The markdown of the cell that closes ``module``'s exercise notebook."""
    lines = [
        "## Next",
        "",
        f"- Back to the lesson: {_link(module, 'notebooks')}.",
        "- Your verdicts for every module at once: save this notebook, then run"
        " `.venv/bin/prodspark progress` in a terminal, in the course's folder.",
    ]
    later = [m for m in course.modules if m.number > module.number]
    if not later:
        lines.append("- This was the course's last module.")
    elif later[0].available:
        following = later[0]
        lines.append(f"- Next lesson: {_link(following, 'notebooks')}, then its"
                     f" [exercises](../exercises/{following.notebook_name}).")
    else:
        lines.append(f"- Next: {later[0].number} · {later[0].title}, a module still being written.")
    return "\n".join(lines)


def next_steps_cell(module: Module, course: Course) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(next_steps(module, course))
    cell.id = CELL_ID
    return cell


def module_of(notebook_name: str, course: Course) -> Module | None:
    """The module whose notebooks are called ``notebook_name``, if the manifest has one."""
    return next((m for m in course.modules if m.notebook_name == notebook_name), None)
