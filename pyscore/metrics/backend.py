"""This module contains the SQL backend that runs the named metrics queries: DuckDB, in process.

A backend takes Arrow relations, creates the named views in order, runs the
named queries and returns each result as a list of plain-Python rows. Spark
SQL implements the same ``run`` (``pyscore.metrics.spark``), so the metrics
code never knows which engine answered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

import pyarrow as pa

Rows = list[dict[str, Any]]


class Backend(Protocol):
    def run(
        self, relations: dict[str, pa.Table], views: dict[str, str], queries: dict[str, str]
    ) -> dict[str, Rows]: ...


class DuckDBBackend:
    """Runs the queries on a fresh in-memory DuckDB connection per call."""

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads

    def run(
        self, relations: dict[str, pa.Table], views: dict[str, str], queries: dict[str, str]
    ) -> dict[str, Rows]:
        import duckdb

        con = duckdb.connect(config={"threads": self.threads})
        try:
            for name, table in relations.items():
                con.register(name, table)
            # Materialised once: several queries read each view (scored_labels has millions of rows).
            for name, sql in views.items():
                con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
            return {name: normalize_rows(con.sql(sql).to_arrow_table().to_pylist())
                    for name, sql in queries.items()}
        finally:
            con.close()


def normalize_rows(rows: Rows) -> Rows:
    """Integer sums arrive as Decimal from DuckDB (HUGEINT) and as int from Spark: make them int."""
    for row in rows:
        for key, value in row.items():
            if isinstance(value, Decimal):
                row[key] = int(value)
    return rows
