"""Health checks over a run's stages, tasks and executors, with Dr. Elephant's thresholds.

Dr. Elephant (LinkedIn's job tuner, github.com/linkedin/dr-elephant) grades each finding
NONE, LOW, MODERATE, SEVERE or CRITICAL by where a value falls among four ascending
thresholds (``Severity.getSeverityAscending``: at or above a threshold is that severity).
The thresholds below are its Spark defaults, read in its source (branch ``customSHSWork``,
commit 67842c4, ``app/com/linkedin/drelephant/spark/heuristics/ConfigurationHeuristicsConstants.scala``,
used by ``StagesAnalyzer.scala``; the same values are in ``app-conf/HeuristicConf.xml`` there):

- skew: the longest task's executor run time over the median's (``executorRunTime`` quantiles),
  2, 4, 8, 16 (``DEFAULT_TASK_SKEW_THRESHOLDS``);
- spill: bytes spilled from memory over the largest of input, output, shuffle read and shuffle
  write, 0.01, 0.1, 0.25, 0.5 (``DEFAULT_EXECUTION_MEMORY_SPILL_THRESHOLDS``), not flagged once a
  stage processes 3 TB or more (``DEFAULT_MAX_DATA_PROCESSED_THRESHOLD``);
- GC: JVM GC time over executor run time, 0.08, 0.09, 0.1, 0.15 (``DEFAULT_GC_SEVERITY_A_THRESHOLDS``;
  the ``master`` branch's ``ExecutorGcHeuristic.scala`` has 0.08, 0.1, 0.15, 0.2);
- failed tasks: failed over all tasks of a stage, 0.05, 0.1, 0.15, 0.2
  (``DEFAULT_TASK_FAILURE_RATE_SEVERITY_THRESHOLDS``); a failed stage is CRITICAL.

Dr. Elephant gates on duration: skew only when the longest task runs over 2.5 minutes
(``DEFAULT_TASK_SKEW_TASK_DURATION_MIN_THRESHOLD`` 150000 ms) and over 0.75 of the stage's
wall time (``DEFAULT_LONG_TASK_TO_STAGE_DURATION_RATIO``); GC only when the executors ran 5
minutes or more (``EXECUTOR_RUNTIME_THRESHOLD_IN_MINUTES``). Laptop-sized stages are far
shorter, so here the gate is a parameter, ``min_stage_s``: skew, spill and GC are checked only
on stages that ran at least that long (short stages' ratios are start-up noise), and skew also
needs the 0.75 rule. Failures are reported whatever the duration, as Dr. Elephant does.

The checks read the frames of :mod:`prodspark.monitoring.rest` or
:mod:`prodspark.monitoring.eventlog` (same columns), so they run on a live application, a
History Server, or an event log alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from prodspark.errors import ParameterError


class Severity(IntEnum):
    NONE = 0
    LOW = 1
    MODERATE = 2
    SEVERE = 3
    CRITICAL = 4


SKEW = (2, 4, 8, 16)
SPILL = (0.01, 0.1, 0.25, 0.5)
GC = (0.08, 0.09, 0.1, 0.15)
TASK_FAILURES = (0.05, 0.1, 0.15, 0.2)
LONG_TASK_TO_STAGE = 0.75  # skew counts only when the longest task is most of the stage's wall time
SPILL_EXEMPT_BYTES = 3 * 2**40  # Dr. Elephant's "3TB": above it some spill is expected
MIN_STAGE_S = 2.0  # default gate: a laptop's healthy stages mostly run well under this

STAGE_NEEDS = ("stage_id", "attempt", "status", "num_tasks", "failed_tasks", "duration_s", "executor_run_time_s",
               "gc_time_s", "input_bytes", "output_bytes", "shuffle_read_bytes", "shuffle_write_bytes",
               "memory_spilled_bytes")
TASK_NEEDS = ("stage_id", "attempt", "status", "executor_run_time_s")
EXECUTOR_NEEDS = ("executor_id", "is_active", "remove_reason")


@dataclass(frozen=True)
class Finding:
    check: str  # skew, spill, gc, failed_tasks, failed_stage, lost_executor
    stage_id: int | None  # None for an executor's finding
    severity: Severity
    value: float  # the ratio (or count) that was graded
    threshold: float  # the threshold it reached (the lowest of its severity)
    detail: str
    attempt: int = 0
    executor_id: str | None = None

    def __str__(self) -> str:
        where = f"stage {self.stage_id}" if self.stage_id is not None else f"executor {self.executor_id}"
        return f"{self.severity.name:<8} {self.check:<13} {where}: {self.detail}"


def severity(value: float, thresholds: Sequence[float]) -> Severity:
    """Dr. Elephant's ascending grading: CRITICAL at or above the 4th threshold, ... NONE below the 1st."""
    levels = _thresholds(thresholds)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Severity.NONE
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"value must be a number, got {value!r}.")
    graded = Severity.NONE
    for level, threshold in zip((Severity.LOW, Severity.MODERATE, Severity.SEVERE, Severity.CRITICAL), levels,
                                strict=True):
        if value >= threshold:
            graded = level
    return graded


