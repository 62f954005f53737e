"""This module contains a generator of random messages that exercise every signal.

Used by the kernel-versus-reference tests and by the benchmark when the real
corpora are absent: subjects and bodies mixing phrase-list entries, words,
zero-width characters, Cyrillic look-alikes, phone numbers and amounts; links
to brands, shorteners, IPs and punycode hosts; attachments with disguised
names; headers with every authentication result. Deterministic per seed.
"""

from __future__ import annotations

import datetime as dt
import random

from pyscore.message import (
    Attachment,
    AuthCheck,
    AuthSummary,
    Body,
    Defect,
    EmailAddress,
    Headers,
    Hop,
    Link,
    ListHeaders,
    Mailbox,
    Message,
    Recipients,
    Subject,
)
from pyscore.signals import lists
from pyscore.signals.tenant import TenantConfig

WORDS = ("the", "your", "account", "meeting", "report", "please", "Thanks", "regards", "project", "update",
         "conta", "factura", "Rechnung", "pakket", "colis", "urgent", "Payment", "VERIFY", "dear", "team",
         "naïve", "café", "Übersicht", "日本語", "emoji😀", "12", "2024", "ok!", "re:", "x.com", "a-b", "@")
ODD_CHARS = ("\u200b", "\u200d", "\u00ad", "\u202e", "\u2066", "\ufeff", "\u00a0", "\t", "\n", "  ", "\u0430",
             "\u043e", "\u0440", "\u0435", "\uff41", "\u0391", "\U0001d400", "\u023a", "İ", "ß", "$", "€", "£",
             "¥", "₹", "USD", "eur", "R$", "(", ")", "+", "-", ".", "!")
HTML_SNIPPETS = ("<div style='display: none'>", "<span style=\"font-size:0px\">", "<FORM action='x'>",
                 "<input type=\"password\">", "<script>", "<img src=\"data:image/png;base64,AAA\">",
                 "<meta http-equiv=\"refresh\" content=\"0\">", "<!-- c -->", "<p>", "color:#FFFFFF",
                 "<iframe src=x>", " onload=", "<a href='javascript:x'>", "<EMBED src=x>")
HOSTS = ("paypal.com", "www.paypal.com", "paypal.com.secure-login.xyz", "paypa1.com", "pаypal.com", "bit.ly",
         "192.168.0.1", "3232235777", "0x7f.0.0.1", "xn--pypal-4ve.com", "docs.google.com", "evil.tk",
         "sub.a.b.example.co.uk", "example.com", "acme-corp.com", "acme-c0rp.com", "dropbox.com", "microsoft-login.top",
         "weebly.com", "a-b-c.site", "EXAMPLE.ORG", "")
PATHS = ("", "/", "/login", "/signin/verify", "/redirect", "/url", "/file.exe", "/doc.zip", "/a/b.html",
         "/wp-admin/x.php", "/%41%42", "/x.iso", "/CV.PDF")
QUERIES = ("", "url=http://x.com", "a=1&b=2", "next=%2F%2Fevil", "u=https%3A%2F%2Fx", "q=reset")
SCHEMES = ("http", "https", "https", "mailto", "tel", "javascript", "data", "HTTP", "ftp", "")
DOMAINS = ("gmail.com", "acme-corp.com", "acme-c0rp.com", "acme-corp.net", "paypal.com", "paypa1.com",
           "pаypal.com", "paypal-support.net", "example.co.uk", "mail.example.co.uk", "evil.tk", "yahoo.com",
           "microsoft.com", "rnicrosoft.com", "amazon.de", "amaz0n.shop", "xn--80ak6aa92e.com", "paypal.co", "")
NAMES = ("Jane Doe", "Doe, Jane", "JANE DOE (CEO)", "Jаne Dоe", "PayPal Service", "Microsoft 365", "support@paypal.com",
         "John Smith", "groups team", "", "Bob Stone", "Amazon", "DHL Express", "x.com support", "Équipe Sécurité")
EXTS = ("pdf", "docx", "docm", "zip", "exe", "js", "html", "svg", "iso", "lnk", "one", "ics", "png", "", "PDF",
        "7z", "xlsm", "txt", "img", "vhd", "eml")
