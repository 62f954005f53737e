"""This module contains the decoders of header values.

RFC 2047 encoded words, address lists, dates, MIME parameters (RFC 2231
too), Received hops and authentication results. Each decoder takes the
unfolded header text, never raises, and appends what it could not read to a
defect list. All regular expressions are linear (no nested quantifiers), so
hostile header text cannot make them backtrack for long.
"""

from __future__ import annotations

import binascii
import datetime as _dt
import email.utils
import functools
import re
import urllib.parse

from pyscore import charsets
from pyscore.domains import domain_of_address
from pyscore.message import AuthCheck, AuthSummary, Defect, EmailAddress, Hop, Mailbox

# ---------------------------------------------------------------- RFC 2047

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
_B64_WORD_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_WS_ONLY = re.compile(r"^[ \t\r\n]*$")


def decode_words(value: str, defects: list[Defect]) -> str:
    """``value`` with its RFC 2047 encoded words decoded.

    Adjacent words separated only by white space join (RFC 2047 section 6.2),
    and adjacent words of one charset are decoded together so that a
    multi-byte character split across two words survives. A word that does
    not decode stays as written, with a ``bad_encoded_word`` defect.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    run_charset = ""
    run: list[bytes] = []
    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos : m.start()]
        joined = bool(run) and _WS_ONLY.match(gap) is not None
        if not joined:
            _flush(run, run_charset, out, defects)
            run = []
            out.append(gap)
        data = _word_bytes(m.group(2), m.group(3), defects)
        if data is None:
            _flush(run, run_charset, out, defects)
            run = []
            out.append(m.group())
        else:
            charset = m.group(1).lower()
            if run and charset != run_charset:
                _flush(run, run_charset, out, defects)
                run = []
            run_charset = charset
            run.append(data)
        pos = m.end()
    _flush(run, run_charset, out, defects)
    out.append(value[pos:])
    return "".join(out)


def _word_bytes(encoding: str, text: str, defects: list[Defect]) -> bytes | None:
    raw = text.encode("ascii", "replace")
    if encoding in "bB":
        if raw.translate(None, _B64_WORD_CHARS):
            defects.append(Defect("bad_encoded_word", f"not base64: =?{text[:40]}?="))
            return None
        try:
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        except binascii.Error:
            defects.append(Defect("bad_encoded_word", f"bad base64 in =?{text[:40]}?="))
            return None
    return binascii.a2b_qp(raw, header=True)


def _flush(run: list[bytes], charset: str, out: list[str], defects: list[Defect]) -> None:
    if run:
        out.append(charsets.decode(b"".join(run), charset, defects, "encoded word"))


# ---------------------------------------------------------------- addresses

# Tokens of an address list: quoted string, comment, angle address, comma,
# group punctuation, or a run of anything else. Unclosed quotes, comments and
# brackets run to the end instead of failing.
_ADDR_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?$)|\((?:[^()\\]|\\.)*(?:\)|\\?$)|<[^<>]*(?:>|$)|[,;:]|[^,;:"(<]+|[()<>\\"]')
_SPACES = re.compile(r"\s+")
_ADDR = r'[^<>\s"@,;:()\\]+@[^<>\s"@,;:()\\]+'
# Exactly one way to match each item (the unquoted name takes the leading
# blanks itself), so a list that fails at its end cannot backtrack
# exponentially over the blanks of earlier items.
_ITEM_SRC = rf'(?:\s*"((?:[^"\\]|\\.)*)"\s*<({_ADDR})>|([^"<>,;:()\\@]*)<({_ADDR})>|\s*({_ADDR}))\s*(?:,|\Z)'
_ITEM = re.compile(_ITEM_SRC)
_LIST = re.compile(rf"(?:{_ITEM_SRC})+\Z")
_QUOTED_PAIR = re.compile(r"\\(.)")


@functools.lru_cache(maxsize=65536)
def make_mailbox(display_name: str, address: str) -> Mailbox:
    """A Mailbox from a display name and an address as written."""
    return Mailbox(email=make_address(address), display_name=display_name)


@functools.lru_cache(maxsize=65536)
def make_address(address: str) -> EmailAddress:
    """An EmailAddress, lower-cased; empty when ``address`` has no ``local@domain`` shape."""
    addr = address.strip().strip("<>").strip()
    if addr[:7].lower() == "mailto:":
        addr = addr[7:]
    addr = addr.lower()
    at = addr.rfind("@")
    if at <= 0 or at == len(addr) - 1 or " " in addr:
        return EmailAddress()
    return EmailAddress(email=addr, local_part=addr[:at], domain=domain_of_address(addr))


def _fast_mailbox(item: tuple[str, str, str, str, str], defects: list[Defect]) -> Mailbox:
    quoted, addr1, plain, addr2, bare = item
    if bare:
        return make_mailbox("", bare)
    if not addr1:
        name = plain
    elif "\\" in quoted:
        name = _QUOTED_PAIR.sub(r"\1", quoted)
    else:
        name = quoted  # no quoted pair to undo
    if "=?" in name:
        name = decode_words(name, defects)
    # A printable name holds no white space but " " (isprintable is false for every other
    # kind), so without a double space there is no run for _SPACES to fold.
    if "  " in name or not name.isprintable():
        name = _SPACES.sub(" ", name)
    return make_mailbox(name.strip(), addr1 or addr2)


def _list_items(value: str) -> list[tuple[str, str, str, str, str]] | None:
    """``_ITEM.findall(value)`` when ``_LIST`` matches ``value``, else None.

    Items found back to back from the start to the end are a match of
    ``_LIST`` already (one pass instead of two); only when they are not is
    ``_LIST`` itself asked.
    """
    items = []
    pos = 0
    for m in _ITEM.finditer(value):
        if m.start() != pos:
            break
        items.append(m.groups(""))  # "" for groups that did not take part, as findall gives
        pos = m.end()
    else:
        if items and pos == len(value):
            return items
    return _ITEM.findall(value) if _LIST.match(value) else None


_MAX_CACHED_LIST = 2048  # longer address lists are parsed each time (the cache holds at most ~16 MB of keys)


def mailbox_list(value: str, limit: int = 1000) -> tuple[tuple[Mailbox, ...], tuple[Defect, ...]]:
    """``parse_mailboxes`` as (mailboxes, the defects it found), cached up to 2 KB: To, Cc and
    From values repeat from message to message (list addresses, thread replies)."""
    if len(value) > _MAX_CACHED_LIST:
        return _mailbox_list(value, limit)
    return _cached_mailbox_list(value, limit)


def _mailbox_list(value: str, limit: int) -> tuple[tuple[Mailbox, ...], tuple[Defect, ...]]:
    defects: list[Defect] = []
    boxes = parse_mailboxes(value, defects, limit=limit)
    return tuple(boxes), tuple(defects)


_cached_mailbox_list = functools.lru_cache(maxsize=8192)(_mailbox_list)


def parse_mailboxes(value: str, defects: list[Defect], *, limit: int = 1000) -> list[Mailbox]:
    """The mailboxes of an address-list header (From, To, Cc, Reply-To ...)."""
    items = _list_items(value)
    if items is not None:
        # Fast path: every item is "Name" <addr>, Name <addr> or a bare addr (most headers).
        if len(items) > limit:
            defects.append(Defect("too_many_addresses", f"more than {limit} in one header"))
            del items[limit:]
        return [_fast_mailbox(item, defects) for item in items]
    out: list[Mailbox] = []
    words: list[str] = []
    comments: list[str] = []
    angle: str | None = None
    pending = [""]  # a display name cut off by an unquoted comma: "Doe, John <j@x.com>"
    for m in _ADDR_TOKEN.finditer(value):
        tok = m.group()
        c = tok[0]
        if c in ",;":
            _add_mailbox(out, words, comments, angle, defects, pending, c == "," and m.end() < len(value))
            words, comments, angle = [], [], None
            if len(out) >= limit:
                defects.append(Defect("too_many_addresses", f"more than {limit} in one header"))
                break
        elif c == ":" and angle is None and not any("@" in w for w in words):
            words, comments = [], []  # a group name: "undisclosed-recipients:"
        elif c == '"':
            words.append(_QUOTED_PAIR.sub(r"\1", tok[1:-1] if tok.endswith('"') and len(tok) > 1 else tok[1:]))
        elif c == "(":
            comments.append(tok[1:].rstrip(")"))
        elif c == "<" and len(tok) > 1:
            if angle is not None:
                defects.append(Defect("bad_address", "two angle addresses in one mailbox"))
            angle = tok[1:].rstrip(">")
        else:
            words.append(tok)
    _add_mailbox(out, words, comments, angle, defects, pending, False)
    return out


def _add_mailbox(out, words, comments, angle, defects, pending, more) -> None:
    text = _SPACES.sub(" ", "".join(words)).strip()
    if pending[0]:
        text = f"{pending[0]}, {text}" if text else pending[0]
        pending[0] = ""
        if angle is not None:
            defects.append(Defect("unquoted_display_name", f"comma in {text[:60]!r}"))
    if angle is None:
        if not text:
            return
        # A bare address, possibly "Name user@host" without brackets.
        parts = text.split(" ")
        at_parts = [p for p in parts if "@" in p]
        if not at_parts:
            if more:
                pending[0] = text  # the rest of the name follows the comma
                return
            defects.append(Defect("bad_address", f"no address in {text[:60]!r}"))
            out.append(make_mailbox(decode_words(text, defects), ""))
            return
        address = at_parts[-1]
        name = " ".join(p for p in parts if p is not address).strip()
        if not name and comments:
            name = " ".join(comments).strip()
    else:
        address, name = angle, text
    if "=?" in name:
        name = decode_words(name, defects)
    out.append(make_mailbox(name, address))


def parse_msg_ids(value: str) -> tuple[str, ...]:
    """Message-IDs of References / In-Reply-To, angle brackets kept."""
    ids = re.findall(r"<[^<>\s]*>", value)
    return tuple(ids) if ids else tuple(value.split())


# ---------------------------------------------------------------- dates


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -500, "edt": -400, "cst": -600, "cdt": -500,
          "mst": -700, "mdt": -600, "pst": -800, "pdt": -700}
# The common RFC 5322 shape: [Day,] 1 Jan 2024 10:00[:00][.123] +0100 | GMT
_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\.\d+)?"
    r"\s*(?:([+-])(\d\d)(\d\d)|([A-Za-z]{1,5})\b)?"
)
_TZ_CACHE: dict[int, _dt.tzinfo] = {}


def _tz(minutes: int) -> _dt.tzinfo:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _TZ_CACHE[minutes] = _dt.timezone(_dt.timedelta(minutes=minutes)) if minutes else _dt.UTC
    return tz


def _fast_date(value: str) -> _dt.datetime | None:
    m = _DATE.match(value)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, zh, zm, zname = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    if sign:
        minutes = int(zh) * 60 + int(zm)
        minutes = -minutes if sign == "-" else minutes
    else:
        zone = _ZONES.get(zname.lower()) if zname else 0
        if zone is None:
            return None  # an unknown zone name: leave it to the stdlib
        minutes = (abs(zone) // 100 * 60 + abs(zone) % 100) * (-1 if zone < 0 else 1)
    if minutes <= -1440 or minutes >= 1440:
        return None
    try:
        return _dt.datetime(int(year), month, int(day), int(hh), int(mm), int(ss or 0), tzinfo=_tz(minutes))
    except ValueError:  # 31 Feb, hour 25: let the stdlib decide
        return None


def parse_date(value: str, defects: list[Defect]) -> _dt.datetime | None:
    """An aware datetime, or None with a ``bad_date`` defect (no zone reads as UTC)."""
    value = value.strip()
    if not value:
        return None
    when = _fast_date(value)
    if when is not None:
        return when
    try:
        when = email.utils.parsedate_to_datetime(value[:200])
    except (ValueError, TypeError, OverflowError, IndexError):
        defects.append(Defect("bad_date", value[:60]))
        return None
    if when is None:
        defects.append(Defect("bad_date", value[:60]))
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when


# ---------------------------------------------------------------- MIME parameters

_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*(?:"|\\?$)|[^;]*)')


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """(lower-case main value, {lower-case name: value}) of Content-Type / -Disposition.

    RFC 2231 extended (``name*=utf-8''...``) and continued (``name*0=``)
    parameters are joined and percent-decoded.
    """
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    if not rest:
        return main.strip().lower(), params
    pieces: dict[str, dict[int, tuple[str, bool]]] = {}
    for m in _PARAM.finditer(";" + rest):
        name = m.group(1).lower()
        raw = m.group(2).strip()
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:])
        if "*" not in name:
            params.setdefault(name, raw)
            continue
        base, _, index = name.partition("*")
        extended = index.endswith("*") or index == ""
        index = index.rstrip("*")
        number = int(index) if index.isdigit() and len(index) < 4 else 0
        pieces.setdefault(base, {})[number] = (raw, extended)
    for base, chunks in pieces.items():
        params[base] = _join_2231([chunks[i] for i in sorted(chunks)])
    return main.strip().lower(), params


def params_of(value: str) -> tuple[str, dict[str, str]]:
    """``parse_params(value)``, cached for values up to 1,000 characters (part headers
    repeat: text/plain; charset=utf-8). The dict returned is the caller's own copy."""
    if len(value) > 1000:
        return parse_params(value)
    main, params = _cached_params(value)
    return main, dict(params) if params else {}


