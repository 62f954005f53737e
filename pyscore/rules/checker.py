"""This module contains the type checker: it resolves names and types of a parsed rule.

``check(ast, catalog)`` annotates every node with ``.ty`` (see ``types``) and
raises ``RuleSyntaxError`` at the offending node's line and column: an unknown
field, function, list or signal is named (with the nearest known name), a
wrong argument type says what was expected.
"""

from __future__ import annotations

import difflib
import re

from pyscore.rules import parser as ast
from pyscore.rules.lexer import RuleSyntaxError
from pyscore.rules.types import (
    ALIASES,
    BOOL,
    CONSTANTS,
    MATCH_RECORD,
    NULL,
    NUM,
    PROFILE_FIELDS,
    SCALARS,
    STR,
    Catalog,
    ListTy,
    ProfileTy,
    RecordTy,
    describe,
)

# String predicates: (case-insensitive, pattern kind). All take one subject and 1+ patterns.
STRING_PREDICATES = {
    "strings.contains": False, "strings.icontains": True,
    "strings.starts_with": False, "strings.istarts_with": True,
    "strings.ends_with": False, "strings.iends_with": True,
    "strings.like": False, "strings.ilike": True,
}
REGEX_PREDICATES = {"regex.contains": False, "regex.icontains": True, "regex.match": False, "regex.imatch": True}
QUANTIFIERS = ("any", "all", "filter", "map")
FUNCTIONS = sorted([
    *STRING_PREDICATES, *REGEX_PREDICATES, *QUANTIFIERS, "length", "distinct", "coalesce",
    "strings.ilevenshtein", "strings.replace_confusables", "strings.concat", "regex.iextract",
    "profile.by_sender",
])


def regex_flags(insensitive: bool) -> int:
    """The regex dialect: Python ``re`` with ASCII classes; i-functions fold ASCII case only."""
    return re.ASCII | (re.IGNORECASE if insensitive else 0)


