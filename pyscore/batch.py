"""This module contains MessageBatch: many messages as equal-length columns.

Later stages (signals, rules, baselines) read batches, never Message objects.
A batch holds

- scalar columns, one value per message, named by MDM path
  (``sender.email.domain.root_domain``): text as a ``StringColumn`` (UTF-8
  bytes plus int64 offsets, which Numba kernels and the C++ core read without
  copying), numbers and booleans as float64 with NaN for a missing value;
- list groups, one per ragged MDM list (``body.links``, ``attachments``,
  ``recipients.to`` ...): per-message offsets into element rows, and element
  columns named by their path inside the element (``href_url.domain.root_domain``).
  Message ``m`` owns element rows ``offsets[m]:offsets[m + 1]``.

The full path of an element column is ``<group>[].<field>``, as MDM writes it:
``body.links[].href_url.url``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from pyscore._dtypes import OFFSET_DTYPE
from pyscore.message import Message

NUMBER_DTYPE = np.float64


@dataclass(frozen=True)
class StringColumn:
    """UTF-8 strings: value ``i`` is ``data[offsets[i]:offsets[i + 1]]``."""

    offsets: np.ndarray  # int64, len + 1
    data: np.ndarray  # uint8

    @classmethod
    def from_strings(cls, values: Sequence[str]) -> StringColumn:
        encoded = [v.encode("utf-8", "replace") for v in values]
        # accumulate + fromiter: np.cumsum on a Python list costs more than the data for small batches.
        offsets = np.fromiter(accumulate(map(len, encoded), initial=0), dtype=OFFSET_DTYPE, count=len(encoded) + 1)
        data = np.frombuffer(bytearray(b"".join(encoded)), dtype=np.uint8)
        return cls(offsets, data)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes().decode("utf-8", "replace")

    def to_list(self) -> list[str]:
        raw = self.data.tobytes()
        offsets = self.offsets.tolist()
        return [raw[a:b].decode("utf-8", "replace") for a, b in zip(offsets, offsets[1:], strict=False)]


Column = StringColumn | np.ndarray


@dataclass(frozen=True)
class ListGroup:
    """One ragged list field: element rows of all messages, and per-message offsets."""

    offsets: np.ndarray  # int64, n_messages + 1
    columns: dict[str, Column]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


# Column specs: (path, "str" | "num", getter). Getters take one record.
_Spec = tuple[str, str, Callable]


def _compose(outer: Callable, inner: Callable) -> Callable:
    return lambda record: inner(outer(record))


def _auth(check: str) -> Callable:
    return lambda m: getattr(m.headers.auth_summary, check)


def _flag(value: bool | None) -> float:
    return float("nan") if value is None else float(value)


def _epoch(value) -> float:
    return float("nan") if value is None else value.timestamp()


_MAILBOX_FIELDS: list[_Spec] = [
    ("email.email", "str", lambda b: b.email.email),
    ("email.local_part", "str", lambda b: b.email.local_part),
    ("email.domain.domain", "str", lambda b: b.email.domain.domain),
    ("email.domain.root_domain", "str", lambda b: b.email.domain.root_domain),
    ("email.domain.tld", "str", lambda b: b.email.domain.tld),
    ("display_name", "str", lambda b: b.display_name),
]

SCALAR_SPECS: list[_Spec] = [
    *[(f"sender.{p}", k, _compose(lambda m: m.sender, g)) for p, k, g in _MAILBOX_FIELDS],
    *[(f"headers.from.{p}", k, _compose(lambda m: m.headers.from_, g)) for p, k, g in _MAILBOX_FIELDS],
    ("headers.return_path.email", "str", lambda m: m.headers.return_path.email),
    ("headers.return_path.domain.domain", "str", lambda m: m.headers.return_path.domain.domain),
    ("headers.return_path.domain.root_domain", "str", lambda m: m.headers.return_path.domain.root_domain),
    ("headers.sender.email.email", "str", lambda m: m.headers.sender.email.email),
    ("headers.message_id", "str", lambda m: m.headers.message_id),
    ("headers.in_reply_to", "str", lambda m: m.headers.in_reply_to),
    ("headers.date", "num", lambda m: _epoch(m.headers.date)),
    ("headers.date_raw", "str", lambda m: m.headers.date_raw),
    ("headers.mailer", "str", lambda m: m.headers.mailer),
    ("headers.list.id", "str", lambda m: m.headers.list.id),
    ("headers.list.unsubscribe", "str", lambda m: m.headers.list.unsubscribe),
    ("headers.list.post", "str", lambda m: m.headers.list.post),
    ("headers.list.precedence", "str", lambda m: m.headers.list.precedence),
    *[
        item
        for check in ("spf", "dkim", "dmarc")
        for item in (
            (f"headers.auth_summary.{check}.result", "str", _compose(_auth(check), lambda a: a.result or "")),
            (f"headers.auth_summary.{check}.domain", "str", _compose(_auth(check), lambda a: a.domain)),
            (f"headers.auth_summary.{check}.pass", "num", _compose(_auth(check), lambda a: _flag(a.passed))),
        )
    ],
    ("subject.subject", "str", lambda m: m.subject.subject),
    ("body.text", "str", lambda m: m.body.text),
    ("body.html.raw", "str", lambda m: m.body.html_raw),
    ("body.html.display_text", "str", lambda m: m.body.html_text),
    ("body.current_thread.text", "str", lambda m: m.body.current_thread_text),
    ("size", "num", lambda m: float(m.size)),
]

# List groups: (group path, element getter from a message, element specs).
LIST_SPECS: list[tuple[str, Callable, list[_Spec]]] = [
    ("recipients.to", lambda m: m.recipients.to, _MAILBOX_FIELDS),
    ("recipients.cc", lambda m: m.recipients.cc, _MAILBOX_FIELDS),
    ("recipients.bcc", lambda m: m.recipients.bcc, _MAILBOX_FIELDS),
    ("headers.reply_to", lambda m: m.headers.reply_to, _MAILBOX_FIELDS),
    ("headers.references", lambda m: m.headers.references, [("value", "str", lambda r: r)]),
    ("headers.hops", lambda m: m.headers.hops, [
        ("from.host", "str", lambda h: h.from_host),
        ("from.ip", "str", lambda h: h.from_ip),
        ("by.host", "str", lambda h: h.by_host),
        ("protocol", "str", lambda h: h.protocol),
        ("time", "num", lambda h: _epoch(h.time)),
    ]),
    ("headers.fields", lambda m: m.headers.fields, [
        ("name", "str", lambda f: f[0].lower()),
        ("value", "str", lambda f: f[1]),
    ]),
    ("body.links", lambda m: m.links, [
        ("href_url.url", "str", lambda x: x.href_url.url),
        ("href_url.original", "str", lambda x: x.href_url.original),
        ("href_url.scheme", "str", lambda x: x.href_url.scheme),
        ("href_url.domain.domain", "str", lambda x: x.href_url.domain.domain),
        ("href_url.domain.root_domain", "str", lambda x: x.href_url.domain.root_domain),
        ("href_url.domain.tld", "str", lambda x: x.href_url.domain.tld),
        ("href_url.domain.punycode", "str", lambda x: x.href_url.domain.punycode),
        ("href_url.path", "str", lambda x: x.href_url.path),
        ("href_url.query", "str", lambda x: x.href_url.query),
        ("display_text", "str", lambda x: x.display_text),
        ("source", "str", lambda x: x.source),
    ]),
    ("attachments", lambda m: m.attachments, [
        ("file_name", "str", lambda a: a.file_name),
        ("file_extension", "str", lambda a: a.file_extension),
        ("content_type", "str", lambda a: a.content_type),
        ("file_type", "str", lambda a: a.file_type),
        ("size", "num", lambda a: float(a.size)),
        ("sha256", "str", lambda a: a.sha256),
        ("encrypted", "num", lambda a: float(a.encrypted)),
        ("archive_member_count", "num", lambda a: float(len(a.archive_members))),
    ]),
    # All archive member names of all attachments of a message, flattened.
    ("attachments.archive_members", lambda m: [n for a in m.attachments for n in a.archive_members],
     [("value", "str", lambda n: n)]),
    ("defects", lambda m: m.defects, [("kind", "str", lambda d: d.kind)]),
]


def _build_column(kind: str, values: list) -> Column:
    if kind == "str":
        return StringColumn.from_strings(values)
    return np.asarray(values, dtype=NUMBER_DTYPE)


@dataclass(frozen=True)
class MessageBatch:
    ids: list[str]
    columns: dict[str, Column]
    lists: dict[str, ListGroup]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_messages(cls, messages: Iterable[Message], ids: Iterable[str] | None = None) -> MessageBatch:
        messages = list(messages)
        ids = [str(i) for i in range(len(messages))] if ids is None else [str(i) for i in ids]
        if len(ids) != len(messages):
            raise ValueError(f"ids has {len(ids)} entries for {len(messages)} messages")
        columns = {path: _build_column(kind, [get(m) for m in messages]) for path, kind, get in SCALAR_SPECS}
        lists = {}
        for group, elements_of, specs in LIST_SPECS:
            per_message = [elements_of(m) for m in messages]
            offsets = np.fromiter(accumulate(map(len, per_message), initial=0), dtype=OFFSET_DTYPE,
                                  count=len(messages) + 1)
            flat = [e for elements in per_message for e in elements]
            lists[group] = ListGroup(offsets, {p: _build_column(k, [g(e) for e in flat]) for p, k, g in specs})
        return cls(ids, columns, lists)

    def column(self, path: str) -> Column:
        """A scalar column by MDM path, or an element column as ``group[].field``."""
        if "[]." in path:
            group, field_path = path.split("[].", 1)
            try:
                return self.lists[group].columns[field_path]
            except KeyError:
                raise KeyError(f"no list column {path!r} in the batch") from None
        try:
            return self.columns[path]
        except KeyError:
            raise KeyError(f"no column {path!r} in the batch") from None

    def to_arrow(self):
        """The batch as a pyarrow Table: scalar columns, and each list group as list<struct>."""
        import pyarrow as pa

        arrays, names = [pa.array(self.ids, pa.string())], ["id"]
        for path, col in self.columns.items():
            arrays.append(_to_arrow_array(col))
            names.append(path)
        for group, lg in self.lists.items():
            children = [_to_arrow_array(c) for c in lg.columns.values()]
            struct = pa.StructArray.from_arrays(children, names=list(lg.columns)) if children else None
            arrays.append(pa.LargeListArray.from_arrays(pa.array(lg.offsets, pa.int64()), struct))
            names.append(group)
        return pa.Table.from_arrays(arrays, names=names)


def _to_arrow_array(col: Column):
    import pyarrow as pa

    if isinstance(col, StringColumn):
        return pa.LargeStringArray.from_buffers(
            len(col), pa.py_buffer(col.offsets), pa.py_buffer(col.data)
        )
    return pa.array(col, pa.float64(), from_pandas=True)
