"""A recursive-descent parser for P4_16 (spec 1.2.x, the language p4c accepts).

The parser works on the token list from :mod:`.lexer` with an index (``mark``/``reset`` is just
saving and restoring it) and keeps a scope stack that tells type names from other names, which
P4 needs for the same reason C does: ``T x;`` declares a variable when ``T`` names a type and is
an expression otherwise, ``(T) e`` is a cast only when ``T`` is a type. Names become types when
declared by ``typedef``/``type``/``struct``/``header``/``header_union``/``enum``/``extern``/
``parser``/``control``/``package`` or as type parameters (scoped to their declaration); any
variable, constant, parameter or instance declared in an inner scope hides a type of the same
name, as in p4c.

Binary operators are parsed by precedence climbing over one table, :data:`BINARY_PRECEDENCE`
(p4c's table: note that ``&``, ``^`` and ``|`` bind tighter than the comparisons, and ``++``
binds like ``+``). ``&&&`` and ``..`` are not expression operators: they only appear at the top
of a keyset and are handled there.

Entry points: :func:`parse_text`, :func:`parse_file`, :func:`parse_expression`. Every syntax
error is a :class:`~.errors.CompileError` located at the offending token.
"""

from __future__ import annotations

import gc
import sys

from . import ast
from .ast import Expr, Node
from .errors import CompileError, Loc, register_source
from .lexer import tokenize
from .parse_base import BINARY_PRECEDENCE, ParserBase, describe
from .parse_blocks import BlockParser
from .parse_decl import DeclParser
from .parse_expr import ExprParser
from .parse_stmt import StmtParser
from .parse_types import TypeParser

# Deeply nested input is legal but must not crash Python; beyond this it is a CompileError.
_RECURSION_LIMIT = 12000

__all__ = [
    "BINARY_PRECEDENCE",
    "Parser",
    "describe",
    "parse_expression",
    "parse_file",
    "parse_text",
]


class Parser(DeclParser, BlockParser, StmtParser, ExprParser, TypeParser, ParserBase):
    """Parses one token list. Use :func:`parse_text`; the methods are the grammar's rules."""

    def program(self, filename: str) -> ast.Program:
        decls: list[Node] = []
        toks = self.toks
        while toks[self.i].kind != "EOF":
            d = self.declaration()
            if d is None:
                continue
            if isinstance(d, list):
                decls.extend(d)
            else:
                decls.append(d)
        return ast.Program(decls, loc=Loc(filename, 1, 1))


# ---------------------------------------------------------------------- entry points


def _run(p: Parser, rule: str, *args: object) -> object:
    old = sys.getrecursionlimit()
    if old < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        return getattr(p, rule)(*args)
    except RecursionError:
        t = p.toks[min(p.i, len(p.toks) - 1)]
        raise CompileError(t.loc, "program is nested too deeply to parse") from None
    except IndexError:
        # only reachable by looking past the end of the tokens: the input ended early
        t = p.toks[-1]
        raise CompileError(t.loc, "syntax error, unexpected end of file") from None
    finally:
        if old < _RECURSION_LIMIT:
            sys.setrecursionlimit(old)


def parse_text(text: str, filename: str) -> ast.Program:
    """Parse preprocessed P4_16 source (line markers allowed) into a :class:`ast.Program`.

    ``filename`` names the text in locations until a line marker says otherwise. Raises
    :class:`CompileError` on the first syntax error.
    """
    if "\n#" not in text and not text.startswith("#"):
        # no line markers: diagnostics can quote this text directly
        register_source(filename, text)
    # The tree is acyclic: the cyclic collector would only rescan the growing heap.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(Parser(tokenize(text, filename)), "program", filename)  # type: ignore[return-value]
    finally:
        if gc_was_enabled:
            gc.enable()


def parse_file(path: str) -> ast.Program:
    """Read and parse the (already preprocessed, or directive-free) P4 file at ``path``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        raise CompileError(None, f"cannot read {path}: {exc.strerror}") from None
    return parse_text(text, path)


def parse_expression(text: str, filename: str = "<expr>", types: tuple[str, ...] = ()) -> Expr:
    """Parse one expression (tests and tools); ``types`` names identifiers to treat as types."""
    p = Parser(tokenize(text, filename), [dict.fromkeys(types, True)])
    e = _run(p, "expr")
    if p.toks[p.i].kind != "EOF":
        raise p.fail(p.toks[p.i], "end of expression")
    return e  # type: ignore[return-value]
