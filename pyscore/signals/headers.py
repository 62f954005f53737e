"""This module contains the header signals: authentication, address mismatches, dates, hops,
mailers, bulk and list headers, threading and recipients.

Only the headers a receiving server normally sees are read: never
archive-conversion headers (X-Folder, X-From ...) nor verdict headers (the
parser strips them), and no signal reads an absolute date, only the
difference between two of the message's own times. The number of header
fields is deliberately not a signal: it measures which headers a corpus kept
(Enron's conversion kept 8, delivered mail 30), a source fingerprint.
"""

from __future__ import annotations

import functools

import numpy as np

from pyscore.signals import fused
from pyscore.signals.lists import MAILER_FAMILIES, bulk_headers, mailer_tokens
from pyscore.signals.registry import Signal, SignalGroup
from pyscore.signals.tables import Automaton, automaton_from_families, hash_map

REPLY_PREFIXES = ("re", "aw", "sv", "res", "antw", "vs", "odp")
FORWARD_PREFIXES = ("fw", "fwd", "wg", "tr", "enc", "rv", "doorst", "reenv")
PRIORITY_HEADERS = {"x-priority": 2, "importance": 3, "x-msmail-priority": 3, "priority": 4}
PHP_HEADERS = ("x-php-originating-script", "x-php-script")


def _s(name: str, kind: str, doc: str) -> Signal:
    return Signal(name, "message", kind, doc)


SIGNALS: tuple[Signal, ...] = (
    _s("auth_spf_pass", "bool", "SPF passed (NaN when the receiver recorded no SPF result)."),
    _s("auth_spf_fail", "bool", "SPF failed or soft-failed (NaN when no result)."),
    _s("auth_dkim_pass", "bool", "DKIM passed (NaN when no result)."),
    _s("auth_dkim_fail", "bool", "DKIM failed (NaN when no result)."),
    _s("auth_dmarc_pass", "bool", "DMARC passed (NaN when no result)."),
    _s("auth_dmarc_fail", "bool", "DMARC failed (NaN when no result)."),
    _s("auth_spf_aligned", "bool", "The SPF domain belongs to the From domain (NaN: unknown)."),
    _s("auth_dkim_aligned", "bool", "The DKIM signing domain belongs to the From domain (NaN: unknown)."),
    _s("reply_to_count", "count", "Reply-To addresses."),
    _s("reply_to_domain_mismatch", "bool", "A Reply-To address is in another registrable domain than From (NaN: no Reply-To)."),
    _s("return_path_domain_mismatch", "bool", "Return-Path is in another registrable domain than From (NaN: unknown)."),
    _s("sender_header_mismatch", "bool", "A Sender header names another address than From (NaN: no Sender header)."),
    _s("display_name_has_address", "bool", "The From display name holds an e-mail address."),
    _s("display_name_has_domain", "bool", "The From display name holds a domain name."),
    _s("display_name_domain_mismatch", "bool", "The domain in the From display name is not the sender's (NaN: none)."),
    _s("message_id_missing", "bool", "No Message-ID."),
    _s("message_id_domain_mismatch", "bool", "The Message-ID domain is not the sender's registrable domain (NaN: unknown)."),
    _s("date_missing", "bool", "No Date header."),
    _s("date_unparseable", "bool", "A Date header that does not parse."),
    _s("date_tz_missing", "bool", "A Date header without a numeric time-zone offset."),
    _s("date_received_skew_hours", "real", "Hours from the Date header to the newest Received time (NaN: unknown)."),
    _s("date_after_received", "bool", "The Date header is more than an hour after the newest Received time."),
    _s("hop_count", "count", "Received headers."),
    _s("hop_time_span_hours", "real", "Hours between the oldest and newest Received times (NaN: < 2 times)."),
    _s("mailer_present", "bool", "An X-Mailer or User-Agent header."),
    *(_s(f"mailer_{f}", "bool", f"The mailer is of the {f} family.") for f in MAILER_FAMILIES),
    _s("mailer_other", "bool", "A mailer of no known family."),
    _s("list_id_present", "bool", "A List-Id header."),
    _s("list_unsubscribe_present", "bool", "A List-Unsubscribe header."),
    _s("list_post_present", "bool", "A List-Post header (a discussion list)."),
    _s("precedence_bulk", "bool", "Precedence: bulk, list or junk."),
    _s("bulk_header_count", "count", "Headers set by bulk-mail platforms (Feedback-ID, X-Campaign ...)."),
    _s("priority_high", "bool", "X-Priority 1-2, Importance: high or Priority: urgent."),
    _s("php_script_header", "bool", "An X-PHP-Originating-Script header (mail sent by a web script)."),
    _s("in_reply_to_present", "bool", "An In-Reply-To header."),
    _s("references_count", "count", "Message-IDs in References."),
    _s("subject_reply_prefix", "bool", "The subject starts with a reply prefix (Re:, AW:, SV: ...)."),
    _s("subject_forward_prefix", "bool", "The subject starts with a forward prefix (Fw:, Fwd:, WG:, TR: ...)."),
    _s("reply_without_thread", "bool", "A reply prefix without In-Reply-To or References (a faked thread)."),
    _s("to_count", "count", "To addresses."),
    _s("cc_count", "count", "Cc addresses."),
    _s("bcc_count", "count", "Bcc addresses seen."),
    _s("recipients_missing", "bool", "No To or Cc address (undisclosed recipients)."),
    _s("sender_in_recipients", "bool", "The sender's address is also a recipient."),
    _s("defect_count", "count", "Parser defects (bad encodings, malformed structure)."),
    _s("from_address_missing", "bool", "No usable From address."),
    _s("reply_to_is_recipient", "bool",
       "A Reply-To address is also a To or Cc recipient: a list that answers to itself (NaN: no Reply-To)."),
)


def _bytes_tuple(words) -> tuple[np.ndarray, ...]:
    return tuple(np.frombuffer(w.encode(), dtype=np.uint8) for w in words)


@functools.cache
def mailer_automaton() -> Automaton:
    tokens = mailer_tokens()
    return automaton_from_families([[t.encode() for t in tokens[f]] for f in MAILER_FAMILIES])


@functools.cache
def header_name_map() -> tuple[np.ndarray, np.ndarray]:
    """Header name -> 1 bulk, 2 x-priority, 3 importance, 4 priority, 5 php script."""
    items = [(n, 1) for n in bulk_headers()] + list(PRIORITY_HEADERS.items()) + [(n, 5) for n in PHP_HEADERS]
    return hash_map(items)


_WORDS = _bytes_tuple(("fail", "softfail", "bulk", "list", "junk", "high", "urgent"))
_REPLY = _bytes_tuple(REPLY_PREFIXES)
_FORWARD = _bytes_tuple(FORWARD_PREFIXES)


def _so(col) -> tuple:
    return col.offsets, col.data


# Filled by one kernel call with the other groups (pyscore.signals.fused).
compute = fused.group_compute("headers")


def group() -> SignalGroup:
    return SignalGroup("headers", SIGNALS, compute, joint=fused.compute_blocks)
