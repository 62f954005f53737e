"""This module contains the text views of a body: HTML to text, links, the current thread.

HTML is read by lexbor (through selectolax), a C HTML5 parser that handles
broken markup, entities, comments and scripts as a browser does, in about
half the time of the regular-expression passes kept below as the fallback
for an install without selectolax. Every regular expression here is linear:
tag patterns stop at the next ``<`` and bounded repeats cap the rest.
"""

from __future__ import annotations

import html as _html
import re

try:
    from selectolax.lexbor import LexborHTMLParser
except ImportError:  # pragma: no cover - exercised by the fallback tests
    LexborHTMLParser = None

_HIDDEN_TAGS = ["script", "style", "title", "noscript", "template"]
_LINK_SELECTOR = "a[href], area[href], form[action]"
_AREA_OR_FORM = re.compile(r"<(?:area|form)", re.I)  # tag names are not escaped, so every such element has this text
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def render(html: str, link_limit: int) -> tuple[str, list[tuple[str, str]]]:
    """(visible text, [(href as written, display text)]) of an HTML body.

    Text fragments are joined with line breaks (lexbor does not say which
    elements are blocks; a line per fragment keeps block boundaries).
    Links come from ``<a href>``, ``<area href>`` and ``<form action>``.
    """
    if LexborHTMLParser is None:
        return html_to_text(html), anchors(html, link_limit)
    tree = LexborHTMLParser(html)
    tree.strip_tags(_HIDDEN_TAGS)
    links: list[tuple[str, str]] = []
    # Without <area or <form in the source only <a> elements can carry links, and a
    # walk by tag name costs less than compiling the selector; an <a> without href
    # gives "" and is skipped below, as the selector would skip it.
    nodes = tree.css(_LINK_SELECTOR) if _AREA_OR_FORM.search(html) else tree.tags("a")
    for node in nodes:
        tag = node.tag
        href = node.attrs.get("action" if tag == "form" else "href") or ""
        if " " in href or not href.isprintable():  # white space or controls (printable has none but " ")
            href = _URL_SPACE.sub("", href)
        if not href or href.startswith("#"):
            continue
        display = node.text(separator=" ", strip=True) if tag == "a" else ""
        links.append((href, _clean_text(display)))
        if len(links) >= link_limit:
            break
    root = tree.body or tree.root
    text = root.text(separator="\n", strip=True, skip_empty=True) if root is not None else ""
    return _clean_text(text), links


def _clean_text(text: str) -> str:
    if text.isascii():
        return text  # no-break space and zero-width characters are all non-ASCII
    if "\xa0" in text:
        text = text.replace("\xa0", " ")
    for char in _ZERO_WIDTH:
        if char in text:
            text = text.replace(char, "")
    return text

# ---------------------------------------------------------------- HTML to text

