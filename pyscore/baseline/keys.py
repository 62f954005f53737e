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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
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
from pyscore.batch import SPEC_LAYOUT, MessageBatch, PackedBatch

_RECIPIENT_GROUPS = ("recipients.to", "recipients.cc", "recipients.bcc")
_SENDER_PATHS = ("sender.email.email", "sender.email.domain.root_domain", "sender.email.domain.domain",
                 "sender.display_name")


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
    """EventKeys.index of the parts and counts, in one conversion (np.array of a list: cheaper
    than np.fromiter for the few values of one message)."""
    return np.array([*times, *accumulate(rcpt_counts, initial=0), *accumulate(reply_counts, initial=0),
                     *accumulate(map(len, data_parts), initial=0)], dtype=OFFSET_DTYPE)


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


# tenant -> (its config object, constants). Only immutable configs (None, frozen objects; not
# Mappings) are kept, held by reference so that a replaced config is never served stale.
_TENANTS: dict[str, tuple[Any, TenantKeys]] = {}
_TENANTS_MAX = 4096


def tenant_keys(tenant: str, tenant_configs: Mapping[str, Any] | None) -> TenantKeys:
    """The constants of a tenant under its config in ``tenant_configs`` (cached while that config is the same)."""
    config = tenant_configs.get(tenant) if tenant_configs else None
    hit = _TENANTS.get(tenant)
    if hit is not None and hit[0] is config:
        return hit[1]
    keys = TenantKeys(_utf8(tenant), own_domains_of(config), vips_of(config))
    if not isinstance(config, Mapping):
        if len(_TENANTS) >= _TENANTS_MAX:
            _TENANTS.clear()
        _TENANTS[tenant] = (config, keys)
    return keys


def _fix(value: bytes, lower: bool) -> bytes:
    """A non-ASCII value as str.lower (when lower) and batch.encode_strings would leave it."""
    text = value.decode("utf-8", "replace")
    return _utf8(text.lower() if lower else text)


class _Reader:
    """String columns of a batch as lists of bytes, read from its packed buffers when it has them:
    a couple of slices per message, the whole cost of one message here."""

    def __init__(self, batch: MessageBatch) -> None:
        self.batch = batch
        packed = batch.__dict__.get("packed")  # only when built packed: never pack a batch here
        self.packed = packed
        if packed is not None:
            self.layout = packed.layout
            self.offsets, self.text = memoryview(packed.offsets), memoryview(packed.text)
            self.starts = packed.string_start.tolist()

    def block(self, paths: Sequence[str], lower: Sequence[bool]) -> list[list[bytes]]:
        """String columns (``group[].field`` for elements), lower-cased as str.lower where asked.
        From a packed batch in one slice of its buffers when they lie close together (the
        sender's fields, the list groups' fields, as in SPEC_LAYOUT)."""
        get = self.layout.strings.get if self.packed is not None else None
        k = [get(p) for p in paths] if get else [None]
        if None in k:
            return [self._column(path, low) for path, low in zip(paths, lower, strict=True)]
        starts = self.starts
        first, last = starts[min(k)], starts[max(k) + 1]
        offsets = self.offsets[first: last + 1].tolist()
        base = offsets[0]
        if len(k) > 1 and offsets[-1] - base > _BLOCK_BYTES:  # far apart: column by column
            return [self.block((path,), (low,))[0] for path, low in zip(paths, lower, strict=True)]
        span = self.text[base: offsets[-1]].tobytes()
        if not span.isascii():
            return [_split(span, offsets[starts[c] - first: starts[c + 1] - first + 1], low, base)
                    for c, low in zip(k, lower, strict=True)]
        lowered = span.lower() if True in lower else span  # ASCII: the same bytes as str.lower
        out = []
        for c, low in zip(k, lower, strict=True):
            source = lowered if low else span
            a, b = starts[c] - first, starts[c + 1] - first
            if b - a == 1:  # one message's scalar
                out.append([source[offsets[a] - base: offsets[b] - base]])
            else:
                column = offsets[a: b + 1]
                out.append([source[x - base: y - base] for x, y in zip(column, column[1:], strict=False)])
        return out

    def _column(self, path: str, lower: bool) -> list[bytes]:
        column = self.batch.column(path)
        offsets = column.offsets.tolist()
        return _split(memoryview(column.data)[offsets[0]: offsets[-1]].tobytes(), offsets, lower, offsets[0])

    def group_offsets(self, groups: Sequence[str]) -> list[list[int]]:
        packed = self.packed
        index = self.layout.groups if packed is not None else {}
        if all(g in index for g in groups):
            if len(self.batch) <= 64:  # a small batch: every group at once, no numpy indexing
                every = packed.group_offsets.tolist()
                return [every[index[g]] for g in groups]
            return [packed.group_offsets[index[g]].tolist() for g in groups]
        return [self.batch.lists[g].offsets.tolist() for g in groups]


