"""The jobs and stages of a traced action, described and drawn from Spark's own records.

Spark's REST API lists, for every job, the ids of its stages, and for every stage attempt
its status, task count and shuffle bytes. Which stage feeds which is not in the REST API:
it comes from the application's status store, the same record the web UI draws its DAG
from (the edges that cross from one stage's RDDs into another's). Everything here is read,
nothing is assumed::

    run = trace(spark, lambda: df.collect())
    for line in jobgraph.describe_jobs(run):
        print(line)
    jobgraph.plot_jobs(run, jobgraph.stage_parents(spark, run))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodspark.errors import CourseError
from prodspark.sparkui import SparkUI, Trace
from prodspark.waiting import wait_until


class JobGraphError(CourseError):
    """A trace cannot be described or drawn; the message says why."""


@dataclass(frozen=True)
class StageAttempt:
    job: int  # the first job of the trace that lists the stage
    stage: int
    attempt: int
    status: str  # COMPLETE, SKIPPED, FAILED
    tasks: int  # tasks of the stage (one per partition)
    tasks_run: int  # tasks this attempt finished or failed (a re-attempt runs only what was lost)
    shuffle_read: int  # bytes
    shuffle_write: int  # bytes
    input_bytes: int

    @property
    def ran(self) -> bool:
        return self.status != "SKIPPED"


def stage_attempts(run: Trace) -> list[StageAttempt]:
    """Every stage attempt of the trace, in job, stage and attempt order."""
    _check_trace(run)
    rows = [StageAttempt(_first_job(run, s["stageId"]), s["stageId"], s["attemptId"], s["status"],
                         s["numTasks"], s.get("numCompleteTasks", 0) + s.get("numFailedTasks", 0),
                         s.get("shuffleReadBytes", 0), s.get("shuffleWriteBytes", 0), s.get("inputBytes", 0))
            for s in run.stages]
    return sorted(rows, key=lambda r: (r.job, r.stage, r.attempt))


def describe_jobs(run: Trace) -> list[str]:
    """One line per job of the trace: which stages it skipped and what each stage it ran did.

    Stage ids are written ``#n``: they count up through the session, and the course's tests
    read ``#n`` as a run-to-run value.
    """
    _check_trace(run)
    attempts = stage_attempts(run)
    lines = []
    for number, job in enumerate(sorted(run.jobs, key=lambda j: j["jobId"]), 1):
        mine = [a for a in attempts if a.stage in job["stageIds"]]
        ran = [a for a in mine if a.ran and a.job == job["jobId"]]
        skipped = sorted({a.stage for a in mine if not a.ran})
        parts = [f"job {number} of {len(run.jobs)}:"]
        if skipped:
            parts.append(f"skips stage(s) {', '.join(f'#{s}' for s in skipped)} (their shuffle output exists),")
        parts.append("; ".join(_what_it_did(a) for a in ran) or "runs nothing")
        lines.append(" ".join(parts))
    return lines


def _what_it_did(attempt: StageAttempt) -> str:
    source = "reads shuffle output" if attempt.shuffle_read else "reads its input"
    sink = "writes shuffle output" if attempt.shuffle_write else "returns its result to the driver"
    retry = f" (attempt {attempt.attempt}, re-running {attempt.tasks_run} of them)" if attempt.attempt else ""
    return f"runs stage #{attempt.stage}, {attempt.tasks} task(s){retry}: {source}, {sink}"


@dataclass(frozen=True)
class RunningStage:
    job: int
    stage: int
    other_stages: tuple[int, ...]  # the job's other stages (for a two-stage job: the map stage)


def wait_for_running_stage(spark, tasks: int, timeout: float = 60.0) -> RunningStage:
    """Wait until a stage of ``tasks`` tasks has been submitted and is running; return it.

    Read from Spark's StatusTracker: the active jobs, their stages, and which stages are
    active. (Its count of running tasks is refreshed at most every 100 ms, so a second task
    that starts right after the first can go unseen for a while: this waits for the stage.)
    """
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise JobGraphError(f"tasks must be a whole number 1 or more, got {tasks!r}.")
    tracker = spark.sparkContext.statusTracker()

    def running_stage() -> RunningStage | None:
        active = set(tracker.getActiveStageIds())
        for job_id in tracker.getActiveJobsIds():
            job = tracker.getJobInfo(job_id)
            for stage_id in (job.stageIds if job else []):
                stage = tracker.getStageInfo(stage_id)
                if stage is not None and stage_id in active and stage.numTasks == tasks:
                    return RunningStage(job_id, stage_id, tuple(s for s in job.stageIds if s != stage_id))
        return None

    return wait_until(running_stage, timeout, f"a running stage of {tasks} task(s)", error=JobGraphError)


def stage_parents(spark, run: Trace) -> dict[int, list[int]]:
    """For each stage of the trace, the stages whose output it reads (its parents), per Spark.

    Read from the application's status store: the operation graph of each job, whose
    incoming edges join an RDD of a parent stage to an RDD of this stage.
    """
    _check_trace(run)
    rdds_of = {s["stageId"]: set(s.get("rddIds", [])) for s in run.stages}
    store = spark.sparkContext._jsc.sc().statusStore()
    parents: dict[int, set[int]] = {stage: set() for stage in rdds_of}
    for job in run.jobs:
        in_job = [s for s in job["stageIds"] if s in rdds_of]
        graphs = store.operationGraphForJob(job["jobId"])
        for index in range(graphs.size()):
            graph = graphs.apply(index)
            stage = _stage_of_cluster(graph.rootCluster().id())
            if stage not in parents:
                continue
            edges = graph.incomingEdges()
            for number in range(edges.size()):
                source_rdd = edges.apply(number).fromId()
                parents[stage] |= {s for s in in_job if s != stage and source_rdd in rdds_of[s]}
    return {stage: sorted(found) for stage, found in parents.items()}


def _stage_of_cluster(cluster_id: str) -> int:
    # The web UI names each stage's cluster "stage_<id>".
    try:
        return int(str(cluster_id).rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return -1


def task_failures(spark, run: Trace) -> list[dict[str, Any]]:
    """The failed tasks of the trace: stage, attempt, partition, executor and Spark's reason."""
    _check_trace(run)
    ui = SparkUI(spark)
    failures = []
    for attempt in stage_attempts(run):
        if not attempt.ran or attempt.tasks_run == 0:
            continue
        for task in ui.tasks(attempt.stage, attempt.attempt):
            if task.get("status") in ("FAILED", "KILLED"):
                message = (task.get("errorMessage") or "").strip()
                failures.append({"stage": attempt.stage, "attempt": attempt.attempt, "partition": task["index"],
                                 "executor": task.get("executorId"), "reason": failure_kind(message),
                                 "message": message.splitlines()[0][:160] if message else ""})
    return failures


