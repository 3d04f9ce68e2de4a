"""Driver and executors as operating-system processes, and an executor lost on purpose.

On a standalone cluster every executor is its own JVM
(``org.apache.spark.executor.CoarseGrainedExecutorBackend``), started by a worker for one
application. In local mode there is a single JVM: the driver runs the tasks itself. These
helpers find the processes behind an application's executors (on this machine) and kill
one the way a failing machine would: at once, with no chance to clean up.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

import psutil

from prodspark.errors import CourseError
from prodspark.waiting import TimedOut, wait_until

EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"


class ExecutorProcessError(CourseError):
    """An executor's process cannot be found or acted on."""


@dataclass(frozen=True)
class ExecutorProcess:
    executor_id: str
    pid: int
    children: tuple[int, ...] = field(default=())  # Python workers started by this JVM


def driver_pid(spark) -> int:
    """The process id of the driver's JVM (not the Python process of the notebook)."""
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


def executor_processes(spark) -> list[ExecutorProcess]:
    """The JVMs running this application's tasks on this machine, by executor id.

    Local mode: the driver's JVM, under the id "driver". A cluster: every executor process
    whose command line names this application's id.
    """
    context = spark.sparkContext
    if context.master.startswith("local"):
        pid = driver_pid(spark)
        return [ExecutorProcess("driver", pid, _children(pid))]
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        args = process.info["cmdline"] or []
        if EXECUTOR_CLASS in args and _argument(args, "--app-id") == context.applicationId:
            pid = process.info["pid"]
            found.append(ExecutorProcess(_argument(args, "--executor-id") or "?", pid, _children(pid)))
    return sorted(found, key=lambda e: (len(e.executor_id), e.executor_id))


def kill_executor(spark, executor_id: str) -> ExecutorProcess:
    """Kill one executor's JVM with SIGKILL, as a crashed machine would lose it.

    Only a process that is, at this moment, an executor of this application is killed.
    """
    if executor_id == "driver":
        raise ExecutorProcessError("In local mode the only executor is the driver: killing it ends the "
                                   "application. Use a cluster master (spark://...) for this.")
    for executor in executor_processes(spark):
        if executor.executor_id == str(executor_id):
            try:
                psutil.Process(executor.pid).send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                raise ExecutorProcessError(f"executor {executor_id} (pid {executor.pid}) had already exited.") from None
            return executor
    raise ExecutorProcessError(
        f"no process of executor {executor_id} of {spark.sparkContext.applicationId} runs on this machine; "
        "executors on other machines cannot be killed from here.")


def wait_until_gone(pids, timeout: float = 15.0) -> list[int]:
    """Wait for the given processes to exit; return those still running after ``timeout``."""
    try:
        wait_until(lambda: not [pid for pid in pids if _running(pid)], timeout, "the processes to exit", 0.2)
    except TimedOut:
        return [pid for pid in pids if _running(pid)]
    return []


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _children(pid: int) -> tuple[int, ...]:
    try:
        return tuple(child.pid for child in psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return ()


def _argument(args: list[str], name: str) -> str | None:
    try:
        return args[args.index(name) + 1]
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class PythonWorker:
    """A Python process started for an executor: the daemon, or a worker the daemon forked."""

    executor_id: str
    pid: int
    parent_pid: int
    role: str  # "daemon" (child of the JVM) or "worker" (forked by the daemon)


def python_workers(spark) -> list[PythonWorker]:
    """The Python processes under this application's executor JVMs on this machine, right now.

    PySpark runs Python code (UDFs, ``mapInPandas``, RDD functions) in processes the executor
    starts: one ``pyspark.daemon`` per executor, which forks a worker per running task.
    """
    found = []
    for executor in executor_processes(spark):
        try:
            jvm = psutil.Process(executor.pid)
            children = jvm.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for child in children:
            try:
                command = " ".join(child.cmdline())
                parent = child.ppid()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            if "pyspark" in command:
                role = "daemon" if parent == executor.pid else "worker"
                found.append(PythonWorker(executor.executor_id, child.pid, parent, role))
    return sorted(found, key=lambda w: (w.executor_id, w.role, w.pid))


def wait_for_python_workers(spark, executors: int, timeout: float = 30.0) -> list[PythonWorker]:
    """Wait until at least ``executors`` executors each run a forked Python worker; return them all."""
    _check_count("executors", executors)

    def workers() -> list[PythonWorker] | None:
        found = python_workers(spark)
        with_worker = {w.executor_id for w in found if w.role == "worker"}
        return found if len(with_worker) >= executors else None

    return wait_until(workers, timeout, f"Python workers on {executors} executor(s) (is a job with "
                                        "Python code, such as a UDF or mapPartitions, running?)",
                      error=ExecutorProcessError)


def wait_for_registered_executors(spark, count: int, timeout: float = 60.0) -> list[dict]:
    """Wait until ``count`` executors are fully registered; return the REST API's rows of them.

    :func:`prodspark.sparkui.wait_for_executors` without a settling time: for a caller that
    knows how many executors to expect.
    """
    from prodspark.sparkui import SparkUIError, wait_for_executors

    _check_count("count", count)
    try:
        return wait_for_executors(spark, count, timeout, settle=0)
    except SparkUIError as exc:
        raise ExecutorProcessError(str(exc)) from None


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ExecutorProcessError(f"{name} must be a whole number 1 or more, got {value!r}.")
