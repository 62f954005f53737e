"""This module contains the attachment signals: types, disguises, archives and lures.

Each attachment has a category from its extension and one from its detected
(magic-byte) type, both read from ``pyscore/data/attachment_types.txt``; a
per-category count counts an attachment once per distinct category of the
two, so an executable renamed ``.pdf`` counts as pdf and as executable.
"""

from __future__ import annotations

import functools

import numpy as np

from pyscore.signals import fused
from pyscore.signals.lists import (
    ATTACHMENT_CATEGORIES,
    RISKY_CATEGORIES,
    attachment_types,
)
from pyscore.signals.registry import Signal, SignalGroup
from pyscore.signals.tables import hash_map, hash_set

TINY_PDF_BYTES = 20_000  # a one-page lure with a link is smaller than this

_CATEGORY_DOCS = {
    "pdf": "PDF documents", "office": "Office documents without macros", "macro_office": "macro-enabled Office files",
    "image": "images", "svg": "SVG images (can carry script)", "html": "HTML/MHT pages", "archive": "archives",
    "disk_image": "ISO/IMG/VHD disk images", "executable": "executables", "script": "scripts (js, vbs, ps1, hta ...)",
    "lnk": "Windows shortcuts (.lnk)", "ics": "calendar invitations (.ics)", "onenote": "OneNote files (.one)",
    "email": "attached e-mails (.eml/.msg)", "text": "plain-text files",
}


def _s(name: str, kind: str, doc: str) -> Signal:
    return Signal(name, "message", kind, doc)


SIGNALS: tuple[Signal, ...] = (
    _s("attachment_count", "count", "Attachments."),
    *(_s(f"attach_{c}_count", "count", f"Attachments that are {_CATEGORY_DOCS[c]} by extension or detected type.")
      for c in ATTACHMENT_CATEGORIES),
    _s("attach_risky_count", "count", "Attachments that can run code (macros, scripts, executables, HTML, archives ...)."),
    _s("attach_type_mismatch_count", "count", "Attachments whose detected type does not fit the extension."),
    _s("attach_double_extension_count", "count", "Attachments named like invoice.pdf.exe."),
    _s("attach_encrypted_count", "count", "Password-protected attachments."),
    _s("attach_encrypted_archive_count", "count", "Password-protected archives."),
    _s("attach_archive_member_count", "count", "Files inside attached archives."),
    _s("attach_archive_risky_member_count", "count", "Files inside archives that can run code."),
    _s("attach_tiny_pdf_count", "count", f"PDF attachments under {TINY_PDF_BYTES} bytes (one-page lures)."),
    _s("attach_total_size_kb", "real", "Total decoded size of the attachments in KiB."),
    _s("attach_name_bidi_count", "count", "Attachment names holding bidi controls (right-to-left override)."),
    _s("attach_no_extension_count", "count", "Attachments without a file extension."),
)


@functools.cache
def attachment_tables() -> tuple[np.ndarray, ...]:
    ext_cat, type_cat, compatible = attachment_types()
    cats = ATTACHMENT_CATEGORIES
    ext_keys, ext_values = hash_map((e, cats.index(c)) for e, c in ext_cat.items())
    type_keys, type_values = hash_map((t, cats.index(c)) for t, c in type_cat.items())
    compat = hash_set(f"{e}:{t}" for e, types in compatible.items() for t in types)
    risky = np.array([c in RISKY_CATEGORIES for c in cats], dtype=np.uint8)
    return ext_keys, ext_values, type_keys, type_values, compat, risky


# Filled by one kernel call with the other groups (pyscore.signals.fused).
compute = fused.group_compute("attachments")


def group() -> SignalGroup:
    return SignalGroup("attachments", SIGNALS, compute, joint=fused.compute_blocks)
