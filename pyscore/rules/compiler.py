"""This module contains the rule compiler: checked rules to atoms and one boolean program.

Passes (``Compiler.add_rule`` then ``Compiler.finish``):

1. Every string predicate becomes an **atom**: a uint8 per row of one level
   (level 0 is the message, each list used is a level, its rows the list's
   elements). Literal atoms (contains, starts/ends with, equality, ``in``)
   of all rules on one column share one Aho-Corasick pass in the core per
   batch; regexes (Python ``re`` semantics, ASCII classes and case folding)
   run last: all regexes of one column in one Hyperscan scan per distinct
   value where Hyperscan is installed and the pattern translates exactly
   (``fastregex.py``), else Python ``re`` on rows where a literal the regex
   requires was found, once per distinct value; other string functions (levenshtein, confusables, concat, non
   literal patterns) are computed per distinct value in Python.
2. Everything else (and, or, not, comparisons of numbers, quantifiers as
   segmented loops over list offsets, counts) is a node of one flat program
   that the core evaluates per message with short-circuiting.

``CompiledRules.evaluate(batch)`` returns a uint8 matrix (messages x rules).
``CompiledRules.dump()`` prints atoms and program.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pyscore import _core
from pyscore.rules import functions as fn
from pyscore.rules import parser as ast
from pyscore.rules.checker import REGEX_PREDICATES, STRING_PREDICATES
from pyscore.rules.lexer import RuleSyntaxError
from pyscore.rules.types import (
    BOOL,
    CONSTANTS,
    PROFILE_FIELDS,
    STR,
    ListTy,
    RecordTy,
)

# Program ops: the numbering of ``pyscore::Op`` in cpp/include/pyscore/rules.h.
(FALSE, TRUE, ATOM, AND, OR, NOT, ANY, ALL, CMP, TRUTHY, NUM_COL, NUM_CONST, COUNT, COUNT_DISTINCT,
 COALESCE) = range(15)
CMP_CODES = {"==": 0, "!=": 1, "<": 2, "<=": 3, ">": 4, ">=": 5}
# Literal target modes: ``pyscore::MatchMode``.
CONTAINS, PREFIX, SUFFIX, EXACT = 1, 2, 4, 8
LAZY_ATOMS = ("regex", "pred")  # computed last, only on rows a rule reading them still needs
_LITERAL_KIND = {"contains": CONTAINS, "starts_with": PREFIX, "ends_with": SUFFIX}


@dataclass
class ListVal:
    """A list while compiling: the level of its rows, filters so far, and what '.' means."""

    level: int
    filters: list[int]
    value: object = None  # for lists of values: a string key, or a ("num", node) / ("bool", node)
    distinct_key: object = None
    distinct: bool = False


@dataclass
class Level:
    key: tuple  # ("group", path) or ("iextract", string key, pattern)
    parent: int


def regex_literals(pattern: str) -> list[str] | None:
    """Literals of which every match of ``pattern`` contains at least one (each 3+ characters), or None.

    Walks Python's own parse of the pattern: a sequence needs its best item, an
    alternation needs one literal per branch, groups and repeats of at least
    one are entered. Used as a prefilter only: a superset of the matching rows.
    """
    try:
        parsed = re._parser.parse(pattern, re.ASCII)  # type: ignore[attr-defined]
    except re.error:
        return None
    found = _required(list(parsed))
    return sorted(found[0]) if found else None


def regex_literal_sets(pattern: str) -> list[list[str]]:
    """Independent literal sets: every match contains one literal of each set (best first)."""
    try:
        parsed = re._parser.parse(pattern, re.ASCII)  # type: ignore[attr-defined]
    except re.error:
        return []
    return [sorted(s) for s in (_required(list(parsed)) or [])]


LANGUAGE_LIMIT = 256


def regex_language(pattern: str, limit: int = LANGUAGE_LIMIT) -> list[str] | None:
    """Every string ``pattern`` matches, when that is a small finite set built only from
    literals, groups, alternatives and '?' (no classes, anchors, flags); else None."""
    try:
        parsed = re._parser.parse(pattern, re.ASCII)  # type: ignore[attr-defined]
    except re.error:
        return None
    if parsed.state.flags & ~(re.ASCII | re.UNICODE):
        return None
    words = _language(list(parsed), limit)
    return None if words is None or "" in words else sorted(words)


def _language(items: list, limit: int) -> set[str] | None:
    c = re._constants  # type: ignore[attr-defined]
    words = {""}
    for op, arg in items:
        if op is c.LITERAL:
            options = {chr(arg)}
        elif op is c.IN and all(o is c.LITERAL for o, _ in arg):
            options = {chr(v) for _, v in arg}
        elif op is c.SUBPATTERN:
            if arg[1] or arg[2]:  # scoped flags
                return None
            options = _language(list(arg[-1]), limit)
        elif op is c.BRANCH:
            options = set()
            for branch in arg[1]:
                sub = _language(list(branch), limit)
                if sub is None:
                    return None
                options |= sub
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and arg[0] == 0 and arg[1] == 1:
            sub = _language(list(arg[2]), limit)
            options = None if sub is None else sub | {""}
        else:
            return None
        if options is None:
            return None
        words = {w + o for w in words for o in options}
        if len(words) > limit:
            return None
    return words


def _score(alternatives: set[str] | None) -> int:
    return min((len(a) for a in alternatives), default=0) if alternatives else 0


def _required(items: list) -> list[set[str]] | None:
    """Necessary literal sets of a sequence, best (longest shortest literal) first."""
    c = re._constants  # type: ignore[attr-defined]
    found: list[set[str]] = []

    def consider(candidate) -> None:
        if isinstance(candidate, list):
            candidate = candidate[0] if candidate else None
        if candidate and _score(candidate) >= 3:
            found.append(candidate)

    # Maximal segments with a small finite language (literals, '?', small classes and
    # alternatives) are necessary as a whole; anchors, open classes and repeats split them.
    segment: list = []
    for item in [*items, (None, None)]:
        if item[0] is not None and _language([item], LANGUAGE_LIMIT) is not None:
            segment.append(item)
            continue
        if segment:
            # A segment whose language is too large is cut into runs that each fit.
            run: list = []
            for seg_item in segment:
                if run and _language([*run, seg_item], LANGUAGE_LIMIT) is None:
                    consider(_language(run, LANGUAGE_LIMIT))
                    run = []
                run.append(seg_item)
            consider(_language(run, LANGUAGE_LIMIT))
            segment = []
        op, arg = item
        if op is c.SUBPATTERN:
            consider(_required(list(arg[-1])))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and arg[0] >= 1:
            consider(_required(list(arg[2])))
        elif op is c.BRANCH:
            union: set[str] = set()
            for branch in arg[1]:
                alt = _required(list(branch))
                if not alt:
                    union = set()
                    break
                union |= alt[0]
            consider(union or None)
    found.sort(key=_score, reverse=True)
    return found or None


class Compiler:
    """Builds the atom table and program for a list of checked rules."""

    def __init__(self, lists: Mapping[str, Sequence[str]]) -> None:
        self.lists = lists
        self.levels: list[Level] = [Level(("message",), -1)]
        self.level_ids: dict[tuple, int] = {}
        self.atoms: list[tuple] = []  # atom keys
        self.atom_ids: dict[tuple, int] = {}
        self.atom_level: list[int] = []
        self.num_cols: list[tuple] = []
        self.num_ids: dict[tuple, int] = {}
        self.code_cols: list[tuple] = []
        self.code_ids: dict[tuple, int] = {}
        self.nodes: list[tuple] = []  # (op, a, b, value, kids)
        self.node_ids: dict[tuple, int] = {}
        self.roots: list[int] = []
        self.env: list[ListVal] = []

    # --- program nodes ----------------------------------------------------------------------
    def node(self, op: int, a: int = 0, b: int = 0, value: float = 0.0, kids: Sequence[int] = ()) -> int:
        key = (op, a, b, value, tuple(kids))
        found = self.node_ids.get(key)
        if found is None:
            found = self.node_ids[key] = len(self.nodes)
            self.nodes.append(key)
        return found

    def and_(self, kids: list[int]) -> int:
        kids = [k for k in kids if self.nodes[k][0] != TRUE]
        if any(self.nodes[k][0] == FALSE for k in kids):
            return self.node(FALSE)
        return kids[0] if len(kids) == 1 else self.node(AND, kids=kids) if kids else self.node(TRUE)

    def or_(self, kids: list[int]) -> int:
        kids = [k for k in kids if self.nodes[k][0] != FALSE]
        if any(self.nodes[k][0] == TRUE for k in kids):
            return self.node(TRUE)
        return kids[0] if len(kids) == 1 else self.node(OR, kids=kids) if kids else self.node(FALSE)

    def atom(self, key: tuple, level: int) -> int:
        aid = self.atom_ids.get(key)
        if aid is None:
            aid = self.atom_ids[key] = len(self.atoms)
            self.atoms.append(key)
            self.atom_level.append(level)
        return self.node(ATOM, aid, level)

    def num_col(self, key: tuple, level: int) -> int:
        cid = self.num_ids.get(key)
        if cid is None:
            cid = self.num_ids[key] = len(self.num_cols)
            self.num_cols.append(key)
        return self.node(NUM_COL, cid, level)

    def level(self, key: tuple, parent: int) -> int:
        lid = self.level_ids.get(key)
        if lid is None:
            lid = self.level_ids[key] = len(self.levels)
            self.levels.append(Level(key, parent))
        return lid

    # --- levels of string expressions -------------------------------------------------------
    def ancestors(self, level: int) -> list[int]:
        out = [level]
        while self.levels[out[-1]].parent >= 0:
            out.append(self.levels[out[-1]].parent)
        return out

    def deepest(self, levels: Sequence[int], node: ast.Node) -> int:
        deep = max(levels, key=lambda lv: len(self.ancestors(lv)))
        for lv in levels:
            if lv not in self.ancestors(deep):
                raise RuleSyntaxError("cannot combine elements of two different lists in one expression",
                                      node.line, node.column)
        return deep

    def skey_level(self, key: tuple) -> int:
        kind = key[0]
        if kind in ("col", "const", "prevalence"):
            return 0
        if kind == "elem":
            return key[1]
        return key[-1]  # derived keys carry their level last

    # --- compile ------------------------------------------------------------------------------
    def add_rule(self, tree: ast.Node) -> None:
        self.roots.append(self.bool_(tree))

    def bool_(self, node: ast.Node) -> int:
        value = self.expr(node)
        kind, ref = value
        if kind == "bool":
            return ref
        raise RuleSyntaxError("expected a boolean", node.line, node.column)

    def expr(self, node: ast.Node) -> tuple[str, object]:
        """("bool", node) | ("num", node) | ("str", key) | ("list", ListVal) | ("null", None)."""
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _literal(self, node):
        v = node.value
        if v is None:
            return ("null", None)
        if isinstance(v, bool):
            return ("bool", self.node(TRUE if v else FALSE))
        if isinstance(v, float):
            return ("num", self.node(NUM_CONST, value=v))
        return ("str", ("const", v))

    def _field(self, node):
        if node.path in CONSTANTS:
            return ("bool", self.node(TRUE if CONSTANTS[node.path][1] else FALSE))
        if node.path.startswith("signals."):
            col = self.num_col(("sig", node.path[len("signals."):]), 0)
            return ("bool", self.node(TRUTHY, kids=[col])) if node.ty == BOOL else ("num", col)
        if isinstance(node.ty, ListTy):
            lid = self.level(("group", node.path), 0)
            value = None if isinstance(node.ty.elem, RecordTy) else self.elem_value(lid, "value", node.ty.elem)
            return ("list", ListVal(lid, [], value))
        return self.column_value(("col", node.path), 0, node.ty)

    def column_value(self, key: tuple, level: int, ty: str):
        if ty == STR:
            return ("str", key)
        col = self.num_col(key, level)
        return ("bool", self.node(TRUTHY, kids=[col])) if ty == BOOL else ("num", col)

    def elem_value(self, level: int, path: str, ty: str):
        return self.column_value(("elem", level, path), level, ty)

    def _elemfield(self, node):
        top = self.env[-1]
        if node.path == "":
            return top.value
        return self.elem_value(top.level, node.path, node.ty)

    def _member(self, node):
        fty, signal = PROFILE_FIELDS[node.name]
        if node.name == "prevalence":
            return ("str", ("prevalence", signal))
        return self.column_value(("sig", signal), 0, fty)

    def _not(self, node):
        return ("bool", self.node(NOT, kids=[self.bool_(node.operand)]))

    def _boolop(self, node):
        kids = [self.bool_(o) for o in node.operands]
        return ("bool", self.and_(kids) if node.op == "and" else self.or_(kids))

    def _isnull(self, node):
        kind, ref = self.expr(node.operand)
        if kind == "str":
            present = self.nonnull(ref, node)
        elif kind == "num":
            present = self.node(CMP, CMP_CODES["=="], kids=[ref, ref])  # false only for NaN
        else:
            present = self.bool_present(ref)
        return ("bool", present if node.negated else self.node(NOT, kids=[present]))

    def bool_present(self, ref: int) -> int:
        """Whether a boolean value (a TRUTHY over a column, or a constant) is not null."""
        op, _, _, _, kids = self.nodes[ref]
        if op == TRUTHY:
            return self.node(CMP, CMP_CODES["=="], kids=[kids[0], kids[0]])
        return self.node(TRUE)

    def bool_number(self, ref: int) -> int:
        """A boolean value as the number the core compares: its column, or 1/0."""
        op, _, _, _, kids = self.nodes[ref]
        if op == TRUTHY:
            return kids[0]
        return self.node(NUM_CONST, value=1.0 if op == TRUE else 0.0)

    def nonnull(self, key: tuple, node: ast.Node) -> int:
        if key[0] == "const":
            return self.node(TRUE if key[1] else FALSE)
        return self.atom(("nonnull", key), self.skey_level(key))

    def literal_atom(self, key: tuple, ci: bool, targets: list[tuple[int, str]], node: ast.Node) -> int:
        """An atom true when any (mode, literal) target matches the string ``key``."""
        nonempty = sorted({(m, p) for m, p in targets if p})
        if any(not p and m != EXACT for m, p in targets):
            return self.nonnull(key, node)  # contains "" / starts with "": any non-null value
        if not nonempty:
            return self.node(FALSE)
        if key[0] == "const":
            value = fn.ascii_lower(key[1]) if ci else key[1]
            hit = any(_literal_hit(value, fn.ascii_lower(p) if ci else p, m) for m, p in nonempty)
            return self.node(TRUE if key[1] and hit else FALSE)
        return self.atom(("lit", key, ci, tuple(nonempty)), self.skey_level(key))

    def _compare(self, node):
        (lk, lref), (_, rref) = self.expr(node.left), self.expr(node.right)
        if lk == "str":
            return ("bool", self.string_compare(node, lref, rref))
        if lk == "bool":
            lref, rref = self.bool_number(lref), self.bool_number(rref)
        return ("bool", self.node(CMP, CMP_CODES[node.op], kids=[lref, rref]))

    def string_compare(self, node, left: tuple, right: tuple) -> int:
        if right[0] == "const" or left[0] == "const":
            const, other = (right, left) if right[0] == "const" else (left, right)
            if other[0] == "const":
                equal = bool(const[1]) and bool(other[1]) and const[1] == other[1]
                both = bool(const[1]) and bool(other[1])
                return self.node(TRUE if (equal if node.op == "==" else both and not equal) else FALSE)
            eq = self.literal_atom(other, False, [(EXACT, const[1])], node)
            if node.op == "==":
                return eq
            return self.and_([self.nonnull(other, node), self.node(NOT, kids=[eq])]) if const[1] else self.node(FALSE)
        level = self.deepest([self.skey_level(left), self.skey_level(right)], node)
        return self.atom(("streq" if node.op == "==" else "strne", left, right, level), level)

    def _in(self, node):
        kind, ref = self.expr(node.left)
        items = self.lists[node.right.name] if isinstance(node.right, ast.ListRef) else [
            i.value for i in node.right.items]
        if kind == "num":
            eqs = [self.node(CMP, CMP_CODES["=="], kids=[ref, self.node(NUM_CONST, value=v)]) for v in items]
            return ("bool", self.or_(eqs))
        return ("bool", self.literal_atom(ref, node.insensitive, [(EXACT, v) for v in items], node))

    def _call(self, node):
        name = node.name
        if name in STRING_PREDICATES:
            return ("bool", self.string_predicate(node))
        if name in REGEX_PREDICATES:
            return ("bool", self.regex_predicate(node))
        return getattr(self, "_fn_" + name.replace(".", "_"))(node)

    def strings(self, args: Sequence[ast.Node]) -> list[tuple]:
        return [self.expr(a)[1] for a in args]

    def string_predicate(self, node) -> int:
        subject, *patterns = self.strings(node.args)
        ci = node.name.startswith("strings.i")
        kind = node.name.split(".", 1)[1][1 if ci else 0:]
        if any(p[0] != "const" for p in patterns):
            level = self.deepest([self.skey_level(k) for k in (subject, *patterns)], node)
            return self.atom(("pred", node.name, subject, tuple(patterns), level), level)
        values = [p[1] for p in patterns]
        if kind != "like":
            return self.literal_atom(subject, ci, [(_LITERAL_KIND[kind], v) for v in values], node)
        simple, general = [], []
        for glob in values:
            target = _glob_literal(glob)
            (simple if target is not None else general).append(target or glob)
        kids = []
        if simple:
            if any(t == "any" for t in simple):
                return self.nonnull(subject, node)
            kids.append(self.literal_atom(subject, ci, [t for t in simple if t != "none"], node))
        for glob in general:
            pieces = sorted((p for p in glob.split("*") if p), key=len, reverse=True)
            kids.append(self.regex_atom(subject, ("(?s)" + fn.glob_regex(glob, ci).pattern,), ci, True, node,
                                        literal_sets=[[p] for p in pieces[:3]]))
        return self.or_(kids)

    def regex_predicate(self, node) -> int:
        subject, *patterns = self.strings(node.args)
        ci = REGEX_PREDICATES[node.name]
        values = tuple(p[1] for p in patterns)
        whole = node.name.endswith("match")
        finite = [regex_language(v) for v in values]
        if all(f is not None for f in finite):
            # A regex of literals, groups, alternatives and '?' is a finite set of strings: no regex runs.
            mode = EXACT if whole else CONTAINS
            return self.literal_atom(subject, ci, [(mode, w) for f in finite for w in f], node)
        if len(values) == 1:
            sets = regex_literal_sets(values[0])[:3]  # each set is necessary: AND of up to three
        else:
            literals = [regex_literals(v) for v in values]
            sets = [] if any(lit is None for lit in literals) else [[x for lit in literals for x in lit]]
        return self.regex_atom(subject, values, ci, whole, node, literal_sets=sets)

    def regex_atom(self, subject: tuple, patterns: tuple, ci: bool, whole: bool, node, *, literal_sets) -> int:
        if subject[0] == "const":
            hit = bool(subject[1]) and fn.regex_test(subject[1], patterns, ci, whole)
            return self.node(TRUE if hit else FALSE)
        level = self.skey_level(subject)
        prefilters = []
        for literals in literal_sets:
            # Case-insensitive literals find a superset of the rows the regexes can match.
            pf = self.literal_atom(subject, True, [(CONTAINS, lit) for lit in literals], node)
            if self.nodes[pf][0] == ATOM:
                prefilters.append(self.nodes[pf][1])
        return self.atom(("regex", subject, patterns, ci, whole, tuple(prefilters)), level)

    # --- lists --------------------------------------------------------------------------------
    def list_(self, node: ast.Node) -> ListVal:
        kind, ref = self.expr(node)
        assert kind == "list", kind
        return ref

    def within(self, lst: ListVal, body: ast.Node):
        self.env.append(lst)
        try:
            return self.expr(body)
        finally:
            self.env.pop()

    def distinct_filters(self, lst: ListVal, node) -> list[int]:
        if not lst.distinct:
            return lst.filters
        return [*lst.filters, self.value_present(lst.value, node)]

    def value_present(self, value, node) -> int:
        kind, ref = value
        if kind == "str":
            return self.nonnull(ref, node)
        if kind == "num":
            return self.node(CMP, CMP_CODES["=="], kids=[ref, ref])
        return self.bool_present(ref)

    def over_named_list(self, node, combine) -> tuple[str, int]:
        """any/all over a $list: the condition once per value, joined with or/and."""
        preds = []
        for item in self.lists[node.args[0].name]:
            value = ListVal(-1, [], ("str", ("const", item)))
            preds.append(self.within(value, node.args[1])[1])
        if not preds:
            return ("bool", self.node(FALSE))
        return ("bool", combine(preds))

    def _fn_any(self, node):
        if isinstance(node.args[0], ast.ListRef):
            return self.over_named_list(node, self.or_)
        lst = self.list_(node.args[0])
        pred = self.within(lst, node.args[1])[1]
        return ("bool", self.node(ANY, lst.level, kids=[*self.distinct_filters(lst, node), pred]))

    def _fn_all(self, node):
        if isinstance(node.args[0], ast.ListRef):
            return self.over_named_list(node, self.and_)
        lst = self.list_(node.args[0])
        pred = self.within(lst, node.args[1])[1]
        filters = self.distinct_filters(lst, node)
        return ("bool", self.node(ALL, lst.level, len(filters), kids=[*filters, pred]))

    def _fn_filter(self, node):
        lst = self.list_(node.args[0])
        pred = self.within(lst, node.args[1])[1]
        return ("list", ListVal(lst.level, [*lst.filters, pred], lst.value))

    def _fn_map(self, node):
        lst = self.list_(node.args[0])
        return ("list", ListVal(lst.level, list(lst.filters), self.within(lst, node.args[1])))

    def _fn_distinct(self, node):
        lst = self.list_(node.args[0])
        key = self.within(lst, node.args[1]) if len(node.args) == 2 else lst.value
        return ("list", ListVal(lst.level, list(lst.filters), lst.value, key, True))

    def _fn_length(self, node):
        kind, ref = self.expr(node.args[0])
        if kind == "str":
            if ref[0] == "const":
                return ("num", self.node(NUM_CONST, value=float(len(ref[1])) if ref[1] else math.nan))
            return ("num", self.num_col(("strlen", ref, self.skey_level(ref)), self.skey_level(ref)))
        lst: ListVal = ref
        if not lst.distinct:
            return ("num", self.node(COUNT, lst.level, kids=lst.filters))
        code = self.code_column(lst.distinct_key, lst.level, node)
        return ("num", self.node(COUNT_DISTINCT, lst.level, code, kids=lst.filters))

    def code_column(self, key, level: int, node) -> int:
        kind, ref = key
        if kind == "str":
            ckey = ("str", ref, level)
        elif kind in ("num", "bool"):
            col = ref if kind == "num" else self.bool_number(ref)
            if self.nodes[col][0] != NUM_COL:
                raise RuleSyntaxError("a distinct key must be a field or a string expression", node.line, node.column)
            ckey = ("num", self.num_cols[self.nodes[col][1]], self.nodes[col][2], level)
        else:
            raise RuleSyntaxError("a distinct key must be a field or a string expression", node.line, node.column)
        cid = self.code_ids.get(ckey)
        if cid is None:
            cid = self.code_ids[ckey] = len(self.code_cols)
            self.code_cols.append(ckey)
        return cid

    def _fn_coalesce(self, node):
        values = [self.expr(a) for a in node.args]
        values = [v for v in values if v[0] != "null"]
        kind = values[0][0]
        if kind == "str":
            keys = tuple(v[1] for v in values)
            level = self.deepest([self.skey_level(k) for k in keys], node)
            return ("str", ("coalesce", keys, level))
        nums = [v[1] if kind == "num" else self.bool_number(v[1]) for v in values]
        out = self.node(COALESCE, kids=nums)
        return ("num", out) if kind == "num" else ("bool", self.node(TRUTHY, kids=[out]))

    def _fn_strings_ilevenshtein(self, node):
        a, b = self.strings(node.args)
        level = self.deepest([self.skey_level(a), self.skey_level(b)], node)
        return ("num", self.num_col(("lev", a, b, level), level))

    def _fn_strings_replace_confusables(self, node):
        (a,) = self.strings(node.args)
        return ("str", ("confusables", a, self.skey_level(a)))

    def _fn_strings_concat(self, node):
        keys = tuple(self.strings(node.args))
        level = self.deepest([self.skey_level(k) for k in keys], node)
        return ("str", ("concat", keys, level))

    def _fn_regex_iextract(self, node):
        (subject,) = self.strings(node.args[:1])
        lid = self.level(("iextract", subject, node.args[1].value), self.skey_level(subject))
        return ("list", ListVal(lid, []))

    def _fn_profile_by_sender(self, node):
        return ("profile", None)

    # --- output -------------------------------------------------------------------------------
    def regex_atoms_under(self, root: int) -> set[int]:
        """Regex atoms read anywhere below ``root``."""
        found, stack, seen = set(), [root], set()
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            op, a, _, _, kids = self.nodes[i]
            if op == ATOM and self.atoms[a][0] in LAZY_ATOMS:
                found.add(a)
            stack.extend(kids)
        return found

    def guards(self) -> tuple[list[int], dict[int, list[int]]]:
        """Per rule, an upper bound of the rule that reads no lazy atom, and per lazy atom
        the rules that read it. A row where a rule's guard is false fails the rule whatever
        its regexes say, so lazy atoms are computed only on rows some reader's guard passes.

        The bound replaces a lazy atom by its literal prefilters (a necessary condition)
        where it counts positively, by false where it counts negatively (under a not), and
        any non-monotone node over lazy atoms (all, counts, comparisons) by true / false.
        """
        memo: dict[tuple[int, bool], int] = {}
        lazy_under: dict[int, bool] = {}

        def has_lazy(i: int) -> bool:
            if i not in lazy_under:
                op, a, _, _, kids = self.nodes[i]
                lazy_under[i] = (op == ATOM and self.atoms[a][0] in LAZY_ATOMS) or any(has_lazy(k) for k in kids)
            return lazy_under[i]

        def bound(i: int, positive: bool) -> int:
            key = (i, positive)
            if key in memo:
                return memo[key]
            op, a, b, _, kids = self.nodes[i]
            if not has_lazy(i):
                out = i
            elif op == ATOM:
                pfs = self.atoms[a][-1] if self.atoms[a][0] == "regex" else ()
                out = self.and_([self.node(ATOM, pf, b) for pf in pfs]) if positive else self.node(FALSE)
            elif op == AND:
                out = self.and_([bound(k, positive) for k in kids])
            elif op == OR:
                out = self.or_([bound(k, positive) for k in kids])
            elif op == NOT:
                out = self.node(NOT, kids=[bound(kids[0], not positive)])
            elif op == ANY:
                out = self.node(ANY, a, kids=[bound(k, positive) for k in kids])
            else:
                out = self.node(TRUE if positive else FALSE)
            memo[key] = out
            return out

        guard_roots, readers = [], {}
        for r, root in enumerate(self.roots):
            guard_roots.append(bound(root, True))
            for aid in self.regex_atoms_under(root):
                readers.setdefault(aid, []).append(r)
        return guard_roots, readers

    def program(self, roots: list[int] | None = None):
        roots = self.roots if roots is None else roots
        n = len(self.nodes)
        op = np.array([k[0] for k in self.nodes], np.int8)
        a = np.array([k[1] for k in self.nodes], np.int32)
        b = np.array([k[2] for k in self.nodes], np.int32)
        value = np.array([k[3] for k in self.nodes], np.float64)
        n_kids = np.array([len(k[4]) for k in self.nodes], np.int32)
        first = np.zeros(n, np.int32)
        if n:
            first[1:] = np.cumsum(n_kids)[:-1]
        kids = np.array([c for k in self.nodes for c in k[4]], np.int32)
        return _core.RuleProgram(
            op, a, b, first, n_kids, value, kids, np.array(roots, np.int32),
            np.array([lv.parent for lv in self.levels], np.int32),
            len(self.atoms), len(self.num_cols), len(self.code_cols))


def _literal_hit(value: str, pattern: str, mode: int) -> bool:
    return {CONTAINS: pattern in value, PREFIX: value.startswith(pattern), SUFFIX: value.endswith(pattern),
            EXACT: value == pattern}[mode]


def _glob_literal(glob: str):
    """A like-pattern as one (mode, literal) target, "any" (every non-null string), "none", or None (regex)."""
    pieces = glob.split("*")
    if len(pieces) == 1:
        return (EXACT, glob) if glob else "none"
    nonempty = [p for p in pieces if p]
    if not nonempty:
        return "any"
    if len(nonempty) > 1:
        return None
    lit = nonempty[0]
    if pieces[0] == "" and pieces[-1] == "":
        return (CONTAINS, lit)
    return (PREFIX, lit) if pieces[0] else (SUFFIX, lit)
