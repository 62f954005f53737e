"""This module contains the Spark front end: the same Engine over a cluster.

pyspark is an optional extra (``pip install pyscore[spark]``). The bundle is
shipped to executors with ``SparkContext.addFile`` and opened once per Python
worker; each partition's Arrow record batches go through
``Engine.score_batch`` inside ``mapInArrow``, so a decision computed on Spark
is the one computed locally, bit for bit, with the same columns as the local
decision log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from pyscore.logschema import DECISION_LOG_SCHEMA

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

RAW_SCHEMA = pa.schema([("message_id", pa.string()), ("source", pa.string()), ("raw", pa.binary())])
OUTPUT_SCHEMA = pa.schema([*DECISION_LOG_SCHEMA])

_ENGINES: dict[str, object] = {}  # per Python worker: bundle path -> Engine


def _require_pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ImportError("pyscore.spark needs pyspark: pip install 'pyscore[spark]'") from None


def local_session(master: str = "local[2]", app_name: str = "pyscore") -> SparkSession:
    """A SparkSession for local runs and tests: loopback only, no UI, this Python on workers."""
    _require_pyspark()
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def spark_schema(schema: pa.Schema):
    """The Spark SQL type of an Arrow schema (decision log, raw messages)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def read_messages(spark: SparkSession, paths: Sequence[str | Path], *, num_partitions: int | None = None) -> DataFrame:
    """Messages from files, folders, mboxes and tar archives as a DataFrame (message_id, source, raw).

    Each input path is read by one task with ``pyscore.corpus``; problems
    (unreadable or empty entries) fail the job with the entry's id rather than
    being dropped.
    """
    _require_pyspark()
    paths = [str(Path(p).resolve()) for p in paths]
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
    rdd = spark.sparkContext.parallelize(paths, num_partitions or max(1, len(paths)))
    return spark.createDataFrame(rdd.flatMap(_read_path), schema=spark_schema(RAW_SCHEMA))


def _read_path(path: str) -> Iterator[tuple[str, str, bytes]]:
    from pyscore.corpus import iter_raw_messages

    source = Path(path).name.split(".")[0]
    for entry in iter_raw_messages([path]):
        yield entry.source_id, source, entry.data


def score_dataframe(df: DataFrame, bundle: str | Path, *, tenant: str = "default") -> DataFrame:
    """Decisions for a DataFrame of messages, with the decision log's columns.

    ``df`` has a ``raw`` binary column (RFC 5322 bytes) or an ``mdm`` string
    column (MDM JSON), and optionally ``message_id``, ``tenant``, ``time`` and
    ``source``.
    """
    _require_pyspark()
    from pyspark import SparkFiles

    bundle = Path(bundle).resolve()
    if not (bundle / "manifest.json").is_file():
        raise FileNotFoundError(f"no bundle at {bundle}")
    if "raw" not in df.columns and "mdm" not in df.columns:
        raise ValueError("score_dataframe needs a 'raw' (binary) or 'mdm' (JSON string) column")
    sc = df.sparkSession.sparkContext
    shipped = bundle.name
    if shipped not in {Path(f).name for f in sc.listFiles}:
        sc.addFile(str(bundle), recursive=True)

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        engine = _engine(SparkFiles.get(shipped))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            sources = table.column("source").to_pylist() if "source" in table.column_names else None
            out = engine.score_batch(table, tenant=tenant, sources=sources)
            yield from out.to_batches()

    return df.mapInArrow(score_partition, spark_schema(OUTPUT_SCHEMA))


def _engine(path: str):
    from pyscore.engine import Engine

    engine = _ENGINES.get(path)
    if engine is None:
        engine = _ENGINES[path] = Engine.load(path)
    return engine


def score_files(spark: SparkSession, bundle: str | Path, inputs: Sequence[str | Path], output: str | Path,
                *, tenant: str = "default") -> int:
    """Read messages, score them on Spark, write the decisions as Parquet; returns the row count."""
    decisions = score_dataframe(read_messages(spark, inputs), bundle, tenant=tenant)
    decisions.write.mode("errorifexists").parquet(str(output))
    return spark.read.parquet(str(output)).count()
