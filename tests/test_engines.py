"""Module 01's comparison helpers: the crossing point is computed, not assumed."""

import pandas as pd
import pytest

from prodspark.engines import conclusions, cost_lines, crossover, decision_matrix, same_result
from prodspark.engines_memory import AvailableMemory, MemoryLimit, PeakMemory
from prodspark.engines_spill import SpillRun
from prodspark.errors import ParameterError


def table(spark_times, pandas_times, sizes=(1_000, 10_000, 100_000)):
    rows = [{"engine": "spark", "rows": n, "seconds": s} for n, s in zip(sizes, spark_times, strict=True)]
    rows += [{"engine": "pandas", "rows": n, "seconds": s} for n, s in zip(sizes, pandas_times, strict=True)]
    return pd.DataFrame(rows)


def test_crossing_between_measured_sizes_is_interpolated():
    result = crossover(table([1.0, 1.0, 1.0], [0.1, 1.0 / 1.0 * 0.5, 4.0]))
    assert result.how == "measured"
    assert 10_000 < result.rows < 100_000


def test_no_crossing_when_spark_is_slower_per_row_too():
    result = crossover(table([1.0, 2.0, 20.0], [0.01, 0.1, 1.0]))
    assert result.how == "never" and result.rows is None
    assert "do not cross" in str(result)


def test_crossing_is_extrapolated_from_the_two_largest_sizes():
    # spark: 1 s + 1 µs/row; pandas: 0 s + 10 µs/row -> equal at 111,111 rows
    sizes = (1_000, 10_000, 100_000)
    result = crossover(table([1 + n * 1e-6 for n in sizes], [n * 1e-5 for n in sizes], sizes))
    assert result.how == "extrapolated"
    assert result.rows == pytest.approx(1 / 9e-6, rel=1e-6)


def test_faster_everywhere():
    assert crossover(table([0.1, 0.1, 0.1], [1, 2, 3])).how == "faster everywhere"


def test_same_result_tolerates_rounding_but_not_different_counts():
    a = pd.DataFrame({"merchant_id": ["M1", "M2"], "revenue": [10.0, 20.0],
                      "transactions": [1, 2], "customers": [1, 2]})
    b = a.iloc[::-1].copy()
    b["revenue"] = b["revenue"] + 0.001
    assert same_result(a, b)
    c = a.copy()
    c.loc[0, "customers"] = 5
    assert not same_result(a, c)


def three_engines(spark_times, pandas_times, duckdb_times, sizes=(1_000, 10_000, 100_000)):
    rows = []
    for engine, times in (("spark", spark_times), ("pandas", pandas_times), ("duckdb", duckdb_times)):
        rows += [{"engine": engine, "rows": n, "seconds": s} for n, s in zip(sizes, times, strict=True)]
    return pd.DataFrame(rows)


def test_cost_lines_use_the_two_largest_sizes_and_the_smallest_time():
    lines = cost_lines(three_engines([1.0, 1.1, 2.0], [0.01, 0.1, 1.0], [0.02, 0.03, 0.12]))
    assert lines["spark"].per_row_seconds == pytest.approx(0.9 / 90_000)
    assert lines["spark"].smallest_seconds == 1.0 and lines["spark"].smallest_rows == 1_000
    assert (lines["duckdb"].from_rows, lines["duckdb"].to_rows) == (10_000, 100_000)


def test_cost_lines_refuse_a_table_that_is_not_a_measurement():
    with pytest.raises(ParameterError, match="lacks"):
        cost_lines(pd.DataFrame({"engine": ["spark"], "rows": [1]}))


def test_conclusions_follow_the_numbers_when_spark_costs_more_per_row():
    said = " ".join(conclusions(three_engines([1.0, 1.1, 2.0], [0.01, 0.1, 0.55], [0.02, 0.03, 0.12])))
    assert "100x pandas's" in said  # 1.0 s against 0.01 s at the smallest size
    assert "almost all of it is fixed cost" in said  # 1 µs/row x 1,000 rows is 1% of 1 s
    assert "spark's cost per extra row is 10.0x duckdb's" in said
    assert "lower" not in said


