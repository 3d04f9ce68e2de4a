"""Module 01's memory limit of a single-node engine: pandas' peak memory per row, measured in fresh processes."""

import pandas as pd
import pytest

from prodspark.engines_memory import (
    AvailableMemory,
    PeakMemory,
    available_memory,
    fit_limit,
    measure_peaks,
    pandas_memory_limit,
)
from prodspark.errors import CourseError, ParameterError

GIB = 2**30
FREE = AvailableMemory(10 * GIB, "available memory (psutil)")


def test_two_sizes_give_a_cost_per_row_without_the_fixed_part():
    limit = fit_limit([PeakMemory(100_000, 25_000_000, 0.5, 0.1), PeakMemory(10_000, 7_000_000, 0.6, 0.2)], FREE)
    assert limit.how == "two sizes"
    assert limit.per_row_bytes == pytest.approx(200.0)
    assert limit.fixed_bytes == pytest.approx(5_000_000)
    assert limit.rows_limit == int((10 * GIB - 5_000_000) / 200)
    assert limit.import_seconds == {"pandas": 0.5, "duckdb": 0.1}
    assert f"{limit.rows_limit:,} rows" in str(limit)


def test_a_slope_lost_in_the_noise_falls_back_to_an_upper_bound():
    limit = fit_limit([PeakMemory(1_000, 4_000_000, 0.5, 0.1), PeakMemory(2_000, 3_000_000, 0.5, 0.1)], FREE)
    assert limit.how == "upper bound" and limit.per_row_bytes == 1_500.0
    assert "upper bound" in str(limit)


def test_no_growth_at_all_is_refused_with_a_fix():
    with pytest.raises(CourseError, match="larger scale"):
        fit_limit([PeakMemory(1_000, 0, 0.5, 0.1)], FREE)
    with pytest.raises(ParameterError):
        fit_limit([], FREE)


def test_bad_files_are_refused():
    with pytest.raises(ParameterError, match="write_sizes"):
        measure_peaks({})
    with pytest.raises(ParameterError, match="write_sizes"):
        measure_peaks(["not", "a", "dict"])  # type: ignore[arg-type]


def test_available_memory_is_a_positive_number_with_its_source():
    available = available_memory()
    assert available.bytes > 0 and available.source


def test_peaks_are_measured_in_fresh_processes(tmp_path):
    files = {}
    for rows in (20_000, 80_000):
        folder = tmp_path / f"t{rows}"
        folder.mkdir()
        pd.DataFrame({"transaction_id": [f"T{i}" for i in range(rows)],
                      "merchant_id": [f"M{i % 50}" for i in range(rows)],
                      "customer_id": [f"C{i % 997}" for i in range(rows)],
                      "amount": [float(i % 100) for i in range(rows)]}).to_parquet(folder / "part-0.parquet")
        files[rows] = folder
    limit = pandas_memory_limit({1: tmp_path, **files}, available=FREE)  # only the two largest are measured
    assert [m.rows for m in limit.measured] == [20_000, 80_000]
    assert all(m.peak_growth_bytes > 0 and m.pandas_import_seconds > 0 for m in limit.measured)
    assert limit.per_row_bytes > 0


def test_a_failing_measurement_says_which_size(tmp_path):
    with pytest.raises(CourseError, match="measuring 5 rows failed"):
        measure_peaks({5: tmp_path / "missing"})