_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"
_HIDDEN_OPEN = re.compile(r"<(script|style|title|head)\b", re.I)
_HIDDEN_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style", "title", "head")
}
_BLOCK_TAG = re.compile(
    r"<(?:br|p|div|tr|li|h[1-6]|table|blockquote|hr|ul|ol|dd|dt|pre|center|section|article|header|footer|form)\b[^<>]*>"
    r"|</(?:p|div|tr|li|h[1-6]|table|blockquote|ul|ol|dd|dt|pre|center|section|article|header|footer|form)\s*>",
    re.I,
)
_CELL_TAG = re.compile(r"<(?:td|th)\b[^<>]*>", re.I)
_ANY_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*>")
_SPACE_RUN = re.compile(r"[ \t\r\f\v\xa0\u200b\u200c\u200d\u2060\ufeff]+")
_NEWLINE_RUN = re.compile(r" ?\n[\n ]*")
_COMMON_ENTITIES = (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"))


def _remove_comments(html: str) -> str:
    if _COMMENT_OPEN not in html:
        return html
    out = []
    pos = 0
    while True:
        start = html.find(_COMMENT_OPEN, pos)
        if start < 0:
            out.append(html[pos:])
            break
        out.append(html[pos:start])
        end = html.find(_COMMENT_CLOSE, start + 4)
        if end < 0:
            break  # an unclosed comment hides the rest, as in a browser
        pos = end + 3
    return "".join(out)


def _remove_hidden(html: str) -> str:
    out = []
    pos = 0
    while True:
        m = _HIDDEN_OPEN.search(html, pos)
        if m is None:
            out.append(html[pos:])
            break
        name = m.group(1).lower()
        close = _HIDDEN_CLOSE[name].search(html, m.end())
        if close is None:
            if name == "head":  # an unclosed <head> is common; keep what follows
                out.append(html[pos : m.end()])
                pos = m.end()
                continue
            out.append(html[pos : m.start()])
            break
        out.append(html[pos : m.start()])
        out.append("\n")
        pos = close.end()
    return "".join(out)


def unescape(text: str) -> str:
    """HTML character references decoded; the common ones by plain replacement first (fast)."""
    if "&" not in text:
        return text
    for entity, char in _COMMON_ENTITIES:
        text = text.replace(entity, char)
    if "&" in text:
        text = _html.unescape(text)
    return text


def normalize_space(text: str) -> str:
    """Runs of blanks to one space, blank lines removed, ends stripped."""
    return _NEWLINE_RUN.sub("\n", _SPACE_RUN.sub(" ", text)).strip()


def html_to_text(html: str) -> str:
    """The text a reader sees: no comments, scripts, styles; blocks on their own lines."""
    text = _remove_hidden(_remove_comments(html))
    text = _BLOCK_TAG.sub("\n", text)
    text = _CELL_TAG.sub(" ", text)
    text = _ANY_TAG.sub("", text)
    return normalize_space(unescape(text))


# ---------------------------------------------------------------- links

_LINK_TAG = re.compile(r"<(a|area|form)\b([^<>]*)>", re.I)
_LINK_ATTR = re.compile(r"""(?:^|\s)(href|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_A_CLOSE = re.compile(r"</a\s*>", re.I)
_URL_SPACE = re.compile(r"[\s\x00-\x1f]+")
_MAX_DISPLAY = 4000  # characters scanned for an anchor's text


def anchors(html: str, limit: int) -> list[tuple[str, str]]:
    """(href as written, display text) of each ``<a href>``, ``<area href>``, ``<form action>``."""
    out: list[tuple[str, str]] = []
    for m in _LINK_TAG.finditer(html):
        attr = _LINK_ATTR.search(m.group(2))
        if attr is None:
            continue
        href = attr.group(2) if attr.group(2) is not None else attr.group(3) if attr.group(3) is not None else attr.group(4)
        href = _URL_SPACE.sub("", unescape(href))
        if not href or href.startswith("#"):
            continue
        display = ""
        if m.group(1).lower() == "a":
            close = _A_CLOSE.search(html, m.end(), m.end() + _MAX_DISPLAY)
            inner = html[m.end() : close.start()] if close else ""
            display = normalize_space(unescape(_ANY_TAG.sub("", inner))) if inner else ""
        out.append((href, display))
        if len(out) >= limit:
            break
    return out


_URL_BODY = re.compile(r"""[^\s<>"'`{}|\\^\[\]]+""")
_SCHEMES = ("https", "http", "ftp")
_URL_TRAIL = ".,;:!?)'\"*>"


def _candidates(text: str) -> list[tuple[int, int]]:
    """(start, body start) of each ``scheme://`` and ``www.``, found with str.find (C speed)."""
    found = []
    pos = text.find("://")
    while pos >= 0:
        back = text[max(0, pos - 5) : pos].lower()
        for scheme in _SCHEMES:
            if back.endswith(scheme):
                found.append((pos - len(scheme), pos + 3))
                break
        pos = text.find("://", pos + 3)
    # "www." and "Www." both hold "ww.", "WWW." holds "WW.": two scans instead of three.
    for tail, markers in (("ww.", ("www.", "Www.")), ("WW.", ("WWW.",))):
        at = text.find(tail, 1)
        while at >= 0:
            pos = at - 1
            if text[pos : pos + 4] in markers and (
                    pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] in "/.-@_")):
                found.append((pos, pos + 4))
            at = text.find(tail, at + 3)
    found.sort()
    return found


