"""The course's manifest, ``course.toml``: its modules, their notebooks and exercises.

Everything that lists modules or exercises reads it from here: the README's module table,
the test suite's notebook lists, the titles and hints of exercises, ``prodspark progress``
and ``prodspark dev check``. Adding a module means an entry in the manifest, its notebooks
and its check module, and nothing else by hand.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prodspark import paths
from prodspark.errors import CourseError

MANIFEST = paths.REPO_ROOT / "course.toml"
STATUSES = ("available", "planned")
PLACES = ("local", "cluster")
OPTIONAL_TOOLS = ("prometheus",)  # programs a lesson uses when installed (a learner may not have them)
FOLDERS = ("notebooks", "solutions", "exercises")
_NUMBER = re.compile(r"\d{2}")
_SLUG = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


class ManifestError(CourseError):
    """course.toml is missing, unreadable or inconsistent; the message names the entry."""


@dataclass(frozen=True)
class ExerciseEntry:
    id: str
    title: str
    hint: str
    module: str


@dataclass(frozen=True)
class Module:
    number: str
    slug: str
    title: str
    summary: str
    lesson_minutes: int
    exercise_minutes: int
    status: str
    runs_on: str
    cluster_checks: bool
    exercises: tuple[ExerciseEntry, ...]
    uses: tuple[str, ...] = ()  # OPTIONAL_TOOLS its lesson and exercises use

    @property
    def available(self) -> bool:
        return self.status == "available"

    @property
    def notebook_name(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"

    def notebook(self, folder: str, root: Path = paths.REPO_ROOT) -> Path:
        """This module's notebook in ``notebooks``, ``solutions`` or ``exercises``."""
        if folder not in FOLDERS:
            raise ValueError(f"folder must be one of {', '.join(FOLDERS)}, got {folder!r}")
        return root / folder / self.notebook_name


@dataclass(frozen=True)
class Course:
    modules: tuple[Module, ...]

    @property
    def available(self) -> tuple[Module, ...]:
        return tuple(m for m in self.modules if m.available)

    @property
    def exercises(self) -> tuple[ExerciseEntry, ...]:
        return tuple(e for m in self.available for e in m.exercises)

    def module(self, number: str) -> Module:
        for candidate in self.modules:
            if candidate.number == number:
                return candidate
        raise ManifestError(f"course.toml has no module {number!r}.")

    def exercise(self, exercise_id: str) -> ExerciseEntry:
        for entry in self.exercises:
            if entry.id == exercise_id:
                return entry
        known = ", ".join(e.id for e in self.exercises)
        raise KeyError(f"No exercise {exercise_id!r}. Known exercises: {known}.")

    def notebooks(self, folder: str, where: str | None = None, root: Path = paths.REPO_ROOT) -> list[Path]:
        """The available modules' notebooks in ``folder``, optionally only those run ``where``."""
        return [m.notebook(folder, root) for m in self.available if where in (None, m.runs_on)]


def _text(entry: dict, key: str, where: str, allow_empty: bool = False) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ManifestError(f"course.toml: {where} needs a non-empty text {key!r}, got {value!r}.")
    return value.strip()


