"""This module contains the baseline events: one row of message metadata per message.

An events table (pyarrow) is what baselines are built from, offline (Parquet,
DuckDB / Spark SQL) and online (the C++ store). It is extracted from a
``MessageBatch`` or read from a metadata table, with the columns of
``EVENT_SCHEMA``:

- ``tenant``, ``message_id``, ``time`` (epoch seconds, int64);
- ``sender`` (lower-case address), ``sender_domain`` (its registrable domain),
  ``display_name`` and ``name_key`` (the name normalised for matching, "" when
  the name is empty or is itself an address);
- ``recipients``: distinct (address, domain) of To, Cc and Bcc;
- ``reply_to``: distinct Reply-To addresses other than the sender;
- ``direction``: inbound / outbound / internal from the tenant's own domains,
  or unknown when the tenant has none; ``sender_own`` (bool);
- ``in_reply_to`` and ``verdict`` (benign / malicious / spam, or null).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pyscore.batch import MessageBatch, StringColumn

RECIPIENT_TYPE = pa.struct([("address", pa.string()), ("domain", pa.string())])
EVENT_SCHEMA = pa.schema([
    ("tenant", pa.string()),
    ("message_id", pa.string()),
    ("time", pa.int64()),
    ("sender", pa.string()),
    ("sender_domain", pa.string()),
    ("display_name", pa.string()),
    ("name_key", pa.string()),
    ("recipients", pa.list_(RECIPIENT_TYPE)),
    ("reply_to", pa.list_(pa.string())),
    ("direction", pa.string()),
    ("sender_own", pa.bool_()),
    ("in_reply_to", pa.string()),
    ("verdict", pa.string()),
])
REQUIRED_COLUMNS = ("tenant", "time", "sender", "recipients")
VERDICT_CODES = {"benign": 1, "malicious": 2, "spam": 3}
_VERDICT_ALIASES = {
    "benign": "benign", "safe": "benign", "ham": "benign", "clean": "benign",
    "malicious": "malicious", "phishing": "malicious", "bec": "malicious", "malware": "malicious",
    "fraud": "malicious", "scam": "malicious",
    "spam": "spam",
}
_BRACKETED = re.compile(r"<[^>]*>|\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^\w]+")


# The words of two or more characters that _NON_WORD leaves in lower-case ASCII ("_" being a space).
_ASCII_WORDS = re.compile(r"[a-z0-9]{2,}")


def normalize_name(display_name: str) -> str:
    """A display name as a matching key: casefolded words of two or more letters, sorted.

    "Skilling, Jeff", "Jeff Skilling" and "JEFF K. SKILLING" all give "jeff skilling";
    a name that is an address, or has no word left, gives "".
    """
    if not display_name or "@" in display_name:
        return ""
    if display_name.isascii():  # most names: NFKC and casefold change nothing but case, in C
        text = _BRACKETED.sub(" ", display_name) if "<" in display_name or "(" in display_name or \
            "[" in display_name else display_name
        return " ".join(sorted(w for w in _ASCII_WORDS.findall(text.lower()) if not w.isdigit()))
    text = unicodedata.normalize("NFKC", display_name)
    text = _BRACKETED.sub(" ", text).casefold().replace("_", " ")
    words = sorted(w for w in _NON_WORD.split(text) if len(w) >= 2 and not w.isdigit())
    return " ".join(words)


def normalize_verdict(value: Any) -> str | None:
    """benign / malicious / spam, or None for unknown or unrecognised verdicts."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return _VERDICT_ALIASES.get(str(value).strip().lower())


def domain_of(address: str) -> str:
    """The registrable domain of an address (public-suffix aware), "" without a domain."""
    from pyscore.domains import domain_of_address

    if "@" not in address:
        return ""
    d = domain_of_address(address)
    return d.root_domain or d.domain


def direction_of(sender_own: bool, recipient_own: Sequence[bool], has_own_domains: bool) -> str:
    if not has_own_domains:
        return "unknown"
    if sender_own:
        return "internal" if recipient_own and all(recipient_own) else "outbound"
    return "inbound"


def own_domains_of(config: Any) -> frozenset[str]:
    """Own domains of a tenant config, read duck-typed (a TenantConfig, a dict or None)."""
    if config is None:
        return frozenset()
    domains = config.get("own_domains", ()) if isinstance(config, Mapping) else getattr(config, "own_domains", ())
    return frozenset(d.strip().lower() for d in domains)


