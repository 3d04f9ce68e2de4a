"""Spark's unified memory model, computed; and executors sized for a node.

Inside an executor's heap (Spark 1.6 and later, ``UnifiedMemoryManager``):

- **reserved**: 300 MiB set aside for Spark's own objects;
- **unified region** M = (heap - 300 MiB) x ``spark.memory.fraction`` (0.6), shared by
  *execution* (shuffles, joins, sorts, aggregations) and *storage* (cache, broadcasts).
  Either side borrows what the other does not use. ``spark.memory.storageFraction`` (0.5)
  of M is storage that execution cannot evict; execution memory is never evicted;
- **user memory**: the rest of (heap - 300 MiB), for user data structures and UDF objects.

Outside the heap, a container or pod on YARN or Kubernetes also asks for
``spark.executor.memoryOverhead``: by default ``spark.executor.memoryOverheadFactor`` (0.10)
of the heap, at least ``spark.executor.minMemoryOverhead`` (384 MiB), for the JVM itself,
thread stacks, direct buffers and the Python workers. Kubernetes uses 0.40 for Python
applications submitted in cluster mode; a standalone worker adds no overhead at all
(:func:`container_memory`, checked against Spark's own code in :mod:`prodspark.memory_k8s`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from prodspark.errors import CourseError, ParameterError

MiB = 2**20
RESERVED_BYTES = 300 * MiB
DEFAULT_FRACTION = 0.6
DEFAULT_STORAGE_FRACTION = 0.5
OVERHEAD_FACTOR = 0.10  # spark.executor.memoryOverheadFactor and spark.driver.memoryOverheadFactor
MIN_OVERHEAD_MIB = 384  # spark.executor.minMemoryOverhead and spark.driver.minMemoryOverhead (Spark 4.0+)
K8S_NON_JVM_OVERHEAD_FACTOR = 0.40  # Kubernetes' Constants.NON_JVM_MEMORY_OVERHEAD_FACTOR

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$", re.IGNORECASE)


def parse_size(text: str | int, default_unit: str = "m") -> int:
    """A JVM memory size such as ``1g``, ``512m`` or ``1024`` (MiB by default) in bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ParameterError(f"not a memory size: {text!r} (expected e.g. 512m or 4g)")
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
            raise ParameterError(f"{name} must be a whole number 1 or more, got {value!r}")
    usable_cores = node_cores - reserved_cores
    executors = usable_cores // cores_per_executor
    if executors < 1:
        raise ParameterError(f"{node_cores} cores minus {reserved_cores} reserved cannot hold an executor "
                         f"of {cores_per_executor} cores")
    share_mib = math.floor((node_memory_gib - reserved_memory_gib) * 1024 / executors)
    heap_mib = math.floor(share_mib / (1 + overhead_factor))
    if heap_mib * overhead_factor < MIN_OVERHEAD_MIB:  # the minimum overhead applies
        heap_mib = share_mib - MIN_OVERHEAD_MIB
    if heap_mib <= RESERVED_BYTES // MiB:
        raise ParameterError(f"{node_memory_gib} GiB cannot give {executors} executor(s) a heap above 300 MiB")
    overhead_mib = max(MIN_OVERHEAD_MIB, math.ceil(heap_mib * overhead_factor))
    return ExecutorPlan(node_cores, node_memory_gib, cores_per_executor, executors, heap_mib, overhead_mib)


MANAGERS = ("yarn", "kubernetes", "standalone")


