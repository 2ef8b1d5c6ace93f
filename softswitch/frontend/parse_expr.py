"""Grammar rules for expressions and keysets (mixed into :class:`.parser.Parser`).

Binary operators are parsed by precedence climbing over :data:`.parse_base.BINARY_PRECEDENCE`;
``&&&`` and ``..`` only appear at the top of a keyset and are handled there.
"""

from __future__ import annotations

from .ast import (
    Argument,
    Binary,
    BoolLit,
    Call,
    Cast,
    ConstructorCall,
    Default,
    DontCare,
    Dots,
    Expr,
    Index,
    IntLit,
    InvalidHeader,
    ListExpr,
    Mask,
    Member,
    NamedExpr,
    PathExpr,
    PlusSlice,
    Range,
    Slice,
    StringLit,
    StructExpr,
    Ternary,
    This,
    TypeExpr,
    Unary,
)
from .errors import CompileError
from .parse_base import _NAME_KINDS, _NONTYPE_KW, _TYPE_KW, _UNARY, BINARY_PRECEDENCE


class ExprParser:
    """Expressions, arguments, initializers and keysets."""

    # ------------------------------------------------------------------ expressions

    def expr(self, nogt: bool = False) -> Expr:
        """An expression. With ``nogt`` a top-level ``>`` (or ``>>``) ends it, as inside
        ``bit<...>``."""
        e = self.binary(1, nogt)
        toks = self.toks
        if toks[self.i].kind == "?":
            self.i += 1
            then = self.expr()
            self.expect(":")
            else_ = self.expr(nogt)
            return Ternary(e, then, else_, loc=e.loc)
        return e

    def binary(self, minprec: int, nogt: bool) -> Expr:
        left = self.unary()
        toks = self.toks
        prec_of = BINARY_PRECEDENCE
        while True:
            t = toks[self.i]
            op = t.kind
            prec = prec_of.get(op)
            if prec is None:
                return left
            width = 1
            if op == ">":
                if nogt:
                    return left
                if t.adj and toks[self.i + 1].kind == ">":
                    op = ">>"
                    prec = 8
                    width = 2
            if prec < minprec:
                return left
            self.i += width
            right = self.binary(prec + 1, nogt)
            left = Binary(op, left, right, loc=left.loc)

    def unary(self) -> Expr:
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k in _UNARY:
            self.i += 1
            return Unary(k, self.unary(), loc=t.loc)
        if k == "(" and self.type_start(self.i + 1):
            start = self.i
            self.i += 1
            try:
                ty = self.parse_type()
                ok = toks[self.i].kind == ")"
            except CompileError:
                ok = False
            if ok:
                self.i += 1
                return Cast(ty, self.unary(), loc=t.loc)
            self.i = start
        return self.postfix(self.primary())

    def primary(self) -> Expr:
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k == "ID":
            if self.is_type(t.text):
                return self.type_primary()
            self.i += 1
            return PathExpr(t.text, loc=t.loc)
        if k == "INT":
            self.i += 1
            v, w, s = t.value  # type: ignore[misc]
            return IntLit(v, w, s, t.text, loc=t.loc)
        if k == "(":
            self.i += 1
            e = self.expr()
            self.expect(")")
            return e
        if k == "STR":
            self.i += 1
            return StringLit(t.text, loc=t.loc)
        if k == "true" or k == "false":
            self.i += 1
            return BoolLit(k == "true", loc=t.loc)
        if k in _NONTYPE_KW:
            self.i += 1
            return PathExpr(t.text, loc=t.loc)
        if k == ".":
            n = toks[self.i + 1]
            if n.kind == "ID" and self.scopes[0].get(n.text, False):
                return self.type_primary()
            if n.kind in _NONTYPE_KW or n.kind == "ID":
                self.i += 2
                return PathExpr(n.text, True, loc=t.loc)
            raise self.fail(n, "a name")
        if k == "{":
            return self.brace_expr()
        if k == "this":
            self.i += 1
            return This(loc=t.loc)
        if k == "{#}":
            self.i += 1
            return InvalidHeader(loc=t.loc)
        if k == "...":
            self.i += 1
            return Dots(loc=t.loc)
        if k in _TYPE_KW:
            # ``error.X``, ``bit<8>.minSizeInBits()``: a type in expression position
            ty = self.parse_type(array=False)
            if toks[self.i].kind != ".":
                raise self.fail(toks[self.i], '"."')
            return TypeExpr(ty, loc=t.loc)
        raise self.fail(t, "an expression")

    def type_primary(self) -> Expr:
        """A named type in expression position: constructor call ``T(args)`` / ``T<A>(args)``,
        or the type itself (``T.minSizeInBits()``, ``E.A``)."""
        t = self.toks[self.i]
        ty = self.parse_type(array=False)
        k = self.toks[self.i].kind
        if k == "(":
            self.i += 1
            return ConstructorCall(ty, self.arguments(), loc=t.loc)
        if k != ".":
            raise self.fail(self.toks[self.i], '"("')
        return TypeExpr(ty, loc=t.loc)

    def postfix(self, e: Expr, lvalue: bool = False) -> Expr:
        """Member, index, slice and call suffixes. With ``lvalue`` (a statement's left side)
        nothing may follow a call, as in p4c's grammar."""
        toks = self.toks
        while True:
            t = toks[self.i]
            k = t.kind
            if k == ".":
                n = toks[self.i + 1]
                if n.kind not in _NAME_KINDS:
                    raise self.fail(n, "a member name")
                self.i += 2
                e = Member(e, n.text, loc=e.loc)
            elif k == "(":
                self.i += 1
                e = Call(e, [], self.arguments(), loc=e.loc)
                if lvalue:
                    return e
            elif k == "[":
                self.i += 1
                idx = self.expr()
                k2 = toks[self.i].kind
                if k2 == ":":
                    self.i += 1
                    lo = self.expr()
                    self.expect("]")
                    e = Slice(e, idx, lo, loc=e.loc)
                elif k2 == "+:":
                    self.i += 1
                    width = self.expr()
                    self.expect("]")
                    e = PlusSlice(e, idx, width, loc=e.loc)
                else:
                    self.expect("]")
                    e = Index(e, idx, loc=e.loc)
            elif k == "<" and (
                self.type_start(self.i + 1) or toks[self.i + 1].kind in ("void", "_")
            ):
                # ``f<T>(args)``, or else a comparison
                start = self.i
                try:
                    targs = self.type_args()
                    ok = toks[self.i].kind == "("
                except CompileError:
                    ok = False
                if not ok:
                    self.i = start
                    return e
                self.i += 1
                e = Call(e, targs, self.arguments(), loc=e.loc)
                if lvalue:
                    return e
            else:
                return e

    def arguments(self) -> list[Argument]:
        """Call arguments after the ``(``, through the ``)``."""
        toks = self.toks
        out: list[Argument] = []
        if toks[self.i].kind == ")":
            self.i += 1
            return out
        while True:
            t = toks[self.i]
            name = None
            if t.kind in _NAME_KINDS and toks[self.i + 1].kind == "=":
                self.i += 2
                name = t.text
            a = toks[self.i]
            if a.kind == "_" and toks[self.i + 1].kind in (",", ")"):
                self.i += 1
                out.append(Argument(DontCare(loc=a.loc), name, loc=t.loc))
            else:
                out.append(Argument(self.expr(), name, loc=t.loc))
            t = toks[self.i]
            if t.kind == ",":
                self.i += 1
                continue
            if t.kind == ")":
                self.i += 1
                return out
            raise self.fail(t, '"," or ")"')

    def brace_expr(self) -> Expr:
        """``{a, b}``, ``{f = a, ...}``, ``{}``, ``{x, ...}``."""
        toks = self.toks
        lb = self.expect("{")
        if toks[self.i].kind in _NAME_KINDS and toks[self.i + 1].kind == "=":
            fields: list[NamedExpr] = []
            dots = False
            while toks[self.i].kind != "}":
                if toks[self.i].kind == "...":
                    self.i += 1
                    dots = True
                    self.accept(",")
                    break
                n = self.name()
                self.expect("=")
                fields.append(NamedExpr(n.text, self.expr(), loc=n.loc))
                if not self.accept(","):
                    break
            self.expect("}")
            return StructExpr(fields, None, dots, loc=lb.loc)
        items = self.expression_list("}")
        self.expect("}")
        return ListExpr(items, loc=lb.loc)

    # ------------------------------------------------------------------ keysets

    def simple_keyset(self) -> Expr:
        toks = self.toks
        t = toks[self.i]
        if t.kind == "default":
            self.i += 1
            return Default(loc=t.loc)
        if t.kind == "_" and toks[self.i + 1].kind in (",", ")", ":"):
            self.i += 1
            return DontCare(loc=t.loc)
        e = self.expr()
        k = toks[self.i].kind
        if k == "&&&":
            self.i += 1
            return Mask(e, self.expr(), loc=e.loc)
        if k == "..":
            self.i += 1
            return Range(e, self.expr(), loc=e.loc)
        return e

    def keyset(self) -> Expr:
        """A select-case or entry keyset; a parenthesised tuple becomes a :class:`ListExpr`."""
        toks = self.toks
        t = toks[self.i]
        if t.kind != "(":
            return self.simple_keyset()
        start = self.i
        self.i += 1
        try:
            first = self.simple_keyset()
            k = toks[self.i].kind
        except CompileError:
            self.i = start
            return self.simple_keyset()
        if k == ",":
            items = [first]
            while self.accept(","):
                if toks[self.i].kind == ")":
                    break
                items.append(self.simple_keyset())
            self.expect(")")
            return ListExpr(items, loc=t.loc)
        if k == ")" and isinstance(first, (Mask, Range, Default, DontCare)):
            self.i += 1
            return ListExpr([first], loc=t.loc)
        # a parenthesised expression that starts a larger one: ``(a) &&& b``, ``(T) x``
        self.i = start
        return self.simple_keyset()
