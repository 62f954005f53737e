"""This module contains the pure-Python reference of every signal the kernels compute.

Straightforward per-message Python over ``Message`` objects: the oracle the
tests hold the Numba kernels to, and the peer the benchmark measures them
against. It shares only the data (lists, fold table, normal forms) with the
kernels, never their code.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import numpy as np

from pyscore._dtypes import FEATURE_DTYPE
from pyscore.message import Message
from pyscore.signals import attachments as att_mod
from pyscore.signals import headers as hdr_mod
from pyscore.signals import identity as id_mod
from pyscore.signals import links as link_mod
from pyscore.signals import lists
from pyscore.signals.lists import (
    ATTACHMENT_CATEGORIES,
    F_ALPHA,
    F_BIDI,
    F_CONFUSABLE,
    F_INVISIBLE,
    F_UPPER,
    F_ZERO_WIDTH,
    FAMILIES,
    HTML_FAMILIES,
    MAILER_FAMILIES,
    RISKY_CATEGORIES,
)
from pyscore.signals.orgtables import domain_label, name_key, split_root
from pyscore.signals.registry import ScoringContext
from pyscore.signals.tenant import TenantConfig, config_for
from pyscore.signals.textnorm import (
    HTML_CAP,
    TEXT_CAP,
    capped,
    normalize_html,
    normalize_phrase,
    normalize_text,
)

NAN = float("nan")
LABEL_CAP = 600  # bytes of a domain label compared (the kernels' skeleton buffer)
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def enc(s: str) -> bytes:
    return s.encode("utf-8", "replace")


def alower(s: str | bytes) -> bytes:
    """ASCII-only lower case, as bytes."""
    return (enc(s) if isinstance(s, str) else s).translate(_ASCII_LOWER)


def _flag(cp: int) -> int:
    fold, flags = lists.char_tables()
    return int(flags[cp]) if cp < 0x10000 else 0


def _isalnum_byte(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


def _ratio(num: float, den: float) -> float:
    return NAN if den == 0 else num / den


def count_occurrences(text: bytes, pattern: bytes, boundary: bool) -> int:
    n, i = 0, text.find(pattern)
    while i >= 0:
        if not boundary or i == 0 or not (48 <= text[i - 1] <= 57 or 97 <= text[i - 1] <= 122):
            n += 1
        i = text.find(pattern, i + 1)
    return n


# ---------------------------------------------------------------- content

_PHONE = re.compile(rb"[+(]?[0-9](?:[ .\-()]{0,2}[0-9])*")
_MONEY = re.compile(rb"\$|\xc2[\xa3\xa5]|\xe2\x82[\xac\xb9]|(?<![a-z0-9])(?:usd|eur|gbp|brl|btc)(?![a-z0-9])")


def text_stats(text: str) -> dict[str, int]:
    st = dict.fromkeys(("cp", "alpha", "upper", "nonascii", "zw", "invis", "bidi", "digit", "excl", "words",
                        "mixed"), 0)
    in_word = word_ascii = word_conf = False
    for ch in capped(text, TEXT_CAP):
        cp = ord(ch)
        fl = _flag(cp)
        st["cp"] += 1
        if cp >= 0x80:
            st["nonascii"] += 1
        if fl & F_ZERO_WIDTH:
            st["zw"] += 1
            continue
        if fl & F_INVISIBLE:
            st["invis"] += 1
            st["bidi"] += bool(fl & F_BIDI)
            continue
        if fl & F_ALPHA:
            st["alpha"] += 1
            st["upper"] += bool(fl & F_UPPER)
        if ch.isascii() and ch.isdigit():
            st["digit"] += 1
        elif ch == "!":
            st["excl"] += 1
        word_char = (cp < 0x80 and ch.isalnum()) or (cp >= 0x80 and bool(fl & F_ALPHA))
        if word_char:
            if not in_word:
                in_word, word_ascii, word_conf = True, False, False
                st["words"] += 1
            if cp < 0x80 and not ch.isdigit():
                word_ascii = True
            if fl & F_CONFUSABLE:
                word_conf = True
        else:
            st["mixed"] += in_word and word_ascii and word_conf
            in_word = False
    st["mixed"] += in_word and word_ascii and word_conf
    return st


def count_phones(norm: bytes) -> int:
    return sum(1 for m in _PHONE.finditer(norm) if 10 <= sum(c.isdigit() for c in m.group().decode()) <= 15)


def count_money(norm: bytes) -> int:
    n = 0
    for m in _MONEY.finditer(norm):
        s, e = m.span()
        before = (s >= 1 and norm[s - 1:s].isdigit()) or (s >= 2 and norm[s - 1] == 32 and norm[s - 2:s - 1].isdigit())
        after = (e < len(norm) and norm[e:e + 1].isdigit()) or (
            e + 1 < len(norm) and norm[e] == 32 and norm[e + 1:e + 2].isdigit())
        n += before or after
    return n


@functools.cache
def _phrase_patterns() -> list[list[bytes]]:
    table = lists.phrases()
    return [[normalize_phrase(p) for p in table[f]] for f in FAMILIES]


@functools.cache
def _html_patterns() -> list[list[bytes]]:
    table = lists.html_tricks()
    return [[normalize_html(p.encode()) for p in table[f]] for f in HTML_FAMILIES]


def family_counts(norm: bytes) -> list[int]:
    return [sum(count_occurrences(norm, p, True) for p in pats) for pats in _phrase_patterns()]


def content_row(m: Message) -> list[float]:
    subj = m.subject.subject
    body = m.body.text if m.body.text else m.body.html_text
    s_st, b_st = text_stats(subj), text_stats(body)
    s_norm, b_norm = normalize_text(subj), normalize_text(body)
    fam_s, fam_b = family_counts(s_norm), family_counts(b_norm)
    s_phones = count_phones(s_norm)
    phones = s_phones + count_phones(b_norm)
    money = count_money(s_norm) + count_money(b_norm)
    totals = [a + b for a, b in zip(fam_s, fam_b, strict=True)]
    callback = FAMILIES.index("callback")
    row = [
        s_st["cp"], _ratio(s_st["upper"], s_st["alpha"]), _ratio(s_st["nonascii"], s_st["cp"]),
        s_st["zw"] + s_st["invis"], s_st["mixed"], s_st["excl"],
        b_st["cp"], b_st["words"], _ratio(b_st["upper"], b_st["alpha"]), _ratio(b_st["nonascii"], b_st["cp"]),
        _ratio(b_st["digit"], b_st["cp"]), b_st["excl"], b_st["zw"], b_st["invis"], b_st["bidi"], b_st["mixed"],
        _ratio(b_st["mixed"], b_st["words"]), money, phones, float(s_phones > 0),
        sum(1 for t in totals if t > 0), float(totals[callback] > 0 and phones > 0),
        *totals, *(float(c > 0) for c in fam_s),
    ]
    raw = enc(m.body.html_raw)
    if raw:
        norm = normalize_html(raw, HTML_CAP)
        counts = [sum(count_occurrences(norm, p, False) for p in pats) for pats in _html_patterns()]
        row += [1.0, len(raw), len(enc(m.body.html_text)) / len(raw), *counts]
    else:
        row += [0.0, 0.0, NAN, *([0] * len(HTML_FAMILIES))]
    return row


# ---------------------------------------------------------------- tenant context


class RefTenant:
    """A tenant's lists as Python sets (what OrgTables holds as hashes)."""

    def __init__(self, config: TenantConfig) -> None:
        self.extra = {name: set(config.extra(name)) for name in lists.EXTRA_LIST_NAMES}
        self.own_roots, self.own_labels = set(), []
        for d in config.own_domains:
            root, tld = split_root(d)
            self.own_roots.add(root)
            self.own_labels.append(domain_label(root, tld).encode())
        self.has_own = bool(config.own_domains)
        self.brands = dict(config.brands) if config.brands is not None else lists.brands()
        self.legit = {d for domains in self.brands.values() for d in domains}
        self.vip_keys: list[bytes] = []
        for p in config.vips:
            key = name_key(p.name)
            if key:
                tokens = key.split(" ")
                self.vip_keys += ["".join(tokens).encode(), "".join(reversed(tokens)).encode()]
        self.has_vips = bool(config.vips)
        self.vip_addresses = {p.address for p in config.vips if p.address}
        self.finance = {p.address for p in config.finance_staff if p.address}
        self.has_finance = bool(config.finance_staff)

    def in_list(self, name: str, host: bytes) -> bool:
        base = lists.domain_list(name)
        cands = [host] + [host[i + 1:] for i, c in enumerate(host) if c == 46]
        return any(c.decode("utf-8", "replace") in base or c.decode("utf-8", "replace") in self.extra[name]
                   for c in cands)

    def suspicious_tld(self, host: bytes) -> bool:
        label = host.rsplit(b".", 1)[-1].decode("utf-8", "replace")
        return label in lists.suspicious_tlds() or label in self.extra["suspicious_tlds"]


