"""Tests of pyscore.mime: every Message field and every malformed case, on hand-written messages."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import io
import re
import tarfile
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyscore import mime, mime_html
from pyscore.mime import DEFAULT_STRIP_HEADERS, ParseLimits, parse


def msg(*header_lines: str, body: str | bytes = "", crlf: bool = False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    head = nl.join(header_lines).encode("utf-8")
    if isinstance(body, str):
        body = body.replace("\n", nl).encode("utf-8")
    return head + (nl + nl).encode() + body


def kinds(m) -> list[str]:
    return [d.kind for d in m.defects]


def problems(m) -> list[str]:
    """Defect kinds other than absent headers (the small test messages often omit them)."""
    return [k for k in kinds(m) if not k.startswith("missing_")]


SIMPLE = msg(
    'From: "Jane Doe" <Jane.Doe@Example.CO.UK>',
    "To: Bob <bob@example.com>, carol@example.org",
    "Cc: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>",
    "Bcc: hidden@example.net",
    "Reply-To: Replies <reply@other.example>, second@other.example",
    "Return-Path: <bounce@mailer.example.com>",
    "Sender: Agent <agent@example.com>",
    "Message-ID: <abc@example.co.uk>",
    "In-Reply-To: <prev@example.com>",
    "References: <one@example.com> <prev@example.com>",
    "Date: Mon, 14 May 2001 16:39:00 -0700 (PDT)",
    "Subject: =?utf-8?b?SGVsbG8gd29ybGQ=?=",
    "X-Mailer: TestMailer 1.0",
    "List-Id: <list.example.com>",
    "List-Unsubscribe: <mailto:unsub@example.com>",
    "Precedence: Bulk",
    "Received: from mail.example.com (mail.example.com [192.0.2.7])",
    "\tby mx.example.net with ESMTPS id abc; Mon, 14 May 2001 16:39:05 -0700",
    "Received: from [198.51.100.3] by mail.example.com with SMTP; Mon, 14 May 2001 16:39:01 -0700",
    "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=bounce@mailer.example.com;",
    " dkim=fail header.d=example.co.uk; dmarc=none header.from=example.co.uk",
    "X-Spam-Status: Yes, score=9",
    "X-MS-Exchange-Organization-SCL: 9",
    "Content-Type: text/plain; charset=utf-8",
    body="Hello Bob,\nsee https://www.example.com/path?q=1.\n\nOn Sun, May 13, 2001 at 9:00 AM Bob <bob@example.com> wrote:\n> earlier\n",
)


class TestHeaders:
    def test_sender_and_from(self):
        m = parse(SIMPLE)
        assert m.sender.display_name == "Jane Doe"
        assert m.sender.email.email == "jane.doe@example.co.uk"
        assert m.sender.email.local_part == "jane.doe"
        assert m.sender.email.domain.domain == "example.co.uk"
        assert m.sender.email.domain.root_domain == "example.co.uk"
        assert m.sender.email.domain.tld == "co.uk"
        assert m.headers.from_ == m.sender

    def test_address_headers(self):
        h = parse(SIMPLE).headers
        assert [(r.display_name, r.email.email) for r in h.reply_to] == [
            ("Replies", "reply@other.example"), ("", "second@other.example")]
        assert h.return_path.email == "bounce@mailer.example.com"
        assert h.return_path.domain.root_domain == "example.com"
        assert (h.sender.display_name, h.sender.email.email) == ("Agent", "agent@example.com")

    def test_ids_date_mailer_lists(self):
        h = parse(SIMPLE).headers
        assert h.message_id == "<abc@example.co.uk>"
        assert h.in_reply_to == "<prev@example.com>"
        assert h.references == ("<one@example.com>", "<prev@example.com>")
        assert h.date == dt.datetime(2001, 5, 14, 23, 39, tzinfo=dt.UTC)
        assert h.date.utcoffset() == dt.timedelta(hours=-7)
        assert h.date_raw == "Mon, 14 May 2001 16:39:00 -0700 (PDT)"
        assert h.mailer == "TestMailer 1.0"
        assert h.list.id == "<list.example.com>"
        assert h.list.unsubscribe == "<mailto:unsub@example.com>"
        assert h.list.precedence == "bulk"

    def test_user_agent_is_the_mailer_without_x_mailer(self):
        assert parse(msg("User-Agent: Mutt/2.0", "From: a@b.com")).headers.mailer == "Mutt/2.0"

    def test_auth_summary(self):
        auth = parse(SIMPLE).headers.auth_summary
        assert (auth.spf.result, auth.spf.domain, auth.spf.passed) == ("pass", "mailer.example.com", True)
        assert (auth.dkim.result, auth.dkim.domain, auth.dkim.passed) == ("fail", "example.co.uk", False)
        assert (auth.dmarc.result, auth.dmarc.domain) == ("none", "example.co.uk")

    def test_received_spf_when_no_authentication_results(self):
        m = parse(msg("Received-SPF: SoftFail (domain of x.example does not designate) "
                      "client-ip=192.0.2.1; envelope-from=<bounce@x.example>;", "From: a@b.com"))
        assert (m.headers.auth_summary.spf.result, m.headers.auth_summary.spf.domain) == ("softfail", "x.example")
        assert m.headers.auth_summary.dkim.passed is None

    def test_hops(self):
        hops = parse(SIMPLE).headers.hops
        assert [h.index for h in hops] == [0, 1]
        assert (hops[0].from_host, hops[0].from_ip, hops[0].by_host, hops[0].protocol) == (
            "mail.example.com", "192.0.2.7", "mx.example.net", "esmtps")
        assert hops[0].time == dt.datetime(2001, 5, 14, 23, 39, 5, tzinfo=dt.UTC)
        assert (hops[1].from_host, hops[1].from_ip, hops[1].by_host) == ("198.51.100.3", "198.51.100.3", "mail.example.com")

    def test_received_date_not_after_the_last_semicolon(self):
        m = parse(msg("Received: from a by b; Fri, 08 Mar 2024 22:15:30.941 +0000 (version=TLS1_2 cipher=X;)"))
        assert m.headers.hops[0].time == dt.datetime(2024, 3, 8, 22, 15, 30, tzinfo=dt.UTC)

    def test_keywords_inside_comments_are_not_clauses(self):
        (hop,) = parse(msg("Received: (qmail 1234 invoked by uid 0); 1 Jan 2002 10:00:00 -0000")).headers.hops
        assert (hop.from_host, hop.by_host) == ("", "")
        assert hop.time == dt.datetime(2002, 1, 1, 10, tzinfo=dt.UTC)

    def test_fields_are_decoded_and_verdicts_stripped(self):
        m = parse(SIMPLE)
        names = [n for n, _ in m.headers.fields]
        assert "X-Spam-Status" not in names and "X-MS-Exchange-Organization-SCL" not in names
        assert m.stripped_headers == ("X-Spam-Status", "X-MS-Exchange-Organization-SCL")
        assert dict(m.headers.fields)["Subject"] == "Hello world"
        assert dict(m.headers.fields)["Authentication-Results"].endswith("header.from=example.co.uk")

    def test_recipients(self):
        r = parse(SIMPLE).recipients
        assert [(x.display_name, x.email.email) for x in r.to] == [("Bob", "bob@example.com"), ("", "carol@example.org")]
        assert [(x.display_name, x.email.email) for x in r.cc] == [("Jörg", "joerg@example.de")]
        assert [x.email.email for x in r.bcc] == ["hidden@example.net"]

    @pytest.mark.parametrize(("value", "expected"), [
        ('"Doe, John" <j@x.com>, k@y.com', [("Doe, John", "j@x.com"), ("", "k@y.com")]),
        ("jdoe@x.com (John Doe)", [("John Doe", "jdoe@x.com")]),
        ("undisclosed-recipients:;", []),
        ("Team: a@x.com, b@x.com;", [("", "a@x.com"), ("", "b@x.com")]),
        ('"unclosed <a@x.com>', [("unclosed", "a@x.com")]),
        ("<A@X.COM>", [("", "a@x.com")]),
        ("Name Without Brackets a@x.com", [("Name Without Brackets", "a@x.com")]),
    ])
    def test_address_forms(self, value, expected):
        m = parse(msg(f"To: {value}"))
        assert [(x.display_name, x.email.email) for x in m.recipients.to] == expected

    def test_unquoted_comma_in_display_name(self):
        m = parse(msg("From: Doe, John <j@x.com>"))
        assert (m.sender.display_name, m.sender.email.email) == ("Doe, John", "j@x.com")
        assert "unquoted_display_name" in kinds(m)

    def test_multiple_from(self):
        m = parse(msg("From: a@x.com, b@y.com"))
        assert m.sender.email.email == "a@x.com"
        assert "multiple_from" in kinds(m)

    def test_subject(self):
        m = parse(msg("Subject: =?utf-8?q?Re:_caf=C3=A9?= =?utf-8?q?_ok?=  tail"))
        assert m.subject.subject == "Re: café ok  tail"
        assert m.subject.raw == "=?utf-8?q?Re:_caf=C3=A9?= =?utf-8?q?_ok?=  tail"

    def test_encoded_word_split_inside_a_character(self):
        # "é" is C3 A9: the two bytes arrive in two adjacent words
        m = parse(msg("Subject: =?utf-8?q?caf=C3?= =?utf-8?q?=A9?="))
        assert m.subject.subject == "café"

    def test_broken_encoded_word_kept_as_written(self):
        m = parse(msg("Subject: =?utf-8?b?@@@?= x"))
        assert m.subject.subject.endswith("x") and "bad_encoded_word" in kinds(m)

    def test_unknown_charset_in_encoded_word(self):
        m = parse(msg("Subject: =?x-klingon?q?abc?="))
        assert m.subject.subject == "abc" and "unknown_charset" in kinds(m)

    def test_non_utf8_header_bytes(self):
        raw = b"From: a@x.com\nSubject: caf\xe9\n\nbody"
        m = parse(raw)
        assert m.subject.subject == "café" and "non_utf8_header" in kinds(m)

    def test_missing_headers(self):
        m = parse(b"just a body line\n")
        assert {"missing_from", "missing_date", "missing_message_id"} <= set(kinds(m))
        assert m.sender.email.email == "" and m.headers.date is None

    def test_bad_date(self):
        m = parse(msg("Date: yesterday at noon"))
        assert m.headers.date is None and m.headers.date_raw == "yesterday at noon"
        assert "bad_date" in kinds(m)

    def test_date_without_zone_reads_as_utc(self):
        assert parse(msg("Date: 1 Jan 2020 10:00:00 -0000")).headers.date.tzinfo is not None


class TestStripping:
    def test_custom_and_disabled_stripping(self):
        raw = msg("From: a@x.com", "X-Spam-Flag: YES", "X-Custom-Verdict: bad")
        kept = parse(raw, strip_headers=())
        assert kept.stripped_headers == () and len(kept.headers.fields) == 3
        custom = parse(raw, strip_headers=["x-custom-*"])
        assert custom.stripped_headers == ("X-Custom-Verdict",)

    @pytest.mark.parametrize("name", [
        "X-Forefront-Antispam-Report", "X-Microsoft-Antispam-Mailbox-Delivery", "X-MS-Exchange-CrossTenant-Id",
        "X-Amavis-Alert", "X-Virus-Scanned", "X-Proofpoint-Spam-Details", "X-Mimecast-Spam-Score",
        "X-Barracuda-Spam-Score", "X-IronPort-Anti-Spam-Result", "X-Folder", "X-Origin", "X-FileName",
        "X-From", "X-To", "X-cc", "X-bcc",
    ])
    def test_default_list(self, name):
        m = parse(msg("From: a@x.com", f"{name}: v"))
        assert m.stripped_headers == (name,)
        assert name in DEFAULT_STRIP_HEADERS or any(p.endswith("*") for p in DEFAULT_STRIP_HEADERS)

    @pytest.mark.parametrize(("x_from", "name"), [
        ("Davis, Pete </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PDAVIS>", "Davis, Pete"),
        ('"Jane Doe" <jane@x.com>@ENRON', "Jane Doe"),
        ('"Matthew Nelson" <mnelson@pricegroup.com>@ENRON <IMCEANOTES-+22Matthew@ENRON.com>', "Matthew Nelson"),
        ("John Ale/HOU/AZURIX@ENRON <IMCEANOTES-John@ENRON.com>", "John Ale"),
        ("Public Relations@ENRON", "Public Relations"),
        ("Iris Mack", "Iris Mack"),
        ("someone@calltsc.com", ""),
        ("enron_update@concureworkplace.com@ENRON", ""),
    ])
    def test_enron_display_name_restored(self, x_from, name):
        m = parse(msg("From: pete.davis@enron.com", f"X-From: {x_from}", "X-To: someone"))
        assert m.sender.display_name == name
        assert m.sender.email.email == "pete.davis@enron.com"
        assert "X-From" in m.stripped_headers
        assert m.headers.from_.display_name == ""  # the From header itself is left as written

    def test_enron_name_never_replaces_a_real_one(self):
        m = parse(msg("From: Real Name <p@enron.com>", "X-From: Other, Name <x>"))
        assert m.sender.display_name == "Real Name"


ALT = msg(
    "From: a@x.com",
    'Content-Type: multipart/alternative; boundary="b1"',
    body=(
        "preamble\n--b1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        "Caf=E9 au lait=\n is good www.example.org/x\n"
        "--b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(
            '<html><head><style>p{color:red}</style><title>T</title></head><body><p>Caf\u00e9&nbsp;au lait</p>'
            '<script>var x = 1;</script><!-- hidden -->'
            '<a href="http://xn--80ak6aa92e.com/login?a=1&amp;b=2">Sign <b>in</b></a>'
            '<form action="https://collect.example.co.uk/post"></form></body></html>'.encode()
        ).decode()
        + "--b1--\nepilogue\n"
    ),
)


class TestBody:
    def test_plain_and_html(self):
        m = parse(ALT)
        assert m.body.text == "Café au lait is good www.example.org/x"
        assert "<script>" in m.body.html_raw
        assert "Café au lait" in m.body.html_text
        assert "Sign" in m.body.html_text and "var x" not in m.body.html_text
        assert "color:red" not in m.body.html_text and "hidden" not in m.body.html_text
        assert problems(m) == []

    def test_current_thread(self):
        assert parse(SIMPLE).body.current_thread_text == "Hello Bob,\nsee https://www.example.com/path?q=1."

    @pytest.mark.parametrize("text", [
        "New\n-----Original Message-----\nFrom: x\nold",
        "New\n\nFrom: Bob\nSent: Monday\nTo: me\n\nold",
        "New\n> quoted line\n",
        "New\n---------------------- Forwarded by A/HOU/ECT on 10/01/2001 ---\nold",
        "New\n\nJohn Doe@ENRON\n10/15/2001 10:33 AM\nTo: Jane/HOU/ECT@ECT\ncc:\nSubject: old\n",
        "New\n\nJohn Doe@ENRON\n10/15/2001 10:33 AM\n\nTo: Jane/HOU/ECT@ECT\ncc:\nSubject: old\n",
        "New\n\n\"Bob\" <bob@x.com> on 05/14/2001 04:39:12 PM\nTo: Jane/HOU/ECT@ECT\nSubject: old\n",
        "New\nOn Tue, 2 Jan 2024, Alice\n<a@x.com> wrote:\n> q",
    ])
    def test_current_thread_markers(self, text):
        assert parse(msg("From: a@x.com", body=text)).body.current_thread_text == "New"

    def test_inline_reply_keeps_the_answers_between_quotes(self):
        text = ("On Tue, Jan 16, 2018, A wrote:\n> question one\n> more\n\nAnswer one.\n\n"
                "> question two\n\nAnswer two.\n")
        assert parse(msg(body=text)).body.current_thread_text == "Answer one.\n\n\nAnswer two."

    def test_current_thread_from_html_when_no_plain_text(self):
        m = parse(msg("Content-Type: text/html", body="<p>Only html</p>"))
        assert m.body.current_thread_text == "Only html"

    def test_current_thread_of_a_gmail_html_reply(self):
        html = ('<div>Reply text</div><div class="gmail_quote"><div class="gmail_attr">On Mon, Jan 1, 2024 '
                'at 10:00 AM Bob &lt;<a href="mailto:b@x.com">b@x.com</a>&gt; wrote:<br></div>'
                "<blockquote>old text</blockquote></div>")
        m = parse(msg("Content-Type: text/html", body=html))
        assert m.body.current_thread_text == "Reply text"

    def test_html_fallback_without_selectolax(self, monkeypatch):
        html = ALT.decode()
        monkeypatch.setattr(mime_html, "LexborHTMLParser", None)
        m = parse(html.encode())
        assert "Café au lait" in m.body.html_text and "var x" not in m.body.html_text
        assert [link.href_url.original for link in m.links if link.source == "html"] == [
            "http://xn--80ak6aa92e.com/login?a=1&b=2", "https://collect.example.co.uk/post"]


class TestLinks:
    def test_anchor_form_and_bare_urls(self):
        links = parse(ALT).links
        html = [x for x in links if x.source == "html"]
        text = [x for x in links if x.source == "text"]
        assert html[0].href_url.original == "http://xn--80ak6aa92e.com/login?a=1&b=2"
        assert html[0].href_url.url == "http://аррӏе.com/login?a=1&b=2"
        assert html[0].href_url.domain.domain == "аррӏе.com"
        assert html[0].href_url.domain.punycode == "xn--80ak6aa92e.com"
        assert html[0].href_url.query == "a=1&b=2" and html[0].href_url.path == "/login"
        assert html[0].display_text == "Sign in"
        assert html[1].href_url.domain.root_domain == "example.co.uk" and html[1].display_text == ""
        assert [x.href_url.url for x in text] == ["http://www.example.org/x"]
        assert text[0].href_url.original == "www.example.org/x"

    def test_bare_url_punctuation(self):
        links = parse(msg(body="go to https://a.example.com/x. Or (http://b.example.com/y)")).links
        assert [x.href_url.url for x in links] == ["https://a.example.com/x", "http://b.example.com/y"]

    def test_link_limit(self):
        body = " ".join(f"http://h{i}.example.com/" for i in range(50))
        m = parse(msg(body=body), limits=ParseLimits(max_links=10))
        assert len(m.links) == 10 and "too_many_links" in kinds(m)


def _zip(members: dict[str, bytes], password_flag: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    raw = bytearray(buf.getvalue())
    if password_flag:  # set the "encrypted" flag bit in every local and central header
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            pos = raw.find(sig)
            while pos >= 0:
                raw[pos + off] |= 1
                pos = raw.find(sig, pos + 4)
    return bytes(raw)


def with_attachment(data: bytes, ctype: str = "application/octet-stream", name_param: str = 'filename="f.bin"',
                    extra_headers: str = "") -> bytes:
    return msg(
        "From: a@x.com",
        'Content-Type: multipart/mixed; boundary="XX"',
        body=(f"--XX\nContent-Type: text/plain\n\nsee attached\n--XX\nContent-Type: {ctype}\n"
              f"Content-Disposition: attachment; {name_param}\nContent-Transfer-Encoding: base64\n{extra_headers}\n"
              + base64.encodebytes(data).decode() + "--XX--\n"),
    )


class TestAttachments:
    def test_pdf_declared_as_image(self):
        data = b"%PDF-1.7\n1 0 obj\n<< /Encrypt 2 0 R >>\n"
        m = parse(with_attachment(data, "image/png", 'filename="Invoice.PNG"'))
        (a,) = m.attachments
        assert (a.file_name, a.file_extension, a.content_type, a.file_type) == ("Invoice.PNG", "png", "image/png", "pdf")
        assert a.size == len(data) and a.sha256 == hashlib.sha256(data).hexdigest()
        assert a.encrypted is True
        assert m.body.text == "see attached"

    def test_zip_members_nested_and_encrypted(self):
        inner = _zip({"payload.exe": b"MZ" + b"\0" * 100})
        outer = _zip({"readme.txt": b"hi", "inner.zip": inner})
        (a,) = parse(with_attachment(outer, "application/zip", 'filename="x.zip"')).attachments
        assert a.file_type == "zip" and a.encrypted is False
        assert a.archive_members == ("readme.txt", "inner.zip", "inner.zip/payload.exe")
        (b,) = parse(with_attachment(_zip({"doc.js": b"x"}, password_flag=True))).attachments
        assert b.encrypted is True and b.archive_members == ("doc.js",)

    def test_archive_depth_and_member_limits(self):
        inner = _zip({"payload.exe": b"MZ"})
        outer = _zip({f"f{i}.txt": b"x" for i in range(5)} | {"inner.zip": inner})
        limits = ParseLimits(max_archive_depth=1, max_archive_members=3)
        m = parse(with_attachment(outer), limits=limits)
        assert len(m.attachments[0].archive_members) == 3 and "too_many_archive_members" in kinds(m)

    def test_rfc2231_file_name(self):
        m = parse(with_attachment(b"hello", name_param="filename*=utf-8''na%C3%AFve%20file.txt"))
        assert m.attachments[0].file_name == "naïve file.txt"
        assert m.attachments[0].file_extension == "txt"
        assert m.attachments[0].file_type == "txt"

    def test_encoded_word_file_name_and_name_parameter(self):
        raw = msg("Content-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"",
                  "Content-Transfer-Encoding: base64", body=base64.encodebytes(b"%PDF-1.4").decode())
        (a,) = parse(raw).attachments
        assert (a.file_name, a.file_type) == ("résumé.pdf", "pdf")

    def test_nested_message(self):
        inner = msg("From: Inner <inner@x.com>", "Subject: inside", "X-Spam-Score: 3", body="inner body")
        raw = msg("From: a@x.com", 'Content-Type: multipart/mixed; boundary="B"',
                  body="--B\nContent-Type: text/plain\n\nouter\n--B\nContent-Type: message/rfc822\n\n"
                       + inner.decode() + "\n--B--\n")
        m = parse(raw)
        (a,) = m.attachments
        assert a.file_type == "eml" and a.nested is not None
        assert a.nested.subject.subject == "inside" and a.nested.sender.display_name == "Inner"
        assert a.nested.stripped_headers == ("X-Spam-Score",)
        assert m.body.text == "outer"

    def test_nested_message_depth_limit(self):
        raw = msg("From: deep@x.com", body="core")
        for _ in range(5):
            raw = msg("From: a@x.com", "Content-Type: message/rfc822", body=raw.decode())
        m = parse(raw, limits=ParseLimits(max_nested_depth=2))
        assert m.attachments[0].nested.attachments[0].nested is not None
        assert m.attachments[0].nested.attachments[0].nested.attachments[0].nested is None
        assert "nested_message_too_deep" in kinds(m.attachments[0].nested.attachments[0].nested)

    def test_inline_image_is_an_attachment(self):
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
        m = parse(msg("Content-Type: image/png", "Content-Transfer-Encoding: base64",
                      body=base64.encodebytes(png).decode()))
        assert m.attachments[0].file_type == "png" and m.attachments[0].file_name == ""


class TestMalformed:
    def test_bad_base64_characters_and_padding(self):
        raw = msg("Content-Type: text/plain", "Content-Transfer-Encoding: base64", body="aGVsbG8gd29ybGQ!!!\nYQ")
        m = parse(raw)
        assert m.body.text.startswith("hello world") and "bad_base64" in kinds(m)

    def test_bad_quoted_printable(self):
        m = parse(msg("Content-Transfer-Encoding: quoted-printable", body="a=ZZb =3D c"))
        assert "bad_quoted_printable" in kinds(m) and "= c" in m.body.text

    def test_unknown_transfer_encoding(self):
        m = parse(msg("Content-Transfer-Encoding: x-rot13", body="text"))
        assert m.body.text == "text" and "unknown_transfer_encoding" in kinds(m)

    def test_uuencode(self):
        import binascii
        line = binascii.b2a_uu(b"hello uu").decode()
        m = parse(msg("Content-Type: application/octet-stream", "Content-Transfer-Encoding: x-uuencode",
                      body=f"begin 644 a.txt\n{line}`\nend\n"))
        assert m.attachments[0].size == 8

    def test_uuencoded_file_in_a_text_body(self):
        import binascii
        payload = b"MZ\x90\x00 executable bytes"
        lines = "".join(binascii.b2a_uu(payload[i : i + 45]).decode() for i in range(0, len(payload), 45))
        m = parse(msg("From: a@x.com", body=f"Please run the attached.\nbegin 644 setup.exe\n{lines}`\nend\nThanks\n"))
        (a,) = m.attachments
        assert (a.file_name, a.file_extension, a.file_type, a.size) == ("setup.exe", "exe", "exe", len(payload))
        assert m.body.text == "Please run the attached.\nThanks\n"

    @pytest.mark.parametrize(("charset", "payload", "text", "kind"), [
        ("us-ascii", "café".encode(), "café", "charset_mismatch"),
        ("iso-8859-1", "für".encode(), "für", "charset_mismatch"),  # UTF-8 labelled latin-1
        ("iso-8859-1", "für".encode("latin-1"), "für", None),
        ("utf-8", b"caf\xe9", "café", "charset_mismatch"),
        ("x-unknown-thing", b"plain", "plain", "unknown_charset"),
        ("base64", b"plain", "plain", "unknown_charset"),  # a codec that is not a text encoding
        ("windows-1251", "привет".encode("cp1251"), "привет", None),
        ("gb2312", "中文".encode("gb18030"), "中文", None),
    ])
    def test_charsets(self, charset, payload, text, kind):
        m = parse(msg(f"Content-Type: text/plain; charset={charset}") + payload)
        assert m.body.text == text
        assert (kind in kinds(m)) if kind else problems(m) == []

    def test_no_header_body_separator(self):
        m = parse(b"From: a@x.com\nSubject: hi\nThis line is body text\nmore\n")
        assert m.subject.subject == "hi" and m.body.text.startswith("This line is body text")
        assert "no_header_body_separator" in kinds(m)

    def test_multipart_without_boundary(self):
        m = parse(msg("Content-Type: multipart/mixed", body="text"))
        assert m.body.text == "text" and "multipart_without_boundary" in kinds(m)

    def test_boundary_not_found(self):
        m = parse(msg('Content-Type: multipart/mixed; boundary="zz"', body="no parts here"))
        assert m.body.text == "no parts here" and "boundary_not_found" in kinds(m)

    def test_missing_closing_boundary(self):
        m = parse(msg('Content-Type: multipart/mixed; boundary="zz"', body="--zz\n\npart one\n--zz\n\npart two"))
        assert m.body.text == "part one\npart two" and "missing_closing_boundary" in kinds(m)

    def test_boundary_prefix_of_another_is_not_a_delimiter(self):
        body = ("--a\nContent-Type: multipart/alternative; boundary=\"a_1\"\n\n--a_1\n\ninner\n--a_1--\n"
                "--a--\n")
        m = parse(msg('Content-Type: multipart/mixed; boundary="a"', body=body))
        assert m.body.text == "inner" and problems(m) == []

    def test_deep_nesting(self):
        depth = 40
        body = "".join(f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(depth))
        body += "core text\n" + "".join(f"--b{i}--\n" for i in reversed(range(depth)))
        m = parse(msg('Content-Type: multipart/mixed; boundary="b0"', body=body))
        assert "too_deep" in kinds(m)

    def test_too_many_parts(self):
        body = "".join(f"--p\nContent-Type: text/plain\n\npart {i}\n" for i in range(30)) + "--p--\n"
        m = parse(msg('Content-Type: multipart/mixed; boundary="p"', body=body), limits=ParseLimits(max_parts=10))
        assert "too_many_parts" in kinds(m)
        assert m.body.text.count("part") < 10

    def test_header_limits(self):
        raw = msg(*[f"X-H{i}: v" for i in range(50)], "Subject: " + "s" * 500)
        m = parse(raw, limits=ParseLimits(max_headers=20, max_header_chars=100))
        assert len(m.headers.fields) == 20 and "too_many_headers" in kinds(m)
        m = parse(raw, limits=ParseLimits(max_header_chars=100))
        assert len(m.subject.subject) == 100 and "header_too_long" in kinds(m)

    def test_size_and_text_limits(self):
        raw = msg("From: a@x.com", body="x" * 5000)
        m = parse(raw, limits=ParseLimits(max_size=1000, max_text_chars=300))
        assert m.size == len(raw)
        assert len(m.body.text) == 300
        assert {"input_truncated", "text_truncated"} <= set(kinds(m))

    def test_fifty_megabytes(self):
        raw = msg("From: a@x.com", body=b"spam " * (10 << 20))
        m = parse(raw)
        assert m.size == len(raw) > 50 << 20
        assert len(m.body.text) == ParseLimits().max_text_chars
        assert {"input_truncated", "text_truncated"} <= set(kinds(m))

    def test_mbox_from_line_and_crlf(self):
        raw = b"From someone@x.com Mon Jan  1 00:00:00 2001\r\n" + msg("From: a@x.com", "Subject: s", body="b", crlf=True)
        m = parse(raw)
        assert m.subject.subject == "s" and m.body.text == "b"
        assert set(kinds(m)) == {"missing_date", "missing_message_id"}

    @pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n\r\n", b"\x00\xff" * 10, b":::\n\n", b"From \n"])
    def test_degenerate_inputs(self, raw):
        m = parse(raw)
        assert m.size == len(raw) and "internal_error" not in kinds(m)

    def test_accepts_bytearray_rejects_str(self):
        assert parse(bytearray(SIMPLE)).subject.subject == "Hello world"
        with pytest.raises(TypeError, match="takes bytes"):
            parse("From: a@x.com")  # type: ignore[arg-type]

    @pytest.mark.parametrize("field", ["max_parts", "max_size", "max_depth"])
    def test_bad_limits(self, field):
        with pytest.raises(ValueError, match=field):
            ParseLimits(**{field: 0})


# ---------------------------------------------------------------- oracle: fast header path vs careful path

_HEADER_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True), _HEADER_TEXT,
                          st.booleans()), max_size=8))
def test_fast_header_path_matches_careful_path(fields):
    lines = []
    for name, value, fold in fields:
        if fold and " " in value.strip():
            head, _, tail = value.strip().partition(" ")
            value = head + "\r\n " + tail
        lines.append(f"{name}: {value}")
    raw = ("\r\n".join(lines) + "\r\n\r\nbody").encode("utf-8")
    fast = mime._fast_fields(raw[: raw.find(b"\r\n\r\n") + 2], ParseLimits())
    original = mime._fast_fields
    try:
        mime._fast_fields = lambda head, limits, dropped=None: None
        careful, _ = mime._parse_head(raw, 0, len(raw), ParseLimits(), [])
    finally:
        mime._fast_fields = original
    if fast is not None:
        assert fast == careful


# ---------------------------------------------------------------- never raises, stays in its limits

SMALL = ParseLimits(max_size=20_000, max_parts=20, max_depth=5, max_headers=50, max_text_chars=5_000,
                    max_links=20, max_recipients=20, max_archive_members=10)
SEEDS = [SIMPLE, ALT, with_attachment(_zip({"a.exe": b"MZ"})),
         msg("Content-Type: message/rfc822", body=SIMPLE.decode())]


def check_bounded(m, limits: ParseLimits) -> None:
    assert "internal_error" not in kinds(m), m.defects
    assert len(m.body.text) <= limits.max_text_chars
    assert len(m.body.html_raw) <= limits.max_text_chars
    assert len(m.links) <= limits.max_links
    assert len(m.attachments) <= limits.max_parts
    assert len(m.headers.fields) <= limits.max_headers
    assert all(len(a.archive_members) <= limits.max_archive_members for a in m.attachments)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw):
    check_bounded(parse(raw, limits=SMALL), SMALL)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 4), st.binary(max_size=8)),
                                        min_size=1, max_size=6))
def test_mutated_messages_never_raise(seed, edits):
    raw = bytearray(seed)
    for pos, op, data in edits:
        pos %= len(raw) + 1
        if op == 0:
            raw[pos:pos] = data  # insert
        elif op == 1:
            del raw[pos : pos + len(data) + 1]  # delete
        elif op == 2:
            raw[pos : pos + len(data)] = data  # overwrite
        elif op == 3:
            raw[pos:pos] = raw[pos : pos + 200]  # duplicate a run (boundaries, headers)
        else:
            raw[pos:pos] = b"\n--XX\n" if len(data) % 2 else b"=?utf-8?b?" + data + b"?="
    check_bounded(parse(bytes(raw), limits=SMALL), SMALL)
    check_bounded(parse(bytes(raw)), ParseLimits())


@pytest.mark.parametrize("raw", [
    b"To: " + b'"a\\' * 20000 + b"\n\n",  # unclosed quotes with escapes
    b"To: " + b"a@a@" * 20000 + b"\n\n",
    b"Subject: " + b"=?utf-8?q?" * 20000 + b"\n\n",
    b"Content-Type: text/html\n\n" + b"<a href=" * 20000,
    b"Content-Type: text/html\n\n" + b"<!--" * 20000 + b"<script>" * 20000,
    b"From: a@x.com\n\n" + b"www." * 50000 + b"http://" * 20000,
    b"Content-Type: multipart/mixed; boundary=a\n\n" + b"--a\n" * 20000,
    b"Received: " + b"from by with " * 10000 + b"\n\n",
    b"Cc: " + b"  Name <a@b.example>, " * 40 + b"(\n\n",  # a list that fails at its very end
    b"From: a@enron.com\nX-From: " + b" " * 60000 + b"x\n\n",
    b"From: a@enron.com\nX-From: a" + b"/" * 60000 + b"!\n\n",
])
def test_hostile_inputs_are_bounded(raw):
    # No timing assertion: a quadratic pattern would make this test visibly hang.
    check_bounded(parse(raw), ParseLimits())


# ---------------------------------------------------------------- every real message

_MBOX_FROM = re.compile(rb"\n(?=From )")


def _corpus_messages(path):
    """(id, raw) of every message in a tar.xz: files, and mbox files split on "From " lines."""
    with tarfile.open(path, "r:xz") as tf:
        for member in tf:
            if not member.isfile():
                continue
            data = tf.extractfile(member).read()
            if data.startswith(b"From ") and b"\nFrom " in data:
                for i, raw in enumerate(_MBOX_FROM.split(data)):
                    yield f"{member.name}#{i}", raw
            else:
                yield member.name, data


@pytest.mark.corpora
def test_every_corpus_message_parses(corpora_dir):
    counts: collections.Counter = collections.Counter()
    failures = []
    n = 0
    seconds = 0.0
    for path in sorted(corpora_dir.glob("*.tar.xz")):
        for ident, raw in _corpus_messages(path):
            start = time.perf_counter()
            try:
                m = parse(raw)
            except Exception as exc:  # noqa: BLE001 -- the test counts what escapes
                failures.append((ident, repr(exc)))
                continue
            finally:
                seconds += time.perf_counter() - start
            n += 1
            counts.update(d.kind for d in m.defects)
            if "internal_error" in kinds(m):
                failures.append((ident, [d.detail for d in m.defects if d.kind == "internal_error"]))
    print(f"\n{n} messages, {n / seconds:.0f} messages/s in parse, defects: {dict(counts.most_common())}")
    assert n > 0
    assert failures == []


# Small alphabets of the characters the header and text patterns branch on:
# a pattern that backtracks exponentially hangs on strings of a few hundred of them.
_NASTY = st.text(alphabet='ab@<>",;:()\\ \t=?./-_\n*>', max_size=300)


@settings(max_examples=200, deadline=None)
@given(_NASTY)
def test_header_decoders_on_adversarial_text(text):
    from pyscore import mime_headers as mh

    defects: list = []
    mh.parse_mailboxes(text, defects)
    mh.parse_params(text)
    mh.decode_words(text, defects)
    mh.parse_hop(0, text, defects)
    mh.parse_date(text, defects)
    mh.enron_display_name(text)
    mh.parse_auth([text], [text])
    mime_html.current_thread(text)
    mime_html.bare_urls(text.replace("a", "http://"), 100)
    mime_html.render("<a href=" + text, 10)
