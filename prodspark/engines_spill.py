"""Spark finishing a sort larger than its own heap, in a small JVM of its own (module 01).

A driver's heap is fixed when its JVM starts, and a notebook's session may share its JVM
with others, so the demonstration runs as a separate ``spark-submit`` application with a
small heap (``spark.driver.memory``) on ``local[2]``. The application
(:mod:`prodspark.engines_spill_job`) measures its heap (``Runtime.maxMemory``), the bytes of
rows its sort handled (the exchange's ``data size``) and what it spilled (the stages'
``memoryBytesSpilled`` and ``diskBytesSpilled`` from its own REST API), and reports them
before it stops::

    run = run_spill_job(rows=3_000_000)
    print(run)

Most of a small application's start-up is its JVM loading Spark's classes one by one. The
first run writes the classes it loaded to a class-data archive (the JDK's dynamic CDS,
``-XX:ArchiveClassesAtExit``), which costs that run some seconds at exit; later runs map the
archive (``-XX:SharedArchiveFile``) and start several seconds sooner. The JVM checks the
archive against its own version and class path, and ignores one that does not match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from prodspark import class_archive, masters, paths, submit
from prodspark.errors import CourseError, ParameterError
from prodspark.memory import parse_size
from prodspark.processes import stop_process_tree
from prodspark.timing import Timer

APP = Path(__file__).with_name("engines_spill_job.py")
DEFAULT_DRIVER_MEMORY = "512m"
# Spark refuses a heap below 1.5 x its 300 MiB reservation (UnifiedMemoryManager's minimum).
MIN_DRIVER_MEMORY_BYTES = 450 * 2**20
DEFAULT_TIMEOUT_S = 180.0


class SpillJobFailed(CourseError):
    """The small Spark application did not finish, or did not report its numbers."""


@dataclass(frozen=True)
class SpillRun:
    """What the small application measured about itself."""

    rows: int
    heap_bytes: int  # Runtime.maxMemory of its JVM
    driver_memory: str
    master: str
    sorted_bytes: int  # rows handled by the sort, as sized in memory (the exchange's "data size")
    memory_bytes_spilled: int
    disk_bytes_spilled: int
    shuffle_write_bytes: int
    tasks: int
    failed_tasks: int
    seconds: float  # the sort itself
    wall_seconds: float  # the whole application, JVM start and stop included
    command: list[str] = field(default_factory=list)
    class_archive: str = ""  # "read": started from the archive; "written": wrote it at exit

    @property
    def class_archive_note(self) -> str:
        """What the run did with the class-data archive, in a sentence."""
        if self.class_archive == "read":
            return "its JVM read Spark's classes from the class-data archive an earlier run wrote"
        if self.class_archive == "written":
            return ("its JVM loaded Spark's classes one by one and wrote them to a class-data archive at "
                    "exit (later runs start from it)")
        return "its JVM loaded Spark's classes one by one"

    @property
    def times_heap(self) -> float:
        """How many times its own heap the data the sort handled is."""
        return self.sorted_bytes / self.heap_bytes

    def __str__(self) -> str:
        mib = 2**20
        verdict = ("more than its whole heap" if self.sorted_bytes > self.heap_bytes
                   else "less than its heap: raise rows to make the point")
        spill = ("and finished by spilling" if self.memory_bytes_spilled > 0
                 else "without spilling")
        return (f"a JVM with a {self.heap_bytes / mib:,.0f} MiB heap ({self.driver_memory}, {self.master}) sorted "
                f"{self.rows:,} rows, {self.sorted_bytes / mib:,.0f} MiB in memory: {self.times_heap:.1f}x its "
                f"heap, {verdict}, {spill} {self.memory_bytes_spilled / mib:,.0f} MiB "
                f"({self.disk_bytes_spilled / mib:,.0f} MiB on disk); {self.failed_tasks} failed tasks.")


def spark_submit_path() -> str:
    """The ``spark-submit`` script of the installed PySpark."""
    import pyspark

    return str(Path(pyspark.__file__).resolve().parent / "bin" / "spark-submit")


def prepare_class_archive(rows: int = 50_000, progress=print) -> bool:
    """Write the small application's class-data archive now (set-up), unless it exists.

    Run once at set-up, so that a learner's first run of the lesson starts from the archive
    instead of paying for writing it. Returns True when this call wrote it.
    """
    archive = class_archive.archive_path()
    if archive.exists():
        progress(f"The class-data archive is there: {paths.display_path(archive)}")
        return False
    run = run_spill_job(rows=rows)
    if run.class_archive != "written":  # the lesson still runs; its first start is only slower
        progress(f"WARNING: the small application ran, but its JVM wrote no class-data archive "
                 f"({paths.display_path(archive)}): lesson 01 will write it on its first run.")
        return False
    progress(f"Wrote the class-data archive in {run.wall_seconds:.0f} s: {paths.display_path(archive)}")
    return True


def spill_command(rows: int, result_path: str | Path, driver_memory: str = DEFAULT_DRIVER_MEMORY,
                  master: str = "local[2]", java_options: str = "") -> list[str]:
    """The ``spark-submit`` arguments of the small application (``submit.submit_command``'s form).

    ``java_options`` are added to the driver JVM's options (the class-data archive's)."""
    _check_rows(rows)
    parsed = masters.parse_master(master)
    if parsed.kind != "local":
        raise ParameterError(f"master must be a local master such as 'local[2]' (the point is one small JVM "
                             f"on this machine), got {master!r}.")
    try:
        heap = parse_size(driver_memory)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"driver_memory must be a JVM size such as '512m', got {driver_memory!r}.") from exc
    if heap < MIN_DRIVER_MEMORY_BYTES:
        raise ParameterError(f"driver_memory {driver_memory!r} is below the 450 MiB Spark needs to start "
                             "(1.5 x its 300 MiB reservation); use 512m or more.")
    java_options = " ".join(filter(None, [f"-Dlog4j.configurationFile={paths.log4j_config().as_uri()}",
                                          java_options]))
    settings = {
        "spark.driver.memory": driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": java_options,
        "spark.ui.port": "0",
        "spark.sql.shuffle.partitions": "2",  # one sort task per core: each holds half the rows
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": str(paths.spark_local_dir()),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.app.name": "prodspark-sort-larger-than-heap",
    }
    command = submit.submit_command("standalone", str(APP), settings, master=parsed.url)
    command[0] = spark_submit_path()
    return command + [str(int(rows)), str(result_path)]


def run_spill_job(rows: int, driver_memory: str = DEFAULT_DRIVER_MEMORY, master: str = "local[2]",
                  timeout: float = DEFAULT_TIMEOUT_S) -> SpillRun:
    """Run the small application and return what it measured; nothing it started outlives it."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    paths.spark_local_dir().mkdir(parents=True, exist_ok=True)
    archive = class_archive.archive_path()
    archive.parent.mkdir(parents=True, exist_ok=True)
    # Written under a name of its own, then renamed: two runs at once never see half an archive.
    scratch = archive.with_name(f".{archive.name}.{uuid.uuid4().hex[:8]}.tmp")
    archive_option = class_archive.read_option()
    if archive_option:
        archive_use = "read"
    else:
        archive_use, archive_option = "written", f"-XX:ArchiveClassesAtExit={scratch}"
    try:
        return _run(rows, driver_memory, master, timeout, archive_option, archive_use, scratch, archive)
    finally:
        scratch.unlink(missing_ok=True)


