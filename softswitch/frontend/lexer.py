"""The P4_16 tokenizer.

Input is preprocessed text: GCC-style line markers (``# 12 "file.p4" 1``, ``#line 12 "file.p4"``)
say which file and line the next line comes from, so every token's :class:`~.errors.Loc` names
the original source. Other lines starting with ``#`` (``#pragma`` left by a preprocessor) are
skipped, as p4c skips them.

The whole tokenizer is one compiled regular expression run with ``finditer``; the loop only
dispatches on the matched group. Two P4 quirks live here:

* ``>>`` is never one token. ``>`` is lexed alone and :attr:`Token.adj` records whether another
  ``>`` follows immediately, so the parser can read ``a >> b`` as a shift but ``bit<bit<8>>``
  as two closing angle brackets.
* Integer literals keep their value, width and signedness (``8w0xFF``, ``4s3``, ``0b1010``,
  ``1_000``); the spelling stays in :attr:`Token.text`.

String literals keep their text exactly as written between the quotes (escapes are not
decoded), which is what p4c stores and prints back into P4Info annotations.
"""

from __future__ import annotations

import re

from .errors import CompileError, Loc

# Reserved words of P4_16 (spec 1.2.x and what p4c's lexer reserves). ``_`` is the don't-care.
KEYWORDS: frozenset[str] = frozenset(
    """abstract action actions apply bool bit break const continue control default else entries
    enum error exit extern false for header header_union if in inout int key list match_kind
    out package parser priority return select state string struct switch table this transition
    true tuple type typedef varbit value_set void _""".split()
)

# Operators and punctuation, longest first so the alternation picks the longest spelling.
# ``>>`` and ``>>=`` are deliberately absent (see the module docstring).
OPERATORS: tuple[str, ...] = (
    "|+|=", "|-|=",
    "&&&", "...", "<<=", "|+|", "|-|", "{#}",
    "&&", "||", "==", "!=", ">=", "<=", "++", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "<<", "..", "+:",
    "+", "-", "*", "/", "%", "|", "&", "^", "~", "(", ")", "[", "]", "{", "}", "<", ">", "!",
    ":", ",", "?", ".", "=", ";", "@",
)  # fmt: skip

_INT = (
    r"(?:[0-9]+[ws])?"
    r"(?:0[xX][0-9a-fA-F_]+|0[dD][0-9_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)"
)

_MASTER = re.compile(
    "|".join(
        [
            r"(?P<hash>^[ \t]*\#[^\n]*)",
            # blank space, stopping at the start of a ``#`` line (indented or not) so that the
            # ``hash`` alternative sees it at ``^``
            r"(?P<ws>(?=[ \t\r\f\v\n])[ \t\r\f\v]*(?:\n(?![ \t]*\#)[ \t\r\f\v]*)*\n?)",
            r"(?P<id>[A-Za-z_][A-Za-z0-9_]*)",
            r"(?P<lc>//[^\n]*)",
            r"(?P<bc>/\*(?:[^*]|\*+[^*/])*\*+/)",
            r"(?P<ubc>/\*)",
            rf"(?P<int>{_INT})",
            r'(?P<str>"(?:[^"\\]|\\.)*")',
            r'(?P<ustr>")',
            "(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + ")",
            r"(?P<bad>.)",
        ]
    ),
    re.DOTALL | re.MULTILINE,
)

_LINE_MARKER = re.compile(r'#\s*(?:line\s+)?([0-9]+)(?:\s+"((?:[^"\\]|\\.)*)")?')

_BASES = {"x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2, "d": 10, "D": 10}


class Token:
    """One token.

    ``kind`` is the keyword or operator spelling itself (``"control"``, ``"&&&"``), or one of
    ``ID`` (identifier), ``INT``, ``STR``, ``ERR`` (a character no token starts with) and ``EOF``.
    ``text`` is the exact spelling (for ``STR``, the characters between the quotes). ``value``
    holds ``(value, width, signed)`` for ``INT``. ``adj`` is True on a ``>`` immediately followed
    by another ``>``. ``nl`` is True when a line break separates the token from the previous
    one (it ends an ``@pragma`` line).
    """

    __slots__ = ("kind", "text", "loc", "value", "adj", "nl")

    def __init__(
        self,
        kind: str,
        text: str,
        loc: Loc,
        value: tuple[int, int | None, bool] | None = None,
        adj: bool = False,
        nl: bool = False,
    ) -> None:
        self.kind = kind
        self.text = text
        self.loc = loc
        self.value = value
        self.adj = adj
        self.nl = nl

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.loc})"

    def spelling(self) -> str:
        """The token as it appears in source (string literals with their quotes)."""
        if self.kind == "STR":
            return '"' + self.text + '"'
        return self.text


def int_value(text: str) -> tuple[int, int | None, bool]:
    """``(value, width, signed)`` of an integer literal's spelling, e.g. ``8w0xFF``."""
    width: int | None = None
    signed = False
    body = text
    for i, ch in enumerate(text):
        if ch == "w" or ch == "s":
            width = int(text[:i])
            signed = ch == "s"
            body = text[i + 1 :]
            break
    body = body.replace("_", "")
    if len(body) > 1 and body[0] == "0" and body[1] in _BASES:
        digits = body[2:]
        value = int(digits, _BASES[body[1]]) if digits else 0
    else:
        value = int(body, 10) if body else 0
    return value, width, signed


def tokenize(text: str, filename: str) -> list[Token]:
    """Split preprocessed P4 source into tokens, ending with one ``EOF`` token.

    Raises :class:`CompileError` for an unterminated comment or string literal. A character that
    starts no token becomes an ``ERR`` token (p4c accepts such characters inside annotation
    bodies); the parser reports it anywhere else.
    """
    tokens: list[Token] = []
    append = tokens.append
    file = filename
    line = 1
    line_start = 0
    nl = False
    keywords = KEYWORDS
    for m in _MASTER.finditer(text):
        group = m.lastgroup
        s = m.group()
        if group == "ws" or group == "bc":
            if "\n" in s:
                line += s.count("\n")
                line_start = m.start() + s.rindex("\n") + 1
                nl = True
            continue
        if group == "lc":
            continue
        if group == "hash":
            marker = _LINE_MARKER.match(s.lstrip())
            if marker:
                # the marker names the line that follows it
                line = int(marker.group(1)) - 1
                if marker.group(2) is not None:
                    file = marker.group(2)
            continue
        start = m.start()
        loc = Loc(file, line, start - line_start + 1)
        if group == "id":
            append(Token(s if s in keywords else "ID", s, loc, None, False, nl))
        elif group == "op":
            # ``adj``: a ">" with another ">" right after it (``>>`` or ``>>=``)
            append(Token(s, s, loc, None, s == ">" and text.startswith(">", m.end()), nl))
        elif group == "int":
            append(Token("INT", s, loc, int_value(s), False, nl))
        elif group == "str":
            append(Token("STR", s[1:-1], loc, None, False, nl))
            if "\n" in s:
                line += s.count("\n")
                line_start = start + s.rindex("\n") + 1
        elif group == "ubc":
            raise CompileError(loc, "unterminated comment")
        elif group == "ustr":
            raise CompileError(loc, "unterminated string literal")
        else:  # bad
            append(Token("ERR", s, loc, None, False, nl))
        nl = False
    append(Token("EOF", "", Loc(file, line, len(text) - line_start + 1), None, False, nl))
    return tokens
