"""Shared test set-up: one Spark session for the unit tests, and nbval's comparison rules."""

from __future__ import annotations

import os

import pytest

# Spark binds to loopback in every test, whatever this machine's network looks like.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # silences a pandas-on-Spark warning


def pytest_collectstart(collector):
    """nbval: do not compare stderr (JVM and library warnings differ between runs)."""
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare = collector.skip_compare + ("stderr",)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.__class__.__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for all unit tests (starting one costs ~10 s here).

    It runs with Delta Lake and with the small unified memory of module 03, so memory effects
    (spill, eviction) show up with small test data.
    """
    from prodspark.memory import SMALL_MEMORY
    from prodspark.session import start_spark

    session = start_spark(master="local[2]", app_name="unit-tests", conf=SMALL_MEMORY)
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
