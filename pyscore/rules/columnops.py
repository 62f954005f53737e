"""This module contains the column-op plan: the atoms and numeric columns of compiled rules that
read a packed batch directly, handed to the core's ``ColumnOps`` and computed in one call.

Covered, when every column they read is in the batch's packed layout and every level they
touch is the message or a list group: non-null, ``==`` / ``!=`` between string columns,
``strings.(i)contains / starts_with / ends_with`` with patterns from columns, copies of
number columns and signals, string lengths, and edit distances to constants. Everything
else (derived strings, regexes, Python predicates, iextract levels) stays with the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pyscore import _core
from pyscore.rules.compiler import Compiler

NON_NULL, STR_EQ, STR_NE, PAIR = 0, 1, 2, 3
NUMBER, SIGNAL, CODE_POINTS, LEV_CONST = 0, 1, 2, 3
FOLDED = 16
PAIR_MODES = {"contains": 1, "starts_with": 2, "ends_with": 4}


@dataclass(frozen=True)
class ColumnPlan:
    """The core object for one layout and what it computes."""

    ops: object | None  # _core.ColumnOps, None when nothing is covered
    atoms: frozenset[int]
    nums: frozenset[int]


def pair_mode(name: str) -> int | None:
    """The core match mode of a ``strings.*`` predicate name, None when it has none."""
    return PAIR_MODES.get(name.split(".", 1)[1].lstrip("i"))


def build(c: Compiler, layout, signal_index: dict[str, int], packed_name: Callable[[tuple], str | None]) -> ColumnPlan:
    """The column ops of compiled rules ``c`` on batches packed in ``layout``."""
    level_group = [-1] + [layout.groups.get(lv.key[1], -2) if lv.key[0] == "group" else -2 for lv in c.levels[1:]]

    def column(skey: tuple) -> tuple[int, int] | None:
        """(packed string column, its level) of a column key, None when not packed."""
        name = packed_name(skey) if skey[0] in ("col", "elem") else None
        k = layout.strings.get(name) if name is not None else None
        return None if k is None else (k, c.skey_level(skey))

    def readable(col_level: int, level: int) -> bool:
        return (level == 0 or level_group[level] >= 0) and col_level in (level, 0)

    atom_ops: list[tuple[int, ...]] = []
    atoms: set[int] = set()
    for aid, key in enumerate(c.atoms):
        level = c.atom_level[aid]
        if key[0] == "nonnull":
            a = column(key[1])
            if a is not None and a[1] == level and readable(a[1], level):
                atom_ops.append((NON_NULL, aid, level, a[0], a[1], 0, 0, 0))
                atoms.add(aid)
        elif key[0] in ("streq", "strne"):
            a, b = column(key[1]), column(key[2])
            if a is not None and b is not None and readable(a[1], level) and readable(b[1], level):
                atom_ops.append((STR_EQ if key[0] == "streq" else STR_NE, aid, level, a[0], a[1], b[0], b[1], 0))
                atoms.add(aid)
        elif key[0] == "pred" and pair_mode(key[1]):
            _, name, subject, patterns, _ = key
            a, bs = column(subject), [column(p) for p in patterns]
            if a is not None and readable(a[1], level) and all(b is not None and readable(b[1], level) for b in bs):
                mode = pair_mode(name) | (FOLDED if name.startswith("strings.i") else 0)
                atom_ops += [(PAIR, aid, level, a[0], a[1], b[0], b[1], mode) for b in bs]
                atoms.add(aid)
    num_ops: list[tuple[int, ...]] = []
    nums: set[int] = set()
    constants: dict[str, int] = {}
    for i, key in enumerate(c.num_cols):
        op = _num_op(c, key, column, readable, layout, signal_index, packed_name, constants)
        if op is not None:
            num_ops.append((op[0], i, *op[1:]))
            nums.add(i)
    if not atom_ops and not num_ops:
        return ColumnPlan(None, frozenset(), frozenset())
    ops = _core.ColumnOps(np.array(level_group, np.int32), np.array(atom_ops, np.int32).reshape(-1, 8),
                          np.array(num_ops, np.int32).reshape(-1, 6), [k.encode("utf-8") for k in constants])
    return ColumnPlan(ops, frozenset(atoms), frozenset(nums))


def _num_op(c: Compiler, key: tuple, column, readable, layout, signal_index: dict[str, int], packed_name,
            constants: dict[str, int]) -> tuple[int, ...] | None:
    """(kind, level, source, source level, constant) of a numeric column, None when not covered."""
    kind = key[0]
    if kind == "sig":
        return (SIGNAL, 0, signal_index[key[1]], 0, 0)
    if kind in ("col", "elem"):
        name = packed_name(key)
        k = layout.numbers.get(name) if name is not None else None
        level = 0 if kind == "col" else key[1]
        if k is None or not readable(level, level):
            return None
        return (NUMBER, level, k, level, 0)
    if kind == "strlen":
        a = column(key[1])
        if a is None or a[1] != key[-1] or not readable(a[1], key[-1]):
            return None
        return (CODE_POINTS, key[-1], a[0], a[1], 0)
    if kind == "lev":
        _, x, y, level = key
        if (x[0] == "const") == (y[0] == "const"):
            return None  # two columns, or two constants: the runtime's general path
        const, other = (x, y) if x[0] == "const" else (y, x)
        a = column(other)
        if a is None or not readable(a[1], level):
            return None
        return (LEV_CONST, level, a[0], a[1], constants.setdefault(const[1], len(constants)))
    return None