def bare_urls(text: str, limit: int) -> list[str]:
    """URLs written as plain text (``http://``, ``https://``, ``ftp://``, ``www.``)."""
    out = []
    covered = -1
    for start, body in _candidates(text):
        if start < covered:
            continue  # the www. inside an http://www. URL
        m = _URL_BODY.match(text, body)
        if m is None:
            continue
        raw = text[start : m.end()]
        url = raw.rstrip(_URL_TRAIL)
        if raw[len(url) : len(url) + 1] == ")" and url.count("(") > url.count(")"):
            url += ")"  # keep a balanced parenthesis: wiki/Foo_(bar)
        covered = m.end()
        if len(url) > body - start + 3:
            out.append(url)
            if len(out) >= limit:
                break
    return out


# ---------------------------------------------------------------- current thread

# Where an earlier message starts: reply headers of common clients (Outlook,
# Gmail, Apple Mail, Lotus Notes as in the Enron mail) and forward separators.
# Each is found by a literal-prefixed search (C speed), then checked to start
# its line; a regex alternation anchored with ^ would be tried at every
# character of the text instead.
# Each mark is (pattern, a literal every match contains, whether a match lies
# within one line). A pattern that starts with a literal is searched from the
# first occurrence of that prefix, found by str.find (faster than the regex
# engine's own prefix scan on long text); the one-line marks start with a run of
# dashes, which the engine would try at every character, so they are searched
# only on the lines that hold their literal.
_MARKS = (
    (re.compile(r"-{2,}[ \t]*[Oo]riginal [Mm]essage[ \t]*-{2,}"), "riginal ", True),
    (re.compile(r"-{3,}[ \t]*Forwarded (?:[Mm]essage|by)\b"), "Forwarded ", True),
    (re.compile(r"Begin forwarded message:"), "Begin forwarded message:", False),
    (re.compile(r"From:\*?[ \t][^\n]{0,300}\n[ \t>]*\*?(?:Sent|Date):"), "From:", False),
    (re.compile(r"__________+[ \t]*\n[ \t>]*\*?From:"), "__________", False),  # ten or more "_"
)
_WROTE = ("wrote:", "a écrit", "schrieb:", "escribió:", "ha scritto:", "schreef:")
_WROTE_ASCII = tuple(word for word in _WROTE if word.isascii())  # all an ASCII text can hold
_ON_LINE = re.compile(r"[ \t>]*(?:On|Le|Am|El|Il|Op)\b")
_NOTES_DATE = re.compile(r"([^\n]{0,200} on )?[ \t]*\d{1,2}/\d{1,2}/\d{2,4} \d{1,2}:\d\d(?::\d\d)?(?: ?[AP]M)?[ \t]*\n")
_LINE_PREFIX = frozenset(" \t>*")
_QUOTED_LINE = re.compile(r"\n[ \t]*>[^\n]*")
_MAX_THREAD_SCAN = 200_000


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _starts_line(text: str, pos: int) -> bool:
    return all(c in _LINE_PREFIX for c in text[_line_start(text, pos) : pos])


# A line whose first character that is not white space is not ">".
_UNQUOTED_LINE = re.compile(r"^[^\S\n]*[^\s>]", re.M)


