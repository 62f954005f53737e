"""This module contains the fast regex engine: Python ``re`` patterns translated to Hyperscan.

The rules language's regex dialect is Python ``re`` with ``re.ASCII`` (and
ASCII-only case folding for the i-functions). Hyperscan, when installed (the
``hyperscan`` package ships x86_64 wheels only), matches every regex of one
column in a single scan per string. A pattern is translated from Python's own
parse of it, construct by construct, into a Hyperscan expression that matches
exactly the same strings:

- character sets become explicit code-point ranges (``\\w``, ``\\d``, ``\\s``
  and their negations as ``re.ASCII`` defines them, ``.`` as every code point
  but ``\\n`` unless DOTALL); case-insensitive patterns get both cases of each
  ASCII letter spelt out, never Hyperscan's own caseless mode (which also folds
  non-ASCII letters);
- anchors keep Python's meaning (``$`` also before a final newline, ``\\Z`` is
  Hyperscan's ``\\z``); ``\\b`` / ``\\B`` are ASCII word boundaries in both;
- whole-string matches (``regex.match``) are wrapped in ``\\A(?:...)\\z``.

Whatever has no exact translation (lookarounds, backreferences, conditionals,
possessive repeats and atomic groups, MULTILINE anchors, surrogates, empty
classes) gives None, and the caller keeps Python ``re`` for that pattern;
so does a pattern Hyperscan refuses to compile. Only whether a regex matches
is asked of Hyperscan (which reports every match end, so greedy or lazy makes
no difference); texts are scanned as the UTF-8 bytes of the column.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

try:  # optional, x86_64 only
    import hyperscan
except ImportError:  # pragma: no cover - depends on the platform
    hyperscan = None

_c = re._constants  # type: ignore[attr-defined]
_MAX_CP = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
# re.ASCII classes, as code-point ranges.
_DIGIT = [(0x30, 0x39)]
_SPACE = [(0x09, 0x0D), (0x20, 0x20)]
_WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_NEWLINE = [(0x0A, 0x0A)]
_FLAGS = ("HS_FLAG_UTF8", "HS_FLAG_SINGLEMATCH", "HS_FLAG_ALLOWEMPTY")
ENV_SWITCH = "PYSCORE_REGEX_ENGINE"  # "re" turns the fast engine off
CACHE_ENV = "PYSCORE_HYPERSCAN_CACHE"  # a directory for compiled databases, or "off"
CACHE_FILES = 64


def available() -> bool:
    """Whether the fast engine can be used here (Hyperscan imported and not switched off)."""
    return hyperscan is not None and os.environ.get(ENV_SWITCH, "") != "re"


class _Untranslatable(Exception):
    """A construct without an exact Hyperscan equivalent."""


# --- code-point sets --------------------------------------------------------------------------
def _normalise(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, start = [], 0
    for lo, hi in _normalise(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= _MAX_CP:
        out.append((start, _MAX_CP))
    return out


def _fold(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Close a set under ASCII case (what re.IGNORECASE | re.ASCII compares)."""
    extra = []
    for lo, hi in ranges:
        for a, b, shift in ((0x41, 0x5A, 32), (0x61, 0x7A, -32)):
            x, y = max(lo, a), min(hi, b)
            if x <= y:
                extra.append((x + shift, y + shift))
    return _normalise(ranges + extra)


def _category(code) -> list[tuple[int, int]]:
    table = {
        _c.CATEGORY_DIGIT: _DIGIT, _c.CATEGORY_SPACE: _SPACE, _c.CATEGORY_WORD: _WORD,
        _c.CATEGORY_NOT_DIGIT: _complement(_DIGIT), _c.CATEGORY_NOT_SPACE: _complement(_SPACE),
        _c.CATEGORY_NOT_WORD: _complement(_WORD),
    }
    if code not in table:
        raise _Untranslatable(f"category {code}")
    return table[code]


def _char(cp: int) -> str:
    if cp < 0x80 and chr(cp).isalnum():
        return chr(cp)
    return f"\\x{{{cp:x}}}"


