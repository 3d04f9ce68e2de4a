"""Spark's unified memory model, computed; and executors sized for a node.

Inside an executor's heap (Spark 1.6 and later, ``UnifiedMemoryManager``):

- **reserved**: 300 MiB set aside for Spark's own objects;
- **unified region** M = (heap - 300 MiB) x ``spark.memory.fraction`` (0.6), shared by
  *execution* (shuffles, joins, sorts, aggregations) and *storage* (cache, broadcasts).
  Either side borrows what the other does not use. ``spark.memory.storageFraction`` (0.5)
  of M is storage that execution cannot evict; execution memory is never evicted;
- **user memory**: the rest of (heap - 300 MiB), for user data structures and UDF objects.

Outside the heap, each executor container also gets ``spark.executor.memoryOverhead``
(by default 10% of the heap, at least 384 MiB) for the JVM itself, thread stacks, direct
buffers, and the Python workers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MiB = 2**20
RESERVED_BYTES = 300 * MiB
DEFAULT_FRACTION = 0.6
DEFAULT_STORAGE_FRACTION = 0.5
OVERHEAD_FACTOR = 0.10
MIN_OVERHEAD_MIB = 384

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$", re.IGNORECASE)


def parse_size(text: str | int, default_unit: str = "m") -> int:
    """A JVM memory size such as ``1g``, ``512m`` or ``1024`` (MiB by default) in bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a memory size: {text!r} (expected e.g. 512m or 4g)")
    number, unit = float(match.group(1)), (match.group(2) or default_unit).lower()
    return int(number * 1024 ** " kmgt".index(unit))


@dataclass(frozen=True)
class MemoryRegions:
    """The regions of one JVM heap, in bytes."""

    heap: int
    fraction: float = DEFAULT_FRACTION
    storage_fraction: float = DEFAULT_STORAGE_FRACTION

    @property
    def reserved(self) -> int:
        return RESERVED_BYTES

    @property
    def usable(self) -> int:
        return self.heap - RESERVED_BYTES

    @property
    def unified(self) -> int:
        """M: what execution and storage share, and what the REST API reports as ``maxMemory``."""
        return int(self.usable * self.fraction)

    @property
    def user(self) -> int:
        return self.usable - self.unified

    @property
    def storage_immune(self) -> int:
        """The part of M that cached data keeps even when execution needs memory."""
        return int(self.unified * self.storage_fraction)

    @property
    def execution_floor(self) -> int:
        """The part of M that storage can borrow only while execution does not need it."""
        return self.unified - self.storage_immune

    def table(self):
        import pandas as pd

        rows = [("reserved", self.reserved, "Spark's own objects"),
                ("user", self.user, "your objects, UDFs"),
                ("storage, protected", self.storage_immune, "cache"),
                ("execution or storage", self.execution_floor, "shuffles, joins, sorts; or cache"),
                ("heap", self.heap, "the whole JVM heap")]
        return pd.DataFrame([{"region": r, "MiB": round(b / MiB, 1), "used for": u} for r, b, u in rows]
                            ).set_index("region")


def session_regions(spark) -> MemoryRegions:
    """The memory regions of the JVMs that run this session's tasks, from its settings.

    Local mode: the driver's heap, as the running JVM reports it. A cluster: the
    ``spark.executor.memory`` the executors were launched with (1g by default).
    """
    conf = spark.sparkContext.getConf()
    if spark.sparkContext.master.startswith("local"):
        heap = int(spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory())
    else:
        heap = parse_size(conf.get("spark.executor.memory", "1g"))
    return MemoryRegions(heap,
                         float(conf.get("spark.memory.fraction", str(DEFAULT_FRACTION))),
                         float(conf.get("spark.memory.storageFraction", str(DEFAULT_STORAGE_FRACTION))))


@dataclass(frozen=True)
class ExecutorPlan:
    """Executors sized for one worker node."""

    node_cores: int
    node_memory_gib: float
    cores_per_executor: int
    executors_per_node: int
    heap_mib: int
    overhead_mib: int

    @property
    def container_mib(self) -> int:
        return self.heap_mib + self.overhead_mib

    @property
    def regions(self) -> MemoryRegions:
        return MemoryRegions(self.heap_mib * MiB)

    def spark_settings(self) -> dict[str, str]:
        return {"spark.executor.cores": str(self.cores_per_executor),
                "spark.executor.memory": f"{self.heap_mib}m",
                "spark.executor.memoryOverhead": f"{self.overhead_mib}m"}

    def __str__(self) -> str:
        return (f"{self.executors_per_node} executor(s) per node, {self.cores_per_executor} cores each, "
                f"heap {self.heap_mib} MiB + overhead {self.overhead_mib} MiB = {self.container_mib} MiB")


