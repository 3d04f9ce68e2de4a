"""The same aggregation in Spark and in single-node engines (pandas, DuckDB), timed.

Module 01 uses this to measure Spark's coordination tax: for each input size, every engine
reads the same Parquet files and computes, per merchant, the revenue, the number of
transactions and the number of distinct customers.
"""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from prodspark.timing import format_seconds, measure

ENGINES = ("spark", "pandas", "duckdb")
# Above this many rows the single-node engines are skipped: one machine's memory is the limit.
SINGLE_NODE_MAX_ROWS = 20_000_000
AGGREGATION_SQL = """
    SELECT merchant_id,
           SUM(amount)                 AS revenue,
           COUNT(*)                    AS transactions,
           COUNT(DISTINCT customer_id) AS customers
    FROM {source}
    GROUP BY merchant_id
"""


def write_sizes(spark, folder: Path, sizes: list[int], seed: int) -> dict[int, Path]:
    """Write the transactions at each size as Parquet once; later calls reuse the files.

    ``amount`` is stored as a double so that pandas works on native floats
    (a decimal column would become Python objects, and pandas would look slower than it is).
    """
    from pyspark.sql import functions as F

    from prodspark.datagen import sizes_for, transactions_df

    result = {}
    for rows in sizes:
        target = folder / f"transactions_{rows}_seed{seed}"
        if not (target / "_SUCCESS").exists():
            scratch = folder / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
            data = transactions_df(spark, scale=rows / sizes_for(1).transactions, seed=seed)
            (data.select("transaction_id", "merchant_id", "customer_id",
                         F.col("amount").cast("double").alias("amount"))
                 .write.mode("overwrite").parquet(str(scratch)))
            shutil.rmtree(target, ignore_errors=True)
            scratch.rename(target)
        result[rows] = target
    return result


def spark_aggregate(spark, path: Path):
    spark.read.parquet(str(path)).createOrReplaceTempView("bench_transactions")
    return spark.sql(AGGREGATION_SQL.format(source="bench_transactions")).toPandas()


def pandas_aggregate(path: Path):
    import pandas as pd

    frame = pd.read_parquet(path, columns=["merchant_id", "customer_id", "amount"])
    return (frame.groupby("merchant_id")
                 .agg(revenue=("amount", "sum"), transactions=("amount", "size"),
                      customers=("customer_id", "nunique"))
                 .reset_index())


def duckdb_aggregate(path: Path):
    import duckdb

    with duckdb.connect() as connection:
        source = f"read_parquet('{path.as_posix()}/*.parquet')"
        return connection.sql(AGGREGATION_SQL.format(source=source)).df()


def runners(spark) -> dict[str, Callable[[Path], object]]:
    return {"spark": lambda p: spark_aggregate(spark, p), "pandas": pandas_aggregate, "duckdb": duckdb_aggregate}


def same_result(left, right, tolerance: float = 0.01) -> bool:
    """True when two engines' per-merchant results agree (sums to within a cent)."""
    import numpy as np

    if len(left) != len(right):
        return False
    a = left.sort_values("merchant_id").reset_index(drop=True)
    b = right.sort_values("merchant_id").reset_index(drop=True)
    return (
        (a["merchant_id"].astype(str) == b["merchant_id"].astype(str)).all()
        and (a["transactions"].astype("int64") == b["transactions"].astype("int64")).all()
        and (a["customers"].astype("int64") == b["customers"].astype("int64")).all()
        and bool(np.allclose(a["revenue"].astype(float), b["revenue"].astype(float), atol=tolerance, rtol=0))
    )


def compare(spark, files: dict[int, Path], repeat: int = 2,
            single_node_max_rows: int = SINGLE_NODE_MAX_ROWS, progress=print):
    """Time every engine at every size (best of ``repeat``, after one warm-up run each).

    Returns a pandas DataFrame with columns engine, rows, seconds, rows_per_second.
    Before timing, each engine's result on the smallest size is compared with Spark's:
    a speed-up means nothing if the answers differ.
    """
    import pandas as pd

    run = runners(spark)
    smallest = files[min(files)]
    reference = run["spark"](smallest)
    for engine in (e for e in ENGINES if e != "spark"):
        if not same_result(reference, run[engine](smallest)):  # also each engine's warm-up run
            raise AssertionError(f"{engine} computed a different result from Spark's")
    records = []
    for rows, path in sorted(files.items()):
        for engine in ENGINES:
            if engine != "spark" and rows > single_node_max_rows:
                progress(f"{engine:>6} skipped at {rows:,} rows (above single_node_max_rows)")
                continue
            seconds = measure(partial(run[engine], path), repeat=repeat).best
            records.append({"engine": engine, "rows": rows, "seconds": seconds})
    table = pd.DataFrame(records)
    table["rows_per_second"] = table["rows"] / table["seconds"]
    _remember(table)
    return table