def _without_surrogates(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(lo, hi) for lo, hi in _intersect(ranges, [(0, _SURROGATES[0] - 1), (_SURROGATES[1] + 1, _MAX_CP)])]


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(max(x, u), min(y, v)) for x, y in _normalise(a) for u, v in b if max(x, u) <= min(y, v)]


def _set(ranges: list[tuple[int, int]]) -> str:
    """A Hyperscan class for a set of code points (surrogates left out: UTF-8 text never holds
    them), written negated when that is shorter (a negated class in UTF-8 mode is every other
    valid code point)."""
    ranges = _without_surrogates(ranges)
    if not ranges:
        raise _Untranslatable("empty class")
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0])
    others = _without_surrogates(_complement(ranges))
    if others and len(others) < len(ranges):
        return "[^" + _ranges(others) + "]"
    return "[" + _ranges(ranges) + "]"


def _ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


# --- translation ------------------------------------------------------------------------------
def translate(pattern: str, insensitive: bool, whole: bool) -> tuple[str, ...] | None:
    """Hyperscan expressions, one per top-level alternative, that together match exactly what
    ``re.compile(pattern, re.ASCII [| re.I])`` matches (``fullmatch`` when ``whole``, else
    ``search``); None when there is no exact translation. Alternatives are split so that rules
    sharing a branch (a variant adding ``|other words``) compile and scan it once."""
    flags = re.ASCII | (re.IGNORECASE if insensitive else 0)
    try:
        parsed = re._parser.parse(pattern, flags)  # type: ignore[attr-defined]
        items, flags = list(parsed), parsed.state.flags
        branches = [list(b) for b in items[0][1][1]] if len(items) == 1 and items[0][0] is _c.BRANCH else [items]
        bodies = [_seq(b, flags) for b in branches]
    except (re.error, _Untranslatable, RecursionError):
        return None
    return tuple(dict.fromkeys(f"\\A(?:{b})\\z" if whole else b for b in bodies))


def _seq(items: list, flags: int) -> str:
    return "".join(_item(op, av, flags) for op, av in items)


def _item(op, av, flags: int) -> str:
    ci = bool(flags & re.IGNORECASE)
    if op is _c.LITERAL:
        return _literal(av, ci)
    if op is _c.NOT_LITERAL:
        ranges = [(av, av)]
        return _set(_complement(_fold(ranges) if ci else ranges))
    if op is _c.ANY:
        return _set(_complement([]) if flags & re.DOTALL else _complement(_NEWLINE))
    if op is _c.IN:
        return _set(_class(av, ci))
    if op is _c.CATEGORY:
        return _set(_category(av))
    if op is _c.BRANCH:
        return "(?:" + "|".join(_seq(list(b), flags) for b in av[1]) + ")"
    if op is _c.SUBPATTERN:
        _, add, remove, sub = av
        return "(?:" + _seq(list(sub), (flags | add) & ~remove) + ")"
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        lo, hi, sub = av
        upper = "" if hi == _c.MAXREPEAT else str(hi)
        return f"(?:{_seq(list(sub), flags)}){{{lo},{upper}}}"
    if op is _c.AT:
        return _anchor(av, flags)
    raise _Untranslatable(str(op))


def _literal(cp: int, ci: bool) -> str:
    if _SURROGATES[0] <= cp <= _SURROGATES[1]:
        raise _Untranslatable("surrogate")
    if ci and (0x41 <= cp <= 0x5A or 0x61 <= cp <= 0x7A):
        return _set(_fold([(cp, cp)]))
    return _char(cp)


def _class(items: list, ci: bool) -> list[tuple[int, int]]:
    negate, ranges = False, []
    for op, av in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            ranges.append((av, av))
        elif op is _c.RANGE:
            ranges.append(av)
        elif op is _c.CATEGORY:
            ranges.extend(_category(av))
        else:
            raise _Untranslatable(f"class item {op}")
    # re matches a class case-insensitively when the folded character is in the folded class:
    # the class closed under case, negated afterwards.
    ranges = _fold(ranges) if ci else _normalise(ranges)
    return _complement(ranges) if negate else ranges


