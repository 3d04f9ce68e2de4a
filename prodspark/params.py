"""Validate a notebook's parameters before any work starts.

Every lesson and solution begins with a ``parameters`` cell (papermill can replace it),
followed by::

    params = check_parameters(scale=scale, seed=seed, master=master,
                              data_dir=data_dir, output_dir=output_dir)

A bad value stops the notebook at once with a message that names it; nothing has been
written yet at that point, so nothing is left half-done.
"""

from __future__ import annotations

import numbers
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from prodspark import masters, paths
from prodspark.errors import ParameterError

_current: CourseParams | None = None


@dataclass(frozen=True)
class CourseParams:
    scale: float
    seed: int
    master: str
    data_dir: Path
    output_dir: Path

    def __str__(self) -> str:
        return (
            f"scale={self.scale:g}, seed={self.seed}, master={self.master}\n"
            f"data:   {paths.display_path(self.data_dir)}\n"
            f"output: {paths.display_path(self.output_dir)}"
        )


def check_scale(scale: object) -> float:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ParameterError(
            f"scale must be a positive number such as 1 or 0.5, got {scale!r} "
            f"({type(scale).__name__})."
        )
    value = float(scale)
    if not value > 0 or value != value or value == float("inf"):
        raise ParameterError(f"scale must be greater than 0 and finite, got {scale!r}.")
    return value


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ParameterError(
            f"seed must be a whole number 0 or more, such as 42, got {seed!r} "
            f"({type(seed).__name__})."
        )
    if int(seed) >= 2**63:
        raise ParameterError(f"seed must be below 2**63 (it is hashed as a 64-bit number), got {seed!r}.")
    return int(seed)


def check_writable_dir(value: object, name: str, default: Path) -> Path:
    """Create the folder if needed and prove it is writable with a probe file."""
    if value is None or value == "":
        folder = default
    elif isinstance(value, (str, os.PathLike)):
        folder = Path(value).expanduser()
    else:
        raise ParameterError(f"{name} must be a folder path (a string), got {value!r}.")
    folder = folder.resolve()
    probe = folder / f".write-probe-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ParameterError(
            f"{name} {str(folder)!r} is not a writable folder ({exc.strerror or exc}). "
            f"Choose another {name}, or fix its permissions."
        ) from None
    return folder


def check_parameters(
    scale: object = 1.0,
    seed: object = 42,
    master: object = masters.DEFAULT_MASTER,
    data_dir: object = None,
    output_dir: object = None,
) -> CourseParams:
    """Check and normalise a notebook's parameters; raise ParameterError on the first bad one.

    ``data_dir``/``output_dir`` of None mean the course's own folders under ``.course/``.
    The result also becomes the context that exercise checks read.
    """
    global _current
    _show_course_errors_briefly()
    params = CourseParams(
        scale=check_scale(scale),
        seed=check_seed(seed),
        master=masters.parse_master(master).url,
        data_dir=check_writable_dir(data_dir, "data_dir", paths.default_data_dir()),
        output_dir=check_writable_dir(output_dir, "output_dir", paths.default_output_dir()),
    )
    _current = params
    return params


def current() -> CourseParams:
    """The parameters of the running notebook (the course defaults if none were checked)."""
    return _current or check_parameters()


def _show_course_errors_briefly() -> None:
    """In IPython, show a CourseError as its message instead of a long traceback.

    The cell still fails (an error output), so "Run All" and papermill stop there.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from prodspark.errors import CourseError

    def handler(shell, etype, value, tb, tb_offset=None):
        # An error output all the same (papermill stops, "run all" stops), minus the traceback.
        short = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, short)
        return short

    shell.set_custom_exc((CourseError,), handler)
