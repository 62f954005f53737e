"""This module contains the corpus readers: raw messages streamed from files, folders and archives.

Every reader yields entries one at a time, never holding more than one message
(plus one line of look-ahead for mbox) in memory:

* a single message file (``.eml`` or any file whose first line is a header),
* a folder of such files, walked recursively in sorted order (maildir
  ``cur``/``new`` folders and the Enron release's plain numbered files alike;
  a maildir's ``tmp`` folder holds deliveries in progress and is reported),
* an mbox (a file whose first line is a ``From `` postmark), split on postmark
  lines, ``>From`` escapes undone one level (mboxrd),
* ``.tar``, ``.tar.gz``, ``.tar.xz`` and ``.tar.bz2`` archives holding any of
  the above, read as a stream (``tarfile`` mode ``r|*``), nested archives too.

Each message carries a *source id* that names where it came from and lets
:func:`read_source` read it again: the path given, then ``::member`` for each
archive level, then ``::#N`` (1-based) for the N-th message of an mbox holding
more than one. A message file that starts with a postmark line is an mbox of
one message: its id has no ``#N`` and the postmark line is dropped.

Problems are never skipped silently: an unreadable, empty, oversized or
non-message entry and a broken mbox separator become :class:`CorpusProblem`
records. :func:`iter_entries` yields them in stream order between the
:class:`RawMessage` records; :class:`CorpusReader` yields only
``(source_id, raw)`` pairs and collects the problems in ``reader.problems``.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

SEP = "::"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one message; past this the entry is reported, not read

_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
# "From sender Sat Nov 27 15:33:27 2004": a time and a four-digit year somewhere after the sender.
_POSTMARK = re.compile(rb"^From \S*\s+.*\d{1,2}:\d{2}(?::\d{2})?\b.*\b\d{4}\b")
# A header line ("Name: value") or a continuation line.
_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]+[ \t]*:|[ \t]+\S)")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_FOLDER_DATA = re.compile(rb"^Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA", re.M)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message's bytes and the id that names where they came from."""

    source_id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CorpusProblem:
    """An entry that could not be read as a message, or a defect of its container."""

    source_id: str
    kind: str  # unreadable, empty, too_large, not_a_message, broken_mbox_separator, ...
    detail: str = ""


@dataclass
class CorpusReport:
    """Problems met while streaming, with counts by kind."""

    problems: list[CorpusProblem] = field(default_factory=list)

    def add(self, problem: CorpusProblem) -> None:
        self.problems.append(problem)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems))


def iter_entries(
    paths: str | os.PathLike | Iterable[str | os.PathLike], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawMessage | CorpusProblem]:
    """Stream messages and problems from files, folders, mboxes and tar archives, in order.

    Raises FileNotFoundError when a path does not exist; everything wrong inside
    an existing path is yielded as a CorpusProblem instead.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        yield from _iter_path(path, str(path), max_bytes)


class CorpusReader:
    """Iterate ``(source_id, raw bytes)`` over paths; problems land in ``self.problems``.

    >>> reader = CorpusReader(["enron.tar.xz"])          # doctest: +SKIP
    >>> for source_id, raw in reader: ...                 # doctest: +SKIP
    >>> reader.report.by_kind()                           # doctest: +SKIP
    """

    def __init__(
        self,
        paths: str | os.PathLike | Iterable[str | os.PathLike],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        self.max_bytes = max_bytes
        self.report = CorpusReport()

    @property
    def problems(self) -> list[CorpusProblem]:
        return self.report.problems

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for entry in iter_entries(self.paths, max_bytes=self.max_bytes):
            if isinstance(entry, CorpusProblem):
                self.report.add(entry)
            else:
                yield entry.source_id, entry.data


def split_source_id(source_id: str) -> tuple[str, list[str], int | None]:
    """Split a source id into (filesystem path, archive member chain, mbox ordinal or None)."""
    parts = source_id.split(SEP)
    ordinal = None
    if len(parts) > 1 and parts[-1].startswith("#") and parts[-1][1:].isdigit():
        ordinal = int(parts.pop()[1:])
    return parts[0], parts[1:], ordinal


def read_source(source_id: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read one message again from its source id (streams its archive up to the member).

    Raises FileNotFoundError when the path or member is missing, ValueError
    when the entry is there but is not a readable message.
    """
    path, members, _ = split_source_id(source_id)
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    container = path + "".join(SEP + m for m in members[:1])
    for entry in _iter_path(root, path, max_bytes, only_member=members[0] if members else None):
        if entry.source_id != source_id:
            continue
        if isinstance(entry, CorpusProblem):
            raise ValueError(f"{source_id}: {entry.kind}: {entry.detail}")
        return entry.data
    raise FileNotFoundError(f"no message {source_id!r} in {container}")


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


# --- dispatch ---------------------------------------------------------------------------------


