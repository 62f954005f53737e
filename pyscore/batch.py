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

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter as _a
from operator import itemgetter

import numpy as np

from pyscore import _core
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
    columns: Mapping[str, Column]

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


_MAILBOX_PATHS = ("email.email", "email.local_part", "email.domain.domain", "email.domain.root_domain",
                  "email.domain.tld", "display_name")
# attrgetter: the getters run once per value when a batch is built, a C getter is 3x cheaper than a lambda
_MAILBOX_FIELDS: list[_Spec] = [(p, "str", _a(p)) for p in _MAILBOX_PATHS]

SCALAR_SPECS: list[_Spec] = [
    *[(f"sender.{p}", "str", _a(f"sender.{p}")) for p in _MAILBOX_PATHS],
    *[(f"headers.from.{p}", "str", _a(f"headers.from_.{p}")) for p in _MAILBOX_PATHS],
    ("headers.return_path.email", "str", _a("headers.return_path.email")),
    ("headers.return_path.domain.domain", "str", _a("headers.return_path.domain.domain")),
    ("headers.return_path.domain.root_domain", "str", _a("headers.return_path.domain.root_domain")),
    ("headers.sender.email.email", "str", _a("headers.sender.email.email")),
    ("headers.message_id", "str", _a("headers.message_id")),
    ("headers.in_reply_to", "str", _a("headers.in_reply_to")),
    ("headers.date", "num", lambda m: _epoch(m.headers.date)),
    ("headers.date_raw", "str", _a("headers.date_raw")),
    ("headers.mailer", "str", _a("headers.mailer")),
    ("headers.list.id", "str", _a("headers.list.id")),
    ("headers.list.unsubscribe", "str", _a("headers.list.unsubscribe")),
    ("headers.list.post", "str", _a("headers.list.post")),
    ("headers.list.precedence", "str", _a("headers.list.precedence")),
    *[
        item
        for check in ("spf", "dkim", "dmarc")
        for item in (
            (f"headers.auth_summary.{check}.result", "str", _compose(_auth(check), lambda a: a.result or "")),
            (f"headers.auth_summary.{check}.domain", "str", _a(f"headers.auth_summary.{check}.domain")),
            (f"headers.auth_summary.{check}.pass", "num", _compose(_auth(check), lambda a: _flag(a.passed))),
        )
    ],
    ("subject.subject", "str", _a("subject.subject")),
    ("body.text", "str", _a("body.text")),
    ("body.html.raw", "str", _a("body.html_raw")),
    ("body.html.display_text", "str", _a("body.html_text")),
    ("body.current_thread.text", "str", _a("body.current_thread_text")),
    ("size", "num", lambda m: float(m.size)),
]

# List groups: (group path, element getter from a message, element specs).
LIST_SPECS: list[tuple[str, Callable, list[_Spec]]] = [
    ("recipients.to", _a("recipients.to"), _MAILBOX_FIELDS),
    ("recipients.cc", _a("recipients.cc"), _MAILBOX_FIELDS),
    ("recipients.bcc", _a("recipients.bcc"), _MAILBOX_FIELDS),
    ("headers.reply_to", _a("headers.reply_to"), _MAILBOX_FIELDS),
    ("headers.references", _a("headers.references"), [("value", "str", lambda r: r)]),
    ("headers.hops", _a("headers.hops"), [
        ("from.host", "str", _a("from_host")),
        ("from.ip", "str", _a("from_ip")),
        ("by.host", "str", _a("by_host")),
        ("protocol", "str", _a("protocol")),
        ("time", "num", lambda h: _epoch(h.time)),
    ]),
    ("headers.fields", _a("headers.fields"), [
        ("name", "str", lambda f: f[0].lower()),
        ("value", "str", itemgetter(1)),
    ]),
    ("body.links", _a("links"), [
        ("href_url.url", "str", _a("href_url.url")),
        ("href_url.original", "str", _a("href_url.original")),
        ("href_url.scheme", "str", _a("href_url.scheme")),
        ("href_url.domain.domain", "str", _a("href_url.domain.domain")),
        ("href_url.domain.root_domain", "str", _a("href_url.domain.root_domain")),
        ("href_url.domain.tld", "str", _a("href_url.domain.tld")),
        ("href_url.domain.punycode", "str", _a("href_url.domain.punycode")),
        ("href_url.path", "str", _a("href_url.path")),
        ("href_url.query", "str", _a("href_url.query")),
        ("display_text", "str", _a("display_text")),
        ("source", "str", _a("source")),
    ]),
    ("attachments", _a("attachments"), [
        ("file_name", "str", _a("file_name")),
        ("file_extension", "str", _a("file_extension")),
        ("content_type", "str", _a("content_type")),
        ("file_type", "str", _a("file_type")),
        ("size", "num", lambda a: float(a.size)),
        ("sha256", "str", _a("sha256")),
        ("encrypted", "num", lambda a: float(a.encrypted)),
        ("archive_member_count", "num", lambda a: float(len(a.archive_members))),
    ]),
    # All archive member names of all attachments of a message, flattened.
    ("attachments.archive_members", lambda m: [n for a in m.attachments for n in a.archive_members],
     [("value", "str", lambda n: n)]),
    ("defects", _a("defects"), [("kind", "str", _a("kind"))]),
]


