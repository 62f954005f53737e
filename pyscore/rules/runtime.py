"""This module contains CompiledRules: compiled rules evaluated on whole MessageBatches.

Per batch: list levels are laid out (offsets of every list a rule reads),
literal atoms are marked by one core ``LiteralMatcher`` pass per (column,
case mode), the remaining atoms are computed per distinct value, numeric
columns are gathered, and the core ``RuleProgram`` fills the
(messages x rules) uint8 matrix with the GIL released.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pyscore import _core
from pyscore._dtypes import OFFSET_DTYPE
from pyscore.batch import MessageBatch, StringColumn
from pyscore.rules import columnops, fastregex
from pyscore.rules import functions as fn
from pyscore.rules.compiler import LAZY_ATOMS, Compiler, regex_literal_sets
from pyscore.rules.types import prevalence_of


@dataclass(frozen=True)
class RuleMeta:
    """What the engine needs to know about a rule besides whether it fired."""

    name: str
    id: str
    category: str
    severity: str
    mode: str  # active | shadow
    path: str = ""


@functools.lru_cache(maxsize=4096)
def _search_plan(patterns: tuple[str, ...], ci: bool, whole: bool) -> tuple:
    """Per pattern: (compiled, whole, window width or None, folded window literals)."""
    plan = []
    for p in patterns:
        width = None if whole else fn.regex_window(p)
        sets = regex_literal_sets(p) if width is not None else []
        literals = tuple(fn.ascii_lower(x) for x in sets[0]) if sets else ()
        plan.append((fn.compiled_regex(p, ci), whole, width if literals else None, literals))
    return tuple(plan)


def _run_plan(plan: tuple, v: str, folded: list | None = None) -> bool:
    """Same answer as ``functions.regex_test``; context-free regexes search only near their literals.
    ``folded`` is a one-item list that caches ``ascii_lower(v)`` across calls."""
    folded = [None] if folded is None else folded
    for rx, whole, width, literals in plan:
        if whole:
            hit = rx.fullmatch(v) is not None
        elif width is not None:
            if folded[0] is None:
                folded[0] = fn.ascii_lower(v)
            hit = fn.windowed_search(rx, v, width, literals, folded[0])
        else:
            hit = rx.search(v) is not None
        if hit:
            return True
    return False


_NO_CODES = (np.zeros(0, np.int64), np.zeros(1, OFFSET_DTYPE), 0)
_NO_COLUMN_OPS = columnops.ColumnPlan(None, frozenset(), frozenset())
_WHOLE_TEXT = 1 << 13  # packed texts up to this size are checked and copied once per batch
_COPY_WHOLE = 1 << 16  # larger regex columns are copied row by row, only the rows scanned,
_ROW_BYTES = 256  # unless the rows scanned are many: more than the column's bytes / _ROW_BYTES
_SMALL = 16  # batches of at most this many messages scan every value: guards cost more than scans


def _take(col: StringColumn, idx: np.ndarray) -> StringColumn:
    """Rows ``idx`` of a string column, as a new column."""
    starts = col.offsets[:-1][idx]
    lens = (col.offsets[1:] - col.offsets[:-1])[idx]
    offsets = np.zeros(len(idx) + 1, OFFSET_DTYPE)
    np.cumsum(lens, out=offsets[1:])
    positions = np.repeat(starts - offsets[:-1], lens) + np.arange(offsets[-1], dtype=OFFSET_DTYPE)
    return StringColumn(offsets, col.data[positions])


def _non_ascii_rows(col: StringColumn) -> np.ndarray:
    """Rows of a string column that hold a byte above 0x7F."""
    high = np.zeros(len(col.data) + 1, np.int64)
    np.cumsum(col.data >= 0x80, out=high[1:])
    return np.flatnonzero(high[col.offsets[1:]] != high[col.offsets[:-1]])


def _replace_rows(col: StringColumn, rows: np.ndarray, f) -> StringColumn:
    """``col`` with the values of ``rows`` replaced by ``f(value)`` (the other rows' bytes are kept:
    for ASCII rows decoding and encoding again gives the same bytes)."""
    offsets = col.offsets
    memo: dict[str, bytes] = {}
    parts, lens, prev = [], np.diff(offsets), 0
    for r in rows.tolist():
        v = col[r]
        new = memo.get(v)
        if new is None:
            new = memo[v] = f(v).encode("utf-8", "replace")
        parts += [col.data[offsets[prev]:offsets[r]], np.frombuffer(new, np.uint8)]
        lens[r] = len(new)
        prev = r + 1
    parts.append(col.data[offsets[prev]:offsets[-1]])
    new_offsets = np.zeros(len(offsets), OFFSET_DTYPE)
    np.cumsum(lens, out=new_offsets[1:])
    return StringColumn(new_offsets, np.concatenate(parts))


@functools.lru_cache(maxsize=256)
def _label_column(labels: tuple[str, ...]) -> StringColumn:
    """A small column of labels from a handful of values (prevalence), built once per combination."""
    return StringColumn.from_strings(labels)


def _nonnull(col: StringColumn) -> np.ndarray:
    return col.offsets[1:] > col.offsets[:-1]


class CompiledRules:
    """Rules compiled once; ``evaluate`` runs them all on a batch."""

    def __init__(self, rules: Sequence[RuleMeta], compiler: Compiler) -> None:
        self.rules = list(rules)
        self._c = compiler
        guard_roots, readers = compiler.guards()
        self._program = compiler.program()  # after guards(): guard nodes are part of the arrays
        # The guard program bounds only the rules that read lazy atoms; readers index its columns.
        guarded = sorted({r for rules in readers.values() for r in rules})
        column = {r: j for j, r in enumerate(guarded)}
        self._regex_readers = {aid: [column[r] for r in rules] for aid, rules in readers.items()}
        self._guards = compiler.program([guard_roots[r] for r in guarded]) if guarded else None
        self._matchers = self._build_matchers(compiler)
        self._fast = _FastRegexes(compiler) if fastregex.available() else None
        self.signals = sorted({k[1] for k in compiler.num_cols if k[0] == "sig"}
                              | {k[1] for k in _all_string_keys(compiler) if k[0] == "prevalence"})
        self._plan = _Plan(compiler, self.signals)
        self._plan.set_readers(self._regex_readers, self._fast)
        self._feature_index: tuple[Sequence[str] | None, np.ndarray | None] = (None, None)

    @staticmethod
    def _build_matchers(c: Compiler) -> list[tuple[tuple, object]]:
        groups: dict[tuple, list[tuple[int, int, str]]] = {}
        for aid, key in enumerate(c.atoms):
            if key[0] == "lit":
                _, skey, ci, targets = key
                groups.setdefault((skey, ci), []).extend((aid, mode, lit) for mode, lit in targets)
        matchers = []
        for (skey, ci), targets in groups.items():
            patterns: dict[bytes, int] = {}
            tp, ta, tm = [], [], []
            for aid, mode, lit in targets:
                raw = (fn.ascii_lower(lit) if ci else lit).encode("utf-8")
                tp.append(patterns.setdefault(raw, len(patterns)))
                ta.append(aid)
                tm.append(mode)
            matcher = _core.LiteralMatcher(list(patterns), ci, np.array(tp, np.int32), np.array(ta, np.int32),
                                           np.array(tm, np.uint8))
            matchers.append((skey, matcher))
        return matchers

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def dump(self) -> str:
        """The evaluated form: levels, atoms, numeric columns and the program."""
        c = self._c
        lines = [f"levels: {[(i, lv.key, lv.parent) for i, lv in enumerate(c.levels)]}"]
        lines += [f"atom {i} @level {c.atom_level[i]}: {k}" for i, k in enumerate(c.atoms)]
        lines += [f"num {i}: {k}" for i, k in enumerate(c.num_cols)]
        lines += [f"codes {i}: {k}" for i, k in enumerate(c.code_cols)]
        lines += [f"matcher on {skey}: {m.n_patterns} patterns, {m.n_states} states" for skey, m in self._matchers]
        if self._fast is not None:
            lines += self._fast.dump()
        lines.append(self._program.dump())
        lines += [f"rule {i}: {r.name}" for i, r in enumerate(self.rules)]
        return "\n".join(lines)

    def evaluate(self, batch: MessageBatch, context=None, *, features: np.ndarray | None = None,
                 feature_names: Sequence[str] | None = None) -> np.ndarray:
        """uint8 (messages x rules): 1 where the rule matched.

        Rules that read ``signals.<name>`` or ``profile.by_sender()`` need the
        feature matrix: pass ``features`` (messages x signals) with
        ``feature_names``, or a ``context`` to compute it with the signal registry.
        """
        signal_values = self._features(batch, context, features, feature_names)
        run = _BatchRun(self._c, batch, signal_values, self._fast, self._plan)
        return run.evaluate(self._program, self._matchers, len(self.rules), self._guards, self._regex_readers)

    def _features(self, batch, context, features, feature_names) -> np.ndarray:
        """The signals the rules read, float64 (messages x ``self.signals``)."""
        if not self.signals:
            return np.zeros((len(batch), 0))
        if features is None:
            if context is None:
                raise ValueError(f"these rules read signals {self.signals}: pass features= or a context")
            from pyscore.signals import REGISTRY

            features, feature_names = REGISTRY.compute(batch, context), REGISTRY.names
        if feature_names is None:
            raise ValueError("feature_names is required with features")
        if features.shape != (len(batch), len(feature_names)):
            raise ValueError(f"features has shape {features.shape}, expected ({len(batch)}, {len(feature_names)})")
        names, columns = self._feature_index
        if names is not feature_names:  # the same names object as last time: the engine's case
            index = {n: i for i, n in enumerate(feature_names)}
            missing = [s for s in self.signals if s not in index]
            if missing:
                raise ValueError(f"features lacks signals {missing} that the rules read")
            columns = np.array([index[s] for s in self.signals], np.intp)
            self._feature_index = (feature_names, columns)
        return np.asarray(features)[:, columns].astype(np.float64)  # pick, then widen: fewer bytes


class _Plan:
    """What every batch needs from the compiled rules, worked out once: atom levels, which atoms
    are computed eagerly, which matchers and numeric columns read a packed batch directly."""

    def __init__(self, c: Compiler, signals: list[str]) -> None:
        self.atom_level = np.array(c.atom_level, np.intp)
        # base[i] of a flat buffer of columns at levels ``level`` = counts[i] @ rows per level.
        self.atom_counts = _level_counts(c.atom_level, len(c.levels))
        self.eager_atoms = [aid for aid, key in enumerate(c.atoms) if key[0] not in ("lit", *LAZY_ATOMS)]
        self.signal_index = {s: j for j, s in enumerate(signals)}
        sig = [(i, self.signal_index[key[1]]) for i, key in enumerate(c.num_cols) if key[0] == "sig"]
        self.sig_ids = np.array([i for i, _ in sig], np.intp)
        self.num_level = np.array([_num_level(key) for key in c.num_cols], np.intp)
        self.num_counts = _level_counts(self.num_level.tolist(), len(c.levels))
        self._group_levels: dict[int, tuple] = {}
        self.unpacked_numbers = [i for i, key in enumerate(c.num_cols) if key[0] != "sig"]
        self._number_layouts: dict[int, tuple] = {}
        self.sig_columns = np.array([j for _, j in sig], np.intp)
        self._c = c
        self._layouts: dict[int, tuple] = {}
        self._strings: dict[int, tuple] = {}
        self._slow: tuple | None = None
        self._column_plans: dict[int, tuple] = {}
        groups: dict[tuple, list[tuple[int, str]]] = {}
        for i, key in enumerate(c.num_cols):
            if key[0] == "lev" and (key[1][0] == "const" or key[2][0] == "const"):
                _, a, b, level = key
                const, other = (a, b) if a[0] == "const" else (b, a)
                groups.setdefault((other, level), []).append((i, const[1]))
        # (column, level) -> ([(numeric column, index of its constant or -1 for "")], constants)
        self.lev_groups = []
        for group, targets in groups.items():
            consts = [const for _, const in targets if const]
            index = {const: j for j, const in enumerate(consts)}
            self.lev_groups.append((group, [(i, index.get(const, -1)) for i, const in targets],
                                    StringColumn.from_strings(consts)))

    def group_levels(self, layout) -> np.ndarray | None:
        """The packed group of every level after the message, None when a level is not a packed group."""
        found = self._group_levels.get(id(layout))
        if found is None or found[0] is not layout:
            groups = [layout.groups.get(lv.key[1]) if lv.key[0] == "group" else None for lv in self._c.levels[1:]]
            found = self._group_levels[id(layout)] = (layout, None if None in groups else np.array(groups, np.intp))
        return found[1]

    def set_readers(self, regex_readers: dict[int, list[int]], fast: _FastRegexes | None) -> None:
        """The guarded rules that read each fast regex column: small batches scan a column only
        when one of them is still open."""
        columns = list(fast.columns.values()) if fast is not None else []
        self.fast_column_readers = [frozenset(j for aid in atoms for j in regex_readers.get(aid, []))
                                    for _, _, atoms in columns]

    def columns(self, layout) -> columnops.ColumnPlan:
        """The atoms and numeric columns the core computes straight from batches packed in ``layout``."""
        found = self._column_plans.get(id(layout))
        if found is None or found[0] is not layout:
            found = self._column_plans[id(layout)] = (layout, columnops.build(self._c, layout, self.signal_index,
                                                                               self.packed_name))
        return found[1]

    def packed_name(self, key: tuple) -> str | None:
        """The packed-batch name of a batch column key (("col", path) or ("elem", level, field))."""
        if key[0] == "col" and len(key) == 2:
            return key[1]
        if key[0] == "elem" and len(key) == 3 and isinstance(key[1], int) and self._c.levels[key[1]].key[0] == "group":
            return f"{self._c.levels[key[1]].key[1]}[].{key[2]}"
        return None

    def slow_atoms(self, regex_readers: dict[int, list[int]], fast: _FastRegexes | None) -> tuple[list[int], bool]:
        """Lazy atoms the fast engine does not run, and whether a regex is among them."""
        if self._slow is None or self._slow[0] is not fast:
            slow = [aid for aid in regex_readers if fast is None or aid not in fast.atoms]
            self._slow = (fast, (slow, any(self._c.atoms[aid][0] == "regex" for aid in slow)))
        return self._slow[1]

    def packed_strings(self, layout) -> dict[tuple, int]:
        """Packed string column index of every column key the rules read that the layout holds."""
        found = self._strings.get(id(layout))
        if found is None or found[0] is not layout:
            index = {}
            for key in _all_string_keys(self._c):
                name = self.packed_name(key) if key[0] in ("col", "elem") else None
                if name is not None and name in layout.strings:
                    index[key] = layout.strings[name]
            found = self._strings[id(layout)] = (layout, index)
        return found[1]

    def numbers_for_layout(self, layout) -> tuple:
        """(message-level numeric columns read from packed numbers, their packed indexes, the same
        for element columns, the remaining non-signal columns)."""
        found = self._number_layouts.get(id(layout))
        if found is not None and found[0] is layout:
            return found[1]
        top, elem, others = [], [], []
        for i, key in enumerate(self._c.num_cols):
            name = self.packed_name(key) if key[0] in ("col", "elem") else None
            if name is not None and name in layout.numbers:
                (top if key[0] == "col" else elem).append((i, layout.numbers[name]))
            elif key[0] != "sig":
                others.append(i)
        plan = (np.array([i for i, _ in top], np.intp), np.array([k for _, k in top], np.intp),
                [i for i, _ in elem], [k for _, k in elem], others)
        self._number_layouts[id(layout)] = (layout, plan)
        return plan

    def for_layout(self, layout, matchers: list) -> tuple:
        """(matchers read from the packed text, their string column indexes, the other matchers)."""
        found = self._layouts.get(id(layout))
        if found is not None and found[0] is layout:
            return found[1]
        packed, ks, other = [], [], []
        for skey, matcher in matchers:
            name = self.packed_name(skey)
            if name is not None and name in layout.strings:
                packed.append(matcher)
                ks.append(layout.strings[name])
            else:
                other.append((skey, matcher))
        plan = (packed, np.array(ks, np.intp), other)
        self._layouts[id(layout)] = (layout, plan)
        return plan


def _level_counts(levels: list[int], n_levels: int) -> np.ndarray:
    """(len(levels) + 1) x n_levels: row i counts the entries before i at each level."""
    counts = np.zeros((len(levels) + 1, n_levels), np.int64)
    if levels:
        np.add.at(counts, (np.arange(1, len(levels) + 1), np.asarray(levels, np.intp)), 1)
    return np.cumsum(counts, axis=0)


def _num_level(key: tuple) -> int:
    """The level of a numeric column key (as ``Compiler`` builds them): its rows are that level's."""
    if key[0] == "elem":
        return key[1]
    if key[0] in ("strlen", "lev"):
        return key[-1]
    return 0  # col, sig