def _iter_path(
    path: Path, source_id: str, max_bytes: int, only_member: str | None = None
) -> Iterator[RawMessage | CorpusProblem]:
    if path.is_dir():
        yield from _iter_dir(path, source_id, max_bytes)
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, also on generator close
    except OSError as exc:
        yield CorpusProblem(source_id, "unreadable", str(exc))
        return
    with handle:
        if is_archive_name(path.name) or _looks_like_tar(handle):
            yield from _iter_tar(handle, source_id, max_bytes, only_member)
        else:
            yield from _iter_stream(handle, source_id, max_bytes)


def _iter_dir(root: Path, source_id: str, max_bytes: int) -> Iterator[RawMessage | CorpusProblem]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.name == "tmp" and {"cur", "new"} & set(os.listdir(Path(dirpath).parent)):
            # Maildir deliveries in progress: not messages yet, but say so.
            for name in sorted(filenames):
                yield CorpusProblem(
                    _join(source_id, rel_dir / name, dir_=True),
                    "maildir_tmp",
                    "delivery in progress in maildir tmp/, not read",
                )
            dirnames.clear()
            continue
        for name in sorted(filenames):
            if name.startswith("."):
                continue  # editor and OS droppings (.DS_Store, .swp); hidden by convention
            yield from _iter_path(
                Path(dirpath) / name, _join(source_id, rel_dir / name, dir_=True), max_bytes
            )


def _join(base: str, rel: Path | str, *, dir_: bool = False) -> str:
    if dir_:
        return str(Path(base) / rel)
    return f"{base}{SEP}{rel}"


def _looks_like_tar(handle: BinaryIO) -> bool:
    head = handle.read(512)
    handle.seek(0)
    return len(head) == 512 and head[257:262] == b"ustar"


def _iter_tar(
    fileobj: BinaryIO, source_id: str, max_bytes: int, only_member: str | None = None
) -> Iterator[RawMessage | CorpusProblem]:
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r|*")  # noqa: SIM115 - closed in finally
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield CorpusProblem(source_id, "unreadable", f"not a readable tar archive: {exc}")
        return
    try:
        for member in _members(archive, source_id):
            if isinstance(member, CorpusProblem):
                yield member
                return
            if not member.isfile():
                continue
            if only_member is not None and member.name != only_member:
                continue
            member_id = _join(source_id, member.name)
            if member.size > max_bytes and not is_archive_name(member.name):
                yield CorpusProblem(member_id, "too_large", f"{member.size} bytes > {max_bytes}")
                continue
            handle = archive.extractfile(member)
            if handle is None:
                yield CorpusProblem(member_id, "unreadable", "tar member has no data")
                continue
            try:
                if is_archive_name(member.name):
                    yield from _iter_tar(handle, member_id, max_bytes)
                else:
                    yield from _iter_stream(handle, member_id, max_bytes)
            except (tarfile.TarError, OSError, EOFError) as exc:
                yield CorpusProblem(member_id, "unreadable", f"archive data ended early: {exc}")
                return
            if only_member is not None:
                return
    finally:
        archive.close()


def _members(archive: tarfile.TarFile, source_id: str) -> Iterator[tarfile.TarInfo | CorpusProblem]:
    # A damaged archive raises while advancing; report it once with where it stopped.
    iterator = iter(archive)
    while True:
        try:
            member = next(iterator)
        except StopIteration:
            return
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield CorpusProblem(
                source_id, "unreadable", f"archive damaged after {archive.offset} bytes: {exc}"
            )
            return
        yield member


def _iter_stream(
    handle: BinaryIO, source_id: str, max_bytes: int
) -> Iterator[RawMessage | CorpusProblem]:
    """One message file or one mbox, told apart by the first line."""
    try:
        first = handle.readline(max_bytes + 1)
    except OSError as exc:
        yield CorpusProblem(source_id, "unreadable", str(exc))
        return
    if not first.strip():
        # Leading blank lines: read on to find out whether a message follows them.
        rest = _read_rest(handle, first, max_bytes, source_id)
        if isinstance(rest, CorpusProblem):
            yield rest
        elif not rest.strip():
            yield CorpusProblem(source_id, "empty", "no bytes or only white space")
        elif not _HEADER_LINE.match(rest.lstrip().split(b"\n", 1)[0]):
            yield CorpusProblem(
                source_id, "not_a_message", f"first line is not a header: {rest.lstrip()[:60]!r}"
            )
        else:
            yield RawMessage(source_id, rest)  # the parser records the leading-blank defect
        return
    if first.startswith(b"From ") and _POSTMARK.match(first):
        yield from _iter_mbox(handle, first, source_id, max_bytes)
        return
    if not _HEADER_LINE.match(first):
        yield CorpusProblem(
            source_id, "not_a_message", f"first line is not a header: {first[:60]!r}"
        )
        return
    rest = _read_rest(handle, first, max_bytes, source_id)
    yield rest if isinstance(rest, CorpusProblem) else RawMessage(source_id, rest)


def _read_rest(
    handle: BinaryIO, head: bytes, max_bytes: int, source_id: str = ""
) -> bytes | CorpusProblem:
    try:
        data = head + handle.read(max_bytes + 1 - len(head))
    except OSError as exc:
        return CorpusProblem(source_id, "unreadable", str(exc))
    if len(data) > max_bytes:
        return CorpusProblem(source_id, "too_large", f"more than {max_bytes} bytes")
    return data


