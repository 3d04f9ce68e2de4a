"""Exercises: self-checks (:func:`check`), the exercise notebooks' generator, progress and grading."""

from prodspark.exercises.core import Verdict, Wrong, check, exercise

__all__ = ["Verdict", "Wrong", "check", "exercise"]