def _build_column(kind: str, values: list) -> Column:
    if kind == "str":
        return StringColumn.from_strings(values)
    return np.asarray(values, dtype=NUMBER_DTYPE)


@dataclass(frozen=True)
class Layout:
    """Where each column of a PackedBatch lives: name -> index. String and number
    columns are named by full path (``body.links[].href_url.url`` for elements)."""

    strings: dict[str, int]
    numbers: dict[str, int]
    groups: dict[str, int]
    scalars: tuple[str, ...]  # scalar column names, in the batch's column order
    group_fields: dict[str, tuple[str, ...]]  # group -> its element field paths, in order


def _spec_layout() -> Layout:
    strings = [p for p, k, _ in SCALAR_SPECS if k == "str"]
    numbers = [p for p, k, _ in SCALAR_SPECS if k == "num"]
    for group, _, specs in LIST_SPECS:
        strings += [f"{group}[].{p}" for p, k, _ in specs if k == "str"]
        numbers += [f"{group}[].{p}" for p, k, _ in specs if k == "num"]
    return Layout({p: i for i, p in enumerate(strings)}, {p: i for i, p in enumerate(numbers)},
                  {g: i for i, (g, _, _) in enumerate(LIST_SPECS)}, tuple(p for p, _, _ in SCALAR_SPECS),
                  {g: tuple(p for p, _, _ in specs) for g, _, specs in LIST_SPECS})


SPEC_LAYOUT = _spec_layout()  # the layout of every batch that from_messages builds


@dataclass(frozen=True)
class PackedBatch:
    """All columns of a batch in a few flat arrays, so a kernel takes the whole batch
    in a handful of arguments and building a batch encodes every string in one pass.

    String column k holds strings ``string_start[k]:string_start[k + 1]``; string s
    is ``text[offsets[s]:offsets[s + 1]]``. Number column k is
    ``numbers[number_start[k]:number_start[k + 1]]``. Row g of ``group_offsets``
    is the per-message offsets of list group g.
    """

    layout: Layout
    text: np.ndarray  # uint8
    offsets: np.ndarray  # int64 [n_strings + 1]
    string_start: np.ndarray  # int64 [n_string_columns + 1]
    numbers: np.ndarray  # float64
    number_start: np.ndarray  # int64 [n_number_columns + 1]
    group_offsets: np.ndarray  # int64 [n_groups, n_messages + 1]

    def string_column(self, k: int) -> StringColumn:
        a, b = int(self.string_start[k]), int(self.string_start[k + 1])
        offsets = self.offsets[a : b + 1]
        base = offsets[0]
        return StringColumn(offsets - base, self.text[base : offsets[-1]])

    def number_column(self, k: int) -> np.ndarray:
        return self.numbers[self.number_start[k] : self.number_start[k + 1]]


class _Columns(Mapping):
    """Columns of a packed batch by name; each becomes a StringColumn or array on first access."""

    __slots__ = ("_packed", "_index", "_made")

    def __init__(self, packed: PackedBatch, index: dict[str, tuple[bool, int]]) -> None:
        self._packed = packed
        self._index = index  # name -> (is_string, column index)
        self._made: dict[str, Column] = {}

    def __getitem__(self, name: str) -> Column:
        col = self._made.get(name)
        if col is None:
            is_string, k = self._index[name]
            col = self._packed.string_column(k) if is_string else self._packed.number_column(k)
            self._made[name] = col
        return col

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class _Lists(Mapping):
    """List groups of a packed batch by name, each made on first access."""

    __slots__ = ("_packed", "_index", "_made")

    def __init__(self, packed: PackedBatch, index: dict[str, dict[str, tuple[bool, int]]]) -> None:
        self._packed = packed
        self._index = index  # group -> its element columns' index
        self._made: dict[str, ListGroup] = {}

    def __getitem__(self, group: str) -> ListGroup:
        lg = self._made.get(group)
        if lg is None:
            offsets = self._packed.group_offsets[self._packed.layout.groups[group]]
            lg = self._made[group] = ListGroup(offsets, _Columns(self._packed, self._index[group]))
        return lg

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _column_indexes(layout: Layout) -> tuple[dict, dict]:
    def where(name: str) -> tuple[bool, int]:
        return (True, layout.strings[name]) if name in layout.strings else (False, layout.numbers[name])

    scalars = {p: where(p) for p in layout.scalars}
    groups = {g: {p: where(f"{g}[].{p}") for p in fields} for g, fields in layout.group_fields.items()}
    return scalars, groups


