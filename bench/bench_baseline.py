"""Baseline store: batch lookups (core vs Python dicts), memory per sender and pair, build time.

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
         --benchmark-enable --benchmark-only bench_baseline.py -s

Generated traffic (Zipf-skewed senders, several tenants, colleagues and
outsiders): 10,000 distinct probe messages against a history of 200,000.
Figures are printed with -s and stored in the benchmark's extra_info.

The one-message figures time the baseline signal group on 2,000 distinct
one-message MessageBatches (thread time, median and p99): the engine's path
(key strings straight from the batch, one core call) beside the plain path
through Python event records (event_rows, then the core's column dict).
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pyscore.baseline.build import build_memory_store
from pyscore.baseline.events import EVENT_SCHEMA, event_rows, normalize_name
from pyscore.baseline.reference import ReferenceBaseline
from pyscore.baseline.signals import SIGNALS, baseline_signal_group
from pyscore.baseline.store import BaselineStore, event_columns
from pyscore.batch import MessageBatch
from pyscore.message import Domain, EmailAddress, Headers, Mailbox, Message, Recipients
from pyscore.signals.registry import ScoringContext

DAY = 86400
N_PROBE = 10_000
N_HISTORY = 200_000


def generate(n: int, seed: int, t0: int = 0, span_days: int = 300) -> pa.Table:
    """n messages of 4 tenants: Zipf senders, 1-4 recipients, some reply-tos and verdicts."""
    rng = np.random.default_rng(seed)
    tenants = np.array(["t0", "t1", "t2", "t3"])
    n_people, n_outside = 2_000, 20_000
    tenant = tenants[rng.integers(0, 4, n)]
    outsider = rng.random(n) < 0.6
    s_idx = np.where(outsider, rng.zipf(1.3, n) % n_outside, rng.integers(0, n_people, n))
    times = np.sort(t0 + rng.integers(0, span_days * DAY, n))
    rows = {name: [] for name in EVENT_SCHEMA.names}
    for i in range(n):
        t = tenant[i]
        own = f"{t}.example"
        if outsider[i]:
            sender, domain = f"o{s_idx[i]}@d{s_idx[i] % 3000}.test", f"d{s_idx[i] % 3000}.test"
        else:
            sender, domain = f"p{s_idx[i]}@{own}", own
        k = int(rng.integers(1, 5))
        rcpts = {f"p{j}@{own}" for j in rng.integers(0, n_people, k)}
        name = f"Name{s_idx[i] % 5000} Surname{s_idx[i] % 97}"
        rows["tenant"].append(t)
        rows["message_id"].append(f"{seed}-{i}")
        rows["time"].append(int(times[i]))
        rows["sender"].append(sender)
        rows["sender_domain"].append(domain)
        rows["display_name"].append(name)
        rows["name_key"].append(normalize_name(name))
        rows["recipients"].append([{"address": a, "domain": own} for a in sorted(rcpts)])
        rows["reply_to"].append([f"r{s_idx[i]}@reply.test"] if rng.random() < 0.05 else [])
        rows["direction"].append("inbound" if outsider[i] else "internal")
        rows["sender_own"].append(not outsider[i])
        rows["in_reply_to"].append("")
        rows["verdict"].append("malicious" if rng.random() < 0.01 else None)
    return pa.Table.from_pydict(rows, schema=EVENT_SCHEMA)


@pytest.fixture(scope="module")
def history() -> pa.Table:
    return generate(N_HISTORY, 1)


@pytest.fixture(scope="module")
def probes() -> pa.Table:
    return generate(N_PROBE, 2, t0=300 * DAY, span_days=10)


@pytest.fixture(scope="module")
def stores(history):
    store = BaselineStore.memory()
    store.observe(history)
    ref = ReferenceBaseline()
    for row in history.to_pylist():
        ref.observe(row)
    return store, ref


def _report(benchmark, label: str, seconds: float, lookups: int) -> None:
    rate = lookups / seconds
    benchmark.extra_info.update({"lookups_per_s": rate, "us_per_message": seconds / N_PROBE * 1e6})
    print(f"\n{label}: {seconds * 1e3:.2f} ms per {N_PROBE} messages, "
          f"{seconds / N_PROBE * 1e6:.2f} us/message, {rate / 1e6:.2f} M lookups/s")


def test_lookup_core(benchmark, stores, probes):
    store, _ = stores
    cols = event_columns(probes)
    out = np.empty((N_PROBE, len(SIGNALS) - 1), dtype=np.float32)
    benchmark.pedantic(store.lookup_batch, args=(cols, out), rounds=30, iterations=1, warmup_rounds=2)
    _report(benchmark, "core batch lookup", benchmark.stats.stats.median, N_PROBE * len(SIGNALS))


def test_lookup_core_with_hashing(benchmark, stores, probes):
    """The same, including hashing the events' strings into key columns."""
    store, _ = stores
    benchmark.pedantic(store.lookup_batch, args=(probes,), rounds=10, iterations=1, warmup_rounds=1)
    _report(benchmark, "core lookup + key hashing", benchmark.stats.stats.median, N_PROBE * len(SIGNALS))


def test_lookup_python_dict(benchmark, stores, probes):
    """Peer: the same lookups in plain Python dicts (ReferenceBaseline)."""
    _, ref = stores
    rows = probes.to_pylist()

    def run():
        return [ref.lookup(r) for r in rows]

    benchmark.pedantic(run, rounds=3, iterations=1)
    _report(benchmark, "python dict lookup", benchmark.stats.stats.median, N_PROBE * len(SIGNALS))


