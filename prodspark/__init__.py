"""Helpers for the Production Spark course.

Notebooks import from here so that each cell reads like a teaching step:

    from prodspark import start_spark, check_parameters
    spark = start_spark(master=master)

The package stays light on import (no pyspark until a function needs it), so that
``python -m prodspark check`` can report a missing Java or a broken install clearly.
"""

from importlib import import_module

__all__ = [
    "start_spark",
    "stop_spark",
    "check_parameters",
    "CourseError",
    "Timer",
]

_LAZY = {
    "start_spark": "prodspark.session",
    "stop_spark": "prodspark.session",
    "check_parameters": "prodspark.params",
    "CourseError": "prodspark.errors",
    "Timer": "prodspark.timing",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'prodspark' has no attribute {name!r}")
