"""The course's one polling loop: its answer, its timeout message, its refusals."""

import time

import pytest

from prodspark.errors import CourseError, ParameterError
from prodspark.waiting import TimedOut, wait_until


def test_the_first_answer_that_is_not_none_or_false_is_returned():
    answers = iter([None, False, 0, "late"])
    assert wait_until(lambda: next(answers), timeout=5, what="an answer", interval=0.01) == 0


def test_a_timeout_names_what_was_waited_for_with_the_callers_error():
    started = time.monotonic()
    with pytest.raises(TimedOut, match="timed out after 0.2 s waiting for a miracle"):
        wait_until(lambda: None, timeout=0.2, what="a miracle", interval=0.05)
    assert 0.2 <= time.monotonic() - started < 2

    class Mine(CourseError):
        pass

    with pytest.raises(Mine, match="waiting for a miracle"):
        wait_until(lambda: False, timeout=0.1, what="a miracle", interval=0.05, error=Mine)


def test_an_error_raised_while_waiting_stops_the_wait_at_once():
    def dead():
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        wait_until(dead, timeout=60, what="a process")


@pytest.mark.parametrize("kwargs,words", [
    ({"timeout": 0}, "timeout must be a number of seconds above 0"),
    ({"timeout": True}, "timeout must be a number of seconds above 0"),
    ({"timeout": "5"}, "timeout must be a number of seconds above 0"),
    ({"timeout": 1, "interval": 0}, "interval must be a number of seconds above 0"),
])
def test_bad_timeouts_are_refused(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        wait_until(lambda: True, what="x", **kwargs)