def _is_own(domain: str, own: frozenset[str]) -> bool:
    return bool(domain) and (domain in own or any(domain.endswith("." + d) for d in own))


def _list_values(batch: MessageBatch, group: str, field: str) -> tuple[np.ndarray, list[str]]:
    lg = batch.lists[group]
    col = lg.columns[field]
    return lg.offsets.tolist(), col.to_list() if isinstance(col, StringColumn) else list(col)


# The columns a store reads (event_columns): a lookup_only EventRows holds just these.
_LOOKUP_COLUMNS = ("tenant", "time", "sender", "sender_domain", "name_key", "recipients", "reply_to", "sender_own",
                   "verdict")


class EventRows(dict):
    """Events as plain Python columns (``EVENT_SCHEMA`` names -> lists), before any Arrow.

    Scoring one message at a time hashes these directly (see
    ``pyscore.baseline.store.event_columns``); ``to_table`` gives the Arrow form.
    """

    @property
    def num_rows(self) -> int:
        return len(self["time"])

    def to_table(self) -> pa.Table:
        missing = [name for name in EVENT_SCHEMA.names if name not in self]
        if missing:
            raise ValueError(f"these events were extracted for lookups only; missing columns {missing}")
        return pa.Table.from_pydict(dict(self), schema=EVENT_SCHEMA)


def events_from_batch(
    batch: MessageBatch,
    tenants: Sequence[str],
    *,
    times: np.ndarray | None = None,
    tenant_configs: Mapping[str, Any] | None = None,
    verdicts: Sequence[str | None] | None = None,
) -> pa.Table:
    """The events of a batch. ``times`` defaults to the Date header (a message without
    either raises ValueError naming it); ``tenant_configs`` gives own domains."""
    return event_rows(batch, tenants, times=times, tenant_configs=tenant_configs, verdicts=verdicts).to_table()


def event_rows(
    batch: MessageBatch,
    tenants: Sequence[str],
    *,
    times: np.ndarray | None = None,
    tenant_configs: Mapping[str, Any] | None = None,
    verdicts: Sequence[str | None] | None = None,
    lookup_only: bool = False,
) -> EventRows:
    """``events_from_batch`` as Python columns: the same rows, without building Arrow.

    ``lookup_only`` leaves out what the store never reads (message id, display
    name, direction, in-reply-to): enough to look up or observe, not for ``to_table``."""
    n = len(batch)
    if len(tenants) != n:
        raise ValueError(f"events_from_batch: {len(tenants)} tenants for {n} messages")
    if times is None:
        times = batch.column("headers.date")
    times = np.asarray(times, dtype=np.float64).tolist()
    if len(times) != n:
        raise ValueError(f"events_from_batch: {len(times)} times for {n} messages")
    bad = [i for i, t in enumerate(times) if not math.isfinite(t)]
    if bad:
        raise ValueError(f"events_from_batch: message {batch.ids[bad[0]]!r} has no time (no Date header) "
                         f"and {len(bad) - 1} more; pass times=")
    verdicts = [None] * n if verdicts is None else list(verdicts)
    if len(verdicts) != n:
        raise ValueError(f"events_from_batch: {len(verdicts)} verdicts for {n} messages")
    senders = [s.lower() for s in batch.column("sender.email.email").to_list()]
    roots = batch.column("sender.email.domain.root_domain").to_list()
    hosts = batch.column("sender.email.domain.domain").to_list()
    names = batch.column("sender.display_name").to_list()
    in_reply_to = None if lookup_only else batch.column("headers.in_reply_to").to_list()
    groups = ("recipients.to", "recipients.cc", "recipients.bcc")
    rcpt_lists = [_list_values(batch, g, "email.email") for g in groups]
    rcpt_roots = [_list_values(batch, g, "email.domain.root_domain")[1] for g in groups]
    reply_offsets, reply_values = _list_values(batch, "headers.reply_to", "email.email")
    configs = tenant_configs or {}
    own_cache: dict[str, frozenset[str]] = {}
    rows = EventRows((name, []) for name in (_LOOKUP_COLUMNS if lookup_only else EVENT_SCHEMA.names))
    for m in range(n):
        tenant = str(tenants[m])
        if tenant not in own_cache:
            own_cache[tenant] = own_domains_of(configs.get(tenant))
        own = own_cache[tenant]
        sender = senders[m]
        sender_domain = roots[m] or hosts[m]
        recipients: dict[str, str] = {}
        for (offsets, values), domains in zip(rcpt_lists, rcpt_roots, strict=True):
            for k in range(offsets[m], offsets[m + 1]):
                address = values[k].lower()
                if address and address not in recipients:
                    recipients[address] = domains[k] or domain_of(address)
        reply = list(dict.fromkeys(
            a.lower() for a in reply_values[reply_offsets[m]:reply_offsets[m + 1]] if a and a.lower() != sender))
        sender_own = _is_own(sender_domain, own)
        rows["tenant"].append(tenant)
        rows["time"].append(math.floor(times[m]))
        rows["sender"].append(sender)
        rows["sender_domain"].append(sender_domain)
        rows["name_key"].append(normalize_name(names[m]))
        rows["recipients"].append([{"address": a, "domain": d} for a, d in recipients.items()])
        rows["reply_to"].append(reply)
        rows["sender_own"].append(sender_own)
        rows["verdict"].append(normalize_verdict(verdicts[m]))
        if not lookup_only:
            rows["message_id"].append(batch.ids[m])
            rows["display_name"].append(names[m])
            rows["direction"].append(direction_of(sender_own, [_is_own(d, own) for d in recipients.values()],
                                                  bool(own)))
            rows["in_reply_to"].append(in_reply_to[m])
    return rows