def same_org(x: bytes, root: bytes) -> bool:
    x, root = alower(x), alower(root)
    return bool(root) and (x == root or x.endswith(b"." + root))


def find_domain_token(text: bytes) -> bytes | None:
    tlds = lists.tlds()
    for m in re.finditer(rb"[A-Za-z0-9.\-]+", text):
        tok = m.group().strip(b".-")
        dot = tok.rfind(b".")
        tld = tok[dot + 1:]
        if dot > 0 and len(tld) >= 2 and tld.isalpha() and alower(tld).decode() in tlds:
            return tok
    return None


# ---------------------------------------------------------------- links


def _authority(orig: bytes) -> bytes | None:
    i = orig.find(b"://")
    if i < 0:
        return None
    rest = orig[i + 3:]
    return re.split(rb"[/?#]", rest, maxsplit=1)[0]


def _odd_port(auth: bytes) -> bool:
    host = auth.rsplit(b"@", 1)[-1] if b"@" in auth else auth
    if host.startswith(b"["):
        j = host.find(b"]")
        host = host[j:] if j >= 0 else b""
    i = host.find(b":")
    if i < 0:
        return False
    port = host[i + 1:]
    return bool(port) and port.isdigit() and port not in (b"80", b"443")


def _ip_host(host: bytes) -> bool:
    if not host:
        return False
    if host[0] == 91:
        return True
    dots = 0
    for c in host:
        if c == 58:
            return True
        if c == 46:
            dots += 1
        elif not 48 <= c <= 57:
            return False
    return dots == 3


