"""This module contains the MIME parser: raw RFC 5322 bytes to a Message record.

``parse`` never raises on any byte string. It walks the message with its own
splitter over one bytes buffer (no per-line feed parser, no copies of parts
until a leaf is decoded). It decodes everything eagerly (addresses, dates,
bodies, HTML, links, attachments) and is still faster per message than the
standard library's ``email.message_from_bytes(policy=default)``, which only
splits the tree (see ``bench/bench_parse.py``). Every problem it meets is a
``Defect`` with a stable ``kind``:

===============================  ==============================================
kind                             meaning
===============================  ==============================================
``input_truncated``              the message was larger than ``max_size``
``no_header_body_separator``     a non-header line ended the header block
``too_many_headers``             header fields past ``max_headers`` dropped
``header_too_long``              a header value cut at ``max_header_chars``
``non_utf8_header``              header bytes that are not UTF-8 (read as cp1252)
``bad_encoded_word``             an RFC 2047 word that does not decode
``unknown_charset``              a charset Python does not know (read as UTF-8)
``charset_mismatch``             bytes not valid in the declared charset
``charset_error``                a codec failed in another way
``bad_address``                  an address list item without an address
``unquoted_display_name``        a display name with a bare comma: Doe, John <j@x>
``too_many_addresses``           addresses past ``max_recipients`` dropped
``bad_date`` / ``bad_received_date``  a date that does not parse
``missing_from`` / ``missing_date`` / ``missing_message_id``  header absent
``too_many_hops``                Received headers past ``max_hops`` dropped
``multiple_from``                more than one From mailbox
``bad_content_type``             a Content-Type without type/subtype
``multipart_without_boundary``   multipart with no boundary parameter
``boundary_not_found``           no delimiter line of the declared boundary
``missing_closing_boundary``     the closing delimiter is absent
``too_deep``                     multipart nesting past ``max_depth``
``too_many_parts``               parts past ``max_parts`` dropped
``nested_message_too_deep``      message/rfc822 past ``max_nested_depth``
``bad_base64``                   invalid characters or padding in base64
``bad_quoted_printable``         a ``=`` not followed by two hex digits
``unknown_transfer_encoding``    a Content-Transfer-Encoding we do not know
``text_truncated``               body text cut at ``max_text_chars``
``too_many_links``               links past ``max_links`` dropped
``bad_archive``                  an attachment archive that does not read
``too_many_archive_members``     archive members past the limit not listed
``internal_error``               a bug in this parser, caught (should be 0)
===============================  ==============================================

Verdict headers added by other filters and the archive-conversion headers
of the Enron release are removed before any field is read (the Enron
display name in ``X-From`` is restored first); their names are kept in
``Message.stripped_headers``.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat

import pybase64

from pyscore import charsets, domains, filetypes, mime_headers, mime_html
from pyscore.domains import make_url
from pyscore.message import (
    Attachment,
    Body,
    Defect,
    Headers,
    Link,
    ListHeaders,
    Mailbox,
    Message,
    Recipients,
    Subject,
)
from pyscore.mime_headers import (
    decode_words,
    enron_display_name,
    mailbox_list,
    make_address,
    params_of,
    parse_auth,
    parse_date,
    parse_hop,
    parse_msg_ids,
)

__all__ = ["ARCHIVE_HEADERS", "DEFAULT_STRIP_HEADERS", "VERDICT_HEADERS", "ParseLimits", "clear_caches", "parse"]


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Hard limits: past each the parser truncates and records a defect."""

    max_size: int = 32 << 20  # raw bytes read
    max_headers: int = 1000  # header fields per header block
    max_header_chars: int = 64 << 10  # one header value
    max_parts: int = 500  # MIME parts, nested messages included
    max_depth: int = 20  # multipart nesting
    max_nested_depth: int = 3  # message/rfc822 parsed into Attachment.nested
    max_text_chars: int = 2_000_000  # each of body.text and body.html_raw
    max_links: int = 2000
    max_recipients: int = 1000  # mailboxes per address header
    max_hops: int = 100
    max_archive_members: int = 1000
    max_archive_depth: int = 2
    max_archive_member_bytes: int = 8 << 20  # inflated to look inside a nested archive

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ParseLimits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = ParseLimits()

