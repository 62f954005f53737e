"""This module contains the Message record: one parsed email with MDM field names.

Field names follow the public Sublime Message Data Model (MDM) wherever it has
one (``sender.email.domain.root_domain``, ``headers.auth_summary.spf.pass``,
``body.links[].href_url.url`` ...), so that rules written against MDM paths
read the same attributes here. Records are frozen: a parsed message never
changes after the parser hands it on.

``Message.to_dict()`` gives MDM-shaped JSON-compatible data and
``Message.from_dict()`` reads it back, for services that hold structured mail
(from a provider's API) instead of raw bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import types
import typing
from dataclasses import dataclass, field

_FROZEN = {"frozen": True, "slots": True}


@dataclass(**_FROZEN)
class Domain:
    """A host or mail domain. ``domain`` is lower case, IDN decoded to Unicode."""

    domain: str = ""
    root_domain: str = ""  # registrable domain, public-suffix aware: example.co.uk
    tld: str = ""  # public suffix: co.uk
    punycode: str = ""  # ASCII (xn--) form when it differs from ``domain``
    valid: bool = False


@dataclass(**_FROZEN)
class EmailAddress:
    email: str = ""  # lower case; "" when absent or unparseable
    local_part: str = ""
    domain: Domain = field(default_factory=Domain)


@dataclass(**_FROZEN)
class Mailbox:
    """An address with its display name, as in From, To, Reply-To."""

    email: EmailAddress = field(default_factory=EmailAddress)
    display_name: str = ""


@dataclass(**_FROZEN)
class AuthCheck:
    """One authentication result (SPF, DKIM or DMARC) from the receiving server."""

    result: str | None = None  # pass, fail, softfail, neutral, none, temperror, permerror
    domain: str = ""  # smtp.mailfrom / header.d / header.from domain

    @property
    def passed(self) -> bool | None:
        """MDM ``.pass``: True on pass, False on any other result, None when unknown."""
        return None if self.result is None else self.result == "pass"


@dataclass(**_FROZEN)
class AuthSummary:
    spf: AuthCheck = field(default_factory=AuthCheck)
    dkim: AuthCheck = field(default_factory=AuthCheck)
    dmarc: AuthCheck = field(default_factory=AuthCheck)


@dataclass(**_FROZEN)
class Hop:
    """One Received header, index 0 being the hop nearest the recipient."""

    index: int = 0
    from_host: str = ""
    from_ip: str = ""
    by_host: str = ""
    protocol: str = ""
    time: _dt.datetime | None = None


@dataclass(**_FROZEN)
class ListHeaders:
    id: str = ""
    unsubscribe: str = ""
    post: str = ""
    precedence: str = ""


@dataclass(**_FROZEN)
class Headers:
    from_: Mailbox = field(default_factory=Mailbox)  # MDM name: headers.from
    reply_to: tuple[Mailbox, ...] = ()
    return_path: EmailAddress = field(default_factory=EmailAddress)
    sender: Mailbox = field(default_factory=Mailbox)
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    date: _dt.datetime | None = None  # timezone-aware, or None when missing or unparseable
    date_raw: str = ""
    mailer: str = ""  # X-Mailer or User-Agent
    list: ListHeaders = field(default_factory=ListHeaders)
    auth_summary: AuthSummary = field(default_factory=AuthSummary)
    hops: tuple[Hop, ...] = ()
    # Every header kept after verdict and archive-conversion headers were
    # stripped, as (name, decoded value) in order of appearance.
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(**_FROZEN)
class Recipients:
    to: tuple[Mailbox, ...] = ()
    cc: tuple[Mailbox, ...] = ()
    bcc: tuple[Mailbox, ...] = ()


@dataclass(**_FROZEN)
class Subject:
    subject: str = ""  # RFC 2047 decoded
    raw: str = ""


@dataclass(**_FROZEN)
class Url:
    url: str = ""  # as found, with IDN hosts decoded to Unicode
    original: str = ""  # exactly as written in the message
    scheme: str = ""
    domain: Domain = field(default_factory=Domain)
    path: str = ""
    query: str = ""


@dataclass(**_FROZEN)
class Link:
    href_url: Url = field(default_factory=Url)
    display_text: str = ""
    source: str = ""  # "html" (an anchor or form) or "text" (a bare URL)


@dataclass(**_FROZEN)
class Attachment:
    file_name: str = ""
    file_extension: str = ""  # lower case, without the dot
    content_type: str = ""  # as declared
    file_type: str = ""  # detected from magic bytes: pdf, zip, exe, html, ...
    size: int = 0  # decoded bytes
    sha256: str = ""
    archive_members: tuple[str, ...] = ()  # names inside zip/rar/7z/iso, to the depth limit
    encrypted: bool = False  # a password-protected archive or document
    nested: Message | None = None  # an attached message/rfc822, to the depth limit


@dataclass(**_FROZEN)
class Body:
    text: str = ""  # the text/plain part(s)
    html_raw: str = ""
    html_text: str = ""  # the HTML rendered to plain text
    current_thread_text: str = ""  # the newest message without quoted replies


@dataclass(**_FROZEN)
class Defect:
    kind: str  # a short stable identifier: bad_base64, unknown_charset, ...
    detail: str = ""


@dataclass(**_FROZEN)
class Message:
    sender: Mailbox = field(default_factory=Mailbox)
    headers: Headers = field(default_factory=Headers)
    recipients: Recipients = field(default_factory=Recipients)
    subject: Subject = field(default_factory=Subject)
    body: Body = field(default_factory=Body)
    links: tuple[Link, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[Defect, ...] = ()
    stripped_headers: tuple[str, ...] = ()  # names of verdict/conversion headers removed
    size: int = 0  # raw bytes

    def to_dict(self) -> dict:
        """MDM-shaped, JSON-compatible data (dates as ISO 8601 strings)."""
        return _to_plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> Message:
        """Read what ``to_dict`` wrote (or any subset of it: missing fields take defaults).

        Raises ValueError naming the path of a field of the wrong type or an unknown field.
        """
        return _from_plain(cls, data, "message")


# MDM names that are Python keywords or would shadow builtins.
_RENAMES = {"from_": "from"}
_UNRENAMES = {v: k for k, v in _RENAMES.items()}


def _to_plain(value):
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            out[_RENAMES.get(f.name, f.name)] = _to_plain(getattr(value, f.name))
        if isinstance(value, AuthCheck):
            out["pass"] = value.passed
        return out
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


def _from_plain(cls, data, path: str):
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, raw in data.items():
        name = _UNRENAMES.get(key, key)
        if name not in names:
            if cls is AuthCheck and key == "pass":
                continue  # derived from result
            raise ValueError(f"{path}.{key}: unknown field")
        kwargs[name] = _convert(hints[name], raw, f"{path}.{key}")
    return cls(**kwargs)


def _convert(hint, raw, path: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None:
            return None
        return _convert(args[0], raw, path)
    if origin is tuple:
        if not isinstance(raw, list | tuple):
            raise ValueError(f"{path}: expected a list, got {type(raw).__name__}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(raw))
    if dataclasses.is_dataclass(hint):
        return _from_plain(hint, raw, path)
    if hint is _dt.datetime:
        if raw is None:
            return None
        try:
            value = _dt.datetime.fromisoformat(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: expected an ISO 8601 date-time, got {raw!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    if hint is bool:
        if not isinstance(raw, bool):
            raise ValueError(f"{path}: expected true or false, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"{path}: expected an integer, got {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ValueError(f"{path}: expected a string, got {type(raw).__name__}")
        return raw
    return raw
