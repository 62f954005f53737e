"""Spark parity: the same 2,000 messages scored on Spark local[2] and locally give identical decisions."""

from __future__ import annotations

import math
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pyscore.engine import Engine
from pyscore.logschema import DECISION_LOG_SCHEMA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def messages_dir(small_bundle):
    return small_bundle.parent / "data" / "messages"


def _by_id(table: pa.Table) -> dict[str, dict]:
    return {r["message_id"]: r for r in table.to_pylist()}


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN (bit-for-bit floats otherwise)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _differences(a, b, path="metrics") -> list[str]:
    """Paths where two nested results differ: counts and ratios exactly; a mean of float
    contributions (summed by each engine in its own order) to 1e-12 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    if path.endswith("mean_contribution") and isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-12) else [f"{path}: {a!r} vs {b!r}"]
    return [] if _same(a, b) else [f"{path}: {a!r} vs {b!r}"]


def test_spark_scores_equal_local_scores_bit_for_bit(spark, small_bundle, messages_dir):
    from pyscore.spark import read_messages, score_dataframe

    df = read_messages(spark, [messages_dir], num_partitions=1).repartition(4)
    assert df.count() >= 2000
    remote = score_dataframe(df, small_bundle).toArrow()
    assert remote.schema.names == DECISION_LOG_SCHEMA.names

    local_input = read_messages(spark, [messages_dir], num_partitions=1).toArrow()
    local = Engine.load(small_bundle).score_batch(local_input, sources=local_input.column("source").to_pylist())
    remote_rows, local_rows = _by_id(remote), _by_id(local)
    assert remote_rows.keys() == local_rows.keys()
    mismatched = [mid for mid in local_rows if not _same(remote_rows[mid], local_rows[mid])]
    assert not mismatched, mismatched[:3]
    assert {r["verdict"] for r in local_rows.values()} >= {"safe", "malicious"}


def test_spark_metrics_equal_duckdb_metrics(spark, small_bundle, messages_dir):
    from pyscore import pipeline
    from pyscore.metrics import evaluate
    from pyscore.metrics.spark import evaluate_spark
    from pyscore.spark import read_messages, score_dataframe

    data = pipeline.load_split(small_bundle.parent / "data", None, progress=lambda m: None)
    labels = pipeline.labels_table(data)
    log = score_dataframe(read_messages(spark, [messages_dir]), small_bundle).toArrow()
    # read_messages names messages by path; the labels by Message-ID: join through the index refs.
    ref_to_id = {str(messages_dir.parent / r["ref"]): r["message_id"] for r in data.rows}
    ids = [ref_to_id.get(m, m) for m in log.column("message_id").to_pylist()]
    log = log.set_column(0, "message_id", pa.array(ids))
    local = evaluate(log, labels).to_dict()
    remote = evaluate_spark(log, labels, spark=spark).to_dict()
    assert _differences(local, remote) == []


def test_spark_score_cli_writes_parquet(spark, small_bundle, messages_dir, tmp_path):
    from pyscore.spark import score_files

    some = tmp_path / "some"
    some.mkdir()
    for p in sorted(messages_dir.rglob("*.eml"))[:50]:
        shutil.copy(p, some / p.name)
    n = score_files(spark, small_bundle, [some], tmp_path / "out")
    assert n == 50
    assert pq.read_table(tmp_path / "out").num_rows == 50


def test_missing_bundle_or_input_is_a_clear_error(spark, small_bundle, tmp_path):
    from pyscore.spark import read_messages, score_dataframe

    with pytest.raises(FileNotFoundError, match="no such file"):
        read_messages(spark, [tmp_path / "nope"])
    df = spark.createDataFrame([("a", b"x")], "message_id string, raw binary")
    with pytest.raises(FileNotFoundError, match="no bundle"):
        score_dataframe(df, tmp_path)
    with pytest.raises(ValueError, match="'raw'"):
        score_dataframe(spark.createDataFrame([("a",)], "message_id string"), small_bundle)