_BLOCK_BYTES = 1 << 16


def _split(span: bytes, offsets: list[int], lower: bool, base: int) -> list[bytes]:
    """The strings at ``offsets`` (positions in the buffer where ``span`` starts at ``base``) as
    str.lower (when ``lower``) and batch.encode_strings leave them."""
    if span.isascii():
        if lower:
            span = span.lower()
        return [span[a - base: b - base] for a, b in zip(offsets, offsets[1:], strict=False)]
    values = [span[a - base: b - base] for a, b in zip(offsets, offsets[1:], strict=False)]
    return [(v.lower() if lower else v) if v.isascii() else _fix(v, lower) for v in values]


def _name_key(display_name: bytes) -> str:
    if not display_name or b"@" in display_name:
        return ""
    return normalize_name(display_name.decode("utf-8", "replace"))


def _recipients(groups: list, m: int) -> tuple[list[bytes], list[bytes]]:
    """Message m's distinct non-empty recipient addresses in order of first appearance, with the
    root domain of that first appearance (from the address when the column has none)."""
    if len(groups) == 1:
        offsets, column, root_column = groups[0]
        a, b = offsets[m], offsets[m + 1]
        if b - a == 1:  # one recipient, the usual case
            address, root = column[a], root_column[a]
            if not address:
                return [], []
            return [address], [root or _utf8(domain_of(address.decode("utf-8")))]
    addresses: list[bytes] = []
    roots: list[bytes] = []
    for offsets, column, root_column in groups:
        a, b = offsets[m], offsets[m + 1]
        if a != b:
            addresses += column[a:b]
            roots += root_column[a:b]
    # dict built from the end: for a repeated address the first appearance's root is the one kept
    first_root = dict(zip(reversed(addresses), reversed(roots), strict=True))
    first_root.pop(b"", None)
    if len(first_root) != len(addresses):
        addresses = [a for a in dict.fromkeys(addresses) if a]
    roots = [first_root[a] for a in addresses] if len(addresses) > 1 else list(first_root.values())
    if not all(roots):
        roots = [r or _utf8(domain_of(a.decode("utf-8"))) for a, r in zip(addresses, roots, strict=True)]
    return addresses, roots


def _times(times: Any, n: int) -> list[float]:
    if isinstance(times, np.ndarray) and times.dtype == np.float64:
        values = times.tolist()
    else:
        values = np.asarray(times, dtype=np.float64).tolist()
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
    if n == 1 and rows is None and lookup_only:
        keys = one_message_keys(batch, tenants, times, tenant_configs)
        if keys is not None:
            return keys
    read = _Reader(batch)
    senders, roots, hosts, names = read.block(_SENDER_PATHS, (True, False, False, False))
    *rcpt_offsets, reply_offsets = read.group_offsets((*_RECIPIENT_GROUPS, "headers.reply_to"))
    # Recipient groups with any element: (offsets, lower-cased addresses, root domains); all
    # their columns and the reply-to addresses in one read.
    present = [(g, offsets) for g, offsets in zip(_RECIPIENT_GROUPS, rcpt_offsets, strict=True)
               if offsets[-1] != offsets[0]]
    paths = [f"{g}[].email.{field}" for g, _ in present for field in ("email", "domain.root_domain")]
    has_replies = reply_offsets[-1] != reply_offsets[0]
    if has_replies:
        paths.append("headers.reply_to[].email.email")
    columns = read.block(paths, [not p.endswith("root_domain") for p in paths]) if paths else []
    groups = [(offsets, columns[2 * i], columns[2 * i + 1]) for i, (_, offsets) in enumerate(present)]
    replies = columns[-1] if has_replies else None

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
            addresses, rcpt_roots = _recipients(groups, m)
            rcpt_addr += addresses
            rcpt_dom += rcpt_roots
            rcpt_counts.append(len(addresses))
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


# Where one message's strings sit in SPEC_LAYOUT (the engine's batches): column indices.
_ONE_SENDER = tuple(SPEC_LAYOUT.strings[p] for p in _SENDER_PATHS)
_ONE_RECIPIENTS = tuple((SPEC_LAYOUT.strings[f"{g}[].email.email"], SPEC_LAYOUT.strings[f"{g}[].email.domain.root_domain"])
                        for g in _RECIPIENT_GROUPS)