_cached_params = functools.lru_cache(maxsize=4096)(parse_params)


def _join_2231(chunks: list[tuple[str, bool]]) -> str:
    charset = "utf-8"
    data = bytearray()
    for i, (raw, extended) in enumerate(chunks):
        if extended:
            if i == 0 and raw.count("'") >= 2:
                charset, _, raw = raw.split("'", 2)
            data += urllib.parse.unquote_to_bytes(raw)
        else:
            data += raw.encode("utf-8", "replace")
    return charsets.decode(bytes(data), charset or "utf-8", [], "parameter")


# ---------------------------------------------------------------- Received

_IP_BRACKET = re.compile(r"\[(?:[Ii][Pp][Vv]6:)?([0-9A-Fa-f.:]{3,45})\]")
_RCV_DATE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d\d(?::\d\d)?(?:\.\d+)?(?:\s*[+-]\d{4}|\s+[A-Z]{1,5}\b)?"
)
_FRACTION = re.compile(r"(\d:\d\d)\.\d+")
# (?<![\d.]) written after the first digit, so that the pattern starts with \d and the
# engine skips to digits at C speed instead of trying the look-behind at every character.
_IPV4 = re.compile(r"(\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3})(?![\d.])")
_HOST_STRIP = "()[];<>,"
_COMMENT = re.compile(r"\([^()]*\)")