# Verdicts of other filters: they would leak labels into every feature.
# A trailing "*" matches any suffix; matching ignores case.
VERDICT_HEADERS: tuple[str, ...] = (
    "x-spam*",
    "x-ham-report",
    "x-ms-exchange-*",
    "x-forefront-antispam-report*",
    "x-microsoft-antispam*",
    "x-ms-office365-filtering-*",
    "x-eopattributedmessage",
    "x-eoptenantattributedmessage",
    "x-amavis*",
    "x-virus*",
    "x-proofpoint-*",
    "x-mimecast-spam*",
    "x-barracuda*",
    "x-ironport-*",
    "x-sophos-*",
    "x-mailscanner*",
    "x-pmx-*",
    "x-cloudmark*",
    "x-tm-as-*",
    "x-tmase-*",
    "x-bogosity",
    "x-dspam*",
    "x-rspamd*",
    "x-quarantine*",
    "x-spf-*",
    "x-ovh-spam*",
    "x-vade-*",
    "x-cmae-*",
    "x-policysmart*",
)
# Added by the conversion of the Enron release; they name the source, not the mail.
ARCHIVE_HEADERS: tuple[str, ...] = ("x-folder", "x-origin", "x-filename", "x-from", "x-to", "x-cc", "x-bcc")
DEFAULT_STRIP_HEADERS: tuple[str, ...] = VERDICT_HEADERS + ARCHIVE_HEADERS


class _Stripper:
    """Decides whether a header name is stripped; decisions cached per name as written."""

    __slots__ = ("cache", "_match")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        alternatives = [re.escape(p[:-1].lower()) + ".*" if p.endswith("*") else re.escape(p.lower())
                        for p in patterns]
        self._match = re.compile("(?:" + "|".join(alternatives) + r")\Z").match
        # name as written -> its lower-case form when kept, "" when stripped
        self.cache: dict[str, str] = {}

    def classify(self, name: str) -> str:
        lower = name.lower()
        if len(self.cache) > 4096:
            self.cache.clear()
        verdict = self.cache[name] = "" if self._match(lower) else lower
        return verdict


@functools.lru_cache(maxsize=32)
def _strip_matcher(patterns: tuple[str, ...]) -> _Stripper | None:
    return _Stripper(patterns) if patterns else None


def clear_caches() -> None:
    """Empty the lookup caches behind the parser (hosts, URLs, addresses, address
    lists, auth results), so that a benchmark measures messages seen for the first time."""
    for cached in (domains.make_domain, domains.make_url, mime_headers.make_address, mime_headers.make_mailbox,
                   mime_headers._cached_mailbox_list, mime_headers._auth_check, mime_headers._cached_params,
                   mime_headers._hop_date):
        cached.cache_clear()


