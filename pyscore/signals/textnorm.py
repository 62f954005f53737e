"""This module contains the text normal forms that phrase and pattern matching use.

Written once in plain Python: it is the specification that the Numba kernels
(``_kernels.normalize_into``, ``_kernels.ac_scan_html``) reproduce, and
it normalises the phrase lists themselves.

``normalize_text``: the first ``cap`` UTF-8 bytes (a character cut by the cap
is dropped); zero-width and invisible characters removed; every run of
whitespace one space (leading whitespace dropped); every other character
through the fold table (lower case, look-alikes to Latin); UTF-8 out.

``normalize_html``: ASCII letters lower-cased and ASCII whitespace removed,
bytes otherwise unchanged, so ``display : none`` and ``display:none`` match.
"""

from __future__ import annotations

from pyscore.signals.lists import F_INVISIBLE, F_SPACE, F_ZERO_WIDTH, char_tables

TEXT_CAP = 65536  # bytes of a subject or body scanned
HTML_CAP = 131072  # bytes of raw HTML scanned

_HTML_SPACE = frozenset(b"\t\n\x0b\x0c\r ")


def capped(text: str, cap: int) -> str:
    """The text of the first ``cap`` UTF-8 bytes, a character cut by the cap dropped."""
    raw = text.encode("utf-8", "replace")
    return raw[:cap].decode("utf-8", "ignore") if len(raw) > cap else text.encode("utf-8", "replace").decode("utf-8")


def normalize_text(text: str, cap: int = TEXT_CAP) -> bytes:
    fold, flags = char_tables()
    out = []
    last_space = True
    for ch in capped(text, cap):
        cp = ord(ch)
        fl = int(flags[cp]) if cp < 0x10000 else 0
        if fl & (F_ZERO_WIDTH | F_INVISIBLE):
            continue
        if fl & F_SPACE:
            if not last_space:
                out.append(" ")
                last_space = True
            continue
        out.append(chr(int(fold[cp])) if cp < 0x10000 else ch)
        last_space = False
    return "".join(out).encode("utf-8")


def normalize_html(raw: bytes, cap: int = HTML_CAP) -> bytes:
    return bytes(b + 32 if 65 <= b <= 90 else b for b in raw[:cap] if b not in _HTML_SPACE)


def normalize_phrase(phrase: str) -> bytes:
    """A phrase list entry in the same normal form as the text it is matched in."""
    return normalize_text(phrase.strip())
