"""This module contains the link signals: counts, hosts, redirectors, lures and URL tricks.

Read from the ``body.links`` list group. Host-level checks (IP hosts,
punycode, shorteners, free hosting, file sharing, suspicious TLDs, brand
names in the host, display text naming another domain) apply to web links
(http and https); scheme counts (data:, javascript:, mailto:, tel:) to all.
A host is in a list when it equals an entry or is a sub-domain of one.
"""

from __future__ import annotations

import functools

import numpy as np

from pyscore.signals import fused
from pyscore.signals.lists import ATTACHMENT_CATEGORIES, login_words, redirect_markers
from pyscore.signals.registry import Signal, SignalGroup
from pyscore.signals.tables import Automaton, build_automaton, hash_map

# Extensions that make a link a download of something that runs code.
LINK_RISKY_CATEGORIES = ("macro_office", "archive", "disk_image", "executable", "script", "lnk", "onenote")
LONG_URL = 200  # bytes
MANY_ESCAPES = 10  # percent escapes in one URL


def _s(name: str, kind: str, doc: str) -> Signal:
    return Signal(name, "message", kind, doc)


SIGNALS: tuple[Signal, ...] = (
    _s("link_count", "count", "Links of any kind in the body."),
    _s("link_html_count", "count", "Links from HTML anchors and forms."),
    _s("link_distinct_host_count", "count", "Distinct host names of web links."),
    _s("link_distinct_root_domain_count", "count", "Distinct registrable domains of web links."),
    _s("link_ip_host_count", "count", "Web links whose host is an IP address."),
    _s("link_punycode_count", "count", "Web links to internationalised (punycode / IDN) hosts."),
    _s("link_confusable_host_count", "count", "Web links whose host holds Cyrillic/Greek/full-width look-alikes."),
    _s("link_shortener_count", "count", "Web links through URL shorteners."),
    _s("link_free_hosting_count", "count", "Web links to free hosting, site builders and cloud buckets."),
    _s("link_file_sharing_count", "count", "Web links to file-sharing services."),
    _s("link_open_redirect_count", "count", "Web links carrying another URL in the query or a redirector path."),
    _s("link_display_domain_mismatch_count", "count", "Links whose text names a domain other than the link's."),
    _s("link_display_domain_count", "count", "Links whose text names a domain."),
    _s("link_login_path_count", "count", "Web links whose path or query has sign-in/verify/account words."),
    _s("link_long_url_count", "count", f"Links longer than {LONG_URL} bytes."),
    _s("link_max_url_length", "count", "Bytes of the longest link."),
    _s("link_obfuscated_count", "count", f"Web links with numeric/hex/percent-encoded hosts or {MANY_ESCAPES}+ escapes."),
    _s("link_suspicious_tld_count", "count", "Web links under TLDs over-represented in abuse."),
    _s("link_at_in_authority_count", "count", "Web links with '@' before the host (user-info trick)."),
    _s("link_data_url_count", "count", "data: URLs."),
    _s("link_javascript_url_count", "count", "javascript: URLs."),
    _s("link_mailto_count", "count", "mailto: links."),
    _s("link_tel_count", "count", "tel:, sms: and callto: links."),
    _s("link_http_count", "count", "Plain-HTTP (not HTTPS) links."),
    _s("link_nonstandard_port_count", "count", "Web links naming a port other than 80 and 443."),
    _s("link_max_subdomain_depth", "count", "Most labels in front of a web link's registrable domain (NaN: none)."),
    _s("link_max_host_hyphens", "count", "Most hyphens in one web link host (NaN: none)."),
    _s("link_sender_domain_ratio", "ratio", "Share of web links to the sender's own registrable domain."),
    _s("link_brand_in_host_count", "count", "Web links whose host names a brand but is not that brand's domain."),
    _s("link_download_count", "count", "Web links to files that run code (executables, scripts, archives, disk images)."),
)

_WORDS = tuple(np.frombuffer(w, dtype=np.uint8) for w in
               (b"http", b"https", b"data", b"javascript", b"mailto", b"tel", b"sms", b"callto", b"html"))


@functools.cache
def url_word_automaton() -> Automaton:
    """Label 0: login words; label 1: open-redirect markers."""
    return build_automaton([(w.encode(), 0) for w in login_words()] + [(w.encode(), 1) for w in redirect_markers()])


@functools.cache
def extension_map() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from pyscore.signals.lists import attachment_types

    ext_cat, _, _ = attachment_types()
    keys, values = hash_map((ext, ATTACHMENT_CATEGORIES.index(cat)) for ext, cat in ext_cat.items())
    risky = np.array([c in LINK_RISKY_CATEGORIES for c in ATTACHMENT_CATEGORIES], dtype=np.uint8)
    return keys, values, risky


def _w(a: Automaton) -> tuple:
    return (a.byte_class, a.table, a.out_pat, a.dict_link, a.next_out, a.pat_label)


# Filled by one kernel call with the other groups (pyscore.signals.fused).
compute = fused.group_compute("links")


def group() -> SignalGroup:
    return SignalGroup("links", SIGNALS, compute, joint=fused.compute_blocks)