class Checker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.elems: list[object] = []  # element types of the enclosing quantifiers

    def fail(self, node: ast.Node, message: str) -> RuleSyntaxError:
        return RuleSyntaxError(message, node.line, node.column)

    def check(self, node: ast.Node) -> object:
        method = getattr(self, "_" + type(node).__name__.lower())
        node.ty = method(node)
        return node.ty

    def expect(self, node: ast.Node, want: tuple | str, what: str) -> object:
        ty = self.check(node)
        wants = want if isinstance(want, tuple) else (want,)
        if ty not in wants:
            names = " or ".join(describe(w) for w in wants)
            raise self.fail(node, f"{what} must be {names}, got {describe(ty)}")
        return ty

    def expect_list(self, node: ast.Node, what: str) -> ListTy:
        ty = self.check(node)
        if not isinstance(ty, ListTy):
            raise self.fail(node, f"{what} must be a list field, got {describe(ty)}")
        return ty

    # --- leaves ---------------------------------------------------------------------------
    def _literal(self, node: ast.Literal) -> object:
        v = node.value
        return NULL if v is None else BOOL if isinstance(v, bool) else NUM if isinstance(v, float) else STR

    def _tuple(self, node: ast.Tuple) -> object:
        raise self.fail(node, "a tuple (...) may only follow 'in' or 'in~'")

    def _listref(self, node: ast.ListRef) -> object:
        raise self.fail(node, f"${node.name} may only follow 'in' or 'in~'")

    def _field(self, node: ast.Field) -> object:
        path = ALIASES.get(node.path, node.path)
        node.path = path
        if path in CONSTANTS:
            return CONSTANTS[path][0]
        if path.startswith("signals."):
            name = path[len("signals."):]
            signals = self.catalog.signals
            if name not in signals:
                hint = _nearest(name, signals)
                raise self.fail(node, f"unknown signal {name!r}{hint}"
                                + ("" if signals else " (no signal registry is available)"))
            return signals[name]
        if path in self.catalog.scalars:
            return self.catalog.scalars[path]
        if path in self.catalog.groups:
            return self.catalog.groups[path]
        known = [*self.catalog.scalars, *self.catalog.groups, *CONSTANTS]
        raise self.fail(node, f"unknown field {node.path!r}{_nearest(node.path, known)}")

    def _elemfield(self, node: ast.ElemField) -> object:
        if not self.elems:
            raise self.fail(node, "'.' refers to a list element, but this is not inside any/all/filter/map")
        elem = self.elems[-1]
        if isinstance(elem, RecordTy):
            if node.path == "":
                raise self.fail(node, f"expected a field of {elem.group} after '.'")
            ty = elem.field_type(node.path)
            if ty is None:
                names = [p for p, _ in elem.fields]
                raise self.fail(node, f"unknown field '.{node.path}' of {elem.group}{_nearest(node.path, names)}")
            return ty
        if node.path != "":
            raise self.fail(node, f"the elements of this list are {describe(elem)}: use '.' alone")
        return elem

    # --- operators ------------------------------------------------------------------------
    def _not(self, node: ast.Not) -> object:
        self.expect(node.operand, BOOL, "the operand of 'not'")
        return BOOL

    def _boolop(self, node: ast.BoolOp) -> object:
        for operand in node.operands:
            self.expect(operand, BOOL, f"each operand of '{node.op}'")
        return BOOL

    def _compare(self, node: ast.Compare) -> object:
        left, right = self.check(node.left), self.check(node.right)
        if NULL in (left, right):
            raise self.fail(node, "a comparison with null is always null: use 'is null' or 'is not null'")
        if node.op in ("==", "!="):
            if left != right or left not in SCALARS:
                raise self.fail(node, f"cannot compare {describe(left)} with {describe(right)} using {node.op}")
            for side in (node.left, node.right):
                if left == BOOL and not _is_value(side):
                    raise self.fail(side, "compare boolean fields and literals only; "
                                    "combine conditions with 'and', 'or' and 'not'")
        elif left != NUM or right != NUM:
            raise self.fail(node, f"'{node.op}' compares numbers, got {describe(left)} and {describe(right)}")
        return BOOL

    def _in(self, node: ast.In) -> object:
        left = self.expect(node.left, (STR, NUM), "the left side of 'in'")
        if node.insensitive and left != STR:
            raise self.fail(node, "'in~' compares strings, got " + describe(left))
        right = node.right
        if isinstance(right, ast.ListRef):
            if right.name not in self.catalog.lists:
                raise self.fail(right, f"unknown list ${right.name}{_nearest(right.name, self.catalog.lists)}")
            if left != STR:
                raise self.fail(node, f"${right.name} holds strings, the left side is {describe(left)}")
        else:
            for item in right.items:
                if not isinstance(item, ast.Literal) or item.value is None:
                    raise self.fail(item, "tuple items must be string or number literals")
                self.expect(item, left, "each tuple item")
        return BOOL

    def _isnull(self, node: ast.IsNull) -> object:
        ty = self.check(node.operand)
        if ty not in SCALARS:
            raise self.fail(node, f"'is null' tests a string, number or boolean, got {describe(ty)}"
                            + (": test length(...) == 0 for an empty list" if isinstance(ty, ListTy) else ""))
        return BOOL

    def _member(self, node: ast.Member) -> object:
        ty = self.check(node.obj)
        if isinstance(ty, ProfileTy):
            if node.name not in PROFILE_FIELDS:
                raise self.fail(node, f"unknown profile field {node.name!r}{_nearest(node.name, PROFILE_FIELDS)}")
            fty, signal = PROFILE_FIELDS[node.name]
            if signal not in self.catalog.signals:
                raise self.fail(node, f"profile.by_sender().{node.name} is not available: "
                                f"the baseline signal {signal!r} is not registered")
            return fty
        raise self.fail(node, f"{describe(ty)} has no field {node.name!r}")

    # --- functions ------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> object:
        name, args = node.name, node.args
        if name in STRING_PREDICATES or name in REGEX_PREDICATES:
            self._arity(node, 2, None)
            self.expect(args[0], STR, f"argument 1 of {name}")
            for arg in args[1:]:
                self.expect(arg, STR, f"each pattern of {name}")
                if name in REGEX_PREDICATES:
                    self._regex(arg, REGEX_PREDICATES[name])
            return BOOL
        if name in QUANTIFIERS:
            return self._quantifier(node)
        handler = {
            "length": self._length, "distinct": self._distinct, "coalesce": self._coalesce,
            "strings.ilevenshtein": self._levenshtein, "strings.replace_confusables": self._confusables,
            "strings.concat": self._concat, "regex.iextract": self._iextract, "profile.by_sender": self._profile,
        }.get(name)
        if handler is None:
            raise self.fail(node, f"unknown function {name}(){_nearest(name, FUNCTIONS)}")
        return handler(node)

    def _arity(self, node: ast.Call, low: int, high: int | None) -> None:
        n = len(node.args)
        if n < low or (high is not None and n > high):
            want = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            raise self.fail(node, f"{node.name}() takes {want} argument(s), got {n}")

    def _regex(self, arg: ast.Node, insensitive: bool) -> None:
        if not isinstance(arg, ast.Literal):
            raise self.fail(arg, "a regex pattern must be a string literal")
        try:
            re.compile(arg.value, regex_flags(insensitive))
        except re.error as exc:
            raise self.fail(arg, f"invalid regex {arg.value!r}: {exc}") from None

    def _quantifier(self, node: ast.Call) -> object:
        self._arity(node, 2, 2)
        first = node.args[0]
        if isinstance(first, ast.ListRef):  # any($list, ...) / all($list, ...): '.' is each value
            if node.name not in ("any", "all"):
                raise self.fail(first, f"${first.name} may be read by any() and all(), not {node.name}()")
            if first.name not in self.catalog.lists:
                raise self.fail(first, f"unknown list ${first.name}{_nearest(first.name, self.catalog.lists)}")
            first.ty = ListTy(STR)
        lst = first.ty if isinstance(first, ast.ListRef) else self.expect_list(first, f"argument 1 of {node.name}()")
        if lst.distinct and (node.name in ("filter", "map") or isinstance(lst.elem, RecordTy)):
            raise self.fail(node.args[0], "distinct(...) of records may only be counted with length(); "
                            "use distinct(map(...)) to test its values")
        self.elems.append(lst.elem)
        try:
            if node.name == "map":
                ty = self.check(node.args[1])
                if ty not in SCALARS:
                    raise self.fail(node.args[1], f"map() must produce a string, number or boolean, got {describe(ty)}")
            else:
                self.expect(node.args[1], BOOL, f"the condition of {node.name}()")
        finally:
            self.elems.pop()
        if node.name == "map":
            return ListTy(ty)
        return lst if node.name == "filter" else BOOL

    def _length(self, node: ast.Call) -> object:
        self._arity(node, 1, 1)
        ty = self.check(node.args[0])
        if not isinstance(ty, ListTy) and ty != STR:
            raise self.fail(node.args[0], f"length() takes a list or a string, got {describe(ty)}")
        return NUM

    def _distinct(self, node: ast.Call) -> object:
        self._arity(node, 1, 2)
        lst = self.expect_list(node.args[0], "argument 1 of distinct()")
        if lst.distinct:
            raise self.fail(node.args[0], "distinct() of distinct() is the same list")
        if len(node.args) == 2:
            if not isinstance(lst.elem, RecordTy):
                raise self.fail(node.args[1], "a distinct key applies to a list of records")
            self.elems.append(lst.elem)
            try:
                self.expect(node.args[1], (STR, NUM, BOOL), "the key of distinct()")
            finally:
                self.elems.pop()
        elif isinstance(lst.elem, RecordTy):
            raise self.fail(node, "distinct() of records needs a key: distinct(list, .field)")
        return ListTy(lst.elem, distinct=True)

    def _coalesce(self, node: ast.Call) -> object:
        self._arity(node, 2, None)
        types = {self.check(a) for a in node.args} - {NULL}
        if len(types) != 1 or not types <= set(SCALARS):
            raise self.fail(node, "coalesce() takes values of one scalar type, got "
                            + ", ".join(sorted(describe(t) for t in types)))
        return types.pop()

    def _levenshtein(self, node: ast.Call) -> object:
        self._arity(node, 2, 2)
        for i, arg in enumerate(node.args):
            self.expect(arg, STR, f"argument {i + 1} of strings.ilevenshtein()")
        return NUM

    def _confusables(self, node: ast.Call) -> object:
        self._arity(node, 1, 1)
        self.expect(node.args[0], STR, "the argument of strings.replace_confusables()")
        return STR

    def _concat(self, node: ast.Call) -> object:
        self._arity(node, 1, None)
        for i, arg in enumerate(node.args):
            self.expect(arg, STR, f"argument {i + 1} of strings.concat()")
        return STR

    def _iextract(self, node: ast.Call) -> object:
        self._arity(node, 2, 2)
        self.expect(node.args[0], STR, "argument 1 of regex.iextract()")
        self.expect(node.args[1], STR, "the pattern of regex.iextract()")
        self._regex(node.args[1], True)
        return ListTy(MATCH_RECORD)

    def _profile(self, node: ast.Call) -> object:
        self._arity(node, 0, 0)
        return ProfileTy()


def _is_value(node: ast.Node) -> bool:
    """A boolean that may be null: a field, a literal, a profile field or a coalesce of those."""
    if isinstance(node, ast.Call):
        return node.name == "coalesce" and all(_is_value(a) for a in node.args)
    return isinstance(node, ast.Field | ast.ElemField | ast.Member | ast.Literal)


def _nearest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check(tree: ast.Node, catalog: Catalog) -> ast.Node:
    """Type-check a rule's AST in place; the whole rule must be a boolean."""
    checker = Checker(catalog)
    ty = checker.check(tree)
    if ty != BOOL:
        raise RuleSyntaxError(f"a rule must be a boolean expression, got {describe(ty)}", tree.line, tree.column)
    return tree
