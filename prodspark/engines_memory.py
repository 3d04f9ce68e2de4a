"""pandas' peak memory per input row, and the input size at which it would run out (module 01).

pandas holds its whole input, and every intermediate result, in the process's memory. What
decides whether a job fits is the peak: the Parquet file read into Arrow buffers, converted
to a DataFrame, and grouped. So each size is measured in a fresh Python process: its resident
memory after importing pandas, and its peak while running
:func:`prodspark.engines.pandas_aggregate`; the growth is what the aggregation needed. Two
sizes give a cost per extra row that excludes what any run needs whatever its size. (On
Linux the peak is reset after the imports, through ``/proc/self/clear_refs``; elsewhere it
is the process's lifetime peak, which counts the imports' if they peaked higher.)::

    limit = pandas_memory_limit(files)
    print(limit)

Run as ``python -m prodspark.engines_memory PATH`` it measures one folder and prints JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prodspark.errors import CourseError, ParameterError

MEASURE_TIMEOUT_S = 300.0


class MemoryMeasurementFailed(CourseError):
    """A measuring process did not report its peak memory."""


@dataclass(frozen=True)
class PeakMemory:
    rows: int
    peak_growth_bytes: int  # peak resident memory during the aggregation, above the process's after imports
    pandas_import_seconds: float  # importing pandas and pyarrow in the fresh process
    duckdb_import_seconds: float  # importing duckdb and opening a connection, after pandas


@dataclass(frozen=True)
class AvailableMemory:
    bytes: int
    source: str  # where the figure comes from


@dataclass(frozen=True)
class MemoryLimit:
    """A single-node engine's peak memory as a fixed part plus a part per row, against what is free."""

    per_row_bytes: float
    fixed_bytes: float
    available: AvailableMemory
    measured: tuple[PeakMemory, ...]
    how: str  # "two sizes" or "upper bound" (one size, all of its peak counted per row)

    @property
    def import_seconds(self) -> dict[str, float]:
        """The quickest import of each library among the fresh processes: its start-up."""
        return {"pandas": min(m.pandas_import_seconds for m in self.measured),
                "duckdb": min(m.duckdb_import_seconds for m in self.measured)}

    @property
    def rows_limit(self) -> int:
        """The input size (rows) at which the peak would reach the available memory."""
        return max(0, int((self.available.bytes - self.fixed_bytes) / self.per_row_bytes))

    def __str__(self) -> str:
        mib = 2**20
        sizes = ", ".join(f"{m.rows:,} rows: +{m.peak_growth_bytes / mib:,.1f} MiB" for m in self.measured)
        basis = ("the growth between the two largest sizes" if self.how == "two sizes"
                 else "the largest size's whole peak divided by its rows (an upper bound)")
        return (f"pandas' peak memory ({sizes}) is about {self.per_row_bytes:,.0f} bytes per input row "
                f"({basis}).\n"
                f"{self.available.source}: {self.available.bytes / 2**30:,.1f} GiB, so pandas would run out "
                f"near {self.rows_limit:,} rows of this input.")


def peak_memory(path: str | Path) -> dict[str, float]:
    """In this process (a fresh one): the growth of peak resident memory while pandas aggregates
    ``path``, and how long importing pandas, then DuckDB, took."""
    import psutil

    from prodspark.timing import Timer

    with Timer() as pandas_import:
        import pandas  # noqa: F401  (imported before the first reading: not part of the aggregation's peak)
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
    from prodspark.engines import pandas_aggregate

    before = psutil.Process().memory_info().rss
    reset = _reset_peak()
    pandas_aggregate(Path(path))
    growth = _peak_rss(reset) - before
    with Timer() as duckdb_import:
        import duckdb

        duckdb.connect().close()
    return {"peak_growth_bytes": growth, "pandas_import_seconds": pandas_import.seconds,
            "duckdb_import_seconds": duckdb_import.seconds}


def _reset_peak() -> bool:
    """Linux: reset this process's peak resident memory to its current one (so the imports' peak does not count)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss(reset: bool) -> int:
    """This process's peak resident memory: since the reset on Linux, else over its whole life."""
    if reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit


def _start(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "prodspark.engines_memory", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def measure_peaks(files: dict[int, Path]) -> list[PeakMemory]:
    """Peak memory growth of the pandas aggregation at each size, one fresh process each (run side by side)."""
    if not isinstance(files, dict) or not files:
        raise ParameterError("files must be the {rows: folder} dict engines.write_sizes returned.")
    started = {rows: _start(Path(path)) for rows, path in sorted(files.items())}
    results = []
    for rows, process in started.items():
        try:
            out, err = process.communicate(timeout=MEASURE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in started.values():
                other.kill()
                other.communicate()
            raise MemoryMeasurementFailed(f"measuring {rows:,} rows took over {MEASURE_TIMEOUT_S:.0f} s.") from None
        if process.returncode != 0:
            tail = "\n".join(err.strip().splitlines()[-5:])
            raise MemoryMeasurementFailed(f"measuring {rows:,} rows failed (exit code {process.returncode}):\n{tail}")
        measured = json.loads(out.strip().splitlines()[-1])
        results.append(PeakMemory(rows, int(measured["peak_growth_bytes"]), float(measured["pandas_import_seconds"]),
                                  float(measured["duckdb_import_seconds"])))
    return results


def available_memory() -> AvailableMemory:
    """Memory a new process could use now: the operating system's figure, or a container's limit if lower."""
    import psutil

    available = AvailableMemory(int(psutil.virtual_memory().available), "available memory (psutil)")
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text.isdigit() and int(limit_text) - usage < available.bytes:
            return AvailableMemory(int(limit_text) - usage, "this container's memory limit minus its use")
    return available


def pandas_memory_limit(files: dict[int, Path], available: AvailableMemory | None = None) -> MemoryLimit:
    """Fit pandas' peak memory on the two largest sizes and find where it would exceed ``available``."""
    largest_two = dict(sorted(files.items())[-2:]) if isinstance(files, dict) else files
    peaks = measure_peaks(largest_two)
    return fit_limit(peaks, available or available_memory())


def fit_limit(peaks: list[PeakMemory], available: AvailableMemory) -> MemoryLimit:
    """A fixed part and a part per row from two measurements; with one, or a slope lost in the noise,
    the largest size's whole peak counted per row (an upper bound on the cost per row)."""
    if not peaks:
        raise ParameterError("at least one measurement is needed.")
    ordered = sorted(peaks, key=lambda p: p.rows)
    last = ordered[-1]
    if last.rows < 1 or last.peak_growth_bytes <= 0:
        raise MemoryMeasurementFailed(f"the peak did not grow while pandas read {last.rows:,} rows: "
                                      "the input is too small to measure; use a larger scale.")
    if len(ordered) >= 2:
        first = ordered[-2]
        slope = (last.peak_growth_bytes - first.peak_growth_bytes) / (last.rows - first.rows)
        if slope > 0:
            fixed = max(0.0, last.peak_growth_bytes - slope * last.rows)
            return MemoryLimit(slope, fixed, available, tuple(ordered), "two sizes")
    return MemoryLimit(last.peak_growth_bytes / last.rows, 0.0, available, tuple(ordered), "upper bound")


if __name__ == "__main__":
    print(json.dumps(peak_memory(sys.argv[1])))
