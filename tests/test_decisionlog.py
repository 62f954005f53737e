"""Tests of the decision log: buffering, flushing, reading back, and crash safety."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

from pyscore.decisionlog import DecisionLogWriter, read_log
from pyscore.logschema import DECISION_LOG_SCHEMA


def records(start: int, n: int) -> pa.Table:
    rows = [
        {
            "message_id": f"m{i}", "tenant": "acme", "time": float(i), "source": "test",
            "verdict": "safe", "category": "safe", "action": "deliver", "score": math.nan,
            "deciding_detector": "", "fired": [], "shadow_fired": [],
            "detector_scores": [{"detector": "r1", "score": 0.0, "threshold": 1.0, "category": "bec", "kind": "rule"}],
            "contributions": [], "bundle_version": "v1",
        }
        for i in range(start, start + n)
    ]
    return pa.Table.from_pylist(rows, schema=DECISION_LOG_SCHEMA)


def test_buffered_until_flush_then_readable(tmp_path):
    log = DecisionLogWriter(tmp_path / "log", flush_rows=100)
    log.append(records(0, 10))
    assert read_log(tmp_path / "log").num_rows == 0  # still buffered
    log.append(records(10, 95))  # crosses flush_rows
    assert read_log(tmp_path / "log").num_rows == 105
    log.append(records(105, 3))
    log.close()
    table = read_log(tmp_path / "log")
    assert sorted(table.column("message_id").to_pylist(), key=lambda s: int(s[1:])) == [f"m{i}" for i in range(108)]
    with pytest.raises(ValueError, match="closed"):
        log.append(records(0, 1))


def test_bad_records_are_refused_naming_the_column(tmp_path):
    bad = records(0, 2).set_column(4, "verdict", pa.array(["safe", "evil"]))
    with DecisionLogWriter(tmp_path / "log") as log, pytest.raises(ValueError, match="column verdict"):
        log.append(bad)


def test_missing_log_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no decision log"):
        read_log(tmp_path / "nope")


def test_killed_writer_loses_only_the_unflushed_buffer(tmp_path):
    """A child appends and flushes in a loop, printing each acknowledged flush; we SIGKILL it."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {sys.path!r}
        from tests_helper_records import records
        from pyscore.decisionlog import DecisionLogWriter
        log = DecisionLogWriter({str(tmp_path / "log")!r}, flush_rows=1_000_000)
        i = 0
        while True:
            log.append(records(i, 50))
            i += 50
            log.flush()
            print(i, flush=True)
    """)
    (tmp_path / "tests_helper_records.py").write_text(
        "import math\nimport pyarrow as pa\nfrom pyscore.logschema import DECISION_LOG_SCHEMA\n"
        + textwrap.dedent(__import__("inspect").getsource(records))
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    acked = 0
    for line in proc.stdout:
        acked = int(line)
        if acked >= 2000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    table = read_log(tmp_path / "log")  # every segment complete and readable
    assert table.num_rows >= acked
    ids = set(table.column("message_id").to_pylist())
    assert {f"m{i}" for i in range(acked)} <= ids
