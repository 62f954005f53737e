"""This module contains BaselineStore, the Python face of the C++ behavioral store.

Keys are 64-bit FNV-1a hashes of UTF-8 text, parts joined by the byte 0x1f:
``H(tenant, address)`` keys senders and recipients, ``H(tenant, root domain)``
domains, ``H(root domain)`` the cross-tenant domain table, ``H(tenant,
sender, recipient)`` pairs, ``H(tenant, sender, reply-to)`` reply-to pairs and
``H(tenant, name key)`` display names. ``key_hash`` is the plain-Python
definition; the core computes the same over whole columns, and from the key
strings themselves (``EventKeys``, pyscore.baseline.keys: hashed and looked up
or observed in one core call, the one-message scoring path).

A store opened on a directory is durable: every ``observe`` is appended to
the log and fsynced before it returns; ``compact`` folds the log into a new
snapshot. ``replay`` gives point-in-time features for training: message i sees
only messages strictly earlier than itself.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pyscore import _core
from pyscore.baseline.events import VERDICT_CODES, EventRows
from pyscore.baseline.keys import EventKeys, row_keys
from pyscore.batch import encode_strings

FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
SEPARATOR = "\x1f"
OUTPUTS: tuple[str, ...] = tuple(_core.BASELINE_OUTPUTS)
TABLES: tuple[str, ...] = tuple(_core.BASELINE_TABLES)
SECONDS_PER_DAY = 86400
NAME_SLOTS = 6

_ENTITY = np.dtype([
    ("key", "<u8"), ("first_seen", "<i8"), ("last_seen", "<i8"), ("decayed", "<f4"),
    ("messages", "<u4"), ("active_days", "<u4"), ("distinct", "<u4"), ("solicited", "<u4"),
    ("benign", "<u4"), ("malicious", "<u4"), ("spam", "<u4"),
])
_PAIR = np.dtype([("key", "<u8"), ("first_seen", "<i8"), ("last_seen", "<i8"), ("decayed", "<f4"), ("count", "<u4")])
_RECIPIENT = np.dtype([
    ("key", "<u8"), ("first_seen", "<i8"), ("received", "<u4"), ("from_first_time", "<u4"),
    ("malicious", "<u4"), ("spam", "<u4"),
])
_NAME = np.dtype([("key", "<u8"), ("messages", "<u4"), ("distinct", "<u4"), ("addresses", "<u8", (NAME_SLOTS,))])
# The record layout of each table, identical to the C++ structs (checked in tests).
ENTRY_DTYPES: dict[str, np.dtype] = {
    "senders": _ENTITY, "domains": _ENTITY, "global_domains": _ENTITY, "pairs": _PAIR,
    "recipients": _RECIPIENT, "names": _NAME, "reply_to": _PAIR,
}


class BaselineStoreError(ValueError):
    """A baseline store file that is missing, corrupt, or locked by another writer."""


def key_hash(*parts: str) -> int:
    """FNV-1a 64 of the UTF-8 bytes of the parts joined by 0x1f (the reference definition)."""
    h = FNV_OFFSET
    for byte in SEPARATOR.join(parts).encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def _string_buffers(values) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets, uint8 data) of a string array or a list of str (nulls as "")."""
    if isinstance(values, list):
        return _pylist_buffers(values)
    arr = pa.array(values, pa.large_string()) if not isinstance(values, pa.Array | pa.ChunkedArray) else values
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.large_string())
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets, data


def _pylist_buffers(values: list) -> tuple[np.ndarray, np.ndarray]:
    # Cheaper than a round trip through Arrow for the few strings of one message; the same
    # UTF-8 as a MessageBatch's columns.
    text, offsets = encode_strings([v or "" for v in values])
    return offsets, text


def hash_column(values, seeds: np.ndarray | int | None = None, *, rows: np.ndarray | None = None,
                separator: bool = True) -> np.ndarray:
    """FNV-1a 64 of each string continued from seeds (default: a fresh hash, no separator)."""
    offsets, data = _string_buffers(values)
    n = len(rows) if rows is not None else len(offsets) - 1
    if seeds is None:
        seeds, separator = np.full(n, FNV_OFFSET, dtype=np.uint64), False
    elif np.isscalar(seeds):
        seeds = np.full(n, seeds, dtype=np.uint64)
    out = np.empty(n, dtype=np.uint64)
    _core.baseline_hash(offsets, data, np.ascontiguousarray(seeds, dtype=np.uint64),
                        None if rows is None else np.ascontiguousarray(rows, dtype=np.int64), separator, out)
    return out


