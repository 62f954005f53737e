"""This module contains the array forms of the signal lists that the Numba kernels read.

- ``Automaton``: an Aho-Corasick machine over bytes (a dense transition table
  on a compressed byte alphabet), so one pass over a text counts every phrase
  of every family at once.
- hash sets: sorted uint64 FNV-1a hashes of strings (domains, extensions,
  header names); a kernel tests membership with a binary search.

Everything here is built once per process (or once per tenant set) and cached.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def fnv1a(data: bytes, seed: int = FNV_OFFSET) -> int:
    """64-bit FNV-1a, the same function as ``_kernels.fnv``."""
    h = seed
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & _MASK
    return h


def tenant_salted(h: int, tenant_index: int) -> int:
    """A hash keyed to one tenant (``_kernels.salt`` in the kernels)."""
    return (h ^ ((tenant_index + 1) * 0x9E3779B97F4A7C15)) & _MASK


def hash_set(values: Iterable[str | bytes]) -> np.ndarray:
    """Sorted unique uint64 hashes of the UTF-8 strings."""
    hashes = {fnv1a(v.encode("utf-8") if isinstance(v, str) else v) for v in values}
    return np.array(sorted(hashes), dtype=np.uint64)


def hash_map(items: Iterable[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted hashes, values): a string -> small int map for searchsorted lookups."""
    pairs = sorted({fnv1a(k.encode("utf-8")): v for k, v in items}.items())
    keys = np.array([k for k, _ in pairs], dtype=np.uint64)
    values = np.array([v for _, v in pairs], dtype=np.int32)
    return keys, values


@dataclass(frozen=True)
class Automaton:
    """Aho-Corasick DFA. ``table[state, byte_class[b]]`` is the next state t, stored
    as ``~t`` (negative) when a pattern ends at t; ``out_pat[t]`` is the first
    pattern ending there (-1: none), further patterns via ``next_out[pattern]``
    then ``dict_link[t]``."""

    byte_class: np.ndarray  # uint8 [256]
    table: np.ndarray  # int16 (int32 past 32767 states) [states, classes]
    out_pat: np.ndarray  # int32 [states]
    dict_link: np.ndarray  # int32 [states]: nearest proper suffix state with output, -1
    next_out: np.ndarray  # int32 [patterns]: another pattern with the same bytes, -1
    pat_len: np.ndarray  # int32 [patterns]
    pat_label: np.ndarray  # int32 [patterns]

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.byte_class, self.table, self.out_pat, self.dict_link, self.next_out, self.pat_len, self.pat_label)


def build_automaton(patterns: Sequence[tuple[bytes, int]]) -> Automaton:
    """An automaton matching every (pattern bytes, label); empty patterns are refused."""
    for pat, label in patterns:
        if not pat:
            raise ValueError(f"empty pattern for label {label}")
    alphabet = sorted({b for pat, _ in patterns for b in pat})
    if len(alphabet) > 254:
        raise ValueError("automaton alphabet too large")
    byte_class = np.zeros(256, dtype=np.uint8)
    for i, b in enumerate(alphabet):
        byte_class[b] = i + 1
    n_classes = len(alphabet) + 1
    children: list[dict[int, int]] = [{}]
    out_pat = [-1]
    next_out = [-1] * len(patterns)
    for p, (pat, _) in enumerate(patterns):
        state = 0
        for b in pat:
            c = int(byte_class[b])
            nxt = children[state].get(c)
            if nxt is None:
                nxt = len(children)
                children.append({})
                out_pat.append(-1)
                children[state][c] = nxt
            state = nxt
        next_out[p] = out_pat[state]
        out_pat[state] = p
    n = len(children)
    # int16 states keep the table small enough for the cache (the common case)
    table = np.zeros((n, n_classes), dtype=np.int16 if n < 32768 else np.int32)
    fail = [0] * n
    dict_link = [-1] * n
    queue: deque[int] = deque()
    for c in range(n_classes):
        child = children[0].get(c)
        if child is not None:
            table[0, c] = child
            queue.append(child)
    while queue:
        state = queue.popleft()
        f = fail[state]
        dict_link[state] = f if out_pat[f] >= 0 else dict_link[f]
        for c in range(n_classes):
            child = children[state].get(c)
            if child is None:
                table[state, c] = table[f, c]
            else:
                table[state, c] = child
                fail[child] = int(table[f, c]) if state != 0 else 0
                queue.append(child)
    out_arr = np.array(out_pat, dtype=np.int32)
    link_arr = np.array(dict_link, dtype=np.int32)
    # Flag moves into states where a pattern ends (own or via a suffix): store ~target,
    # so the scan loop tests one sign per byte instead of two lookups.
    ends = (out_arr >= 0) | (link_arr >= 0)
    table = np.where(ends[table], np.invert(table), table).astype(table.dtype)
    return Automaton(
        byte_class=byte_class,
        table=table,
        out_pat=out_arr,
        dict_link=link_arr,
        next_out=np.array(next_out, dtype=np.int32),
        pat_len=np.array([len(p) for p, _ in patterns], dtype=np.int32),
        pat_label=np.array([label for _, label in patterns], dtype=np.int32),
    )


def automaton_from_families(families: Sequence[Sequence[bytes]]) -> Automaton:
    """Label = index of the family; identical patterns across families all count."""
    return build_automaton([(p, label) for label, pats in enumerate(families) for p in pats])


@functools.cache
def empty_automaton() -> Automaton:
    return build_automaton([(b"\x00never\x00", 0)])
