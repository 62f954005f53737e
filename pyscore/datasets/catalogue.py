"""This module contains the catalogue of the real corpora: label, category, tenant and era per source.

Labels follow ``../shared/corpora/README.md``: a label is given per archive and,
where the archive mixes classes (SpamAssassin), per folder. The category is the
best knowledge available at source level, not a per-message judgement:
phishing_pot holds mostly credential phishing but also scams and some spam, and
the Enron inboxes hold a little real spam that stays labeled safe (count only
malicious verdicts on Enron as false alarms).

Tenants group mail that shares one recipient population: Enron is one
organisation, the linux-mips list another, each collection of personal or
honeypot mailboxes its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABELS = ("safe", "spam", "malicious")
CATEGORIES = (
    "safe",
    "spam",
    "credential_phishing",
    "bec",
    "malware",
    "callback_scam",
    "graymail",
)


@dataclass(frozen=True, slots=True)
class FolderRule:
    """Label and category of the members under one folder prefix of an archive."""

    prefix: str
    label: str
    category: str


@dataclass(frozen=True, slots=True)
class SourceSpec:
    archive: str  # file name inside the corpora folder
    source: str  # short name used in the index
    tenant: str
    era: str  # the years the mail was written, for reporting per source pair
    label: str  # default label of every member
    category: str
    folders: tuple[FolderRule, ...] = ()
    note: str = ""

    def classify(self, member: str) -> tuple[str, str, str]:
        """(label, category, folder) of one archive member by its path."""
        # The member's folder without the archive's top folder: "maildir/lay-k/inbox".
        folder = "/".join(member.split("/")[1:-1])
        for rule in self.folders:
            if member.startswith(rule.prefix):
                return rule.label, rule.category, folder
        return self.label, self.category, folder


CATALOGUE: tuple[SourceSpec, ...] = (
    SourceSpec(
        "enron.tar.xz",
        "enron",
        tenant="enron",
        era="2000-2002",
        label="safe",
        category="safe",
        note="inboxes of 137 employees; a little real spam stays labeled safe",
    ),
    SourceSpec(
        "linux_mips.tar.xz",
        "linux_mips",
        tenant="linux-mips-list",
        era="2018",
        label="safe",
        category="safe",
        note="mailing-list traffic",
    ),
    SourceSpec(
        "spamassassin.tar.xz",
        "spamassassin",
        tenant="spamassassin",
        era="2002",
        label="safe",
        category="safe",
        folders=(
            FolderRule("spamassassin/easy-ham-", "safe", "safe"),
            # Hard ham is legitimate bulk mail that looks like spam: newsletters, offers.
            FolderRule("spamassassin/hard-ham-", "safe", "graymail"),
            FolderRule("spamassassin/spam-", "spam", "spam"),
        ),
    ),
    SourceSpec(
        "phishing_pot.tar.xz",
        "phishing_pot",
        tenant="phishing-pot",
        era="2019-2025",
        label="malicious",
        category="credential_phishing",
        note="honeypot phishing; scams and some spam mixed in; recipients sanitised",
    ),
    SourceSpec(
        "nazario.tar.xz",
        "nazario",
        tenant="nazario",
        era="2004-2005",
        label="malicious",
        category="credential_phishing",
        note="three mbox files; phishing1 and 20051114 share Message-IDs",
    ),
)

BY_ARCHIVE = {spec.archive: spec for spec in CATALOGUE}
BY_SOURCE = {spec.source: spec for spec in CATALOGUE}


# --- category refinement for mixed malicious sources --------------------------------------------

_EXECUTABLE = {
    "exe",
    "elf",
    "macho",
    "lnk",
    "onenote",
    "chm",
    "iso",
    "vhd",
    "vmdk",
    "cab",
    "msi",
    "scr",
    "js",
    "jse",
    "vbs",
    "vbe",
    "wsf",
    "hta",
    "bat",
    "cmd",
    "ps1",
    "jar",
    "com",
    "pif",
}
_MACRO_EXT = {"docm", "xlsm", "pptm", "dotm", "xlam", "xls", "doc"}
_ARCHIVE = {"zip", "rar", "7z", "gzip", "tar", "iso", "img", "cab"}
_PHONE = re.compile(r"(?:\+?1[\s.-]?)?\(?\b[2-9]\d{2}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
_CALLBACK_WORDS = re.compile(
    r"\b(?:invoice|order|subscription|renew(?:al|ed)?|refund|charged?|purchase|receipt|billing|"
    r"transaction|cancel(?:lation)?)\b",
    re.I,
)
_EXTORTION = re.compile(
    r"\b(?:bitcoin|btc wallet|btc address|webcam|recorded you|your device was hacked)\b", re.I
)
_CALL_US = re.compile(
    r"\b(?:call|contact|dial|reach)\b[^.]{0,60}\b(?:us|support|helpline|help desk|team|number)\b",
    re.I,
)


def refine_category(default: str, message) -> tuple[str, str]:
    """(category, basis) for a message of a malicious source whose category is mixed.

    Reads content only (attachments' detected types and names, body text),
    never archive or verdict headers: an executable, macro document, disk
    image or an archive holding an executable makes it ``malware``; a phone
    number to call about an invoice, order or subscription with at most one
    link, or bitcoin extortion, makes it ``callback_scam``; anything else keeps
    the source's category. ``basis`` is "content" when the rule changed it.
    """
    for att in message.attachments:
        types = {att.file_type, att.file_extension}
        members = {m.rsplit(".", 1)[-1].lower() for m in att.archive_members if "." in m}
        if (
            types & _EXECUTABLE
            or types & _MACRO_EXT
            or (types & _ARCHIVE and members & _EXECUTABLE)
        ):
            return "malware", "content"
    text = message.body.current_thread_text or message.body.text or message.body.html_text
    text = text[:20000]
    if _EXTORTION.search(text):
        return "callback_scam", "content"
    if (
        len(message.links) <= 1
        and _PHONE.search(text)
        and _CALLBACK_WORDS.search(text)
        and _CALL_US.search(text)
    ):
        return "callback_scam", "content"
    return default, "source"
