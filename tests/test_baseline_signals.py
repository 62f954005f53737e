"""Baseline signals: point in time (no leak of the future), NaN without a store, VIP impersonation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from baseline_fixtures import DAY, synthetic_events

from pyscore.baseline.events import events_from_batch
from pyscore.baseline.signals import SIGNALS, baseline_signal_group, replay_signals
from pyscore.baseline.store import OUTPUTS, BaselineStore
from pyscore.batch import MessageBatch
from pyscore.message import Domain, EmailAddress, Headers, Mailbox, Message, Recipients
from pyscore.signals.registry import ScoringContext, SignalRegistry

T0 = dt.datetime(2020, 3, 2, 9, 0, tzinfo=dt.UTC)
CONFIGS = {"acme": {"own_domains": ["acme.com"], "vips": [{"name": "Carol Chief", "address": "carol@acme.com"}]}}


def box(address: str, name: str = "") -> Mailbox:
    local, _, domain = address.partition("@")
    return Mailbox(EmailAddress(address, local, Domain(domain, domain, domain.rsplit(".", 1)[-1], "", True)), name)


def message(sender: str, to: list[str], day: float, *, name: str = "", reply_to: str = "") -> Message:
    return Message(
        sender=box(sender, name),
        headers=Headers(from_=box(sender, name), date=T0 + dt.timedelta(days=day),
                        reply_to=(box(reply_to),) if reply_to else ()),
        recipients=Recipients(to=tuple(box(a) for a in to)),
    )


def history() -> list[Message]:
    msgs = [message("carol@acme.com", ["dave@acme.com"], d, name="Chief, Carol") for d in range(1, 8)]
    msgs += [message("dave@acme.com", ["vendor@supply.test"], 2.5, name="Dave D")]
    msgs += [message("vendor@supply.test", ["dave@acme.com"], d + 0.5, name="Vic Vendor") for d in (3, 4, 5)]
    return msgs


def context_for(batch: MessageBatch, baseline=None) -> ScoringContext:
    return ScoringContext(tenants=["acme"] * len(batch), times=np.asarray(batch.column("headers.date")),
                          tenant_configs=CONFIGS, baseline=baseline)


def test_the_group_has_unique_named_signals_at_the_right_levels():
    registry = SignalRegistry()
    group = registry.register(baseline_signal_group())
    assert len(group.signals) == len(OUTPUTS) + 1 == len(SIGNALS)
    assert {s.level for s in group.signals} == {"sender", "pair", "recipient"}
    assert all(s.name.startswith("baseline_") for s in group.signals)


def test_all_nan_without_a_baseline():
    batch = MessageBatch.from_messages(history())
    out = np.zeros((len(batch), len(SIGNALS)), dtype=np.float32)
    baseline_signal_group().compute(batch, context_for(batch), out)
    assert np.isnan(out).all()


def test_replay_never_sees_the_future():
    """Features of message i equal a lookup in a store holding only messages strictly before t_i."""
    events = synthetic_events(250, 7)
    replayed = BaselineStore.memory().replay(events)
    times = np.asarray(events["time"])
    for i in range(0, events.num_rows, 7):
        past = events.filter(pa.array(times < times[i]))
        store = BaselineStore.memory()
        store.observe(past)
        np.testing.assert_allclose(replayed[i], store.lookup_batch(events.slice(i, 1))[0],
                                   rtol=1e-5, equal_nan=True, err_msg=f"message {i}")


def test_changing_the_future_changes_no_past_feature():
    events = synthetic_events(300, 8)
    times = np.asarray(events["time"])
    cut = int(np.median(times))
    before = np.flatnonzero(times < cut)
    # the future rewritten: every later message now comes from one new attacker address
    future = events.to_pylist()
    for row in future:
        if row["time"] >= cut:
            row["sender"], row["sender_domain"], row["name_key"] = "mallory@evil.test", "evil.test", "person p1x"
    changed = pa.Table.from_pylist(future, schema=events.schema)
    a = BaselineStore.memory().replay(events)
    b = BaselineStore.memory().replay(changed)
    np.testing.assert_array_equal(a[before], b[before])
    assert not np.array_equal(a, b)


def test_messages_at_the_same_instant_do_not_see_each_other():
    batch = MessageBatch.from_messages([message("x@new.test", ["dave@acme.com"], 1.0)] * 3)
    out = replay_signals(batch, context_for(batch))
    assert (out[:, OUTPUTS.index("sender_messages")] == 0).all()


def test_replay_signals_flags_the_impersonation_and_not_the_real_person():
    msgs = history()
    msgs.append(message("carol@acme.com", ["dave@acme.com"], 9, name="Carol Chief"))
    msgs.append(message("carol.chief@freemail.test", ["dave@acme.com"], 9.5, name="Carol Chief",
                        reply_to="pay@drop.test"))
    batch = MessageBatch.from_messages(msgs)
    out = replay_signals(batch, context_for(batch))
    names = [s.name for s in SIGNALS]
    real, fake = out[-2], out[-1]

    def v(row, name):
        return row[names.index(f"baseline_{name}")]

    assert v(real, "sender_prevalence") == 2 and v(fake, "sender_prevalence") == 0
    assert v(real, "pair_count_min") == 7 and v(fake, "pair_count_min") == 0
    assert v(fake, "name_other_address") == 1 and v(real, "name_other_address") == 0
    assert v(fake, "vip_name_unknown_address") == 1 and v(real, "vip_name_unknown_address") == 0
    assert v(fake, "reply_to_never_seen") == 1
    # the vendor wrote only after dave had written to it: solicited
    vendor_row = out[[i for i, m in enumerate(msgs) if m.sender.email.email == "vendor@supply.test"][0]]
    assert v(vendor_row, "sender_solicited") == 1


def test_compute_reads_the_store_as_of_each_message_and_skips_undated_rows():
    store = BaselineStore.memory()
    past = MessageBatch.from_messages(history())
    store.observe(events_from_batch(past, ["acme"] * len(past), tenant_configs=CONFIGS))
    probe = MessageBatch.from_messages([message("carol@acme.com", ["dave@acme.com"], 10, name="Carol Chief"),
                                        message("carol@acme.com", ["dave@acme.com"], 10)])
    ctx = context_for(probe, store)
    ctx.times = np.array([ctx.times[0], np.nan])
    out = np.zeros((2, len(SIGNALS)), dtype=np.float32)
    baseline_signal_group().compute(probe, ctx, out)
    assert out[0, OUTPUTS.index("sender_messages")] == 7
    assert np.isnan(out[1]).all()


def test_vip_signal_is_nan_without_vips_and_reads_plain_names():
    batch = MessageBatch.from_messages([message("x@new.test", ["dave@acme.com"], 1.0, name="Carol Chief")])
    base = ScoringContext(tenants=["acme"], times=np.asarray(batch.column("headers.date")),
                          baseline=BaselineStore.memory())
    out = np.zeros((1, len(SIGNALS)), dtype=np.float32)
    baseline_signal_group().compute(batch, base, out)
    assert np.isnan(out[0, -1])
    base.tenant_configs = {"acme": {"vips": ["Chief, Carol"]}}
    baseline_signal_group().compute(batch, base, out)
    assert out[0, -1] == 1


def test_events_from_batch_directions_and_errors():
    msgs = [message("dave@acme.com", ["vendor@supply.test"], 1), message("vendor@supply.test", ["dave@acme.com"], 2),
            message("dave@acme.com", ["carol@acme.com"], 3, reply_to="dave@acme.com")]
    batch = MessageBatch.from_messages(msgs)
    ev = events_from_batch(batch, ["acme"] * 3, tenant_configs=CONFIGS)
    assert ev["direction"].to_pylist() == ["outbound", "inbound", "internal"]
    assert ev["reply_to"].to_pylist() == [[], [], []]  # a reply-to equal to the sender is dropped
    assert ev["time"].to_pylist()[1] - ev["time"].to_pylist()[0] == DAY
    with pytest.raises(ValueError, match="no time"):
        events_from_batch(MessageBatch.from_messages([Message()]), ["acme"])


def test_observe_batch_adds_messages_with_their_verdicts():
    from pyscore.baseline.signals import observe_batch

    batch = MessageBatch.from_messages(history())
    store = BaselineStore.memory()
    ctx = context_for(batch, store)
    verdicts = ["malicious" if m.sender.email.email == "vendor@supply.test" else None for m in history()]
    assert observe_batch(batch, ctx, verdicts) == len(batch)
    probe = MessageBatch.from_messages([message("vendor@supply.test", ["dave@acme.com"], 20)])
    out = np.zeros((1, len(SIGNALS)), dtype=np.float32)
    baseline_signal_group().compute(probe, context_for(probe, store), out)
    assert out[0, OUTPUTS.index("sender_malicious")] == 3
    assert out[0, OUTPUTS.index("recipient_safe_rate_min")] == pytest.approx(7 / 10)  # dave: 7 from carol, 3 malicious from the vendor


def test_event_rows_hash_exactly_like_the_arrow_events_table():
    from pyscore.baseline.events import event_rows
    from pyscore.baseline.store import event_columns

    msgs = history() + [message("Mallory@Evil.test", ["dave@acme.com", "carol@acme.com", "DAVE@acme.com"], 9,
                                name="Carol Chief", reply_to="payouts@elsewhere.test"),
                        message("ünï@exämple.test", [], 10)]
    batch = MessageBatch.from_messages(msgs)
    verdicts = [None, "malicious", "spam", "benign"] * 3 + [None]
    rows = event_rows(batch, ["acme"] * len(batch), tenant_configs=CONFIGS, verdicts=verdicts)
    table = events_from_batch(batch, ["acme"] * len(batch), tenant_configs=CONFIGS, verdicts=verdicts)
    assert rows.to_table().equals(table)
    from_rows, from_table = event_columns(rows), event_columns(table)
    assert from_rows.keys() == from_table.keys()
    for key, values in from_table.items():
        assert from_rows[key].dtype == values.dtype, key
        np.testing.assert_array_equal(from_rows[key], values, err_msg=key)
    assert from_rows["reply_pair"].size == 1 and from_rows["verdict"].tolist()[:4] == [0, 2, 3, 1]


def test_lookup_only_event_rows_hash_the_same_and_refuse_to_become_a_table():
    from pyscore.baseline.events import event_rows
    from pyscore.baseline.store import event_columns

    batch = MessageBatch.from_messages(history())
    full = event_rows(batch, ["acme"] * len(batch), tenant_configs=CONFIGS)
    lean = event_rows(batch, ["acme"] * len(batch), tenant_configs=CONFIGS, lookup_only=True)
    assert "direction" not in lean and "display_name" not in lean
    a, b = event_columns(full), event_columns(lean)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    with pytest.raises(ValueError, match="lookups only"):
        lean.to_table()