class _FastRegexes:
    """Regex atoms run by the fast engine: per column, one ``RegexSet`` of every expression
    of those atoms, scanned once per distinct value; and the iextract levels' prefilters.

    Decided when the rules are compiled: an atom whose patterns do not all translate
    exactly (or that Hyperscan refuses) stays with Python ``re``.
    """

    def __init__(self, c: Compiler) -> None:
        by_column: dict[tuple, dict[int, tuple[str, ...]]] = {}
        for aid, key in enumerate(c.atoms):
            if key[0] == "regex":
                _, skey, patterns, ci, whole, _ = key
                parts = [fastregex.translate(p, ci, whole) for p in patterns]
                if all(p is not None for p in parts):
                    by_column.setdefault(skey, {})[aid] = tuple(e for p in parts for e in p)
        self.columns: dict[tuple, tuple[fastregex.RegexSet, list[list[int]], list[int]]] = {}
        self.atoms: set[int] = set()
        for skey, atoms in by_column.items():
            expressions = list(dict.fromkeys(e for exprs in atoms.values() for e in exprs))
            regexes = fastregex.RegexSet(expressions)
            index = {e: i for i, e in enumerate(expressions)}
            owners: list[list[int]] = [[] for _ in expressions]
            for aid, exprs in atoms.items():
                ids = [index[e] for e in exprs]
                if regexes.rejected.isdisjoint(ids):
                    self.atoms.add(aid)
                    for i in ids:
                        owners[i].append(aid)
            self.columns[skey] = (regexes, owners, sorted(aid for aid in atoms if aid in self.atoms))
        self.extract: dict[str, fastregex.RegexSet | None] = {}
        for lv in c.levels:
            if lv.key[0] == "iextract" and lv.key[2] not in self.extract:
                exprs = fastregex.translate(lv.key[2], True, False)
                regexes = fastregex.RegexSet(exprs) if exprs else None
                self.extract[lv.key[2]] = regexes if regexes is not None and not regexes.rejected else None

    def dump(self) -> list[str]:
        return [f"fast regexes on {skey}: {len(r.expressions)} expressions, {len(r.rejected)} refused"
                for skey, (r, _, _) in self.columns.items()]