# Received dates repeat within a message (relays of one site stamp the same second).
_hop_date = functools.lru_cache(maxsize=1024)(_fast_date)


def parse_hop(index: int, value: str, defects: list[Defect]) -> Hop:
    """One Received header: from host and IP (the connecting side), by host, protocol, time."""
    head, sep, when = value.rpartition(";")
    if not sep:
        head, when = value, ""
    low = head.lower()
    # Clauses are read outside comments: "(qmail 1 invoked by uid 0)" has no "by" clause.
    words = (_COMMENT.sub(" ", low) if "(" in low else low).split()
    # The word after each keyword (``_word_after`` inlined: this runs for every hop).
    last = len(words) - 1
    by_host = from_host = proto = ""
    by_at = -1
    if "by" in words:
        i = words.index("by")
        if i < last:
            by_host = words[i + 1].strip(_HOST_STRIP)
        by_at = low.find("by " + by_host)
    if "from" in words:
        i = words.index("from")
        if i < last:
            from_host = words[i + 1].strip(_HOST_STRIP)
    if "with" in words:
        i = words.index("with")
        if i < last:
            proto = words[i + 1].strip(_HOST_STRIP)
    # The IP is read before the "by" clause: searched in place up to it (the same as in a slice).
    from_end = by_at if by_at > 0 else len(low)
    ip = _IP_BRACKET.search(low, 0, from_end) or _IPV4.search(low, 0, from_end)
    time = _hop_date(when) if when else None
    if time is None and when.strip():
        time = parse_date(_FRACTION.sub(r"\1", when), [])
    if time is None:
        # The date is not after the last ";": take the last date-like text anywhere.
        dates = _RCV_DATE.findall(value)
        time = parse_date(_FRACTION.sub(r"\1", dates[-1]), []) if dates else None
        if time is None:
            defects.append(Defect("bad_received_date", (when.strip() or value.strip())[:60]))
    return Hop(index=index, from_host=from_host, from_ip=ip.group(1).lower() if ip else "", by_host=by_host,
               protocol=proto, time=time)


