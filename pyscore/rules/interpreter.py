"""This module contains the reference interpreter: a checked rule evaluated on one message.

It walks the AST with plain Python values and is the oracle the compiled
evaluator is tested against (and its peer in benchmarks). Semantics, as in
MQL: an empty string or a NaN number is null; a predicate or comparison on
null is false; a null in a boolean position is false (so ``not`` of it is
true); ``any`` over an empty list is false and so is ``all``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyscore.batch import LIST_SPECS, SCALAR_SPECS
from pyscore.message import Message
from pyscore.rules import functions as fn
from pyscore.rules import parser as ast
from pyscore.rules.checker import REGEX_PREDICATES, STRING_PREDICATES
from pyscore.rules.types import BOOL, CONSTANTS, PROFILE_FIELDS, Catalog, ListTy, prevalence_of


def _norm(value):
    if isinstance(value, str):
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def message_row(message: Message, catalog: Catalog | None = None,
                signals: Mapping[str, float] | None = None) -> dict:
    """One message as the interpreter reads it: MDM paths -> values, lists -> elements."""
    catalog = catalog or Catalog.default()
    row: dict[str, Any] = {}
    for path, _, get in SCALAR_SPECS:
        row[path] = _typed(catalog.scalars[path], _norm(get(message)))
    lists: dict[str, list] = {}
    for group, elements_of, specs in LIST_SPECS:
        lty = catalog.groups[group]
        elements = []
        for e in elements_of(message):
            if not isinstance(lty.elem, str):
                elements.append({p: _typed(lty.elem.field_type(p), _norm(g(e))) for p, _, g in specs})
            else:
                elements.append(_typed(lty.elem, _norm(specs[0][2](e))))
        lists[group] = elements
    return {"fields": row, "lists": lists, "signals": dict(signals or {})}


def _typed(ty: str, value):
    if ty == BOOL and value is not None:
        return bool(value)
    return value


def _truthy(value) -> bool:
    return value is True


class Interpreter:
    def __init__(self, row: dict, lists: Mapping[str, tuple[str, ...]]) -> None:
        self.row = row
        self.lists = lists
        self.elems: list[Any] = []

    def eval(self, node: ast.Node):
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _literal(self, node):
        return _norm(node.value)  # "" is null, like an empty field

    def _field(self, node):
        if node.path in CONSTANTS:
            return CONSTANTS[node.path][1]
        if node.path.startswith("signals."):
            value = _norm(self.row["signals"].get(node.path[len("signals."):], math.nan))
            return _typed(node.ty, None if value is None else float(value))
        if isinstance(node.ty, ListTy):
            return list(self.row["lists"][node.path])
        return self.row["fields"][node.path]

    def _listref(self, node):
        return list(self.lists[node.name])

    def _elemfield(self, node):
        elem = self.elems[-1]
        return elem if node.path == "" else elem[node.path]

    def _member(self, node):
        fty, signal = PROFILE_FIELDS[node.name]
        value = _norm(self.row["signals"].get(signal, math.nan))
        if node.name == "prevalence":
            return _norm(prevalence_of(math.nan if value is None else float(value)))
        return _typed(fty, value)

    def _not(self, node):
        return not _truthy(self.eval(node.operand))

    def _boolop(self, node):
        results = (_truthy(self.eval(o)) for o in node.operands)
        return all(results) if node.op == "and" else any(results)

    def _compare(self, node):
        a, b = self.eval(node.left), self.eval(node.right)
        if a is None or b is None:
            return False
        return {"==": a == b, "!=": a != b}[node.op] if node.op in ("==", "!=") else {
            "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]

    def _in(self, node):
        value = self.eval(node.left)
        if value is None:
            return False
        if isinstance(node.right, ast.ListRef):
            items = self.lists[node.right.name]
        else:
            items = [i.value for i in node.right.items]
        if node.insensitive:
            return fn.ascii_lower(value) in {fn.ascii_lower(i) for i in items}
        return value in set(items)

    def _isnull(self, node):
        return (self.eval(node.operand) is None) != node.negated

    def _call(self, node):
        name, args = node.name, node.args
        if name in STRING_PREDICATES or name in REGEX_PREDICATES:
            subject = self.eval(args[0])
            patterns = [self.eval(a) for a in args[1:]]
            if subject is None:
                return False
            if name in REGEX_PREDICATES:
                return fn.regex_test(subject, tuple(patterns), REGEX_PREDICATES[name], name.endswith("match"))
            # A null pattern matches nothing; "" (also null) likewise.
            return fn.string_predicate(name, subject, tuple(p for p in patterns if p is not None))
        return getattr(self, "_fn_" + name.replace(".", "_"))(node)

    def _each(self, items, expr):
        for item in items:
            self.elems.append(item)
            try:
                yield item, self.eval(expr)
            finally:
                self.elems.pop()

    def _fn_any(self, node):
        return any(_truthy(v) for _, v in self._each(self.eval(node.args[0]), node.args[1]))

    def _fn_all(self, node):
        items = self.eval(node.args[0])
        return bool(items) and all(_truthy(v) for _, v in self._each(items, node.args[1]))

    def _fn_filter(self, node):
        return [item for item, v in self._each(self.eval(node.args[0]), node.args[1]) if _truthy(v)]

    def _fn_map(self, node):
        return [v for _, v in self._each(self.eval(node.args[0]), node.args[1])]

    def _fn_length(self, node):
        value = self.eval(node.args[0])
        return None if value is None else float(len(value))

    def _fn_distinct(self, node):
        items = self.eval(node.args[0])
        keyed = self._each(items, node.args[1]) if len(node.args) == 2 else ((v, v) for v in items)
        seen, out = set(), []
        for item, key in keyed:
            if key is not None and key not in seen:
                seen.add(key)
                out.append(item)
        return out

    def _fn_coalesce(self, node):
        for arg in node.args:
            value = self.eval(arg)
            if value is not None:
                return value
        return None

    def _fn_strings_ilevenshtein(self, node):
        a, b = (self.eval(x) for x in node.args)
        if a is None or b is None:
            return None
        return float(fn.levenshtein(fn.ascii_lower(a), fn.ascii_lower(b)))

    def _fn_strings_replace_confusables(self, node):
        value = self.eval(node.args[0])
        return None if value is None else _norm(fn.replace_confusables(value))

    def _fn_strings_concat(self, node):
        return _norm("".join(v for v in (self.eval(a) for a in node.args) if v is not None))

    def _fn_regex_iextract(self, node):
        value = self.eval(node.args[0])
        return [] if value is None else [{"full_match": m} for m in fn.extract(value, node.args[1].value)]

    def _fn_profile_by_sender(self, node):
        return None


def interpret(tree: ast.Node, row: dict, lists: Mapping[str, tuple[str, ...]] | None = None) -> bool:
    """Whether the checked rule ``tree`` matches the message ``row`` (from ``message_row``).

    ``lists`` holds the named lists ($name -> values) the rule was checked against.
    """
    return _truthy(Interpreter(row, lists or {}).eval(tree))
