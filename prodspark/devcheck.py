"""``prodspark dev check``: the course's files agree with its manifest (course.toml).

For maintainers, and run by the tests. It starts no Spark and reports every problem it finds:
- the manifest itself is valid (unique module numbers and exercise ids, a title and a hint each);
- every available module has its notebook in notebooks/, solutions/ and exercises/, and no
  folder holds a notebook the manifest does not list (both directions);
- each solution notebook checks exactly the module's exercises, in the manifest's order;
- a check module registers a check for every exercise, and none for an unlisted one;
- the tests hold a table of wrong answers for every exercise (tests/exercise_cases.py);
- no hint repeats a line of its exercise's solution;
- exercises/ is what ``prodspark exercises`` generates, and the README's module table is
  what the manifest gives.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import nbformat

from prodspark import paths
from prodspark.course import FOLDERS, Course, ManifestError, load, readme_with_table
from prodspark.exercises.generate import BEGIN, END, sync
from prodspark.exercises.progress import exercise_ids

CASES_FILE = Path("tests") / "exercise_cases.py"
_SHORTEST_LEAK = 12  # shorter solution fragments (x = 1) can appear in any text


def check_course(root: Path = paths.REPO_ROOT) -> list[str]:
    """Every disagreement between the course's files and its manifest, as sentences (empty: all agree)."""
    try:
        course = load(root / "course.toml")
    except ManifestError as exc:
        return [str(exc)]
    problems = _parity(course, root)
    problems += _solutions_and_checks(course, root)
    problems += _cases(course, root)
    stale = sync(root / "solutions", root / "exercises", write=False, manifest=course)
    if stale:
        problems.append(f"exercises/ is out of date ({', '.join(stale)}): run `prodspark exercises`.")
    readme = (root / "README.md").read_text(encoding="utf-8")
    try:
        if readme_with_table(readme, course) != readme:
            problems.append("README.md's module table differs from course.toml: run `prodspark dev readme`.")
    except ManifestError as exc:
        problems.append(str(exc))
    return problems


def _parity(course: Course, root: Path) -> list[str]:
    problems = []
    expected = {m.notebook_name: m for m in course.available}
    planned = {m.notebook_name for m in course.modules if not m.available}
    for folder in FOLDERS:
        found = {p.name for p in (root / folder).glob("*.ipynb")}
        for name in sorted(set(expected) - found):
            problems.append(f"{folder}/{name} is missing: module {expected[name].number} is available.")
        for name in sorted(found - set(expected)):
            why = "its module is planned, not available" if name in planned else "course.toml lists no such module"
            problems.append(f"{folder}/{name} should not be there: {why}.")
    return problems


def solution_blocks(notebook: nbformat.NotebookNode) -> dict[str, list[str]]:
    """exercise id -> the lines between the solution markers of the cell that checks it."""
    blocks: dict[str, list[str]] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        lines, inside = [], False
        for line in cell.source.split("\n"):
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside:
                lines.append(line)
        for exercise_id in exercise_ids(nbformat.v4.new_notebook(cells=[cell])):
            blocks.setdefault(exercise_id, []).extend(lines)
    return blocks


def prompts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """exercise id -> the markdown of its prompt (the cell headed "Exercise NN.k")."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for exercise_id in re.findall(r"^#+ Exercise (\d{2}\.\d+)\b", cell.source, re.MULTILINE):
                found[exercise_id] = cell.source
    return found


def _leaks(hint: str, solution: list[str], prompt: str = "") -> list[str]:
    """Solution fragments the hint repeats (whole lines, or the right-hand side of an assignment),
    other than what the exercise's own prompt already says."""
    text, told = re.sub(r"\s+", " ", hint), re.sub(r"\s+", " ", prompt)
    found = []
    for line in solution:
        code = re.sub(r"\s+", " ", line.split("#", 1)[0]).strip()
        for fragment in (code, code.partition(" = ")[2]):
            if len(fragment) >= _SHORTEST_LEAK and fragment in text and fragment not in told:
                found.append(fragment)
                break
    return found


def _solutions_and_checks(course: Course, root: Path) -> list[str]:
    from prodspark.exercises.core import _REGISTRY

    problems = []
    for module in course.available:
        listed = [e.id for e in module.exercises]
        try:
            importlib.import_module(f"prodspark.exercises.m{module.number}")
        except ModuleNotFoundError:
            problems.append(f"module {module.number} has no check module prodspark/exercises/m{module.number}.py.")
        except (ManifestError, KeyError) as exc:
            problems.append(f"prodspark/exercises/m{module.number}.py: {exc.args[0] if exc.args else exc}")
        registered = sorted(e for e in _REGISTRY if e.startswith(f"{module.number}."))
        for missing in sorted(set(listed) - set(registered)):
            problems.append(f"exercise {missing} has no check: register one with @exercise({missing!r}, ...) "
                            f"in prodspark/exercises/m{module.number}.py.")
        solution = module.notebook("solutions", root)
        if not solution.exists():
            continue  # reported by the parity check
        notebook = nbformat.read(solution, as_version=4)
        checked = exercise_ids(notebook)
        if checked != listed:
            problems.append(f"solutions/{solution.name} checks {', '.join(checked) or 'no exercise'}; "
                            f"course.toml lists {', '.join(listed)} (same ids, same order).")
        blocks, asked = solution_blocks(notebook), prompts(notebook)
        for entry in module.exercises:
            if entry.id not in asked:
                problems.append(f"solutions/{solution.name} has no prompt headed 'Exercise {entry.id} · ...'.")
            if entry.id in blocks:
                for leak in _leaks(entry.hint, blocks[entry.id], asked.get(entry.id, "")):
                    problems.append(f"the hint of exercise {entry.id} gives the solution away: {leak!r}.")
    return problems


def _cases(course: Course, root: Path) -> list[str]:
    path = root / CASES_FILE
    if not path.exists():
        return [f"{CASES_FILE} is missing: every exercise needs a table of wrong answers."]
    # Read, not imported: the cases need Spark to build, and this check starts none.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    have = {node.name[len("case_"):].replace("_", ".") for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("case_")}
    return [f"exercise {e.id} has no table of wrong answers in {CASES_FILE} (a function case_"
            f"{e.id.replace('.', '_')})." for e in course.exercises if e.id not in have]


def write_readme(root: Path = paths.REPO_ROOT) -> bool:
    """Rewrite the README's module table from the manifest; True when it changed."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = readme_with_table(text, load(root / "course.toml"))
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
