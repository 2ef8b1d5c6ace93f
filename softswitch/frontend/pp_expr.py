"""The ``#if`` expression evaluator: C integer arithmetic over fully expanded tokens."""

from __future__ import annotations

import re

from .errors import CompileError, Loc
from .pp_tokens import _BLANK, _ID, _NUM, _OP

_TWO_CHAR_OPS = frozenset(("<<", ">>", "<=", ">=", "==", "!=", "&&", "||"))


def _join_operators(toks: list[tuple]) -> list[tuple[int, str]]:
    """Drop blanks and glue adjacent characters that form one C operator."""
    items: list[tuple[int, str]] = []
    glue = False
    for kind, text, _ in toks:
        if kind in _BLANK:
            glue = False
            continue
        if (
            glue
            and kind == _OP
            and items
            and items[-1][0] == _OP
            and items[-1][1] + text in _TWO_CHAR_OPS
        ):
            items[-1] = (_OP, items[-1][1] + text)
            glue = False
            continue
        items.append((kind, text))
        glue = kind == _OP
    return items


_MASK64 = (1 << 64) - 1
_INT_SUFFIXES = frozenset(("", "u", "l", "ul", "lu", "ll", "ull", "llu"))
_INT_RE = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)")
_BINARY_PREC = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8,
    "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}  # fmt: skip


def _signed(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


class _CondParser:
    """Evaluates a ``#if`` expression in 64-bit intmax_t/uintmax_t arithmetic, like cpp.

    Values are (int, unsigned) pairs. ``live`` is False in branches that short-circuiting skips,
    where division by zero is not an error."""

    def __init__(self, items: list[tuple[int, str]], loc: Loc):
        self.items = items
        self.i = 0
        self.loc = loc

    def error(self, message: str) -> CompileError:
        return CompileError(self.loc, message)

    def peek(self) -> str | None:
        return self.items[self.i][1] if self.i < len(self.items) else None

    def parse(self) -> int:
        value = self.comma(True)
        if self.i < len(self.items):
            raise self.error(f'missing binary operator before token "{self.items[self.i][1]}"')
        return value[0]

    def comma(self, live: bool) -> tuple[int, bool]:
        value = self.ternary(live)
        while self.peek() == ",":
            self.i += 1
            value = self.ternary(live)
        return value

    def ternary(self, live: bool) -> tuple[int, bool]:
        cond = self.binary(1, live)
        if self.peek() != "?":
            return cond
        self.i += 1
        yes = self.comma(live and cond[0] != 0)
        if self.peek() != ":":
            raise self.error("'?' without following ':'")
        self.i += 1
        no = self.ternary(live and cond[0] == 0)
        unsigned = yes[1] or no[1]
        chosen = yes if cond[0] else no
        return (chosen[0] & _MASK64 if unsigned else chosen[0], unsigned)

    def binary(self, min_prec: int, live: bool) -> tuple[int, bool]:
        left = self.unary(live)
        while True:
            op = self.peek()
            prec = _BINARY_PREC.get(op) if op is not None and self.items[self.i][0] == _OP else None
            if prec is None or prec < min_prec:
                return left
            self.i += 1
            if op == "&&":
                right = self.binary(prec + 1, live and left[0] != 0)
                left = (int(left[0] != 0 and right[0] != 0), False)
            elif op == "||":
                right = self.binary(prec + 1, live and left[0] == 0)
                left = (int(left[0] != 0 or right[0] != 0), False)
            else:
                right = self.binary(prec + 1, live)
                left = self.apply(op, left, right, live)

    def apply(self, op: str, a: tuple[int, bool], b: tuple[int, bool], live: bool):
        unsigned = a[1] or b[1]
        x, y = (a[0] & _MASK64, b[0] & _MASK64) if unsigned else (a[0], b[0])
        if op in ("<", "<=", ">", ">=", "==", "!="):
            result = {
                "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y
            }[op]  # fmt: skip
            return (int(result), False)
        if op in ("<<", ">>"):
            unsigned = a[1]
            x = a[0] & _MASK64 if unsigned else a[0]
            shift = b[0] if not b[1] else b[0] & _MASK64
            if shift < 0:
                op, shift = ("<<" if op == ">>" else ">>"), -shift
            if op == "<<":
                r = x << shift if shift < 64 else 0
            else:
                r = x >> min(shift, 64)
            return (r & _MASK64 if unsigned else _signed(r), unsigned)
        if op in ("/", "%"):
            if y == 0:
                if live:
                    raise self.error("division by zero in #if")
                return (0, unsigned)
            q = abs(x) // abs(y)
            if (x < 0) != (y < 0):
                q = -q
            r = q if op == "/" else x - q * y
        elif op == "*":
            r = x * y
        elif op == "+":
            r = x + y
        elif op == "-":
            r = x - y
        elif op == "&":
            r = x & y
        elif op == "|":
            r = x | y
        else:
            r = x ^ y
        return (r & _MASK64 if unsigned else _signed(r), unsigned)

    def unary(self, live: bool) -> tuple[int, bool]:
        if self.i >= len(self.items):
            raise self.error("#if expression ends unexpectedly")
        kind, text = self.items[self.i]
        if kind == _OP and text in ("!", "~", "-", "+"):
            self.i += 1
            v, u = self.unary(live)
            if text == "!":
                return (int(v == 0), False)
            if text == "~":
                return ((~v) & _MASK64 if u else _signed(~v), u)
            if text == "-":
                return ((-v) & _MASK64 if u else _signed(-v), u)
            return (v, u)
        if kind == _OP and text == "(":
            self.i += 1
            value = self.comma(live)
            if self.peek() != ")":
                raise self.error("missing ')' in expression")
            self.i += 1
            return value
        self.i += 1
        if kind == _NUM:
            return self.number(text)
        if kind == _ID:
            return (0, False)  # what remains after expansion is not a macro: it counts as 0
        raise self.error(f'token "{text}" is not valid in preprocessor expressions')

    def number(self, text: str) -> tuple[int, bool]:
        m = _INT_RE.fullmatch(text)
        if m is None:
            digits = re.match(r"(0[xX][0-9a-fA-F]*|0[bB][01]*|[0-9]*)", text).group()
            suffix = text[len(digits) :]
            if suffix and digits:
                raise self.error(f'invalid suffix "{suffix}" on integer constant')
            raise self.error(f'invalid integer constant "{text}" in #if')
        digits, suffix = m.groups()
        low = suffix.lower()
        if low not in _INT_SUFFIXES or "lL" in suffix or "Ll" in suffix:
            raise self.error(f'invalid suffix "{suffix}" on integer constant')
        if digits[:2] in ("0x", "0X"):
            value = int(digits[2:], 16)
        elif digits[:2] in ("0b", "0B"):
            value = int(digits[2:], 2)
        elif digits.startswith("0"):
            value = int(digits, 8)
        else:
            value = int(digits)
        if value > _MASK64:
            raise self.error("integer constant is too large for its type")
        unsigned = "u" in low or value >> 63 != 0
        return (value, unsigned)
