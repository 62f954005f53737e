"""Baseline store files: log replay, compaction, torn and corrupt files, and SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from baseline_fixtures import event, synthetic_events, table

from pyscore.baseline.store import BaselineStore, BaselineStoreError, key_hash

REPO = Path(__file__).resolve().parents[1]


def sender_counts(store: BaselineStore) -> dict[int, int]:
    rec = store.entries("senders")
    return dict(zip(rec["key"].tolist(), rec["messages"].tolist(), strict=True))


def one(i: int):
    return table([event("acme", 1000 + i, f"s{i}@x.com", ["ann@acme.com"])])


def test_observed_updates_survive_reopening(tmp_path):
    store = BaselineStore.open(tmp_path / "s", create=True)
    store.observe(synthetic_events(100, 0))
    expected = {t: store.entries(t) for t in ("senders", "pairs", "names")}
    del store
    again = BaselineStore.open(tmp_path / "s")
    for name, rec in expected.items():
        np.testing.assert_array_equal(np.sort(again.entries(name), order="key"), np.sort(rec, order="key"))
    assert again.stats()["log_records"] == 1


def test_compaction_folds_the_log_into_the_snapshot(tmp_path):
    store = BaselineStore.open(tmp_path / "s", create=True)
    for i in range(3):
        store.observe(one(i))
    store.compact()
    assert store.stats()["log_records"] == 0
    store.observe(one(3))
    del store
    again = BaselineStore.open(tmp_path / "s")
    assert sorted(sender_counts(again).values()) == [1, 1, 1, 1]
    assert again.stats()["log_records"] == 1


def test_a_crash_between_snapshot_rename_and_log_truncation_applies_nothing_twice(tmp_path):
    path = tmp_path / "s"
    store = BaselineStore.open(path, create=True)
    for i in range(3):
        store.observe(one(i))
    shutil.copy(path / "baseline.log", tmp_path / "old.log")
    store.compact()
    del store
    shutil.copy(tmp_path / "old.log", path / "baseline.log")  # the truncation never happened
    again = BaselineStore.open(path)
    assert sorted(sender_counts(again).values()) == [1, 1, 1]
    again.observe(one(4))
    del again
    assert sorted(sender_counts(BaselineStore.open(path)).values()) == [1, 1, 1, 1]


def test_a_torn_last_record_is_ignored_and_cut_off(tmp_path):
    path = tmp_path / "s"
    store = BaselineStore.open(path, create=True)
    for i in range(3):
        store.observe(one(i))
    del store
    log = path / "baseline.log"
    data = log.read_bytes()
    log.write_bytes(data[:-7])  # the last append was interrupted
    again = BaselineStore.open(path)
    assert len(sender_counts(again)) == 2
    assert again.stats()["ignored_torn_bytes"] > 0
    again.observe(one(9))
    del again
    reopened = BaselineStore.open(path)
    assert reopened.stats()["ignored_torn_bytes"] == 0
    assert set(sender_counts(reopened)) >= {key_hash("acme", "s9@x.com")}


def test_a_zero_filled_tail_is_a_torn_write(tmp_path):
    path = tmp_path / "s"
    store = BaselineStore.open(path, create=True)
    store.observe(one(0))
    del store
    with open(path / "baseline.log", "ab") as f:
        f.write(b"\0" * 100)
    assert len(sender_counts(BaselineStore.open(path))) == 1


def test_a_corrupt_record_in_the_middle_names_the_log(tmp_path):
    path = tmp_path / "s"
    store = BaselineStore.open(path, create=True)
    for i in range(3):
        store.observe(one(i))
    del store
    log = path / "baseline.log"
    data = bytearray(log.read_bytes())
    data[24 + 16 + 40] ^= 0xFF  # inside the first record's payload
    log.write_bytes(bytes(data))
    with pytest.raises(BaselineStoreError, match=r"baseline\.log.*record at byte 24 is corrupt"):
        BaselineStore.open(path)


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "empty"])
def test_a_corrupt_snapshot_names_the_file(tmp_path, damage):
    path = tmp_path / "s"
    store = BaselineStore.memory()
    store.observe(synthetic_events(50, 0))
    store.save_as(path)
    snap = path / "baseline.snap"
    data = bytearray(snap.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        pattern = "checksum mismatch"
    elif damage == "truncate":
        data = data[: len(data) - 100]
        pattern = "truncated"
    elif damage == "magic":
        data[:8] = b"NOTASNAP"
        pattern = "not a baseline snapshot"
    else:
        data = bytearray()
        pattern = "truncated"
    snap.write_bytes(bytes(data))
    with pytest.raises(BaselineStoreError, match=rf"{snap}.*{pattern}"):
        BaselineStore.open(path, read_only=True)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="baseline.snap"):
        BaselineStore.open(tmp_path / "nothing")
    path = tmp_path / "s"
    BaselineStore.open(path, create=True)
    (path / "baseline.snap").unlink()
    with pytest.raises(BaselineStoreError, match="snapshot .* is missing"):
        BaselineStore.open(path, create=True)


def test_a_second_writer_is_refused(tmp_path):
    first = BaselineStore.open(tmp_path / "s", create=True)
    with pytest.raises(BaselineStoreError, match="open for writing by another process"):
        BaselineStore.open(tmp_path / "s")
    reader = BaselineStore.open(tmp_path / "s", read_only=True)  # readers need no lock
    with pytest.raises(RuntimeError, match="read-only"):
        reader.observe(one(0))
    del first


def test_a_log_of_another_store_with_updates_is_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    store = BaselineStore.open(a, create=True)
    store.observe(one(0))
    del store
    BaselineStore.memory().save_as(b)
    shutil.copy(a / "baseline.log", b / "baseline.log")
    with pytest.raises(BaselineStoreError, match="belongs to another snapshot"):
        BaselineStore.open(b)


CHILD = textwrap.dedent("""
    import sys
    import pyarrow as pa
    from pyscore.baseline.events import events_from_table
    from pyscore.baseline.store import BaselineStore
    path, start, compact_every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = BaselineStore.open(path, create=True)
    events_from_table(pa.Table.from_pylist([{"tenant": "t", "time": 0, "sender": "w@x.com", "recipients": []}]))
    print("ready", flush=True)
    i = start
    while True:
        # several recipients make each record a few hundred bytes: kills land mid-write too
        rows = [{"tenant": "acme", "time": 1000 + i, "sender": f"s{i}@x.com",
                 "recipients": [f"r{k}@acme.com" for k in range(i % 7 + 1)]}]
        store.observe(events_from_table(pa.Table.from_pylist(rows)))
        print(f"ack {i}", flush=True)
        i += 1
        if compact_every and i % compact_every == 0:
            store.compact()
