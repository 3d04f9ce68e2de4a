"""The course's class-data archive: Spark's classes, as a JVM loaded them, for the next JVMs.

Most of a small JVM's start-up is loading Spark's classes one by one. The JDK can write the
classes a run loaded to a class-data archive at exit (its dynamic class-data sharing,
``-XX:ArchiveClassesAtExit``) and map them straight into later JVMs (``-XX:SharedArchiveFile``).
Set-up writes one by running lesson 01's small application
(:func:`prodspark.engines_spill.prepare_class_archive`); that application and the executors
of the course's cluster start from it. A JVM checks the archive against its own version and
class path, and ignores one that does not match.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from prodspark import paths


def archive_path() -> Path:
    """Where the archive is kept: one per installed Spark and Java."""
    import pyspark

    from prodspark.java import find_java

    java = os.path.realpath(find_java() or "java")
    spark_home = Path(pyspark.__file__).resolve().parent
    key = hashlib.sha256(f"{java}\n{spark_home}".encode()).hexdigest()[:12]
    return paths.course_home() / "class-archives" / f"spill-spark-{pyspark.__version__}-{key}.jsa"


def read_option() -> str:
    """The JVM option that starts a JVM from the archive, or "" when none has been written."""
    archive = archive_path()
    return f"-XX:SharedArchiveFile={archive}" if archive.exists() else ""
