"""Waiting for something Spark reports a moment after it happens: one polling loop.

Spark's listeners, its REST API and the status tracker all record an event shortly after
it happens (an executor registering, a job ending). Code that acts on them asks again until
the answer is there, for at most a timeout, and then says what it was waiting for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from prodspark.errors import CourseError, ParameterError

T = TypeVar("T")


class TimedOut(CourseError, TimeoutError):
    """What was waited for did not happen within the timeout."""


def wait_until(ready: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1,
               error: type[CourseError] = TimedOut) -> T:
    """Call ``ready()`` until it returns something other than None or False; return that value.

    After ``timeout`` seconds, raise ``error`` (:class:`TimedOut` by default) naming ``what``.
    An exception raised by ``ready()`` stops the wait at once (a process that died, say).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ParameterError(f"timeout must be a number of seconds above 0, got {timeout!r}.")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        raise ParameterError(f"interval must be a number of seconds above 0, got {interval!r}.")
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout:g} s waiting for {what}.")
        time.sleep(interval)