""")


def run_child_and_kill(path: Path, start: int, compact_every: int, rng: random.Random) -> list[int]:
    """Runs the child, SIGKILLs it at a random moment, returns the acknowledged ids."""
    # The child imports pyscore exactly as this process did (installed, or the dev tree).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(start), str(compact_every)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    acks: list[int] = []
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            if line.startswith("ready"):
                ready.set()
            elif line.startswith("ack "):
                acks.append(int(line.split()[1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(60), proc.stderr.read() if proc.poll() is not None else "child did not start"
    time.sleep(rng.uniform(0.05, 0.6))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(10)
    assert proc.returncode == -signal.SIGKILL
    return acks


def test_sigkill_at_random_moments_loses_no_acknowledged_update(tmp_path):
    rng = random.Random(1234)
    path = tmp_path / "store"
    acked: set[int] = set()
    start = 0
    for round_ in range(6):
        acks = run_child_and_kill(path, start, compact_every=5 if round_ % 2 else 0, rng=rng)
        acked.update(acks)
        store = BaselineStore.open(path)  # must load: never a corrupt store
        counts = sender_counts(store)
        for i in acked:
            assert counts.get(key_hash("acme", f"s{i}@x.com")) == 1, f"acknowledged update {i} lost"
        # at most the one update in flight when killed is there without its ack
        present = {i for i in range(start, start + len(acks) + 2) if key_hash("acme", f"s{i}@x.com") in counts}
        assert set(acks) <= present and len(present - set(acks)) <= 1
        assert all(v == 1 for v in counts.values())
        start = max(present | acked, default=start - 1) + 1
        del store
    assert len(acked) > 0
