"""What a running Spark application reports about itself, read from its monitoring REST API.

Spark's UI serves the same data as JSON under ``/api/v1``: executors (with ``maxMemory``),
jobs, stages (task counts, failed tasks, spill bytes) and cached data. The lessons read
their numbers from here instead of typing them in::

    ui = SparkUI(spark)
    ui.executors()                       # one dict per executor, the driver included
    run = trace(spark, lambda: df.count())
    run.stages_run, run.tasks, run.spilled_bytes

Spark's listener updates this data a moment after a job ends, so :func:`trace` waits until
the REST API shows every job of the traced action as finished. :class:`SparkUI` is the
:class:`~prodspark.monitoring.rest.RestApi` of a session's own UI (the same client serves a
History Server), with a few helpers the lessons use.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodspark.monitoring.rest import REST_TIMEOUT_S, RestApi, RestApiError, session_address
from prodspark.waiting import TimedOut, wait_until

_groups = itertools.count(1)


class SparkUIError(RestApiError):
    """The application's REST API could not answer."""


class SparkUI(RestApi):
    """The REST API of the application behind a SparkSession (:class:`RestApi` for its web UI)."""

    error = SparkUIError

    def __init__(self, spark):
        url, app_id = session_address(spark, SparkUIError)
        super().__init__(url, app_id)
        self.spark = spark
        self.local = spark.sparkContext.master.startswith("local")

    def task_executors(self) -> list[dict]:
        """The executors that run tasks: the driver itself in local mode, the others otherwise."""
        executors = self.executors()
        if self.local:
            return [e for e in executors if e["id"] == "driver"]
        return [e for e in executors if e["id"] != "driver"]

    def sql_executions(self) -> list[dict]:
        """Every SQL query the application ran, with the metrics of each plan node."""
        return self.sql()

    def cached(self) -> list[dict]:
        """What is cached now: one entry per cached RDD or DataFrame, with memory and disk used."""
        return self.storage()


@dataclass
class Trace:
    """The jobs, stages and tasks that one action ran, as the REST API reports them."""

    description: str
    seconds: float
    result: Any
    jobs: list[dict] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)  # one entry per stage attempt
    sql: list[dict] = field(default_factory=list)  # the SQL executions behind the jobs

    def metric(self, name: str, node: str = "") -> int:
        """A plan metric summed over the traced queries, e.g. "number of files read".

        node: only plan nodes whose name starts with this, e.g. "Scan parquet".
        """
        total = 0
        for execution in self.sql:
            for plan_node in execution.get("nodes", []):
                if not plan_node.get("nodeName", "").startswith(node):
                    continue
                for metric in plan_node.get("metrics", []):
                    if metric["name"] == name:
                        total += _metric_number(metric["value"])
        return total

    @property
    def stages_run(self) -> int:
        """Distinct stages that ran (skipped stages reuse shuffle output and run nothing)."""
        return len({s["stageId"] for s in self.stages if s["status"] != "SKIPPED"})

    @property
    def stages_skipped(self) -> int:
        ran = {s["stageId"] for s in self.stages if s["status"] != "SKIPPED"}
        return len({s["stageId"] for s in self.stages} - ran)

    @property
    def tasks(self) -> int:
        """Tasks of the stages that ran, one per partition (retries not counted)."""
        return sum(s["numTasks"] for s in self.stages if s["status"] != "SKIPPED" and s["attemptId"] == 0)

    @property
    def failed_tasks(self) -> int:
        return sum(s["numFailedTasks"] for s in self.stages)

    @property
    def spilled_bytes(self) -> int:
        """Bytes spilled from memory, as sized in memory (the larger of Spark's two spill figures)."""
        return sum(s["memoryBytesSpilled"] for s in self.stages)

    @property
    def disk_spilled_bytes(self) -> int:
        """The same spill, as written to disk (serialised and compressed)."""
        return sum(s["diskBytesSpilled"] for s in self.stages)

    def stage_table(self):
        """One row per stage attempt: what ran, how many tasks, failures and spill (pandas)."""
        import pandas as pd

        rows = [{"job": _job_of(self.jobs, s["stageId"]), "stage": s["stageId"], "attempt": s["attemptId"],
                 "status": s["status"], "tasks": s["numTasks"], "failed tasks": s["numFailedTasks"],
                 "spilled MiB": round(s["memoryBytesSpilled"] / 2**20, 1),
                 "shuffle write MiB": round(s["shuffleWriteBytes"] / 2**20, 2)}
                for s in sorted(self.stages, key=lambda s: (s["stageId"], s["attemptId"]))]
        return pd.DataFrame(rows).set_index(["job", "stage"])

    def summary(self) -> str:
        return (f"{len(self.jobs)} job(s), {self.stages_run} stage(s) run, {self.stages_skipped} skipped, "
                f"{self.tasks} task(s), {self.failed_tasks} failed")


def _sql_of(ui: SparkUI, job_ids: set[int]) -> list[dict]:
    return [e for e in ui.sql_executions()
            if job_ids & set(e.get("successJobIds", []) + e.get("failedJobIds", []) + e.get("runningJobIds", []))]


