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
from .ast import (
    ActionDecl,
    ActionRef,
    Annotation,
    Argument,
    AssignStmt,
    Binary,
    BlockStmt,
    BoolLit,
    BreakStmt,
    Call,
    CallStmt,
    Cast,
    ConstDecl,
    ConstructorCall,
    ContinueStmt,
    ControlDecl,
    ControlTypeDecl,
    Default,
    DontCare,
    Dots,
    EmptyStmt,
    Entry,
    EnumDecl,
    EnumMember,
    ErrorDecl,
    ExitStmt,
    Expr,
    ExternDecl,
    ExternFunctionDecl,
    ForInStmt,
    ForStmt,
    FunctionDecl,
    IfStmt,
    Index,
    Instantiation,
    IntLit,
    InvalidHeader,
    KeyElement,
    KeyValue,
    ListExpr,
    Mask,
    MatchKindDecl,
    Member,
    MethodDecl,
    NamedExpr,
    Node,
    PackageTypeDecl,
    Parameter,
    ParserDecl,
    ParserState,
    ParserTypeDecl,
    PathExpr,
    PlusSlice,
    Range,
    ReturnStmt,
    SelectCase,
    SelectExpr,
    Slice,
    Stmt,
    StringLit,
    StructDecl,
    StructExpr,
    StructField,
    SwitchCase,
    SwitchStmt,
    TableDecl,
    TableProperty,
    Ternary,
    This,
    Type,
    TypeBits,
    TypeBool,
    TypedefDecl,
    TypeDontCare,
    TypeErrorT,
    TypeExpr,
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
    Unary,
    ValueSetDecl,
    VarDecl,
)
from .errors import CompileError, Loc, register_source
from .lexer import KEYWORDS, Token, tokenize

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

# Deeply nested input is legal but must not crash Python; beyond this it is a CompileError.
_RECURSION_LIMIT = 12000


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


