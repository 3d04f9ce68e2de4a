"""Spark's event logs read back without any server: the record the History Server replays.

What Spark 4.1 writes by default, once ``spark.eventLog.enabled`` is on (checked in Spark's
``core/.../internal/config/package.scala`` and on a real run):

- ``spark.eventLog.rolling.enabled`` true: a folder ``eventlog_v2_<app id>`` holding
  ``events_1_<app id>.zstd``, ``events_2_…`` (a new file every
  ``spark.eventLog.rolling.maxFileSize``, 128m) and an ``appstatus_<app id>[.inprogress]``
  marker; with rolling off, one file ``<app id>.zstd`` (``.inprogress`` while it runs);
- ``spark.eventLog.compress`` true, ``spark.eventLog.compression.codec`` zstd: each file
  is a run of zstd frames (Spark flushes a frame at a time), so a file that is still being
  written ends in a frame or a line that is not finished yet.

Each line is one listener event as JSON. :func:`read_events` streams them, file by file in
numeric order, decompressing as it goes; what is not complete yet (an unfinished frame or
line) is left out, and the reader says so in :attr:`EventLog.incomplete`::

    events = read_events(find_event_log(log_dir, app_id))
    stages = stages_frame_from_events(events)   # the columns of rest.stages_frame
    tasks = tasks_frame_from_events(events)     # the columns of rest.tasks_frame
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prodspark.errors import CourseError, ParameterError
from prodspark.monitoring.rest import (
    EXECUTOR_COLUMNS,
    STAGE_COLUMNS,
    TASK_COLUMNS,
    executor_row,
    frame,
    stage_row,
    task_row,
)

ROLLED_PREFIX = "eventlog_v2_"
CODECS = ("zstd", "lz4", "lzf", "snappy")  # the short names Spark gives spark.eventLog.compression.codec
READ_CHUNK = 1 << 20
_ROLLED_FILE = re.compile(r"events_(\d+)_(.+?)(\.(zstd|lz4|lzf|snappy))?(\.compact)?$")


class EventLogError(CourseError):
    """An event log cannot be found or read; the message says which file and why."""


def find_event_log(log_dir: str | Path, app_id: str) -> Path:
    """The event log of ``app_id`` in ``log_dir``: its ``eventlog_v2_`` folder, or its single file."""
    if not isinstance(app_id, str) or not app_id.strip():
        raise ParameterError(f"app_id must be an application id such as 'local-1700000000000', got {app_id!r}.")
    folder = _as_path(log_dir, "log_dir")
    if not folder.is_dir():
        raise EventLogError(f"{folder} is not a folder of event logs (spark.eventLog.dir). Was the application "
                            "started with event logs on (start_spark(event_log_dir=...))?")
    rolled = folder / f"{ROLLED_PREFIX}{app_id}"
    if rolled.is_dir():
        return rolled
    for suffix in ("", *(f".{codec}" for codec in CODECS)):
        for progress in ("", ".inprogress"):
            single = folder / f"{app_id}{suffix}{progress}"
            if single.is_file():
                return single
    present = sorted(p.name for p in folder.iterdir())[:8]
    raise EventLogError(f"no event log of application {app_id} in {folder} (it holds: "
                        f"{', '.join(present) or 'nothing'}). Event logs are written only by applications "
                        "started with spark.eventLog.enabled=true.")


class EventLog:
    """The events of one log, in order; iterating reads the files again, so it can be reused.

    After an iteration, :attr:`incomplete` lists what was left out because it is not finished
    yet (the application still runs, or its log was cut), and :attr:`in_progress` tells whether
    Spark still marks the log as being written.
    """

    def __init__(self, path: str | Path):
        self.path = _as_path(path, "path")
        if not self.path.exists():
            raise EventLogError(f"{self.path} does not exist: find it with find_event_log(log_dir, app_id).")
        self.files = _log_files(self.path)
        self.in_progress = _in_progress(self.path)
        self.incomplete: list[str] = []

    def __iter__(self) -> Iterator[dict]:
        self.incomplete = []
        for file in self.files:
            yield from self._events(file)

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r}, {len(self.files)} file(s))"

    def _events(self, file: Path) -> Iterator[dict]:
        number = 0
        for line, complete in _lines(file, _codec(file), self.incomplete):
            number += 1
            if not complete:
                self.incomplete.append(f"{file.name}: the last line ({len(line)} bytes) is not finished yet")
                return
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise EventLogError(f"{file}, line {number}, is not a JSON event ({exc}): "
                                    "the file is damaged, or it is not a Spark event log.") from None


def read_events(path: str | Path) -> EventLog:
    """The events of an event log (a rolled folder or a single file), as dicts, in order."""
    return EventLog(path)


def _lines(file: Path, codec: str | None, notes: list[str]) -> Iterator[tuple[bytes, bool]]:
    """The lines of a file, decompressed as they are read; the last one flagged if unfinished."""
    pending = b""
    for chunk in _decompressed(file, codec, notes):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line, True
    if pending:
        yield pending, False


def _decompressed(file: Path, codec: str | None, notes: list[str]) -> Iterator[bytes]:
    if codec is None:
        with file.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk
        return
    if codec != "zstd":
        raise EventLogError(f"{file.name} is compressed with {codec}; the course reads zstd (Spark's default "
                            "spark.eventLog.compression.codec) and uncompressed logs. Run the application with "
                            "spark.eventLog.compression.codec=zstd, or spark.eventLog.compress=false.")
    import zstandard

    decompressor = zstandard.ZstdDecompressor()
    frame_reader = decompressor.decompressobj()
    in_frame = False  # bytes of a frame fed, its end not seen yet
    with file.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            data = chunk
            while data:
                try:
                    out = frame_reader.decompress(data)
                except zstandard.ZstdError as exc:
                    raise EventLogError(f"{file} is not valid zstd data ({exc}): the file is damaged, or not "
                                        "compressed with zstd.") from None
                in_frame = True
                if out:
                    yield out
                if frame_reader.eof:  # Spark writes many frames one after another
                    data, in_frame = frame_reader.unused_data, False
                    frame_reader = decompressor.decompressobj()
                else:
                    data = b""
    if in_frame:  # what the unfinished frame held so far was yielded; _lines leaves out the line it cut
        notes.append(f"{file.name}: its last zstd frame is not finished yet (the application is still writing it)")


def _codec(file: Path) -> str | None:
    name = file.name.removesuffix(".inprogress").removesuffix(".compact")
    suffix = name.rsplit(".", 1)[-1] if "." in name.split("_")[-1] else ""
    if not suffix or suffix.isdigit():  # local-1700000000000 has no dot; a codec's name is letters
        return None
    if suffix in CODECS:
        return suffix
    raise EventLogError(f"{file.name}: unknown event log codec {suffix!r} (Spark's are {', '.join(CODECS)}).")


def _log_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    numbered = []
    for file in path.iterdir():
        found = _ROLLED_FILE.fullmatch(file.name)
        if found:
            numbered.append((int(found.group(1)), file.name.endswith(".compact"), file))
    if not numbered:
        raise EventLogError(f"{path} holds no events_<n>_<app id> files: not a rolled Spark event log.")
    numbered.sort(key=lambda entry: entry[0])
    # A compacted file replaces every file up to its number (spark.history.fs.eventLog.rolling.maxFilesToRetain).
    compacted = [index for index, (_, compact, _) in enumerate(numbered) if compact]
    start = compacted[-1] if compacted else 0
    return [file for _, _, file in numbered[start:]]


def _in_progress(path: Path) -> bool:
    if path.is_file():
        return path.name.endswith(".inprogress")
    return any(p.name.startswith("appstatus_") and p.name.endswith(".inprogress") for p in path.iterdir())


def _as_path(value: object, name: str) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value:
        return Path(value.removeprefix("file://"))
    raise ParameterError(f"{name} must be a folder or file path, got {value!r}.")


# ---------------------------------------------------------------------- what the events say
def app_info(events: Iterable[dict]) -> dict[str, Any]:
    """The application: id, name, user, Spark version, start and end (epoch ms), whether it ended."""
    info: dict[str, Any] = {"app_id": None, "name": None, "user": None, "spark_version": None,
                            "start_ms": None, "end_ms": None, "completed": False, "duration_s": None}
    for event in events:
        kind = event.get("Event")
        if kind == "SparkListenerLogStart":
            info["spark_version"] = event.get("Spark Version")
        elif kind == "SparkListenerApplicationStart":
            info.update(app_id=event.get("App ID"), name=event.get("App Name"), user=event.get("User"),
                        start_ms=event.get("Timestamp"))
        elif kind == "SparkListenerApplicationEnd":
            info.update(end_ms=event.get("Timestamp"), completed=True)
    if info["start_ms"] is not None and info["end_ms"] is not None:
        info["duration_s"] = (info["end_ms"] - info["start_ms"]) / 1000
    return info


def stages_frame_from_events(events: Iterable[dict]):
    """One row per stage attempt, the columns of :func:`prodspark.monitoring.rest.stages_frame`.

    Task metrics are summed from the tasks' end events, as Spark's status store sums them;
    a stage a job listed but never submitted is SKIPPED once the job ended (PENDING before).
    """
    start, stages, tasks, listed = _replay(events)
    totals: dict[tuple[int, int], dict[str, int]] = {}
    for task in tasks:
        total = totals.setdefault((task["stage_id"], task["attempt"]), {})
        for key in ("run_ms", "gc_ms", "input", "output", "shuffle_read", "shuffle_write", "memory_spilled",
                    "disk_spilled"):
            total[key] = total.get(key, 0) + task[key]
        total["failed"] = total.get("failed", 0) + (task["status"] == "FAILED")
    rows = []
    for (stage_id, attempt), stage in stages.items():
        total = totals.get((stage_id, attempt), {})
        rows.append(stage_row(stage_id, attempt, stage["name"], stage["status"], stage["num_tasks"],
                              total.get("failed", 0), stage["submitted_ms"], stage["completed_ms"],
                              total.get("run_ms", 0), total.get("gc_ms", 0), total.get("input", 0),
                              total.get("output", 0), total.get("shuffle_read", 0), total.get("shuffle_write", 0),
                              total.get("memory_spilled", 0), total.get("disk_spilled", 0), start))
    for stage_id, (name, num_tasks, job_ended) in listed.items():
        if not any(key[0] == stage_id for key in stages):
            rows.append(stage_row(stage_id, 0, name, "SKIPPED" if job_ended else "PENDING", num_tasks, 0, None,
                                  None, 0, 0, 0, 0, 0, 0, 0, 0, start))
    return frame(rows, STAGE_COLUMNS, ["stage_id", "attempt"])


def tasks_frame_from_events(events: Iterable[dict], stage_ids: Iterable[int] | None = None):
    """One row per finished task attempt, the columns of :func:`prodspark.monitoring.rest.tasks_frame`."""
    wanted = None if stage_ids is None else set(stage_ids)
    start, _, tasks, _ = _replay(events)
    rows = [task_row(t["task_id"], t["stage_id"], t["attempt"], t["index"], t["task_attempt"], t["executor_id"],
                     t["host"], t["launch_ms"], t["duration_ms"], t["status"], t["run_ms"], t["gc_ms"], t["input"],
                     t["shuffle_read"], t["shuffle_write"], t["memory_spilled"], t["disk_spilled"], t["error"], start)
            for t in tasks if wanted is None or t["stage_id"] in wanted]
    return frame(rows, TASK_COLUMNS, ["stage_id", "attempt", "task_id"])


def executors_frame_from_events(events: Iterable[dict]):
    """One row per executor, the columns of :func:`prodspark.monitoring.rest.executors_frame`."""
    start: int | None = None
    executors: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            start = event.get("Timestamp")
        elif kind == "SparkListenerExecutorAdded":
            info = event.get("Executor Info", {})
            entry = executors.setdefault(str(event["Executor ID"]), _new_executor())
            entry.update(host=info.get("Host", ""), cores=info.get("Total Cores", 0), added=event.get("Timestamp"))
        elif kind == "SparkListenerBlockManagerAdded":
            manager = event.get("Block Manager ID", {})
            entry = executors.setdefault(str(manager.get("Executor ID")), _new_executor())
            entry.update(host_port=f"{manager.get('Host', '')}:{manager.get('Port', '')}",
                         max_memory=event.get("Maximum Memory", 0))
            if entry["added"] is None:
                entry["added"] = event.get("Timestamp")
        elif kind == "SparkListenerExecutorRemoved":
            entry = executors.setdefault(str(event["Executor ID"]), _new_executor())
            entry.update(active=False, removed=event.get("Timestamp"), reason=event.get("Removed Reason", ""))
        elif kind == "SparkListenerTaskEnd":
            info = event.get("Task Info", {})
            entry = executors.setdefault(str(info.get("Executor ID")), _new_executor())
            metrics = event.get("Task Metrics") or {}
            entry["failed" if info.get("Failed") else "completed"] += 0 if info.get("Killed") else 1
            entry["duration_ms"] += max(0, info.get("Finish Time", 0) - info.get("Launch Time", 0))
            entry["gc_ms"] += metrics.get("JVM GC Time", 0)
    if start is None:
        raise EventLogError("the events hold no SparkListenerApplicationStart: not the start of a Spark event log.")
    rows = [executor_row(executor_id, e["host_port"] or e["host"], e["active"], e["cores"], e["max_memory"],
                         e["completed"], e["failed"], e["duration_ms"], e["gc_ms"], e["added"], e["removed"],
                         e["reason"], start)
            for executor_id, e in executors.items()]
    return frame(rows, EXECUTOR_COLUMNS, ["executor_id"])


def _new_executor() -> dict[str, Any]:
    return {"host": "", "host_port": "", "active": True, "cores": 0, "max_memory": 0, "completed": 0, "failed": 0,
            "duration_ms": 0, "gc_ms": 0, "added": None, "removed": None, "reason": ""}


def _replay(events: Iterable[dict]):
    """Stage attempts, finished tasks and the stages jobs listed, from the listener events."""
    if isinstance(events, (str, Path)):
        raise ParameterError("pass the events (read_events(path)), not the path itself.")
    start: int | None = None
    stages: dict[tuple[int, int], dict[str, Any]] = {}
    tasks: list[dict[str, Any]] = []
    listed: dict[int, tuple[str, int, bool]] = {}
    job_stages: dict[int, list[int]] = {}
    for event in events:
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            start = event.get("Timestamp")
        elif kind == "SparkListenerJobStart":
            ids = []
            for info in event.get("Stage Infos", []):
                ids.append(info["Stage ID"])
                listed[info["Stage ID"]] = (info.get("Stage Name", ""), info.get("Number of Tasks", 0), False)
            job_stages[event["Job ID"]] = ids
        elif kind == "SparkListenerJobEnd":
            for stage_id in job_stages.get(event["Job ID"], []):
                name, num_tasks, _ = listed[stage_id]
                listed[stage_id] = (name, num_tasks, True)
        elif kind in ("SparkListenerStageSubmitted", "SparkListenerStageCompleted"):
            info = event["Stage Info"]
            key = (info["Stage ID"], info.get("Stage Attempt ID", 0))
            failed = kind == "SparkListenerStageCompleted" and info.get("Failure Reason")
            status = "FAILED" if failed else "COMPLETE" if kind == "SparkListenerStageCompleted" else "ACTIVE"
            stages[key] = {"name": info.get("Stage Name", ""), "num_tasks": info.get("Number of Tasks", 0),
                           "submitted_ms": info.get("Submission Time"),
                           "completed_ms": info.get("Completion Time") if status != "ACTIVE" else None,
                           "status": status}
        elif kind == "SparkListenerTaskEnd":
            tasks.append(_task(event))
    if start is None:
        raise EventLogError("the events hold no SparkListenerApplicationStart: not the start of a Spark event log.")
    return start, stages, tasks, listed


def _task(event: dict) -> dict[str, Any]:
    info = event.get("Task Info", {})
    metrics = event.get("Task Metrics") or {}
    shuffle_read = metrics.get("Shuffle Read Metrics") or {}
    reason = event.get("Task End Reason") or {}
    status = "KILLED" if info.get("Killed") else "FAILED" if info.get("Failed") else "SUCCESS"
    error = ""
    if status != "SUCCESS":
        kind = reason.get("Reason", "")
        if kind == "ExceptionFailure":
            error = f"{reason.get('Class Name', '')}: {reason.get('Description', '')}"
        else:
            detail = reason.get("Message") or reason.get("Loss Reason") or reason.get("Kill Reason") or ""
            error = f"{kind}: {detail}" if detail else kind
    launch, finish = info.get("Launch Time"), info.get("Finish Time")
    return {"task_id": info.get("Task ID"), "stage_id": event.get("Stage ID"),
            "attempt": event.get("Stage Attempt ID", 0), "index": info.get("Index", 0),
            "task_attempt": info.get("Attempt", 0),
            "executor_id": info.get("Executor ID", ""), "host": info.get("Host", ""), "launch_ms": launch,
            "duration_ms": finish - launch if launch and finish else None, "status": status,
            "run_ms": metrics.get("Executor Run Time", 0), "gc_ms": metrics.get("JVM GC Time", 0),
            "input": (metrics.get("Input Metrics") or {}).get("Bytes Read", 0),
            "output": (metrics.get("Output Metrics") or {}).get("Bytes Written", 0),
            "shuffle_read": shuffle_read.get("Remote Bytes Read", 0) + shuffle_read.get("Local Bytes Read", 0),
            "shuffle_write": (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0),
            "memory_spilled": metrics.get("Memory Bytes Spilled", 0),
            "disk_spilled": metrics.get("Disk Bytes Spilled", 0), "error": error}
