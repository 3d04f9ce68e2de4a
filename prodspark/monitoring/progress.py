"""A job's progress as Spark's StatusTracker reports it, sampled in a background thread.

PySpark 4.1's StatusTracker has exactly five methods: ``getActiveJobsIds``,
``getActiveStageIds``, ``getJobIdsForGroup``, ``getJobInfo`` and ``getStageInfo``
(``pyspark/core/status.py``); the poller uses nothing else. A stage's counts
(``numTasks``, ``numCompletedTasks``, ``numActiveTasks``, ``numFailedTasks``) are those the
web UI shows, refreshed by Spark's listener a moment after each task event::

    with ProgressPoller(spark, interval=0.1) as poller:
        df.groupBy("key").count().collect()
    poller.frame()     # t (seconds since the poller started), job_id, stage_id, counts
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from prodspark.errors import CourseError, ParameterError


class ProgressError(CourseError):
    """The StatusTracker could not be polled; the message says why."""


@dataclass(frozen=True)
class ProgressSample:
    t: float  # seconds since the poller started (time.monotonic)
    job_id: int
    stage_id: int
    num_tasks: int
    completed: int
    active: int
    failed: int


class ProgressPoller:
    """Poll the StatusTracker every ``interval`` seconds until stopped; thread-safe.

    Each poll records one sample per stage of every active job (of ``group`` only, if
    given). A stage seen unfinished is polled once more after its job ends, so its last
    sample shows its final counts even when the job ended between two polls.
    """

    def __init__(self, spark, interval: float = 0.1, group: str | None = None):
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ParameterError(f"interval must be a number of seconds above 0, got {interval!r}.")
        context = getattr(spark, "sparkContext", None)
        if context is None:
            raise ParameterError(f"expected a SparkSession, got {type(spark).__name__}.")
        self.interval = float(interval)
        self.group = group
        self._tracker = context.statusTracker()
        self._lock = threading.Lock()  # guards the samples
        self._poll_lock = threading.Lock()  # one poll at a time (the thread, or a direct call)
        self._samples: list[ProgressSample] = []
        self._open: dict[int, int] = {}  # stage id -> job id, stages not finished when last seen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._started = 0.0
        self.polls = 0

    # ---------------------------------------------------------------- life cycle
    def start(self) -> ProgressPoller:
        if self._thread is not None:
            raise ProgressError("this poller has already been started; make a new ProgressPoller.")
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="prodspark-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling (after one last poll) and wait for the thread; raise what it hit, if anything."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise ProgressError(f"the progress thread did not stop within {timeout:g} s.")
        if self._error is not None:
            error, self._error = self._error, None
            raise ProgressError(f"polling Spark's StatusTracker failed: {error}") from error

    def __enter__(self) -> ProgressPoller:
        return self.start()

    def __exit__(self, kind, value, traceback) -> None:
        try:
            self.stop()
        except ProgressError:
            if kind is None:  # the block's own exception matters more than the poller's
                raise

    # ---------------------------------------------------------------- results
    @property
    def samples(self) -> list[ProgressSample]:
        """A copy of the samples so far (safe to read while polling goes on)."""
        with self._lock:
            return list(self._samples)

    def frame(self):
        """The samples as a pandas DataFrame: t, job_id, stage_id, num_tasks, completed, active, failed."""
        import pandas as pd

        columns = [name for name in ProgressSample.__dataclass_fields__]
        return pd.DataFrame([asdict(s) for s in self.samples], columns=columns)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---------------------------------------------------------------- polling
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.poll()
                self._stop.wait(self.interval)
            self.poll()  # the state when stopped: a job that just ended shows its last counts
        except Exception as exc:  # a stopped SparkContext, a broken gateway: reported by stop()
            self._error = exc

    def poll(self) -> list[ProgressSample]:
        """Take one round of samples now (the thread calls this; it can be called directly too)."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> list[ProgressSample]:
        t = time.monotonic() - self._started
        tracker = self._tracker
        if self.group is not None:
            active = set(tracker.getActiveJobsIds())
            jobs = [j for j in tracker.getJobIdsForGroup(self.group) if j in active]
        else:
            jobs = list(tracker.getActiveJobsIds())
        current: dict[int, int] = {}
        for job_id in jobs:
            info = tracker.getJobInfo(job_id)
            for stage_id in (list(info.stageIds) if info is not None else []):
                current[int(stage_id)] = int(job_id)
        wanted = {**self._open, **current}  # a stage left open last time is sampled once more
        self._open = {}
        taken = []
        for stage_id, job_id in sorted(wanted.items()):
            stage: Any = tracker.getStageInfo(stage_id)
            if stage is None:
                continue
            sample = ProgressSample(round(t, 4), job_id, stage_id, stage.numTasks, stage.numCompletedTasks,
                                    stage.numActiveTasks, stage.numFailedTasks)
            taken.append(sample)
            if stage_id in current and sample.completed < sample.num_tasks:
                self._open[stage_id] = job_id
        with self._lock:
            self._samples.extend(taken)
            self.polls += 1
        return taken