def _is_unquoted(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(">")


def _interleaved(text: str, after: int) -> bool:
    """True when unquoted lines sit between ``>`` lines after ``after``: an inline reply.

    The lines are searched in place by one pattern (no copy, no step per line).
    """
    last_quote = text.rfind("\n>", after)
    if last_quote < 0:
        return False
    first_end = text.find("\n", after, last_quote)
    if first_end < 0:
        return _is_unquoted(text[after:last_quote])
    # The first piece need not start a line (``^`` would not see it); the rest do.
    return _is_unquoted(text[after:first_end]) or _UNQUOTED_LINE.search(text, first_end + 1, last_quote) is not None


def _search_mark(mark: re.Pattern, literal: str, one_line: bool, text: str, pos: int, cut: int):
    """``mark.search(text, pos, cut)``; a one-line mark is searched only on the lines holding its literal,
    any other from the first occurrence of its literal prefix.

    A match of a one-line mark lies within one line, so the first line (from
    ``pos``) that holds a match is the line of the leftmost match, and a search
    bounded to that line finds the same match.
    """
    if not one_line:
        # The literal is the mark's prefix: no match starts before its first occurrence,
        # and str.find skips to it faster than the regex engine's prefix scan.
        at = text.find(literal, pos, cut)
        return mark.search(text, at, cut) if at >= 0 else None
    at = text.find(literal, pos, cut)
    while at >= 0:
        line_end = text.find("\n", at, cut)
        line_end = cut if line_end < 0 else line_end
        m = mark.search(text, max(pos, _line_start(text, at)), line_end)
        if m is not None:
            return m
        at = text.find(literal, line_end, cut)
    return None


def _thread_cut(text: str) -> tuple[int, list[tuple[int, int]]]:
    """(offset of the first line that starts an earlier message or len(text),
    spans of "On ... wrote:" lines that head an inline reply and are dropped)."""
    cut = len(text)
    drops: list[tuple[int, int]] = []
    for mark, literal, one_line in _MARKS:
        m = _search_mark(mark, literal, one_line, text, 0, cut)
        while m is not None and not _starts_line(text, m.start()):
            m = _search_mark(mark, literal, one_line, text, m.end(), cut)
        if m is not None:
            cut = _line_start(text, m.start())
    for word in _WROTE_ASCII if text.isascii() else _WROTE:
        pos = text.find(word, 0, cut)
        while pos >= 0:
            # "On <date>, <name> wrote:" on one line, or wrapped over a few.
            start = _line_start(text, pos)
            for _ in range(4):  # HTML text puts "<", the address and "> wrote:" on lines of their own
                if _ON_LINE.match(text, start):
                    end = text.find("\n", pos)
                    end = len(text) if end < 0 else end
                    if _interleaved(text, end):
                        drops.append((start, end))  # answers between the quotes: keep them
                    else:
                        cut = min(cut, start)
                    break
                if start == 0 or pos - start > 400:
                    break
                start = _line_start(text, start - 1)
            pos = text.find(word, pos + len(word), cut)
    # Lotus Notes: "Name@ENRON\n10/15/2001 10:33 AM\n\nTo: ...". Found from "To:" (a
    # literal, C-speed search) rather than from the date (digits are everywhere).
    pos = text.find("To:", 0, cut)
    while pos >= 0:
        if _starts_line(text, pos):
            line = _line_start(text, pos)
            for _ in range(2):  # the date line, maybe one blank line above "To:"
                if line == 0:
                    break
                line = _line_start(text, line - 1)
                m = _NOTES_DATE.match(text, line)
                if m is not None:
                    # "Name on 10/15/2001 ..." starts the header; a bare date follows the name line.
                    start = line if m.group(1) or not line else _line_start(text, line - 1)
                    cut = min(cut, start)
                    break
        pos = text.find("To:", pos + 3, cut)
    return cut, [(a, b) for a, b in drops if a < cut]


def current_thread(text: str) -> str:
    """The newest message of a thread: cut at the first reply or forward header, no ``>`` lines.

    An inline reply (answers written between quoted lines) keeps its answers.
    """
    head = text[:_MAX_THREAD_SCAN]
    cut, drops = _thread_cut(head)
    if drops:
        pieces, pos = [], 0
        for a, b in sorted(drops):
            if a >= pos:
                pieces.append(head[pos:a])
                pos = b
        pieces.append(head[pos:cut])
        head = "".join(pieces)
    else:
        head = head[:cut]
    if ">" in head:
        head = _QUOTED_LINE.sub("", "\n" + head)[1:]
    return head.strip()
