"""Shared test set-up: one Spark session for the unit tests, and nbval's comparison rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Spark binds to loopback in every test, whatever this machine's network looks like.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # silences a pandas-on-Spark warning


def pytest_collectstart(collector):
    """nbval: do not compare stderr (JVM and library warnings differ between runs)."""
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare = collector.skip_compare + ("stderr",)


# --------------------------------------------------------------------------- one kernel for nbval
# Starting a kernel, then Spark's JVM, then warming the JVM up costs about 20 s per notebook,
# more than most lessons' own work. nbval would pay it for every notebook; here the notebooks
# of one run share a kernel and its JVM instead. Between two notebooks the kernel forgets
# everything the notebook defined (%reset), its Spark session is stopped, and the next
# notebook starts its own session (with its own settings) in the warm JVM.
# PRODSPARK_FRESH_KERNELS=1 gives every notebook a new kernel, as a learner's would be.
# (papermill runs, in the extended tier and elsewhere, always use a fresh kernel.)

# Launches the JVM as every notebook would (the course's settings, Delta's jars), then stops
# the session: whichever notebook comes first, later ones find Delta on the class path.
_FIRST_START = """
from prodspark.session import start_spark
start_spark(master="local[1]", app_name="shared-test-kernel").stop()
"""
_BETWEEN_NOTEBOOKS = """
from pyspark.sql import SparkSession as _SparkSession
if _SparkSession.getActiveSession() is not None:
    _SparkSession.getActiveSession().stop()
%reset -f
import os as _os
_os.chdir({cwd!r})
del _os
"""


class _SharedKernels:
    def __init__(self):
        self.kernels = {}

    def _run(self, kernel, code: str, timeout: float = 300):
        """Run set-up code in the kernel; its outputs go nowhere, an error stops the test run."""
        msg_id = kernel.execute_cell_input(code, allow_stdin=False)
        errors = []
        while True:
            msg = kernel.get_message("iopub", timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        kernel.await_reply(msg_id, timeout=timeout)
        if errors:
            raise RuntimeError(f"the shared test kernel could not be prepared: {errors[0]}")

    def lease(self, kernel_name: str, cwd: str, startup_timeout: float):
        from nbval.kernel import RunningKernel

        kernel = self.kernels.get(kernel_name)
        if kernel is None or not kernel.is_alive():
            kernel = self.kernels[kernel_name] = RunningKernel(kernel_name, cwd=cwd, startup_timeout=startup_timeout)
            self._run(kernel, _FIRST_START)
        self._run(kernel, _BETWEEN_NOTEBOOKS.format(cwd=cwd))
        return kernel

    def stop_all(self):
        for kernel in self.kernels.values():
            if kernel.is_alive():
                kernel.stop()
        self.kernels.clear()


_shared_kernels = _SharedKernels()


def pytest_configure(config):
    if not getattr(config.option, "nbval", False) or os.environ.get("PRODSPARK_FRESH_KERNELS") == "1":
        return
    if config.option.nbval_current_env or config.option.nbval_kernel_name:
        return  # a kernel chosen on the command line: nbval starts it for each notebook, as it would
    from nbval import plugin

    def setup(self):
        kernel_name = self.nb.metadata.get("kernelspec", {}).get("name", "python")
        self.kernel = _shared_kernels.lease(kernel_name, str(self.fspath.dirname),
                                            self.config.option.nbval_kernel_startup_timeout)
        self.setup_sanitize_files()

    def teardown(self):
        pass  # the kernel goes on to the next notebook; stopped at the end of the run

    plugin.IPyNbFile.setup = setup
    plugin.IPyNbFile.teardown = teardown


def pytest_unconfigure(config):
    _shared_kernels.stop_all()


def pytest_collection_modifyitems(items):
    from prodspark.course import course
    from prodspark.prometheus import INSTALL_HINT, find_prometheus

    # A learner without an optional program skips the notebooks that use it; CI runs them.
    installed = {"prometheus": find_prometheus() is not None}
    hints = {"prometheus": INSTALL_HINT}
    uses = {m.number: m.uses for m in course().available}
    for item in items:
        if item.__class__.__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)
            missing = [tool for tool in uses.get(Path(str(item.fspath)).name[:2], ()) if not installed[tool]]
            if missing and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason=f"this notebook uses {missing[0]}: {hints[missing[0]]}"))


def _records(folder: Path) -> set[tuple[str, str, int]]:
    """(registry folder, group, pid) of every process a registry folder records."""
    from prodspark import services

    return {(str(folder), group, p.pid) for group in services.groups(folder)
            for p in services.recorded_in(folder, group)}


@pytest.fixture(scope="session", autouse=True)
def nothing_the_course_starts_outlives_the_suite():
    """At the end of the run every registry group is empty and every process the course started
    is gone (a cluster, a History Server, Prometheus, started here or in a notebook's kernel).
    What was recorded before the run (a learner's own cluster) is left out, and left alone."""
    from prodspark import paths, services

    home_registry = paths.course_home() / "processes"
    before = _records(home_registry)
    yield
    before_pids = {pid for _, _, pid in before}
    left = sorted(set().union(*(_records(f) for f in {home_registry, *services.registries_used()})) - before)
    alive = [p for p in services.launched() if p.pid not in before_pids and services.is_ours(p)]
    for folder, group, pid in left:  # clean up first (recorded pids only), then fail
        for process in services.recorded_in(Path(folder), group):
            if process.pid == pid:
                services.terminate(process)
    for process in alive:
        services.terminate(process)
    assert not left and not alive, (f"processes the course started outlived the test run: recorded "
                                    f"{left}, still running {[str(p) for p in alive]}")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for all unit tests (starting one costs ~10 s here).

    It runs with Delta Lake and with the small unified memory of module 03, so memory effects
    (spill, eviction) show up with small test data.
    """
    from prodspark.memory import SMALL_MEMORY
    from prodspark.monitoring.scrape import driver_prometheus_conf
    from prodspark.session import start_spark

    # The driver's Prometheus endpoint too: exercise 06.3's check scrapes it.
    session = start_spark(master="local[2]", app_name="unit-tests", conf={**SMALL_MEMORY, **driver_prometheus_conf()})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def standalone_cluster():
    """The course's standalone cluster (2 workers, 1 core and 1g each), for notebooks run on it.

    A course cluster that is already running is used as it is and left running.
    """
    from prodspark import cluster

    state, started = cluster.ensure_cluster(workers=2, cores=1, memory="1g", progress=lambda line: None)
    yield state
    if started:
        cluster.stop_cluster(progress=lambda line: None)