def _utf8(v: str) -> bytes | None:
    try:
        return v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, Python re decides
        return None


def _all_string_keys(c: Compiler):
    def walk(key):
        if isinstance(key, tuple) and key and isinstance(key[0], str):
            yield key
            for part in key[1:]:
                if isinstance(part, tuple):
                    yield from walk(part)
    for a in c.atoms:
        yield from walk(a)
    for k in c.num_cols:
        yield from walk(k)
    for lv in c.levels:
        yield from walk(lv.key)


class _BatchRun:
    """The per-batch state: level layout, materialised columns, atom and number buffers."""

    def __init__(self, c: Compiler, batch: MessageBatch, signals: np.ndarray, fast: _FastRegexes | None,
                 plan: _Plan) -> None:
        self.c, self.batch, self.signals, self.fast, self.plan = c, batch, signals, fast, plan
        # A batch built from messages carries every column in a few flat arrays: read those directly.
        self.packed = batch.__dict__.get("packed")
        self.packed_strings = plan.packed_strings(self.packed.layout) if self.packed is not None else {}
        self.rows = [len(batch)]
        self.offsets: list[np.ndarray | None] = [None]
        self.owners: dict[int, np.ndarray] = {}
        self.derived: dict[tuple, StringColumn] = {}
        self.cache: dict[tuple, StringColumn] = {}
        self.value_cache: dict[tuple, list[str]] = {}
        self.hash_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.whole_text: tuple | None = None
        self.texts: dict[tuple, dict[int, tuple]] = {}
        self.level_args: tuple | None = None
        groups = plan.group_levels(self.packed.layout) if self.packed is not None else None
        if groups is not None and len(groups):
            # Every level is a packed group: the program's level offsets are rows of group_offsets.
            n = len(batch)
            go = self.packed.group_offsets[groups]
            self.offsets += list(go)
            self.rows += go[:, n].tolist()
            self.level_args = (np.concatenate((np.zeros(1, OFFSET_DTYPE), go.ravel())),
                               np.arange(len(groups) + 1, dtype=OFFSET_DTYPE) * (n + 1) - n,
                               np.array(self.rows, OFFSET_DTYPE))
            self.level_args[1][0] = 0
            return
        for lid, lv in enumerate(c.levels[1:], 1):
            if lv.key[0] == "group" and self.packed is not None and lv.key[1] in self.packed.layout.groups:
                offsets = self.packed.group_offsets[self.packed.layout.groups[lv.key[1]]]
            elif lv.key[0] == "group":
                offsets = batch.lists[lv.key[1]].offsets
            else:
                offsets = self._extract(lid, lv.key[1], lv.key[2], lv.parent)
            self.offsets.append(np.ascontiguousarray(offsets, OFFSET_DTYPE))
            self.rows.append(int(offsets[-1]))

    def owner(self, level: int) -> np.ndarray:
        """The parent row of each row of ``level`` (made on first use)."""
        found = self.owners.get(level)
        if found is None:
            parent_rows = self.rows[self.c.levels[level].parent]
            if parent_rows == 1:  # one message: every row is its own
                found = self.owners[level] = np.zeros(self.rows[level], OFFSET_DTYPE)
            else:
                found = self.owners[level] = np.repeat(np.arange(parent_rows, dtype=OFFSET_DTYPE),
                                                       np.diff(self.offsets[level]))
        return found

    def signal(self, name: str) -> np.ndarray:
        return self.signals[:, self.plan.signal_index[name]]

    def _extract(self, lid: int, skey: tuple, pattern: str, parent: int) -> np.ndarray:
        values = self.values(skey, parent)
        memo: dict[str, list[str]] = {}
        regexes = self.fast.extract.get(pattern) if self.fast is not None else None
        if regexes is not None:  # re runs only on values the fast engine says match
            for v in set(values):
                text = _utf8(v)
                if text and not regexes.scan(text):
                    memo[v] = []
        found = [memo.setdefault(v, fn.extract(v, pattern)) if v else [] for v in values]
        offsets = np.zeros(len(values) + 1, OFFSET_DTYPE)
        np.cumsum([len(f) for f in found], out=offsets[1:])
        self.derived[("elem", lid, "full_match")] = StringColumn.from_strings([m for f in found for m in f])
        return offsets

    # --- levels -------------------------------------------------------------------------------
    def lift(self, idx_level: int, to_level: int) -> np.ndarray | None:
        """Rows of ancestor ``idx_level`` that own each row of ``to_level`` (None when equal)."""
        if idx_level == to_level:
            return None
        if self.c.levels[to_level].parent == idx_level:
            return self.owner(to_level)
        idx = np.arange(self.rows[to_level], dtype=OFFSET_DTYPE)
        level = to_level
        while level != idx_level:
            idx = self.owner(level)[idx]
            level = self.c.levels[level].parent
        return idx

    # --- strings ------------------------------------------------------------------------------
    def string(self, skey: tuple) -> StringColumn:
        """The string column of ``skey`` at its own level."""
        col = self.cache.get(skey)
        if col is None:
            col = self.cache[skey] = self._materialise(skey)
        return col

    def string_at(self, skey: tuple, level: int) -> StringColumn:
        idx = self.lift(self.c.skey_level(skey), level)
        col = self.string(skey)
        return col if idx is None else _take(col, idx)

    def arrays(self, skey: tuple) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, data) of a string column at its own level: views of the packed batch when it
        holds the column (offsets then point into the whole packed text), else the StringColumn's."""
        packed = self.packed
        k = self.packed_strings.get(skey) if packed is not None else None
        if k is None:
            col = self.string(skey)
            return col.offsets, col.data
        start = packed.string_start
        return packed.offsets[start[k]:start[k + 1] + 1], packed.text

    def arrays_at(self, skey: tuple, level: int) -> tuple[np.ndarray, np.ndarray]:
        if self.c.skey_level(skey) == level:
            return self.arrays(skey)
        col = self.string_at(skey, level)
        return col.offsets, col.data

    def hashes_at(self, skey: tuple, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(hash, non-null) of every row of ``skey`` lifted to ``level``, hashed once at its own level."""
        found = self.hash_cache.get(skey)
        if found is None:
            offsets, data = self.arrays(skey)
            found = self.hash_cache[skey] = (_core.hash_strings(offsets, data, False), offsets[1:] > offsets[:-1])
        idx = self.lift(self.c.skey_level(skey), level)
        return found if idx is None else (found[0][idx], found[1][idx])

    def values(self, skey: tuple, level: int) -> list[str]:
        key = (skey, level)
        found = self.value_cache.get(key)
        if found is None:
            if skey[0] == "const":
                found = [skey[1]] * self.rows[level]
            else:
                found = self.string_at(skey, level).to_list()
            self.value_cache[key] = found
        return found

    def values_of(self, skey: tuple, level: int, rows: np.ndarray) -> list[str]:
        """Values of ``skey`` at ``level`` for some rows only."""
        idx = self.lift(self.c.skey_level(skey), level)
        col = self.string(skey)
        src = rows if idx is None else idx[rows]
        return [col[i] for i in src.tolist()]

    def _materialise(self, skey: tuple) -> StringColumn:
        kind = skey[0]
        if kind == "col":
            return self.batch.columns[skey[1]]
        if kind == "const":
            return StringColumn.from_strings([skey[1]] * self.rows[0])
        if kind == "elem":
            lv = self.c.levels[skey[1]]
            if lv.key[0] == "group":
                return self.batch.lists[lv.key[1]].columns[skey[2]]
            return self.derived[skey]
        if kind == "prevalence":
            values = self.signal(skey[1])
            if len(values) <= _SMALL:
                return _label_column(tuple(prevalence_of(v) for v in values.tolist()))
            # A few distinct categories: their labels once, gathered per row.
            uniq, inverse = np.unique(values, return_inverse=True)
            return _take(StringColumn.from_strings([prevalence_of(v) for v in uniq.tolist()]), inverse.ravel())
        level = skey[-1]
        if kind == "coalesce":
            columns = [self.values(k, level) for k in skey[1]]
            return StringColumn.from_strings([next((v for v in vs if v), "") for vs in zip(*columns, strict=True)])
        if kind == "concat":
            columns = [self.values(k, level) for k in skey[1]]
            return StringColumn.from_strings(["".join(vs) for vs in zip(*columns, strict=True)])
        if kind == "confusables":
            source = self.string_at(skey[1], level)
            if source.data[source.offsets[0]:source.offsets[-1]].tobytes().isascii():
                return source  # NFKC and the look-alike table leave ASCII text as it is
            return _replace_rows(source, _non_ascii_rows(source), fn.replace_confusables)
        raise AssertionError(f"unknown string expression {skey!r}")

    # --- atoms --------------------------------------------------------------------------------
    def evaluate(self, program, matchers, n_rules: int, guards, regex_readers) -> np.ndarray:
        c = self.c
        rows = np.array(self.rows, OFFSET_DTYPE)
        atom_base = self.plan.atom_counts @ rows
        buf = np.zeros(int(atom_base[-1]), np.uint8)
        self._match_literals(matchers, atom_base, buf)
        num_base = self.plan.num_counts @ rows
        nums = np.empty(int(num_base[-1]))
        covered = self._column_ops(rows, atom_base, buf, num_base, nums)
        for aid in self.plan.eager_atoms:
            if aid not in covered.atoms:
                buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(c.atoms[aid], buf, atom_base, None)
        self._numbers(nums, num_base, covered.nums)
        codes, code_base, n_codes = self._codes()
        args = self.level_args
        if args is None:
            offsets = [np.zeros(1, OFFSET_DTYPE)] + [o for o in self.offsets[1:]]
            off_base = np.zeros(len(offsets), OFFSET_DTYPE)
            off_base[1:] = np.cumsum([len(o) for o in offsets])[:-1]
            args = (np.concatenate(offsets), off_base, rows)
        n = len(self.batch)
        fast = self.fast
        slow, slow_regex = self.plan.slow_atoms(regex_readers, fast)
        needs: dict[int, np.ndarray] | None = None
        needed_atoms: dict[int, bool] | None = None
        needed_columns: list[bool] | None = None
        if guards is None:
            pass
        elif slow_regex or (fast is not None and fast.atoms and n > _SMALL):
            # Regexes last, and only on rows where a rule reading them can still match.
            passed = np.zeros((n, guards.n_rules), np.uint8)
            guards.evaluate(n, *args, buf, atom_base, nums, num_base, codes, code_base, n_codes, passed)
            needs = {}
            # One row of booleans per guarded rule: a single reader's need is a view, not a copy.
            by_rule = np.ascontiguousarray(passed.T) != 0
            for aid, readers in regex_readers.items():
                need = by_rule[readers[0]] if len(readers) == 1 else by_rule[readers].any(axis=0)
                idx = self.lift(0, c.atom_level[aid])
                needs[aid] = need if idx is None else need[idx]
        elif slow or (fast is not None and fast.atoms):
            # A small batch: lazy atoms no open rule reads stay false; the others are computed on
            # every row (per-row masks cost more than the scans they save).
            passed = np.zeros((n, guards.n_rules), np.uint8)
            guards.evaluate(n, *args, buf, atom_base, nums, num_base, codes, code_base, n_codes, passed)
            open_rules = frozenset(np.flatnonzero(passed[0] if n == 1 else passed.max(axis=0)).tolist())
            needed_atoms = {aid: not open_rules.isdisjoint(regex_readers[aid]) for aid in slow
                            if aid not in covered.atoms}
            needed_columns = [not open_rules.isdisjoint(readers) for readers in self.plan.fast_column_readers]
        for aid in slow:
            if aid in covered.atoms or (needed_atoms is not None and not needed_atoms[aid]):
                continue
            need = None if needs is None else needs[aid]
            buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(c.atoms[aid], buf, atom_base, need)
        if fast is not None:
            for j, (skey, (_, _, atoms)) in enumerate(fast.columns.items()):
                if needed_columns is not None and not needed_columns[j]:
                    continue
                if not self._fast_scan(skey, buf, atom_base, needs):
                    for aid in atoms:  # not valid UTF-8: Python re
                        need = None if needs is None else needs.get(aid, np.zeros(self.rows[c.atom_level[aid]], bool))
                        buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(c.atoms[aid], buf, atom_base, need)
        out = np.zeros((n, n_rules), np.uint8)
        program.evaluate(n, *args, buf, atom_base, nums, num_base, codes, code_base, n_codes, out)
        return out

    def _column_ops(self, rows: np.ndarray, atom_base: np.ndarray, buf: np.ndarray, num_base: np.ndarray,
                    nums: np.ndarray) -> columnops.ColumnPlan:
        """Atoms and numeric columns read straight from the packed batch, in one core call."""
        if self.packed is None:
            return _NO_COLUMN_OPS
        plan = self.plan.columns(self.packed.layout)
        if plan.ops is not None:
            p = self.packed
            plan.ops.run(p.text, p.offsets, p.string_start, p.numbers, p.number_start, p.group_offsets, self.signals,
                         rows, atom_base, buf, num_base, nums)
        return plan

    def _match_literals(self, matchers: list, atom_base: np.ndarray, buf: np.ndarray) -> None:
        """Every literal matcher: those on columns of a packed batch in one core call."""
        if self.packed is not None:
            packed_matchers, ks, matchers = self.plan.for_layout(self.packed.layout, matchers)
            if packed_matchers:
                first = self.packed.string_start[ks]
                _core.LiteralMatcher.match_many(packed_matchers, first, self.packed.string_start[ks + 1] - first,
                                                self.packed.offsets, self.packed.text, atom_base, buf)
        for skey, matcher in matchers:
            col = self.string(skey)
            matcher.match(col.offsets, col.data, atom_base, buf)

    def _regex_mask(self, key: tuple, buf: np.ndarray, atom_base: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        """Rows where a regex atom can be true and is worth computing: non-null, every literal
        prefilter found, and (``need``) some rule reading it still open."""
        offsets, _ = self.arrays(key[1])
        mask = offsets[1:] > offsets[:-1]
        for pf in key[-1]:
            mask &= buf[atom_base[pf]:atom_base[pf + 1]] != 0
        if need is not None:
            mask &= need
        return mask

    def _fast_scan(self, skey: tuple, buf: np.ndarray, atom_base: np.ndarray,
                   needs: dict[int, np.ndarray] | None) -> bool:
        """All fast regex atoms of one column: one Hyperscan scan per distinct value, on the rows
        where some atom can be true and is needed (``_regex_mask``), or on every row when no
        ``needs`` are given (small batches, where masks cost more than scans). Scans are exact,
        so an atom is also right on rows scanned for another. False (nothing written) when the
        column is not valid UTF-8."""
        found = self._utf8_rows(skey)
        if found is None:
            return False
        raw, offsets = found
        regexes, owners, atoms = self.fast.columns[skey]
        n_rows = len(offsets) - 1
        if needs is not None:
            # _regex_mask of every atom of the column, the column's non-null rows found once.
            col_offsets, _ = self.arrays(skey)
            nonnull = col_offsets[1:] > col_offsets[:-1]
            wanted = np.zeros(n_rows, bool)
            mask = np.empty(n_rows, bool)
            for aid in atoms:
                need = needs.get(aid)  # None: no rule reads it
                if need is None or not need.any():
                    continue
                np.logical_and(need, nonnull, out=mask)
                for pf in self.c.atoms[aid][-1]:
                    np.logical_and(mask, buf[atom_base[pf]:atom_base[pf + 1]], out=mask)
                wanted |= mask
            rows = np.flatnonzero(wanted).tolist()
        else:
            rows = range(n_rows)
        memo: dict[bytes, list[int]] = {}
        scan = regexes.scanner()
        base = atom_base.tolist()
        if not isinstance(raw, bytes) and len(rows) * _ROW_BYTES > len(raw):
            raw = raw.tobytes()  # many rows of a large column: one copy beats one per row
        if isinstance(raw, bytes):
            texts = [raw[offsets[r]:offsets[r + 1]] for r in rows]
        else:  # a large column: only the rows scanned are copied
            texts = [raw[offsets[r]:offsets[r + 1]].tobytes() for r in rows]
        for r, text in zip(rows, texts, strict=True):
            if not text:
                continue
            matched = memo.get(text)  # positions of the matched atoms' row 0 in buf
            if matched is None:
                matched = memo[text] = [base[aid] for i in scan(text) for aid in owners[i]]
            for at in matched:
                buf[at + r] = 1
        return True

    def _utf8_rows(self, skey: tuple) -> tuple[bytes | memoryview, list[int]] | None:
        """A string column as (UTF-8 bytes, row offsets into them), read from the packed batch
        when it holds the column; None when the bytes are not well-formed UTF-8. A column of more
        than ``_COPY_WHOLE`` bytes comes as a view: its scanned rows are far fewer than its bytes."""
        packed = self.packed
        k = self.packed_strings.get(skey) if packed is not None else None
        if k is not None and len(packed.text) <= _WHOLE_TEXT:
            # A small batch: the whole packed text checked and copied once for every column.
            if self.whole_text is None:
                valid = _core.utf8_valid(packed.text, 0, len(packed.text))
                self.whole_text = (packed.text.tobytes() if valid else None, packed.offsets.tolist(),
                                   packed.string_start.tolist())
            raw, all_offsets, string_start = self.whole_text
            return None if raw is None else (raw, all_offsets[string_start[k]:string_start[k + 1] + 1])
        if k is not None:
            first, last = int(packed.string_start[k]), int(packed.string_start[k + 1])
            offsets = packed.offsets[first:last + 1]
            data = packed.text
        else:
            col = self.string(skey)
            offsets, data = col.offsets, col.data
        start, stop = int(offsets[0]), int(offsets[-1])
        if not _core.utf8_valid(data, start, stop):
            return None
        view = data[start:stop]
        return view.tobytes() if stop - start <= _COPY_WHOLE else memoryview(view), (offsets - start).tolist()

    def _atom(self, key: tuple, buf: np.ndarray, atom_base: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        """One atom's values; ``need`` (regexes only) masks the rows worth computing."""
        kind = key[0]
        if kind == "nonnull":
            offsets, _ = self.arrays(key[1])
            return offsets[1:] > offsets[:-1]
        if kind == "regex":
            _, skey, patterns, ci, whole, _ = key
            col = self.string(skey)
            mask = self._regex_mask(key, buf, atom_base, need)
            out = np.zeros(len(col), bool)
            memo: dict[str, bool] = {}
            plan = _search_plan(patterns, ci, whole)
            texts = self.texts.setdefault(skey, {})
            for r in np.flatnonzero(mask).tolist():
                found = texts.get(r)
                if found is None:  # decoded (and folded on demand) once per batch, for every regex
                    found = texts[r] = (col[r], [None])
                v, folded = found
                hit = memo.get(v)
                if hit is None:
                    hit = memo[v] = _run_plan(plan, v, folded)
                out[r] = hit
            return out
        if kind in ("streq", "strne"):
            _, a, b, lv = key
            col = self.cache.get(a)
            if col is not None and col is self.cache.get(b) and self.c.skey_level(a) == lv == self.c.skey_level(b):
                # One column on both sides (ASCII confusables): equal wherever it is non-null.
                return _nonnull(col) if kind == "streq" else np.zeros(len(col), bool)
            (ha, na), (hb, nb) = self.hashes_at(a, lv), self.hashes_at(b, lv)
            return na & nb & ((ha == hb) if kind == "streq" else (ha != hb))
        pair_mode = columnops.pair_mode(key[1]) if kind == "pred" else None
        if pair_mode:
            # strings.contains / starts_with / ends_with with patterns from columns: a core kernel per pattern.
            _, name, subject, patterns, lv = key
            a_offsets, a_data = self.arrays_at(subject, lv)
            out = np.zeros(self.rows[lv], bool)
            for p in patterns:
                b_offsets, b_data = self.arrays_at(p, lv)
                out |= _core.pair_match(a_offsets, a_data, b_offsets, b_data, pair_mode,
                                        name.startswith("strings.i")) != 0
            return out
        if kind == "pred":
            _, name, subject, patterns, lv = key
            rows = np.flatnonzero(need) if need is not None else np.arange(self.rows[lv])
            values = self.values_of(subject, lv, rows)
            pats = [self.values_of(p, lv, rows) for p in patterns]
            out = np.zeros(self.rows[lv], bool)
            out[rows] = [bool(v) and fn.string_predicate(name, v, tuple(p for p in ps if p))
                         for v, *ps in zip(values, *pats, strict=True)]
            return out
        raise AssertionError(f"unknown atom {key!r}")

    # --- numbers and codes --------------------------------------------------------------------
    def _numbers(self, nums: np.ndarray, base: np.ndarray, covered: frozenset[int]) -> None:
        """Every numeric column the core did not compute (``covered``), into the flat array ``nums``;
        column i starts at ``base[i]``. Columns of the packed batch and signals are copied with
        one fancy-indexed assignment each."""
        if len(covered) == len(self.c.num_cols):
            return
        plan, n = self.plan, len(self.batch)
        rows = np.arange(n)
        if self.packed is not None:
            ids, ks, elem_ids, elem_ks, others = plan.numbers_for_layout(self.packed.layout)
            if len(ids) and not covered.issuperset(ids.tolist()):
                nums[base[ids][:, None] + rows] = self.packed.numbers[self.packed.number_start[ks][:, None] + rows]
            for i, k in zip(elem_ids, elem_ks, strict=True):
                if i not in covered:
                    nums[base[i]:base[i + 1]] = self.packed.number_column(k)
        else:
            others = plan.unpacked_numbers
        if len(plan.sig_ids) and not covered.issuperset(plan.sig_ids.tolist()):
            nums[base[plan.sig_ids][:, None] + rows] = self.signals[:, plan.sig_columns].T
        others = [i for i in others if i not in covered]
        if others:
            lev = self._lev_constants(covered)
            starts = base.tolist()
            for i in others:
                nums[starts[i]:starts[i + 1]] = lev[i] if i in lev else self._number(self.c.num_cols[i])

    def _number(self, key: tuple) -> np.ndarray:
        kind = key[0]
        if kind == "col":
            return self.batch.columns[key[1]]
        if kind == "elem":
            return self.batch.lists[self.c.levels[key[1]].key[1]].columns[key[2]]
        if kind == "sig":
            return self.signal(key[1])
        if kind == "strlen":
            chars = _core.code_point_counts(*self.arrays(key[1])).astype(np.float64)
            chars[chars == 0] = math.nan
            return chars
        if kind == "lev":
            _, a, b, lv = key
            if a[0] == "const" or b[0] == "const":
                const, other = (a, b) if a[0] == "const" else (b, a)
                return self._lev_const(other, const[1], lv)
            pairs = list(zip(self.values(a, lv), self.values(b, lv), strict=True))
            distinct = sorted({p for p in pairs if p[0] and p[1]})
            dist = dict(zip(distinct, _core.folded_levenshtein([p[0] for p in distinct], [p[1] for p in distinct]).tolist(),
                            strict=True))
            return np.array([dist.get(p, math.nan) for p in pairs], np.float64)
        raise AssertionError(f"unknown numeric column {key!r}")

    def _lev_constants(self, covered: frozenset[int]) -> dict[int, np.ndarray]:
        """Every ``strings.ilevenshtein(x, "constant")`` column the core did not compute: per string
        column, one core call for all its constants over the column's distinct values (every value,
        in small batches)."""
        out = {}
        for (skey, level), targets, consts in self.plan.lev_groups:
            if covered.issuperset(i for i, _ in targets):
                continue
            col = self.string_at(skey, level)
            dist = np.full((len(col), len(consts)), math.nan)
            if len(consts) and len(col) > _SMALL:
                hashes = _core.hash_strings(col.offsets, col.data, False)
                _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
                uniq = _take(col, first)
                dist = _core.folded_levenshtein_matrix(uniq.offsets, uniq.data, consts.offsets, consts.data)[inverse]
                dist[~_nonnull(col)] = math.nan
            elif len(consts) and len(col):
                dist = _core.folded_levenshtein_matrix(col.offsets, col.data, consts.offsets, consts.data)
                dist[~_nonnull(col)] = math.nan
            for i, j in targets:
                out[i] = dist[:, j] if j >= 0 else np.full(len(col), math.nan)
        return out

    def _codes(self) -> tuple[np.ndarray, np.ndarray, int]:
        if not self.c.code_cols:
            return _NO_CODES
        parts, n_codes = [], 0
        for ckey in self.c.code_cols:
            if ckey[0] == "str":
                col = self.string_at(ckey[1], ckey[2])
                keys = _core.hash_strings(col.offsets, col.data, False)
                valid = _nonnull(col)
            else:
                _, numkey, num_level, level = ckey
                values = np.asarray(self._number(numkey), np.float64)
                idx = self.lift(num_level, level)
                keys = values if idx is None else values[idx]
                valid = ~np.isnan(keys)
            codes = np.full(len(keys), -1, np.int64)
            uniq, inverse = np.unique(keys[valid], return_inverse=True)
            codes[valid] = inverse
            n_codes = max(n_codes, len(uniq))
            parts.append(codes)
        base = np.zeros(len(parts) + 1, OFFSET_DTYPE)
        np.cumsum([len(p) for p in parts], out=base[1:])
        return (np.concatenate(parts) if parts else np.zeros(0, np.int64)), base, n_codes