def test_conclusions_follow_the_numbers_when_spark_costs_less_per_row():
    # spark: 1 s + 1 µs/row; pandas: 10 µs/row -> the lines cross near 111,111 rows
    sizes = (1_000, 10_000, 100_000)
    said = " ".join(conclusions(three_engines([1 + n * 1e-6 for n in sizes], [n * 1e-5 for n in sizes],
                                              [0.01 + n * 2e-6 for n in sizes], sizes)))
    assert "spark's cost per extra row is 10.0x lower than pandas's" in said
    assert "near 111,111 rows" in said
    assert "2.0x lower than duckdb's" in said


def test_conclusions_estimate_the_fixed_share_at_the_smallest_size():
    said = " ".join(conclusions(three_engines([0.02, 0.11, 1.01], [0.001, 0.01, 0.1], [0.002, 0.003, 0.012])))
    assert "about 50% of it is fixed cost" in said  # 10 µs/row x 1,000 rows = 0.01 s of 0.02 s


def test_conclusions_call_nearly_equal_costs_per_row_the_same():
    said = " ".join(conclusions(three_engines([1.0, 1.1, 2.0], [0.01, 0.1, 1.0], [0.02, 0.03, 0.12])))
    assert "about the same as pandas's (1.00x)" in said


def test_conclusions_say_when_a_cost_per_row_cannot_be_read():
    said = " ".join(conclusions(three_engines([1.0, 1.0, 1.0], [0.01, 0.02, 0.2], [0.01, 0.01, 0.01])))
    assert "spark's time did not grow" in said
    assert "duckdb's time did not grow" in said


def test_decision_matrix_fills_measured_cells_and_marks_the_rest_as_judgement():
    results = three_engines([1.0, 1.1, 2.0], [0.01, 0.1, 1.0], [0.02, 0.03, 0.12])
    memory = MemoryLimit(150.0, 0.0, AvailableMemory(15 * 2**30, "available memory (psutil)"),
                         (PeakMemory(10_000, 2_000_000, 0.5, 0.1), PeakMemory(100_000, 15_500_000, 0.4, 0.2)),
                         "two sizes")
    spill = SpillRun(rows=1_000, heap_bytes=400 * 2**20, driver_memory="512m", master="local[2]",
                     sorted_bytes=600 * 2**20, memory_bytes_spilled=700 * 2**20, disk_bytes_spilled=90 * 2**20,
                     shuffle_write_bytes=100, tasks=4, failed_tasks=0, seconds=5.0, wall_seconds=12.0)
    matrix = decision_matrix(startup_seconds=12.0, spark_job_seconds=0.3, results=results, pandas_memory=memory,
                             spill=spill, python_udf_ratio=8.0, arrow_ratio=5.0, free_disk_bytes=50 * 2**30)
    assert list(matrix.index) == ["data warehouse", "single node: pandas", "single node: DuckDB", "Spark", "streaming"]
    assert matrix.loc["Spark", "start-up"].startswith("12 s")
    assert matrix.loc["Spark", "cost per extra row"] == "10 µs"
    assert "1.5x its heap" in matrix.loc["Spark", "memory limit"]
    assert "8.0x the built-in" in matrix.loc["Spark", "Python tax"]
    assert f"{memory.rows_limit:,} rows" in matrix.loc["single node: pandas", "memory limit"]
    assert matrix.loc["single node: pandas", "start-up"] == "importing pandas: 400 ms"
    assert all(cell.startswith("judgement:") for cell in matrix.loc["data warehouse"])
    assert all(cell.startswith("judgement:") for cell in matrix.loc["streaming"])
    assert all(cell.startswith("judgement:") for cell in matrix["choose it when"])