def memory_overhead_mib(heap_mib: int, factor: float = OVERHEAD_FACTOR, minimum_mib: int = MIN_OVERHEAD_MIB) -> int:
    """The overhead Spark adds to a heap of ``heap_mib``, as ``ResourceProfile.calculateOverHeadMemory`` does.

    ``max(int(factor x heap), minimum)``: the product is truncated to whole MiB, not rounded up.
    """
    for name, value in (("heap_mib", heap_mib), ("minimum_mib", minimum_mib)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError(f"{name} must be a whole number of MiB, 0 or more, got {value!r}")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise ParameterError(f"factor must be a number above 0 (Spark's default is {OVERHEAD_FACTOR}), got {factor!r}")
    return max(int(factor * heap_mib), minimum_mib)


@dataclass(frozen=True)
class ContainerMemory:
    """What one driver or executor JVM asks its cluster manager for, in MiB."""

    manager: str
    python: bool
    heap_mib: int
    factor: float
    overhead_mib: int

    @property
    def requested_mib(self) -> int:
        return self.heap_mib + self.overhead_mib

    def row(self) -> dict[str, object]:
        return {"cluster manager": self.manager, "application": "Python" if self.python else "JVM",
                "heap MiB": self.heap_mib, "overhead factor": self.factor if self.overhead_mib else "-",
                "overhead MiB": self.overhead_mib, "requested MiB": self.requested_mib}


def container_memory(manager: str, heap_mib: int, python: bool = False) -> ContainerMemory:
    """The memory a cluster manager is asked for, for a heap of ``heap_mib``, at Spark 4.1's defaults.

    - ``"yarn"``: the container is heap + max(10% of the heap, 384 MiB), for JVM and Python jobs alike;
    - ``"kubernetes"``: the pod requests heap + overhead; a Python application submitted in cluster
      mode gets a factor of 0.40 instead of 0.10, for its driver and (through the driver) its executors;
    - ``"standalone"``: a worker starts the JVM with ``-Xmx`` = the heap and counts only the heap
      against its memory; no overhead is added.

    Explicit ``spark.executor.memoryOverhead`` / ``memoryOverheadFactor`` settings, off-heap memory
    and ``spark.executor.pyspark.memory`` are not modelled: each is added on top when set.
    """
    if manager not in MANAGERS:
        raise ParameterError(f"manager must be one of {', '.join(MANAGERS)}, got {manager!r}")
    memory_overhead_mib(heap_mib)  # the same checks of the heap for every manager
    if manager == "standalone":
        return ContainerMemory(manager, python, heap_mib, 0.0, 0)
    factor = K8S_NON_JVM_OVERHEAD_FACTOR if manager == "kubernetes" and python else OVERHEAD_FACTOR
    return ContainerMemory(manager, python, heap_mib, factor, memory_overhead_mib(heap_mib, factor))


def overhead_table(heap_mib: int):
    """:func:`container_memory` for every cluster manager, JVM and Python applications (pandas)."""
    import pandas as pd

    rows = [container_memory(manager, heap_mib, python).row() for manager in MANAGERS for python in (False, True)]
    return pd.DataFrame(rows).set_index(["cluster manager", "application"])


_PARTS = (("reserved", lambda r: r.reserved, "#9e9e9e"),
          ("user", lambda r: r.user, "#f2c14e"),
          ("storage (not evictable)", lambda r: r.storage_immune, "#4c9be8"),
          ("execution or storage", lambda r: r.execution_floor, "#2e7d32"))


def plot_regions(named_regions: dict[str, MemoryRegions], overhead_mib: dict[str, int] | None = None):
    """The memory regions of one or more heaps as stacked bars (matplotlib), in MiB.

    Each heap gets its own panel and its own scale, so a 1 GiB heap stays readable next to a
    20 GiB one; the legend sits below the panels, clear of the bars and axis labels.
    """
    import matplotlib.pyplot as plt

    if not named_regions:
        raise ParameterError("plot_regions needs at least one named MemoryRegions")
    overhead_mib = overhead_mib or {}
    names = list(named_regions)
    figure, axes = plt.subplots(len(names), 1, figsize=(8, 1.0 + 1.1 * len(names)), squeeze=False,
                                layout="constrained")
    for axis, name in zip(axes[:, 0], names, strict=True):
        regions, left = named_regions[name], 0.0
        segments = [(label, size(regions) / MiB, colour) for label, size, colour in _PARTS]
        segments.append(("overhead (off heap)", float(overhead_mib.get(name, 0)), "#d32f2f"))
        for label, width, colour in segments:
            axis.barh([name], [width], left=left, color=colour, label=label)
            left += width
        axis.set_xlim(0, left * 1.02)
        axis.set_xlabel("MiB")
        axis.set_title(f"{name}: {regions.heap / MiB:,.0f} MiB heap"
                       + (f" + {overhead_mib[name]:,} MiB overhead" if overhead_mib.get(name) else ""),
                       fontsize="medium", loc="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=3, fontsize="small", frameon=False)
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


@dataclass(frozen=True)
class Fill:
    """A DataFrame cached MEMORY_ONLY, and how much of it Spark kept, from the REST API."""

    frame: object  # the persisted DataFrame
    target_bytes: int  # the size it was generated for
    partitions: int
    cached_partitions: int
    memory_used: int  # bytes

    @property
    def dropped_partitions(self) -> int:
        return self.partitions - self.cached_partitions


def fill_past_memory(spark, capacity: int, partitions: int = 16, factor: float = 1.6, grow: float = 1.25,
                     attempts: int = 5) -> Fill:
    """Cache a :func:`pressure_frame` of ``factor`` x ``capacity`` bytes ``MEMORY_ONLY``, growing it until
    Spark reports fewer cached partitions than the frame has (``/storage/rdd``).

    The frame's rows take less room in the cache than :func:`pressure_frame` assumes (about 0.6 of
    its target), so a factor of 1.6 is about M itself; each retry costs a job, so start close.
    Returns the frame still cached; unpersist it when done.
    """
    from pyspark import StorageLevel

    from prodspark.sparkui import SparkUI

    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ParameterError(f"capacity must be a number of bytes, 1 or more, got {capacity!r}")
    if not (factor > 0 and grow > 1 and attempts >= 1):
        raise ParameterError(f"need factor > 0, grow > 1 and attempts >= 1, got {factor}, {grow}, {attempts}")
    ui = SparkUI(spark)
    for _ in range(attempts):
        before = {entry["id"] for entry in ui.cached()}
        target = int(capacity * factor)
        frame = pressure_frame(spark, target, partitions).persist(StorageLevel.MEMORY_ONLY)
        frame.count()
        mine = [entry for entry in ui.cached() if entry["id"] not in before]
        fill = Fill(frame, target, partitions, sum(e["numCachedPartitions"] for e in mine),
                    sum(e["memoryUsed"] for e in mine))
        if fill.dropped_partitions > 0:
            return fill
        frame.unpersist(blocking=True)
        factor *= grow
    raise CourseError(f"{partitions} partitions of {target / MiB:.0f} MiB all fit in {capacity / MiB:.0f} MiB of "
                      "unified memory; start with a larger factor.")


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
