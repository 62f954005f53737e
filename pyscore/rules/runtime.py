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
from pyscore.rules import fastregex
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


_PAIR_MODES = {"contains": 1, "starts_with": 2, "ends_with": 4}


def _take(col: StringColumn, idx: np.ndarray) -> StringColumn:
    """Rows ``idx`` of a string column, as a new column."""
    starts = col.offsets[:-1][idx]
    lens = (col.offsets[1:] - col.offsets[:-1])[idx]
    offsets = np.zeros(len(idx) + 1, OFFSET_DTYPE)
    np.cumsum(lens, out=offsets[1:])
    positions = np.repeat(starts - offsets[:-1], lens) + np.arange(offsets[-1], dtype=OFFSET_DTYPE)
    return StringColumn(offsets, col.data[positions])


def _nonnull(col: StringColumn) -> np.ndarray:
    return col.offsets[1:] > col.offsets[:-1]


class CompiledRules:
    """Rules compiled once; ``evaluate`` runs them all on a batch."""

    def __init__(self, rules: Sequence[RuleMeta], compiler: Compiler) -> None:
        self.rules = list(rules)
        self._c = compiler
        guard_roots, self._regex_readers = compiler.guards()
        self._program = compiler.program()  # after guards(): guard nodes are part of the arrays
        self._guards = compiler.program(guard_roots) if self._regex_readers else None
        self._matchers = self._build_matchers(compiler)
        self._fast = _FastRegexes(compiler) if fastregex.available() else None
        self.signals = sorted({k[1] for k in compiler.num_cols if k[0] == "sig"}
                              | {k[1] for k in _all_string_keys(compiler) if k[0] == "prevalence"})

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
        features_by_name = self._features(batch, context, features, feature_names)
        run = _BatchRun(self._c, batch, features_by_name, self._fast)
        return run.evaluate(self._program, self._matchers, len(self.rules), self._guards, self._regex_readers)

    def _features(self, batch, context, features, feature_names) -> dict[str, np.ndarray]:
        if not self.signals:
            return {}
        if features is None:
            if context is None:
                raise ValueError(f"these rules read signals {self.signals}: pass features= or a context")
            from pyscore.signals import REGISTRY

            features, feature_names = REGISTRY.compute(batch, context), REGISTRY.names
        if feature_names is None:
            raise ValueError("feature_names is required with features")
        if features.shape != (len(batch), len(feature_names)):
            raise ValueError(f"features has shape {features.shape}, expected ({len(batch)}, {len(feature_names)})")
        index = {n: i for i, n in enumerate(feature_names)}
        missing = [s for s in self.signals if s not in index]
        if missing:
            raise ValueError(f"features lacks signals {missing} that the rules read")
        return {s: np.asarray(features[:, index[s]], np.float64) for s in self.signals}


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
        self.columns: dict[tuple, tuple[fastregex.RegexSet, list[list[int]]]] = {}
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
            self.columns[skey] = (regexes, owners)
        self.extract: dict[str, fastregex.RegexSet | None] = {}
        for lv in c.levels:
            if lv.key[0] == "iextract" and lv.key[2] not in self.extract:
                exprs = fastregex.translate(lv.key[2], True, False)
                regexes = fastregex.RegexSet(exprs) if exprs else None
                self.extract[lv.key[2]] = regexes if regexes is not None and not regexes.rejected else None

    def dump(self) -> list[str]:
        return [f"fast regexes on {skey}: {len(r.expressions)} expressions, {len(r.rejected)} refused"
                for skey, (r, _) in self.columns.items()]