_SPEC_INDEXES = _column_indexes(SPEC_LAYOUT)
# Fast extraction for pack_messages: the same values as the specs' getters (a test holds
# them equal), read with multi-path attrgetters, one C call per record instead of one
# Python call per value.
_SCALAR_STR_ATTRS = [
    *[f"sender.{p}" for p in _MAILBOX_PATHS], *[f"headers.from_.{p}" for p in _MAILBOX_PATHS],
    "headers.return_path.email", "headers.return_path.domain.domain", "headers.return_path.domain.root_domain",
    "headers.sender.email.email", "headers.message_id", "headers.in_reply_to", "headers.date_raw",
    "headers.mailer", "headers.list.id", "headers.list.unsubscribe", "headers.list.post", "headers.list.precedence",
    *[f"headers.auth_summary.{c}.{f}" for c in ("spf", "dkim", "dmarc") for f in ("result", "domain")],
    "subject.subject", "body.text", "body.html_raw", "body.html_text", "body.current_thread_text",
]
_NONE_AS_EMPTY = [_SCALAR_STR_ATTRS.index(f"headers.auth_summary.{c}.result") for c in ("spf", "dkim", "dmarc")]
_SCALAR_NUM_PATHS = ["headers.date", *(f"headers.auth_summary.{c}.pass" for c in ("spf", "dkim", "dmarc")), "size"]
if [p for p, k, _ in SCALAR_SPECS if k == "num"] != _SCALAR_NUM_PATHS:
    raise ImportError("batch.py: _scalar_numbers no longer follows the number columns of SCALAR_SPECS")


def _scalar_numbers(m: Message) -> tuple[float, ...]:
    """The scalar number columns of one message, in _SCALAR_NUM_PATHS order."""
    headers = m.headers
    auth = headers.auth_summary
    return (_epoch(headers.date), _flag(auth.spf.passed), _flag(auth.dkim.passed), _flag(auth.dmarc.passed),
            float(m.size))


def _attr_columns(*paths: str) -> Callable[[list], list]:
    """flat records -> one sequence per path (the records' values, in order)."""
    get = _a(*paths)
    singles = [_a(p) for p in paths]
    if len(paths) == 1:
        return lambda flat: [list(map(get, flat))]

    def columns(flat: list) -> list:
        if len(flat) > 64:  # zip(*rows) slows down with many rows: one pass per path
            return [list(map(g, flat)) for g in singles]
        return list(zip(*map(get, flat), strict=True)) if flat else [()] * len(paths)

    return columns


_FIELD_NAME, _FIELD_VALUE = itemgetter(0), itemgetter(1)
_LIST_STR_COLUMNS: dict[str, Callable[[list], list]] = {
    **{g: _attr_columns(*_MAILBOX_PATHS) for g in ("recipients.to", "recipients.cc", "recipients.bcc",
                                                   "headers.reply_to")},
    "headers.references": lambda flat: [flat],
    "headers.hops": _attr_columns("from_host", "from_ip", "by_host", "protocol"),
    "headers.fields": lambda flat: [list(map(str.lower, map(_FIELD_NAME, flat))), list(map(_FIELD_VALUE, flat))],
    "body.links": _attr_columns(*(f"href_url.{p}" for p in ("url", "original", "scheme", "domain.domain",
                                                            "domain.root_domain", "domain.tld", "domain.punycode",
                                                            "path", "query")), "display_text", "source"),
    "attachments": _attr_columns("file_name", "file_extension", "content_type", "file_type", "sha256"),
    "attachments.archive_members": lambda flat: [flat],
    "defects": _attr_columns("kind"),
}
_LIST_GETTERS = [(elements_of, _LIST_STR_COLUMNS[group], sum(k == "str" for _, k, _ in specs),
                  [g for _, k, g in specs if k == "num"])
                 for group, elements_of, specs in LIST_SPECS]