# --- mbox -------------------------------------------------------------------------------------


@dataclass
class _MboxState:
    source_id: str
    max_bytes: int
    ordinal: int = 0
    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    oversized: bool = False
    pending: RawMessage | CorpusProblem | None = None  # held back to name a lone message without #N

    def start(self) -> None:
        self.ordinal += 1
        self.lines, self.size, self.oversized = [], 0, False

    def add(self, line: bytes) -> None:
        if self.oversized:
            return
        self.size += len(line)
        if self.size > self.max_bytes:
            self.oversized, self.lines = True, []
            return
        escaped = _ESCAPED_FROM.match(line)
        self.lines.append(line[1:] if escaped else line)

    def finish(self) -> RawMessage | CorpusProblem:
        msg_id = f"{self.source_id}{SEP}#{self.ordinal}"
        if self.oversized:
            return CorpusProblem(msg_id, "too_large", f"more than {self.max_bytes} bytes")
        data = b"".join(self.lines)
        # The blank line before the next postmark belongs to the mbox, not the message.
        if data.endswith(b"\r\n\r\n") or data.endswith(b"\n\n"):
            data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
        if not data.strip():
            return CorpusProblem(msg_id, "empty", "mbox entry without content")
        if _FOLDER_DATA.search(data[:2048]):
            # Pine/UW-IMAP bookkeeping stored as the first message: not mail.
            return CorpusProblem(
                msg_id, "mbox_folder_data", "mail client's folder internal data message"
            )
        return RawMessage(msg_id, data)


def _iter_mbox(
    handle: BinaryIO, first: bytes, source_id: str, max_bytes: int
) -> Iterator[RawMessage | CorpusProblem]:
    state = _MboxState(source_id, max_bytes)
    state.start()
    prev_blank = True
    lines = _lines_with_next(handle, max_bytes)
    for line, nxt in lines:
        if line.startswith(b"From "):
            problem = _separator_problem(line, nxt, prev_blank, state, source_id)
            if problem is not _NOT_SEPARATOR:
                yield from _flush(state)
                state.start()
                if problem is not None:
                    yield problem
                prev_blank = False
                continue
        state.add(line)
        prev_blank = line in (b"\n", b"\r\n")
    yield from _flush(state)
    if state.pending is not None:
        lone = state.pending
        if state.ordinal == 1:
            # An mbox of one message (a .eml saved with its postmark): the file is the message.
            lone = (
                RawMessage(source_id, lone.data)
                if isinstance(lone, RawMessage)
                else CorpusProblem(source_id, lone.kind, lone.detail)
            )
        yield lone


_NOT_SEPARATOR = CorpusProblem("", "")


def _separator_problem(line, nxt, prev_blank, state, source_id) -> CorpusProblem | None:
    """Decide whether a ``From `` line starts a message; return a problem when it is broken.

    Returns _NOT_SEPARATOR for an unescaped ``From`` line inside a body (kept as text).
    """
    postmark_ok = bool(_POSTMARK.match(line))
    next_is_header = nxt is not None and bool(_HEADER_LINE.match(nxt))
    where = f"{source_id}{SEP}#{state.ordinal + 1}"
    if postmark_ok and next_is_header:
        if prev_blank:
            return None
        return CorpusProblem(
            where, "broken_mbox_separator", "postmark line not preceded by a blank line"
        )
    if prev_blank and (postmark_ok or next_is_header):
        why = "postmark without a date" if next_is_header else "postmark not followed by a header"
        return CorpusProblem(where, "broken_mbox_separator", f"{why}: {line[:60]!r}")
    return _NOT_SEPARATOR


def _flush(state: _MboxState) -> Iterator[RawMessage | CorpusProblem]:
    done = state.finish()
    if state.pending is not None:
        yield state.pending
    state.pending = done


def _lines_with_next(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[bytes, bytes | None]]:
    """Lines with one line of look-ahead; a single line is cut at max_bytes to bound memory."""
    read = handle.readline
    current = read(max_bytes)
    while current:
        nxt = read(max_bytes)
        yield current, nxt or None
        current = nxt


def iter_raw_messages(paths, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[RawMessage]:
    """Messages only, raising CorpusError at the first problem (for callers that need all or none)."""
    for entry in iter_entries(paths, max_bytes=max_bytes):
        if isinstance(entry, CorpusProblem):
            raise CorpusError(entry)
        yield entry


class CorpusError(ValueError):
    """A corpus entry that could not be read, carrying its CorpusProblem."""

    def __init__(self, problem: CorpusProblem) -> None:
        super().__init__(f"{problem.source_id}: {problem.kind}: {problem.detail}")
        self.problem = problem


__all__ = [
    "CorpusError",
    "CorpusProblem",
    "CorpusReader",
    "CorpusReport",
    "RawMessage",
    "iter_entries",
    "iter_raw_messages",
    "read_source",
    "split_source_id",
]