def _obfuscated_host(host: bytes) -> bool:
    if not host:
        return False
    if b"%" in host:
        return True
    labels = alower(host).split(b".")
    if any(label.startswith(b"0x") for label in labels):
        return True
    return host.isdigit()


def _confusable(s: str) -> bool:
    return any(_flag(ord(ch)) & F_CONFUSABLE for ch in s)


def _ext_category(ext: bytes) -> int:
    ext_cat, _, _ = lists.attachment_types()
    cat = ext_cat.get(alower(ext).decode("utf-8", "replace"))
    return -1 if cat is None else ATTACHMENT_CATEGORIES.index(cat)


def link_rows(m: Message, tenant: RefTenant) -> list[float]:
    c = [0.0] * 30
    hosts, roots = set(), []
    max_len, max_depth, max_hyph, same_sender, n_hosts = 0, -1, -1, 0, 0
    sender_root = enc(m.sender.email.domain.root_domain)
    login = [w.encode() for w in lists.login_words()]
    redirect = [w.encode() for w in lists.redirect_markers()]
    for link in m.links:
        u = link.href_url
        c[0] += 1
        c[1] += alower(link.source) == b"html"
        ulen = len(enc(u.url))
        max_len = max(max_len, ulen)
        c[14] += ulen > link_mod.LONG_URL
        scheme = alower(u.scheme)
        c[19] += scheme == b"data"
        c[20] += scheme == b"javascript"
        c[21] += scheme == b"mailto"
        c[22] += scheme in (b"tel", b"sms", b"callto")
        c[23] += scheme == b"http"
        if scheme not in (b"http", b"https"):
            continue
        host, root, orig = enc(u.domain.domain), enc(u.domain.root_domain), enc(u.original)
        auth = _authority(orig)
        if auth is not None:
            c[18] += b"@" in auth
            c[24] += _odd_port(auth)
        c[16] += _obfuscated_host(host) or orig.count(b"%") >= link_mod.MANY_ESCAPES
        words = alower(u.path) + b"?" + alower(u.query)
        c[13] += any(w in words for w in login)
        c[10] += any(w in words for w in redirect)
        seg = enc(u.path).rsplit(b"/", 1)[-1]
        if b"." in seg:
            cat = _ext_category(seg.rsplit(b".", 1)[1])
            c[29] += cat >= 0 and ATTACHMENT_CATEGORIES[cat] in link_mod.LINK_RISKY_CATEGORIES
        if not host:
            continue
        n_hosts += 1
        c[2] += alower(host) not in hosts
        hosts.add(alower(host))
        roots.append(alower(root))
        c[4] += _ip_host(host)
        c[5] += bool(u.domain.punycode) or b"xn--" in alower(host)
        c[6] += _confusable(u.domain.domain)
        lhost = alower(host)
        c[7] += tenant.in_list("shorteners", lhost)
        c[8] += tenant.in_list("free_hosting", lhost)
        c[9] += tenant.in_list("file_sharing", lhost)
        c[17] += tenant.suspicious_tld(lhost)
        token = find_domain_token(enc(link.display_text))
        if token is not None:
            c[12] += 1
            c[11] += bool(root) and not same_org(token, root)
        if root:
            max_depth = max(max_depth, host.count(b".") - root.count(b"."))
            same_sender += bool(sender_root) and alower(root) == alower(sender_root)
        max_hyph = max(max_hyph, host.count(b"-"))
        if any(k.encode() in lhost for k in tenant.brands):
            c[28] += alower(root).decode("utf-8", "replace") not in tenant.legit
    c[3] = len(set(roots))
    c[15] = max_len
    c[25] = NAN if max_depth < 0 else max_depth
    c[26] = NAN if max_hyph < 0 else max_hyph
    c[27] = NAN if n_hosts == 0 or not sender_root else same_sender / n_hosts
    return c