def test_memory_of_one_million_pairs(benchmark):
    """1M distinct pairs (and their senders and recipients) observed through the core."""
    rng = np.random.default_rng(3)
    n_msg, per = 250_000, 4
    n = n_msg
    cols = {
        "time": np.sort(rng.integers(0, 300 * DAY, n)).astype(np.int64),
        "sender": rng.integers(1, 2**63, n, dtype=np.int64).astype(np.uint64) % np.uint64(200_000) + np.uint64(1),
        "domain": rng.integers(1, 20_000, n).astype(np.uint64),
        "global_domain": rng.integers(1, 20_000, n).astype(np.uint64),
        "name": rng.integers(1, 50_000, n).astype(np.uint64),
        "verdict": np.zeros(n, np.uint8),
        "sender_own": np.zeros(n, np.uint8),
        "rcpt_offsets": np.arange(0, (n + 1) * per, per, dtype=np.int64),
        "rcpt": rng.integers(1, 100_000, n * per).astype(np.uint64),
        "rcpt_domain": rng.integers(1, 100, n * per).astype(np.uint64),
        "pair": rng.permutation(np.arange(1, n * per + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)),
        "reply_offsets": np.zeros(n + 1, np.int64),
        "reply_pair": np.zeros(0, np.uint64),
    }

    def run():
        store = BaselineStore.memory()
        store.observe(cols)
        return store

    store = benchmark.pedantic(run, rounds=1, iterations=1)
    s = store.stats()
    pairs = s["tables"]["pairs"]["size"]
    benchmark.extra_info.update({"pairs": pairs, "total_mb": s["total_bytes"] / 1e6,
                                 "bytes_per_pair": s["bytes_per_pair"], "bytes_per_sender": s["bytes_per_sender"]})
    print(f"\n{pairs:,d} pairs, {s['tables']['senders']['size']:,d} senders: total {s['total_bytes'] / 1e6:.1f} MB; "
          f"{s['bytes_per_pair']:.0f} B per pair, {s['bytes_per_sender']:.0f} B per sender "
          f"(records {s['tables']['pairs']['entry_bytes']} / {s['tables']['senders']['entry_bytes']} B, "
          "the rest is open-addressing slack)")
    assert pairs == n * per and s["total_bytes"] < 200e6


def test_build_duckdb_36k(benchmark, tmp_path_factory):
    """Offline build of an Enron-sized events table (36k messages), beside observing it online."""
    events = generate(36_000, 4)
    path = tmp_path_factory.mktemp("ev") / "events.parquet"
    pq.write_table(events, path)
    result = benchmark.pedantic(build_memory_store, args=([path],), rounds=3, iterations=1)
    _, report = result
    start = time.perf_counter()
    BaselineStore.memory().observe(events)
    online = time.perf_counter() - start
    benchmark.extra_info.update({"sql_s": report.sql_seconds, "load_s": report.load_seconds, "online_observe_s": online})
    print(f"\nDuckDB build of 36k messages: {benchmark.stats.stats.median:.2f} s (SQL {report.sql_seconds:.2f} s, "
          f"load {report.load_seconds:.2f} s); peer: online observe incl. hashing {online:.2f} s")


N_SINGLE = 2_000


def _mailbox(address: str, name: str = "") -> Mailbox:
    local, _, domain = address.partition("@")
    return Mailbox(EmailAddress(address, local, Domain(domain, domain, domain.rsplit(".", 1)[-1], "", True)), name)


def _message(row: dict) -> Message:
    sender = _mailbox(row["sender"], row["display_name"])
    return Message(sender=sender, headers=Headers(from_=sender, reply_to=tuple(_mailbox(a) for a in row["reply_to"])),
                   recipients=Recipients(to=tuple(_mailbox(r["address"]) for r in row["recipients"])))


@pytest.fixture(scope="module")
def single_messages(probes):
    """N_SINGLE distinct probe messages, each its own one-message batch, with tenant and time."""
    rows = probes.slice(0, N_SINGLE).to_pylist()
    return [(MessageBatch.from_messages([_message(r)]), r["tenant"], float(r["time"])) for r in rows]


def _per_message(benchmark, label: str, run, items) -> None:
    """Thread time of run(batch, tenant, time) per message: median and p99, printed and in extra_info."""
    took = []
    for batch, tenant, t in items:
        start = time.thread_time_ns()
        run(batch, tenant, t)
        took.append(time.thread_time_ns() - start)
    us = np.array(took) / 1e3
    benchmark.extra_info.update({"median_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99))})
    print(f"\n{label}: median {np.median(us):.1f} us, p99 {np.percentile(us, 99):.1f} us per message "
          f"({len(items)} distinct one-message batches, thread time)")


def test_one_message_signals(benchmark, stores, single_messages):
    """The baseline signal group on one message, as the engine runs it."""
    store, _ = stores
    group = baseline_signal_group()

    def run(batch, tenant, t):
        out = np.full((1, len(SIGNALS)), np.nan, dtype=np.float32)
        group.compute(batch, ScoringContext(tenants=[tenant], times=np.array([t]), baseline=store), out)

    benchmark.pedantic(lambda: _per_message(benchmark, "one message, key strings + one core call", run,
                                            single_messages), rounds=1, iterations=1)


def test_one_message_event_rows_peer(benchmark, stores, single_messages):
    """Peer: the same lookups through Python event records and the core's column dict."""
    store, _ = stores
    out = np.empty((1, len(SIGNALS) - 1), dtype=np.float32)

    def run(batch, tenant, t):
        rows = event_rows(batch, [tenant], times=np.array([t]), lookup_only=True)
        store.lookup_batch(event_columns(rows), out)

    benchmark.pedantic(lambda: _per_message(benchmark, "one message, event_rows + column dict", run,
                                            single_messages), rounds=1, iterations=1)
