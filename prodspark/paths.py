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


def user_home() -> Path | None:
    """This user's home folder: ``$HOME`` when it is set (as ``Path.home()`` reads it), else the
    password database's entry; None when neither names an existing folder (a container user
    with no home, a service account whose home is ``/nonexistent``)."""
    home = os.environ.get("HOME", "").strip()
    if not home:
        try:
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError, OSError):
            return None
    path = Path(home)
    return path if path.is_absolute() and path.is_dir() else None


IVY_DIR_NAME = ".ivy2.5.2"  # Spark 4.x's default Ivy folder name, under the user's home


def ivy_dir() -> Path:
    """The one Ivy folder of the course: where Spark caches the jars of ``spark.jars.packages``
    (Delta Lake's), in its ``jars`` sub-folder.

    The course passes it to Spark explicitly (``spark.jars.ivy``), because Java takes its home
    folder from the password database, not from ``$HOME``: left to itself, Spark could cache the
    jars in one place while ``prodspark check`` looks in another. ``$PRODSPARK_IVY_DIR`` if set,
    else ``~/.ivy2.5.2`` (``$HOME`` first), else, with no usable home at all, a folder inside the
    course's own folder.
    """
    configured = os.environ.get("PRODSPARK_IVY_DIR", "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    home = user_home()
    if home is not None:
        return home / IVY_DIR_NAME
    return course_home() / "ivy"


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
