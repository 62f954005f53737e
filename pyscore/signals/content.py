"""This module contains the content signals: phrases, text statistics, money, phones, HTML tricks.

Texts read: the subject, and the body (the text/plain part, or the rendered
HTML when there is no text part), each normalised as ``textnorm`` says
(case-folded, look-alikes mapped to Latin, invisible characters dropped), so
"Vеrify yоur аccount" with Cyrillic letters or a zero-width joiner inside a
word still matches "verify your account". Phrase lists live in
``pyscore/data/phrases/<lang>.txt``; HTML patterns in ``html_tricks.txt``.
"""

from __future__ import annotations

import functools

from pyscore.signals import fused
from pyscore.signals.lists import FAMILIES, HTML_FAMILIES, html_tricks, phrases
from pyscore.signals.registry import Signal, SignalGroup
from pyscore.signals.tables import Automaton, automaton_from_families
from pyscore.signals.textnorm import normalize_html, normalize_phrase

_FAMILY_DOCS = {
    "urgency": "urgency and deadline pressure",
    "payment": "payments, wire transfers and bank-detail changes",
    "gift_card": "gift-card purchase requests",
    "credential": "account verification, credential and password lures",
    "invoice": "invoices, overdue and unpaid bills",
    "shipping": "parcel and delivery notices",
    "voicemail": "voicemail, missed-call and fax notices",
    "document_share": "shared-document and e-signature lures",
    "extortion": "sextortion and hacked-device extortion",
    "callback": "calls to phone a support line (callback phishing)",
    "advance_fee": "lottery, inheritance and advance-fee scams",
    "generic_greeting": "generic greetings (dear customer, dear user)",
    "sensitive_data": "requests for tax forms, payroll records and personal data (W-2 fraud)",
}

_HTML_DOCS = {
    "hidden": "styles that hide content (display:none, visibility:hidden, opacity:0)",
    "tiny_font": "zero or tiny font sizes",
    "white_text": "white or transparent text colour",
    "form": "<form> elements",
    "password_input": "password input fields",
    "input": "<input> elements",
    "script": "<script> elements and javascript: references",
    "event_handler": "inline event handlers (onload=, onclick= ...)",
    "iframe": "<iframe>/<frame> elements",
    "object_embed": "<object>/<embed>/<applet> elements",
    "base64_image": "images inlined as base64 data: URLs",
    "meta_refresh": "meta refresh and script redirects",
    "comment": "HTML comments",
    "image": "<img> elements",
}


def _s(name: str, kind: str, doc: str) -> Signal:
    return Signal(name, "message", kind, doc)


SIGNALS: tuple[Signal, ...] = (
    _s("subject_length", "count", "Characters in the subject."),
    _s("subject_uppercase_ratio", "ratio", "Upper-case share of the subject's letters (NaN without letters)."),
    _s("subject_non_ascii_ratio", "ratio", "Non-ASCII share of the subject's characters (NaN when empty)."),
    _s("subject_invisible_count", "count", "Zero-width and invisible characters in the subject."),
    _s("subject_confusable_word_count", "count", "Subject words mixing Latin letters with look-alike characters."),
    _s("subject_exclamation_count", "count", "Exclamation marks in the subject."),
    _s("body_length", "count", "Characters in the body text (capped at 64 KiB of UTF-8)."),
    _s("body_word_count", "count", "Words in the body text."),
    _s("body_uppercase_ratio", "ratio", "Upper-case share of the body's letters (NaN without letters)."),
    _s("body_non_ascii_ratio", "ratio", "Non-ASCII share of the body's characters (NaN when empty)."),
    _s("body_digit_ratio", "ratio", "Digit share of the body's characters (NaN when empty)."),
    _s("body_exclamation_count", "count", "Exclamation marks in the body."),
    _s("body_zero_width_count", "count", "Zero-width characters (ZWSP, ZWJ, ZWNJ, word joiner, BOM) in the body."),
    _s("body_invisible_count", "count", "Other invisible characters (soft hyphen, bidi controls, fillers) in the body."),
    _s("body_bidi_control_count", "count", "Bidirectional control characters (RLO, LRE ...) in the body."),
    _s("body_confusable_word_count", "count", "Body words mixing Latin letters with Cyrillic/Greek/full-width look-alikes."),
    _s("body_confusable_word_ratio", "ratio", "Share of body words mixing Latin letters with look-alikes (NaN without words)."),
    _s("money_amount_count", "count", "Money amounts (currency symbol or code next to a number) in subject and body."),
    _s("phone_number_count", "count", "Phone numbers (10-15 digits with separators) in subject and body."),
    _s("subject_has_phone", "bool", "The subject holds a phone number."),
    _s("phrase_family_count", "count", "How many phrase families occur in subject or body."),
    _s("callback_with_phone", "bool", "A callback phrase and a phone number occur together."),
    *(_s(f"phrase_{f}_count", "count", f"Phrases of {_FAMILY_DOCS[f]} in subject and body, all languages.")
      for f in FAMILIES),
    *(_s(f"subject_phrase_{f}", "bool", f"The subject holds a phrase of {_FAMILY_DOCS[f]}.") for f in FAMILIES),
    _s("html_present", "bool", "The message has an HTML body."),
    _s("html_length", "count", "Bytes of raw HTML."),
    _s("html_text_ratio", "ratio", "Rendered text bytes per raw HTML byte (NaN without HTML)."),
    *(_s(f"html_{f}_count", "count", f"HTML: {_HTML_DOCS[f]} (in the first 128 KiB).") for f in HTML_FAMILIES),
)

_CALLBACK = FAMILIES.index("callback")


@functools.cache
def phrase_automaton() -> Automaton:
    table = phrases()
    return automaton_from_families([[normalize_phrase(p) for p in table[f]] for f in FAMILIES])


@functools.cache
def html_automaton() -> Automaton:
    table = html_tricks()
    return automaton_from_families([[normalize_html(p.encode()) for p in table[f]] for f in HTML_FAMILIES])


# Filled by one kernel call with the other groups (pyscore.signals.fused).
compute = fused.group_compute("content")


def group() -> SignalGroup:
    return SignalGroup("content", SIGNALS, compute, joint=fused.compute_blocks)
