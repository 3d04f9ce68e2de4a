"""Spark's monitoring REST API, for a running application or for the History Server.

Both serve the same paths under ``/api/v1``: a running application from its web UI
(port 4040 by default, the course picks a free one), a finished one from the History
Server (port 18080), once it has read the application's event log::

    api = RestApi.for_session(spark)                       # this session's UI
    api = RestApi.for_history("http://127.0.0.1:18080", app_id)
    api.stages()                                           # one dict per stage attempt
    stages_frame(api), tasks_frame(api), executors_frame(api)

The three frames have the same columns as the ones :mod:`prodspark.monitoring.eventlog`
builds from an event log, so the same checks (:mod:`prodspark.monitoring.health`) run on
either. Field names and units are Spark's (its monitoring guide, "REST API" and "Executor
Task Metrics"): ``executorRunTime`` and ``jvmGcTime`` in milliseconds, ``memoryBytesSpilled``
(spill as sized in memory), ``diskBytesSpilled`` (as written), ``numFailedTasks``;
``taskSummary?quantiles=`` and ``stages/<id>/<attempt>?details=true&withSummaries=true``.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from prodspark.errors import CourseError, ParameterError

REST_TIMEOUT_S = 10.0
TASK_PAGE = 100_000  # tasks asked for per request (the History Server's own default page is 20)
DEFAULT_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)  # Spark's default for withSummaries and taskSummary

STAGE_COLUMNS = ["stage_id", "attempt", "name", "status", "num_tasks", "failed_tasks", "duration_s",
                 "executor_run_time_s", "gc_time_s", "input_bytes", "output_bytes", "shuffle_read_bytes",
                 "shuffle_write_bytes", "memory_spilled_bytes", "disk_spilled_bytes", "submitted_s"]
TASK_COLUMNS = ["task_id", "stage_id", "attempt", "index", "task_attempt", "executor_id", "host", "launch_s",
                "duration_s", "status", "executor_run_time_s", "gc_time_s", "input_bytes", "shuffle_read_bytes",
                "shuffle_write_bytes", "memory_spilled_bytes", "disk_spilled_bytes", "error"]
EXECUTOR_COLUMNS = ["executor_id", "host_port", "is_active", "total_cores", "max_memory_bytes", "completed_tasks",
                    "failed_tasks", "total_duration_s", "total_gc_time_s", "add_s", "remove_s", "remove_reason"]


class RestApiError(CourseError):
    """Spark's REST API could not answer; the message says which address and why."""