# Measurements this process made, by token: a check can tell a table compare() returned (or an
# unchanged copy of it) from one typed in or edited afterwards.
_MEASURED: dict[str, str] = {}
MEASUREMENT_KEY = "prodspark.measurement"


def _fingerprint(table) -> str:
    import hashlib

    columns = ["engine", "rows", "seconds"]  # in any row order: sorting the table changes no measurement
    ordered = table[columns].sort_values(["engine", "rows", "seconds"])
    return hashlib.sha256(ordered.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


def _remember(table) -> None:
    token = uuid.uuid4().hex
    table.attrs[MEASUREMENT_KEY] = token
    _MEASURED[token] = _fingerprint(table)


def measurement_problem(table) -> str | None:
    """Why ``table`` is not a measurement compare() made in this process, or None if it is."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        return f"it is a {type(table).__name__}, not the pandas DataFrame engines.compare returns"
    token = table.attrs.get(MEASUREMENT_KEY)
    if token not in _MEASURED:
        return "it was not measured by engines.compare in this session (typed in, loaded or built by hand)"
    if not {"engine", "rows", "seconds"} <= set(table.columns) or _fingerprint(table) != _MEASURED[token]:
        return "its numbers were changed after engines.compare measured them"
    return None


@dataclass(frozen=True)
class Crossover:
    engine: str
    against: str
    rows: float | None  # where ``engine`` starts to win; None if it never does
    how: str  # "measured", "extrapolated" or "never"

    def __str__(self) -> str:
        if self.how == "measured":
            return f"{self.engine} overtakes {self.against} at about {self.rows:,.0f} rows (between measured sizes)."
        if self.how == "extrapolated":
            return (f"{self.engine} stays slower than {self.against} at every measured size; a straight-line "
                    f"extrapolation puts the crossing near {self.rows:,.0f} rows.")
        if self.how == "faster everywhere":
            return f"{self.engine} is already faster than {self.against} at the smallest measured size."
        return (f"{self.engine} stays slower than {self.against} at every measured size, and its cost per "
                f"extra row is not lower either: on this machine the lines do not cross.")


def crossover(results, engine: str = "spark", against: str = "pandas") -> Crossover:
    """Where ``engine``'s time line crosses ``against``'s, from a ``compare`` table.

    Between two measured sizes the crossing is interpolated on log-log axes. If ``engine``
    is slower everywhere, each engine's time is fitted as a fixed cost plus a cost per row on
    the two largest sizes, and the lines are extended until they meet (if they ever do).
    """
    mine = results[results.engine == engine].set_index("rows")["seconds"]
    theirs = results[results.engine == against].set_index("rows")["seconds"]
    sizes = sorted(set(mine.index) & set(theirs.index))
    if not sizes:
        return Crossover(engine, against, None, "never")
    gap = [math.log(mine[n] / theirs[n]) for n in sizes]  # > 0: engine is slower
    if gap[0] <= 0:
        return Crossover(engine, against, float(sizes[0]), "faster everywhere")
    for (n0, g0), (n1, g1) in zip(zip(sizes, gap, strict=True), zip(sizes[1:], gap[1:], strict=True), strict=False):
        if g0 > 0 >= g1:
            fraction = g0 / (g0 - g1)
            rows = math.exp(math.log(n0) + fraction * (math.log(n1) - math.log(n0)))  # interpolated on log-log axes
            return Crossover(engine, against, rows, "measured")
    if len(sizes) < 2:
        return Crossover(engine, against, None, "never")
    n0, n1 = sizes[-2], sizes[-1]
    slope_mine = (mine[n1] - mine[n0]) / (n1 - n0)
    slope_theirs = (theirs[n1] - theirs[n0]) / (n1 - n0)
    if slope_mine >= slope_theirs:
        return Crossover(engine, against, None, "never")
    rows = n1 + (mine[n1] - theirs[n1]) / (slope_theirs - slope_mine)
    return Crossover(engine, against, rows, "extrapolated")


def plot(results, startup_seconds: float | None = None, title: str = "Same aggregation, growing input"):
    """Time against rows on log-log axes, one line per engine (and Spark with its start-up)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    styles = {"spark": "o-", "pandas": "s-", "duckdb": "^-"}
    for engine in ENGINES:
        part = results[results.engine == engine].sort_values("rows")
        if not part.empty:
            ax.plot(part["rows"], part["seconds"], styles[engine], label=engine)
    if startup_seconds is not None:
        part = results[results.engine == "spark"].sort_values("rows")
        ax.plot(part["rows"], part["seconds"] + startup_seconds, "o--", color="grey",
                label="spark incl. start-up")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows")
    ax.set_ylabel("seconds (best run)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class CostLine:
    """One engine's time as a fixed part plus a part per row, from two measured sizes."""

    engine: str
    smallest_rows: int
    smallest_seconds: float  # nearly all fixed cost when the input is small
    per_row_seconds: float  # the extra time per extra row between the two largest sizes
    from_rows: int
    to_rows: int


def cost_lines(results) -> dict[str, CostLine]:
    """Each engine's cost per extra row between its two largest sizes (the same rule as
    :func:`crossover`), and its time at its smallest size, from a ``compare`` table."""
    from prodspark.errors import ParameterError

    missing = {"engine", "rows", "seconds"} - set(getattr(results, "columns", ()))
    if missing:
        raise ParameterError(f"results must be the table engines.compare returned; it lacks {sorted(missing)}.")
    lines = {}
    for engine in (e for e in ENGINES if e in set(results["engine"])):
        part = results[results.engine == engine].sort_values("rows")
        if len(part) < 2:
            continue
        (n0, t0), (n1, t1) = part[["rows", "seconds"]].iloc[-2:].itertuples(index=False, name=None)
        first = part.iloc[0]
        lines[engine] = CostLine(engine, int(first["rows"]), float(first["seconds"]),
                                 float((t1 - t0) / (n1 - n0)), int(n0), int(n1))
    return lines


def conclusions(results, engine: str = "spark") -> list[str]:
    """What the measurements say about ``engine`` against the others, as sentences built from the numbers."""
    lines = cost_lines(results)
    if engine not in lines or len(lines) < 2:
        return [f"{engine} and at least one other engine need two measured sizes each to compare their costs."]
    mine = lines[engine]
    others = [line for name, line in lines.items() if name != engine]
    said = []
    fastest_small = min(others, key=lambda line: line.smallest_seconds)
    ratio = mine.smallest_seconds / fastest_small.smallest_seconds
    fixed_share = 1 - max(mine.per_row_seconds, 0.0) * mine.smallest_rows / mine.smallest_seconds
    share = ("almost all of it" if fixed_share >= 0.8 else f"about {max(fixed_share, 0.0):.0%} of it")
    said.append(f"At the smallest size ({mine.smallest_rows:,} rows) {engine} took "
                f"{format_seconds(mine.smallest_seconds)}, {ratio:,.0f}x "
                f"{fastest_small.engine}'s {format_seconds(fastest_small.smallest_seconds)}, and {share} is fixed "
                "cost (its time there less its cost per extra row times those rows).")
    per_row = ", ".join(f"{line.engine} {_per_row(line.per_row_seconds)}" for line in lines.values())
    said.append(f"Each extra row between {mine.from_rows:,} and {mine.to_rows:,} rows cost {per_row}.")
    for other in others:
        if other.per_row_seconds <= 0:
            said.append(f"{other.engine}'s time did not grow between its two largest sizes (it is still all fixed "
                        f"cost there), so no cost per row can be compared with {engine}'s.")
        elif mine.per_row_seconds <= 0:
            said.append(f"{engine}'s time did not grow between its two largest sizes: the input is still too small "
                        "to show its cost per row.")
        elif abs(mine.per_row_seconds / other.per_row_seconds - 1) < 0.05:
            said.append(f"{engine}'s cost per extra row is about the same as {other.engine}'s "
                        f"({mine.per_row_seconds / other.per_row_seconds:.2f}x): the gap stays about as wide as "
                        "the input grows.")
        elif mine.per_row_seconds > other.per_row_seconds:
            said.append(f"{engine}'s cost per extra row is {mine.per_row_seconds / other.per_row_seconds:,.1f}x "
                        f"{other.engine}'s: more rows widen the gap on this machine instead of closing it.")
        else:
            said.append(f"{engine}'s cost per extra row is {other.per_row_seconds / mine.per_row_seconds:,.1f}x lower "
                        f"than {other.engine}'s: {crossover(results, engine, other.engine)}")
    return said


def _per_row(seconds: float) -> str:
    return f"{seconds * 1e6:.2g} µs" if seconds > 0 else "nothing measurable"


JUDGEMENT = "judgement"


def decision_matrix(*, startup_seconds: float, spark_job_seconds: float, results, pandas_memory,
                    spill, python_udf_ratio: float, arrow_ratio: float, free_disk_bytes: int):
    """The choice between a warehouse, a single-node engine, Spark and streaming, as a table.

    Cells this lesson measured carry the number; the others say ``judgement:`` and why.
    ``pandas_memory`` is an :class:`prodspark.engines_memory.MemoryLimit`, ``spill`` an
    :class:`prodspark.engines_spill.SpillRun`.
    """
    import pandas as pd

    lines = cost_lines(results)
    missing = [engine for engine in ENGINES if engine not in lines]
    if missing:
        from prodspark.errors import ParameterError

        raise ParameterError(f"results has fewer than two sizes for {', '.join(missing)}: no cost per row to show.")
    imports = pandas_memory.import_seconds

    def at_smallest(engine: str) -> str:
        line = lines[engine]
        return f"{format_seconds(line.smallest_seconds)} at {line.smallest_rows:,} rows"

    def per_row(engine: str) -> str:
        return _per_row(lines[engine].per_row_seconds)

    gib = 2**30
    table = {
        "data warehouse": {
            "start-up": f"{JUDGEMENT}: none you run; the service is already up",
            "fixed cost per query": f"{JUDGEMENT}: a network round trip and the service's planning (not measured here)",
            "cost per extra row": f"{JUDGEMENT}: the service's, on its machines (not measured here)",
            "memory limit": f"{JUDGEMENT}: the service's; you pay for what a query scans or the capacity you reserve",
            "Python tax": f"{JUDGEMENT}: results cross the network to Python",
            "choose it when": f"{JUDGEMENT}: the data already lives there and the work is SQL",
        },
        "single node: pandas": {
            "start-up": f"importing pandas: {format_seconds(imports['pandas'])}",
            "fixed cost per query": at_smallest("pandas"),
            "cost per extra row": per_row("pandas"),
            "memory limit": (f"about {pandas_memory.rows_limit:,} rows of this input "
                             f"({pandas_memory.per_row_bytes:,.0f} B/row, "
                             f"{pandas_memory.available.bytes / gib:,.1f} GiB available)"),
            "Python tax": f"{JUDGEMENT}: none; the data is already in Python's process",
            "choose it when": f"{JUDGEMENT}: the data fits comfortably in memory and the code is Python",
        },
        "single node: DuckDB": {
            "start-up": f"importing DuckDB: {format_seconds(imports['duckdb'])}",
            "fixed cost per query": at_smallest("duckdb"),
            "cost per extra row": per_row("duckdb"),
            "memory limit": f"{JUDGEMENT}: spills to disk when an operator outgrows memory (not measured here)",
            "Python tax": f"{JUDGEMENT}: in the same process; results reach pandas through Arrow",
            "choose it when": f"{JUDGEMENT}: one machine's cores and disk are enough, and the work is SQL",
        },
        "Spark": {
            "start-up": f"{format_seconds(startup_seconds)} (a JVM and a session)",
            "fixed cost per query": f"{format_seconds(spark_job_seconds)} a trivial job; {at_smallest('spark')}",
            "cost per extra row": per_row("spark"),
            "memory limit": (f"sorted {spill.times_heap:.1f}x its heap by spilling "
                             f"{spill.memory_bytes_spilled / 2**20:,.0f} MiB; then the disk "
                             f"({free_disk_bytes / gib:,.0f} GiB free here), or more machines"),
            "Python tax": (f"Python UDF {python_udf_ratio:,.1f}x the built-in; "
                           f"toPandas without Arrow {arrow_ratio:,.1f}x with it"),
            "choose it when": (f"{JUDGEMENT}: the data or the work outgrows one machine, or jobs must survive "
                               "losing one"),
        },
        "streaming": {
            "start-up": f"{JUDGEMENT}: paid once; the job runs continuously",
            "fixed cost per query": f"{JUDGEMENT}: per micro-batch or per event, not per query",
            "cost per extra row": f"{JUDGEMENT}: like the batch engine it runs on, plus state kept between batches",
            "memory limit": f"{JUDGEMENT}: the state it keeps (windows, joins), not the whole input",
            "Python tax": f"{JUDGEMENT}: the same as the batch engine's",
            "choose it when": f"{JUDGEMENT}: results are needed seconds after the events arrive",
        },
    }
    return pd.DataFrame(table).T
