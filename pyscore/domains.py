"""This module contains the builders of Domain and Url records from host names and URLs.

Hosts are lower-cased and IDN-decoded (``xn--`` labels to Unicode, keeping the
ASCII form in ``Domain.punycode``); the root domain is the registrable domain
under the public suffix list (``example.co.uk``), read from tldextract's bundled
snapshot without any network access. Both builders are cached: mail repeats the
same few hosts many times.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import urllib.parse

from pyscore.message import Domain, Url

_MAX_HOST = 253  # RFC 1035; longer strings are not host names
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_ASCII_HOST = re.compile(r"^[\x21-\x7e]*$")
# Lower-case ASCII host names (labels may be empty), and those whose every label is _LABEL.
_PLAIN_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]*)*")
_VALID_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*")


@functools.cache
def _extractor():
    import tldextract

    # Offline: the snapshot bundled with the package, never a download.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


_IPV4_CHARS = frozenset("0123456789.")


def _is_ip(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" not in host and not _IPV4_CHARS.issuperset(host):
        return False  # neither IPv6 (has ":") nor IPv4 (digits and dots): skip the raising parse
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _to_unicode(label: str) -> str:
    if label.startswith("xn--") and len(label) <= 63:
        try:
            decoded = label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            return label
        # An xn-- label that decodes to plain ASCII is no IDN (IDNA forbids it): keep it as written.
        return label if decoded.isascii() else decoded
    return label


def _to_ascii(label: str) -> str:
    if label.isascii() or len(label) > 63:
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError:
        return label


@functools.lru_cache(maxsize=65536)
def make_domain(host: str) -> Domain:
    """A Domain from a host name or mail domain, as written (any case, IDN or punycode)."""
    host = host.strip().strip(".").lower()
    if not host or len(host) > _MAX_HOST * 4:
        return Domain(domain=host[: _MAX_HOST * 4])
    if _is_ip(host):
        return Domain(domain=host, root_domain=host)
    if "xn--" not in host and _PLAIN_HOST.fullmatch(host):
        # Plain ASCII (most hosts): its Unicode and ASCII forms are the host itself.
        suffix, registered = _suffix_and_domain(host)
        root = registered + "." + suffix if suffix and registered else ""
        valid = len(host) <= _MAX_HOST and _VALID_HOST.fullmatch(host) is not None
        return Domain(domain=host, root_domain=root, tld=suffix, valid=valid and bool(root))
    labels = host.split(".")
    uni_labels = [_to_unicode(label) for label in labels]
    ascii_labels = [_to_ascii(label) for label in uni_labels]
    uni = ".".join(uni_labels)
    ascii_host = ".".join(ascii_labels)
    valid = len(ascii_host) <= _MAX_HOST and all(_LABEL.match(label) for label in ascii_labels)
    suffix, registered = _suffix_and_domain(ascii_host)
    root = tld = ""
    if suffix:
        tld = ".".join(_to_unicode(label) for label in suffix.split("."))
        if registered:
            root = _to_unicode(registered) + "." + tld
    return Domain(
        domain=uni,
        root_domain=root,
        tld=tld,
        punycode=ascii_host if ascii_host != uni else "",
        valid=valid and bool(root),
    )


def _suffix_and_domain(ascii_host: str) -> tuple[str, str]:
    """(public suffix, the label before it) as tldextract gives them for ``ascii_host`` ("" and "" without a suffix).

    A plain lower-case host without punycode labels is looked up in our own
    copy of tldextract's suffix trie (tldextract's URL handling is a no-op on
    it and costs more than the lookup); any other host goes to tldextract.
    """
    if "xn--" in ascii_host or not _PLAIN_HOST.fullmatch(ascii_host):
        ext = _extractor()(ascii_host)
        return ext.suffix, ext.domain
    labels = ascii_host.split(".")
    index = _suffix_index(labels, _suffix_trie())
    if index is None:
        return "", ""
    return ".".join(labels[index:]), labels[index - 1] if index > 0 else ""


@functools.cache
def _suffix_trie() -> dict:
    """The public (not private) suffixes of tldextract's snapshot, as {label: (children, is_suffix)}
    from the last label, the trie tldextract walks (``*`` wildcards and ``!`` exceptions kept as labels)."""
    root: dict = {}
    for suffix in _extractor().tlds:
        node = root
        labels = suffix.split(".")
        for i, label in enumerate(reversed(labels)):
            children, end = node.get(label, ({}, False))
            node[label] = (children, end or i == len(labels) - 1)
            node = children
    return root


def _suffix_index(labels: list[str], trie: dict) -> int | None:
    """Index of the first public-suffix label (tldextract's algorithm), None when no suffix matches."""
    node = trie
    suffix_idx = label_idx = len(labels)
    for label in reversed(labels):
        entry = node.get(label)
        if entry is not None:
            label_idx -= 1
            node, end = entry
            if end:
                suffix_idx = label_idx
            continue
        if "*" in node:  # a wildcard rule: one more label is public, unless an exception names it
            return label_idx if "!" + label in node else label_idx - 1
        break
    return None if suffix_idx == len(labels) else suffix_idx


def domain_of_address(address: str) -> Domain:
    """The Domain of an email address's part after the last ``@`` (empty when there is none)."""
    at = address.rfind("@")
    return make_domain(address[at + 1 :]) if at >= 0 else Domain()


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]{0,30}):")
_MAX_URL = 8192
# A lower-case http(s) URL of printable ASCII whose authority is a plain host and
# optional port (no user info, no IPv6 brackets): split without urlsplit.
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9._-]*)(?::[0-9]*)?((?:[/?#][!-~]*)?)")


@functools.lru_cache(maxsize=16384)
def make_url(original: str) -> Url:
    """A Url from a link as written; a missing scheme on ``www.`` links reads as http."""
    text = original.strip()[:_MAX_URL]
    m = _SCHEME.match(text)
    if m is None and text[:4].lower() == "www.":
        text = "http://" + text
        m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if scheme in ("mailto", "tel", "sms", "callto", "cid", "data", "javascript", "about"):
        return _opaque_url(original, text, scheme)
    fast = _PLAIN_URL.fullmatch(text) if scheme == "http" or scheme == "https" else None
    if fast is not None:
        # What urlsplit gives on this shape: the path ends at "?" or "#", the query at "#".
        host = fast.group(1).lower()
        path, _, query = fast.group(2).partition("#")[0].partition("?")
    else:
        try:
            parts = urllib.parse.urlsplit(text if scheme or text.startswith("//") else "//" + text)
            host = parts.hostname or ""
        except ValueError:  # bad IPv6 brackets, bad port
            return Url(url=text, original=original, scheme=scheme)
        path, query = parts.path, parts.query
    domain = make_domain(host)
    url = text
    if domain.punycode and host:
        # Show the decoded host in ``url``; ``original`` keeps the xn-- form.
        url = _replace_host(text, host, domain.domain)
    return Url(
        url=url,
        original=original,
        scheme=scheme,
        domain=domain,
        path=path,
        query=query,
    )


def _replace_host(text: str, host: str, new_host: str) -> str:
    i = text.lower().find(host)
    return text if i < 0 else text[:i] + new_host + text[i + len(host) :]


def _opaque_url(original: str, text: str, scheme: str) -> Url:
    rest = text[len(scheme) + 1 :]
    domain = Domain()
    if scheme == "mailto":
        address = urllib.parse.unquote(rest.split("?", 1)[0]).split(",", 1)[0]
        domain = domain_of_address(address)
    return Url(url=text, original=original, scheme=scheme, domain=domain, path=rest[:_MAX_URL])
