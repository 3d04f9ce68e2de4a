"""Set-up steps that need the course's packages: the Jupyter kernel and Delta Lake's jars."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from prodspark import paths
from prodspark.envcheck import KERNEL_NAME
from prodspark.timing import Timer, format_seconds


def install_kernel(prefix: str = sys.prefix) -> Path:
    """Register the course's kernel in this environment (``--sys-prefix``).

    The kernel runs this environment's Python, tells PySpark to use it for workers too,
    and does not copy the JVM's terminal output into cells (ipykernel's fd capture), so a
    cell shows the same thing under Jupyter, papermill and nbval.
    """
    from ipykernel.kernelspec import install

    folder = Path(install(kernel_name=KERNEL_NAME, display_name="Production Spark (Python 3)", prefix=prefix))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    if "--IPKernelApp.capture_fd_output=False" not in spec["argv"]:
        spec["argv"].append("--IPKernelApp.capture_fd_output=False")
    spec["env"] = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    spec_file.write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def fetch_jars() -> None:
    """Resolve Delta Lake's jars into the local cache and prove Delta works end to end."""
    from prodspark.session import delta_artifact, start_spark, stop_spark

    print(f"Resolving {delta_artifact()} (Maven Central on the first run, the local cache after)...")
    with Timer() as start:
        spark = start_spark(master="local[1]", app_name="fetch-delta-jars")
    try:
        scratch = Path(tempfile.mkdtemp(prefix="delta-smoke-", dir=_scratch_parent()))
        with Timer() as smoke:
            spark.range(10).write.format("delta").save(str(scratch))
            rows = spark.read.format("delta").load(str(scratch)).count()
        if rows != 10:
            raise RuntimeError(f"Delta smoke test read {rows} rows back instead of 10")
        print(f"Spark with Delta started in {format_seconds(start.seconds)}; "
              f"a Delta table was written and read back in {format_seconds(smoke.seconds)}.")
    finally:
        stop_spark(spark)
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_parent() -> Path:
    folder = paths.course_home() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
