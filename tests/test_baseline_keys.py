"""Baseline key strings (pyscore.baseline.keys): the same keys as event_rows, one core call per batch."""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata

import numpy as np
import pytest

from pyscore import _core
from pyscore.baseline.events import event_rows, normalize_name
from pyscore.baseline.keys import EventKeys, event_keys, row_keys, tenant_keys, timed_rows
from pyscore.baseline.signals import SIGNALS, baseline_signal_group
from pyscore.baseline.store import OUTPUTS, TABLES, BaselineStore, event_columns
from pyscore.batch import ListGroup, MessageBatch
from pyscore.message import Domain, EmailAddress, Headers, Mailbox, Message, Recipients
from pyscore.signals.registry import ScoringContext

T0 = dt.datetime(2021, 5, 3, 8, 0, tzinfo=dt.UTC)
CONFIGS = {"acme": {"own_domains": ["acme.com"], "vips": [{"name": "Carol Chief", "address": "carol@acme.com"}]}}


def box(address: str, name: str = "", root: str | None = None, host: str | None = None) -> Mailbox:
    local, _, domain = address.partition("@")
    return Mailbox(EmailAddress(address, local, Domain(domain if host is None else host,
                                                       domain if root is None else root, "", "", True)), name)


def message(sender: Mailbox, to=(), cc=(), bcc=(), reply_to=(), day: float = 0.0) -> Message:
    return Message(sender=sender, headers=Headers(from_=sender, date=T0 + dt.timedelta(days=day), reply_to=reply_to),
                   recipients=Recipients(to=tuple(to), cc=tuple(cc), bcc=tuple(bcc)))


def awkward_messages() -> list[Message]:
    """Everything event_rows normalises: case, duplicates, empties, non-ASCII, missing domains."""
    return [
        message(box("Mallory@Evil.TEST", "Carol Chief"), to=[box("dave@acme.com"), box("DAVE@acme.com")],
                cc=[box("carol@acme.com"), box("")], bcc=[box("Dave@Acme.com", root="ACME.com")],
                reply_to=(box("mallory@evil.test"), box("Pay@Drop.test"), box("pay@drop.test")), day=1),
        message(box("ünï@Exämple.test", "Jérôme  Dupont-Ésposito"), to=[box("Ärger@Straße.test")], day=2),
        message(box("carol@acme.com", "Chief, Carol (CEO)"), to=[box("vendor@supply.test", root="")], day=3),
        message(box("noroot@host.sub.test", "x@y.z", root="", host="host.sub.test"), day=4),
        message(box("", ""), to=[box("dave@acme.com")], day=5),
        message(box("dave@acme.com", "DAVE D"), to=[box("carol@acme.com")], cc=[box("Carol@ACME.com")],
                reply_to=(box("dave@acme.com"),), day=6),
        message(box("x@y.test", "\udcff lone"), to=[box("a\udcffb@y.test")], day=7),
    ]


def unpacked(batch: MessageBatch) -> MessageBatch:
    """The same batch as plain columns (no PackedBatch behind it)."""
    lists = {g: ListGroup(lg.offsets, {f: lg.columns[f] for f in lg.columns}) for g, lg in batch.lists.items()}
    return MessageBatch(list(batch.ids), {p: batch.columns[p] for p in batch.columns}, lists)


