"""This module contains the string functions that both rule evaluators share.

Case-insensitive comparison folds ASCII letters only (``A-Z`` to ``a-z``), the
same folding the core's literal matcher applies to bytes; regexes use Python
``re`` with ``re.ASCII`` (see ``checker.regex_flags``). That is the dialect of the
language: where Hyperscan is installed, compiled rules run the patterns it can
express exactly through it (``fastregex.py``) with the same results, and the rest
through ``re``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def ascii_lower(s: str) -> str:
    """Lower-case ASCII letters only (str.lower would also fold non-ASCII letters)."""
    if s.isascii():
        return s.lower()
    if len(s) < 256:
        return s.translate(_ASCII_LOWER)
    try:  # long text: fold code points as an array (str.translate is slow on long strings)
        points = np.frombuffer(s.encode("utf-32-le"), np.uint32).copy()
    except UnicodeEncodeError:  # lone surrogates
        return s.translate(_ASCII_LOWER)
    points[(points >= 65) & (points <= 90)] += 32
    return points.tobytes().decode("utf-32-le")


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str, insensitive: bool) -> re.Pattern:
    """strings.like / ilike: '*' matches any run of characters (newlines too); the rest is literal."""
    body = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.compile(body, re.DOTALL | re.ASCII | (re.IGNORECASE if insensitive else 0))


def like(s: str, pattern: str, insensitive: bool) -> bool:
    return glob_regex(pattern, insensitive).fullmatch(s) is not None


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# Characters that render like ASCII letters (Cyrillic, Greek, Latin variants) and
# are not folded by NFKC, mapped to the letter they imitate.
_CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i", "ℓ": "l", "ο": "o",
    "α": "a", "ν": "v", "τ": "t", "ρ": "p", "κ": "k", "ι": "i", "А": "A", "В": "B", "Е": "E",
    "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "Ү": "Y",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ǀ": "l", "ӏ": "l", "Ӏ": "I",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)


def replace_confusables(s: str) -> str:
    """NFKC-normalise (full-width and styled letters) and map look-alike letters to ASCII."""
    return unicodedata.normalize("NFKC", s).translate(_CONFUSABLE_TABLE)


@functools.lru_cache(maxsize=4096)
def compiled_regex(pattern: str, insensitive: bool) -> re.Pattern:
    return re.compile(pattern, re.ASCII | (re.IGNORECASE if insensitive else 0))


def regex_test(s: str, patterns: tuple[str, ...], insensitive: bool, whole: bool) -> bool:
    """regex.contains / icontains (search) and regex.match / imatch (the whole string)."""
    for p in patterns:
        rx = compiled_regex(p, insensitive)
        if (rx.fullmatch(s) if whole else rx.search(s)) is not None:
            return True
    return False


def extract(s: str, pattern: str) -> list[str]:
    """regex.iextract: the full text of each non-overlapping match (empty matches dropped)."""
    return [m.group(0) for m in compiled_regex(pattern, True).finditer(s) if m.group(0)]


def string_predicate(name: str, s: str, patterns: tuple[str, ...]) -> bool:
    """strings.contains / starts_with / ends_with / like and their i-variants, any pattern."""
    insensitive = name.startswith("strings.i")
    if insensitive:
        s = ascii_lower(s)
        patterns = tuple(ascii_lower(p) for p in patterns)
    kind = name.split(".", 1)[1].lstrip("i") if insensitive else name.split(".", 1)[1]
    for p in patterns:
        if kind == "contains" and p in s:
            return True
        if kind == "starts_with" and s.startswith(p):
            return True
        if kind == "ends_with" and s.endswith(p):
            return True
        if kind == "like" and like(s, p, False):
            return True
    return False


# --- windowed regex search ------------------------------------------------------------------------
_MAX_WINDOW = 4096


@functools.lru_cache(maxsize=4096)
def regex_window(pattern: str) -> int | None:
    """The longest match of ``pattern`` when it is short and context-free (no anchors, word
    boundaries or lookarounds), so that a match can be searched for in a window; else None."""
    try:
        parsed = re._parser.parse(pattern, re.ASCII)  # type: ignore[attr-defined]
    except re.error:
        return None
    if not _context_free(list(parsed)):
        return None
    width = parsed.getwidth()[1]
    return width if width <= _MAX_WINDOW else None


def _context_free(items) -> bool:
    c = re._constants  # type: ignore[attr-defined]
    for op, arg in items:
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF, c.GROUPREF_EXISTS):
            return False
        if op is c.SUBPATTERN and not _context_free(list(arg[-1])):
            return False
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)) and not _context_free(list(arg[2])):
            return False
        if op is c.BRANCH and not all(_context_free(list(b)) for b in arg[1]):
            return False
        if op is getattr(c, "ATOMIC_GROUP", None) and not _context_free(list(arg)):
            return False
    return True


def windowed_search(rx: re.Pattern, s: str, width: int, literals: tuple[str, ...], folded: str) -> bool:
    """``rx.search(s)`` for a context-free regex of match length <= ``width`` every match of
    which contains one of ``literals`` (ASCII case-folded; ``folded`` is ``ascii_lower(s)``):
    only windows around the literals' occurrences are searched. A match holding the
    occurrence at q lies in [q + len - width, q + width)."""
    spans = []
    for lit in literals:
        q = folded.find(lit)
        while q >= 0:
            spans.append((max(0, q + len(lit) - width), q + width))
            q = folded.find(lit, q + 1)
    if not spans:
        return False
    spans.sort()
    start, end = spans[0]
    for a, b in spans[1:]:
        if a > end:
            if rx.search(s[start:end]):
                return True
            start, end = a, b
        else:
            end = max(end, b)
    return rx.search(s[start:end]) is not None
