"""This module contains the text views of a body: HTML to text, links, the current thread.

Everything here is regular-expression passes over whole strings (C speed)
rather than an HTML tree: mail HTML is mostly broken, and a tree parser costs
ten times the 300 µs parse budget on a typical message. Every pattern is
linear: tag patterns stop at the next ``<`` and bounded repeats cap the rest.
"""

from __future__ import annotations

import html as _html
import re

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
    for marker in ("www.", "WWW.", "Www."):
        pos = text.find(marker)
        while pos >= 0:
            if pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] in "/.-@_"):
                found.append((pos, pos + 4))
            pos = text.find(marker, pos + 4)
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

# The first line that starts an earlier message: reply headers of common
# clients (Outlook, Gmail, Apple Mail, Lotus Notes as in the Enron mail) and
# forward separators.
_THREAD_MARK = re.compile(
    r"^[ \t]*-{2,}[ \t]*Original Message[ \t]*-{2,}"
    r"|^[ \t]*-{3,}[ \t]*Forwarded (?:message|by)\b"
    r"|^[ \t]*Begin forwarded message:"
    r"|^[ \t>]*On\b[^\n]{0,250}\bwrote:[ \t]*$"
    r"|^[ \t>]*On\b[^\n]{0,200}\n[^\n]{0,200}\bwrote:[ \t]*$"
    r"|^[ \t>]*(?:Le|Am|El|Il|Op)\b[^\n]{0,250}(?:a écrit|schrieb|escribió|ha scritto|schreef)[ \t]*:"
    r"|^[ \t]*\*?From:\*?[ \t][^\n]{0,300}\n[ \t]*\*?(?:Sent|Date):"
    r"|^[ \t]*_{10,}[ \t]*\n[ \t]*\*?From:"
    r"|^[^\n]{1,120}\n[ \t]*\d{1,2}/\d{1,2}/\d{2,4} \d{1,2}:\d\d(?::\d\d)?(?: ?[AP]M)?[ \t]*\n(?:[ \t]*\n)?[ \t]*To:",
    re.M | re.I,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*\n?", re.M)
_MAX_THREAD_SCAN = 200_000


def current_thread(text: str) -> str:
    """The newest message of a thread: cut at the first reply or forward header, no ``>`` lines."""
    head = text[:_MAX_THREAD_SCAN]
    m = _THREAD_MARK.search(head)
    if m is not None:
        head = head[: m.start()]
    if ">" in head:
        head = _QUOTED_LINE.sub("", head)
    return head.strip()
