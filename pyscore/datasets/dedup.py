"""This module contains de-duplication and campaign grouping: body hashes, MinHash LSH, union-find.

Exact copies are found by Message-ID and by a hash of the normalised body
(case folded, URLs, addresses and digit runs masked, punctuation dropped), so
that a copy whose only change is a tracking number, a recipient address or a
sanitised word still counts as the same body.

Campaigns are near-duplicate groups: the connected components of three kinds of
edges, each one a reason two messages must stay on the same side of a split:

* same Message-ID or same normalised body hash (copies);
* near-duplicate bodies: MinHash over word 4-gram shingles, banded LSH
  (16 bands x 4 rows, so pairs with Jaccard >= ~0.5 collide with high
  probability), every collision confirmed by a signature estimate >= 0.6.
  Jaccard on shingles tolerates what campaigns change between copies (names,
  amounts, links, a reordered paragraph) while distinct messages on the same
  topic share few 4-grams; LSH keeps the cost linear in the number of messages;
* same normalised subject (reply and forward prefixes removed, digits masked,
  at least 8 characters) from the same sender domain: a campaign's subject line
  and a conversation's thread both stay whole.

Simhash was the alternative; MinHash was chosen because its collision
probability is the Jaccard similarity itself, which makes the threshold easy
to state and check.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 4
MAX_WORDS = 600  # long bodies: the first 600 words carry the template
MIN_SHINGLE_WORDS = 8  # shorter bodies are only matched exactly
CONFIRM_JACCARD = 0.6

_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w]+")
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|aw|wg|sv|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I)

_SEEDS = np.random.default_rng(0x5EED).integers(0, 2**63, NUM_PERM, dtype=np.uint64)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 that scatters nearby inputs (wraps on purpose)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def normalise_text(text: str) -> str:
    """Case-folded words with URLs, addresses and digit runs masked."""
    text = _URL.sub(" url ", text.casefold())
    text = _EMAIL.sub(" email ", text)
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def body_hash(normalised: str, attachment_hashes: tuple[str, ...] = (), subject: str = "") -> str:
    """Hex digest of the normalised body, attachments and, for short bodies, the subject.

    A body of a few words ("see link", a bare URL) is shared by unrelated mail, so
    below MIN_SHINGLE_WORDS words the normalised subject joins the key. Returns ""
    when there is too little to identify a copy (matched by Message-ID only).
    """
    words = normalised.split()
    parts = [normalised, "\x00".join(sorted(attachment_hashes))]
    if len(words) < MIN_SHINGLE_WORDS:
        parts.append(normalise_subject(subject))
        if len(" ".join(parts).split()) < 3 and not attachment_hashes:
            return ""
    return hashlib.blake2b("\x01".join(parts).encode(), digest_size=12).hexdigest()


def normalise_subject(subject: str) -> str:
    subject = _SUBJECT_PREFIX.sub("", subject)
    return normalise_text(subject)


def minhash(normalised: str) -> np.ndarray | None:
    """A NUM_PERM uint64 MinHash signature of the word shingles, or None for short texts."""
    words = normalised.split()[:MAX_WORDS]
    if len(words) < MIN_SHINGLE_WORDS:
        return None
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    x = np.fromiter((zlib.crc32(s.encode()) for s in shingles), np.uint64, len(shingles))
    # One independent hash per permutation: mix(x xor seed). A linear (a*x + b) without
    # modular wrap-around would keep the order of x and make every minimum the same shingle.
    with np.errstate(over="ignore"):
        h = _mix64(x[:, None] ^ _SEEDS[None, :])
    return h.min(axis=0)


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving; the root is the smallest index."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            lo, hi = (ri, rj) if ri < rj else (rj, ri)
            self.parent[hi] = lo

    def roots(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


def group_campaigns(
    message_ids: list[str],
    body_hashes: list[str],
    signatures: list[np.ndarray | None],
    subject_keys: list[str],
) -> list[int]:
    """Component root (smallest member index) of every message, joining copies and near copies.

    ``subject_keys`` are "" for messages whose subject should not join groups.
    """
    n = len(message_ids)
    uf = UnionFind(n)
    for keys in (message_ids, body_hashes, subject_keys):
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            if not key:
                continue
            j = first.setdefault(key, i)
            if j != i:
                uf.union(i, j)
    buckets: dict[bytes, int] = {}
    for i, sig in enumerate(signatures):
        if sig is None:
            continue
        for band in range(BANDS):
            key = band.to_bytes(1, "little") + sig[band * ROWS : (band + 1) * ROWS].tobytes()
            j = buckets.setdefault(key, i)
            if j != i and float(np.mean(signatures[j] == sig)) >= CONFIRM_JACCARD:
                uf.union(i, j)
    return uf.roots()


def subject_key(subject: str, sender_domain: str) -> str:
    """Subject plus sender domain, or "" when the subject is too short to mean anything."""
    norm = normalise_subject(subject)
    if len(norm) < 8:
        return ""
    return f"{sender_domain}\x00{norm}"