def _anchor(code, flags: int) -> str:
    if flags & re.MULTILINE and code in (_c.AT_BEGINNING, _c.AT_END):
        raise _Untranslatable("multiline anchor")
    table = {
        _c.AT_BEGINNING: "^", _c.AT_BEGINNING_STRING: "\\A",
        _c.AT_END: "$",  # both: the end, or before a newline that ends the text
        _c.AT_END_STRING: "\\z",
        _c.AT_BOUNDARY: "\\b", _c.AT_NON_BOUNDARY: "\\B",
    }
    if code not in table:
        raise _Untranslatable(f"anchor {code}")
    return table[code]


# --- databases --------------------------------------------------------------------------------
class RegexSet:
    """Hyperscan expressions compiled into one database: ``scan`` says which of them match a text.

    Expressions Hyperscan refuses are left out (``rejected``), found by splitting the set.
    """

    def __init__(self, expressions: Sequence[str]) -> None:
        self.expressions = list(expressions)
        self.rejected: set[int] = set()
        ok = self._accepted(list(range(len(self.expressions))))
        self._ids = ok
        self._db = _database(tuple(self.expressions[i] for i in ok)) if ok else None
        self._local = threading.local()  # Hyperscan scans without the GIL: one scratch per thread

    def _accepted(self, ids: list[int]) -> list[int]:
        if not ids:
            return []
        try:
            _database(tuple(self.expressions[i] for i in ids))
            return ids
        except hyperscan.error:
            if len(ids) == 1:
                self.rejected.add(ids[0])
                return []
            half = len(ids) // 2
            return self._accepted(ids[:half]) + self._accepted(ids[half:])

    def scanner(self):
        """``scan`` for one thread's loop: the database, scratch and id map bound once."""
        if self._db is None:
            return lambda text: []
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        db_scan, ids = self._db.scan, self._ids
        identity = ids == list(range(len(ids)))

        def scan(text) -> list[int]:
            found: list[int] = []
            db_scan(text, match_event_handler=_collect, context=found, scratch=scratch)
            return found if identity else [ids[i] for i in found]

        return scan

    def scan(self, text) -> list[int]:
        """Indices (into ``expressions``) of the expressions that match ``text`` (UTF-8 bytes)."""
        if self._db is None:
            return []
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        found: list[int] = []
        self._db.scan(text, match_event_handler=_collect, context=found, scratch=scratch)
        ids = self._ids
        return [ids[i] for i in found]


def _collect(pid: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(pid)  # SINGLEMATCH: once per expression and scan


@functools.lru_cache(maxsize=64)
def _database(expressions: tuple[str, ...]):
    """One Hyperscan block-mode database, cached in memory and on disk: compiling a rule pack's
    regexes with bounded gaps (``[^.\\n]{0,60}``) in UTF-8 mode takes seconds, loading it milliseconds."""
    flags = 0
    for name in _FLAGS:
        flags |= getattr(hyperscan, name)
    path = _cache_path(expressions, flags)
    if path is not None and path.is_file():
        try:
            return hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        except (hyperscan.error, OSError, ValueError, TypeError):
            pass  # another Hyperscan version or a damaged file: compile again
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[e.encode("ascii") for e in expressions], ids=list(range(len(expressions))),
               elements=len(expressions), flags=[flags] * len(expressions))
    if path is not None:
        _write_cache(path, hyperscan.dumpb(db))
    return db


def _cache_path(expressions: tuple[str, ...], flags: int) -> Path | None:
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                     os.path.expanduser("~/.cache"), "pyscore", "hyperscan")
    if root == "off":
        return None
    key = hashlib.sha256(repr((getattr(hyperscan, "__version__", ""), flags, expressions)).encode()).hexdigest()
    return Path(root) / f"{key[:32]}.hsdb"


def _write_cache(path: Path, blob: bytes) -> None:
    """Write to a temporary file and rename, so readers never see half a database; a cache
    that cannot be written (read-only home) is skipped. Beyond ``CACHE_FILES`` databases the
    least recently written are removed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        kept = sorted(path.parent.glob("*.hsdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
