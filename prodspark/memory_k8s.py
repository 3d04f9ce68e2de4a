"""The memory a Kubernetes pod asks for, computed by Spark's own Kubernetes code, with no cluster.

PySpark ships Spark's Kubernetes module (``spark-kubernetes_2.13-<version>.jar``). The class that
writes the driver pod's resources, ``BasicDriverFeatureStep``, is a plain function of a
configuration: given one, it returns the pod Spark would create. Running them
in the session's JVM gives the memory request exactly as ``spark-submit --master k8s://...`` would
set it, so the course's own arithmetic (:func:`prodspark.memory.container_memory`) can be checked
against Spark instead of against a document.

Cluster mode is modelled: the driver pod is built by Spark, and the overhead factor it chooses
(0.40 for a Python application unless one is set) is what it passes on to its executors as
``spark.kubernetes.memoryOverheadFactor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodspark.errors import ParameterError
from prodspark.memory import MiB, memory_overhead_mib, parse_size

_IMAGE = "apache/spark:unused"  # the steps need an image name; nothing is pulled
_MASTER = "k8s://https://127.0.0.1:6443"  # nothing connects to it


def scala_object(jvm, name: str):
    """A Scala ``object`` (``name`` without the trailing ``$``) through py4j: its ``MODULE$`` instance."""
    package, _, simple = name.rpartition(".")
    holder = jvm
    for part in package.split("."):
        holder = getattr(holder, part)
    return getattr(getattr(holder, simple + "$"), "MODULE$")


@dataclass(frozen=True)
class PodMemory:
    """A driver pod's memory request as Spark's Kubernetes code writes it, and what its executors get."""

    python: bool
    driver_memory: str
    driver_request: str  # e.g. "2867Mi", written by BasicDriverFeatureStep
    overhead_factor_passed_on: float  # spark.kubernetes.memoryOverheadFactor the driver gives its executors

    @staticmethod
    def mib(request: str) -> int:
        if not request.endswith("Mi"):
            raise ParameterError(f"expected a request in Mi, got {request!r}")
        return int(request[:-2])

    def executor_request_mib(self, executor_memory: str) -> int:
        """An executor pod's request with the factor passed on (``BasicExecutorFeatureStep`` uses it unless
        ``spark.executor.memoryOverheadFactor`` is set), by ``ResourceProfile.calculateOverHeadMemory``'s rule."""
        heap = parse_size(executor_memory) // MiB
        return heap + memory_overhead_mib(heap, self.overhead_factor_passed_on)


def pod_memory(spark, driver_memory: str = "2g", python: bool = True,
               settings: dict[str, str] | None = None) -> PodMemory:
    """Build a driver pod with Spark's ``BasicDriverFeatureStep`` and read its memory request.

    ``settings`` are added to the application's configuration (e.g. ``spark.driver.memoryOverheadFactor``).
    The executor step is not run here: it reads the running application's default resource
    profile, not the configuration given, so its formula is applied instead
    (:meth:`PodMemory.executor_request_mib`).
    """
    parse_size(driver_memory)  # a clear message for a bad size, before the JVM sees it
    jvm = spark.sparkContext._jvm
    k8s = jvm.org.apache.spark.deploy.k8s
    none = jvm.scala.Option.empty()
    spark_conf = jvm.org.apache.spark.SparkConf(False)
    for key, value in {"spark.master": _MASTER, "spark.kubernetes.container.image": _IMAGE,
                       "spark.driver.memory": driver_memory, **(settings or {})}.items():
        spark_conf.set(key, str(value))
    resource = (k8s.submit.PythonMainAppResource("local:///opt/app.py") if python
                else k8s.submit.JavaMainAppResource(jvm.scala.Option.apply("local:///opt/app.jar")))
    no_args = spark.sparkContext._gateway.new_array(jvm.java.lang.String, 0)
    driver_conf = k8s.KubernetesConf.createDriverConf(spark_conf, "spark-app", resource, "Main", no_args, none)
    step = k8s.features.BasicDriverFeatureStep(driver_conf)
    pod = step.configurePod(k8s.SparkPod.initialPod())
    request = str(pod.container().getResources().getRequests().get("memory").toString())
    passed_on = float(step.getAdditionalPodSystemProperties().get("spark.kubernetes.memoryOverheadFactor").get())
    return PodMemory(python, driver_memory, request, passed_on)
