"""This module contains the behavioral baseline signals: sender, recipient and pair history.

The signals are the store's lookup outputs (``pyscore.baseline.store.OUTPUTS``,
computed in the core, what was known strictly before each message's time)
plus ``baseline_vip_name_unknown_address``, which needs the tenant's VIP list.
All are NaN when ``context.baseline`` is None, and for messages without a time.

For training on history use ``replay_signals``: it walks the batch in time
order and observes it as it goes, so message i sees only messages before t_i.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pyscore.baseline.keys import EventKeys, event_keys, one_message_keys, tenant_keys, timed_rows
from pyscore.baseline.store import OUTPUTS, BaselineStore
from pyscore.batch import MessageBatch
from pyscore.signals.registry import ScoringContext, Signal, SignalGroup

_DOCS = {
    "sender_prevalence": ("sender", "category", "Sender address history in the tenant: 0 new, 1 rare (1-4 messages), 2 common."),
    "sender_days_known": ("sender", "real", "Days since the sender's first message to the tenant (0 when new)."),
    "sender_messages": ("sender", "count", "Messages the sender sent in the tenant before this one."),
    "sender_recent": ("sender", "real", "The sender's message count decayed with the store's half-life."),
    "sender_active_days": ("sender", "count", "Distinct days on which the sender wrote to the tenant."),
    "sender_recipients": ("sender", "count", "Distinct tenant addresses the sender wrote to."),
    "sender_solicited": ("sender", "count", "Times the organisation wrote to or answered this address."),
    "sender_malicious": ("sender", "count", "Past messages of the sender with a malicious final verdict."),
    "sender_benign": ("sender", "count", "Past messages of the sender with a benign final verdict."),
    "domain_prevalence": ("sender", "category", "Sender domain history in the tenant: 0 new, 1 rare, 2 common."),
    "domain_days_known": ("sender", "real", "Days since the sender domain's first message to the tenant."),
    "domain_messages": ("sender", "count", "Messages from the sender domain in the tenant."),
    "domain_senders": ("sender", "count", "Distinct addresses seen sending from the sender domain."),
    "domain_solicited": ("sender", "count", "Times the organisation wrote to addresses at the sender domain."),
    "domain_malicious": ("sender", "count", "Past messages from the sender domain with a malicious verdict."),
    "domain_tenants": ("sender", "count", "Tenants that have received mail from the sender domain."),
    "pair_count_min": ("pair", "count", "Fewest past messages from this sender to any of the recipients."),
    "pair_count_max": ("pair", "count", "Most past messages from this sender to one of the recipients."),
    "pair_reverse_max": ("pair", "count", "Most past messages from one of the recipients to this sender."),
    "pair_known_share": ("pair", "ratio", "Share of the recipients this sender wrote to before."),
    "recipient_safe_rate_min": ("recipient", "ratio", "Lowest share of received mail without a bad verdict, over the recipients."),
    "recipient_first_time_share_max": ("recipient", "ratio", "Highest share of a recipient's mail that came from first-time senders."),
    "recipient_received_min": ("recipient", "count", "Fewest messages received before by any of the recipients."),
    "name_other_address": ("sender", "bool", "The display name is known in the tenant from other addresses, not this one."),
    "name_addresses": ("sender", "count", "Addresses seen with this display name (saturates at 6)."),
    "name_sender_known": ("sender", "bool", "This address was seen before with this display name."),
    "reply_to_never_seen": ("sender", "bool", "A Reply-To other than the sender never seen with this sender."),
}
SIGNALS: tuple[Signal, ...] = (
    *(Signal(f"baseline_{name}", _DOCS[name][0], _DOCS[name][1], _DOCS[name][2]) for name in OUTPUTS),
    Signal("baseline_vip_name_unknown_address", "sender", "bool",
           "The display name is a tenant VIP's while the address is neither the VIP's nor seen with that name."),
)
_SENDER_KNOWN = OUTPUTS.index("name_sender_known")


def vip_column(keys: EventKeys, raw: np.ndarray, tenant_configs: Mapping[str, Any] | None) -> np.ndarray:
    """baseline_vip_name_unknown_address for each event (NaN when the tenant has no VIPs)."""
    out = np.full(keys.num_rows, np.nan, dtype=np.float32)
    cache: dict[str, dict[str, frozenset[str]]] = {}
    for i, (tenant, name_key) in enumerate(zip(keys.tenants, keys.name_keys, strict=True)):
        vips = cache.get(tenant)
        if vips is None:
            vips = cache[tenant] = tenant_keys(tenant, tenant_configs).vips
        if vips:
            out[i] = _vip_value(vips, name_key, keys.senders[i], raw[i, _SENDER_KNOWN])
    return out


def _vip_value(vips: dict[str, frozenset[str]], name_key: str, sender: bytes, sender_known: float) -> float:
    addresses = vips.get(name_key)
    return float(addresses is not None and sender.decode("utf-8") not in addresses and sender_known != 1.0)


def compute(batch: MessageBatch, context: ScoringContext, out: np.ndarray) -> None:
    store = context.baseline
    n = len(batch)
    if store is None or n == 0:
        out[:] = np.nan
        return
    # One message from the engine: straight to its key strings.
    keys = one_message_keys(batch, context.tenants, context.times, context.tenant_configs) if n == 1 else None
    if keys is None:
        _, rows = timed_rows(context.times, n)
        if rows is not None:
            out[:] = np.nan
            if rows:
                keys = event_keys(batch, context.tenants, context.times, tenant_configs=context.tenant_configs,
                                  rows=rows, lookup_only=True)
                raw = store.lookup_batch(keys)
                out[rows, : len(OUTPUTS)] = raw
                out[rows, len(OUTPUTS)] = vip_column(keys, raw, context.tenant_configs)
            return
        keys = event_keys(batch, context.tenants, context.times, tenant_configs=context.tenant_configs,
                          lookup_only=True)
    if out.dtype == np.float32 and out.strides[-1] == out.itemsize and out.flags.writeable:
        store.lookup_batch(keys, out)  # straight into the block's first columns: no copy
        raw = out
    else:
        raw = store.lookup_batch(keys)
        out[:, : len(OUTPUTS)] = raw
    if n == 1:  # one message: no array for one value
        vips = tenant_keys(keys.tenants[0], context.tenant_configs).vips
        out[0, len(OUTPUTS)] = _vip_value(vips, keys.name_keys[0], keys.senders[0], raw[0, _SENDER_KNOWN]) \
            if vips else np.nan
    else:
        out[:, len(OUTPUTS)] = vip_column(keys, raw, context.tenant_configs)


def _time_order(context: ScoringContext, n: int) -> list[int]:
    """Rows with a time, in time order (ties in batch order)."""
    _, rows = timed_rows(context.times, n)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    return rows[np.argsort(np.asarray(context.times, dtype=np.float64)[rows], kind="stable")].tolist()


def replay_signals(batch: MessageBatch, context: ScoringContext, store: BaselineStore | None = None) -> np.ndarray:
    """Point-in-time signals for training (messages x len(SIGNALS)), observing the batch.

    Messages are taken in time order; message i sees only messages with an
    earlier time (in ``store``'s history and in this batch), never its own
    instant or later. ``store`` (an empty in-memory store when None) ends up
    holding the batch too. Messages without a time get NaN and are not observed.
    """
    store = store if store is not None else BaselineStore.memory()
    out = np.full((len(batch), len(SIGNALS)), np.nan, dtype=np.float32)
    rows = _time_order(context, len(batch))
    if not rows:
        return out
    keys = event_keys(batch, context.tenants, context.times, tenant_configs=context.tenant_configs, rows=rows)
    raw = store.replay(keys)
    out[rows, : len(OUTPUTS)] = raw
    out[rows, len(OUTPUTS)] = vip_column(keys, raw, context.tenant_configs)
    return out


def observe_batch(batch: MessageBatch, context: ScoringContext, verdicts=None) -> int:
    """Add the batch's messages (with final verdicts when known) to ``context.baseline``.

    Messages without a time are not observed; returns how many were.
    """
    if context.baseline is None:
        raise ValueError("observe_batch: the context has no baseline store")
    rows = _time_order(context, len(batch))
    if not rows:
        return 0
    context.baseline.observe(event_keys(batch, context.tenants, context.times, tenant_configs=context.tenant_configs,
                                        verdicts=verdicts, rows=rows))
    return len(rows)


def baseline_signal_group() -> SignalGroup:
    """The behavioral baseline signals (sender, recipient and pair levels)."""
    return SignalGroup("baseline", SIGNALS, compute)


group = baseline_signal_group  # the name pyscore.signals looks for
