"""Plots of a pipeline run (matplotlib)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prodspark.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from prodspark.pipeline.job import RunMetrics


def quarantine_reasons(metrics: RunMetrics) -> Figure:
    """Horizontal bars: the run's quarantined records per reason, in the order the rules apply,
    each bar labelled with its count (a rule no record broke shows 0)."""
    import matplotlib.pyplot as plt

    from prodspark.pipeline.job import RunMetrics

    if not isinstance(metrics, RunMetrics):
        raise ParameterError(f"metrics must be the RunMetrics of a pipeline run, got {type(metrics).__name__}.")
    reasons, counts = list(metrics.quarantined), list(metrics.quarantined.values())
    figure, axis = plt.subplots(figsize=(7, 0.8 + 0.32 * len(reasons)))
    bars = axis.barh(reasons, counts, color="#d9822b")
    axis.bar_label(bars, labels=[f"{count:,}" for count in counts], padding=3, fontsize="small")
    axis.invert_yaxis()  # the first rule on top
    axis.set_xlim(0, max([*counts, 1]) * 1.15)  # room for the labels
    axis.set_xlabel("records quarantined")
    axis.set_title(f"Run {metrics.run_id}: {metrics.quarantined_total:,} of {metrics.records_in:,} records "
                   "quarantined, by reason", fontsize="medium")
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
