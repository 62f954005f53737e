"""This module contains the train/test split: by time within each source, whole campaigns at once.

Each source gets its own cutoff, the ``1 - test_fraction`` quantile of its
message timestamps (the sources come from different years, so one global
cutoff would put whole sources on one side). A campaign (see ``dedup``) is
atomic: it goes to test when, in every source it touches, its earliest message
there is at or after that source's cutoff, else to train (a campaign may span
sources: one newsletter reached Enron and SpamAssassin). So every test message is
at or after its source's cutoff, no copy or near copy straddles the split, and
a campaign that began before the cutoff trains the model on its later
messages too (that is what a deployed filter would have seen).

Campaigns with no timestamp at all are assigned by a seeded hash of the
campaign id, with the same test fraction.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """What the split did, recorded in the dataset manifest."""

    method: str
    test_fraction: float
    seed: int
    cutoffs: dict[
        str, float
    ]  # source -> epoch seconds; test holds campaigns starting at or after it

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "cutoffs": self.cutoffs,
        }


def source_cutoffs(
    sources: list[str], timestamps: np.ndarray, test_fraction: float
) -> dict[str, float]:
    """Per source, the timestamp quantile that leaves ``test_fraction`` of its dated mail after it."""
    cutoffs: dict[str, float] = {}
    src = np.asarray(sources, dtype=object)
    for name in sorted(set(sources)):
        ts = timestamps[(src == name) & np.isfinite(timestamps)]
        cutoffs[name] = float(np.quantile(ts, 1.0 - test_fraction)) if len(ts) else math.inf
    return cutoffs


def split_by_time(
    sources: list[str],
    timestamps: np.ndarray,
    campaigns: list[int],
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> tuple[list[str], SplitPlan]:
    """'train' or 'test' for every message, plus the plan that produced it.

    ``campaigns`` gives each message's campaign root index (messages sharing a
    root are one campaign).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    n = len(sources)
    if not (len(timestamps) == len(campaigns) == n):
        raise ValueError(
            f"sources, timestamps and campaigns differ in length ({n}, {len(timestamps)}, {len(campaigns)})"
        )
    cutoffs = source_cutoffs(sources, timestamps, test_fraction)
    # Earliest dated message of each campaign in each source it touches.
    start: dict[int, dict[str, float]] = {}
    for i, root in enumerate(campaigns):
        t = timestamps[i]
        if math.isfinite(t):
            per_source = start.setdefault(root, {})
            if t < per_source.get(sources[i], math.inf):
                per_source[sources[i]] = t
    side: dict[int, str] = {}
    for root in set(campaigns):
        if root in start:
            after = all(t >= cutoffs[src] for src, t in start[root].items())
            side[root] = "test" if after else "train"
        else:
            side[root] = "test" if _unit_hash(seed, str(root)) < test_fraction else "train"
    plan = SplitPlan("time_per_source_by_campaign", test_fraction, seed, cutoffs)
    return [side[root] for root in campaigns], plan


def _unit_hash(seed: int, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64