# ---------------------------------------------------------------- attachments


def _double_extension(name: bytes) -> bool:
    name = name.rstrip(b" \t")
    i1 = name.rfind(b".")
    if i1 < 0:
        return False
    cat1 = _ext_category(name[i1 + 1:])
    if cat1 < 0 or ATTACHMENT_CATEGORIES[cat1] not in RISKY_CATEGORIES:
        return False
    front = name[:i1].rstrip(b" \t")
    for i in range(len(front) - 1, -1, -1):
        if front[i] == 46:
            ext0 = front[i + 1:]
            if not 1 <= len(ext0) <= 5:
                return False
            cat0 = _ext_category(ext0)
            return cat0 >= 0 and cat0 != cat1
        if front[i] == 47:
            return False
    return False


def attachment_row(m: Message) -> list[float]:
    ext_cat, type_cat, compatible = lists.attachment_types()
    cats = ATTACHMENT_CATEGORIES
    n_cat = len(cats)
    row = [0.0] * len(att_mod.SIGNALS)
    base = 1 + n_cat
    total = 0.0
    for a in m.attachments:
        row[0] += 1
        ext, typ = alower(a.file_extension).decode("utf-8", "replace"), alower(a.file_type).decode("utf-8", "replace")
        ecat = cats.index(ext_cat[ext]) if ext and ext in ext_cat else -1
        tcat = cats.index(type_cat[typ]) if typ and typ in type_cat else -1
        if ecat >= 0 and tcat >= 0 and ecat != tcat:
            if typ in compatible.get(ext, ()):
                tcat = -1
            else:
                row[base + 1] += 1
        if ecat >= 0:
            row[1 + ecat] += 1
        if tcat >= 0 and tcat != ecat:
            row[1 + tcat] += 1
        row[base] += (ecat >= 0 and cats[ecat] in RISKY_CATEGORIES) or (tcat >= 0 and cats[tcat] in RISKY_CATEGORIES)
        row[base + 2] += _double_extension(enc(a.file_name))
        if a.encrypted:
            row[base + 3] += 1
            row[base + 4] += cats.index("archive") in (ecat, tcat)
        row[base + 5] += len(a.archive_members)
        row[base + 7] += cats.index("pdf") in (ecat, tcat) and a.size < att_mod.TINY_PDF_BYTES
        total += a.size
        row[base + 9] += any(_flag(ord(ch)) & F_BIDI for ch in a.file_name)
        row[base + 10] += a.file_extension == ""
        for member in a.archive_members:
            b = enc(member)
            cut = max(b.rfind(b"/"), b.rfind(b"\\"))
            dot = b.rfind(b".")
            if dot > cut:
                cat = _ext_category(b[dot + 1:])
                row[base + 6] += cat >= 0 and cats[cat] in RISKY_CATEGORIES
    row[base + 8] = total / 1024.0
    return row


