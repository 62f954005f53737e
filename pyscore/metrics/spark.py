"""This module contains the Spark SQL backend of the metrics: the same named queries on a SparkSession.

``evaluate(log, labels, backend=SparkBackend(spark))`` gives the metrics that
the DuckDB backend gives (the queries return counts only; see
``pyscore.metrics.queries``). pyspark is an optional extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pyscore.metrics.backend import Rows, normalize_rows

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


class SparkBackend:
    """Registers each relation as a temporary view, creates the views, runs the queries."""

    def __init__(self, spark: SparkSession | None = None) -> None:
        if spark is None:
            from pyscore.spark import local_session

            spark = local_session(app_name="pyscore-metrics")
        self.spark = spark

    def run(
        self, relations: dict[str, pa.Table], views: dict[str, str], queries: dict[str, str]
    ) -> dict[str, Rows]:
        for name, table in relations.items():
            self.spark.createDataFrame(table).createOrReplaceTempView(name)
        for name, sql in views.items():
            self.spark.sql(sql).createOrReplaceTempView(name)
        return {name: normalize_rows(self.spark.sql(sql).toArrow().to_pylist()) for name, sql in queries.items()}


def evaluate_spark(log: Any, labels: Any, *, spark: SparkSession | None = None, **kwargs: Any):
    """``pyscore.metrics.evaluate`` with the queries run by Spark SQL."""
    from pyscore.metrics.offline import evaluate

    return evaluate(log, labels, backend=SparkBackend(spark), **kwargs)
