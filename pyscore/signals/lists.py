"""This module contains the loaders of the data files the signals read (pyscore/data/).

Every list is a documented text file in ``pyscore/data`` (see each file's
header for its format and how to extend it). The loaders here return plain
Python structures (sets, dicts, lists), cached once per process; the kernels'
array forms are built from them in ``pyscore.signals.tables``. Per-tenant
additions come from ``TenantConfig.extra_lists``, never from these files.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

# Phrase families: (family, what it catches). The order is the signal order.
FAMILIES: tuple[str, ...] = (
    "urgency",
    "payment",
    "gift_card",
    "credential",
    "invoice",
    "shipping",
    "voicemail",
    "document_share",
    "extortion",
    "callback",
    "advance_fee",
    "generic_greeting",
    "sensitive_data",
)
LANGUAGES: tuple[str, ...] = ("en", "pt", "es", "de", "nl", "fr")

HTML_FAMILIES: tuple[str, ...] = (
    "hidden",
    "tiny_font",
    "white_text",
    "form",
    "password_input",
    "input",
    "script",
    "event_handler",
    "iframe",
    "object_embed",
    "base64_image",
    "meta_refresh",
    "comment",
    "image",
)

ATTACHMENT_CATEGORIES: tuple[str, ...] = (
    "pdf",
    "office",
    "macro_office",
    "image",
    "svg",
    "html",
    "archive",
    "disk_image",
    "executable",
    "script",
    "lnk",
    "ics",
    "onenote",
    "email",
    "text",
)
# Categories that can run code or lead to code when opened.
RISKY_CATEGORIES: frozenset[str] = frozenset(
    {"macro_office", "svg", "html", "archive", "disk_image", "executable", "script", "lnk", "onenote"}
)

MAILER_FAMILIES: tuple[str, ...] = (
    "outlook",
    "apple",
    "thunderbird",
    "mutt_like",
    "webmail",
    "php",
    "script",
    "bulk_platform",
)

# Names of the domain lists that TenantConfig.extra_lists may extend.
DOMAIN_LISTS: tuple[str, ...] = ("free_mail", "shorteners", "free_hosting", "file_sharing")
EXTRA_LIST_NAMES: tuple[str, ...] = (*DOMAIN_LISTS, "suspicious_tlds")


_COMMENT = re.compile(r"\s#")


class DataFileError(ValueError):
    """A data file is malformed; the message names the file and line."""


def _lines(name: str) -> list[tuple[int, str]]:
    path = DATA_DIR / name
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        # "#" starts a comment at the line start or after whitespace; "color:#fff" is data
        line = "" if raw.lstrip().startswith("#") else _COMMENT.split(raw, maxsplit=1)[0].strip()
        if line:
            out.append((number, line))
    return out


def _sections(name: str, allowed: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for number, line in _lines(name):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            if allowed is not None and current not in allowed:
                raise DataFileError(f"{name}:{number}: unknown section [{current}]")
            sections.setdefault(current, [])
        elif current is None:
            raise DataFileError(f"{name}:{number}: entry before the first [section]")
        else:
            sections[current].append(line)
    return sections


@functools.cache
def domain_list(name: str) -> frozenset[str]:
    """One of DOMAIN_LISTS as a set of lower-case domains."""
    if name not in DOMAIN_LISTS:
        raise KeyError(f"unknown domain list {name!r}; known: {DOMAIN_LISTS}")
    return frozenset(line.lower() for _, line in _lines(f"{name}.txt"))


@functools.cache
def suspicious_tlds() -> frozenset[str]:
    return frozenset(line.lower().lstrip(".") for _, line in _lines("suspicious_tlds.txt"))


@functools.cache
def phrases() -> dict[str, tuple[str, ...]]:
    """family -> phrases of all languages (duplicates across languages removed)."""
    merged: dict[str, list[str]] = {f: [] for f in FAMILIES}
    for lang in LANGUAGES:
        for family, items in _sections(f"phrases/{lang}.txt", FAMILIES).items():
            merged[family].extend(items)
    return {f: tuple(dict.fromkeys(p.lower() for p in items)) for f, items in merged.items()}


@functools.cache
def html_tricks() -> dict[str, tuple[str, ...]]:
    sections = _sections("html_tricks.txt", HTML_FAMILIES)
    return {f: tuple(dict.fromkeys(p.lower() for p in sections.get(f, []))) for f in HTML_FAMILIES}


@functools.cache
def mailer_tokens() -> dict[str, tuple[str, ...]]:
    sections = _sections("mailers.txt", MAILER_FAMILIES)
    return {f: tuple(p.lower() for p in sections.get(f, [])) for f in MAILER_FAMILIES}


@functools.cache
def login_words() -> tuple[str, ...]:
    return tuple(line.lower() for _, line in _lines("login_paths.txt"))


@functools.cache
def redirect_markers() -> tuple[str, ...]:
    return tuple(line.lower() for _, line in _lines("redirect_params.txt"))


@functools.cache
def bulk_headers() -> frozenset[str]:
    return frozenset(line.lower() for _, line in _lines("bulk_headers.txt"))


def parse_brands(lines: list[tuple[int, str]] | dict[str, list[str]], where: str) -> dict[str, tuple[str, ...]]:
    """brand key -> legitimate registrable domains, from "key: d1 d2" lines or a dict."""
    items = lines.items() if isinstance(lines, dict) else []
    brands: dict[str, tuple[str, ...]] = {}
    if not isinstance(lines, dict):
        parsed = []
        for number, line in lines:
            key, sep, rest = line.partition(":")
            if not sep:
                raise DataFileError(f"{where}:{number}: expected 'key: domain ...', got {line!r}")
            parsed.append((key, rest.split()))
        items = parsed
    for key, domains in items:
        key = key.strip().lower()
        if not key or not key.isalnum() or not key.isascii():
            raise DataFileError(f"{where}: brand key {key!r} must be lower-case letters/digits")
        if isinstance(domains, str):
            domains = domains.split()
        brands[key] = tuple(d.strip().lower() for d in domains if d.strip())
    return brands


@functools.cache
def brands() -> dict[str, tuple[str, ...]]:
    return parse_brands(_lines("brands.txt"), "brands.txt")


@functools.cache
def attachment_types() -> tuple[dict[str, str], dict[str, str], dict[str, frozenset[str]]]:
    """(extension -> category, detected type -> category, extension -> compatible types)."""
    sections = _sections("attachment_types.txt", ("ext", "type", "compatible"))
    ext_cat, type_cat, compatible = {}, {}, {}
    for section, target in (("ext", ext_cat), ("type", type_cat)):
        for line in sections.get(section, []):
            parts = line.lower().split()
            if len(parts) != 2 or parts[1] not in ATTACHMENT_CATEGORIES:
                raise DataFileError(f"attachment_types.txt [{section}]: bad line {line!r}")
            target[parts[0]] = parts[1]
    for line in sections.get("compatible", []):
        ext, *types = line.lower().split()
        compatible[ext] = frozenset(types)
    return ext_cat, type_cat, compatible


@functools.cache
def confusables() -> dict[int, str]:
    """code point -> the ASCII character it imitates (full-width forms included)."""
    table: dict[int, str] = {}
    for number, line in _lines("confusables.txt"):
        parts = line.split()
        try:
            cp = int(parts[0], 16)
        except (ValueError, IndexError):
            raise DataFileError(f"confusables.txt:{number}: bad code point in {line!r}") from None
        if len(parts) < 2 or len(parts[1]) != 1 or not parts[1].isascii():
            raise DataFileError(f"confusables.txt:{number}: expected one ASCII character in {line!r}")
        table[cp] = parts[1].lower()
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[cp] = chr(cp - 0xFEE0).lower()
    return table


@functools.cache
def tlds() -> frozenset[str]:
    """Every single-label top-level domain of the public suffix list (offline snapshot)."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    suffixes = extractor._get_tld_extractor().tlds()  # bundled snapshot, no network
    return frozenset(s for s in suffixes if "." not in s and s.isascii())


