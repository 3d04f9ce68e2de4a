"""Where the course keeps things: generated data, outputs, logs, scratch space.

Everything the course writes lives under one folder it owns (``.course/`` at the
repository root, ignored by git), so ``prodspark clean`` can remove it safely.
Set ``PRODSPARK_HOME`` to put it elsewhere (a bigger disk, a shared scratch volume).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def course_home() -> Path:
    """The folder the course owns for generated data and scratch files."""
    return Path(os.environ.get("PRODSPARK_HOME", REPO_ROOT / ".course")).resolve()


def default_data_dir() -> Path:
    return course_home() / "data"


def default_output_dir() -> Path:
    return course_home() / "output"


def spark_local_dir() -> Path:
    """Spark's scratch space (shuffle and spill files), instead of /tmp."""
    return course_home() / "spark-local"


def event_log_dir() -> Path:
    return course_home() / "event-logs"


def log4j_config() -> Path:
    return PACKAGE_DIR / "conf" / "log4j2.properties"


def display_path(path: Path) -> str:
    """A path inside the repository relative to it, so printed paths read the same on any machine."""
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)
