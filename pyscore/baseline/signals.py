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

from pyscore.baseline.events import EventRows, event_rows, normalize_name
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


def _vips(config: Any) -> list[tuple[str, str]]:
    """(name key, address) of a tenant config's VIPs, read duck-typed."""
    if config is None:
        return []
    people = config.get("vips", ()) if isinstance(config, Mapping) else getattr(config, "vips", ())
    out = []
    for p in people or ():
        if isinstance(p, str):
            name, address = p, ""
        elif isinstance(p, Mapping):
            name, address = p.get("name", ""), p.get("address", "")
        else:
            name, address = getattr(p, "name", ""), getattr(p, "address", "")
        key = normalize_name(name or "")
        if key:
            out.append((key, (address or "").strip().lower()))
    return out


def vip_column(events, raw: np.ndarray, tenant_configs: Mapping[str, Any]) -> np.ndarray:
    """baseline_vip_name_unknown_address for each event (NaN when the tenant has no VIPs)."""
    out = np.full(events.num_rows, np.nan, dtype=np.float32)
    cache: dict[str, dict[str, set[str]]] = {}
    for i, (tenant, sender, name_key) in enumerate(zip(
            _pylist(events, "tenant"), _pylist(events, "sender"), _pylist(events, "name_key"), strict=True)):
        if tenant not in cache:
            vips: dict[str, set[str]] = {}
            for key, address in _vips(tenant_configs.get(tenant)):
                vips.setdefault(key, set()).add(address)
            cache[tenant] = vips
        vips = cache[tenant]
        if not vips:
            continue
        addresses = vips.get(name_key)
        out[i] = float(addresses is not None and sender not in addresses and raw[i, _SENDER_KNOWN] != 1.0)
    return out


def _pylist(events, name: str) -> list:
    column = events[name]
    return column if isinstance(column, list) else column.to_pylist()


def _batch_events(batch: MessageBatch, context: ScoringContext, rows: np.ndarray) -> EventRows:
    identity = len(rows) == len(batch) and bool((rows == np.arange(len(batch))).all())
    sub = batch if identity else _take(batch, rows)
    return event_rows(sub, [context.tenants[i] for i in rows], times=np.asarray(context.times)[rows],
                      tenant_configs=context.tenant_configs, lookup_only=True)


def _take(batch: MessageBatch, rows: np.ndarray) -> MessageBatch:
    """The messages ``rows`` of a batch (rebuilt column by column)."""
    from pyscore.batch import ListGroup, StringColumn

    def take_col(col, idx):
        if isinstance(col, StringColumn):
            values = col.to_list()
            return StringColumn.from_strings([values[i] for i in idx])
        return np.asarray(col)[idx]

    columns = {p: take_col(c, rows) for p, c in batch.columns.items()}
    lists = {}
    for g, lg in batch.lists.items():
        element_rows = np.concatenate([np.arange(lg.offsets[i], lg.offsets[i + 1]) for i in rows] or [np.zeros(0, np.int64)])
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.diff(lg.offsets)[rows], out=offsets[1:])
        lists[g] = ListGroup(offsets, {p: take_col(c, element_rows.astype(np.int64)) for p, c in lg.columns.items()})
    return MessageBatch([batch.ids[i] for i in rows], columns, lists)


def _timed_rows(context: ScoringContext, n: int) -> np.ndarray:
    times = np.asarray(context.times, dtype=np.float64)
    if len(times) != n:
        raise ValueError(f"baseline signals: context has {len(times)} times for {n} messages")
    return np.flatnonzero(np.isfinite(times))


def compute(batch: MessageBatch, context: ScoringContext, out: np.ndarray) -> None:
    out[:] = np.nan
    store = context.baseline
    if store is None or len(batch) == 0:
        return
    rows = _timed_rows(context, len(batch))
    if len(rows) == 0:
        return
    events = _batch_events(batch, context, rows)
    raw = store.lookup_batch(events)
    out[rows, : len(OUTPUTS)] = raw
    out[rows, len(OUTPUTS)] = vip_column(events, raw, context.tenant_configs)


def replay_signals(batch: MessageBatch, context: ScoringContext, store: BaselineStore | None = None) -> np.ndarray:
    """Point-in-time signals for training (messages x len(SIGNALS)), observing the batch.

    Messages are taken in time order; message i sees only messages with an
    earlier time (in ``store``'s history and in this batch), never its own
    instant or later. ``store`` (an empty in-memory store when None) ends up
    holding the batch too. Messages without a time get NaN and are not observed.
    """
    store = store if store is not None else BaselineStore.memory()
    out = np.full((len(batch), len(SIGNALS)), np.nan, dtype=np.float32)
    rows = _timed_rows(context, len(batch))
    if len(rows) == 0:
        return out
    rows = rows[np.argsort(np.asarray(context.times)[rows], kind="stable")]
    events = _batch_events(batch, context, rows)
    raw = store.replay(events)
    out[rows, : len(OUTPUTS)] = raw
    out[rows, len(OUTPUTS)] = vip_column(events, raw, context.tenant_configs)
    return out


def observe_batch(batch: MessageBatch, context: ScoringContext, verdicts=None) -> int:
    """Add the batch's messages (with final verdicts when known) to ``context.baseline``.

    Messages without a time are not observed; returns how many were.
    """
    if context.baseline is None:
        raise ValueError("observe_batch: the context has no baseline store")
    rows = _timed_rows(context, len(batch))
    if len(rows) == 0:
        return 0
    rows = rows[np.argsort(np.asarray(context.times)[rows], kind="stable")]
    sub = batch if len(rows) == len(batch) and bool((rows == np.arange(len(batch))).all()) else _take(batch, rows)
    events = event_rows(sub, [context.tenants[i] for i in rows], times=np.asarray(context.times)[rows],
                        tenant_configs=context.tenant_configs, lookup_only=True,
                        verdicts=None if verdicts is None else [verdicts[i] for i in rows])
    context.baseline.observe(events)
    return len(rows)


def baseline_signal_group() -> SignalGroup:
    """The behavioral baseline signals (sender, recipient and pair levels)."""
    return SignalGroup("baseline", SIGNALS, compute)


group = baseline_signal_group  # the name pyscore.signals looks for