def _utf8_bytes(col: StringColumn) -> bytes | None:
    """The column's bytes when they are valid UTF-8 (what Hyperscan's UTF-8 mode requires), else None."""
    raw = col.data.tobytes()
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw


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

    def __init__(self, c: Compiler, batch: MessageBatch, features: dict[str, np.ndarray],
                 fast: _FastRegexes | None = None) -> None:
        self.c, self.batch, self.features, self.fast = c, batch, features, fast
        self.rows = [len(batch)]
        self.offsets: list[np.ndarray | None] = [None]
        self.owner: list[np.ndarray | None] = [None]
        self.derived: dict[tuple, StringColumn] = {}
        self.cache: dict[tuple, StringColumn] = {}
        self.value_cache: dict[tuple, list[str]] = {}
        self.texts: dict[tuple, dict[int, tuple]] = {}
        for lid, lv in enumerate(c.levels[1:], 1):
            if lv.key[0] == "group":
                offsets = batch.lists[lv.key[1]].offsets
            else:
                offsets = self._extract(lid, lv.key[1], lv.key[2], lv.parent)
            self.offsets.append(np.ascontiguousarray(offsets, OFFSET_DTYPE))
            self.rows.append(int(offsets[-1]))
            self.owner.append(np.repeat(np.arange(self.rows[lv.parent], dtype=OFFSET_DTYPE), np.diff(offsets)))

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
        idx = np.arange(self.rows[to_level], dtype=OFFSET_DTYPE)
        level = to_level
        while level != idx_level:
            idx = self.owner[level][idx]
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
            return StringColumn.from_strings([prevalence_of(v) for v in self.features[skey[1]].tolist()])
        level = skey[-1]
        if kind == "coalesce":
            columns = [self.values(k, level) for k in skey[1]]
            return StringColumn.from_strings([next((v for v in vs if v), "") for vs in zip(*columns, strict=True)])
        if kind == "concat":
            columns = [self.values(k, level) for k in skey[1]]
            return StringColumn.from_strings(["".join(vs) for vs in zip(*columns, strict=True)])
        if kind == "confusables":
            memo: dict[str, str] = {}
            return StringColumn.from_strings(
                [memo.setdefault(v, fn.replace_confusables(v)) for v in self.values(skey[1], level)])
        raise AssertionError(f"unknown string expression {skey!r}")

    # --- atoms --------------------------------------------------------------------------------
    def evaluate(self, program, matchers, n_rules: int, guards, regex_readers) -> np.ndarray:
        c = self.c
        atom_rows = np.array([self.rows[lv] for lv in c.atom_level], OFFSET_DTYPE)
        atom_base = np.zeros(len(c.atoms) + 1, OFFSET_DTYPE)
        np.cumsum(atom_rows, out=atom_base[1:])
        buf = np.zeros(int(atom_base[-1]), np.uint8)
        for skey, matcher in matchers:
            col = self.string(skey)
            matcher.match(col.offsets, col.data, atom_base, buf)
        for aid, key in enumerate(c.atoms):
            if key[0] != "lit" and key[0] not in LAZY_ATOMS:
                buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(key, buf, atom_base, None)
        nums, num_base = self._numbers()
        codes, code_base, n_codes = self._codes()
        offsets = [np.zeros(1, OFFSET_DTYPE)] + [o for o in self.offsets[1:]]
        off_base = np.zeros(len(offsets), OFFSET_DTYPE)
        off_base[1:] = np.cumsum([len(o) for o in offsets])[:-1]
        args = (np.concatenate(offsets), off_base, np.array(self.rows, OFFSET_DTYPE))
        n = len(self.batch)
        if regex_readers:
            # Regexes last, and only on rows where a rule reading them can still match.
            passed = np.zeros((n, guards.n_rules), np.uint8)
            guards.evaluate(n, *args, buf, atom_base, nums, num_base, codes, code_base, n_codes, passed)
            fast_masks: dict[tuple, dict[int, np.ndarray]] = {}
            for aid, readers in regex_readers.items():
                need = passed[:, readers].any(axis=1)
                idx = self.lift(0, c.atom_level[aid])
                if idx is not None:
                    need = need[idx]
                if self.fast is not None and aid in self.fast.atoms:
                    fast_masks.setdefault(c.atoms[aid][1], {})[aid] = self._regex_mask(c.atoms[aid], buf, atom_base, need)
                    continue
                buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(c.atoms[aid], buf, atom_base, need)
            for skey, masks in fast_masks.items():
                if not self._fast_scan(skey, masks, buf, atom_base):
                    for aid in masks:  # not valid UTF-8: Python re
                        buf[atom_base[aid]:atom_base[aid + 1]] = self._atom(c.atoms[aid], buf, atom_base, masks[aid])
        out = np.zeros((n, n_rules), np.uint8)
        program.evaluate(n, *args, buf, atom_base, nums, num_base, codes, code_base, n_codes, out)
        return out

    def _regex_mask(self, key: tuple, buf: np.ndarray, atom_base: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        """Rows where a regex atom can be true and is worth computing: non-null, every literal
        prefilter found, and (``need``) some rule reading it still open."""
        mask = _nonnull(self.string(key[1]))
        for pf in key[-1]:
            mask &= buf[atom_base[pf]:atom_base[pf + 1]] != 0
        if need is not None:
            mask &= need
        return mask

    def _fast_scan(self, skey: tuple, masks: dict[int, np.ndarray], buf: np.ndarray, atom_base: np.ndarray) -> bool:
        """All fast regex atoms of one column: one Hyperscan scan per distinct value of the rows
        any of them needs. False (nothing written) when the column is not valid UTF-8."""
        col = self.string(skey)
        raw = _utf8_bytes(col)
        if raw is None:
            return False
        regexes, owners = self.fast.columns[skey]
        rows = np.flatnonzero(np.logical_or.reduce(list(masks.values())))
        offsets = col.offsets
        starts, ends = offsets[rows].tolist(), offsets[rows + 1].tolist()
        hits: dict[int, list[int]] = {}  # atom -> rows where one of its expressions matched
        memo: dict[bytes, set[int]] = {}
        for r, a, b in zip(rows.tolist(), starts, ends, strict=True):
            text = raw[a:b]
            matched = memo.get(text)
            if matched is None:
                matched = memo[text] = {aid for i in regexes.scan(text) for aid in owners[i]}
            for aid in matched:
                hits.setdefault(aid, []).append(r)
        for aid, mask in masks.items():
            out = np.zeros(len(col), bool)
            out[hits.get(aid, [])] = True
            buf[atom_base[aid]:atom_base[aid + 1]] = out & mask
        return True

    def _atom(self, key: tuple, buf: np.ndarray, atom_base: np.ndarray, need: np.ndarray | None) -> np.ndarray:
        """One atom's values; ``need`` (regexes only) masks the rows worth computing."""
        kind = key[0]
        if kind == "nonnull":
            return _nonnull(self.string(key[1]))
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
            ca, cb = self.string_at(a, lv), self.string_at(b, lv)
            ha = _core.hash_strings(ca.offsets, ca.data, False)
            hb = _core.hash_strings(cb.offsets, cb.data, False)
            both = _nonnull(ca) & _nonnull(cb)
            return both & ((ha == hb) if kind == "streq" else (ha != hb))
        pair_mode = _PAIR_MODES.get(key[1].split(".", 1)[1].lstrip("i")) if kind == "pred" else None
        if pair_mode:
            # strings.contains / starts_with / ends_with with patterns from columns: a core kernel per pattern.
            _, name, subject, patterns, lv = key
            a = self.string_at(subject, lv)
            out = np.zeros(self.rows[lv], bool)
            for p in patterns:
                b = self.string_at(p, lv)
                out |= _core.pair_match(a.offsets, a.data, b.offsets, b.data, pair_mode,
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
    def _numbers(self) -> tuple[np.ndarray, np.ndarray]:
        lev = self._lev_constants()
        parts = [lev[i] if i in lev else self._number(k) for i, k in enumerate(self.c.num_cols)]
        base = np.zeros(len(parts) + 1, OFFSET_DTYPE)
        np.cumsum([len(p) for p in parts], out=base[1:])
        return (np.concatenate(parts) if parts else np.zeros(0)), base

    def _number(self, key: tuple) -> np.ndarray:
        kind = key[0]
        if kind == "col":
            return self.batch.columns[key[1]]
        if kind == "elem":
            return self.batch.lists[self.c.levels[key[1]].key[1]].columns[key[2]]
        if kind == "sig":
            return self.features[key[1]]
        if kind == "strlen":
            col = self.string(key[1])
            chars = _core.code_point_counts(col.offsets, col.data).astype(np.float64)
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

    def _lev_constants(self) -> dict[int, np.ndarray]:
        """Every ``strings.ilevenshtein(x, "constant")`` column: per string column, one core call
        for all its constants over the column's distinct values."""
        groups: dict[tuple, list[tuple[int, str]]] = {}
        for i, key in enumerate(self.c.num_cols):
            if key[0] == "lev" and (key[1][0] == "const" or key[2][0] == "const"):
                _, a, b, level = key
                const, other = (a, b) if a[0] == "const" else (b, a)
                groups.setdefault((other, level), []).append((i, const[1]))
        out = {}
        for (skey, level), targets in groups.items():
            col = self.string_at(skey, level)
            consts = [c for _, c in targets if c]
            dist = np.full((len(col), len(consts)), math.nan)
            if consts and len(col):
                hashes = _core.hash_strings(col.offsets, col.data, False)
                _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
                uniq = _take(col, first)
                b = StringColumn.from_strings(consts)
                dist = _core.folded_levenshtein_matrix(uniq.offsets, uniq.data, b.offsets, b.data)[inverse]
                dist[~_nonnull(col)] = math.nan
            column = iter(range(len(consts)))
            for i, const in targets:
                out[i] = dist[:, next(column)] if const else np.full(len(col), math.nan)
        return out

    def _codes(self) -> tuple[np.ndarray, np.ndarray, int]:
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