TYPES = ("pdf", "zip", "exe", "pe", "ole", "html", "text", "png", "iso", "", "gzip", "ooxml", "rar")
MAILERS = ("Microsoft Outlook 16.0", "PHPMailer 6.1", "Apple Mail (2.3)", "Mozilla Thunderbird", "python-requests",
           "", "Sendinblue", "mutt/2.0", "SuperMailer", "microsoft cdo for windows 2000", "Roundcube Webmail/1.4")
RESULTS = (None, "pass", "fail", "softfail", "neutral", "none", "temperror", "PASS", "")
FIELD_NAMES = ("X-Priority", "Importance", "Priority", "Feedback-ID", "X-PHP-Originating-Script", "X-Campaign",
               "List-Unsubscribe-Post", "X-Other", "Received", "x-msmail-priority")
FIELD_VALUES = ("1 (Highest)", "high", "urgent", "3", " 2", "normal", "x", "High", "")


def _domain(host: str):
    from pyscore.domains import make_domain

    return make_domain(host)


def _text(r: random.Random, n: int) -> str:
    phrases = lists.phrases()
    parts = []
    for _ in range(n):
        k = r.random()
        if k < 0.25:
            family = r.choice(lists.FAMILIES)
            p = r.choice(phrases[family])
            if r.random() < 0.3:
                p = p.upper()
            if r.random() < 0.2 and len(p) > 2:
                i = r.randrange(1, len(p))
                p = p[:i] + r.choice(("\u200b", "\u0430", "\u200d", "\u00ad")) + p[i:]
            parts.append(p)
        elif k < 0.35:
            parts.append(r.choice(("+1 (800) 555-0199", "0800 123 4567", "555-0100", "12345678901234567",
                                   "$ 1,500.00", "200 EUR", "€99", "1 btc", "usd 5")))
        elif k < 0.5:
            parts.append(r.choice(ODD_CHARS))
        else:
            parts.append(r.choice(WORDS))
    return r.choice((" ", "", "\n")).join(parts)


def _mailbox(r: random.Random) -> Mailbox:
    domain = r.choice(DOMAINS)
    local = r.choice(("jane", "jane.doe", "info", "x123", "bob", "ceo", ""))
    address = f"{local}@{domain}" if domain else ""
    return Mailbox(email=EmailAddress(address, local if domain else "", _domain(domain)), display_name=r.choice(NAMES))


def _link(r: random.Random) -> Link:
    from pyscore.domains import make_url

    scheme = r.choice(SCHEMES)
    host = r.choice(HOSTS)
    if scheme.lower() in ("mailto", "tel", "javascript", "data"):
        raw = f"{scheme}:{r.choice(('a@b.com', '+18005550199', 'alert(1)', 'text/html,x'))}"
    else:
        auth = r.choice(("", "user@", "")) + host + r.choice(("", ":8080", ":443", ""))
        raw = f"{scheme}://{auth}{r.choice(PATHS)}" + (f"?{q}" if (q := r.choice(QUERIES)) else "")
        if r.random() < 0.05:
            raw += "/" + "a" * 250
    text = r.choice(("click here", "https://www.paypal.com/", "www.microsoft.com", "example.com", "", "Mr.Smith",
                     host, "j.r. smith", "support@paypal.com"))
    return Link(href_url=make_url(raw), display_text=text, source=r.choice(("html", "text", "HTML")))


def _attachment(r: random.Random) -> Attachment:
    ext = r.choice(EXTS)
    name = r.choice(("invoice", "scan.pdf", "report.doc  ", "photo", "a/b", "\u202egpj"))
    name = f"{name}.{ext}" if ext else name
    members = tuple(r.choice(("x.exe", "dir/y.js", "z.txt", "a\\b.lnk", "noext", "c.PDF")) for _ in range(r.randrange(3)))
    return Attachment(file_name=name, file_extension=ext.lower(), file_type=r.choice(TYPES), size=r.randrange(0, 60000),
                      encrypted=r.random() < 0.2, archive_members=members)


