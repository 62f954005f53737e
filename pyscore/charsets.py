"""This module contains charset resolution and tolerant byte-to-text decoding for mail.

Mail declares charsets that Python does not know (``x-unknown``), that lie
(``us-ascii`` over UTF-8 bytes) or that name a non-text codec (``base64``,
``rot13``). ``decode`` never raises: it tries the declared charset, then
UTF-8, then windows-1252 with replacement characters, and records a defect
for each fallback it takes.
"""

from __future__ import annotations

import codecs
import functools

from pyscore.message import Defect

# Labels mail writes that mean a superset Python knows under another name
# (WHATWG's encoding table makes the same substitutions).
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
}

# Labels that are single-byte Latin charsets (as Python names them).
_SINGLE_BYTE_LABELS = frozenset({"cp1252", "ascii", "iso8859-15", "latin-1"})

# Text codecs that are not charsets: decoding arbitrary bytes with them is
# slow (punycode is quadratic) or meaningless.
_REFUSED = {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "utf_7", "mbcs", "oem"}


@functools.lru_cache(maxsize=512)
def codec_for(charset: str) -> str | None:
    """The Python codec name for a declared charset, or None when unknown or refused."""
    label = charset.strip().strip("\"'").lower()
    label = label.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if not label or len(label) > 40:
        return None
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def decode(data: bytes, charset: str, defects: list[Defect], where: str) -> str:
    """``data`` as text: the declared charset, else UTF-8, else windows-1252 (never raises)."""
    if not charset:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    codec = codec_for(charset)
    if codec is None:
        defects.append(Defect("unknown_charset", f"{where}: {charset[:60]}"))
        codec = "utf-8"
    elif codec in _SINGLE_BYTE_LABELS and not data.isascii():
        # Mail often labels UTF-8 as latin-1; non-ASCII text that is valid UTF-8 is UTF-8
        # (windows-1252 text almost never is), and reading it as cp1252 gives "fÃ¼r".
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            defects.append(Defect("charset_mismatch", f"{where}: UTF-8 labelled {charset[:60]}"))
            return text
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        defects.append(Defect("charset_mismatch", f"{where}: bytes are not {charset[:60]}"))
    except Exception as exc:  # a codec's own bug (some CJK codecs raise others)
        defects.append(Defect("charset_error", f"{where}: {codec}: {type(exc).__name__}"))
    if codec != "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return data.decode("cp1252", "replace")
