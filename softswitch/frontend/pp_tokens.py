"""Preprocessing tokens: their kinds, the lexer and the helpers that join and render them.

Tokens are ``(kind, text, hideset)`` tuples: cheap to build and compare.
"""

from __future__ import annotations

import re

# Token kinds. Tokens are (kind, text, hideset) tuples: cheap to build and compare.
_NL, _WS, _ID, _NUM, _STR, _OP, _PAD, _PLACE, _RNL = range(9)
_SPACE = (_WS, " ", None)
# PAD marks where a macro expansion begins or ends, so output can avoid accidental pasting.
_PADTOK = (_PAD, "", None)
# A newline swallowed by a multi-line macro call, put back after the expansion.
_RNLTOK = (_RNL, "\n", None)
_PLACETOK = (_PLACE, "", None)
_BLANK = frozenset((_WS, _NL, _RNL, _PAD))

# pp-numbers follow C (``1e+5`` is one token) so that identifiers inside ``8w0xFF`` are not macros.
_PPNUM = r"\.?[0-9](?:[eEpP][+-]|[\w.])*"
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
# cpp in assembler mode still lexes a well-formed one-line '...' as a character constant.
_CHAR = r"'(?:[^'\\\n]|\\.)*'"
_TOKEN_RE = re.compile(
    r"(\n)|([ \t\r\f\v]+)|([A-Za-z_]\w*)|(" + _PPNUM + ")|(" + _STRING + "|" + _CHAR
    + r")|(##|\.\.\.|.)",
    re.S | re.A,
)
_KIND_OF_GROUP = (None, _NL, _WS, _ID, _NUM, _STR, _OP)
_IDENT_RE = re.compile(r"[A-Za-z_]\w*", re.A)
_SPACES_RE = re.compile(r"[ \t\r\f\v\n]*")


# The rest of a macro call's argument list after "(" (nesting one level deep), so the common call
# is read with one match; anything harder falls back to reading token by token. Each alternative
# starts with a different character, so a failing match cannot backtrack exponentially.
_ARGS_TAIL_RE = re.compile(
    r"(?:[^()\"]|" + _STRING + r"|\((?:[^()\"]|" + _STRING + r")*\))*\)", re.S
)

_PASTE_OPS = frozenset("+-*/%<>=!&|^.:#")


def _tokenize(text: str) -> list[tuple]:
    return [(_KIND_OF_GROUP[m.lastindex], m.group(), None) for m in _TOKEN_RE.finditer(text)]


def _strip_blank(toks: list[tuple]) -> list[tuple]:
    a, b = 0, len(toks)
    while a < b and toks[a][0] in _BLANK:
        a += 1
    while b > a and toks[b - 1][0] in _BLANK:
        b -= 1
    return toks[a:b]


def _next_nonblank(toks: list[tuple], i: int) -> int:
    while i < len(toks) and toks[i][0] in _BLANK:
        i += 1
    return i


def _stringize(arg: list[tuple]) -> tuple:
    parts: list[str] = []
    for kind, text, _ in arg:
        if kind in _BLANK:
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif kind == _STR:
            parts.append(text.replace("\\", "\\\\").replace('"', '\\"'))
        elif kind != _PLACE:
            parts.append(text)
    return (_STR, '"' + "".join(parts).strip() + '"', None)


def _paste(lhs: tuple, rhs: tuple) -> list[tuple]:
    # In assembler mode cpp accepts a paste that does not form one token (the pieces just sit
    # side by side), so the joined text is simply re-read as tokens.
    return _tokenize(lhs[1] + rhs[1])


def _would_paste(a: str, b: str) -> bool:
    if a.isalnum() or a == "_":
        return b.isalnum() or b == "_"
    return a in _PASTE_OPS and b in _PASTE_OPS


class _Source:
    """The rest of a text chunk, read one token at a time when a macro call needs it."""

    __slots__ = ("text", "pos", "line")

    def __init__(self, text: str, pos: int, line: int):
        self.text = text
        self.pos = pos
        self.line = line

    def next(self) -> tuple | None:
        if self.pos >= len(self.text):
            return None
        m = _TOKEN_RE.match(self.text, self.pos)
        self.pos = m.end()
        kind = _KIND_OF_GROUP[m.lastindex]
        if kind == _NL:
            self.line += 1
        return (kind, m.group(), None)



def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'




def _render(toks: list[tuple], prev: str) -> tuple[str, bool]:
    """Token texts joined, with a space where an expansion boundary would paste two tokens.

    Returns the text and whether it ends at an expansion boundary."""
    if len(toks) > 1 and toks[0] is _PADTOK and toks[-1] is _PADTOK:
        inner = toks[1:-1]
        if _PADTOK not in inner:
            # One expansion with no boundaries inside: the common case.
            text = "".join([t[1] for t in inner])
            if text and prev and _would_paste(prev, text[0]):
                text = " " + text
            return text, True
    parts: list[str] = []
    pad = False
    for kind, text, _ in toks:
        if kind == _PAD:
            pad = True
            continue
        if not text:
            continue
        if pad and kind != _WS and kind != _NL and kind != _RNL and prev and _would_paste(
            prev, text[0]
        ):
            parts.append(" ")
        pad = False
        parts.append(text)
        prev = text[-1]
    return "".join(parts), pad
