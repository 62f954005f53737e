"""This module contains EventKeys: the strings a baseline store hashes, read straight from a batch.

What the store needs of a message is a handful of key strings: tenant, sender
address, sender root domain, display-name key, the recipients with their root
domains, and the reply-to addresses. ``event_keys`` takes them from a
``MessageBatch``'s UTF-8 columns as bytes (the same values ``event_rows``
gives as str) and lays them out in one buffer, which the core hashes and looks
up or observes in a single call (``BaselineStore.lookup_keys``): no Python
record per event, no Arrow, no numpy column per key. ``row_keys`` does the same
for ``EventRows``.

Buffer layout (``pyscore.baseline_store.h``, ``KeyStrings``): n tenants, n
senders, n sender domains, n name keys, then every recipient address, every
recipient domain, every reply-to address.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Any

import numpy as np

from pyscore._dtypes import OFFSET_DTYPE
from pyscore.baseline.events import (
    VERDICT_CODES,
    EventRows,
    _is_own,
    domain_of,
    normalize_name,
    normalize_verdict,
    own_domains_of,
)
from pyscore.batch import MessageBatch

_RECIPIENT_GROUPS = ("recipients.to", "recipients.cc", "recipients.bcc")


class EventKeys:
    """Key strings of n events (one UTF-8 buffer) and their per-message columns.

    ``index`` is one int64 array: time (n), rcpt_offsets (n + 1), reply_offsets
    (n + 1), then the offsets of the strings in ``data``: one argument to the core
    instead of four. ``verdict`` and ``sender_own`` (uint8) are None in keys made
    for lookups only. ``rows`` are the batch rows of the events, in event order
    (None: all, in order). ``tenants``, ``senders`` (UTF-8) and ``name_keys`` stay
    at hand for the VIP signal.
    """

    __slots__ = ("n", "index", "data", "verdict", "sender_own", "tenants", "senders", "name_keys", "rows")

    def __init__(self, n: int, index: np.ndarray, data: bytes, verdict: np.ndarray | None,
                 sender_own: np.ndarray | None, tenants: list[str], senders: list[bytes], name_keys: list[str],
                 rows: list[int] | None = None) -> None:
        self.n, self.index, self.data = n, index, data
        self.verdict, self.sender_own = verdict, sender_own
        self.tenants, self.senders, self.name_keys, self.rows = tenants, senders, name_keys, rows

    @property
    def num_rows(self) -> int:
        return self.n

    @property
    def time(self) -> np.ndarray:
        return self.index[: self.n]

    @property
    def rcpt_offsets(self) -> np.ndarray:
        return self.index[self.n: 2 * self.n + 1]

    @property
    def reply_offsets(self) -> np.ndarray:
        return self.index[2 * self.n + 1: 3 * self.n + 2]

    @property
    def offsets(self) -> np.ndarray:
        return self.index[3 * self.n + 2:]

    def observable(self) -> tuple[np.ndarray, np.ndarray]:
        """(verdict, sender_own), which observing needs; ValueError for lookup-only keys."""
        if self.verdict is None or self.sender_own is None:
            raise ValueError("these event keys were made for lookups only (no verdicts, no sender_own)")
        return self.verdict, self.sender_own


def _pack(data_parts: list[bytes], times: list[int], rcpt_counts: list[int], reply_counts: list[int]) -> np.ndarray:
    """EventKeys.index of the parts and counts, in one conversion."""
    values = chain(times, accumulate(rcpt_counts, initial=0), accumulate(reply_counts, initial=0),
                   accumulate(map(len, data_parts), initial=0))
    return np.fromiter(values, dtype=OFFSET_DTYPE, count=3 * len(times) + 3 + len(data_parts))


@dataclass(frozen=True)
class TenantKeys:
    """Per-tenant constants: the tenant as key bytes, its own domains, its VIPs (name key -> addresses)."""

    key: bytes
    own: frozenset[str]
    vips: dict[str, frozenset[str]]


def _utf8(text: str) -> bytes:
    # What batch.encode_strings gives one string (a lone surrogate becomes "?").
    return text.encode("utf-8", "replace")


def vips_of(config: Any) -> dict[str, frozenset[str]]:
    """VIP name key -> the VIP addresses with that name, of a tenant config read duck-typed."""
    if config is None:
        return {}
    people = config.get("vips", ()) if isinstance(config, Mapping) else getattr(config, "vips", ())
    vips: dict[str, set[str]] = {}
    for p in people or ():
        if isinstance(p, str):
            name, address = p, ""
        elif isinstance(p, Mapping):
            name, address = p.get("name", ""), p.get("address", "")
        else:
            name, address = getattr(p, "name", ""), getattr(p, "address", "")
        key = normalize_name(name or "")
        if key:
            vips.setdefault(key, set()).add((address or "").strip().lower())
    return {k: frozenset(v) for k, v in vips.items()}


# tenant -> (its config object, constants). Only immutable configs (not Mappings) are kept,
# held by reference so that a changed config (another object) is never served stale.
_TENANTS: dict[str, tuple[Any, TenantKeys]] = {}
_TENANTS_MAX = 4096


def tenant_keys(tenant: str, tenant_configs: Mapping[str, Any] | None) -> TenantKeys:
    config = tenant_configs.get(tenant) if tenant_configs else None
    hit = _TENANTS.get(tenant)
    if hit is not None and hit[0] is config and config is not None:
        return hit[1]
    keys = TenantKeys(_utf8(tenant), own_domains_of(config), vips_of(config))
    if config is not None and not isinstance(config, Mapping):
        if len(_TENANTS) >= _TENANTS_MAX:
            _TENANTS.clear()
        _TENANTS[tenant] = (config, keys)
    return keys


def _fix(value: bytes, lower: bool) -> bytes:
    """A non-ASCII value as str.lower (when lower) and batch.encode_strings would leave it."""
    text = value.decode("utf-8", "replace")
    return _utf8(text.lower() if lower else text)


class _Reader:
    """String columns of a batch as lists of bytes, read from its packed buffers when it has them.

    Memoryviews, not numpy slices: a few of them per message is all one message costs here."""

    def __init__(self, batch: MessageBatch) -> None:
        self.batch = batch
        packed = batch.__dict__.get("packed")  # only when built packed: never pack a batch here
        self.packed = packed
        if packed is not None:
            self.layout = packed.layout
            self.offsets, self.text = memoryview(packed.offsets), memoryview(packed.text)
            self.starts = memoryview(packed.string_start)

    def strings(self, path: str, lower: bool = False) -> list[bytes]:
        """Values of column ``path`` (``group[].field`` for elements), lower-cased as str.lower when asked."""
        if self.packed is not None and path in self.layout.strings:
            k = self.layout.strings[path]
            offsets = self.offsets[self.starts[k]: self.starts[k + 1] + 1].tolist()
            text = self.text
        else:
            column = self.batch.column(path)
            offsets, text = column.offsets.tolist(), memoryview(column.data)
        base = offsets[0]
        span = text[base: offsets[-1]].tobytes()
        if span.isascii():
            if lower:
                span = span.lower()  # ASCII: the same bytes as str.lower
            if len(offsets) == 2:
                return [span]
            return [span[a - base: b - base] for a, b in zip(offsets, offsets[1:], strict=False)]
        values = [span[a - base: b - base] for a, b in zip(offsets, offsets[1:], strict=False)]
        return [(v.lower() if lower else v) if v.isascii() else _fix(v, lower) for v in values]

    def group_offsets(self, groups: Sequence[str]) -> list[list[int]]:
        packed = self.packed
        if packed is not None and all(g in self.layout.groups for g in groups):
            index = [self.layout.groups[g] for g in groups]
            if len(self.batch) <= 64:  # a small batch: all rows at once, no numpy indexing
                every = memoryview(packed.group_offsets).tolist()
                return [every[i] for i in index]
            return packed.group_offsets[index].tolist()
        return [self.batch.lists[g].offsets.tolist() for g in groups]


def _name_key(display_name: bytes) -> str:
    if not display_name or b"@" in display_name:
        return ""
    return normalize_name(display_name.decode("utf-8", "replace"))


def _times(times: Any, n: int) -> list[float]:
    values = times if isinstance(times, list) else np.asarray(times, dtype=np.float64).tolist()
    if len(values) != n:
        raise ValueError(f"baseline events: {len(values)} times for {n} messages")
    return values


def timed_rows(times: Any, n: int) -> tuple[list[float], list[int] | None]:
    """(times as floats, the rows with a finite time, or None when all have one)."""
    values = _times(times, n)
    if all(map(math.isfinite, values)):
        return values, None
    return values, [i for i, t in enumerate(values) if math.isfinite(t)]


def event_keys(
    batch: MessageBatch,
    tenants: Sequence[str],
    times: Any,
    *,
    tenant_configs: Mapping[str, Any] | None = None,
    verdicts: Sequence[Any] | None = None,
    rows: Sequence[int] | None = None,
    lookup_only: bool = False,
) -> EventKeys:
    """The key strings of messages ``rows`` of a batch (all when None), the values of
    ``event_rows(..., lookup_only=True)``. Every selected message needs a finite time.
    ``lookup_only`` leaves out verdicts and sender_own, which only observing reads."""
    n = len(batch)
    if len(tenants) != n:
        raise ValueError(f"baseline events: {len(tenants)} tenants for {n} messages")
    if verdicts is not None and len(verdicts) != n:
        raise ValueError(f"baseline events: {len(verdicts)} verdicts for {n} messages")
    all_times = _times(times, n)
    order = range(n) if rows is None else [int(i) for i in rows]
    event_times = [all_times[m] for m in order]
    if not all(map(math.isfinite, event_times)):
        bad = next(m for m in order if not math.isfinite(all_times[m]))
        raise ValueError(f"baseline events: message {batch.ids[bad]!r} has no time")
    read = _Reader(batch)
    senders = read.strings("sender.email.email", lower=True)
    roots = read.strings("sender.email.domain.root_domain")
    hosts = roots if all(roots) else read.strings("sender.email.domain.domain")
    names = read.strings("sender.display_name")
    *rcpt_offsets, reply_offsets = read.group_offsets((*_RECIPIENT_GROUPS, "headers.reply_to"))
    # Recipient groups with any element: (offsets, lower-cased addresses, root domains).
    groups = [(offsets, read.strings(f"{g}[].email.email", lower=True),
               read.strings(f"{g}[].email.domain.root_domain"))
              for g, offsets in zip(_RECIPIENT_GROUPS, rcpt_offsets, strict=True) if offsets[-1] != offsets[0]]
    replies = read.strings("headers.reply_to[].email.email", lower=True) if reply_offsets[-1] != reply_offsets[0] \
        else None

    tenant_cache: dict[str, TenantKeys] = {}
    out_tenants, tenant_bytes, out_senders, domains, name_keys, name_bytes = [], [], [], [], [], []
    own_flags, rcpt_addr, rcpt_dom, reply_addr, rcpt_counts, reply_counts = [], [], [], [], [], []
    for m in order:
        tenant = str(tenants[m])
        tk = tenant_cache.get(tenant)
        if tk is None:
            tk = tenant_cache[tenant] = tenant_keys(tenant, tenant_configs)
        sender = senders[m]
        domain = roots[m] or hosts[m]
        name = _name_key(names[m])
        out_tenants.append(tenant)
        tenant_bytes.append(tk.key)
        out_senders.append(sender)
        domains.append(domain)
        name_keys.append(name)
        name_bytes.append(_utf8(name))
        if not lookup_only:
            own_flags.append(bool(tk.own) and _is_own(domain.decode("utf-8"), tk.own))
        if groups:
            seen: dict[bytes, bytes] = {}
            for offsets, addresses, roots_of in groups:
                for k in range(offsets[m], offsets[m + 1]):
                    address = addresses[k]
                    if address and address not in seen:
                        seen[address] = roots_of[k] or _utf8(domain_of(address.decode("utf-8")))
            rcpt_addr += seen
            rcpt_dom += seen.values()
            rcpt_counts.append(len(seen))
        else:
            rcpt_counts.append(0)
        if replies is not None:
            reply = dict.fromkeys(a for a in replies[reply_offsets[m]:reply_offsets[m + 1]] if a and a != sender)
            reply_addr += reply
            reply_counts.append(len(reply))
        else:
            reply_counts.append(0)
    parts = tenant_bytes + out_senders + domains + name_bytes + rcpt_addr + rcpt_dom + reply_addr
    verdict = sender_own = None
    if not lookup_only:
        codes = [0] * len(order) if verdicts is None else \
            [VERDICT_CODES.get(normalize_verdict(verdicts[m]), 0) for m in order]
        verdict, sender_own = np.array(codes, dtype=np.uint8), np.array(own_flags, dtype=np.uint8)
    return EventKeys(len(out_tenants), _pack(parts, list(map(math.floor, event_times)), rcpt_counts, reply_counts),
                     b"".join(parts), verdict, sender_own, out_tenants, out_senders, name_keys,
                     None if rows is None else list(order))


def row_keys(events: EventRows) -> EventKeys:
    """The key strings of ``EventRows`` (the values are already normalised there)."""
    n = len(events["time"])
    recipients = events["recipients"]
    replies = events["reply_to"]
    strings = [*events["tenant"], *events["sender"], *events["sender_domain"], *events["name_key"],
               *(r["address"] for rs in recipients for r in rs), *(r["domain"] for rs in recipients for r in rs),
               *(a for rs in replies for a in rs)]
    parts = [_utf8(s or "") for s in strings]
    # np.array, not math.floor: int64 times as event_columns always read them.
    times = np.array(events["time"], dtype=np.int64).tolist()
    return EventKeys(n, _pack(parts, times, list(map(len, recipients)), list(map(len, replies))), b"".join(parts),
                     np.array([VERDICT_CODES.get(v, 0) for v in events["verdict"]], dtype=np.uint8),
                     np.array([bool(v) for v in events["sender_own"]], dtype=np.uint8),
                     list(events["tenant"]), parts[n: 2 * n], list(events["name_key"]))