def events_from_table(table: pa.Table, *, tenant_configs: Mapping[str, Any] | None = None) -> pa.Table:
    """Conform a metadata table to EVENT_SCHEMA.

    Needs tenant, time, sender and recipients (a list of addresses, or of
    {address, domain}); derives the other columns when absent. Raises
    ValueError naming a missing column or a row with no time or sender.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"events table: missing column(s) {missing}; needs {list(REQUIRED_COLUMNS)}")
    data = table.to_pylist()
    configs = tenant_configs or {}
    rows = []
    for i, row in enumerate(data):
        if row.get("time") is None or not row.get("sender"):
            raise ValueError(f"events table: row {i} (message {row.get('message_id')!r}) has no time or sender")
        rows.append(_conform_row(row, i, configs))
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def _conform_row(row: dict, i: int, configs: Mapping[str, Any]) -> dict:
    tenant = str(row["tenant"] or "")
    sender = str(row["sender"]).lower()
    sender_domain = row.get("sender_domain") or domain_of(sender)
    recipients: dict[str, str] = {}
    for r in row["recipients"] or ():
        address, domain = (r.get("address"), r.get("domain")) if isinstance(r, dict) else (r, None)
        if address and address.lower() not in recipients:
            recipients[address.lower()] = domain or domain_of(address.lower())
    own = own_domains_of(configs.get(tenant))
    sender_own = row.get("sender_own")
    if sender_own is None:
        sender_own = _is_own(sender_domain, own)
    direction = row.get("direction") or direction_of(
        sender_own, [_is_own(d, own) for d in recipients.values()], bool(own))
    name = row.get("display_name") or ""
    return {
        "tenant": tenant,
        "message_id": str(row.get("message_id") or i),
        "time": int(row["time"]),
        "sender": sender,
        "sender_domain": sender_domain,
        "display_name": name,
        "name_key": row.get("name_key") if row.get("name_key") is not None else normalize_name(name),
        "recipients": [{"address": a, "domain": d} for a, d in recipients.items()],
        "reply_to": list(dict.fromkeys(a.lower() for a in row.get("reply_to") or () if a and a.lower() != sender)),
        "direction": direction,
        "sender_own": bool(sender_own),
        "in_reply_to": row.get("in_reply_to") or "",
        "verdict": normalize_verdict(row.get("verdict")),
    }


def sort_events(events: pa.Table) -> pa.Table:
    """Events in time order (ties by sender, then message id): the order replays need."""
    return events.sort_by([("time", "ascending"), ("sender", "ascending"), ("message_id", "ascending")])


def concat_events(parts: Iterable[pa.Table]) -> pa.Table:
    parts = list(parts)
    return pa.concat_tables(parts) if parts else EVENT_SCHEMA.empty_table()
