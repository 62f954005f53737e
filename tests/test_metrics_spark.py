"""Spark parity of pyscore.metrics: the same named queries give the same metrics on Spark SQL and DuckDB."""

from __future__ import annotations

import math

import pytest
from test_metrics import make_labels, make_log
from test_report import feedback_table, hostile_labels, hostile_log

from pyscore.metrics import evaluate, online_metrics
from pyscore.metrics.offline import BREAKDOWNS

pytestmark = pytest.mark.slow


def assert_same(a, b, path="result"):
    """Equal nested dicts / lists, floats within 1e-9 (sums of contributions may be added in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, path
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), (path, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), (path, a.keys() ^ b.keys())
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("case", ["hostile", "empty_split"])
def test_offline_metrics_equal_on_spark_and_duckdb(spark, case):
    from pyscore.metrics.spark import SparkBackend

    log, labels, split = {
        "hostile": (hostile_log(), hostile_labels(), "test"),
        "empty_split": (make_log(), make_labels(), "train"),
    }[case]
    duck = evaluate(log, labels, by=BREAKDOWNS, split=split)
    on_spark = evaluate(log, labels, by=BREAKDOWNS, split=split, backend=SparkBackend(spark))
    assert_same(duck.to_dict(), on_spark.to_dict())
    assert on_spark.coverage["labelled"] == (12 if case == "hostile" else 0)


def test_online_metrics_equal_on_spark_and_duckdb(spark):
    from pyscore.metrics.spark import SparkBackend

    duck = online_metrics(hostile_log(), feedback_table())
    on_spark = online_metrics(hostile_log(), feedback_table(), backend=SparkBackend(spark))
    assert_same(duck.to_dict(), on_spark.to_dict())
