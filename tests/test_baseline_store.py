"""The baseline store: key hashing, record layout, lookups against the dict oracle, decay arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from baseline_fixtures import DAY, event, synthetic_events, table

from pyscore import _core
from pyscore.baseline.events import normalize_name
from pyscore.baseline.reference import ReferenceBaseline
from pyscore.baseline.store import (
    ENTRY_DTYPES,
    OUTPUTS,
    BaselineStore,
    event_columns,
    hash_column,
    key_hash,
)


def col(name: str) -> int:
    return OUTPUTS.index(name)


def reference_replay(events) -> np.ndarray:
    """Oracle of BaselineStore.replay: group equal times, look all up, then observe all."""
    ref, rows, out = ReferenceBaseline(), events.to_pylist(), []
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j]["time"] == rows[i]["time"]:
            j += 1
        out += [ref.lookup(r) for r in rows[i:j]]
        for r in rows[i:j]:
            ref.observe(r)
        i = j
    return np.array(out, dtype=np.float32).reshape(len(rows), len(OUTPUTS))


def test_hash_column_matches_the_plain_python_definition():
    values = ["alice@example.com", "", "Ünïcödé name", "a\x1fb"]
    assert hash_column(values).tolist() == [key_hash(v) for v in values]
    tenant = hash_column(["acme"] * 4)
    assert hash_column(values, tenant).tolist() == [key_hash("acme", v) for v in values]
    # chained with a row index: H(tenant, values[rows[i]])
    rows = np.array([3, 0, 0])
    assert hash_column(values, tenant[:3], rows=rows).tolist() == [key_hash("acme", values[r]) for r in rows]
    assert key_hash("") == 14695981039346656037  # FNV-1a offset basis


def test_event_columns_hash_each_key_as_documented():
    ev = table([event("acme", 100, "a@x.com", ["b@acme.com"], name="Alan Able", reply_to=("z@q.com",))])
    cols = event_columns(ev)
    assert cols["sender"][0] == key_hash("acme", "a@x.com")
    assert cols["domain"][0] == key_hash("acme", "x.com")
    assert cols["global_domain"][0] == key_hash("x.com")
    assert cols["name"][0] == key_hash("acme", "able alan")
    assert cols["rcpt"][0] == key_hash("acme", "b@acme.com")
    assert cols["rcpt_domain"][0] == key_hash("acme", "acme.com")
    assert cols["pair"][0] == key_hash("acme", "a@x.com", "b@acme.com")
    assert cols["reverse_pair"][0] == key_hash("acme", "b@acme.com", "a@x.com")
    assert cols["reply_pair"][0] == key_hash("acme", "a@x.com", "z@q.com")


def test_record_layouts_match_the_core():
    stats = BaselineStore.memory().stats()
    for name, dtype in ENTRY_DTYPES.items():
        assert stats["tables"][name]["entry_bytes"] == dtype.itemsize


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replay_matches_the_dict_oracle(seed):
    events = synthetic_events(500, seed)
    got = BaselineStore.memory().replay(events)
    np.testing.assert_allclose(got, reference_replay(events), rtol=1e-5, atol=1e-6, equal_nan=True)


def test_lookup_after_observe_matches_the_oracle_for_new_messages():
    history, later = synthetic_events(300, 5), synthetic_events(60, 6)
    later = later.set_column(later.schema.get_field_index("time"), "time",
                             [[t + 40 * DAY for t in later["time"].to_pylist()]])
    store, ref = BaselineStore.memory(), ReferenceBaseline()
    store.observe(history)
    for row in history.to_pylist():
        ref.observe(row)
    expected = np.array([ref.lookup(r) for r in later.to_pylist()], dtype=np.float32)
    np.testing.assert_allclose(store.lookup_batch(later), expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_lookup_fills_a_caller_allocated_array_and_checks_its_shape():
    events = synthetic_events(20, 1)
    out = np.full((20, len(OUTPUTS)), -1.0, dtype=np.float32)
    store = BaselineStore.memory()
    assert store.lookup_batch(events, out) is out
    assert not (out == -1).any()
    with pytest.raises(ValueError, match="shape"):
        store.lookup_batch(events, np.empty((20, 3), dtype=np.float32))


def test_bad_columns_are_value_errors_naming_the_problem():
    store = BaselineStore.memory()
    cols = event_columns(table([event("acme", t, "a@x.com", ["b@acme.com", "c@acme.com"]) for t in range(5)]))
    offsets = cols["rcpt_offsets"].copy()
    offsets[1], offsets[2] = 3, 1
    with pytest.raises(ValueError, match="recipient offsets decrease at message 1"):
        store.observe(dict(cols, rcpt_offsets=offsets))
    with pytest.raises(ValueError, match="offsets must start at 0"):
        store.observe(dict(cols, reply_offsets=np.array([-1, 0, 0, 0, 0, 0])))
    with pytest.raises(ValueError, match="'sender' has 2 values"):
        store.observe(dict(cols, sender=cols["sender"][:2]))
    with pytest.raises(ValueError, match="verdict code 9"):
        store.observe(dict(cols, verdict=np.full(5, 9, np.uint8)))
    with pytest.raises(ValueError, match="sorted"):
        store.replay(dict(cols, time=cols["time"][::-1].copy()))


def test_empty_batches():
    store = BaselineStore.memory()
    empty = synthetic_events(5, 0).slice(0, 0)
    assert store.lookup_batch(empty).shape == (0, len(OUTPUTS))
    store.observe(empty)
    assert store.replay(empty).shape == (0, len(OUTPUTS))


def test_new_rare_common_and_the_bec_pattern():
    rows = [event("acme", i * DAY, "boss@acme.com", ["ann@acme.com"], name="Bob Boss") for i in range(1, 7)]
    rows.append(event("acme", 3 * DAY + 5, "ann@acme.com", ["boss@acme.com"], name="Ann A"))
    store = BaselineStore.memory()
    store.observe(table(rows))
    probe = table([
        event("acme", 10 * DAY, "boss@acme.com", ["ann@acme.com"], name="Boss, Bob"),
        event("acme", 10 * DAY, "bob.boss@freemail.test", ["ann@acme.com"], name="Bob Boss", reply_to=("pay@drop.test",)),
    ])
    rows = dict(zip(probe["sender"].to_pylist(), store.lookup_batch(probe), strict=True))
    legit, bec = rows["boss@acme.com"], rows["bob.boss@freemail.test"]
    assert legit[col("sender_prevalence")] == 2 and bec[col("sender_prevalence")] == 0
    assert legit[col("sender_days_known")] == pytest.approx(9.0)
    assert legit[col("pair_count_min")] == 6 and bec[col("pair_count_min")] == 0
    assert legit[col("pair_reverse_max")] == 1
    assert legit[col("name_other_address")] == 0 and legit[col("name_sender_known")] == 1
    assert bec[col("name_other_address")] == 1 and bec[col("name_sender_known")] == 0
    assert bec[col("reply_to_never_seen")] == 1 and legit[col("reply_to_never_seen")] == 0
    assert bec[col("domain_prevalence")] == 0 and legit[col("domain_prevalence")] == 2
    assert legit[col("recipient_received_min")] == 6
    assert legit[col("recipient_first_time_share_max")] == pytest.approx(1 / 6)


def test_solicited_counts_messages_the_organisation_sent():
    store = BaselineStore.memory()
    store.observe(table([
        event("acme", DAY, "ann@acme.com", ["vendor@supply.test"]),
        event("acme", 2 * DAY, "ann@acme.com", ["vendor@supply.test", "other@supply.test"]),
    ]))
    (row,) = store.lookup_batch(table([event("acme", 3 * DAY, "vendor@supply.test", ["ann@acme.com"])]))
    assert row[col("sender_solicited")] == 2
    assert row[col("domain_solicited")] == 3
    assert row[col("sender_prevalence")] == 0  # solicited, yet it never wrote
    assert row[col("pair_reverse_max")] == 2


def test_decay_arithmetic():
    h = 10.0  # days
    store = BaselineStore.memory(half_life_days=h)
    store.observe(table([event("acme", 0, "a@x.com", ["b@acme.com"]),
                         event("acme", int(h * DAY), "a@x.com", ["b@acme.com"])]))
    (rec,) = store.entries("senders")[store.entries("senders")["messages"] > 0]
    assert rec["decayed"] == pytest.approx(1 * 0.5 + 1)  # the first message is one half-life old
    (row,) = store.lookup_batch(table([event("acme", int(3 * h * DAY), "a@x.com", ["b@acme.com"])]))
    assert row[col("sender_recent")] == pytest.approx(1.5 * 0.25, rel=1e-6)
    # an older message arriving late is decayed to the newest time instead
    late = BaselineStore.memory(half_life_days=h)
    late.observe(table([event("acme", int(h * DAY), "a@x.com", ["b@acme.com"])]))
    late.observe(table([event("acme", 0, "a@x.com", ["b@acme.com"])]))
    rec = late.entries("senders")[late.entries("senders")["messages"] > 0][0]
    assert rec["decayed"] == pytest.approx(1.5)
    assert rec["first_seen"] == 0 and rec["last_seen"] == int(h * DAY)
    assert math.isclose(float(late.entries("pairs")["decayed"][0]), 1.5, rel_tol=1e-6)


def test_name_normalisation_matches_name_orders():
    assert normalize_name("Skilling, Jeff") == normalize_name("Jeff Skilling") == "jeff skilling"
    assert normalize_name("JEFF K. SKILLING") == "jeff skilling"
    assert normalize_name("jeff@enron.com") == ""
    assert normalize_name("Jeff Skilling </O=ENRON/OU=NA/CN=RECIPIENTS/CN=JSKILLIN>") == "jeff skilling"


def test_stats_report_bytes_per_sender_and_pair():
    store = BaselineStore.memory()
    store.observe(synthetic_events(200, 0))
    s = store.stats()
    assert s["bytes_per_pair"] >= ENTRY_DTYPES["pairs"].itemsize
    assert s["bytes_per_sender"] >= ENTRY_DTYPES["senders"].itemsize
    assert s["total_bytes"] == sum(t["bytes"] for t in s["tables"].values())


def test_put_entries_rejects_a_duplicate_key():
    store = BaselineStore.memory()
    rec = np.zeros(2, ENTRY_DTYPES["pairs"])
    rec["key"] = 7
    with pytest.raises(ValueError, match="given twice"):
        store.put_entries("pairs", rec)


def test_core_lists_outputs_and_tables():
    assert len(_core.BASELINE_OUTPUTS) == len(OUTPUTS) == 27
    assert list(ENTRY_DTYPES) == sorted(ENTRY_DTYPES, key=list(_core.BASELINE_TABLES).index)
