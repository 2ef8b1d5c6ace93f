"""Grammar rules for top-level and type declarations (mixed into :class:`.parser.Parser`)."""

from __future__ import annotations

from .ast import (
    ActionDecl,
    Annotation,
    ConstDecl,
    EnumDecl,
    EnumMember,
    ErrorDecl,
    ExternDecl,
    ExternFunctionDecl,
    FunctionDecl,
    Instantiation,
    MatchKindDecl,
    MethodDecl,
    Node,
    PackageTypeDecl,
    Parameter,
    StructDecl,
    StructField,
    Type,
    TypedefDecl,
    TypeName,
)
from .parse_base import _DIRECTIONS, _NAME_KINDS, _TYPE_KW


class DeclParser:
    """Declarations: constants, parameters, instances, functions, actions, types, externs."""

    # ------------------------------------------------------------------ declarations

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
