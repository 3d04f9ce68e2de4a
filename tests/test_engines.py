"""Module 01's comparison helpers: the crossing point is computed, not assumed."""

import pandas as pd
import pytest

from prodspark.engines import crossover, same_result


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
