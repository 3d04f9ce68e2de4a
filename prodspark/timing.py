"""Measure instead of assert: small timing helpers used by every lesson."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


@dataclass
class Measurement:
    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def measure(action: Callable[[], object], repeat: int = 3, warmup: int = 0) -> Measurement:
    """Run ``action`` ``warmup`` times unmeasured, then ``repeat`` times measured."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        action()
    result = Measurement()
    for _ in range(repeat):
        with Timer() as timer:
            action()
        result.runs.append(timer.seconds)
    return result


def format_seconds(seconds: float) -> str:
    """3 significant digits with a unit: 0.000123 -> '123 µs', 12.3 -> '12.3 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
