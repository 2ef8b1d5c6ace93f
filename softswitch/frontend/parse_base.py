"""The parser's foundation: the operator table, token helpers and the scope stack.

The grammar rules live in mixins (:mod:`.parse_types`, :mod:`.parse_expr`, :mod:`.parse_stmt`,
:mod:`.parse_decl`, :mod:`.parse_blocks`) that :class:`.parser.Parser` assembles on this base.
"""

from __future__ import annotations

from .errors import CompileError
from .lexer import KEYWORDS, Token

#: Binary operators and their precedence (higher binds tighter); all are left-associative.
#: ``>>`` is two adjacent ``>`` tokens. The conditional ``?:`` is below all of these.
BINARY_PRECEDENCE: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "|": 5,
    "^": 6,
    "&": 7,
    "<<": 8,
    ">>": 8,
    "++": 9,
    "+": 9,
    "-": 9,
    "|+|": 9,
    "|-|": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}

# Keywords that may still be used as names (p4c's ``nonTypeName``), and ``list`` which may name
# fields and declarations but cannot start an expression.
_NONTYPE_KW = frozenset({"actions", "apply", "entries", "key", "priority", "state", "type"})
_NAME_KINDS = frozenset(_NONTYPE_KW | {"ID", "list"})
# Keywords that start a type.
_TYPE_KW = frozenset(
    {"bit", "int", "varbit", "bool", "error", "match_kind", "string", "tuple", "list"}
)
_ASSIGN_OPS = frozenset(
    {"=", "+=", "-=", "*=", "/=", "%=", "<<=", "&=", "|=", "^=", "|+|=", "|-|="}
)
_UNARY = frozenset({"!", "~", "-", "+"})
_DIRECTIONS = frozenset({"in", "out", "inout"})
_NOT_IN_PARSER = frozenset({"return", "exit", "switch", "for", "break", "continue", "EOF"})


def describe(tok: Token) -> str:
    """How an error message names a token."""
    k = tok.kind
    if k == "EOF":
        return "end of file"
    if k == "ID":
        return f'identifier "{tok.text}"'
    if k == "INT":
        return f"integer {tok.text}"
    if k == "STR":
        return f'string literal "{tok.text}"'
    if k == "ERR":
        return f'character "{tok.text}"'
    if k in KEYWORDS:
        return f'keyword "{k}"'
    return f'"{k}"'


class ParserBase:
    """Token cursor and scope stack shared by all grammar mixins."""

    def __init__(self, tokens: list[Token], scopes: list[dict[str, bool]] | None = None) -> None:
        self.toks = tokens
        self.i = 0
        # name -> True if it names a type in that scope, False if it names something else
        self.scopes: list[dict[str, bool]] = scopes if scopes is not None else [{}]

    # ------------------------------------------------------------------ tokens and scopes

    def fail(self, tok: Token, expecting: str | None = None) -> CompileError:
        """The error for an unexpected ``tok`` (raise it)."""
        msg = f"syntax error, unexpected {describe(tok)}"
        if expecting:
            msg += f", expecting {expecting}"
        return CompileError(tok.loc, msg)

    def expect(self, kind: str) -> Token:
        t = self.toks[self.i]
        if t.kind != kind:
            raise self.fail(t, f'"{kind}"' if kind not in ("ID", "INT", "STR") else kind)
        self.i += 1
        return t

    def accept(self, kind: str) -> Token | None:
        t = self.toks[self.i]
        if t.kind == kind:
            self.i += 1
            return t
        return None

    def name(self) -> Token:
        """A declared name: an identifier (type names included) or a contextual keyword."""
        t = self.toks[self.i]
        if t.kind in _NAME_KINDS:
            self.i += 1
            return t
        raise self.fail(t, "a name")

    def is_type(self, name: str) -> bool:
        for scope in reversed(self.scopes):
            r = scope.get(name)
            if r is not None:
                return r
        return False

    def declare(self, name: str, is_type: bool) -> None:
        self.scopes[-1][name] = is_type

    def push(self) -> None:
        self.scopes.append({})

    def pop(self) -> None:
        self.scopes.pop()

    def type_start(self, j: int) -> bool:
        """Whether a type begins at token ``j``."""
        t = self.toks[j]
        k = t.kind
        if k == "ID":
            return self.is_type(t.text)
        if k in _TYPE_KW:
            return True
        if k == ".":
            n = self.toks[j + 1]
            return n.kind == "ID" and self.scopes[0].get(n.text, False)
        return False