# Character classes for text statistics, one byte of flags per BMP code point.
F_ALPHA, F_UPPER, F_ZERO_WIDTH, F_INVISIBLE, F_CONFUSABLE, F_SPACE, F_BIDI = 1, 2, 4, 8, 16, 32, 64

ZERO_WIDTH = (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E)
INVISIBLE = (
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x200E, 0x200F,
    *range(0x202A, 0x202F), *range(0x2061, 0x2065), *range(0x2066, 0x206A),
    0x3164, 0xFFA0, *range(0xFE00, 0xFE10),
)
BIDI = (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


@functools.cache
def char_tables() -> tuple[np.ndarray, np.ndarray]:
    """(fold, flags) over the BMP: fold maps a code point to its lower-case,
    look-alike-free form (Cyrillic а -> a); flags holds F_* bits."""
    fold = np.arange(0x10000, dtype=np.uint16)
    flags = np.zeros(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        f = 0
        if ch.isalpha():
            f |= F_ALPHA
        if ch.isupper():
            f |= F_UPPER
        if ch.isspace():
            f |= F_SPACE
        low = ch.lower()
        if len(low) == 1 and ord(low) < 0x10000:
            fold[cp] = ord(low)
        flags[cp] = f
    for cp in ZERO_WIDTH:
        flags[cp] = (flags[cp] | F_ZERO_WIDTH) & (0xFF ^ F_SPACE)
    for cp in INVISIBLE:
        flags[cp] = (flags[cp] | F_INVISIBLE) & (0xFF ^ F_SPACE)
    for cp in BIDI:
        flags[cp] |= F_BIDI
    for cp, ascii_char in confusables().items():
        if cp < 0x10000:
            fold[cp] = ord(ascii_char)
            flags[cp] |= F_CONFUSABLE
    fold.setflags(write=False)
    flags.setflags(write=False)
    return fold, flags