# ---------------------------------------------------------------- authentication

_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([A-Za-z]+)", re.I)
_AUTH_DOMAIN = {
    "spf": re.compile(r"\bsmtp\.(?:mailfrom|helo)\s*=\s*\"?([^\s;\"()]+)", re.I),
    "dkim": re.compile(r"\bheader\.(?:d|i)\s*=\s*\"?([^\s;\"()]+)", re.I),
    "dmarc": re.compile(r"\bheader\.from\s*=\s*\"?([^\s;\"()]+)", re.I),
}
_SPF_RESULT = re.compile(r"^\s*([A-Za-z]+)")
_SPF_DOMAIN = re.compile(r"\benvelope-from\s*=\s*\"?<?([^\s;\"<>]+)|\bdomain of\s+([^\s;()]+)", re.I)


def _domain_part(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip(".<>").lower()


# Records are frozen, so equal ones can be shared: results and domains repeat from mail to mail.
_NO_CHECK = AuthCheck()
_NO_AUTH = AuthSummary()


@functools.lru_cache(maxsize=4096)
def _auth_check(result: str, domain: str) -> AuthCheck:
    return AuthCheck(result=result, domain=domain)


def parse_auth(auth_results: list[str], received_spf: list[str]) -> AuthSummary:
    """SPF / DKIM / DMARC from the topmost Authentication-Results (and Received-SPF)."""
    found: dict[str, AuthCheck] = {}
    for header in auth_results:
        # resinfo items are separated by ";"; each names one method.
        for item in header.split(";"):
            m = _AUTH_RESULT.search(item)
            if m is None:
                continue
            method = m.group(1).lower()
            if method in found:
                continue
            d = _AUTH_DOMAIN[method].search(item)
            found[method] = _auth_check(m.group(2).lower(), _domain_part(d.group(1)) if d else "")
        if len(found) == 3:
            break
    if "spf" not in found and received_spf:
        header = received_spf[0]
        m = _SPF_RESULT.match(header)
        if m:
            d = _SPF_DOMAIN.search(header)
            domain = _domain_part(d.group(1) or d.group(2)) if d else ""
            found["spf"] = _auth_check(m.group(1).lower(), domain)
    if not found:
        return _NO_AUTH
    return AuthSummary(
        spf=found.get("spf", _NO_CHECK),
        dkim=found.get("dkim", _NO_CHECK),
        dmarc=found.get("dmarc", _NO_CHECK),
    )


# ---------------------------------------------------------------- Enron display names

_NOTES_TAIL = re.compile(r"<[^<>]*>\s*\Z")
_NOTES_DOMAIN = re.compile(r"[A-Za-z0-9_-]+\Z")  # after the last @: ENRON, ECT (Lotus Notes domains, no dot)
_NOTES_PATH = re.compile(r"[A-Za-z0-9_/-]*\Z")  # after the first /: John Ale/HOU/AZURIX


def enron_display_name(x_from: str) -> str:
    """The display name inside an Enron ``X-From`` value ('' when it holds only an address).

    Forms: ``Davis, Pete </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PDAVIS>``,
    ``"Jane Doe" <jane@x.com>@ENRON <IMCEANOTES-...>``, ``John Ale/HOU/AZURIX@ENRON``.
    """
    s = x_from.strip()[:1000]
    for _ in range(4):
        before = s
        lt = s.rfind("<")
        if lt >= 0 and _NOTES_TAIL.match(s, lt):
            s = s[:lt].rstrip()
        at = s.rfind("@")
        if at >= 0 and _NOTES_DOMAIN.match(s, at + 1):
            s = s[:at].rstrip()
        if s == before:
            break
    if "@" in s and " " not in s:
        return ""  # a bare address, not a name
    slash = s.find("/")
    if slash > 0 and '"' not in s and _NOTES_PATH.match(s, slash + 1):
        s = s[:slash]
    return s.strip().strip('"').strip().rstrip(",").strip()
