"""Oracle tests of the parser's fast paths: each must give exactly what the plain way gives."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pyscore import domains, mime_html

# Texts made of the pieces the thread marks are built from, so that near misses are common.
_MARK_PIECES = st.sampled_from([
    "-", "--", "-----", "_", "__________", " ", "\t", "\n", ">", "*", "x", "Original", "original",
    " Message", " message", "Forwarded", " by", " message", "byx", "From: a", "Sent:", "Date:",
    "Begin forwarded message:", "riginal ", "Forwarded ",
])
_MARK_TEXT = st.lists(_MARK_PIECES, max_size=40).map("".join)
# The marks as first written: plain regex searches over the whole text.
_PLAIN_MARKS = [re.compile(p) for p in (
    r"-{2,}[ \t]*[Oo]riginal [Mm]essage[ \t]*-{2,}",
    r"-{3,}[ \t]*Forwarded (?:[Mm]essage|by)\b",
    r"Begin forwarded message:",
    r"From:\*?[ \t][^\n]{0,300}\n[ \t>]*\*?(?:Sent|Date):",
    r"_{10,}[ \t]*\n[ \t>]*\*?From:",
)]


@settings(max_examples=400, deadline=None)
@given(_MARK_TEXT, st.integers(0, 400), st.integers(0, 400))
def test_thread_mark_search_matches_plain_regex_search(text, pos, cut):
    cut = min(cut, len(text))
    for (mark, literal, one_line), plain_mark in zip(mime_html._MARKS, _PLAIN_MARKS, strict=True):
        fast = mime_html._search_mark(mark, literal, one_line, text, pos, cut)
        plain = plain_mark.search(text, pos, cut)
        assert (fast and fast.span()) == (plain and plain.span()), (mark.pattern, text, pos, cut)


def test_thread_marks_found_on_later_lines():
    text = "a prose line about the original message\n---- Original Message ----\nFrom: x\n"
    mark, literal, one_line = mime_html._MARKS[0]
    assert mime_html._search_mark(mark, literal, one_line, text, 0, len(text)).start() == text.index("----")
    assert mime_html.current_thread(text) == "a prose line about the original message"


# ---------------------------------------------------------------- domains: plain hosts vs the general path

_HOSTS = st.lists(st.sampled_from(["a", "www", "city", "co", "uk", "com", "jp", "kawasaki", "ck", "xn--bcher-kva",
                                   "b\u00fccher", "1", "255", "-x", "x-", "_a", "", "A", "a" * 64, "github", "io"]),
                  min_size=1, max_size=5).map(".".join)


@settings(max_examples=400, deadline=None)
@given(_HOSTS)
def test_plain_host_path_matches_tldextract_path(host):
    fast = domains.make_domain.__wrapped__(host)
    original = domains._PLAIN_HOST
    try:
        domains._PLAIN_HOST = re.compile(r"(?!)")  # every host takes the general path through tldextract
        general = domains.make_domain.__wrapped__(host)
    finally:
        domains._PLAIN_HOST = original
    assert fast == general


@given(st.text(alphabet="0123456789.:[]abcdef%", max_size=20))
def test_ip_precheck_matches_ipaddress(host):
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
        expected = True
    except ValueError:
        expected = False
    assert domains._is_ip(host) == expected


_URL_TEXT = st.lists(st.sampled_from([
    "http://", "https://", "HTTP://", "www.", "a", "B", "xn--bcher-kva", ".", "-", "_", ":", ":80", "@", "[", "]",
    "/", "?", "#", "=", "&", "%20", " ", "\t", "\n", "\u00fc", "com", "co.uk", "::1", "mailto:", "//",
]), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(_URL_TEXT)
def test_plain_url_path_matches_urlsplit_path(text):
    fast = domains.make_url.__wrapped__(text)
    original = domains._PLAIN_URL
    try:
        domains._PLAIN_URL = re.compile(r"(?!)")  # every URL goes through urllib.parse.urlsplit
        general = domains.make_url.__wrapped__(text)
    finally:
        domains._PLAIN_URL = original
    assert fast == general


@given(st.text())
def test_href_cleaning_shortcut(href):
    # render() runs the white-space removal only when " " is present or the text is not printable.
    if " " not in href and href.isprintable():
        assert mime_html._URL_SPACE.sub("", href) == href


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["1", "12", "123", "1234", ".", "..", "a", " ", "[", "]", "("]), max_size=25).map("".join))
def test_ipv4_pattern_matches_the_look_behind_first_form(text):
    from pyscore import mime_headers

    plain = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
    for pos in (0, 1, 3):
        fast, slow = mime_headers._IPV4.search(text, pos), plain.search(text, pos)
        assert (fast and (fast.span(), fast.group(1))) == (slow and (slow.span(), slow.group(1)))


_ADDRESS_TEXT = st.lists(st.sampled_from([
    "a@b.example", "Name", " ", ",", ";", ":", '"', '"Doe, J"', "<", ">", "<x@y.example>", "(c)", "\\", "@", "=?utf-8?q?x?=",
]), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(_ADDRESS_TEXT)
def test_address_list_items_match_the_two_pass_form(value):
    from pyscore import mime_headers

    expected = mime_headers._ITEM.findall(value) if mime_headers._LIST.match(value) else None
    assert mime_headers._list_items(value) == expected


def test_cached_address_lists_replay_their_defects():
    from pyscore.mime import parse

    raw = (b"From: Doe, John <j@x.example>\nTo: no address here\nCc: =?bogus?q?x?= <c@x.example>\n"
           b"Subject: s\n\nbody\n")
    first, second = parse(raw), parse(raw)  # the second reads the address lists from the cache
    assert first.to_dict() == second.to_dict()
    kinds = [d.kind for d in second.defects]
    assert "unquoted_display_name" in kinds and "bad_address" in kinds and "unknown_charset" in kinds


def test_clear_caches_changes_no_result():
    from pyscore.mime import clear_caches, parse

    raw = b"From: A <a@b.example>\nTo: c@d.co.uk\nContent-Type: text/plain\n\nsee http://e.example/x\n"
    before = parse(raw).to_dict()
    clear_caches()
    assert parse(raw).to_dict() == before



def _interleaved_by_lines(text: str, after: int) -> bool:
    """The inline-reply test as first written: copy the rest, split it, test each line."""
    rest = text[after:]
    last_quote = rest.rfind("\n>")
    if last_quote < 0:
        return False
    for line in rest[:last_quote].split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return True
    return False


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["\n", ">", " ", "\t", "\u00a0", "\u2028", "\r", "x", "> x", "\n>", "wrote:"]),
                max_size=30).map("".join), st.integers(0, 40))
def test_inline_reply_search_matches_the_line_loop(text, after):
    after = min(after, len(text))
    assert mime_html._interleaved(text, after) == _interleaved_by_lines(text, after)


def test_long_address_lists_are_not_cached():
    from pyscore import mime_headers

    value = ", ".join(f"User {i} <u{i}@example.com>" for i in range(200))  # > 2 KB
    before = mime_headers._cached_mailbox_list.cache_info().currsize
    boxes, defects = mime_headers.mailbox_list(value, 1000)
    assert len(boxes) == 200 and defects == ()
    assert mime_headers._cached_mailbox_list.cache_info().currsize == before
    assert mime_headers.mailbox_list(value, 3)[1][0].kind == "too_many_addresses"


# ---------------------------------------------------------------- header block: split vs the line-by-line findall

# The header splitter as first written: one findall over LF text whose rows are fields
# or (group 3) lines that are not fields.
_FIELD_LINE = re.compile(r"([!-9;-~]+)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n|([^\n]*)\n")


def _fields_by_findall(head: bytes, limits) -> list[tuple[str, str]] | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    rows = _FIELD_LINE.findall(text)
    if len(rows) > limits.max_headers or any(row[2] or not row[0] for row in rows):
        return None
    if len(text) > limits.max_header_chars and max(len(row[1]) for row in rows) > limits.max_header_chars:
        return None
    return [(name, value.replace("\n", "").rstrip()) for name, value, _ in rows]


_HEAD_PIECES = st.sampled_from([
    "Subject", "X-A", "a", ":", ": ", " :", "\t", " ", "\n", "\r\n", "\r", "\n ", "\r\n\t", "\n\t", "value", "v",
    "=?utf-8?q?x?=", "\u00fc", "\x0c", "\x1c", "\xa0", "No colon", "-", "(", "\n\n",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_HEAD_PIECES, max_size=30).map("".join), st.integers(1, 6), st.integers(1, 12))
def test_header_split_matches_line_findall(text, max_headers, max_chars):
    from pyscore.mime import ParseLimits, _fast_fields

    head = text.encode("utf-8")
    for limits in (ParseLimits(), ParseLimits(max_headers=max_headers, max_header_chars=max_chars)):
        assert _fast_fields(head, limits) == _fields_by_findall(head, limits), (text, limits)


def test_header_split_keeps_the_white_space_of_a_value_that_starts_folded():
    from pyscore.mime import ParseLimits, _fast_fields

    head = b"X-A:\r\n  folded\r\n\tmore \r\nB: 1\r\n"
    assert _fast_fields(head, ParseLimits()) == [("X-A", "  folded\tmore"), ("B", "1")]
    assert _fast_fields(b"A: 1\r\nnot a header\r\n", ParseLimits()) is None


# ---------------------------------------------------------------- HTML links: walk by tag name vs the selector

_HTML_PIECES = st.sampled_from([
    "<a href='h1'>", "<a>", "<A HREF=\"h2\">", "</a>", "<area href='h3'>", "<AREA href=h4>", "<form action='h5'>",
    "<form>", "</form>", "<svg><a href='h6'>x</a></svg>", "<template><a href='h7'>t</a></template>", "<p>", "text",
    "<a href=''>", "<a href='#top'>", "<!-- <a href='h8'> -->", "<script><a href='h9'></script>", " ", "<div>",
    "<a href=' h 10 '>sp</a>", "<table><tr><td><a href='h11'>c</a>",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_HTML_PIECES, max_size=14).map("".join), st.integers(1, 5))
def test_render_links_by_tag_name_match_the_selector(html, limit):
    fast = mime_html.render(html, limit)
    original = mime_html._AREA_OR_FORM
    try:
        mime_html._AREA_OR_FORM = re.compile("")  # always "present": the selector path
        general = mime_html.render(html, limit)
    finally:
        mime_html._AREA_OR_FORM = original
    assert fast == general


@settings(max_examples=300, deadline=None)
@given(_MARK_TEXT.map(lambda t: t.replace("x", "On Mon, A wrote:\n> q\n")))
def test_thread_cut_skips_only_words_an_ascii_text_cannot_hold(text):
    cut = mime_html._thread_cut(text)
    original = mime_html._WROTE_ASCII
    try:
        mime_html._WROTE_ASCII = mime_html._WROTE
        assert mime_html._thread_cut(text) == cut
    finally:
        mime_html._WROTE_ASCII = original


def _candidates_by_marker(text: str) -> list[tuple[int, int]]:
    """The URL candidates as first written: one scan per spelling of "www."."""
    found = []
    pos = text.find("://")
    while pos >= 0:
        back = text[max(0, pos - 5) : pos].lower()
        for scheme in ("https", "http", "ftp"):
            if back.endswith(scheme):
                found.append((pos - len(scheme), pos + 3))
                break
        pos = text.find("://", pos + 3)
    for marker in ("www.", "WWW.", "Www."):
        pos = text.find(marker)
        while pos >= 0:
            if pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] in "/.-@_"):
                found.append((pos, pos + 4))
            pos = text.find(marker, pos + 4)
    found.sort()
    return found


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["w", "W", "ww", "WW", ".", "www.", "Www.", "WWW.", "wWw.", " ", "/", "a", "@",
                                 "http://", "-", "\u00e9"]), max_size=16).map("".join))
def test_www_candidates_match_one_scan_per_spelling(text):
    assert mime_html._candidates(text) == _candidates_by_marker(text)


def test_printable_text_holds_no_white_space_but_the_space():
    # _fast_mailbox folds white space only in names that are not printable or hold "  ".
    import sys

    assert not [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c != " " and c.isprintable()]


@settings(max_examples=500, deadline=None)
@given(st.tuples(st.sampled_from(["", "Doe", "J \\\"x\\\"", "a  b", "a\tb", "a\u00a0b", " x ", "=?utf-8?q?J=C3=B6?=",
                                  "\\\\", "a\u2028b"]),
                 st.sampled_from(["", "a@b.example"]), st.sampled_from(["", "Plain  Name ", "N\nM"]),
                 st.sampled_from(["", "c@d.example"]), st.sampled_from(["", "e@f.example"])))
def test_fast_mailbox_matches_the_plain_form(item):
    from pyscore import mime_headers

    quoted, addr1, plain, addr2, bare = item
    defects_fast, defects_plain = [], []
    if bare:
        expected = mime_headers.make_mailbox("", bare)
    else:
        name = mime_headers._QUOTED_PAIR.sub(r"\1", quoted) if addr1 else plain
        if "=?" in name:
            name = mime_headers.decode_words(name, defects_plain)
        expected = mime_headers.make_mailbox(mime_headers._SPACES.sub(" ", name).strip(), addr1 or addr2)
    assert mime_headers._fast_mailbox(item, defects_fast) == expected
    assert defects_fast == defects_plain


def test_stripped_headers_left_folded_change_no_result():
    from pyscore import mime

    raw = (b"X-Microsoft-Antispam-Message-Info:\r\n abc\r\n def\r\nX-From: Doe,\r\n John <x>\r\n"
           b"From: j@enron.example\r\nSubject: s\r\n folded\r\nX-Spam-Status: No,\r\n\tscore=1\r\n\r\nbody\r\n")
    original = mime._fast_fields
    for _ in range(2):  # the second parse meets the stripped names in the cache
        fast = mime.parse(raw)
        try:
            mime._fast_fields = lambda head, limits, dropped=None: original(head, limits)
            plain = mime.parse(raw)
        finally:
            mime._fast_fields = original
        assert fast == plain
    assert fast.sender.display_name == "Doe, John"
    assert "X-Microsoft-Antispam-Message-Info" in fast.stripped_headers
    assert ("Subject", "s folded") in fast.headers.fields
    # A line that is not a header inside a stripped value still ends the fast path.
    bad = raw.replace(b"\r\n def", b"\r\ndef")
    assert mime._fast_fields(bad[: bad.find(b"\r\n\r\n") + 2], mime.ParseLimits(), {"X-Microsoft-Antispam-Message-Info": ""}) is None


def _plain_decode_base64(data: bytes) -> tuple[bytes, list[str]]:
    """The base64 decoding as first written: binascii alone, padding repaired on error."""
    import binascii

    from pyscore.mime import _NOT_B64

    try:
        return binascii.a2b_base64(data), []
    except binascii.Error:
        clean = data.translate(None, _NOT_B64)
        clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean + b"=" * (-len(clean) % 4)
        try:
            return binascii.a2b_base64(clean), ["bad padding"]
        except binascii.Error:
            return b"", ["bad padding"]


_B64_NOISE = st.sampled_from([b"=", b"==", b"\r\n", b"\n", b" ", b"\t", b"-", b"_", b"!", b"\x00", b"\xff", b"A", b"+/"])


@settings(max_examples=600, deadline=None)
@given(st.binary(min_size=3200, max_size=6000), st.lists(st.tuples(st.integers(0, 10_000), _B64_NOISE), max_size=6),
       st.sampled_from([b"", b"=", b"==", b"===", b"\r\n", b"=\r\n"]))
def test_simd_base64_decodes_what_binascii_decodes(payload, noise, tail):
    import base64

    from pyscore.mime import Defect, _decode_base64

    data = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    for at, piece in noise:  # stray padding, white space and junk anywhere
        at = min(at, len(data))
        data = data[:at] + piece + data[at:]
    data += tail
    defects: list[Defect] = []
    want, plain_defects = _plain_decode_base64(data)
    assert _decode_base64(data, defects, "part") == want
    assert [d.kind for d in defects if "padding" in d.detail] == ["bad_base64"] * len(plain_defects)