def parse(raw: bytes, *, limits: ParseLimits | None = None,
          strip_headers: Sequence[str] = DEFAULT_STRIP_HEADERS) -> Message:
    """Parse one RFC 5322 message. Never raises on any bytes; problems go to ``defects``.

    ``strip_headers``: header names removed before anything reads them (a
    trailing ``*`` matches any suffix); ``()`` keeps every header.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse() takes bytes, not {type(raw).__name__}")
    limits = DEFAULT_LIMITS if limits is None else limits
    matcher = _strip_matcher(tuple(strip_headers))
    return _parse(bytes(raw), limits, matcher, 0, _Budget(limits.max_parts))


class _Budget:
    """Counters shared by a message and the messages nested in it."""

    __slots__ = ("parts",)

    def __init__(self, parts: int) -> None:
        self.parts = parts


def _parse(raw: bytes, limits: ParseLimits, matcher, nested_depth: int, budget: _Budget) -> Message:
    try:
        return _MessageParser(limits, matcher, nested_depth, budget).run(raw)
    except RecursionError:
        return Message(defects=(Defect("too_deep", "recursion limit"),), size=len(raw))
    except Exception as exc:  # noqa: BLE001 -- the contract is "never raises"; tests assert 0 of these
        return Message(defects=(Defect("internal_error", f"{type(exc).__name__}: {exc}"[:300]),), size=len(raw))


# ---------------------------------------------------------------- header blocks

_BLANK_LINE = re.compile(rb"\n\r?\n")
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)\r?")
_NON_WS = re.compile(rb"\S")
# A line break and the header name after it, up to the value: what ``_fast_fields`` splits on.
# It starts with a literal "\n", so the engine skips from line to line at C speed.
_FIELD_START = re.compile(r"\n([!-9;-~]+)[ \t]*:[ \t]*")
_NOT_FOLDED = re.compile(r"\n(?![ \t])")  # a line break inside a value not followed by white space


def _fast_fields(head: bytes, limits: ParseLimits,
                 dropped: dict[str, str] | None = None) -> list[tuple[str, str]] | None:
    """The fields of a well-formed UTF-8 header block in a few C-speed passes, else None.

    ``dropped`` maps names as written to "" for headers whose values nothing reads
    (stripped headers but X-From): their folded values are checked, not unfolded.

    The block is split at each line break followed by ``Name:``. A line that
    starts neither a field nor a folded continuation stays inside a value,
    where ``_NOT_FOLDED`` finds it. CRLF text is split as it is: a value's
    own line breaks are removed and its trailing "\r" is white space.
    """
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) > limits.max_header_chars and "\r" in text:
        text = text.replace("\r\n", "\n")  # the length limit is on values without CRs
    parts = _FIELD_START.split("\n" + text[:-1] if text.endswith("\n") else "\n" + text)
    if parts[0] or len(parts) >> 1 > limits.max_headers:
        return None
    values = parts[2::2]
    if len(text) > limits.max_header_chars and max(map(len, values)) > limits.max_header_chars:
        return None
    # Only the values that hold a line break are checked and unfolded; map() and compress()
    # keep the pass over every field in C.
    names = parts[1::2]
    stripped = list(map(str.rstrip, values))
    for i in compress(range(len(values)), map(str.__contains__, values, repeat("\n"))):
        value = values[i]
        if _NOT_FOLDED.search(value):
            return None  # a line that is not a header (or a blank line)
        if dropped is not None and dropped.get(names[i]) == "" and names[i].lower() != "x-from":
            continue  # a stripped header: only its name is kept (the long antispam reports)
        stripped[i] = value.replace("\r\n", "").replace("\n", "").rstrip()
    return list(zip(names, stripped, strict=True))


def _decode_header_bytes(value: bytes, defects: list[Defect]) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        if not any(d.kind == "non_utf8_header" for d in defects):
            defects.append(Defect("non_utf8_header", repr(value[:40])))
        return value.decode("cp1252", "replace")


def _parse_head(buf: bytes, start: int, end: int, limits: ParseLimits, defects: list[Defect],
                dropped: dict[str, str] | None = None) -> tuple[list[tuple[str, str]], int]:
    """Header fields of the entity at ``buf[start:end]`` and where its body starts
    (``dropped``: see ``_fast_fields``)."""
    if buf.startswith(b"\n", start):
        return [], start + 1
    if buf.startswith(b"\r\n", start):
        return [], start + 2
    m = _BLANK_LINE.search(buf, start, end)
    head_end, body_start = (m.start() + 1, m.end()) if m else (end, end)
    fast = _fast_fields(buf[start:head_end], limits, dropped)
    if fast is not None:
        return fast, body_start
    # The careful path: byte offsets, 8-bit text, limits, lines that are not headers.
    fields: list[tuple[str, str]] = []
    pos = start
    max_headers, max_chars = limits.max_headers, limits.max_header_chars
    match = _FIELD.match
    while pos < head_end:
        fm = match(buf, pos, head_end)
        if fm is None:
            if _NON_WS.search(buf, pos, head_end):
                # A line that is not a header: the header block ends here (as in the stdlib).
                defects.append(Defect("no_header_body_separator", repr(buf[pos : pos + 60])))
                return fields, pos
            break
        pos = fm.end() + 1  # past the line break ("\r" stays in the next gap check)
        if buf[pos - 1 : pos] == b"\r":
            pos += 1
        if len(fields) >= max_headers:
            defects.append(Defect("too_many_headers", f"kept the first {max_headers}"))
            return fields, body_start
        name, value = fm.group(1, 2)
        if len(value) > max_chars:
            defects.append(Defect("header_too_long", name[:60].decode("ascii", "replace")))
            value = value[:max_chars]
        if b"\n" in value:  # unfold: every line break in a value precedes white space
            value = value.replace(b"\r\n", b"").replace(b"\n", b"")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_header_bytes(value, defects)
        fields.append((name.decode("ascii"), text.rstrip()))
    return fields, body_start


def _index(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in fields:
        out.setdefault(name.lower(), []).append(value)
    return out


def _first(index: dict[str, list[str]], name: str) -> str:
    values = index.get(name)
    return values[0] if values else ""


# ---------------------------------------------------------------- transfer decoding

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_KEEP = _B64_ALPHABET + b"=\r\n\t "
_SIMD_BASE64_MIN = 4096  # below, the call costs more than the decoding


def _padding_only_at_end(data: bytes) -> bool:
    """No base64 data after the first '=' (where binascii and pybase64 would part ways)."""
    pad = data.find(b"=")
    return pad < 0 or not data[pad:].translate(None, b"=\r\n\t ")

_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_BAD_QP = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*\r?\n|[ \t]*\Z)")
_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} [^\r\n]*\r?\n", re.M)
_UU_HEAD = re.compile(r"begin [0-7]{3,4} ([^\r\n]{1,255})\r?\n")


def _line_starts_of(text: str, word: str):
    """Offsets where ``word`` starts a line, found with str.find."""
    pos = text.find(word)
    while pos >= 0:
        if pos == 0 or text[pos - 1] == "\n":
            yield pos
        pos = text.find(word, pos + len(word))



def _decode_base64(data: bytes, defects: list[Defect], where: str) -> bytes:
    if data.translate(None, _B64_KEEP):
        defects.append(Defect("bad_base64", f"{where}: characters outside base64"))
    if len(data) >= _SIMD_BASE64_MIN and _padding_only_at_end(data):
        try:  # the same bytes as binascii where padding is only at the end (tested)
            return pybase64.b64decode(data, validate=False)
        except binascii.Error:
            pass  # bad padding: binascii's path below records it
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        clean = data.translate(None, _NOT_B64)
        clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean + b"=" * (-len(clean) % 4)
        defects.append(Defect("bad_base64", f"{where}: bad padding"))
        try:
            return binascii.a2b_base64(clean)
        except binascii.Error:
            return b""


def _decode_uu(data: bytes) -> bytes:
    out = bytearray()
    m = _UU_BEGIN.search(data)
    for line in data[m.end() if m else 0 :].splitlines():
        if line.strip() in (b"end", b"`", b""):
            if line.strip() == b"end":
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines badly; decode the declared length only.
            nbytes = (line[0] - 32) & 63
            try:
                out += binascii.a2b_uu(line[: ((nbytes + 2) // 3) * 4 + 1])
            except binascii.Error:
                continue
    return bytes(out)


def _decode_transfer(data: bytes, cte: str, defects: list[Defect], where: str) -> bytes:
    if not cte or cte in ("7bit", "8bit", "binary"):
        return data
    if cte == "base64":
        return _decode_base64(data, defects, where)
    if cte == "quoted-printable":
        if _BAD_QP.search(data):
            defects.append(Defect("bad_quoted_printable", where))
        return binascii.a2b_qp(data)
    if cte in ("x-uuencode", "uuencode", "x-uue"):
        return _decode_uu(data)
    defects.append(Defect("unknown_transfer_encoding", f"{where}: {cte[:40]}"))
    return data


# ---------------------------------------------------------------- the walk

_BODY_TYPES = ("text/plain", "text/html")
_NESTED_TYPES = ("message/rfc822", "message/global")


class _MessageParser:
    """Walks one message's MIME tree, collecting body text, HTML and attachments."""

    def __init__(self, limits: ParseLimits, matcher, nested_depth: int, budget: _Budget) -> None:
        self.limits = limits
        self.matcher = matcher
        self.nested_depth = nested_depth
        self.budget = budget
        self.defects: list[Defect] = []
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.text_chars = 0
        self.html_chars = 0
        self.attachments: list[Attachment] = []

    def run(self, raw: bytes) -> Message:
        size = len(raw)
        limits = self.limits
        if size > limits.max_size:
            self.defects.append(Defect("input_truncated", f"{size} bytes, read {limits.max_size}"))
            raw = raw[: limits.max_size]
        start = 0
        if raw.startswith(b"From "):  # an mbox separator line left on the message
            nl = raw.find(b"\n")
            start = len(raw) if nl < 0 else nl + 1
        # Stripped names seen before: their values are dropped unread, so not unfolded.
        dropped = self.matcher.cache if self.matcher is not None else None
        fields, body_start = _parse_head(raw, start, len(raw), limits, self.defects, dropped)
        kept, encoded, stripped, x_from, index = self._strip(fields)
        self._walk(index, raw, body_start, len(raw), 0)
        return self._message(kept, encoded, index, stripped, x_from, size)

    def _strip(self, fields):
        """(kept fields, positions in them of values with encoded words, stripped names,
        the X-From value, index of kept fields by lower name)."""
        matcher = self.matcher
        cache = matcher.cache if matcher is not None else {}
        kept, encoded, stripped = [], [], []
        index: dict[str, list[str]] = {}
        x_from = ""
        for field in fields:
            name, value = field
            lower = cache.get(name)
            if lower is None:
                lower = matcher.classify(name) if matcher is not None else name.lower()
            if not lower:
                stripped.append(name)
                if not x_from and name.lower() == "x-from":
                    x_from = value  # read before it goes: Enron display names live here
                continue
            if "=?" in value:
                encoded.append(len(kept))
            kept.append(field)
            values = index.get(lower)
            if values is None:
                index[lower] = [value]
            else:
                values.append(value)
        if not x_from and "x-from" in index:
            x_from = index["x-from"][0]  # kept when stripping is off
        return kept, encoded, tuple(stripped), x_from, index

    # -- tree

    def _walk(self, index: dict[str, list[str]], buf: bytes, start: int, end: int, depth: int) -> None:
        self.budget.parts -= 1
        ctype_raw = _first(index, "content-type")
        ctype, params = params_of(ctype_raw) if ctype_raw else ("text/plain", {})
        if "/" not in ctype:
            if ctype_raw.strip():
                self.defects.append(Defect("bad_content_type", ctype_raw[:60]))
            ctype = "text/plain"
        if ctype.startswith("multipart/"):
            boundary = params.get("boundary", "")
            if not boundary:
                self.defects.append(Defect("multipart_without_boundary", ctype))
            elif depth >= self.limits.max_depth:
                self.defects.append(Defect("too_deep", f"multipart nesting past {self.limits.max_depth}"))
                return
            elif self._walk_multipart(buf, start, end, boundary, depth):
                return
            ctype, params = "text/plain", {}  # no usable parts: read the body as text
        self._leaf(index, ctype, params, buf, start, end)

    def _walk_multipart(self, buf: bytes, start: int, end: int, boundary: str, depth: int) -> bool:
        spans = self._split(buf, start, end, boundary.encode("utf-8", "replace"))
        if spans is None:
            return False
        for s, e in spans:
            if self.budget.parts <= 0:
                self.defects.append(Defect("too_many_parts", f"stopped at {self.limits.max_parts}"))
                break
            fields, body_start = _parse_head(buf, s, e, self.limits, self.defects)
            self._walk(_index(fields), buf, body_start, e, depth + 1)
        return True

    def _split(self, buf: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]] | None:
        """Spans of the parts between delimiter lines, or None when there is no delimiter."""
        delim = b"--" + boundary
        spans: list[tuple[int, int]] = []
        part_start = -1
        closed = False
        pos = buf.find(delim, start, end)
        while pos >= 0:
            if pos == start or buf[pos - 1] == 0x0A:
                after = pos + len(delim)
                closing = buf.startswith(b"--", after)
                nl = buf.find(b"\n", after, end)
                line_end = end if nl < 0 else nl + 1
                rest = buf[after + (2 if closing else 0) : min(line_end, after + 200)]
                if not rest.strip():
                    if part_start >= 0:
                        spans.append((part_start, _line_start(buf, pos, part_start)))
                    if closing:
                        closed = True
                        break
                    part_start = line_end
                    if len(spans) > self.limits.max_parts:
                        break
            pos = buf.find(delim, pos + len(delim), end)
        if part_start < 0:
            self.defects.append(Defect("boundary_not_found", boundary[:70].decode("utf-8", "replace")))
            return None
        if not closed:
            if len(spans) <= self.limits.max_parts:
                self.defects.append(Defect("missing_closing_boundary", boundary[:70].decode("utf-8", "replace")))
            spans.append((part_start, end))
        return spans

    # -- leaves

    def _leaf(self, index, ctype: str, params: dict[str, str], buf: bytes, start: int, end: int) -> None:
        cte = _first(index, "content-transfer-encoding").strip().lower()
        disposition, dparams = params_of(_first(index, "content-disposition"))
        file_name = dparams.get("filename") or params.get("name") or ""
        if "=?" in file_name:
            file_name = decode_words(file_name, self.defects)
        is_attachment = disposition == "attachment" or (bool(file_name) and disposition != "inline")
        if ctype in _BODY_TYPES and not is_attachment:
            self._body_text(ctype, params.get("charset", ""), cte, buf, start, end)
            return
        data = _decode_transfer(buf[start:end], cte, self.defects, ctype)
        self._attachment(ctype, file_name.strip(), data)

    def _body_text(self, ctype: str, charset: str, cte: str, buf: bytes, start: int, end: int) -> None:
        is_html = ctype == "text/html"
        used = self.html_chars if is_html else self.text_chars
        room = self.limits.max_text_chars - used
        if room <= 0:
            self.defects.append(Defect("text_truncated", f"{ctype} past {self.limits.max_text_chars} chars"))
            return
        # Decode at most what can fit (x4 for multi-byte text and transfer encodings).
        end = min(end, start + room * 4 + 4096)
        data = _decode_transfer(buf[start:end], cte, self.defects, ctype)
        text = charsets.decode(data, charset, self.defects, ctype)
        if len(text) > room:
            self.defects.append(Defect("text_truncated", f"{ctype} past {self.limits.max_text_chars} chars"))
            text = text[:room]
        if is_html:
            self.htmls.append(text)
            self.html_chars += len(text)
        else:
            if "begin " in text:
                text = self._uuencoded_files(text)
            self.texts.append(text)
            self.text_chars += len(text)

    def _uuencoded_files(self, text: str) -> str:
        """Text with its uuencoded files (``begin 644 name`` ... ``end``) moved to attachments."""
        out, pos = [], 0
        for start in _line_starts_of(text, "begin "):
            if start < pos:
                continue
            head = _UU_HEAD.match(text, start)
            if head is None:
                continue
            stop = text.find("\nend", head.end())
            stop = len(text) if stop < 0 else stop
            if self.budget.parts <= 0:
                self.defects.append(Defect("too_many_parts", f"stopped at {self.limits.max_parts}"))
                break
            self.budget.parts -= 1
            block = text[head.end() : stop].encode("latin-1", "replace")
            self._attachment("application/x-uuencode", head.group(1).strip(), _decode_uu(block))
            out.append(text[pos:start])
            pos = text.find("\n", stop + 1)
            pos = len(text) if pos < 0 else pos + 1
        out.append(text[pos:])
        return "".join(out)

    def _attachment(self, ctype: str, file_name: str, data: bytes) -> None:
        limits = self.limits
        file_type = filetypes.detect(data)
        nested = None
        members: tuple[str, ...] = ()
        encrypted = False
        if ctype in _NESTED_TYPES or (ctype == "application/octet-stream" and file_type == "eml"):
            if self.nested_depth < limits.max_nested_depth:
                nested = _parse(data, limits, self.matcher, self.nested_depth + 1, self.budget)
            else:
                self.defects.append(Defect("nested_message_too_deep", f"past {limits.max_nested_depth}"))
            file_type = file_type if file_type not in ("txt", "unknown", "") else "eml"
        else:
            info = filetypes.inspect(
                data, file_type,
                max_members=limits.max_archive_members,
                max_depth=limits.max_archive_depth,
                max_member_bytes=limits.max_archive_member_bytes,
            )
            members, encrypted = tuple(info.members), info.encrypted
            self.defects.extend(Defect(kind, detail) for kind, detail in info.defects)
        dot = file_name.rfind(".")
        self.attachments.append(Attachment(
            file_name=file_name,
            file_extension=file_name[dot + 1 :].strip().lower() if dot >= 0 else "",
            content_type=ctype,
            file_type=file_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            archive_members=members,
            encrypted=encrypted,
            nested=nested,
        ))

    # -- the record

    def _message(self, fields, encoded, index, stripped, x_from: str, size: int) -> Message:
        headers = self._headers(fields, encoded, index)
        sender = headers.from_
        if x_from and not sender.display_name:
            name = enron_display_name(x_from)
            if name:
                sender = Mailbox(email=sender.email, display_name=name)
        subject_raw = _first(index, "subject")
        body, anchors = self._body()
        return Message(
            sender=sender,
            headers=headers,
            recipients=Recipients(
                to=self._mailboxes(index, "to"),
                cc=self._mailboxes(index, "cc"),
                bcc=self._mailboxes(index, "bcc"),
            ),
            subject=Subject(subject=decode_words(subject_raw, self.defects).strip(), raw=subject_raw),
            body=body,
            links=self._links(body, anchors),
            attachments=tuple(self.attachments),
            defects=tuple(self.defects),
            stripped_headers=stripped,
            size=size,
        )

    def _mailboxes(self, index, name: str) -> tuple[Mailbox, ...]:
        values = index.get(name)
        if not values:
            return ()
        value = values[0] if len(values) == 1 else ", ".join(values)
        boxes, defects = mailbox_list(value, self.limits.max_recipients)
        if defects:
            self.defects.extend(defects)
        return boxes

    def _headers(self, fields, encoded, index) -> Headers:
        defects = self.defects
        from_list = self._mailboxes(index, "from")
        if not from_list:
            defects.append(Defect("missing_from"))
        elif len(from_list) > 1:
            defects.append(Defect("multiple_from", f"{len(from_list)} mailboxes"))
        sender_list = self._mailboxes(index, "sender")
        date_raw = _first(index, "date")
        if not date_raw:
            defects.append(Defect("missing_date"))
        message_id = _first(index, "message-id").strip()
        if not message_id:
            defects.append(Defect("missing_message_id"))
        received = index.get("received", ())
        if len(received) > self.limits.max_hops:
            defects.append(Defect("too_many_hops", f"kept the first {self.limits.max_hops}"))
        return Headers(
            from_=from_list[0] if from_list else Mailbox(),
            reply_to=self._mailboxes(index, "reply-to"),
            return_path=make_address(_first(index, "return-path")),
            sender=sender_list[0] if sender_list else Mailbox(),
            message_id=message_id,
            in_reply_to=_first(index, "in-reply-to").strip(),
            references=parse_msg_ids(_first(index, "references")),
            date=parse_date(date_raw, defects) if date_raw else None,
            date_raw=date_raw,
            mailer=(_first(index, "x-mailer") or _first(index, "user-agent")).strip(),
            list=ListHeaders(
                id=_first(index, "list-id").strip(),
                unsubscribe=_first(index, "list-unsubscribe").strip(),
                post=_first(index, "list-post").strip(),
                precedence=_first(index, "precedence").strip().lower(),
            ),
            auth_summary=parse_auth(index.get("authentication-results", []), index.get("received-spf", [])),
            hops=tuple(parse_hop(i, v, defects) for i, v in enumerate(received[: self.limits.max_hops])),
            fields=self._decoded(fields, encoded),
        )

    def _decoded(self, fields: list[tuple[str, str]], encoded: list[int]) -> tuple[tuple[str, str], ...]:
        """The fields with the encoded words of the values at ``encoded`` decoded (``fields`` is reused)."""
        for i in encoded:
            name, value = fields[i]
            fields[i] = (name, decode_words(value, self.defects))
        return tuple(fields)

    def _body(self) -> tuple[Body, list[tuple[str, str]]]:
        text = "\n".join(self.texts)
        html_raw = "\n".join(self.htmls)
        html_text, anchors = mime_html.render(html_raw, self.limits.max_links + 1) if html_raw else ("", [])
        thread_source = text if text.strip() else html_text
        body = Body(
            text=text,
            html_raw=html_raw,
            html_text=html_text,
            current_thread_text=mime_html.current_thread(thread_source),
        )
        return body, anchors

    def _links(self, body: Body, anchors: list[tuple[str, str]]) -> tuple[Link, ...]:
        limit = self.limits.max_links
        links = [Link(href_url=make_url(href), display_text=display, source="html") for href, display in anchors]
        hrefs = {href for href, _ in anchors}
        texts = [body.text]
        if body.html_text:
            texts.append(body.html_text)
        for i, text in enumerate(texts):
            if len(links) > limit:
                break
            for url in mime_html.bare_urls(text, limit + 1 - len(links)):
                if i == 1 and url in hrefs:
                    continue  # the visible text of an anchor that is already listed
                links.append(Link(href_url=make_url(url), display_text=url, source="text"))
        if len(links) > limit:
            self.defects.append(Defect("too_many_links", f"kept the first {limit}"))
            del links[limit:]
        return tuple(links)


def _line_start(buf: bytes, delim_pos: int, floor: int) -> int:
    """End of a part: the delimiter's line start, without the line break before it."""
    end = delim_pos
    if end > floor and buf[end - 1] == 0x0A:
        end -= 1
        if end > floor and buf[end - 1] == 0x0D:
            end -= 1
    return end
