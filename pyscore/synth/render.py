"""This module contains the Mail record and its rendering to RFC 5322 bytes with MIME.

Rendering is hand-written rather than going through ``email.generator`` so that the
output is byte-for-byte deterministic (the stdlib draws MIME boundaries from the global
random generator) and fast enough for ten thousand messages a second or so.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import urllib.parse
from dataclasses import dataclass, field
from email.header import Header


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline_cid: str = ""


@dataclass
class Mail:
    """One message before rendering: addresses as (display name, address) pairs."""

    from_: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    date: dt.datetime  # timezone-aware, in the sender's offset
    message_id: str  # without angle brackets
    text: str
    html: str = ""
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    trace: list[tuple[str, str]] = field(default_factory=list)  # Received, auth; newest first
    extra: list[tuple[str, str]] = field(default_factory=list)  # mailer, list headers ...
    boundary_key: str = ""  # seeds the MIME boundaries
    boundary_style: str = "generic"  # outlook, gmail, apple, generic
    qp: bool = True  # quoted-printable text parts (most clients); else 7bit/8bit when safe
    charset: str = "utf-8"

    @property
    def sender_domain(self) -> str:
        return self.from_[1].rsplit("@", 1)[-1].lower()


def format_address(pair: tuple[str, str]) -> str:
    name, addr = pair
    if not name:
        return addr
    return email.utils.formataddr((name, addr), charset="utf-8")


def encode_header(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(maxlinelen=76, linesep="\r\n")


def fold(name: str, value: str) -> str:
    """Fold a structured header at spaces so that no line passes 78 characters."""
    line = f"{name}: {value}"
    if len(line) <= 78:
        return line
    out, cur = [], ""
    for word in line.split(" "):
        if cur and len(cur) + 1 + len(word) > 76:
            out.append(cur)
            cur = " " + word
        else:
            cur = f"{cur} {word}" if cur else word
    out.append(cur)
    return "\r\n".join(out)


def _qp(text: str) -> bytes:
    data = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return data.replace(b"\n", b"\r\n")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _text_part(subtype: str, text: str, qp: bool, charset: str) -> list[bytes]:
    lines = text.replace("\r\n", "\n").split("\n")
    plain_ok = text.isascii() and all(len(ln) < 900 for ln in lines)
    if not qp and plain_ok:
        body = "\r\n".join(lines).encode("ascii")
        cte = "7bit"
        charset = "us-ascii" if charset == "utf-8" else charset
    else:
        body = _qp(text)
        cte = "quoted-printable"
    head = f"Content-Type: text/{subtype}; charset=\"{charset}\"\r\nContent-Transfer-Encoding: {cte}"
    return [head.encode("ascii"), b"", body]


def _attachment_part(att: Attachment) -> list[bytes]:
    fname = att.filename
    if fname.isascii():
        fparam = f'name="{fname}"'
        dparam = f'filename="{fname}"'
    else:  # RFC 2231 parameter encoding
        enc = urllib.parse.quote(fname, safe="")
        fparam = f"name*=utf-8''{enc}"
        dparam = f"filename*=utf-8''{enc}"
    disp = "inline" if att.inline_cid else "attachment"
    lines = [fold("Content-Type", f"{att.content_type}; {fparam}"),
             fold("Content-Disposition", f"{disp}; {dparam}"),
             "Content-Transfer-Encoding: base64"]
    if att.inline_cid:
        lines.append(f"Content-ID: <{att.inline_cid}>")
    return ["\r\n".join(lines).encode("ascii"), b"", _b64(att.data)]


def _multipart(subtype: str, boundary: str, parts: list[list[bytes]]) -> list[bytes]:
    out = [f'Content-Type: multipart/{subtype};\r\n\tboundary="{boundary}"'.encode("ascii"), b""]
    for part in parts:
        out.append(f"--{boundary}".encode("ascii"))
        out.extend(part)
    out.append(f"--{boundary}--".encode("ascii"))
    out.append(b"")
    return out


def _boundary(key: str, style: str, n: int) -> str:
    """A boundary in the habit of the sending client, derived from the message key."""
    h = hashlib.blake2b(f"{key}:{n}".encode(), digest_size=12).hexdigest()
    if style == "outlook":
        return f"_00{n}_{h[:4].upper()}PR{h[4:12].upper()}_"
    if style == "gmail":
        return f"000000000000{h[:12]}"
    if style == "apple":
        return f"Apple-Mail={h[:8].upper()}-{h[8:12].upper()}-{h[12:16].upper()}-{h[16:24].upper()}"
    return f"----=_Part_{int(h[:6], 16) % 99999}_{int(h[6:14], 16)}.{int(h[14:22], 16)}"


def render(mail: Mail) -> bytes:
    """RFC 5322 bytes (CRLF line ends) of one message."""
    head: list[str] = []
    for name, value in mail.trace:
        head.append(fold(name, value) if name != "DKIM-Signature" else f"{name}: {value}")
    head.append(fold("From", format_address(mail.from_)))
    head.append(fold("To", ", ".join(format_address(a) for a in mail.to)))
    if mail.cc:
        head.append(fold("Cc", ", ".join(format_address(a) for a in mail.cc)))
    if mail.reply_to:
        head.append(fold("Reply-To", ", ".join(format_address(a) for a in mail.reply_to)))
    head.append(f"Subject: {encode_header(mail.subject)}" if not mail.subject.isascii()
                else fold("Subject", mail.subject))
    head.append("Date: " + email.utils.format_datetime(mail.date))
    head.append(f"Message-ID: <{mail.message_id}>")
    if mail.in_reply_to:
        head.append(f"In-Reply-To: <{mail.in_reply_to}>")
    if mail.references:
        head.append(fold("References", " ".join(f"<{r}>" for r in mail.references)))
    for name, value in mail.extra:
        head.append(fold(name, value) if value.isascii() else f"{name}: {encode_header(value)}")
    head.append("MIME-Version: 1.0")
    body = _body(mail)
    return ("\r\n".join(head) + "\r\n").encode("ascii") + b"\r\n".join(body)


def _body(mail: Mail) -> list[bytes]:
    key = mail.boundary_key or mail.message_id
    text = _text_part("plain", mail.text, mail.qp, mail.charset)
    if mail.html:
        alt = _multipart("alternative", _boundary(key, mail.boundary_style, 1),
                         [text, _text_part("html", mail.html, True, mail.charset)])
    else:
        alt = text
    inline = [a for a in mail.attachments if a.inline_cid]
    files = [a for a in mail.attachments if not a.inline_cid]
    if inline:
        alt = _multipart("related", _boundary(key, mail.boundary_style, 2), [alt, *[_attachment_part(a) for a in inline]])
    if files:
        return _multipart("mixed", _boundary(key, mail.boundary_style, 3), [alt, *[_attachment_part(a) for a in files]])
    if alt is text:
        return [*text, b""]
    return alt
