"""This module contains the signal registry: every signal's name, level, doc and version.

Signals are computed in groups: one ``SignalGroup`` fills a block of columns
of the feature matrix for a whole ``MessageBatch`` at once (a Numba kernel, a
baseline lookup). The registry orders all groups' signals into one schema;
models and bundles pin its hash, so a model never reads a matrix whose
columns mean something else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyscore._dtypes import FEATURE_DTYPE
from pyscore.batch import MessageBatch

_NAN_ROWS = 16  # batches up to this many rows start from a copy of NaN rows

LEVELS = ("message", "sender", "recipient", "pair")
TYPES = ("bool", "count", "ratio", "real", "category")


@dataclass(frozen=True)
class Signal:
    name: str  # snake_case, unique: link_count, sender_days_known
    level: str  # one of LEVELS
    type: str  # one of TYPES
    doc: str  # one sentence: what it measures
    version: int = 1  # bump when the meaning or computation changes

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"signal {self.name!r}: level {self.level!r} is not one of {LEVELS}")
        if self.type not in TYPES:
            raise ValueError(f"signal {self.name!r}: type {self.type!r} is not one of {TYPES}")
        if not self.name.isidentifier() or self.name.lower() != self.name:
            raise ValueError(f"signal name {self.name!r} must be a lower-case identifier")


@dataclass
class ScoringContext:
    """What signals may know beside the batch itself.

    ``tenants[i]`` is message i's tenant id; ``tenant_configs`` maps a tenant
    id to its organisation context (own domains, VIP names, brands, lists);
    ``times[i]`` is when the message arrived (epoch seconds), the point in
    time that baseline lookups must not look past; ``baseline`` is the
    behavioral store, or None when scoring without history (baseline signals
    are then NaN).
    """

    tenants: Sequence[str]
    times: np.ndarray
    tenant_configs: dict[str, Any] = field(default_factory=dict)
    baseline: Any = None


# compute(batch, context, out) fills out: float32 array (len(batch), len(signals)).
ComputeFn = Callable[[MessageBatch, ScoringContext, np.ndarray], None]
# joint(batch, context, out, starts) fills the blocks of several groups of the whole matrix
# out (C-contiguous float32) at once; starts maps a group name to its first column.
JointFn = Callable[[MessageBatch, ScoringContext, np.ndarray, dict[str, int]], None]


@dataclass(frozen=True)
class SignalGroup:
    name: str
    signals: tuple[Signal, ...]
    compute: ComputeFn
    # Neighbouring groups with the same joint are computed by one joint call (one kernel
    # call for all of them) instead of one compute call each; results are the same.
    joint: JointFn | None = None


class SignalRegistry:
    """An ordered set of signal groups; the order of registration is the column order."""

    def __init__(self) -> None:
        self._groups: list[SignalGroup] = []
        self._names: set[str] = set()
        self._plan: list[tuple[JointFn | None, list[tuple[SignalGroup, int]], dict[str, int]]] | None = None
        self._nan_rows = np.zeros((0, 0), dtype=FEATURE_DTYPE)  # _NAN_ROWS rows of NaN, made with the plan

    def register(self, group: SignalGroup) -> SignalGroup:
        for sig in group.signals:
            if sig.name in self._names:
                raise ValueError(f"signal {sig.name!r} registered twice (group {group.name!r})")
        self._names.update(s.name for s in group.signals)
        self._groups.append(group)
        self._plan = None
        return group

    def _runs(self) -> list[tuple[JointFn | None, list[tuple[SignalGroup, int]], dict[str, int]]]:
        """(joint, groups with their first column, {group: first column}); neighbours
        sharing a joint function form one run."""
        if self._plan is None:
            plan: list[tuple[JointFn | None, list[tuple[SignalGroup, int]], dict[str, int]]] = []
            start = 0
            for group in self._groups:
                if group.joint is not None and plan and plan[-1][0] is group.joint:
                    plan[-1][1].append((group, start))
                    plan[-1][2][group.name] = start
                else:
                    plan.append((group.joint, [(group, start)], {group.name: start}))
                start += len(group.signals)
            self._plan = plan
            self._nan_rows = np.full((_NAN_ROWS, len(self._names)), np.nan, dtype=FEATURE_DTYPE)
        return self._plan

    @property
    def groups(self) -> tuple[SignalGroup, ...]:
        return tuple(self._groups)

    @property
    def signals(self) -> tuple[Signal, ...]:
        return tuple(s for g in self._groups for s in g.signals)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.signals]

    def schema_hash(self) -> str:
        """sha256 over the ordered (name, level, type, version) of every signal."""
        spec = [[s.name, s.level, s.type, s.version] for s in self.signals]
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()

    def compute(self, batch: MessageBatch, context: ScoringContext) -> np.ndarray:
        """The feature matrix: float32 (messages x signals), NaN where not available."""
        runs = self._runs()
        n = len(batch)
        # a few rows: copying NaN rows costs a third of np.full's Python-level work
        out = self._nan_rows[:n].copy() if n <= _NAN_ROWS else np.full((n, len(self._names)), np.nan, FEATURE_DTYPE)
        for joint, members, starts in runs:
            if joint is not None:
                joint(batch, context, out, starts)
                continue
            group, start = members[0]
            stop = start + len(group.signals)
            block = np.full((len(batch), stop - start), np.nan, dtype=FEATURE_DTYPE)
            group.compute(batch, context, block)
            out[:, start:stop] = block
        return out
