"""This module contains the MQL parser: tokens to an AST whose nodes carry line and column.

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | compare
    compare := postfix [("==" | "!=" | "<" | "<=" | ">" | ">=") postfix
                        | ["not"] ("in" | "in~") postfix
                        | "is" ["not"] "null"]
    postfix := primary ("." ident)*
    primary := literal | "(" expr ["," expr]* ")" | $list | "." [path] | path ["(" args ")"]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyscore.rules.lexer import RuleSyntaxError, Token, tokenize


@dataclass(eq=False)
class Node:
    line: int
    column: int
    # Filled by the type checker: the node's type and, for fields, what they resolve to.
    ty: object = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Literal(Node):
    value: object  # str, float, bool or None


@dataclass(eq=False)
class Tuple(Node):
    items: list[Node]


@dataclass(eq=False)
class ListRef(Node):
    name: str


@dataclass(eq=False)
class Field(Node):
    path: str  # absolute MDM path: sender.email.domain.root_domain


@dataclass(eq=False)
class ElemField(Node):
    path: str  # path inside the current list element; "" for the element itself


@dataclass(eq=False)
class Member(Node):
    obj: Node
    name: str  # profile.by_sender().prevalence, regex.iextract(...).full_match


@dataclass(eq=False)
class Call(Node):
    name: str  # any, strings.icontains, profile.by_sender ...
    args: list[Node]


@dataclass(eq=False)
class Not(Node):
    operand: Node


@dataclass(eq=False)
class BoolOp(Node):
    op: str  # and | or
    operands: list[Node]


@dataclass(eq=False)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(eq=False)
class In(Node):
    left: Node
    right: Node  # Tuple or ListRef
    insensitive: bool


@dataclass(eq=False)
class IsNull(Node):
    operand: Node
    negated: bool


_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (text is None or tok.text == text)

    def expect(self, kind: str, text: str, what: str) -> Token:
        if not self.at(kind, text):
            raise self.error(f"expected {what}")
        return self.advance()

    def error(self, expected: str) -> RuleSyntaxError:
        tok = self.tok
        found = "end of rule" if tok.kind == "eof" else repr(tok.text)
        return RuleSyntaxError(f"{expected}, found {found}", tok.line, tok.column)

    def parse(self) -> Node:
        if self.at("eof"):
            raise self.error("expected an expression")
        node = self.expr()
        if not self.at("eof"):
            raise self.error("expected 'and', 'or' or the end of the rule")
        return node

    def expr(self) -> Node:
        return self._chain("or", self.and_)

    def and_(self) -> Node:
        return self._chain("and", self.unary)

    def _chain(self, op: str, sub) -> Node:
        first = sub()
        operands = [first]
        while self.at("keyword", op):
            self.advance()
            operands.append(sub())
        if len(operands) == 1:
            return first
        return BoolOp(first.line, first.column, op, operands)

    def unary(self) -> Node:
        if self.at("keyword", "not"):
            tok = self.advance()
            return Not(tok.line, tok.column, self.unary())
        return self.compare()

    def compare(self) -> Node:
        left = self.postfix()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARISONS:
            self.advance()
            return Compare(tok.line, tok.column, tok.text, left, self.postfix())
        negated = tok.kind == "keyword" and tok.text == "not" and (
            self.tokens[self.i + 1].text in ("in", "in~") and self.tokens[self.i + 1].kind in ("keyword", "op"))
        if negated:  # x not in (...) is not (x in (...))
            self.advance()
            tok = self.tok
        if (tok.kind == "keyword" and tok.text == "in") or (tok.kind == "op" and tok.text == "in~"):
            self.advance()
            right = self.postfix()
            if isinstance(right, Literal):  # ("exe") is a one-item tuple
                right = Tuple(right.line, right.column, [right])
            if not isinstance(right, Tuple | ListRef):
                raise RuleSyntaxError("expected a tuple (...) or a $list after 'in'", right.line, right.column)
            node = In(tok.line, tok.column, left, right, tok.text == "in~")
            return Not(tok.line, tok.column, node) if negated else node
        if tok.kind == "keyword" and tok.text == "is":
            self.advance()
            negated = self.at("keyword", "not")
            if negated:
                self.advance()
            self.expect("keyword", "null", "'null' after 'is'")
            return IsNull(tok.line, tok.column, left, negated)
        return left

    def postfix(self) -> Node:
        node = self.primary()
        while self.at("op", ".") and isinstance(node, Call | Member):
            self.advance()
            name = self.expect_ident("a field name after '.'")
            node = Member(name.line, name.column, node, name.text)
        return node

    def expect_ident(self, what: str) -> Token:
        if not (self.at("ident") or self.at("keyword")):
            raise self.error(f"expected {what}")
        return self.advance()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "string" or tok.kind == "number":
            self.advance()
            return Literal(tok.line, tok.column, tok.value)
        if tok.kind == "keyword" and tok.text in ("true", "false", "null"):
            self.advance()
            return Literal(tok.line, tok.column, {"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "list":
            self.advance()
            return ListRef(tok.line, tok.column, tok.text)
        if tok.kind == "op" and tok.text == "(":
            return self.parenthesised()
        if tok.kind == "op" and tok.text == ".":
            self.advance()
            return ElemField(tok.line, tok.column, self.dotted_tail())
        if tok.kind == "ident":
            return self.path_or_call()
        raise self.error("expected a field, literal, function call or '('")

    def dotted_tail(self) -> str:
        """After a leading '.': the element-relative path, or "" for the element itself."""
        parts = []
        if self.at("ident") or self.at("keyword") and self.tok.text not in ("and", "or", "in", "is", "not"):
            parts.append(self.advance().text)
            while self.at("op", ".") and self.tokens[self.i + 1].kind in ("ident", "keyword"):
                self.advance()
                parts.append(self.advance().text)
        return ".".join(parts)

    def path_or_call(self) -> Node:
        first = self.advance()
        parts = [first.text]
        while self.at("op", ".") and self.tokens[self.i + 1].kind in ("ident", "keyword"):
            self.advance()
            parts.append(self.advance().text)
        name = ".".join(parts)
        if self.at("op", "("):
            self.advance()
            args: list[Node] = []
            if not self.at("op", ")"):
                args.append(self.expr())
                while self.at("op", ","):
                    self.advance()
                    args.append(self.expr())
            self.expect("op", ")", f"',' or ')' in the arguments of {name}()")
            return Call(first.line, first.column, name, args)
        return Field(first.line, first.column, name)

    def parenthesised(self) -> Node:
        open_tok = self.advance()
        if self.at("op", ")"):
            raise self.error("expected an expression or tuple items inside '()'")
        items = [self.expr()]
        is_tuple = False
        while self.at("op", ","):
            is_tuple = True
            self.advance()
            if self.at("op", ")"):  # a trailing comma, as in ("a", "b",)
                break
            items.append(self.expr())
        self.expect("op", ")", "',' or ')'")
        if is_tuple:
            return Tuple(open_tok.line, open_tok.column, items)
        return items[0]


def parse(source: str) -> Node:
    """The AST of one rule's ``source``; raises RuleSyntaxError with line and column."""
    return _Parser(source).parse()


def walk(node: Node):
    """Every node of the tree, parents before children."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> list[Node]:
    if isinstance(node, Tuple):
        return list(node.items)
    if isinstance(node, Member):
        return [node.obj]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Not):
        return [node.operand]
    if isinstance(node, BoolOp):
        return list(node.operands)
    if isinstance(node, Compare | In):
        return [node.left, node.right]
    if isinstance(node, IsNull):
        return [node.operand]
    return []