def threshold_of(grade: Severity, thresholds: Sequence[float]) -> float:
    """The threshold a severity starts at (NaN for NONE)."""
    levels = _thresholds(thresholds)
    return math.nan if grade == Severity.NONE else float(levels[int(grade) - 1])


def check_stages(stages, tasks, min_stage_s: float = MIN_STAGE_S,
                 at_least: Severity = Severity.LOW) -> list[Finding]:
    """Skew, spill, GC and failed tasks of every stage attempt; findings at ``at_least`` or worse.

    stages, tasks: frames from :func:`~prodspark.monitoring.rest.stages_frame` and
    :func:`~prodspark.monitoring.rest.tasks_frame` (or their event-log twins).
    """
    _need(stages, STAGE_NEEDS, "stages", "stages_frame(api) or stages_frame_from_events(events)")
    _need(tasks, TASK_NEEDS, "tasks", "tasks_frame(api) or tasks_frame_from_events(events)")
    if isinstance(min_stage_s, bool) or not isinstance(min_stage_s, int | float) or min_stage_s < 0:
        raise ParameterError(f"min_stage_s must be a number of seconds, 0 or more, got {min_stage_s!r}.")
    findings: list[Finding] = []
    for stage in stages.itertuples(index=False):
        if stage.status in ("SKIPPED", "PENDING"):
            continue
        findings += _failures(stage)
        duration = float(stage.duration_s)
        if math.isnan(duration) or duration < min_stage_s:
            continue
        mine = tasks[(tasks["stage_id"] == stage.stage_id) & (tasks["attempt"] == stage.attempt)
                     & (tasks["status"] == "SUCCESS")]
        findings += _skew(stage, mine["executor_run_time_s"], duration)
        findings += _spill(stage)
        findings += _gc(stage)
    return sorted((f for f in findings if f.severity >= at_least),
                  key=lambda f: (-f.severity, f.stage_id if f.stage_id is not None else -1, f.check))


def check_executors(executors, at_least: Severity = Severity.LOW) -> list[Finding]:
    """Executors the application lost: inactive, with a removal reason other than the driver's own request.

    An executor the driver released (dynamic allocation: "Executor killed by driver.") is
    not a problem; one that exited, was killed or whose worker was lost is SEVERE: its tasks
    ran again elsewhere and its shuffle output had to be recomputed.
    """
    _need(executors, EXECUTOR_NEEDS, "executors", "executors_frame(api) or executors_frame_from_events(events)")
    findings = []
    for row in executors.itertuples(index=False):
        reason = str(row.remove_reason or "").strip()
        if bool(row.is_active) or row.executor_id == "driver" or not reason:
            continue
        released = "killed by driver" in reason.lower()
        grade = Severity.LOW if released else Severity.SEVERE
        failed = int(getattr(row, "failed_tasks", 0) or 0)
        detail = (f"removed ({reason}); {failed} of its task(s) failed" if not released
                  else f"released by the driver ({reason})")
        finding = Finding("lost_executor", None, grade, float(failed), 0.0, detail, executor_id=str(row.executor_id))
        if finding.severity >= at_least:
            findings.append(finding)
    return findings


