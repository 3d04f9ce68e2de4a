"""The course's own exceptions: each message names the problem and the fix."""


class CourseError(Exception):
    """A problem the learner can fix; the message says how.

    In a notebook, these are shown as a short message instead of a long traceback
    (see :func:`prodspark.notebook.short_errors`).
    """


class ParameterError(CourseError, ValueError):
    """A notebook or command parameter has a wrong value or type."""


class EnvironmentProblem(CourseError, RuntimeError):
    """Java, Spark, Delta or the machine is not ready for the course."""


class MasterUnreachable(CourseError, ConnectionError):
    """The Spark master URL names a cluster that does not answer."""