class Parser:
    """Parses one token list. Use :func:`parse_text`; the methods are the grammar's rules."""

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

    # ------------------------------------------------------------------ program

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

    def declaration(self) -> Node | list[Node] | None:
        toks = self.toks
        annos = self.annotations() if toks[self.i].kind == "@" else []
        t = toks[self.i]
        k = t.kind
        if k == "ID" or k == "." or k == "void" or k in _TYPE_KW:
            if k == "error" and toks[self.i + 1].kind == "{":
                return self.error_decl(annos)
            if k == "match_kind" and toks[self.i + 1].kind == "{":
                return self.match_kind_decl(annos)
            if (
                k == "ID"
                and not self.is_type(t.text)
                and toks[self.i + 1].kind in _NAME_KINDS
                and toks[self.i + 2].kind in ("<", "(")
            ):
                # ``T f<T>(...)``: a return type naming a type parameter declared after it
                self.i += 1
                return self.function_rest(TypeName(t.text, loc=t.loc), annos)
            return self.type_led_declaration(annos)
        if k == "const":
            return self.const_decl(annos)
        if k == "action":
            return self.action_decl(annos)
        if k == "control":
            return self.control_decl(annos)
        if k == "parser":
            return self.parser_decl(annos)
        if k == "struct" or k == "header" or k == "header_union":
            return self.struct_decl(annos)
        if k == "extern":
            return self.extern_decl(annos)
        if k == "typedef" or k == "type":
            return self.typedef_decl(annos)
        if k == "enum":
            return self.enum_decl(annos)
        if k == "package":
            return self.package_decl(annos)
        if k == ";" and not annos:
            self.i += 1
            return None
        raise self.fail(t, "a declaration")

    def type_led_declaration(self, annos: list[Annotation]) -> Node:
        """``T(args) name ...;`` (instantiation) or ``T name(params) {...}`` (function)."""
        rtype = self.type_or_void()
        if self.toks[self.i].kind == "(":
            return self.instantiation_rest(rtype, annos)
        return self.function_rest(rtype, annos)

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
        sub = Parser(body + [Token("EOF", "", last.loc)], self.scopes)
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

    # ------------------------------------------------------------------ statements

    def statement(self) -> Node:
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k == "ID":
            if toks[self.i + 1].kind != "." and self.is_type(t.text):
                return self.local_decl([])
            return self.simple_statement()
        if k == "{":
            return self.block([])
        if k == "if":
            self.i += 1
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            then = self.statement()
            else_ = None
            if toks[self.i].kind == "else":
                self.i += 1
                else_ = self.statement()
            return IfStmt(cond, then, else_, loc=t.loc)  # type: ignore[arg-type]
        if k == "return":
            self.i += 1
            if toks[self.i].kind == ";":
                self.i += 1
                return ReturnStmt(None, loc=t.loc)
            e = self.expr()
            self.expect(";")
            return ReturnStmt(e, loc=t.loc)
        if k == ";":
            self.i += 1
            return EmptyStmt(loc=t.loc)
        if k == "@":
            annos = self.annotations()
            k = toks[self.i].kind
            if k == "{":
                return self.block(annos)
            if k == "for":
                return self.for_stmt(annos)
            return self.local_decl(annos)
        if k == "switch":
            return self.switch_stmt()
        if k == "exit" or k == "break" or k == "continue":
            self.i += 1
            self.expect(";")
            cls = {"exit": ExitStmt, "break": BreakStmt, "continue": ContinueStmt}[k]
            return cls(loc=t.loc)
        if k == "for":
            return self.for_stmt([])
        if k == "const":
            return self.const_decl([])
        if k in _TYPE_KW or (k == "." and self.type_start(self.i)):
            return self.local_decl([])
        return self.simple_statement()

    def parser_statement(self) -> Node:
        """A statement directly in a parser state or parser block: no ``return``, ``exit``,
        ``switch``, loops (p4c's ``parserStatement``; an ``if`` branch may hold any)."""
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k in _NOT_IN_PARSER:
            raise self.fail(t, '"}" or "transition"' if k == "EOF" else None)
        if k == "{" or (k == "@" and self._annotated_block()):
            annos = self.annotations()
            lb = self.expect("{")
            self.push()
            stmts: list[Node] = []
            while toks[self.i].kind != "}":
                stmts.append(self.parser_statement())
            self.i += 1
            self.pop()
            return BlockStmt(stmts, annos, loc=lb.loc)
        return self.statement()

    def _annotated_block(self) -> bool:
        j = self.i
        toks = self.toks
        last = len(toks) - 1
        while toks[j].kind == "@":
            j = min(j + 2, last)
            if toks[j].kind in ("(", "["):
                depth = 0
                while True:
                    k = toks[j].kind
                    if k in ("(", "["):
                        depth += 1
                    elif k in (")", "]"):
                        depth -= 1
                        if depth == 0:
                            break
                    elif k == "EOF":
                        return False
                    j += 1
                j += 1
        return toks[j].kind == "{"

    def simple_statement(self, semi: bool = True) -> Stmt:
        """An assignment or a method call (``lvalue = e;``, ``f(args);``)."""
        toks = self.toks
        first = toks[self.i]
        lhs = self.postfix(self.primary(), True)
        t = toks[self.i]
        k = t.kind
        if k in _ASSIGN_OPS:
            self.i += 1
            st: Stmt = AssignStmt(lhs, self.expr(), k, loc=first.loc)
        elif k == ">" and t.adj and toks[self.i + 1].kind == ">=":
            self.i += 2
            st = AssignStmt(lhs, self.expr(), ">>=", loc=first.loc)
        elif isinstance(lhs, (Call, ConstructorCall)):
            st = CallStmt(lhs, loc=first.loc)
            if semi and k != ";":
                raise self.fail(t, '";"')
        else:
            if isinstance(lhs, PathExpr) and k in _NAME_KINDS:
                # ``foo_t x;`` with foo_t never declared as a type
                raise CompileError(
                    t.loc,
                    f"syntax error, unexpected {describe(t)}: "
                    f'"{lhs.name}" is not a type declared before this point',
                )
            raise self.fail(t, '"=" or "("')
        if semi:
            self.expect(";")
        return st

    def block(self, annos: list[Annotation]) -> BlockStmt:
        toks = self.toks
        lb = self.expect("{")
        self.push()
        stmts: list[Node] = []
        statement = self.statement
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            stmts.append(statement())
        self.i += 1
        self.pop()
        return BlockStmt(stmts, annos, loc=lb.loc)

    def local_decl(self, annos: list[Annotation], semi: bool = True) -> Node:
        """A variable declaration, constant or instantiation inside a block, parser or
        control."""
        toks = self.toks
        if toks[self.i].kind == "const":
            return self.const_decl(annos)
        start = self.i
        ty = self.parse_type()
        k = toks[self.i].kind
        if k == "(":
            return self.instantiation_rest(ty, annos)
        if k == "." and not annos and semi:
            # ``T<A>.apply(...)``: a statement on a (specialized) type, not a declaration
            self.i = start
            return self.simple_statement()
        n = self.name()
        ty = self.declarator(ty)
        init = None
        if toks[self.i].kind == "=":
            self.i += 1
            init = self.expr()
        if semi:
            self.expect(";")
        self.declare(n.text, False)
        return VarDecl(ty, n.text, init, annos, loc=n.loc)

    def switch_stmt(self) -> SwitchStmt:
        toks = self.toks
        t = self.expect("switch")
        self.expect("(")
        e = self.expr()
        self.expect(")")
        self.expect("{")
        cases: list[SwitchCase] = []
        while toks[self.i].kind != "}":
            lt = toks[self.i]
            if lt.kind == "default":
                self.i += 1
                label: Expr = Default(loc=lt.loc)
            elif lt.kind == "{" or lt.kind == "EOF":
                raise self.fail(lt, "a switch label")
            else:
                label = self.expr()
            self.expect(":")
            body = None
            k = toks[self.i].kind
            if k == "{" or k == "@":
                body = self.block(self.annotations())
            cases.append(SwitchCase(label, body, loc=lt.loc))
        self.i += 1
        return SwitchStmt(e, cases, loc=t.loc)

    def for_stmt(self, annos: list[Annotation]) -> Stmt:
        toks = self.toks
        f = self.expect("for")
        self.expect("(")
        self.push()
        try:
            # for (T x in c) / for (x in c)
            t = toks[self.i]
            if t.kind in _NAME_KINDS and toks[self.i + 1].kind == "in":
                raise CompileError(
                    toks[self.i + 1].loc,
                    f'syntax error, unexpected keyword "in": the loop variable needs a type '
                    f"(for (T {t.text} in ...))",
                )
            if t.kind == "@" or self.type_start(self.i):
                start = self.i
                try:
                    self.annotations()
                    ty = self.parse_type()
                    n = self.name()
                    is_in = toks[self.i].kind == "in"
                except CompileError:
                    is_in = False
                if is_in:
                    self.i += 1
                    return self.for_in_rest(f, ty, n, annos)
                self.i = start
            init: list[Node] = []
            if toks[self.i].kind != ";":
                while True:
                    init.append(self.for_init())
                    if not self.accept(","):
                        break
            self.expect(";")
            cond = None if toks[self.i].kind == ";" else self.expr()
            self.expect(";")
            updates: list[Stmt] = []
            if toks[self.i].kind != ")":
                while True:
                    updates.append(self.simple_statement(semi=False))
                    if not self.accept(","):
                        break
            self.expect(")")
            body = self.statement()
            return ForStmt(init, cond, updates, body, annos, loc=f.loc)  # type: ignore[arg-type]
        finally:
            self.pop()

    def for_init(self) -> Node:
        toks = self.toks
        t = toks[self.i]
        if t.kind == "@" or (self.type_start(self.i) and toks[self.i + 1].kind != "."):
            annos = self.annotations()
            return self.local_decl(annos, semi=False)
        return self.simple_statement(semi=False)

    def for_in_rest(
        self, f: Token, ty: Type | None, n: Token, annos: list[Annotation]
    ) -> ForInStmt:
        coll = self.expr()
        if self.toks[self.i].kind == "..":
            self.i += 1
            coll = Range(coll, self.expr(), loc=coll.loc)
        self.expect(")")
        self.declare(n.text, False)
        body = self.statement()
        return ForInStmt(ty, n.text, coll, body, annos, loc=f.loc)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ declarations

    def const_decl(self, annos: list[Annotation]) -> ConstDecl:
        self.expect("const")
        ty = self.parse_type()
        n = self.name()
        ty = self.declarator(ty)
        self.expect("=")
        v = self.expr()
        self.expect(";")
        self.declare(n.text, False)
        return ConstDecl(ty, n.text, v, annos, loc=n.loc)

    def params(self) -> list[Parameter]:
        """``(p, ...)``; declares the parameter names in the current scope."""
        toks = self.toks
        self.expect("(")
        out: list[Parameter] = []
        if toks[self.i].kind == ")":
            self.i += 1
            return out
        while True:
            annos = self.annotations() if toks[self.i].kind == "@" else []
            d = toks[self.i].kind
            if d in _DIRECTIONS:
                self.i += 1
            else:
                d = ""
            ty = self.parse_type()
            n = self.name()
            ty = self.declarator(ty)
            default = None
            if toks[self.i].kind == "=":
                self.i += 1
                default = self.expr()
            out.append(Parameter(d, ty, n.text, default, annos, loc=n.loc))
            self.declare(n.text, False)
            t = toks[self.i]
            self.i += 1
            if t.kind == ",":
                continue
            if t.kind == ")":
                return out
            self.i -= 1
            raise self.fail(t, '"," or ")"')

    def instantiation_rest(self, ty: Type, annos: list[Annotation]) -> Instantiation:
        """After ``T``: ``(args) name [= { ... }];``."""
        toks = self.toks
        self.expect("(")
        args = self.arguments()
        n = self.name()
        ty = self.declarator(ty)  # ``T() arr[4];``: an array of instances
        init = None
        if toks[self.i].kind == "=":
            self.i += 1
            self.expect("{")
            self.push()
            init = []
            while toks[self.i].kind != "}":
                a = self.annotations() if toks[self.i].kind == "@" else []
                if toks[self.i].kind == "EOF":
                    raise self.fail(toks[self.i], '"}"')
                init.append(self.type_led_declaration(a))
            self.i += 1
            self.pop()
        self.expect(";")
        self.declare(n.text, False)
        return Instantiation(ty, args, n.text, init, annos, loc=n.loc)

    def function_rest(self, rtype: Type, annos: list[Annotation]) -> FunctionDecl:
        """After the return type: ``name<T>(params) { body }``."""
        n = self.name()
        self.declare(n.text, False)
        self.push()
        tparams = self.type_params()
        params = self.params()
        body = self.block([])
        self.pop()
        return FunctionDecl(rtype, n.text, tparams, params, body, annos, loc=n.loc)

    def action_decl(self, annos: list[Annotation]) -> ActionDecl:
        self.expect("action")
        n = self.name()
        self.push()
        params = self.params()
        body = self.block([])
        self.pop()
        return ActionDecl(n.text, params, body, annos, loc=n.loc)

    def struct_decl(self, annos: list[Annotation]) -> StructDecl:
        toks = self.toks
        flavor = toks[self.i].kind
        self.i += 1
        n = self.name()
        self.declare(n.text, True)
        self.push()
        tparams = self.type_params()
        self.expect("{")
        fields: list[StructField] = []
        while toks[self.i].kind != "}":
            fa = self.annotations() if toks[self.i].kind == "@" else []
            ty = self.parse_type()
            fn = self.name()
            ty = self.declarator(ty)
            self.expect(";")
            fields.append(StructField(ty, fn.text, fa, loc=fn.loc))
        self.i += 1
        self.pop()
        return StructDecl(flavor, n.text, tparams, fields, annos, loc=n.loc)

    def enum_decl(self, annos: list[Annotation]) -> EnumDecl:
        toks = self.toks
        self.expect("enum")
        underlying = None
        if not (toks[self.i].kind in _NAME_KINDS and toks[self.i + 1].kind == "{"):
            underlying = self.parse_type()
        n = self.name()
        self.declare(n.text, True)
        self.expect("{")
        members: list[EnumMember] = []
        while toks[self.i].kind != "}":
            ma = self.annotations() if toks[self.i].kind == "@" else []
            m = self.name()
            value = None
            if underlying is not None:
                self.expect("=")
                value = self.expr()
            members.append(EnumMember(m.text, value, ma, loc=m.loc))
            if not self.accept(","):
                break
        self.expect("}")
        return EnumDecl(n.text, members, underlying, annos, loc=n.loc)

    def error_decl(self, annos: list[Annotation]) -> ErrorDecl:
        t = self.expect("error")
        return ErrorDecl(self.identifier_list(trailing_comma=False), annotations=annos, loc=t.loc)

    def match_kind_decl(self, annos: list[Annotation]) -> MatchKindDecl:
        t = self.expect("match_kind")
        return MatchKindDecl(self.identifier_list(), annotations=annos, loc=t.loc)

    def identifier_list(self, trailing_comma: bool = True) -> list[str]:
        self.expect("{")
        out: list[str] = []
        while self.toks[self.i].kind != "}" or (out and not trailing_comma):
            out.append(self.name().text)
            if not self.accept(","):
                break
        self.expect("}")
        return out

    def typedef_decl(self, annos: list[Annotation]) -> Node | list[Node]:
        toks = self.toks
        newtype = toks[self.i].kind == "type"
        self.i += 1
        k = toks[self.i].kind
        if not newtype and k in ("struct", "header", "header_union", "enum"):
            # ``typedef struct S {...} T;``: the declaration, then a typedef naming it
            inner: StructDecl | EnumDecl = (
                self.enum_decl([]) if k == "enum" else self.struct_decl([])
            )
            n = self.name()
            self.expect(";")
            self.declare(n.text, True)
            td = TypedefDecl(TypeName(inner.name, loc=inner.loc), n.text, False, annos, loc=n.loc)
            return [inner, td]
        ty = self.parse_type()
        n = self.name()
        ty = self.declarator(ty)
        self.expect(";")
        self.declare(n.text, True)
        return TypedefDecl(ty, n.text, newtype, annos, loc=n.loc)

    def package_decl(self, annos: list[Annotation]) -> PackageTypeDecl:
        self.expect("package")
        n = self.name()
        self.declare(n.text, True)
        self.push()
        tparams = self.type_params()
        params = self.params()
        self.pop()
        self.expect(";")
        return PackageTypeDecl(n.text, tparams, params, annos, loc=n.loc)

    def extern_decl(self, annos: list[Annotation]) -> Node | None:
        toks = self.toks
        self.expect("extern")
        t = toks[self.i]
        if t.kind in _NAME_KINDS:
            nk = toks[self.i + 1].kind
            if nk == ";":
                # forward declaration of an extern type: nothing to keep but the name
                self.i += 2
                self.declare(t.text, True)
                return None
            if nk == "{" or (nk == "<" and self._extern_type_params_follow()):
                return self.extern_object(annos)
        rtype = self.type_or_void()
        n = self.name()
        self.declare(n.text, False)
        self.push()
        tparams = self.type_params()
        params = self.params()
        self.pop()
        self.expect(";")
        return ExternFunctionDecl(rtype, n.text, tparams, params, annos, loc=n.loc)

    def _extern_type_params_follow(self) -> bool:
        """After ``extern Name``: is ``<A, B> {`` next (an extern type, not a function)?"""
        toks = self.toks
        j = self.i + 2
        while toks[j].kind in _NAME_KINDS:
            j += 1
            if toks[j].kind == ",":
                j += 1
            elif toks[j].kind == ">":
                return toks[j + 1].kind == "{"
            else:
                return False
        return False

    def extern_object(self, annos: list[Annotation]) -> ExternDecl:
        toks = self.toks
        n = self.name()
        self.declare(n.text, True)
        self.push()
        tparams = self.type_params()
        self.expect("{")
        methods: list[MethodDecl] = []
        while toks[self.i].kind != "}":
            ma = self.annotations() if toks[self.i].kind == "@" else []
            abstract = self.accept("abstract") is not None
            t = toks[self.i]
            if (
                t.kind == "ID"
                and toks[self.i + 1].kind == "("
                and (t.text == n.text or self.is_type(t.text))
            ):
                self.i += 1
                self.push()
                params = self.params()
                self.pop()
                self.expect(";")
                methods.append(MethodDecl(None, t.text, [], params, abstract, ma, loc=t.loc))
                continue
            if t.kind == "EOF":
                raise self.fail(t, '"}"')
            rtype = self.type_or_void()
            mn = self.name()
            self.push()
            mtparams = self.type_params()
            params = self.params()
            self.pop()
            self.expect(";")
            methods.append(MethodDecl(rtype, mn.text, mtparams, params, abstract, ma, loc=mn.loc))
        self.i += 1
        self.pop()
        return ExternDecl(n.text, tparams, methods, annos, loc=n.loc)

    def parser_decl(self, annos: list[Annotation]) -> Node:
        toks = self.toks
        self.expect("parser")
        n = self.name()
        self.declare(n.text, True)
        self.push()
        try:
            tparams = self.type_params()
            params = self.params()
            if toks[self.i].kind == ";":
                self.i += 1
                return ParserTypeDecl(n.text, tparams, params, annos, loc=n.loc)
            ctor = self.params() if toks[self.i].kind == "(" else []
            self.expect("{")
            locals_: list[Node] = []
            states: list[ParserState] = []
            while toks[self.i].kind != "}":
                la = self.annotations() if toks[self.i].kind == "@" else []
                k = toks[self.i].kind
                if k == "state":
                    states.append(self.parser_state(la))
                elif k == "value_set":
                    locals_.append(self.value_set_decl(la))
                elif k == "EOF":
                    raise self.fail(toks[self.i], '"}"')
                else:
                    locals_.append(self.local_decl(la))
            self.i += 1
            return ParserDecl(n.text, tparams, params, ctor, locals_, states, annos, loc=n.loc)
        finally:
            self.pop()

    def value_set_decl(self, annos: list[Annotation]) -> ValueSetDecl:
        self.expect("value_set")
        self.expect("<")
        elem = self.type_arg()
        self.expect(">")
        self.expect("(")
        size = self.expr()
        self.expect(")")
        n = self.name()
        self.expect(";")
        self.declare(n.text, False)
        return ValueSetDecl(elem, size, n.text, annos, loc=n.loc)

    def parser_state(self, annos: list[Annotation]) -> ParserState:
        toks = self.toks
        self.expect("state")
        n = self.name()
        self.expect("{")
        self.push()
        stmts: list[Node] = []
        while True:
            k = toks[self.i].kind
            if k == "transition" or k == "}":
                break
            stmts.append(self.parser_statement())
        transition: Expr | None = None
        if k == "transition":
            self.i += 1
            t = toks[self.i]
            if t.kind == "select":
                transition = self.select_expr()
            else:
                s = self.name()
                transition = PathExpr(s.text, loc=s.loc)
                self.expect(";")
        self.expect("}")
        self.pop()
        return ParserState(n.text, stmts, transition, annos, loc=n.loc)

    def select_expr(self) -> SelectExpr:
        toks = self.toks
        t = self.expect("select")
        self.expect("(")
        keys = self.expression_list(")")
        self.expect(")")
        self.expect("{")
        cases: list[SelectCase] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            ks = self.keyset()
            self.expect(":")
            s = self.name()
            self.expect(";")
            cases.append(SelectCase(ks, PathExpr(s.text, loc=s.loc), loc=ks.loc))
        self.i += 1
        return SelectExpr(keys, cases, loc=t.loc)

    def control_decl(self, annos: list[Annotation]) -> Node:
        toks = self.toks
        self.expect("control")
        n = self.name()
        self.declare(n.text, True)
        self.push()
        try:
            tparams = self.type_params()
            params = self.params()
            if toks[self.i].kind == ";":
                self.i += 1
                return ControlTypeDecl(n.text, tparams, params, annos, loc=n.loc)
            ctor = self.params() if toks[self.i].kind == "(" else []
            self.expect("{")
            locals_: list[Node] = []
            while True:
                la = self.annotations() if toks[self.i].kind == "@" else []
                k = toks[self.i].kind
                if k == "apply" and not la:
                    break
                if k == "action":
                    locals_.append(self.action_decl(la))
                elif k == "table":
                    locals_.append(self.table_decl(la))
                elif k == "EOF" or k == "}":
                    raise self.fail(toks[self.i], '"apply"')
                else:
                    locals_.append(self.local_decl(la))
            self.i += 1
            body = self.block(self.annotations() if toks[self.i].kind == "@" else [])
            self.expect("}")
            return ControlDecl(n.text, tparams, params, ctor, locals_, body, annos, loc=n.loc)
        finally:
            self.pop()

    # ------------------------------------------------------------------ tables

    def table_decl(self, annos: list[Annotation]) -> TableDecl:
        toks = self.toks
        self.expect("table")
        n = self.name()
        self.expect("{")
        props: list[TableProperty] = []
        while toks[self.i].kind != "}":
            pa = self.annotations() if toks[self.i].kind == "@" else []
            const = self.accept("const") is not None
            t = toks[self.i]
            k = t.kind
            if k == "key" or k == "actions" or k == "entries":
                if (const or pa) and k != "entries":
                    raise self.fail(t)
                self.i += 1
                self.expect("=")
                self.expect("{")
                if k == "key":
                    value: object = self.key_elements()
                elif k == "actions":
                    value = self.action_list()
                else:
                    value = self.entries_list()
            elif k == "ID" or k in _NONTYPE_KW:
                self.i += 1
                self.expect("=")
                value = self.expr()
                self.expect(";")
            else:
                raise self.fail(t, "a table property")
            props.append(TableProperty(t.text, value, const, pa, loc=t.loc))
        self.i += 1
        return TableDecl(n.text, props, annos, loc=n.loc)

    def key_elements(self) -> list[KeyElement]:
        toks = self.toks
        out: list[KeyElement] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            e = self.expr()
            self.expect(":")
            mk = self.name()
            ka = self.annotations() if toks[self.i].kind == "@" else []
            self.expect(";")
            out.append(KeyElement(e, mk.text, ka, loc=e.loc))
        self.i += 1
        return out

    def action_list(self) -> list[ActionRef]:
        toks = self.toks
        out: list[ActionRef] = []
        while toks[self.i].kind != "}":
            aa = self.annotations() if toks[self.i].kind == "@" else []
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            e = self.postfix(self.primary())
            self.expect(";")
            out.append(ActionRef(e, aa, loc=e.loc))
        self.i += 1
        return out

    def entries_list(self) -> list[Entry]:
        toks = self.toks
        out: list[Entry] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            const = self.accept("const") is not None
            prio = None
            if toks[self.i].kind == "priority" and toks[self.i + 1].kind == "=":
                self.i += 2
                prio = self.expr()
                self.expect(":")
            ks = self.keyset()
            self.expect(":")
            action = self.postfix(self.primary())
            ea = self.annotations() if toks[self.i].kind == "@" else []
            self.expect(";")
            keys = ks.items if isinstance(ks, ListExpr) else [ks]
            out.append(Entry(keys, action, prio, const, ea, loc=ks.loc))
        self.i += 1
        return out


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