def _run(rows: int, driver_memory: str, master: str, timeout: float, archive_option: str, archive_use: str,
         scratch: Path, archive: Path) -> SpillRun:
    with tempfile.TemporaryDirectory(dir=paths.course_home(), prefix="spill-job-") as folder:
        result_path = Path(folder) / "result.json"
        command = spill_command(rows, result_path, driver_memory, master, java_options=archive_option)
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
        for inherited in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "SPARK_HOME"):
            env.pop(inherited, None)  # the notebook's own gateway: the child starts its own JVM
        with Timer() as wall:  # the whole application: its JVM starting, the sort, its exit
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                       start_new_session=True)
            try:
                _, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process_tree(process.pid)  # still running: its pid is still its own
                process.communicate()
                raise SpillJobFailed(f"the sort did not finish within {timeout:.0f} s and was stopped; "
                                     "use fewer rows or a longer timeout.") from None
            except BaseException:  # interrupted from the notebook: stop the JVM and its Python child too
                stop_process_tree(process.pid)
                process.communicate()
                raise
        if process.returncode != 0 or not result_path.exists():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise SpillJobFailed(f"the sort application exited with code {process.returncode} without "
                                 f"reporting its numbers. Its last lines:\n{tail}")
        measured = json.loads(result_path.read_text())
    if archive_use == "written":
        if scratch.exists():
            os.replace(scratch, archive)
        else:
            archive_use = ""  # the JVM could not write one (its log says why): nothing changes
    return SpillRun(**measured, wall_seconds=wall.seconds, command=command, class_archive=archive_use)


def _check_rows(rows: object) -> None:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError(f"rows must be a whole number of at least 1, got {rows!r}.")