class RestApi:
    """The REST API of one application, at a live UI or at a History Server.

    base_url: the server, e.g. ``http://127.0.0.1:4040`` or ``http://127.0.0.1:18080``.
    app_id: the application's id (``local-…``, ``app-…``); on YARN with several attempts,
    ``<app id>/<attempt id>``.
    """

    error: type[CourseError] = RestApiError

    def __init__(self, base_url: str, app_id: str):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ParameterError(f"base_url must be an http:// or https:// address, got {base_url!r}.")
        if not isinstance(app_id, str) or not app_id.strip():
            raise ParameterError(f"app_id must be an application id such as 'local-1700000000000', got {app_id!r}.")
        url = base_url.rstrip("/")
        if url.endswith("/api/v1"):
            url = url[: -len("/api/v1")]
        self.url = url
        self.app_id = app_id.strip()
        self._start_ms: int | None = None

    @classmethod
    def for_session(cls, spark) -> RestApi:
        """The REST API of the application behind a running SparkSession (its web UI)."""
        url, app_id = session_address(spark, cls.error)
        return cls(url, app_id)

    @classmethod
    def for_history(cls, url: str, app_id: str) -> RestApi:
        """The REST API of a finished (or running) application, as a History Server serves it."""
        return cls(url, app_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, {self.app_id!r})"

    # ------------------------------------------------------------------ requests
    def get_path(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``/api/v1/<path>`` and decode its JSON."""
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        address = f"{self.url}/api/v1/{path.lstrip('/')}{query}"
        try:
            with urllib.request.urlopen(address, timeout=REST_TIMEOUT_S) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            hint = (" (a History Server lists an application only after it has read its event log: "
                    "wait a moment, or check the application id)" if exc.code == 404 else "")
            raise self.error(f"Spark's REST API answered {exc.code} {exc.reason} for {address}{hint}.") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise self.error(f"Spark's REST API did not answer {address}: {exc}") from exc

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``/api/v1/applications/<app id>/<path>``."""
        return self.get_path(f"applications/{self.app_id}/{path.lstrip('/')}", params)

    # ------------------------------------------------------------------ endpoints
    def applications(self) -> list[dict]:
        """Every application the server knows (a live UI knows only its own)."""
        return self.get_path("applications")

    def application(self) -> dict:
        """This application: name, and its attempts with start and end times."""
        return self.get_path(f"applications/{self.app_id}")

    def jobs(self) -> list[dict]:
        return self.get("jobs")

    def job(self, job_id: int) -> dict:
        return self.get(f"jobs/{_whole(job_id, 'job_id')}")

    def stages(self, details: bool = False) -> list[dict]:
        """One dict per stage attempt; ``details=True`` adds every task of each."""
        return self.get("stages", {"details": "true"} if details else None)

    def stage_attempts(self, stage_id: int) -> list[dict]:
        """Every attempt of a stage (a stage is re-attempted when shuffle output is lost)."""
        return self.get(f"stages/{_whole(stage_id, 'stage_id')}")

    def stage(self, stage_id: int, attempt: int = 0, details: bool = True,
              quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
        """One stage attempt; with ``details`` its tasks and the task and executor metric
        distributions (``details=true&withSummaries=true``, at ``quantiles``)."""
        params = {"details": "true", "withSummaries": "true", "quantiles": _quantiles(quantiles)} if details else None
        return self.get(f"stages/{_whole(stage_id, 'stage_id')}/{_whole(attempt, 'attempt')}", params)

    def task_summary(self, stage_id: int, attempt: int = 0,
                     quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
        """Each task metric of a stage attempt at the given quantiles, e.g.
        ``task_summary(3)["executorRunTime"]`` -> five numbers, milliseconds."""
        return self.get(f"stages/{_whole(stage_id, 'stage_id')}/{_whole(attempt, 'attempt')}/taskSummary",
                        {"quantiles": _quantiles(quantiles)})

    def tasks(self, stage_id: int, attempt: int = 0) -> list[dict]:
        """Every task of one stage attempt (retried tasks included), with its metrics."""
        path = f"stages/{_whole(stage_id, 'stage_id')}/{_whole(attempt, 'attempt')}/taskList"
        found: list[dict] = []
        while True:
            page = self.get(path, {"offset": len(found), "length": TASK_PAGE})
            found.extend(page)
            if len(page) < TASK_PAGE:
                return found

    def executors(self, include_dead: bool = False) -> list[dict]:
        """Every executor of the application; the driver appears as id ``"driver"``."""
        return self.get("allexecutors" if include_dead else "executors")

    def sql(self) -> list[dict]:
        """Every SQL query the application ran, with the metrics of each plan node."""
        return self.get("sql", {"details": "true", "planDescription": "false", "length": 1_000_000})

    def environment(self) -> dict:
        """Spark's settings, system properties and class path, as the Environment tab shows them."""
        return self.get("environment")

    def storage(self) -> list[dict]:
        """What is cached now: one entry per cached RDD or DataFrame, with memory and disk used."""
        return self.get("storage/rdd")

    def start_ms(self) -> int:
        """When the application started (epoch milliseconds), for times relative to it."""
        if self._start_ms is None:
            attempts = self.application().get("attempts") or [{}]
            start = attempts[-1].get("startTimeEpoch")
            found = int(start) if start is not None else _epoch_ms(attempts[-1].get("startTime"))
            if found is None:
                raise self.error(f"Spark's REST API gave no start time for application {self.app_id}.")
            self._start_ms = found
        return self._start_ms


def session_address(spark, error: type[CourseError] = RestApiError) -> tuple[str, str]:
    """The web UI address and application id of a running SparkSession."""
    context = getattr(spark, "sparkContext", None)
    if context is None:
        raise ParameterError(f"expected a SparkSession, got {type(spark).__name__}.")
    url = context.uiWebUrl
    if not url:
        raise error("This session has no web UI (spark.ui.enabled=false), so its REST API "
                    "is not available. Start it with the UI enabled.")
    return url, context.applicationId


# ---------------------------------------------------------------------- frames
def stages_frame(api: RestApi):
    """One row per stage attempt (pandas), times in seconds, sizes in bytes.

    duration_s is the stage's wall time (submitted to completed; NaN while it runs);
    executor_run_time_s and gc_time_s are summed over its tasks; submitted_s is relative
    to the application's start.
    """
    _check_api(api)
    start = api.start_ms()
    rows = [stage_row(s["stageId"], s["attemptId"], s.get("name", ""), s["status"], s["numTasks"],
                      s.get("numFailedTasks", 0), _epoch_ms(s.get("submissionTime")),
                      _epoch_ms(s.get("completionTime")), s.get("executorRunTime", 0), s.get("jvmGcTime", 0),
                      s.get("inputBytes", 0), s.get("outputBytes", 0), s.get("shuffleReadBytes", 0),
                      s.get("shuffleWriteBytes", 0), s.get("memoryBytesSpilled", 0), s.get("diskBytesSpilled", 0),
                      start)
            for s in api.stages()]
    return frame(rows, STAGE_COLUMNS, ["stage_id", "attempt"])


def tasks_frame(api: RestApi, stage_ids: Iterable[int] | None = None):
    """One row per task attempt of the given stages (all by default), pandas.

    launch_s is when the task started, relative to the application's start; duration_s
    its wall time; status SUCCESS, FAILED, KILLED or RUNNING; error the first line of
    Spark's failure message.
    """
    _check_api(api)
    wanted = None if stage_ids is None else {_whole(s, "stage id") for s in stage_ids}
    start = api.start_ms()
    rows = []
    for stage in api.stages():
        if stage["status"] in ("SKIPPED", "PENDING") or (wanted is not None and stage["stageId"] not in wanted):
            continue
        for task in api.tasks(stage["stageId"], stage["attemptId"]):
            metrics = task.get("taskMetrics") or {}
            launch = _epoch_ms(task.get("launchTime"))
            rows.append(task_row(
                task["taskId"], stage["stageId"], stage["attemptId"], task["index"], task.get("attempt", 0),
                task.get("executorId", ""), task.get("host", ""), launch, task.get("duration"),
                task.get("status", ""), metrics.get("executorRunTime", 0), metrics.get("jvmGcTime", 0),
                (metrics.get("inputMetrics") or {}).get("bytesRead", 0),
                _shuffle_read(metrics.get("shuffleReadMetrics") or {}),
                (metrics.get("shuffleWriteMetrics") or {}).get("bytesWritten", 0),
                metrics.get("memoryBytesSpilled", 0), metrics.get("diskBytesSpilled", 0),
                task.get("errorMessage"), start))
    return frame(rows, TASK_COLUMNS, ["stage_id", "attempt", "task_id"])


def executors_frame(api: RestApi, include_dead: bool = True):
    """One row per executor (the driver included), dead ones too by default, pandas.

    is_active False with a remove_reason is an executor the application lost or released;
    add_s and remove_s are relative to the application's start.
    """
    _check_api(api)
    start = api.start_ms()
    rows = [executor_row(e["id"], e.get("hostPort", ""), e.get("isActive", True), e.get("totalCores", 0),
                         e.get("maxMemory", 0), e.get("completedTasks", 0), e.get("failedTasks", 0),
                         e.get("totalDuration", 0), e.get("totalGCTime", 0), _epoch_ms(e.get("addTime")),
                         _epoch_ms(e.get("removeTime")), e.get("removeReason"), start)
            for e in api.executors(include_dead=include_dead)]
    return frame(rows, EXECUTOR_COLUMNS, ["executor_id"])


# Row builders shared with the event-log reader, so both produce the same columns and units.
def stage_row(stage_id, attempt, name, status, num_tasks, failed_tasks, submitted_ms, completed_ms,
              run_time_ms, gc_ms, input_bytes, output_bytes, shuffle_read, shuffle_write, memory_spilled,
              disk_spilled, start_ms) -> dict:
    finished = submitted_ms is not None and completed_ms is not None
    duration = (completed_ms - submitted_ms) / 1000 if finished else math.nan
    return {"stage_id": int(stage_id), "attempt": int(attempt), "name": name, "status": status,
            "num_tasks": int(num_tasks), "failed_tasks": int(failed_tasks), "duration_s": duration,
            "executor_run_time_s": run_time_ms / 1000, "gc_time_s": gc_ms / 1000, "input_bytes": int(input_bytes),
            "output_bytes": int(output_bytes), "shuffle_read_bytes": int(shuffle_read),
            "shuffle_write_bytes": int(shuffle_write), "memory_spilled_bytes": int(memory_spilled),
            "disk_spilled_bytes": int(disk_spilled), "submitted_s": _relative(submitted_ms, start_ms)}


def task_row(task_id, stage_id, attempt, index, task_attempt, executor_id, host, launch_ms, duration_ms, status,
             run_time_ms, gc_ms, input_bytes, shuffle_read, shuffle_write, memory_spilled, disk_spilled, error,
             start_ms) -> dict:
    message = (error or "").strip()
    return {"task_id": int(task_id), "stage_id": int(stage_id), "attempt": int(attempt), "index": int(index),
            "task_attempt": int(task_attempt), "executor_id": str(executor_id), "host": host,
            "launch_s": _relative(launch_ms, start_ms),
            "duration_s": duration_ms / 1000 if duration_ms is not None else math.nan, "status": status,
            "executor_run_time_s": run_time_ms / 1000, "gc_time_s": gc_ms / 1000, "input_bytes": int(input_bytes),
            "shuffle_read_bytes": int(shuffle_read), "shuffle_write_bytes": int(shuffle_write),
            "memory_spilled_bytes": int(memory_spilled), "disk_spilled_bytes": int(disk_spilled),
            "error": error_summary(message)}


def executor_row(executor_id, host_port, is_active, cores, max_memory, completed, failed, duration_ms, gc_ms,
                 added_ms, removed_ms, reason, start_ms) -> dict:
    return {"executor_id": str(executor_id), "host_port": host_port, "is_active": bool(is_active),
            "total_cores": int(cores), "max_memory_bytes": int(max_memory), "completed_tasks": int(completed),
            "failed_tasks": int(failed), "total_duration_s": duration_ms / 1000, "total_gc_time_s": gc_ms / 1000,
            "add_s": _relative(added_ms, start_ms), "remove_s": _relative(removed_ms, start_ms),
            "remove_reason": reason or ""}


def error_summary(message: str | None) -> str:
    """The line of a task's failure message that says what went wrong (for a Python error, its last line)."""
    lines = (message or "").strip().splitlines()
    if not lines:
        return ""
    first = lines[0]
    if "Traceback (most recent call last)" in first:
        python = []
        for line in lines[1:]:
            if line.lstrip().startswith("at ") and line[:1] == "\t":  # the JVM's stack begins
                break
            python.append(line)
        raised = [line for line in python if line.strip() and not line[:1].isspace()]
        if raised:
            return f"{first.split(':', 1)[0]}: {raised[-1]}"[:300]
    return first[:300]


def frame(rows: list[dict], columns: list[str], order: list[str]):
    import pandas as pd

    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(order, kind="stable").reset_index(drop=True) if len(table) else table


# ---------------------------------------------------------------------- helpers
def _shuffle_read(metrics: dict) -> int:
    if "readBytes" in metrics:
        return int(metrics["readBytes"])
    return int(metrics.get("localBytesRead", 0)) + int(metrics.get("remoteBytesRead", 0))


def _epoch_ms(stamp: str | None) -> int | None:
    """Spark's REST time stamps ("2026-12-02T05:53:41.023GMT") as epoch milliseconds."""
    if not stamp:
        return None
    try:
        moment = datetime.strptime(stamp.replace("GMT", ""), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    if moment.year < 1971:  # Spark writes 1969-12-31T23:59:59.999GMT for "not yet"
        return None
    return round(moment.timestamp() * 1000)


def _relative(moment_ms: int | None, start_ms: int) -> float:
    return (moment_ms - start_ms) / 1000 if moment_ms is not None else math.nan


def _quantiles(quantiles: Sequence[float]) -> str:
    try:
        values = [float(q) for q in quantiles]
    except (TypeError, ValueError):
        values = []
    if not values or any(not 0.0 <= q <= 1.0 for q in values) or isinstance(quantiles, str):
        raise ParameterError(f"quantiles must be numbers between 0 and 1, e.g. (0.0, 0.5, 1.0), got {quantiles!r}.")
    return ",".join(f"{q:g}" for q in values)


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{name} must be a whole number 0 or more, got {value!r}.")
    return value


def _check_api(api: object) -> None:
    if not isinstance(api, RestApi):
        raise ParameterError(f"expected a RestApi (RestApi.for_session(spark) or RestApi.for_history(url, app_id)), "
                             f"got {type(api).__name__}.")
