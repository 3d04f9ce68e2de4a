"""Exercises: self-checks (:func:`check`), hints on request (:func:`hint`), the exercise
notebooks' generator, progress and grading."""

from prodspark.exercises.core import Verdict, Wrong, check, exercise, hint

__all__ = ["Verdict", "Wrong", "check", "exercise", "hint"]