# ---------------------------------------------------------------- headers


def _starts_ci(value: bytes, word: bytes) -> bool:
    return alower(value.lstrip(b" \t")).startswith(word)


def _prefix(subject: bytes, words: Sequence[str]) -> bool:
    s = subject.lstrip(b" \t")
    return any(len(s) > len(w) and s[len(w)] == 58 and alower(s[:len(w)]) == w.encode() for w in words)


def _mailer_families(mailer: str) -> list[bool]:
    low = alower(enc(mailer)[:4096])
    tokens = lists.mailer_tokens()
    return [any(count_occurrences(low, t.encode(), True) for t in tokens[f]) for f in MAILER_FAMILIES]


def header_row(m: Message) -> list[float]:
    h = m.headers
    sender_root = enc(m.sender.email.domain.root_domain)
    sender_email = enc(m.sender.email.email)
    row: list[float] = []
    for name in ("spf", "dkim", "dmarc"):
        check = getattr(h.auth_summary, name)
        if not check.result:
            row += [NAN, NAN]
        else:
            fail = alower(check.result) == b"fail" or (name == "spf" and alower(check.result) == b"softfail")
            row += [float(check.result == "pass"), float(fail)]
    for name in ("spf", "dkim"):
        dom = enc(getattr(h.auth_summary, name).domain)
        row.append(NAN if not dom or not sender_root else float(same_org(dom, sender_root)))
    row.append(len(h.reply_to))
    row.append(NAN if not h.reply_to or not sender_root else
               float(any(alower(r.email.domain.root_domain) != alower(sender_root) for r in h.reply_to)))
    rp = enc(h.return_path.domain.root_domain)
    row.append(NAN if not rp or not sender_root else float(alower(rp) != alower(sender_root)))
    sh = enc(h.sender.email.email)
    row.append(NAN if not sh else float(alower(sh) != alower(sender_email)))
    disp = enc(m.sender.display_name)
    row.append(float(any(disp[i] == 64 and _isalnum_byte(disp[i - 1]) and _isalnum_byte(disp[i + 1])
                         for i in range(1, len(disp) - 1))))
    token = find_domain_token(disp)
    row.append(float(token is not None))
    row.append(NAN if token is None or not sender_root else float(not same_org(token, sender_root)))
    mid = enc(h.message_id)
    row.append(float(not mid))
    at = mid.rfind(b"@")
    dom = re.split(rb"[> ]", mid[at + 1:], maxsplit=1)[0] if at >= 0 else b""
    row.append(NAN if not dom or not sender_root else float(not same_org(dom, sender_root)))
    raw = enc(h.date_raw)
    row += [float(not raw), float(bool(raw) and h.date is None),
            float(bool(raw) and re.search(rb"[+-][0-9]{4}", raw) is None)]
    times = [hop.time.timestamp() for hop in h.hops if hop.time is not None]
    skew = (times[0] - h.date.timestamp()) / 3600.0 if times and h.date is not None else NAN
    row += [skew, NAN if math.isnan(skew) else float(skew < -1.0), len(h.hops),
            (max(times) - min(times)) / 3600.0 if len(times) >= 2 else NAN]
    fams = _mailer_families(h.mailer)
    row += [float(bool(h.mailer)), *map(float, fams), float(bool(h.mailer) and not any(fams))]
    row += [float(bool(h.list.id)), float(bool(h.list.unsubscribe)), float(bool(h.list.post)),
            float(any(_starts_ci(enc(h.list.precedence), w) for w in (b"bulk", b"list", b"junk")))]
    bulk_names = lists.bulk_headers()
    bulk, high, php = 0, 0.0, 0.0
    for name, value in h.fields:
        key = alower(name).decode("utf-8", "replace")
        v = enc(value)
        if key in bulk_names:
            bulk += 1
        elif hdr_mod.PRIORITY_HEADERS.get(key) == 2:
            v = v.lstrip(b" ")
            high = 1.0 if v[:1] in (b"1", b"2") else high
        elif hdr_mod.PRIORITY_HEADERS.get(key) == 3:
            high = 1.0 if _starts_ci(v, b"high") else high
        elif hdr_mod.PRIORITY_HEADERS.get(key) == 4:
            high = 1.0 if _starts_ci(v, b"urgent") else high
        elif key in hdr_mod.PHP_HEADERS:
            php = 1.0
    row += [bulk, high, php]
    subj = enc(m.subject.subject)
    is_reply = _prefix(subj, hdr_mod.REPLY_PREFIXES)
    row += [float(bool(h.in_reply_to)), len(h.references), float(is_reply),
            float(_prefix(subj, hdr_mod.FORWARD_PREFIXES)),
            float(is_reply and not h.in_reply_to and not h.references)]
    r = m.recipients
    row += [len(r.to), len(r.cc), len(r.bcc), float(not r.to and not r.cc)]
    row.append(float(bool(sender_email) and any(alower(x.email.email) == alower(sender_email) for x in (*r.to, *r.cc))))
    row += [len(m.defects), float(not sender_email)]
    replies = [alower(x.email.email) for x in m.headers.reply_to]
    rcpt_emails = {alower(x.email.email) for x in (*r.to, *r.cc)}
    row.append(NAN if not replies else float(any(a and a in rcpt_emails for a in replies)))
    return row


