"""This module contains the decision log: every scored message appended as a Parquet record.

A log is a directory of immutable Parquet segments. Records are buffered in
memory and each flush writes one new segment: to a temporary name, fsync'd,
then renamed, then the directory fsync'd. A crash therefore loses at most the
unflushed buffer; a half-written temporary file is never read, and a segment
once renamed is complete. Readers (DuckDB, Spark, ``read_log``) read
``DIR/*.parquet``.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pyscore._fs import fsync_dir
from pyscore.logschema import DECISION_LOG_SCHEMA, conform

SEGMENT_GLOB = "part-*.parquet"


class DecisionLogWriter:
    """Buffered, crash-safe appender of decision records; safe to share between threads."""

    def __init__(self, directory: str | Path, *, flush_rows: int = 50_000) -> None:
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be >= 1, got {flush_rows}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_rows = flush_rows
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._lock = threading.Lock()
        self._closed = False

    def append(self, records: pa.Table) -> None:
        """Buffer decision records (DECISION_LOG_SCHEMA); flushes when the buffer is full."""
        records = conform(records, "decision log").select(DECISION_LOG_SCHEMA.names)
        with self._lock:
            if self._closed:
                raise ValueError(f"decision log {self.directory} is closed")
            self._buffer.append(records)
            self._buffered += records.num_rows
            if self._buffered >= self.flush_rows:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._flush_locked()
                self._closed = True

    def __enter__(self) -> DecisionLogWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _flush_locked(self) -> None:
        if not self._buffered:
            return
        table = pa.concat_tables(self._buffer)
        name = f"part-{os.getpid()}-{uuid.uuid4().hex}.parquet"
        tmp = self.directory / f".{name}.tmp"
        try:
            with tmp.open("wb") as f:
                pq.write_table(table, f)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.directory / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.directory)
        self._buffer.clear()
        self._buffered = 0


def read_log(directory: str | Path) -> pa.Table:
    """Every complete segment of a decision log, as one table (empty when there is none)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no decision log at {directory}")
    parts = sorted(directory.glob(SEGMENT_GLOB))
    if not parts:
        return DECISION_LOG_SCHEMA.empty_table()
    tables = []
    for p in parts:
        try:
            tables.append(pq.read_table(p))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"{p}: unreadable decision log segment: {exc}") from None
    return conform(pa.concat_tables(tables, promote_options="default"), "decision log")
