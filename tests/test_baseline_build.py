"""Offline baseline builds: DuckDB SQL equals the online store, Spark SQL equals DuckDB."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from baseline_fixtures import synthetic_events

from pyscore.baseline.build import aggregates_duckdb, build_memory_store, build_store
from pyscore.baseline.store import TABLES, BaselineStore

HALF_LIFE = 30 * 86400.0


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "events.parquet"
    pq.write_table(synthetic_events(400, 11), path)
    return path


def sorted_entries(store: BaselineStore, table: str) -> np.ndarray:
    return np.sort(store.entries(table), order="key")


def assert_same_tables(a: BaselineStore, b: BaselineStore) -> None:
    for table in TABLES:
        x, y = sorted_entries(a, table), sorted_entries(b, table)
        assert len(x) == len(y), table
        for field in x.dtype.names:
            if field == "decayed":  # float32 sums in a different order
                np.testing.assert_allclose(x[field], y[field], rtol=1e-5, err_msg=table)
            else:
                np.testing.assert_array_equal(x[field], y[field], err_msg=f"{table}.{field}")


def test_duckdb_build_equals_observing_the_events_in_time_order(events_file):
    built, report = build_memory_store([events_file])
    online = BaselineStore.memory()
    online.observe(pq.read_table(events_file))
    assert_same_tables(built, online)
    assert report.rows["pairs"] == len(online.entries("pairs")) > 0


def test_build_store_writes_a_loadable_snapshot(events_file, tmp_path):
    build_store([events_file], tmp_path / "store")
    loaded = BaselineStore.open(tmp_path / "store")
    built, _ = build_memory_store([events_file])
    assert_same_tables(loaded, built)
    assert loaded.stats()["log_records"] == 0


def test_build_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no events file"):
        build_memory_store([tmp_path / "missing.parquet"])
    with pytest.raises(ValueError, match="engine"):
        build_memory_store([tmp_path / "x.parquet"], engine="sqlite")


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from pyscore.spark import local_session

    session = local_session()
    session.conf.set("spark.sql.shuffle.partitions", "1")  # tiny tables: one task per stage
    return session


@pytest.mark.slow
def test_spark_sql_gives_the_duckdb_aggregates(events_file, spark):
    from pyscore.baseline.build import aggregates_spark

    duck = aggregates_duckdb([events_file], HALF_LIFE)
    sp = aggregates_spark([events_file], HALF_LIFE, spark)
    assert set(duck) == set(sp)
    for name, table in duck.items():
        other = sp[name]
        assert table.column_names == other.column_names, name
        assert table.num_rows == other.num_rows > 0, name
        for column in table.column_names:
            a, b = table[column].to_pylist(), other[column].to_pylist()
            if column == "decayed":  # double sums: the order of addition may differ in the last bit
                np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=name)
            else:
                assert a == b, f"{name}.{column}"