# ---------------------------------------------------------------- identity


def skeleton(label: bytes) -> bytes:
    fold, _ = lists.char_tables()
    chars = []
    for ch in label[:LABEL_CAP].decode("utf-8", "ignore"):
        cp = ord(ch)
        chars.append(chr(int(fold[cp])) if cp < 0x10000 else ch)
    s = "".join(chars).encode("utf-8", "replace")
    out = bytearray()
    k = 0
    pairs = {b"rn": 109, b"vv": 119, b"cl": 100}
    single = {48: 111, 49: 108, 105: 108, 51: 101, 53: 115}
    while k < len(s):
        if s[k:k + 2] in pairs:
            out.append(pairs[s[k:k + 2]])
            k += 2
            continue
        c = s[k]
        k += 1
        if c in (45, 95):
            continue
        out.append(single.get(c, c))
    return bytes(out)


def levenshtein(a: bytes, b: bytes) -> int:
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j - 1] + (a[i - 1] != b[j - 1]), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return prev[-1]


def _close(d: int, eq: bool, n: int) -> bool:
    return eq or (d <= 1 and n >= 4) or (d <= 2 and n >= 8)


def _label_of(root: bytes, tld: bytes) -> bytes:
    if tld and len(root) > len(tld) + 1 and root.endswith(b"." + tld):
        return root[: -len(tld) - 1]
    return root.split(b".", 1)[0]


def _lookalike(label: bytes, targets: list[bytes], cap: int) -> tuple[int, bool, bool, bool]:
    """(distance, looks alike, skeleton match, same raw label) against target labels."""
    sk = skeleton(label)
    best, look, skel_eq, swap = cap, False, False, False
    for target in targets:
        tsk = skeleton(target)
        d = min(levenshtein(sk, tsk), cap)
        best = min(best, d)
        eq = sk == tsk
        raw_eq = alower(label) == alower(target)
        skel_eq |= eq and not raw_eq
        swap |= raw_eq
        look |= _close(d, eq, len(tsk))
    return best, look, skel_eq, swap


