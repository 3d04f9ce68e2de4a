"""Make the learners' exercise notebooks from the solved ones (one source of truth).

In ``solutions/``, each answer sits between two marker lines::

    ### BEGIN SOLUTION
    n_transactions = spark.read.parquet(path).count()
    ### END SOLUTION

In the generated ``exercises/`` notebook, the lines between the markers become a TODO
stub that leaves every name the rest of the notebook uses set to ``...``, so the
notebook still runs from top to bottom and each check reports "not attempted"::

    # TODO: your code here
    n_transactions = ...

Cells tagged ``solution-only`` (discussion of the answer) are left out; all outputs are
removed; a "Next" cell written from course.toml closes the notebook (``navigation``).
``prodspark exercises`` rewrites exercises/; ``--check`` only reports drift.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import nbformat

from prodspark.course import Course, course
from prodspark.exercises.navigation import module_of, next_steps_cell

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_ONLY = "solution-only"
STUB_COMMENT = "# TODO: your code here"


class MarkerError(ValueError):
    """A solution block is malformed (unbalanced or nested markers)."""


def _blocks(lines: list[str], where: str) -> list[tuple[int, int]]:
    blocks, start = [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise MarkerError(f"{where}: nested {BEGIN!r} at line {number + 1}")
            start = number
        elif marker == END:
            if start is None:
                raise MarkerError(f"{where}: {END!r} without {BEGIN!r} at line {number + 1}")
            blocks.append((start, number))
            start = None
    if start is not None:
        raise MarkerError(f"{where}: {BEGIN!r} at line {start + 1} is never closed")
    return blocks


def assigned_names(code: str) -> list[str]:
    """Names bound at the top level of a code block, in order of first binding."""
    import textwrap

    tree = ast.parse(textwrap.dedent(code))
    names: list[str] = []

    def add(target):
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add(element)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                add(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in names:
            names.append(node.name)
    return names


def names_used(code: str) -> set[str]:
    """Identifiers in code, ignoring comments and plain strings (but not f-string fields)."""
    names: set[str] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.NAME:
                names.add(token.string)
            elif token.type == tokenize.STRING and re.match(r"[rRbB]*[fF]", token.string):
                names.update(re.findall(r"[A-Za-z_]\w*", token.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        names.update(re.findall(r"[A-Za-z_]\w*", re.sub(r"#.*", "", code)))
    return names


def strip_solutions(source: str, code_elsewhere: str, where: str = "cell") -> str:
    """Replace each solution block of a cell by its stub."""
    lines = source.split("\n")
    blocks = _blocks(lines, where)
    for start, end in reversed(blocks):
        indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
        body = "\n".join(lines[start + 1:end])
        outside = "\n".join(lines[:start] + lines[end + 1:]) + "\n" + code_elsewhere
        elsewhere = names_used(outside)
        used = [name for name in assigned_names(body) if name in elsewhere]
        stub = [indent + STUB_COMMENT] + [f"{indent}{name} = ..." for name in used]
        lines[start:end + 1] = stub
    return "\n".join(lines)


def has_solution(source: str) -> bool:
    return any(line.strip() == BEGIN for line in source.split("\n"))


def make_exercise(solution: nbformat.NotebookNode, where: str = "notebook",
                  closing: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The learner's version of a solved notebook, ending with ``closing`` when one is given."""
    exercise = nbformat.v4.new_notebook(metadata=_clean_metadata(solution.metadata))
    kept = [c for c in solution.cells if SOLUTION_ONLY not in c.get("metadata", {}).get("tags", [])]
    code_cells = [c.source for c in kept if c.cell_type == "code"]
    for cell in kept:
        new = nbformat.from_dict({k: v for k, v in cell.items() if k not in ("outputs", "execution_count")})
        new.metadata = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags", "editable")}
        if cell.cell_type == "code":
            new.outputs = []
            new.execution_count = None
            if has_solution(cell.source):
                elsewhere = "\n".join(s for s in code_cells if s is not cell.source)
                new.source = strip_solutions(cell.source, elsewhere, f"{where} cell {cell.get('id')}")
        exercise.cells.append(new)
    if closing is not None:
        exercise.cells.append(closing)
    return exercise


def _clean_metadata(metadata) -> dict:
    """The kernel to run, and the language's name: nothing an execution of the solution changes."""
    clean = {"kernelspec": metadata["kernelspec"]} if "kernelspec" in metadata else {}
    if "language_info" in metadata:
        clean["language_info"] = {"name": metadata["language_info"].get("name", "python")}
    return clean


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def sync(solutions_dir: Path, exercises_dir: Path, write: bool = True,
         manifest: Course | None = None) -> list[str]:
    """Regenerate every exercise notebook; return the names that differed (or were missing).

    With ``write=False`` nothing is written: the list says what is out of date. The "Next"
    cells come from ``manifest`` (the course's own course.toml when not given).
    """
    manifest = manifest if manifest is not None else course()
    changed = []
    exercises_dir.mkdir(parents=True, exist_ok=True)
    expected_names = set()
    for solution_path in sorted(solutions_dir.glob("*.ipynb")):
        notebook = nbformat.read(solution_path, as_version=4)
        module = module_of(solution_path.name, manifest)
        closing = next_steps_cell(module, manifest) if module is not None else None
        text = render(make_exercise(notebook, solution_path.name, closing))
        target = exercises_dir / solution_path.name
        expected_names.add(target.name)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(target.name)
            if write:
                target.write_text(text, encoding="utf-8")
    for stray in sorted(exercises_dir.glob("*.ipynb")):
        if stray.name not in expected_names:
            changed.append(f"{stray.name} (no solution notebook)")
    return changed