def encode_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text, offsets) of the strings, UTF-8 (lone surrogates replaced), in one writable buffer
    (Numba compiles read-only arrays as another signature)."""
    return _core.utf8_concat(strings)


def _starts(counts: list[int]) -> np.ndarray:
    return np.fromiter(accumulate(counts, initial=0), dtype=OFFSET_DTYPE, count=len(counts) + 1)


_SCALAR_ROW = _a(*_SCALAR_STR_ATTRS)


def pack_messages(messages: list[Message]) -> PackedBatch:
    """The PackedBatch of the messages in SPEC_LAYOUT: every value read once, column by column."""
    n = len(messages)
    if n == 1:
        strings = list(_SCALAR_ROW(messages[0]))
        for i in _NONE_AS_EMPTY:
            strings[i] = strings[i] or ""
    else:
        columns = [list(map(_a(p), messages)) for p in _SCALAR_STR_ATTRS]
        for i in _NONE_AS_EMPTY:
            columns[i] = [v or "" for v in columns[i]]
        strings = [v for column in columns for v in column]
    numbers = list(_scalar_numbers(messages[0])) if n == 1 else \
        [v for column in zip(*map(_scalar_numbers, messages), strict=True) for v in column]
    str_counts = [n] * len(_SCALAR_STR_ATTRS)
    num_counts = [n] * len(_SCALAR_NUM_PATHS)
    lengths = []
    for elements_of, str_columns, n_str, num_getters in _LIST_GETTERS:
        per_message = [elements_of(m) for m in messages]
        lengths += map(len, per_message)
        flat = per_message[0] if n == 1 else [e for elements in per_message for e in elements]
        str_counts += [len(flat)] * n_str
        num_counts += [len(flat)] * len(num_getters)
        if not flat:  # most groups of one message: its columns add nothing
            continue
        for column in str_columns(flat):
            strings += column
        for get in num_getters:
            numbers += map(get, flat)
    group_offsets = np.zeros((len(_LIST_GETTERS), n + 1), dtype=OFFSET_DTYPE)
    if n == 1:
        group_offsets[:, 1] = lengths
    else:
        np.cumsum(np.array(lengths, dtype=OFFSET_DTYPE).reshape(len(_LIST_GETTERS), n), axis=1,
                  out=group_offsets[:, 1:])
    text, offsets = encode_strings(strings)
    return PackedBatch(SPEC_LAYOUT, text, offsets, _starts(str_counts), np.array(numbers, dtype=NUMBER_DTYPE),
                       _starts(num_counts), group_offsets)


def pack_columns(n: int, columns: dict[str, Column], lists: dict[str, ListGroup]) -> PackedBatch:
    """The PackedBatch of a batch given as columns (copies every column once)."""
    named = list(columns.items())
    for group, lg in lists.items():
        named += [(f"{group}[].{p}", c) for p, c in lg.columns.items()]
    string_cols = [(p, c) for p, c in named if isinstance(c, StringColumn)]
    number_cols = [(p, np.asarray(c, dtype=NUMBER_DTYPE)) for p, c in named if not isinstance(c, StringColumn)]
    parts, base = [], 0
    for _, c in string_cols:
        parts.append(np.asarray(c.offsets[:-1], dtype=OFFSET_DTYPE) - c.offsets[0] + base)
        base += int(c.offsets[-1] - c.offsets[0])
    offsets = np.concatenate([*parts, np.array([base], dtype=OFFSET_DTYPE)])
    text = np.concatenate([np.zeros(0, np.uint8)] +
                          [np.asarray(c.data[c.offsets[0] : c.offsets[-1]], dtype=np.uint8) for _, c in string_cols])
    group_offsets = np.zeros((len(lists), n + 1), dtype=OFFSET_DTYPE)
    for g, lg in enumerate(lists.values()):
        group_offsets[g] = lg.offsets
    layout = Layout({p: i for i, (p, _) in enumerate(string_cols)}, {p: i for i, (p, _) in enumerate(number_cols)},
                    {g: i for i, g in enumerate(lists)}, tuple(columns),
                    {g: tuple(lg.columns) for g, lg in lists.items()})
    numbers = np.concatenate([np.zeros(0, NUMBER_DTYPE)] + [c for _, c in number_cols])
    return PackedBatch(layout, text, offsets, _starts([len(c) for _, c in string_cols]), numbers,
                       _starts([len(c) for _, c in number_cols]), group_offsets)


@dataclass(frozen=True)
class MessageBatch:
    ids: list[str]
    columns: Mapping[str, Column]
    lists: Mapping[str, ListGroup]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_messages(cls, messages: Iterable[Message], ids: Iterable[str] | None = None) -> MessageBatch:
        messages = list(messages)
        ids = [str(i) for i in range(len(messages))] if ids is None else [str(i) for i in ids]
        if len(ids) != len(messages):
            raise ValueError(f"ids has {len(ids)} entries for {len(messages)} messages")
        return cls.from_packed(ids, pack_messages(messages))

    @classmethod
    def from_packed(cls, ids: list[str], packed: PackedBatch) -> MessageBatch:
        """A batch over a PackedBatch; its columns are made on first access."""
        scalars, groups = _SPEC_INDEXES if packed.layout is SPEC_LAYOUT else _column_indexes(packed.layout)
        batch = cls(ids, _Columns(packed, scalars), _Lists(packed, groups))
        batch.__dict__["packed"] = packed
        return batch

    @functools.cached_property
    def packed(self) -> PackedBatch:
        """Every column in a few flat arrays (built from the columns when the batch was not packed)."""
        return pack_columns(len(self), self.columns, self.lists)

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