def _metric_number(value: str) -> int:
    """The number in a metric's display value: "12" or "1,234" (sums; not the min/med/max lines)."""
    first = value.strip().splitlines()[0] if value.strip() else "0"
    digits = first.replace(",", "").split()[0]
    try:
        return int(float(digits))
    except ValueError:
        return 0


def _job_of(jobs: list[dict], stage_id: int) -> int:
    return min(j["jobId"] for j in jobs if stage_id in j["stageIds"])


def trace(spark, action: Callable[[], Any], description: str = "") -> Trace:
    """Run ``action`` (a function that triggers Spark jobs) and read back what it ran."""
    group = f"prodspark-trace-{next(_groups)}"
    context = spark.sparkContext
    context.setJobGroup(group, description or group)
    start = time.perf_counter()
    try:
        result = action()
    finally:
        seconds = time.perf_counter() - start
        context.setLocalProperty("spark.jobGroup.id", None)
        context.setLocalProperty("spark.job.description", None)
    return read_trace(spark, group, description, seconds, result)


def read_trace(spark, group: str, description: str = "", seconds: float = float("nan"),
               result: Any = None) -> Trace:
    """The jobs and stages of a job group, once the REST API shows all of them finished."""
    ui = SparkUI(spark)
    job_ids = sorted(spark.sparkContext.statusTracker().getJobIdsForGroup(group))
    last_error: SparkUIError | None = None

    def settled() -> Trace | None:
        nonlocal last_error
        try:  # a job the listener has not recorded yet answers 404: ask again
            jobs = [ui.job(job_id) for job_id in job_ids]
            stage_ids = sorted({s for job in jobs for s in job["stageIds"]})
            stages = [attempt for stage_id in stage_ids for attempt in ui.stage_attempts(stage_id)]
        except SparkUIError as exc:
            last_error = exc
            return None
        last_error = None
        if (any(job["status"] == "RUNNING" for job in jobs)
                or any(stage["status"] in ("ACTIVE", "PENDING") for stage in stages)):
            return None
        sql = _sql_of(ui, set(job_ids)) if job_ids else []
        if any(e.get("status") == "RUNNING" for e in sql):
            return None
        return Trace(description or group, seconds, result, jobs, stages, sql)

    try:
        return wait_until(settled, REST_TIMEOUT_S, f"jobs {job_ids} to finish in Spark's REST API", interval=0.05)
    except TimedOut:
        if last_error is not None:
            raise last_error from None
        raise SparkUIError(f"Spark's REST API still shows jobs {job_ids} as running "
                           f"{REST_TIMEOUT_S:.0f} s after they ended.") from None


class BackgroundTrace:
    """An action traced in a background thread, so the notebook can act while it runs."""

    def __init__(self, spark, action: Callable[[], Any], description: str = ""):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(trace, spark, action, description)

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Trace:
        try:
            return self._future.result(timeout)
        finally:
            self._pool.shutdown(wait=False)


def trace_in_background(spark, action: Callable[[], Any], description: str = "") -> BackgroundTrace:
    """Start ``action`` in a thread; ``.result()`` waits for it and returns its :class:`Trace`."""
    return BackgroundTrace(spark, action, description)


def wait_for_executors(spark, count: int, timeout: float = 60.0, settle: float = 1.5) -> list[dict]:
    """Wait until at least ``count`` executors are ready to run tasks; return every ready one.

    Ready means fully registered: an executor appears in the REST API as soon as it
    registers with the driver, with only its host; its port (the block manager's) and its
    memory arrive a moment later, when its block manager registers. On a cluster, executors
    start one by one after the application, so the list must also stay the same for
    ``settle`` seconds (0: return as soon as ``count`` are ready).
    """
    ui = SparkUI(spark)
    seen: list[str] | None = None
    stable_since = time.monotonic()

    def ready() -> list[dict] | None:
        nonlocal seen, stable_since
        executors = [e for e in ui.task_executors() if ":" in e.get("hostPort", "") and e.get("maxMemory", 0) > 0]
        ids = sorted(e["id"] for e in executors)
        if ids != seen:
            seen, stable_since = ids, time.monotonic()
        settled = ui.local or time.monotonic() - stable_since >= settle
        return executors if len(executors) >= count and settled else None

    return wait_until(ready, timeout, f"{count} executor(s) to register with their host:port and memory (does "
                                      "the cluster have enough free cores and memory for this application?)",
                      interval=0.2, error=SparkUIError)


def wait_for_busy_executor(spark, timeout: float = 30.0) -> str:
    """The id of an executor (not the driver) that is running a task now."""
    ui = SparkUI(spark)

    def busy() -> str | None:
        running = sorted(e["id"] for e in ui.task_executors() if e["id"] != "driver" and e["activeTasks"] > 0)
        return running[0] if running else None

    return wait_until(busy, timeout, "an executor to run a task", error=SparkUIError)