# ---------------------------------------------------------------------- the checks
def _skew(stage, run_times, duration: float) -> list[Finding]:
    if len(run_times) < 2:
        return []
    longest, median = float(run_times.max()), float(run_times.median())
    if median <= 0 or longest <= LONG_TASK_TO_STAGE * duration:
        return []
    ratio = longest / median
    grade = severity(ratio, SKEW)
    if grade == Severity.NONE:
        return []
    detail = (f"longest task ran {longest:.2f} s, the median {median:.2f} s ({ratio:.1f}x), "
              f"{longest / duration:.0%} of the stage's {duration:.2f} s")
    return [Finding("skew", int(stage.stage_id), grade, ratio, threshold_of(grade, SKEW), detail, int(stage.attempt))]


def _spill(stage) -> list[Finding]:
    spilled = int(stage.memory_spilled_bytes)
    if spilled <= 0:
        return []
    largest = max(int(stage.input_bytes), int(stage.output_bytes), int(stage.shuffle_read_bytes),
                  int(stage.shuffle_write_bytes))
    if largest >= SPILL_EXEMPT_BYTES:
        return []
    ratio = spilled / largest if largest else math.inf
    grade = severity(ratio, SPILL)
    if grade == Severity.NONE:
        return []
    detail = (f"spilled {spilled / 2**20:.1f} MiB from memory, {ratio:.2f}x the {largest / 2**20:.1f} MiB "
              "it read or wrote at most")
    return [Finding("spill", int(stage.stage_id), grade, ratio, threshold_of(grade, SPILL), detail,
                    int(stage.attempt))]


def _gc(stage) -> list[Finding]:
    run = float(stage.executor_run_time_s)
    if run <= 0:
        return []
    ratio = float(stage.gc_time_s) / run
    grade = severity(ratio, GC)
    if grade == Severity.NONE:
        return []
    detail = f"{ratio:.0%} of its tasks' run time was JVM garbage collection ({stage.gc_time_s:.2f} of {run:.2f} s)"
    return [Finding("gc", int(stage.stage_id), grade, ratio, threshold_of(grade, GC), detail, int(stage.attempt))]


def _failures(stage) -> list[Finding]:
    findings = []
    if stage.status == "FAILED":
        findings.append(Finding("failed_stage", int(stage.stage_id), Severity.CRITICAL, 1.0, 1.0,
                                f"attempt {stage.attempt} failed", int(stage.attempt)))
    failed, total = int(stage.failed_tasks), int(stage.num_tasks)
    if failed and total:
        rate = failed / total
        grade = severity(rate, TASK_FAILURES)
        retried = f"; stage attempt {stage.attempt}" if stage.attempt else ""
        detail = f"{failed} failed task attempt(s) for {total} task(s) ({rate:.0%}){retried}"
        findings.append(Finding("failed_tasks", int(stage.stage_id), grade, rate,
                                threshold_of(grade, TASK_FAILURES), detail, int(stage.attempt)))
    return findings


def _thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    try:
        levels = tuple(float(t) for t in thresholds)
    except (TypeError, ValueError):
        levels = ()
    if len(levels) != 4 or any(b < a for a, b in zip(levels, levels[1:], strict=False)):
        raise ParameterError(f"thresholds must be four ascending numbers (low, moderate, severe, critical), "
                             f"got {thresholds!r}.")
    return levels


def _need(table, columns: Sequence[str], name: str, source: str) -> None:
    present = getattr(table, "columns", None)
    if present is None:
        raise ParameterError(f"{name} must be a pandas DataFrame from {source}, got {type(table).__name__}.")
    missing = [c for c in columns if c not in present]
    if missing:
        raise ParameterError(f"{name} lacks column(s) {', '.join(missing)}: build it with {source}.")
