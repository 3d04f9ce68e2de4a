"""A task timeline: one lane per executor slot, one bar per task attempt, failures marked.

A slot is a core an executor runs tasks on: two tasks of one executor that overlap in time
ran on two slots. The lanes are worked out from the tasks' own start and end times (first
free lane), so the chart shows what really ran side by side; an idle gap in a lane is a
core that had nothing to do, a long bar among short ones is a straggler (skew)::

    fig = task_timeline(tasks_frame(api), "groupBy on a skewed key")
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from prodspark.errors import ParameterError

NEEDED = ("executor_id", "stage_id", "launch_s", "duration_s", "status")
STATUS_STYLE = {  # face colour, hatch
    "SUCCESS": (None, None),
    "FAILED": ("#d62728", "xx"),
    "KILLED": ("#bbbbbb", "//"),
    "RUNNING": ("#ffdd99", None),
}
# The driver stamps a task's end when it hears of it, a few milliseconds after the core was
# given its next task (at most 16 ms measured here): closer than this is the same slot.
SLOT_TOLERANCE_S = 0.03
STAGE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2")


def slots(tasks, cores: int | Mapping[str, int] | None = None) -> list[tuple[str, int]]:
    """For each task (row order), its (executor id, slot number): the first lane free at its launch.

    cores: how many tasks an executor runs at once (one int for all, or per executor id, e.g.
    from executors_frame's total_cores). With it, an executor never gets more lanes than cores:
    a task that starts before any lane is free (time stamps taken a moment late) goes to the lane
    that frees first. Without it, lanes are what the time stamps alone say.
    """
    limit = _cores(cores)
    lanes: dict[str, list[float]] = {}  # executor -> end time of each lane's last task
    placed: dict[int, tuple[str, int]] = {}
    order = tasks.sort_values(["launch_s", "duration_s"], kind="stable").index
    for row in order:
        executor = str(tasks.at[row, "executor_id"])
        start = float(tasks.at[row, "launch_s"])
        end = start + _duration(tasks.at[row, "duration_s"])
        ends = lanes.setdefault(executor, [])
        lane = next((i for i, busy_until in enumerate(ends) if busy_until <= start + SLOT_TOLERANCE_S), len(ends))
        most = limit(executor)
        if lane == len(ends) and most is not None and len(ends) >= most:
            lane = min(range(len(ends)), key=ends.__getitem__)
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        placed[row] = (executor, lane)
    return [placed[row] for row in tasks.index]


def task_timeline(tasks, title: str, ax=None, cores: int | Mapping[str, int] | None = None):
    """Draw ``tasks`` (a tasks frame, from the REST API or an event log); return the Figure.

    cores: slots per executor (see :func:`slots`), e.g.
    ``dict(zip(executors.executor_id, executors.total_cores))`` from an executors frame.

    Bars are coloured by stage; failed task attempts are red and cross-hatched, killed ones
    grey, and labelled with their index; lanes are labelled ``executor <id> · slot <n>``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    missing = [c for c in NEEDED if c not in getattr(tasks, "columns", [])]
    if missing:
        raise ParameterError(f"tasks must be a tasks frame (tasks_frame or tasks_frame_from_events); "
                             f"missing column(s): {', '.join(missing)}.")
    if not isinstance(title, str):
        raise ParameterError(f"title must be a string, got {type(title).__name__}.")
    data = tasks[tasks["launch_s"].notna()].reset_index(drop=True)
    placed = slots(data, cores) if len(data) else []
    lanes = sorted(set(placed), key=lambda lane: (_executor_order(lane[0]), lane[1]))
    row_of = {lane: number for number, lane in enumerate(lanes)}
    if ax is None:
        _, ax = plt.subplots(figsize=(10, max(2.2, 0.42 * len(lanes) + 1.3)))
    stages = sorted(data["stage_id"].unique()) if len(data) else []
    colour = {stage: STAGE_COLOURS[number % len(STAGE_COLOURS)] for number, stage in enumerate(stages)}
    failures = 0
    for row, lane in zip(data.itertuples(index=False), placed, strict=True):
        face, hatch = STATUS_STYLE.get(row.status, (None, None))
        width = max(_duration(row.duration_s), 0.002)
        y = row_of[lane]
        ax.barh(y, width, left=row.launch_s, height=0.7, color=face or colour[row.stage_id],
                edgecolor="#222222" if hatch else "white", linewidth=0.6, hatch=hatch)
        if row.status in ("FAILED", "KILLED"):
            failures += 1
            ax.text(row.launch_s + width / 2, y, f"✗ task {getattr(row, 'index', '')}".strip(), ha="center",
                    va="center", fontsize=7, color="white" if row.status == "FAILED" else "#222222",
                    fontweight="bold")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([f"executor {executor} · slot {slot}" for executor, slot in lanes], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the application started")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=colour[stage], label=f"stage {stage}") for stage in stages]
    if failures:
        handles.append(Patch(facecolor=STATUS_STYLE["FAILED"][0], hatch="xx", edgecolor="#222222",
                             label="failed attempt"))
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=10)
    figure = ax.figure
    figure.tight_layout()
    return figure


def _cores(cores: int | Mapping[str, int] | None):
    if cores is None:
        return lambda executor: None
    if isinstance(cores, Mapping):
        table = {str(k): int(v) for k, v in cores.items()}
        if any(v < 1 for v in table.values()):
            raise ParameterError(f"cores must be whole numbers 1 or more, got {cores!r}.")
        return table.get
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ParameterError(f"cores must be a whole number 1 or more, or a dict per executor id, got {cores!r}.")
    return lambda executor: cores


def _duration(value) -> float:
    seconds = float(value) if value is not None else math.nan
    return 0.0 if math.isnan(seconds) else seconds


def _executor_order(executor: str) -> tuple[int, int | str]:
    if executor == "driver":
        return (0, 0)
    return (1, int(executor)) if executor.isdigit() else (2, executor)
