"""This module contains the MQL lexer: rule source text to tokens with line and column."""

from __future__ import annotations

from dataclasses import dataclass


class RuleSyntaxError(ValueError):
    """A rule that does not parse or type-check, with its 1-based line and column."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Token:
    kind: str  # ident, number, string, list, op, keyword, eof
    text: str
    line: int
    column: int
    value: object = None


KEYWORDS = {"and", "or", "not", "in", "null", "true", "false", "is"}
# Longest operators first, so "<=" wins over "<" and "in~" over "in".
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "(", ")", ",", ".", "[", "]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def tokenize(source: str) -> list[Token]:
    """Tokens of ``source``; ``//`` starts a comment that runs to the end of the line."""
    tokens: list[Token] = []
    i, line, line_start, n = 0, 1, 0, len(source)
    while i < n:
        ch = source[i]
        col = i - line_start + 1
        if ch == "\n":
            i, line, line_start = i + 1, line + 1, i + 1
        elif ch.isspace():
            i += 1
        elif source.startswith("//", i):
            while i < n and source[i] != "\n":
                i += 1
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            word = source[i:j]
            if word == "in" and j < n and source[j] == "~":
                tokens.append(Token("op", "in~", line, col))
                j += 1
            else:
                tokens.append(Token("keyword" if word in KEYWORDS else "ident", word, line, col))
            i = j
        elif ch == "$":
            j = i + 1
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            if j == i + 1:
                raise RuleSyntaxError("expected a list name after '$'", line, col)
            tokens.append(Token("list", source[i + 1 : j], line, col))
            i = j
        elif ch.isdigit() or (ch == "-" and i + 1 < n and source[i + 1].isdigit()):
            j = i + 1
            while j < n and (source[j].isdigit() or source[j] == "."):
                j += 1
            text = source[i:j]
            try:
                value = float(text)
            except ValueError:
                raise RuleSyntaxError(f"malformed number {text!r}", line, col) from None
            tokens.append(Token("number", text, line, col, value))
            i = j
        elif ch in "\"'":
            i, value = _string(source, i, line, col)
            tokens.append(Token("string", source[i - 1], line, col, value))
        else:
            for op in OPERATORS:
                if source.startswith(op, i):
                    tokens.append(Token("op", op, line, col))
                    i += len(op)
                    break
            else:
                raise RuleSyntaxError(f"unexpected character {ch!r}", line, col)
    tokens.append(Token("eof", "", line, i - line_start + 1))
    return tokens


def _string(source: str, start: int, line: int, col: int) -> tuple[int, str]:
    """Scan a quoted string; returns (index after the closing quote, value)."""
    quote, i, out = source[start], start + 1, []
    while i < len(source):
        ch = source[i]
        if ch == quote:
            return i + 1, "".join(out)
        if ch == "\n":
            break
        if ch == "\\" and i + 1 < len(source):
            nxt = source[i + 1]
            # Unknown escapes stay as written: regexes keep their backslashes ('\d', '\.').
            out.append(_ESCAPES[nxt] if nxt in _ESCAPES else "\\" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise RuleSyntaxError("unterminated string literal", line, col)