_ONE_REPLY = SPEC_LAYOUT.strings["headers.reply_to[].email.email"]
_ONE_LISTS = (min(*(k for pair in _ONE_RECIPIENTS for k in pair), _ONE_REPLY),
              max(*(k for pair in _ONE_RECIPIENTS for k in pair), _ONE_REPLY) + 1)


def one_message_keys(batch: MessageBatch, tenants: Sequence[str], times: Any,
                     tenant_configs: Mapping[str, Any] | None) -> EventKeys | None:
    """``event_keys(..., lookup_only=True)`` of a one-message batch that MessageBatch.from_messages
    built (the engine's path), or None when the general path must decide: another kind of
    batch, no time, or strings lying far apart."""
    packed = batch.__dict__.get("packed")
    if packed is None or packed.layout is not SPEC_LAYOUT or len(tenants) != 1 or len(times) != 1:
        return None
    time = float(times[0])
    if not math.isfinite(time):
        return None
    return _one_message(packed, str(tenants[0]), time, tenant_configs)


def _one_message(packed: PackedBatch, tenant: str, time: float, tenant_configs: Mapping[str, Any] | None
                 ) -> EventKeys | None:
    """event_keys of a one-message SPEC_LAYOUT batch for lookups: the engine's path, in two slices
    of the packed buffers. None (the general path decides) when the strings lie far apart."""
    starts = packed.string_start.tolist()
    sender_block = _Block(packed, starts, min(_ONE_SENDER), max(_ONE_SENDER) + 1)
    if sender_block.span is None:
        return None
    email, root, host, display = (sender_block.scalar(k, lower=k == _ONE_SENDER[0]) for k in _ONE_SENDER)
    domain = root or host
    name = _name_key(display)
    counts = [starts[e + 1] - starts[e] for e, _ in _ONE_RECIPIENTS]
    reply_count = starts[_ONE_REPLY + 1] - starts[_ONE_REPLY]
    addresses: list[bytes] = []
    roots: list[bytes] = []
    replies: Iterable[bytes] = ()
    if any(counts) or reply_count:
        lists = _Block(packed, starts, *_ONE_LISTS)
        if lists.span is None:
            return None
        groups = [([0, c], lists.column(e, lower=True), lists.column(r, lower=False))
                  for (e, r), c in zip(_ONE_RECIPIENTS, counts, strict=True) if c]
        if groups:
            addresses, roots = _recipients(groups, 0)
        if reply_count:
            replies = dict.fromkeys(a for a in lists.column(_ONE_REPLY, lower=True) if a and a != email)
    parts = [tenant_keys(tenant, tenant_configs).key, email, domain, _utf8(name), *addresses, *roots, *replies]
    index = np.array([math.floor(time), 0, len(addresses), 0, len(parts) - 4 - 2 * len(addresses),
                      *accumulate(map(len, parts), initial=0)], dtype=OFFSET_DTYPE)
    return EventKeys(1, index, b"".join(parts), None, None, [tenant], [email], [name])


class _Block:
    """The strings of columns [first, last) of a packed batch, read in one slice (span is None
    when they take more than _BLOCK_BYTES)."""

    __slots__ = ("starts", "first", "ends", "base", "span", "lowered")

    def __init__(self, packed: PackedBatch, starts: list[int], first: int, last: int) -> None:
        self.starts, self.first = starts, starts[first]
        self.ends = packed.offsets[self.first: starts[last] + 1].tolist()
        self.base = self.ends[0]
        self.span = self.lowered = None
        if self.ends[-1] - self.base <= _BLOCK_BYTES:
            self.span = packed.text[self.base: self.ends[-1]].tobytes()
            if self.span.isascii():
                self.lowered = self.span.lower()  # ASCII: the same bytes as str.lower

    def scalar(self, k: int, lower: bool) -> bytes:
        """The one value of scalar column k (a one-message batch)."""
        i = self.starts[k] - self.first
        value = self.span[self.ends[i] - self.base: self.ends[i + 1] - self.base]
        if value.isascii():
            return value.lower() if lower else value
        return _fix(value, lower)

    def column(self, k: int, lower: bool) -> list[bytes]:
        a, b = self.starts[k] - self.first, self.starts[k + 1] - self.first
        ends, base = self.ends, self.base
        if self.lowered is None:  # the block is not ASCII: this column on its own
            start = ends[a]
            return _split(self.span[start - base: ends[b] - base], ends[a: b + 1], lower, start)
        source = self.lowered if lower else self.span
        if b - a == 1:
            return [source[ends[a] - base: ends[b] - base]]
        return [source[ends[i] - base: ends[i + 1] - base] for i in range(a, b)]


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
