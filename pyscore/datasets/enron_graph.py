"""This module contains the Enron communication graph that attacks are injected into.

From the parsed Enron inboxes it collects who each mailbox owner is (the
address most of their inbox was sent to), which internal senders reach many
owners (the people worth impersonating: executives and managers, ranked by
how many distinct inboxes they wrote to), and which external correspondents
(non-free-mail, person-like senders who wrote to an owner at least twice)
each owner has a history with. Every history message keeps its time, so an
attack can be placed after the message it exploits.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

ENRON_DOMAIN = "enron.com"
# Free mail of the period: real Enron ham uses these too, so their presence alone tells nothing.
FREE_MAIL = (
    "hotmail.com",
    "yahoo.com",
    "aol.com",
    "msn.com",
    "excite.com",
    "netscape.net",
    "juno.com",
    "earthlink.net",
    "lycos.com",
    "compuserve.com",
    "mail.com",
    "usa.net",
)
_BULK_LOCAL = re.compile(
    r"(?:news|info|no-?reply|announce|admin|mailer|notif|list|bounce|alert|service|support|"
    r"marketing|webmaster|daemon|update|subscri|editor|postmaster|office|enron|help|team|report)",
    re.I,
)
_BULK_NAME = re.compile(
    r"(?:enron|announcement|office of|newsletter|team|group|dept|department|"
    r"services|online|daily|weekly|direct|times|news|digest|alert|mail|update|"
    r"\bthe\b|\binc\b|\bllc\b|\bcorp|@|\d)",
    re.I,
)


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A real Enron message an attack may exploit."""

    index: int  # row in the dataset's record list
    message_id: str  # the header Message-ID ("" when the release lost it)
    timestamp: float
    sender: str
    sender_name: str
    owner: str  # mailbox name, e.g. "lay-k"
    subject: str
    excerpt: str  # the newest text of the body, for quoting in a hijacked thread
    date_raw: str


@dataclass(slots=True)
class Owner:
    mailbox: str
    email: str
    name: str
    folder_headers: tuple[
        tuple[str, str], ...
    ]  # X-Folder / X-Origin / X-FileName as the release wrote them
    last_timestamp: float


@dataclass(slots=True)
class EnronGraph:
    owners: dict[str, Owner] = field(default_factory=dict)
    vips: list[str] = field(default_factory=list)  # internal sender addresses, most reaching first
    names: dict[str, str] = field(default_factory=dict)  # address -> display name
    internal: dict[tuple[str, str], list[HistoryMessage]] = field(
        default_factory=dict
    )  # (vip, owner)
    external: dict[tuple[str, str], list[HistoryMessage]] = field(
        default_factory=dict
    )  # (addr, owner)


def mailbox_of(member: str) -> str:
    """'enron/maildir/lay-k/inbox/12' -> 'lay-k'."""
    parts = member.split("/")
    return parts[parts.index("maildir") + 1] if "maildir" in parts else parts[0]


def owner_name(folder_headers: tuple[tuple[str, str], ...], email: str) -> str:
    """ "Last, First" from the release's X-Folder path, else from a first.last address."""
    for key, value in folder_headers:
        if key.lower() == "x-folder":
            for part in value.split("\\"):
                if re.fullmatch(r"[A-Z][A-Za-z' .-]+, [A-Z][A-Za-z' .-]+", part.strip()):
                    return part.strip()
    local = email.split("@")[0]
    if local.count(".") == 1 and all(len(p) > 1 for p in local.split(".")):
        first, last = local.split(".")
        return f"{last.capitalize()}, {first.capitalize()}"
    return ""


def looks_like_person(name: str, address: str) -> bool:
    """A personal mailbox: a 2-5 word name that the local part spells (vmartinez, jane.doe)."""
    local = address.split("@")[0].lower()
    if not name or _BULK_NAME.search(name) or _BULK_LOCAL.search(local):
        return False
    words = [w.strip(".'-").lower() for w in re.findall(r"[A-Za-z][A-Za-z.'-]+", name)]
    if not 2 <= len(words) <= 5:
        return False
    return any(len(w) >= 3 and w in local for w in words)


def build_graph(records: list[dict], *, vip_count: int = 25) -> EnronGraph:
    """The graph from Enron records (dicts with member, sender, sender_name, recipients, ...)."""
    graph = EnronGraph()
    to_counts: dict[str, Counter] = defaultdict(Counter)
    folder_headers: dict[str, tuple] = {}
    last: dict[str, float] = defaultdict(lambda: float("-inf"))
    name_counts: dict[str, Counter] = defaultdict(Counter)
    for rec in records:
        owner = mailbox_of(rec["member"])
        for addr in rec["recipients"]:
            if addr.endswith("@" + ENRON_DOMAIN):
                to_counts[owner][addr] += 1
        if rec["folder_headers"] and owner not in folder_headers:
            folder_headers[owner] = rec["folder_headers"]
        if rec["timestamp"] == rec["timestamp"]:
            last[owner] = max(last[owner], rec["timestamp"])
        if rec["sender"] and rec["sender_name"]:
            name_counts[rec["sender"]][rec["sender_name"]] += 1
    graph.names = {addr: c.most_common(1)[0][0] for addr, c in name_counts.items()}
    for owner, counts in to_counts.items():
        email = counts.most_common(1)[0][0]
        fh = folder_headers.get(owner, ())
        name = graph.names.get(email) or owner_name(fh, email)
        graph.owners[owner] = Owner(owner, email, name, fh, last[owner])
    reach: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        owner = mailbox_of(rec["member"])
        sender, name = rec["sender"], graph.names.get(rec["sender"], "")
        if owner not in graph.owners or not sender or rec["timestamp"] != rec["timestamp"]:
            continue
        if sender == graph.owners[owner].email or len(rec["recipients"]) > 8:
            continue  # own mail and broadcasts carry no pair history
        if rec.get("bulk") or not looks_like_person(name, sender):
            continue
        hist = HistoryMessage(
            rec["index"],
            rec["message_id"],
            rec["timestamp"],
            sender,
            name,
            owner,
            rec["subject"],
            rec["excerpt"],
            rec["date_raw"],
        )
        domain = sender.rsplit("@", 1)[-1]
        if domain == ENRON_DOMAIN:
            reach[sender].add(owner)
            graph.internal.setdefault((sender, owner), []).append(hist)
        elif domain not in FREE_MAIL:
            graph.external.setdefault((sender, owner), []).append(hist)
    graph.vips = sorted(reach, key=lambda a: (-len(reach[a]), a))[:vip_count]
    graph.internal = {
        k: sorted(v, key=_when) for k, v in graph.internal.items() if k[0] in set(graph.vips)
    }
    graph.external = {k: sorted(v, key=_when) for k, v in graph.external.items() if len(v) >= 2}
    return graph


def _when(h: HistoryMessage) -> tuple[float, int]:
    return (h.timestamp, h.index)
