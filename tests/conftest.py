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
    """One local Spark session for all unit tests (starting one costs ~10 s here)."""
    from prodspark.session import start_spark

    session = start_spark(master="local[2]", app_name="unit-tests", delta=False)
    yield session
    session.stop()
