"""Self-checks for exercises: one call, one verdict, never a raw traceback; hints on request.

In a notebook::

    from prodspark.exercises import check, hint
    check("00.1", n_transactions)      # a verdict: passed, failed (and why), or not attempted
    hint("00.1")                       # a hint, only when the learner asks for one

The exercises, their titles and hints are listed in the course's manifest (``course.toml``).
A check module (``prodspark/exercises/m00.py`` for module 00, and so on) registers one
function per exercise. The function receives the learner's answer, already checked for
type, plus a :class:`Context` (the Spark session, the notebook's parameters and any evidence
the notebook passes as keyword arguments). It computes what it expects from the data and
the run, and raises :class:`Wrong` with a specific message when the answer does not match.
A verdict never carries the hint: a hint guides, and the learner asks for it.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodspark.course import ExerciseEntry

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"
ERROR = "error"

_ICONS = {PASSED: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏳", ERROR: "⚠️"}
_COLOURS = {PASSED: "#1a7f37", FAILED: "#cf222e", NOT_ATTEMPTED: "#9a6700", ERROR: "#9a6700"}

# Output metadata key under which a verdict is saved in the notebook (read by `prodspark progress`).
METADATA_KEY = "prodspark"


class Wrong(Exception):
    """Raised by a check function: the answer is not right; the message says what is wrong."""


@dataclass(frozen=True)
class Context:
    spark: Any
    params: Any
    evidence: dict[str, Any] = field(default_factory=dict)

    def require(self, name: str, what: str, example: str | None = None) -> Any:
        """The evidence passed as ``name=...``; a missing one is a wrong answer that says how to pass it."""
        value = self.evidence.get(name)
        if value is None:
            raise Wrong(f"pass {what} too: check(..., {name}={example or name}).")
        return value


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    expects: tuple[type, ...] | None
    expects_text: str
    hint: str
    function: Callable[..., str | None]
    needs_spark: bool


def _html(status: str, heading: str, body: str, footer: str = "") -> str:
    below = f"<br><i>{html.escape(footer)}</i>" if footer else ""
    return (f'<div style="border-left:4px solid {_COLOURS[status]};padding:4px 10px">'
            f"{_ICONS[status]} <b>{html.escape(heading)}</b>: {html.escape(body)}{below}</div>")


@dataclass(frozen=True)
class Verdict:
    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    @property
    def footer(self) -> str:
        """What a failed verdict offers: the hint, on request."""
        return f'Stuck? hint("{self.exercise}") gives a hint.' if self.status == FAILED else ""

    def text(self) -> str:
        line = f"{_ICONS[self.status]} Exercise {self.exercise} {self.status}: {self.message}"
        return line + (f"\n   {self.footer}" if self.footer else "")

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include=None, exclude=None):
        body = _html(self.status, f"Exercise {self.exercise} {self.status}", self.message, self.footer)
        data = {"text/plain": self.text(), "text/html": body}
        metadata = {METADATA_KEY: {"exercise": self.exercise, "status": self.status}}
        return data, metadata


@dataclass(frozen=True)
class Hint:
    exercise: str
    title: str
    text: str

    def __repr__(self) -> str:
        return f"💡 Hint for exercise {self.exercise} ({self.title}): {self.text}"

    def _repr_html_(self) -> str:
        return (f'<div style="border-left:4px solid #0969da;padding:4px 10px">💡 <b>Hint for exercise '
                f"{html.escape(self.exercise)}</b> ({html.escape(self.title)}): {html.escape(self.text)}</div>")


_REGISTRY: dict[str, Exercise] = {}


def exercise(
    exercise_id: str,
    *,
    expects: type | tuple[type, ...] | None = None,
    expects_text: str = "",
    needs_spark: bool = True,
    entry: ExerciseEntry | None = None,
):
    """Register the check function of an exercise listed in course.toml, such as ``"01.2"``.

    expects: the accepted answer type(s); a wrong type gets a verdict naming both types.
    expects_text: how a verdict describes the expected answer ("a whole number (int)").
    The exercise's title and hint come from the manifest (``entry`` stands in for it in tests).
    """
    from prodspark.course import course

    if entry is None:
        entry = course().exercise(exercise_id)  # a check for an exercise the manifest lacks is a bug
    types = expects if isinstance(expects, tuple) or expects is None else (expects,)

    def register(function):
        _REGISTRY[exercise_id] = Exercise(exercise_id, entry.title, types, expects_text or _describe(types),
                                          entry.hint, function, needs_spark)
        return function

    return register


def get_exercise(exercise_id: str) -> Exercise:
    """Find an exercise, importing its module's checks on first use."""
    if isinstance(exercise_id, str) and exercise_id not in _REGISTRY:
        module = exercise_id.split(".")[0]
        if module.isdigit():
            try:
                importlib.import_module(f"prodspark.exercises.m{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"prodspark.exercises.m{module}":
                    raise
    try:
        return _REGISTRY[exercise_id]
    except (KeyError, TypeError):
        from prodspark.course import course

        known = ", ".join(e.id for e in course().exercises)
        raise KeyError(f"No exercise {exercise_id!r}. Known exercises: {known}.") from None


def _find(exercise_id: str) -> Exercise | Verdict:
    """The exercise, or an error verdict that says why it cannot be found."""
    from prodspark.errors import CourseError

    try:
        return get_exercise(exercise_id)
    except KeyError as exc:
        return Verdict(str(exercise_id), ERROR, str(exc.args[0]))
    except CourseError as exc:  # course.toml itself is broken: name it, do not crash the notebook
        return Verdict(str(exercise_id), ERROR, str(exc))


def hint(exercise_id: str) -> Hint | Verdict:
    """The hint of an exercise, for a learner who asks for it."""
    item = _find(exercise_id)
    if isinstance(item, Verdict):
        return item
    return Hint(item.id, item.title, item.hint)


def check(exercise_id: str, answer: Any, **evidence: Any) -> Verdict:
    """Check an answer and return a verdict (shown in the notebook). Never raises."""
    item = _find(exercise_id)
    if isinstance(item, Verdict):
        return item
    if answer is Ellipsis:
        return Verdict(item.id, NOT_ATTEMPTED,
                       f"replace the `...` under `# TODO` with your answer: {item.expects_text}.")
    if item.expects and (not isinstance(answer, item.expects) or _is_bool_for_number(answer, item.expects)):
        return Verdict(item.id, FAILED,
                       f"expected {item.expects_text}, got {type(answer).__name__} {_short_repr(answer)}.")
    try:
        context = _context(item, evidence)
        message = item.function(answer, context)
    except Wrong as wrong:
        return Verdict(item.id, FAILED, str(wrong) or "not the expected answer.")
    except Exception as exc:  # the check itself could not evaluate: say so, briefly
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return Verdict(item.id, ERROR,
                       f"the check could not evaluate this answer ({type(exc).__name__}: {first_line[:300]}).")
    return Verdict(item.id, PASSED, message or "correct.")


def _context(item: Exercise, evidence: dict[str, Any]) -> Context:
    from prodspark import params as params_module

    spark = None
    if item.needs_spark:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError("no Spark session is running; run the notebook's set-up cells first")
    return Context(spark=spark, params=params_module.current(), evidence=evidence)


def _describe(types: tuple[type, ...] | None) -> str:
    if not types:
        return "a value"
    names = [getattr(t, "__name__", str(t)) for t in types]
    return "a " + " or ".join(names)


def _is_bool_for_number(answer: Any, expects: tuple[type, ...]) -> bool:
    """True for True/False given where a number is expected (bool is an int in Python)."""
    return isinstance(answer, bool) and bool not in expects


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