def _time(r: random.Random) -> dt.datetime | None:
    if r.random() < 0.2:
        return None
    return dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=r.randrange(0, 10**6))


def random_message(r: random.Random) -> Message:
    sender = _mailbox(r)
    date = _time(r)
    headers = Headers(
        from_=sender,
        reply_to=tuple(_mailbox(r) for _ in range(r.choice((0, 0, 1, 2)))),
        return_path=_mailbox(r).email if r.random() < 0.7 else EmailAddress(),
        sender=_mailbox(r) if r.random() < 0.1 else Mailbox(),
        message_id=r.choice(("", "<a@b.com>", f"<x.y@mail.{sender.email.domain.domain}>", "<nodomain>",
                             "<a@b@acme-corp.com>", "<1@ >")),
        in_reply_to=r.choice(("", "<p@q>")),
        references=tuple("<r@s>" for _ in range(r.choice((0, 0, 2)))),
        date=date,
        date_raw=r.choice(("", "Mon, 1 Jan 2001 00:00:00 +0000", "garbage", "Tue, 2 Feb 2010 10:00 GMT"))
        if date is None else "Wed, 1 Jan 2020 12:00:00 -0500",
        mailer=r.choice(MAILERS),
        list=ListHeaders(id=r.choice(("", "<l.x>")), unsubscribe=r.choice(("", "<mailto:u>")), post=r.choice(("", "", "<mailto:l@x>")),
                         precedence=r.choice(("", "bulk", " List", "junk", "first-class"))),
        auth_summary=AuthSummary(*(AuthCheck(r.choice(RESULTS), r.choice(DOMAINS)) for _ in range(3))),
        hops=tuple(Hop(index=i, time=_time(r)) for i in range(r.randrange(4))),
        fields=tuple((r.choice(FIELD_NAMES), r.choice(FIELD_VALUES)) for _ in range(r.randrange(5))),
    )
    html = "".join(r.choice(HTML_SNIPPETS) + _text(r, 3) for _ in range(r.randrange(4)))
    text = _text(r, r.randrange(0, 40)) if r.random() < 0.8 else ""
    return Message(
        sender=sender,
        headers=headers,
        recipients=Recipients(to=tuple(_mailbox(r) for _ in range(r.randrange(3))),
                              cc=tuple(_mailbox(r) for _ in range(r.choice((0, 0, 1)))),
                              bcc=tuple(_mailbox(r) for _ in range(r.choice((0, 0, 1))))),
        subject=Subject(r.choice(("", "RE: ", "Fwd: ", "AW:", " re:", "Re")) + _text(r, r.randrange(0, 8))),
        body=Body(text=text, html_raw=html, html_text=_text(r, 5) if html else ""),
        links=tuple(_link(r) for _ in range(r.choice((0, 1, 2, 5, 12)))),
        attachments=tuple(_attachment(r) for _ in range(r.choice((0, 0, 1, 3)))),
        defects=tuple(Defect("bad_base64") for _ in range(r.choice((0, 0, 1)))),
        size=r.randrange(100, 100000),
    )


def random_messages(n: int, seed: int = 0) -> list[Message]:
    r = random.Random(seed)
    return [random_message(r) for _ in range(n)]


def sample_tenants() -> dict[str, TenantConfig]:
    """Two organisations: one with own domains, VIPs and finance staff, one with its own brand list."""
    acme = TenantConfig.from_dict({
        "tenant_id": "acme",
        "own_domains": ["acme-corp.com"],
        "vips": [{"name": "Jane Doe", "address": "jane@acme-corp.com"}, {"name": "Bob Stone"}],
        "finance_staff": [{"name": "Bob", "address": "bob@acme-corp.com"}],
        "extra_lists": {"free_mail": ["example.co.uk"], "suspicious_tlds": ["net"]},
    })
    other = TenantConfig.from_dict({
        "tenant_id": "other",
        "own_domains": ["example.com"],
        "brands": {"paypal": ["paypal.com"], "contoso": ["contoso.com"], "amazon": ["amazon.com"]},
    })
    return {"acme": acme, "other": other}
