"""Grammar rules for annotations and types (mixed into :class:`.parser.Parser`)."""

from __future__ import annotations

from .ast import (
    Annotation,
    Expr,
    KeyValue,
    Type,
    TypeBits,
    TypeBool,
    TypeDontCare,
    TypeErrorT,
    TypeInfInt,
    TypeList,
    TypeMatchKind,
    TypeName,
    TypeParam,
    TypeSpecialized,
    TypeStack,
    TypeString,
    TypeTuple,
    TypeVarbit,
    TypeVoid,
)
from .errors import CompileError
from .lexer import KEYWORDS, Token
from .parse_base import _NAME_KINDS, _NONTYPE_KW


class TypeParser:
    """Annotations, their bodies, types, type arguments and type parameters."""

    # ------------------------------------------------------------------ annotations

    def annotations(self) -> list[Annotation]:
        out: list[Annotation] = []
        toks = self.toks
        while toks[self.i].kind == "@":
            out.append(self.annotation())
        return out

    def annotation(self) -> Annotation:
        toks = self.toks
        at = toks[self.i]
        n = toks[self.i + 1]
        if not (n.kind == "ID" or n.kind in KEYWORDS):
            raise self.fail(n, "an annotation name")
        self.i += 2
        if n.text == "pragma" and n.kind == "ID":
            # ``@pragma name tokens...`` up to the end of the line
            pn = toks[self.i]
            if pn.nl or not (pn.kind == "ID" or pn.kind in KEYWORDS):
                raise self.fail(pn, "an annotation name")
            self.i += 1
            start = self.i
            while not toks[self.i].nl and toks[self.i].kind != "EOF":
                self.i += 1
            body_toks = toks[start : self.i]
            a = Annotation(
                pn.text, " ".join(t.spelling() for t in body_toks), pragma=True, loc=at.loc
            )
            self.parse_annotation_body(a, body_toks)
            return a
        t = toks[self.i]
        if t.kind == "(":
            depth = 0
            j = self.i + 1
            while True:
                k = toks[j].kind
                if k == "(":
                    depth += 1
                elif k == ")":
                    if depth == 0:
                        break
                    depth -= 1
                elif k == "EOF":
                    raise CompileError(t.loc, 'unterminated annotation body (missing ")")')
                j += 1
            body_toks = toks[self.i + 1 : j]
            self.i = j + 1
            a = Annotation(n.text, " ".join(t.spelling() for t in body_toks), loc=at.loc)
            self.parse_annotation_body(a, body_toks)
            return a
        if t.kind == "[":
            self.i += 1
            a = Annotation(n.text, structured=True, loc=at.loc)
            if toks[self.i].kind in _NAME_KINDS and toks[self.i + 1].kind == "=":
                a.kvs = self.kv_list("]")
            else:
                a.exprs = self.expression_list("]")
            self.expect("]")
            return a
        return Annotation(n.text, loc=at.loc)

    def parse_annotation_body(self, a: Annotation, body: list[Token]) -> None:
        """Fill ``exprs`` (or ``kvs``) when an unstructured body parses as an expression list
        (or a ``k=v`` list), as p4c does for the annotations it knows."""
        if not body:
            a.exprs = []
            return
        last = body[-1]
        sub = type(self)(body + [Token("EOF", "", last.loc)], self.scopes)
        depth = len(self.scopes)
        try:
            if body[0].kind in _NAME_KINDS and len(body) > 1 and body[1].kind == "=":
                kvs = sub.kv_list("EOF")
                if sub.toks[sub.i].kind == "EOF":
                    a.kvs = kvs
                return
            exprs = sub.expression_list("EOF")
            if sub.toks[sub.i].kind == "EOF":
                a.exprs = exprs
        except CompileError:
            pass
        finally:
            del self.scopes[depth:]

    def kv_list(self, close: str) -> list[KeyValue]:
        toks = self.toks
        out: list[KeyValue] = []
        while toks[self.i].kind != close:
            k = self.name()
            self.expect("=")
            out.append(KeyValue(k.text, self.expr(), loc=k.loc))
            if not self.accept(","):
                break
        return out

    def expression_list(self, close: str) -> list[Expr]:
        """Comma-separated expressions up to (not including) ``close``; a trailing comma is
        allowed."""
        toks = self.toks
        out: list[Expr] = []
        while toks[self.i].kind != close:
            out.append(self.expr())
            if not self.accept(","):
                break
        return out

    # ------------------------------------------------------------------ types

    def parse_type(self, array: bool = True) -> Type:
        """A type reference. Any identifier is accepted as a type name here: in a position
        that can only hold a type there is nothing to disambiguate."""
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        self.i += 1
        if k == "ID":
            ty: Type = TypeName(t.text, loc=t.loc)
            if toks[self.i].kind == "<":
                ty = TypeSpecialized(ty, self.type_args(), loc=t.loc)
        elif k == "bit" or k == "int":
            if toks[self.i].kind == "<":
                self.i += 1
                w = self.expr(nogt=True)
                self.expect(">")
                ty = TypeBits(w, k == "int", loc=t.loc)
            elif k == "bit":
                ty = TypeBits(None, False, 1, loc=t.loc)
            else:
                ty = TypeInfInt(loc=t.loc)
        elif k == "bool":
            ty = TypeBool(loc=t.loc)
        elif k == "error":
            ty = TypeErrorT(loc=t.loc)
        elif k == "varbit":
            self.expect("<")
            w = self.expr(nogt=True)
            self.expect(">")
            ty = TypeVarbit(w, loc=t.loc)
        elif k == "string":
            ty = TypeString(loc=t.loc)
        elif k == "match_kind":
            ty = TypeMatchKind(loc=t.loc)
        elif k == "tuple":
            ty = TypeTuple(self.type_args(), loc=t.loc)
        elif k == "list":
            args = self.type_args()
            if len(args) != 1:
                raise CompileError(t.loc, "list<T> takes exactly one type argument")
            ty = TypeList(args[0], loc=t.loc)
        elif k == "." and toks[self.i].kind == "ID":
            n = toks[self.i]
            self.i += 1
            ty = TypeName(n.text, True, loc=t.loc)
            if toks[self.i].kind == "<":
                ty = TypeSpecialized(ty, self.type_args(), loc=t.loc)
        else:
            self.i -= 1
            raise self.fail(t, "a type")
        if array:
            while toks[self.i].kind == "[":
                self.i += 1
                size = self.expr()
                self.expect("]")
                ty = TypeStack(ty, size, loc=t.loc)
        return ty

    def type_or_void(self) -> Type:
        t = self.toks[self.i]
        if t.kind == "void":
            self.i += 1
            return TypeVoid(loc=t.loc)
        return self.parse_type()

    def type_arg(self) -> Type:
        t = self.toks[self.i]
        k = t.kind
        if k == "_":
            self.i += 1
            return TypeDontCare(loc=t.loc)
        if k == "void":
            self.i += 1
            return TypeVoid(loc=t.loc)
        if k in _NONTYPE_KW:
            self.i += 1
            return TypeName(t.text, loc=t.loc)
        return self.parse_type()

    def type_args(self) -> list[Type]:
        """``<T, ...>`` (the ``<`` is the current token)."""
        self.expect("<")
        toks = self.toks
        args: list[Type] = []
        if toks[self.i].kind != ">":
            while True:
                args.append(self.type_arg())
                if not self.accept(","):
                    break
        self.expect(">")
        return args

    def type_params(self) -> list[TypeParam]:
        """Optional ``<A, B>``; declares the names as types in the current scope."""
        if self.toks[self.i].kind != "<":
            return []
        self.i += 1
        out: list[TypeParam] = []
        while True:
            n = self.name()
            self.declare(n.text, True)
            out.append(TypeParam(n.text, loc=n.loc))
            if not self.accept(","):
                break
        self.expect(">")
        return out

    def declarator(self, ty: Type) -> Type:
        """C-style array suffixes after a declared name: ``bit<8> a[4]``."""
        toks = self.toks
        while toks[self.i].kind == "[":
            t = toks[self.i]
            self.i += 1
            size = self.expr()
            self.expect("]")
            ty = TypeStack(ty, size, loc=t.loc)
        return ty