def failure_kind(message: str) -> str:
    """The kind of a task failure from Spark's message: FetchFailed, ExecutorLostFailure, ..."""
    text = message.strip()
    if not text:
        return "unknown"
    for stop in ("(", ":", " "):
        text = text.split(stop, 1)[0]
    return text.rsplit(".", 1)[-1] or "unknown"


def plot_jobs(run: Trace, parents: dict[int, list[int]] | None = None, ax=None, title: str = ""):
    """Draw the trace: one row per job, one box per stage, arrows where a stage reads another's shuffle.

    Boxes show the stage id, its task count and its shuffle bytes; skipped stages are
    hatched, failed attempts red. A stage sits one column right of its deepest parent.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    _check_trace(run)
    attempts = stage_attempts(run)
    parents = parents or {}
    jobs = sorted(run.jobs, key=lambda j: j["jobId"])
    depth: dict[int, int] = {}

    def depth_of(stage: int, seen: frozenset[int] = frozenset()) -> int:
        if stage not in depth:
            ups = [p for p in parents.get(stage, []) if p not in seen]
            depth[stage] = 1 + max((depth_of(p, seen | {stage}) for p in ups), default=-1)
        return depth[stage]

    columns = max((depth_of(a.stage) for a in attempts), default=0) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 * columns + 2.4, 1.15 * len(jobs) + 0.9))
    width, height = 1.9, 0.72
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for row, job in enumerate(jobs):
        y = -row * 1.1
        ax.text(-0.25, y, f"job {job['jobId']}", ha="right", va="center", fontsize=9, fontweight="bold")
        stages = [a for a in attempts if a.stage in job["stageIds"]]
        slots: dict[int, int] = {}
        for attempt in stages:
            column = depth_of(attempt.stage)
            x = column * 2.6 + 0.22 * slots.get(column, 0)
            slots[column] = slots.get(column, 0) + 1
            where[(job["jobId"], attempt.stage)] = (x, y)
            face = {"SKIPPED": "#eeeeee", "FAILED": "#f4b6b6"}.get(attempt.status, "#cfe2f3")
            ax.add_patch(FancyBboxPatch((x, y - height / 2), width, height, boxstyle="round,pad=0.02",
                                        facecolor=face, edgecolor="#555555",
                                        hatch="//" if attempt.status == "SKIPPED" else None))
            label = f"stage {attempt.stage}" + (f" attempt {attempt.attempt}" if attempt.attempt else "")
            detail = (f"{attempt.status.lower()}, {attempt.tasks} task(s)" if attempt.ran
                      else "skipped: output exists")
            io = (f"read {_size(attempt.shuffle_read)} · write {_size(attempt.shuffle_write)}"
                  if attempt.ran else "")
            ax.text(x + width / 2, y, "\n".join(t for t in (label, detail, io) if t),
                    ha="center", va="center", fontsize=7.5)
        for attempt in stages:
            for parent in parents.get(attempt.stage, []):
                start, end = where.get((job["jobId"], parent)), where.get((job["jobId"], attempt.stage))
                if start and end:
                    ax.add_patch(FancyArrowPatch((start[0] + width, start[1]), (end[0], end[1]),
                                                 arrowstyle="-|>", mutation_scale=10, color="#333333"))
    ax.set_xlim(-1.3, columns * 2.6 + 0.2)
    ax.set_ylim(-(len(jobs) - 1) * 1.1 - 0.6, 0.75)
    ax.axis("off")
    ax.set_title(title or f"{run.description}: an arrow is a shuffle (the right stage reads the left's output)",
                 fontsize=10)
    return ax


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = float(count)
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"


def _first_job(run: Trace, stage_id: int) -> int:
    return min((j["jobId"] for j in run.jobs if stage_id in j["stageIds"]), default=-1)


def _check_trace(run: object) -> None:
    if not isinstance(run, Trace):
        raise JobGraphError(f"expected the Trace that prodspark.sparkui.trace returns, got {type(run).__name__}.")