def _list_flat(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(int64 offsets, flat values) of a list column."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr, pa.ChunkedArray):  # zero chunks
        arr = pa.array([], arr.type)
    arr = arr.cast(pa.large_list(arr.type.value_type))
    offsets = np.asarray(arr.offsets, dtype=np.int64)
    return offsets - offsets[0], arr.flatten()


def event_columns(events) -> dict[str, np.ndarray]:
    """The core's columns of hashes for events: an Arrow table or ``EventRows``
    (see pyscore.baseline.events)."""
    if isinstance(events, EventRows):
        return _row_columns(events)
    if isinstance(events, EventKeys):
        return key_columns(events)
    parts = _table_parts(events)
    n = len(parts["time"])
    tenant = hash_column(parts["tenant"])
    sender = hash_column(parts["sender"], tenant)
    domain = hash_column(parts["sender_domain"], tenant)
    name = np.where(parts["name_empty"], np.uint64(0), hash_column(parts["name_key"], tenant))
    rcpt_offsets, reply_offsets = parts["rcpt_offsets"], parts["reply_offsets"]
    parent = np.repeat(np.arange(n, dtype=np.int64), np.diff(rcpt_offsets))
    rcpt_hash = hash_column(parts["rcpt_address"], tenant[parent])
    reply_parent = np.repeat(np.arange(n, dtype=np.int64), np.diff(reply_offsets))
    return {
        "time": parts["time"],
        "sender": sender,
        "domain": domain,
        "global_domain": hash_column(parts["sender_domain"]),
        "name": name.astype(np.uint64),
        "verdict": parts["verdict"],
        "sender_own": parts["sender_own"],
        "rcpt_offsets": rcpt_offsets,
        "rcpt": rcpt_hash,
        "rcpt_domain": hash_column(parts["rcpt_domain"], tenant[parent]),
        "pair": hash_column(parts["rcpt_address"], sender[parent]),
        "reverse_pair": hash_column(parts["sender"], rcpt_hash, rows=parent),
        "reply_offsets": reply_offsets,
        "reply_pair": hash_column(parts["reply"], sender[reply_parent]),
    }


def _table_parts(events: pa.Table) -> dict:
    """What event_columns hashes, read out of an Arrow events table."""
    rcpt_offsets, rcpt = _list_flat(events["recipients"])
    reply_offsets, reply = _list_flat(events["reply_to"])
    verdict = np.zeros(events.num_rows, dtype=np.uint8)
    for text, code in VERDICT_CODES.items():
        verdict[np.asarray(pc.fill_null(pc.equal(events["verdict"], text), False))] = code
    return {
        "time": np.asarray(events["time"], dtype=np.int64),
        "tenant": events["tenant"], "sender": events["sender"], "sender_domain": events["sender_domain"],
        "name_key": events["name_key"],
        "name_empty": np.asarray(pc.fill_null(pc.equal(events["name_key"], ""), True)),
        "rcpt_offsets": rcpt_offsets, "rcpt_address": rcpt.field("address"), "rcpt_domain": rcpt.field("domain"),
        "reply_offsets": reply_offsets, "reply": reply,
        "verdict": verdict,
        "sender_own": np.asarray(pc.fill_null(events["sender_own"], False), dtype=np.uint8),
    }


def _row_columns(events: EventRows) -> dict[str, np.ndarray]:
    """``event_columns`` of Python columns: every string encoded once, hashed in one core call."""
    return key_columns(row_keys(events))


def key_columns(keys: EventKeys) -> dict[str, np.ndarray]:
    """The core's columns of hashes for key strings (pyscore.baseline.keys)."""
    n, m = keys.num_rows, int(keys.rcpt_offsets[-1])
    hashes = np.empty(4 * n + 4 * m + int(keys.reply_offsets[-1]), dtype=np.uint64)
    _core.baseline_event_keys(n, keys.index, keys.data, hashes)
    starts = list(itertools.accumulate((n, n, n, n, m, m, m, m), initial=0))  # the core's KeyLayout
    names = ("sender", "domain", "global_domain", "name", "rcpt", "rcpt_domain", "pair", "reverse_pair")
    cols = {name: hashes[a:b] for name, a, b in zip(names, starts, starts[1:], strict=False)}
    verdict, sender_own = keys.observable() if keys.verdict is not None else (
        np.zeros(n, np.uint8), np.zeros(n, np.uint8))
    return {
        "time": keys.time, **{k: cols[k] for k in names[:4]},
        "verdict": verdict, "sender_own": sender_own, "rcpt_offsets": keys.rcpt_offsets,
        **{k: cols[k] for k in names[4:]},
        "reply_offsets": keys.reply_offsets, "reply_pair": hashes[starts[-1]:],
    }


def _columns(events) -> dict[str, np.ndarray]:
    # A plain dict is already the core's columns; EventRows (also a dict) still needs hashing.
    return events if isinstance(events, dict) and not isinstance(events, EventRows) else event_columns(events)


def _keys(events) -> EventKeys | None:
    """Events that the core can hash itself (key strings), or None for tables and column dicts."""
    if isinstance(events, EventKeys):
        return events
    return row_keys(events) if isinstance(events, EventRows) else None


class BaselineStore:
    """Per-tenant behavioral history in the C++ core; see the module docstring."""

    def __init__(self, core: _core.BaselineStore, path: Path | None = None) -> None:
        self._core = core
        self.path = path

    @classmethod
    def memory(cls, *, half_life_days: float = 30.0) -> BaselineStore:
        """An empty in-memory store (replays, tests, offline builds)."""
        return cls(_core.BaselineStore(half_life_days * SECONDS_PER_DAY))

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = False, read_only: bool = False,
             half_life_days: float = 30.0, sync: bool = True) -> BaselineStore:
        """A store in directory ``path``; ``create`` makes an empty one when absent.

        ``half_life_days`` applies to a new store (an existing one keeps its own).
        Raises FileNotFoundError when absent, BaselineStoreError when corrupt or locked.
        """
        path = Path(path)
        if not create and not (path / "baseline.snap").exists():
            raise FileNotFoundError(f"no baseline store at {path} (missing {path / 'baseline.snap'})")
        try:
            core = _core.BaselineStore.open(str(path), create, read_only, half_life_days * SECONDS_PER_DAY, sync)
        except RuntimeError as exc:  # _core.CoreError, or a RuntimeError from the core
            raise BaselineStoreError(str(exc)) from None
        return cls(core, path)

    @property
    def half_life_days(self) -> float:
        return self._core.half_life_seconds / SECONDS_PER_DAY

    def lookup_batch(self, events, out: np.ndarray | None = None) -> np.ndarray:
        """float32 (messages x len(OUTPUTS)): what was known strictly before each message's time.

        ``events``: EventKeys, EventRows, an Arrow events table or the core's columns. With
        EventKeys, ``out`` may be wider (the outputs fill its first columns) or a row-strided view."""
        keys = _keys(events)
        if keys is not None:
            if out is None:
                out = np.empty((keys.num_rows, len(OUTPUTS)), dtype=np.float32)
            self._core.lookup_keys(keys.n, keys.index, keys.data, out)
            return out
        cols = _columns(events)
        if out is None:
            out = np.empty((len(cols["time"]), len(OUTPUTS)), dtype=np.float32)
        self._core.lookup(cols, out)
        return out

    def observe(self, events) -> None:
        """Adds messages (durably, when file-backed: returns after the log is fsynced)."""
        keys = _keys(events)
        if keys is not None:
            self._core.observe_keys(keys.n, keys.index, keys.data, *keys.observable())
        else:
            self._core.observe(_columns(events))

    def replay(self, events, out: np.ndarray | None = None) -> np.ndarray:
        """Point-in-time features of time-sorted events while observing them."""
        keys = _keys(events)
        if keys is not None:
            if out is None:
                out = np.empty((keys.num_rows, len(OUTPUTS)), dtype=np.float32)
            self._core.replay_keys(keys.n, keys.index, keys.data, *keys.observable(), out)
            return out
        cols = _columns(events)
        if out is None:
            out = np.empty((len(cols["time"]), len(OUTPUTS)), dtype=np.float32)
        self._core.replay(cols, out)
        return out

    def compact(self) -> None:
        self._core.compact()

    def save_as(self, path: str | os.PathLike) -> None:
        """Write this in-memory store as a new store directory (snapshot + empty log)."""
        self._core.save_as(str(path))

    def entries(self, table: str) -> np.ndarray:
        """The table's records as a structured array (ENTRY_DTYPES[table])."""
        return np.frombuffer(self._core.entries(TABLES.index(table)), dtype=ENTRY_DTYPES[table]).copy()

    def put_entries(self, table: str, records: np.ndarray) -> None:
        records = np.ascontiguousarray(records, dtype=ENTRY_DTYPES[table])
        self._core.put_entries(TABLES.index(table), records)

    def find(self, table: str, key: int) -> np.void | None:
        """The record of one key (a key_hash), or None."""
        records = self.entries(table)
        hit = np.flatnonzero(records["key"] == np.uint64(key or 1))
        return records[hit[0]] if len(hit) else None

    def stats(self) -> dict:
        """Table sizes and bytes, log state, and bytes per tracked sender and pair."""
        s = self._core.stats()
        tables = s["tables"]
        for name, dtype in ENTRY_DTYPES.items():
            if tables[name]["entry_bytes"] != dtype.itemsize:
                raise RuntimeError(f"baseline table {name}: core record is {tables[name]['entry_bytes']} bytes, "
                                   f"Python dtype {dtype.itemsize}")
        s["total_bytes"] = sum(t["bytes"] for t in tables.values())
        for label, name in (("sender", "senders"), ("pair", "pairs")):
            size = tables[name]["size"]
            s[f"bytes_per_{label}"] = tables[name]["bytes"] / size if size else float("nan")
        return s