def assert_same_columns(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, values in want.items():
        assert got[key].dtype == values.dtype, key
        np.testing.assert_array_equal(got[key], values, err_msg=key)


@pytest.mark.parametrize("plain", [False, True], ids=["packed", "columns"])
def test_event_keys_hash_exactly_like_event_rows(plain):
    batch = MessageBatch.from_messages(awkward_messages())
    batch = unpacked(batch) if plain else batch
    tenants = ["acme", "other"] * 3 + ["acme"]
    times = np.asarray(batch.column("headers.date")) + 0.75
    verdicts = ["phishing", None, "spam", "benign", "Clean", None, "malicious"]
    keys = event_keys(batch, tenants, times, tenant_configs=CONFIGS, verdicts=verdicts)
    rows = event_rows(batch, tenants, times=times, tenant_configs=CONFIGS, verdicts=verdicts, lookup_only=True)
    assert_same_columns(event_columns(keys), event_columns(rows))
    full = event_rows(batch, tenants, times=times, tenant_configs=CONFIGS, verdicts=verdicts)
    assert_same_columns(event_columns(row_keys(full)), event_columns(full.to_table()))
    assert keys.name_keys == rows["name_key"]
    assert [s.decode() for s in keys.senders] == rows["sender"]
    assert keys.sender_own.tolist() == [int(v) for v in rows["sender_own"]]


def test_selected_rows_come_out_in_the_given_order():
    msgs = awkward_messages()
    batch = MessageBatch.from_messages(msgs)
    times = np.asarray(batch.column("headers.date"))
    order = [5, 0, 2]
    keys = event_keys(batch, ["acme"] * len(msgs), times, tenant_configs=CONFIGS, rows=order)
    sub = MessageBatch.from_messages([msgs[i] for i in order])
    rows = event_rows(sub, ["acme"] * 3, times=times[order], tenant_configs=CONFIGS, lookup_only=True)
    assert keys.rows == order
    assert_same_columns(event_columns(keys), event_columns(rows))


def test_lookup_only_keys_cannot_be_observed_and_a_message_needs_a_time():
    batch = MessageBatch.from_messages(awkward_messages()[:2])
    keys = event_keys(batch, ["acme"] * 2, [1e9, 2e9], lookup_only=True)
    with pytest.raises(ValueError, match="lookups only"):
        BaselineStore.memory().observe(keys)
    with pytest.raises(ValueError, match="has no time"):
        event_keys(batch, ["acme"] * 2, [1e9, np.nan])
    with pytest.raises(ValueError, match="1 times for 2 messages"):
        event_keys(batch, ["acme"] * 2, [1e9])
    assert timed_rows(np.array([1.0, np.nan, 3.0]), 3)[1] == [0, 2]
    assert timed_rows([1.0, 2.0], 2) == ([1.0, 2.0], None)


def history_store() -> tuple[BaselineStore, BaselineStore]:
    """Two stores fed the same history: one through event_rows, one through event_keys."""
    msgs = awkward_messages() * 3
    batch = MessageBatch.from_messages(msgs)
    tenants = ["acme"] * len(msgs)
    times = np.asarray(batch.column("headers.date")) + np.arange(len(msgs)) * 3600.0
    verdicts = [("malicious", None, "spam", "benign")[i % 4] for i in range(len(msgs))]
    by_rows, by_keys = BaselineStore.memory(), BaselineStore.memory()
    by_rows.observe(event_rows(batch, tenants, times=times, tenant_configs=CONFIGS, verdicts=verdicts))
    by_keys.observe(event_keys(batch, tenants, times, tenant_configs=CONFIGS, verdicts=verdicts))
    return by_rows, by_keys


def test_observing_keys_fills_the_tables_like_event_rows():
    by_rows, by_keys = history_store()
    for table in TABLES:
        a, b = np.sort(by_rows.entries(table), order="key"), np.sort(by_keys.entries(table), order="key")
        assert a.tobytes() == b.tobytes(), table


def test_lookups_of_keys_equal_lookups_of_rows_also_into_a_wider_block():
    store, _ = history_store()
    msgs = awkward_messages()
    batch = MessageBatch.from_messages(msgs)
    times = np.asarray(batch.column("headers.date")) + 40 * 86400.0
    rows = event_rows(batch, ["acme"] * len(msgs), times=times, tenant_configs=CONFIGS, lookup_only=True)
    keys = event_keys(batch, ["acme"] * len(msgs), times, tenant_configs=CONFIGS, lookup_only=True)
    want = store.lookup_batch(rows)
    assert (want[:, OUTPUTS.index("sender_messages")] > 0).any()
    np.testing.assert_array_equal(store.lookup_batch(keys), want)
    block = np.full((len(msgs), len(OUTPUTS) + 3), -1.0, dtype=np.float32)
    store.lookup_batch(keys, block)
    np.testing.assert_array_equal(block[:, : len(OUTPUTS)], want)
    assert (block[:, len(OUTPUTS):] == -1).all()
    strided = np.full((2 * len(msgs), len(OUTPUTS)), -1.0, dtype=np.float32)
    store.lookup_batch(keys, strided[::2])
    np.testing.assert_array_equal(strided[::2], want)
    assert (strided[1::2] == -1).all()


def test_compute_one_message_at_a_time_equals_the_batch():
    store, _ = history_store()
    msgs = awkward_messages()
    batch = MessageBatch.from_messages(msgs)
    times = np.asarray(batch.column("headers.date")) + 40 * 86400.0
    times[3] = np.nan
    group = baseline_signal_group()
    whole = np.zeros((len(msgs), len(SIGNALS)), dtype=np.float32)
    group.compute(batch, ScoringContext(tenants=["acme"] * len(msgs), times=times, tenant_configs=CONFIGS,
                                        baseline=store), whole)
    assert np.isnan(whole[3]).all() and not np.isnan(whole[0, -1])
    for i, m in enumerate(msgs):
        one = np.zeros((1, len(SIGNALS)), dtype=np.float32)
        group.compute(MessageBatch.from_messages([m]), ScoringContext(
            tenants=["acme"], times=times[i:i + 1], tenant_configs=CONFIGS, baseline=store), one)
        np.testing.assert_array_equal(one[0], whole[i], err_msg=f"message {i}")
    fortran = np.zeros((len(msgs), len(SIGNALS)), dtype=np.float32, order="F")
    group.compute(batch, ScoringContext(tenants=["acme"] * len(msgs), times=times, tenant_configs=CONFIGS,
                                        baseline=store), fortran)
    np.testing.assert_array_equal(fortran, whole)


def test_the_core_refuses_inconsistent_key_strings():
    keys = event_keys(MessageBatch.from_messages(awkward_messages()[:2]), ["acme"] * 2, [1e9, 2e9])
    store = BaselineStore.memory()
    out = np.empty((2, len(OUTPUTS)), dtype=np.float32)
    with pytest.raises(ValueError, match="strings, expected"):
        store._core.lookup_keys(2, keys.index[:-1], keys.data, out)
    with pytest.raises(ValueError, match="run past"):
        store._core.lookup_keys(2, keys.index, keys.data[:-1], out)
    bad = keys.index.copy()
    bad[-3] = bad[-1] + 1
    with pytest.raises(ValueError, match="decrease"):
        store._core.lookup_keys(2, bad, keys.data, out)
    with pytest.raises(ValueError, match="shape"):
        store._core.lookup_keys(2, keys.index, keys.data, np.empty((2, len(OUTPUTS) - 1), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        store._core.lookup_keys(2, keys.index, keys.data, np.empty((2, len(OUTPUTS)), dtype=np.float64))
    with pytest.raises(ValueError, match="at least"):
        _core.baseline_event_keys(5, keys.index[:4], keys.data, np.empty(0, dtype=np.uint64))


def _reference_name(display_name: str) -> str:
    # normalize_name without its ASCII fast path
    if not display_name or "@" in display_name:
        return ""
    text = unicodedata.normalize("NFKC", display_name)
    text = re.sub(r"<[^>]*>|\([^)]*\)|\[[^\]]*\]", " ", text).casefold().replace("_", " ")
    return " ".join(sorted(w for w in re.split(r"[^\w]+", text) if len(w) >= 2 and not w.isdigit()))


def test_normalize_name_fast_path_equals_the_general_rule():
    names = ["Skilling, Jeff", "JEFF K. SKILLING", "jeff_skilling 2nd", "Carol (CEO) <c@x>", "a [b] cc 42 d9",
             "\x1fAl\x1cBo\tCy", "O'Neil-Smith", "", "x@y", "  ", "A B", "ab_cd__ef"]
    rng = random.Random(5)
    alphabet = "aZ09 _-.,'()<>[]@\t\x1f"
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for name in names:
        assert normalize_name(name) == _reference_name(name), repr(name)


def test_tenant_constants_follow_a_replaced_config():
    from pyscore.signals.tenant import Person, TenantConfig

    first = {"t": TenantConfig("t", own_domains=("a.com",), vips=(Person("Ann Boss", "ann@a.com"),))}
    assert tenant_keys("t", first).own == frozenset({"a.com"})
    assert tenant_keys("t", first) is tenant_keys("t", first)  # an immutable config is kept
    second = {"t": TenantConfig("t", own_domains=("b.com",))}
    assert tenant_keys("t", second).own == frozenset({"b.com"}) and not tenant_keys("t", second).vips
    mutable = {"t": {"own_domains": ["c.com"]}}
    assert tenant_keys("t", mutable).own == frozenset({"c.com"})
    mutable["t"]["own_domains"].append("d.com")  # a Mapping may change in place: never cached
    assert tenant_keys("t", mutable).own == frozenset({"c.com", "d.com"})
    assert tenant_keys("t", None).key == b"t"


def test_event_keys_of_an_empty_batch():
    keys = event_keys(MessageBatch.from_messages([]), [], np.zeros(0))
    assert isinstance(keys, EventKeys) and keys.num_rows == 0
    assert BaselineStore.memory().lookup_batch(keys).shape == (0, len(OUTPUTS))