def _minutes(entry: dict, key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ManifestError(f"course.toml: {where} needs {key!r} as a whole number of minutes (1 or more), "
                            f"got {value!r}.")
    return value


def _choice(entry: dict, key: str, choices: tuple[str, ...], where: str) -> str:
    value = entry.get(key)
    if value not in choices:
        raise ManifestError(f"course.toml: {where} has {key} = {value!r}; choose one of {', '.join(choices)}.")
    return value


def parse(data: dict) -> Course:
    """A Course from the manifest's TOML data; a ManifestError names the first bad entry."""
    modules = []
    seen_modules: set[str] = set()
    seen_exercises: set[str] = set()
    for position, entry in enumerate(data.get("modules", []), start=1):
        number = entry.get("number")
        where = f"module {number!r}" if number else f"module #{position}"
        if not isinstance(number, str) or not _NUMBER.fullmatch(number):
            raise ManifestError(f"course.toml: {where} needs number as two digits in quotes, e.g. \"06\".")
        if number in seen_modules:
            raise ManifestError(f"course.toml: module {number} is listed twice.")
        seen_modules.add(number)
        slug = _text(entry, "slug", where)
        if not _SLUG.fullmatch(slug):
            raise ManifestError(f"course.toml: {where} has slug {slug!r}; use lower-case words joined by _.")
        exercises = []
        for item in entry.get("exercises", []):
            exercise_id = item.get("id")
            if not isinstance(exercise_id, str) or not re.fullmatch(rf"{number}\.\d+", exercise_id):
                raise ManifestError(f"course.toml: {where} has an exercise id {exercise_id!r}; "
                                    f"ids read {number}.1, {number}.2, ...")
            if exercise_id in seen_exercises:
                raise ManifestError(f"course.toml: exercise {exercise_id} is listed twice.")
            seen_exercises.add(exercise_id)
            label = f"exercise {exercise_id}"
            exercises.append(ExerciseEntry(exercise_id, _text(item, "title", label), _text(item, "hint", label),
                                           number))
        status = _choice(entry, "status", STATUSES, where)
        if status == "available" and not exercises:
            raise ManifestError(f"course.toml: {where} is available but lists no exercises.")
        cluster_checks = entry.get("cluster_checks", False)
        if not isinstance(cluster_checks, bool):
            raise ManifestError(f"course.toml: {where} has cluster_checks = {cluster_checks!r}; use true or false.")
        uses = entry.get("uses", [])
        if not isinstance(uses, list) or any(tool not in OPTIONAL_TOOLS for tool in uses):
            raise ManifestError(f"course.toml: {where} has uses = {uses!r}; use a list of {', '.join(OPTIONAL_TOOLS)}.")
        modules.append(Module(
            number=number, slug=slug, title=_text(entry, "title", where),
            summary=_text({"summary": entry.get("summary", ""), **entry}, "summary", where, allow_empty=True),
            lesson_minutes=_minutes(entry, "lesson_minutes", where),
            exercise_minutes=_minutes(entry, "exercise_minutes", where),
            status=status, runs_on=_choice(entry, "runs_on", PLACES, where),
            cluster_checks=cluster_checks, exercises=tuple(exercises), uses=tuple(uses),
        ))
    if not modules:
        raise ManifestError("course.toml lists no modules.")
    numbers = [m.number for m in modules]
    if numbers != sorted(numbers):
        raise ManifestError(f"course.toml: modules must be listed in order, got {', '.join(numbers)}.")
    return Course(tuple(modules))


def load(path: Path = MANIFEST) -> Course:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"the course's manifest {path} is missing.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path.name} is not valid TOML: {exc}") from None
    return parse(data)


@cache
def course() -> Course:
    """The course's manifest, read once."""
    return load()


# ---------------------------------------------------------------- the README's module table
README_START = "<!-- modules: generated from course.toml by `prodspark dev readme`; do not edit by hand -->"
README_END = "<!-- end of modules -->"


def module_table(course: Course) -> str:
    lines = ["| # | module | lesson | exercises | status |", "|---|---|---|---|---|"]
    for m in course.modules:
        name = f"[{m.title}](notebooks/{m.notebook_name})" if m.available else m.title
        if m.summary:
            name += f": {m.summary}"
        lines.append(f"| {m.number} | {name} | {m.lesson_minutes} min | {m.exercise_minutes} min | {m.status} |")
    return "\n".join(lines)


def readme_with_table(readme: str, course: Course) -> str:
    """The README text with its module table replaced by the one the manifest gives."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ManifestError(f"README.md has no module table between the markers {README_START!r} and {README_END!r}.")
    return readme[:start + len(README_START)] + "\n" + module_table(course) + "\n" + readme[end:]