def identity_row(m: Message, tenant: RefTenant) -> list[float]:
    cap = id_mod.DISTANCE_CAP
    d = m.sender.email.domain
    dom, root, tld = enc(d.domain), enc(d.root_domain), enc(d.tld)
    row = [NAN] * len(id_mod.SIGNALS)
    if dom:
        ldom = alower(dom)
        row[0] = float(tenant.in_list("free_mail", ldom))
        row[3] = float(tenant.suspicious_tld(ldom))
        row[4] = float(b"xn--" in ldom or any(c >= 0x80 for c in dom))
        row[5] = float(_confusable(d.domain))
        row[6] = dom.count(b"-")
        row[7] = sum(48 <= c <= 57 for c in dom)
        row[8] = len(dom)
        row[9] = dom.count(b".") - root.count(b".") if root else NAN
    if m.headers.reply_to:
        row[1] = float(any(tenant.in_list("free_mail", alower(r.email.domain.domain))
                           and alower(r.email.domain.root_domain) != alower(root) for r in m.headers.reply_to))
    rp = enc(m.headers.return_path.domain.domain)
    row[2] = NAN if not rp else float(tenant.in_list("free_mail", alower(rp)))
    local = enc(m.sender.email.local_part)
    row[10] = len(local)
    row[11] = sum(48 <= c <= 57 for c in local) / len(local) if local else NAN
    row[12] = float(not m.sender.display_name)
    label = _label_of(root, tld) if root else b""
    lroot = alower(root).decode("utf-8", "replace")
    is_own = bool(root) and lroot in tenant.own_roots
    if tenant.has_own and root:
        row[13] = float(is_own)
        if is_own:
            row[14:18] = [NAN, 0.0, 0.0, 0.0]
        else:
            dist, look, skel_eq, swap = _lookalike(label, tenant.own_labels, cap)
            row[14:18] = [dist, float(look), float(skel_eq), float(swap)]
    legit = bool(root) and lroot in tenant.legit
    if root:
        row[18] = float(legit)
        if legit:
            row[19:24] = [NAN, 0.0, 0.0, 0.0, 0.0]
        else:
            keys = [k.encode() for k in tenant.brands]
            dist, look, skel_eq, swap = _lookalike(label, keys, cap)
            inside = any(k in alower(dom) and alower(label) != k for k in keys)
            row[19:24] = [dist, float(look), float(skel_eq), float(swap), float(inside)]
    key = enc(name_key(m.sender.display_name))
    named = False
    for k in tenant.brands:
        kb = k.encode()
        for i in range(len(key) - len(kb) + 1):
            e = i + len(kb)
            if key[i:e] == kb and (i == 0 or key[i - 1] == 32) and (e == len(key) or key[e] == 32 or 48 <= key[e] <= 57):
                named = True
    row[24] = float(named)
    row[25] = float(named and not legit)
    if not tenant.has_vips:
        row[26:29] = [NAN, NAN, NAN]
    elif not key:
        row[26:29] = [NAN, 0.0, 0.0]
    else:
        flat = key.replace(b" ", b"")
        best, match = cap, False
        for vk in tenant.vip_keys:
            dist = min(levenshtein(flat, vk), cap)
            best = min(best, dist)
            if dist == 0 or (dist <= 1 and len(vk) >= 6) or (len(vk) >= 6 and vk in flat):
                match = True
        external = alower(m.sender.email.email).decode("utf-8", "replace") not in tenant.vip_addresses and not is_own
        row[26:29] = [best, float(match), float(match and external)]
    rcpts = [alower(x.email.email).decode("utf-8", "replace") for x in (*m.recipients.to, *m.recipients.cc)]
    row[29] = sum(r in tenant.vip_addresses for r in rcpts) if tenant.has_vips else NAN
    row[30] = sum(r in tenant.finance for r in rcpts) if tenant.has_finance else NAN
    if tenant.has_own and root:
        row[31] = float(is_own and any(alower(r.email.domain.root_domain).decode("utf-8", "replace")
                                       not in tenant.own_roots for r in m.headers.reply_to))
    return row


# ---------------------------------------------------------------- all groups

GROUP_ORDER = ("content", "links", "attachments", "headers", "identity")


def reference_features(messages: Sequence[Message], context: ScoringContext | None = None) -> np.ndarray:
    """The feature matrix of the five message groups (content ... identity), one message at a time."""
    tenants = list(context.tenants) if context is not None else [""] * len(messages)
    configs = context.tenant_configs if context is not None else {}
    cache: dict[str, RefTenant] = {}
    rows = []
    for m, t in zip(messages, tenants, strict=True):
        if t not in cache:
            cache[t] = RefTenant(config_for(configs, t))
        tenant = cache[t]
        rows.append(content_row(m) + link_rows(m, tenant) + attachment_row(m) + header_row(m)
                    + identity_row(m, tenant))
    return np.array(rows, dtype=np.float64).astype(FEATURE_DTYPE).reshape(len(messages), -1)


def reference_names() -> list[str]:
    from pyscore.signals import attachments, content, headers, identity, links

    return [s.name for mod in (content, links, attachments, headers, identity) for s in mod.SIGNALS]