def size_executors(node_cores: int, node_memory_gib: float, cores_per_executor: int = 5,
                   reserved_cores: int = 1, reserved_memory_gib: float = 1.0,
                   overhead_factor: float = OVERHEAD_FACTOR) -> ExecutorPlan:
    """Executors for a node: leave a core and some memory to the OS and daemons, split the rest.

    Each executor's container (heap + overhead) must fit its share of the node's memory;
    overhead is ``overhead_factor`` of the heap, at least 384 MiB, as Spark computes it.
    """
    for name, value in (("node_cores", node_cores), ("cores_per_executor", cores_per_executor)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number 1 or more, got {value!r}")
    usable_cores = node_cores - reserved_cores
    executors = usable_cores // cores_per_executor
    if executors < 1:
        raise ValueError(f"{node_cores} cores minus {reserved_cores} reserved cannot hold an executor "
                         f"of {cores_per_executor} cores")
    share_mib = math.floor((node_memory_gib - reserved_memory_gib) * 1024 / executors)
    heap_mib = math.floor(share_mib / (1 + overhead_factor))
    if heap_mib * overhead_factor < MIN_OVERHEAD_MIB:  # the minimum overhead applies
        heap_mib = share_mib - MIN_OVERHEAD_MIB
    if heap_mib <= RESERVED_BYTES // MiB:
        raise ValueError(f"{node_memory_gib} GiB cannot give {executors} executor(s) a heap above 300 MiB")
    overhead_mib = max(MIN_OVERHEAD_MIB, math.ceil(heap_mib * overhead_factor))
    return ExecutorPlan(node_cores, node_memory_gib, cores_per_executor, executors, heap_mib, overhead_mib)


def plot_regions(named_regions: dict[str, MemoryRegions], overhead_mib: dict[str, int] | None = None):
    """Stacked bars of the memory regions of one or more heaps (matplotlib), in MiB."""
    import matplotlib.pyplot as plt

    overhead_mib = overhead_mib or {}
    parts = [("reserved", lambda r: r.reserved, "#9e9e9e"),
             ("user", lambda r: r.user, "#f2c14e"),
             ("storage (not evictable)", lambda r: r.storage_immune, "#4c9be8"),
             ("execution or storage", lambda r: r.execution_floor, "#2e7d32")]
    figure, axis = plt.subplots(figsize=(7, 0.9 + 0.6 * len(named_regions)))
    names = list(named_regions)
    left = [0.0] * len(names)
    for label, size, colour in parts:
        widths = [size(named_regions[n]) / MiB for n in names]
        axis.barh(names, widths, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    if overhead_mib:
        widths = [overhead_mib.get(n, 0) for n in names]
        axis.barh(names, widths, left=left, color="#d32f2f", label="overhead (off heap)")
    axis.set_xlabel("MiB")
    axis.invert_yaxis()
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize="small", frameon=False)
    figure.tight_layout()
    return figure


# A setting that makes memory effects visible at laptop scale: a tenth of the usable heap for
# execution and storage, instead of 0.6.
SMALL_MEMORY = {"spark.memory.fraction": "0.1"}

# About how many bytes one row of :func:`pressure_frame` takes in Spark's in-memory cache.
_CACHED_BYTES_PER_ROW = 64


def unified_capacity(spark) -> int:
    """The unified memory of all the JVMs that run tasks, summed, as the REST API reports it."""
    from prodspark.sparkui import wait_for_executors

    return sum(e["maxMemory"] for e in wait_for_executors(spark, 1))


def pressure_frame(spark, target_bytes: int, partitions: int = 8):
    """Rows of random-looking text whose cached size is about ``target_bytes``.

    Random text does not compress, so its size in memory is predictable; each row is an id,
    a 32-character hash of it, and a sort key.
    """
    from pyspark.sql import functions as F

    rows = max(partitions, int(target_bytes / _CACHED_BYTES_PER_ROW))
    ids = spark.range(0, rows, 1, partitions)
    return ids.select("id", F.md5(F.col("id").cast("string")).alias("payload"),
                      F.xxhash64("id").alias("sort_key"))


def cached_table(spark):
    """What is cached now, from the REST API: partitions held, memory and disk used (pandas)."""
    import pandas as pd

    from prodspark.sparkui import SparkUI

    rows = [{"storage level": entry["storageLevel"],
             "partitions cached": f"{entry['numCachedPartitions']} of {entry['numPartitions']}",
             "memory MiB": round(entry["memoryUsed"] / MiB, 1), "disk MiB": round(entry["diskUsed"] / MiB, 1)}
            for entry in SparkUI(spark).cached()]
    columns = ["storage level", "partitions cached", "memory MiB", "disk MiB"]
    return pd.DataFrame(rows, columns=columns).set_index("storage level")


def spark_error_reason(error: BaseException) -> str:
    """The line of a Spark failure that says why, without the JVM's stack trace."""
    text = str(error)
    for line in text.splitlines():
        line = line.strip()
        if "Job aborted due to stage failure:" in line:
            return line.split("Job aborted due to stage failure:", 1)[1].strip()
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith(("at ", "An error occurred")):
            return line.strip().lstrip(": ")
    return type(error).__name__
