"""Declarations: constants, variables, types, externs, functions, actions, parsers, controls.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``. Each
``decl_<Kind>`` checks one declaration and declares its name in the current scope (also after an
error, so later uses do not cascade).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T
from .constfold import try_const_value
from .scope import Scope
from .types import fields_of, type_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object


class DeclChecker(_Base):
    """Declaration rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Simple declarations

    def decl_ConstDecl(self, d: ast.ConstDecl) -> None:
        t = self.ctype(d.ctype)
        self.dtype[d] = t
        if T.is_extern(t):
            raise self.error(d, f"cannot declare constants of extern type {type_str(t)}")
        d.value = self.expr(d.value)
        d.value = self.coerce(d.value, t, f"initializer of '{d.name}'")
        self.require_known(d.value, f"the initializer of constant '{d.name}'")
        d.__dict__.pop("_sluice_const", None)
        self.declare(d.name, d)

    def decl_VarDecl(self, d: ast.VarDecl) -> None:
        try:
            t = self.ctype(d.vtype)
            self.dtype[d] = t
            self.check_var_type(t, d)
            if d.init is not None:
                d.init = self.expr(d.init)
                d.init = self.coerce(d.init, t, f"initializer of '{d.name}'")
        finally:
            self.dtype.setdefault(d, ast.TypeDontCare())
            self.declare(d.name, d)

    def check_var_type(self, t: ast.Type, d: ast.Node) -> None:
        """Reject types that variables cannot have."""
        td = T.type_decl(t)
        if isinstance(
            td,
            (
                ast.ExternDecl,
                ast.ParserDecl,
                ast.ControlDecl,
                ast.ParserTypeDecl,
                ast.ControlTypeDecl,
                ast.PackageTypeDecl,
            ),
        ):
            raise self.error(
                d,
                f"cannot declare variables of type '{T.describe_type(t)}'"
                " (consider using an instantiation)",
            )
        if isinstance(t, (ast.TypeString, ast.TypeInfInt, ast.TypeVoid)):
            raise self.error(d, f"cannot declare variables of type {type_str(t)}")

    def decl_TypedefDecl(self, d: ast.TypedefDecl) -> None:
        try:
            t = self.ctype(d.target)
            if d.newtype:
                base = T.strip_newtype(t)
                if not isinstance(base, (ast.TypeBits, ast.TypeBool)):
                    raise self.error(
                        d, f"'type' can only be applied to base types, not {type_str(t)}"
                    )
                self.dtype[d] = t
            else:
                self.dtype[d] = t
        finally:
            self.dtype.setdefault(d, ast.TypeDontCare())
            self.declare(d.name, d)

    def decl_StructDecl(self, d: ast.StructDecl) -> None:
        try:
            with self.new_scope("type", d):
                self.declare_type_params(d.type_params)
                seen: dict[str, ast.StructField] = {}
                for f in d.fields:
                    self.at(f)
                    if f.name in seen:
                        self.report(
                            self.error(f, f"duplicate field '{f.name}' in {d.flavor} {d.name}")
                        )
                    seen[f.name] = f
                    if f.name == "_":
                        self.report(self.error(f, "'_' is not a valid field name"))
                    ft = self.guarded(self.ctype, f.ftype)
                    if ft is None:
                        continue
                    self.check_length_names(f, seen)
                    self.check_annotations(f)
                    if not self._field_type_ok(d.flavor, ft):
                        self.report(
                            self.error(
                                f,
                                f"field '{f.name}' of {d.flavor} {d.name} cannot have type"
                                f" {T.describe_type(ft)}",
                            )
                        )
        finally:
            self.declare(d.name, d)

    def check_length_names(self, f: ast.StructField, earlier: dict[str, ast.StructField]) -> None:
        """Names in a field's ``@length(expr)`` must denote a field declared before it (or a
        declaration in scope), as p4c resolves them in declaration order."""
        for a in f.annotations:
            if a.name != "length" or a.pragma or a.structured or not a.exprs:
                continue
            for e in a.exprs:
                for n in ast.walk(e):
                    if not isinstance(n, ast.PathExpr):
                        continue
                    if not n.global_ and n.name in earlier:
                        continue
                    scope = self.global_scope if n.global_ else self.scope
                    if scope.lookup(n.name):
                        continue
                    later = "" if n.global_ else (
                        " (fields can only be used after their declaration)"
                        if n.name in self._later_field_names(f) else ""
                    )
                    self.report(self.error(n, f"{n.name}: declaration not found{later}"))

    def _later_field_names(self, f: ast.StructField) -> set[str]:
        d = self.scope.owner
        fields = getattr(d, "fields", None) or []
        names = [x.name for x in fields]
        return set(names[names.index(f.name) + 1:]) if f.name in names else set()

    def _field_type_ok(self, flavor: str, t: ast.Type) -> bool:
        t = T.strip_newtype(t)
        if T.is_type_var(t) or isinstance(t, ast.TypeSpecialized):
            return True
        if flavor == "header":
            return self._bits_only(t) or isinstance(t, ast.TypeVarbit)
        if flavor == "header_union":
            return T.is_header(t)
        if isinstance(t, (ast.TypeBits, ast.TypeBool, ast.TypeErrorT, ast.TypeVarbit)):
            return True
        if isinstance(t, (ast.TypeStack, ast.TypeTuple, ast.TypeMatchKind)):
            return True
        d = T.type_decl(t)
        return isinstance(d, (ast.StructDecl, ast.EnumDecl))

    def _bits_only(self, t: ast.Type) -> bool:
        while isinstance(t, ast.TypeStack):
            t = t.elem
        t = T.strip_newtype(t)
        if isinstance(t, (ast.TypeBits, ast.TypeBool)) or T.is_serializable_enum(t):
            return True
        if T.is_struct(t):
            return all(self._bits_only(ft) for _, ft, _ in fields_of(t))
        return False

    def decl_EnumDecl(self, d: ast.EnumDecl) -> None:
        try:
            ut: ast.Type | None = None
            if d.underlying is not None:
                ut = self.ctype(d.underlying)
                if not isinstance(ut, ast.TypeBits):
                    raise self.error(
                        d.underlying,
                        f"illegal underlying type {type_str(ut)} for enum {d.name};"
                        " only bit<> and int<> are allowed",
                    )
            enum_t = T.named(d)
            seen: set[str] = set()
            self.dtype[d] = enum_t
            with self.new_scope("enum", d):
                self._enum_members(d, ut, seen)
        finally:
            self.declare(d.name, d)

    def _enum_members(self, d: ast.EnumDecl, ut: ast.TypeBits | None, seen: set[str]) -> None:
        for m in d.members:
            self.at(m)
            if m.name in seen:
                self.report(self.error(m, f"duplicate enum member '{m.name}' in {d.name}"))
            seen.add(m.name)
            if ut is None:
                if m.value is not None:
                    self.report(self.error(m, f"members of enum {d.name} cannot have values"))
                continue
            if m.value is None:
                self.report(self.error(m, f"member '{m.name}' of enum {d.name} needs a value"))
                continue
            self.guarded(self._enum_value, d, m, ut)
            # Later initializers may name earlier members (p4c resolves them in the enum).
            self.dtype[m] = T.named(d)
            self.scope.add(m.name, m)

    def _enum_value(self, d: ast.EnumDecl, m: ast.EnumMember, ut: ast.TypeBits) -> None:
        assert m.value is not None
        v0 = m.value
        m.value = self.expr(m.value)
        raw = try_const_value(m.value) if isinstance(m.value.type, ast.TypeInfInt) else None
        m.value = self.coerce(m.value, ut, f"value of {d.name}.{m.name}")
        if raw is not None:
            w = ut.size or 0
            lo = -(1 << (w - 1)) if ut.signed else 0
            hi = (1 << (w - 1)) - 1 if ut.signed else (1 << w) - 1
            if not lo <= raw <= hi:
                raise self.error(
                    v0,
                    f"enum constant {d.name}.{m.name} = {raw} does not fit in {type_str(ut)}",
                )
        self.require_const(m.value, f"the value of {d.name}.{m.name}")

    def decl_ErrorDecl(self, d: ast.ErrorDecl) -> None:
        for name in d.members:
            if name in self.error_members:
                self.report(self.error(d, f"duplicate declaration of error.{name}"))
                continue
            self.error_members[name] = d

    def decl_MatchKindDecl(self, d: ast.MatchKindDecl) -> None:
        for name in d.members:
            if name in self.match_kinds:
                self.report(self.error(d, f"duplicate declaration of match_kind {name}"))
                continue
            self.match_kinds[name] = d

    # ----------------------------------------------------------------------------------------
    # Parameters

    def check_params(
        self, params: list[ast.Parameter], kind: str, scope: Scope | None = None
    ) -> list[ast.Type]:
        """Resolve parameter types (``kind``: action, function, method, ctor, apply, package,
        extern_function) and declare them in ``scope`` when given."""
        out: list[ast.Type] = []
        seen: set[str] = set()
        found_directionless = False
        for p in params:
            self.at(p)
            t = self.guarded(self._param, p, kind)
            if t is None:
                t = ast.TypeDontCare()
                self.dtype[p] = t
            out.append(t)
            if p.name in seen:
                self.report(self.error(p, f"duplicate parameter '{p.name}'"))
            seen.add(p.name)
            if kind == "action":
                if p.direction == "":
                    found_directionless = True
                elif found_directionless:
                    self.report(
                        self.error(
                            p, f"directionless action parameters must come last ('{p.name}')"
                        )
                    )
            if scope is not None:
                self.declare(p.name, p, scope)
        return out

    def _param(self, p: ast.Parameter, kind: str) -> ast.Type:
        self.dtype[p] = ast.TypeDontCare()
        t = self.ctype(p.ptype, generic_ok=False, dontcare_ok=True)
        self.dtype[p] = t
        td = T.type_decl(t)
        if isinstance(td, (ast.ParserDecl, ast.ControlDecl)):
            raise self.error(p, f"parameter '{p.name}' cannot have type {T.describe_type(t)}")
        if isinstance(t, ast.TypeInfInt):
            if p.direction:
                raise self.error(p, f"parameter '{p.name}' of type int must be directionless")
            if kind == "action":
                raise self.error(p, "actions cannot have parameters of type int")
        if isinstance(t, ast.TypeVoid):
            raise self.error(p, f"parameter '{p.name}' cannot have type void")
        if p.direction and (isinstance(td, ast.ExternDecl) or isinstance(t, ast.TypeString)):
            raise self.error(
                p, f"parameter '{p.name}' of type {type_str(t)} cannot have a direction"
            )
        if isinstance(td, ast.PackageTypeDecl) and kind != "package":
            raise self.error(p, f"parameter '{p.name}' cannot be a package")
        if isinstance(td, (ast.ParserTypeDecl, ast.ControlTypeDecl)) and (
            p.direction or kind not in ("ctor", "package")
        ):
            raise self.error(p, f"parameter '{p.name}' cannot have type {T.describe_type(t)}")
        if kind == "action" and isinstance(td, ast.ExternDecl):
            raise self.error(p, "action parameters cannot have extern types")
        if kind in ("ctor", "package", "extern_ctor") and p.direction:
            raise self.error(p, f"constructor parameter '{p.name}' cannot have a direction")
        optional = ast.annotation(p, "optional") is not None
        if optional and kind in ("function", "ctor"):
            raise self.error(p, f"optional parameter '{p.name}' not allowed here")
        if p.default is not None:
            if optional:
                raise self.error(p, f"optional parameter '{p.name}' cannot have a default value")
            if p.direction in ("out", "inout"):
                raise self.error(
                    p, f"{p.direction} parameter '{p.name}' cannot have a default value"
                )
            p.default = self.expr(p.default)
            p.default = self.coerce(p.default, t, f"default value of '{p.name}'")
            self.require_known(p.default, f"the default value of '{p.name}'")
        self.check_annotations(p)
        return t

    # ----------------------------------------------------------------------------------------
    # Externs, functions, actions

    def decl_ExternDecl(self, d: ast.ExternDecl) -> None:
        try:
            self._extern(d)
        finally:
            self.declare(d.name, d)

    def _extern(self, d: ast.ExternDecl) -> None:
        with self.new_scope("extern", d):
            self.declare_type_params(d.type_params)
            abstract: dict[str, ast.MethodDecl] = {}
            for m in d.methods:
                self.at(m)
                self.guarded(self._method, d, m)
                self.check_annotations(m)
                if m.abstract:
                    if m.name in abstract:
                        self.report(self.error(m, f"duplicate abstract method '{m.name}'"))
                    abstract[m.name] = m
            by_name: dict[str, list[ast.MethodDecl]] = {}
            for m in d.methods:
                for other in by_name.get(m.name, []):
                    if len(other.params) == len(m.params) and {p.name for p in other.params} == {
                        p.name for p in m.params
                    }:
                        self.report(
                            self.error(
                                m,
                                f"duplicate declaration of method '{m.name}'"
                                f" (previous declaration at {other.loc})",
                            )
                        )
                        break
                by_name.setdefault(m.name, []).append(m)

    def _method(self, ext: ast.ExternDecl, m: ast.MethodDecl) -> None:
        with self.new_scope("method", m):
            if m.name == ext.name or m.rtype is None:
                if m.name != ext.name:
                    raise self.error(m, f"method '{m.name}' needs a return type")
                if m.rtype is not None:
                    raise self.error(m, "a constructor cannot have a return type")
                if m.type_params:
                    raise self.error(m, "constructors cannot have type parameters")
                self.check_params(m.params, "extern_ctor", self.scope)
                return
            self.declare_type_params(m.type_params)
            rt = self.ctype(m.rtype)
            if isinstance(rt, (ast.TypeInfInt, ast.TypeString)):
                raise self.error(m.rtype, f"illegal return type {type_str(rt)} for a method")
            self.check_params(m.params, "method", self.scope)

    def decl_ExternFunctionDecl(self, d: ast.ExternFunctionDecl) -> None:
        try:
            with self.new_scope("function", d):
                self.declare_type_params(d.type_params)
                self.ctype(d.rtype)
                self.check_params(d.params, "extern_function", self.scope)
        finally:
            self.declare(d.name, d)

    def decl_FunctionDecl(self, d: ast.FunctionDecl) -> None:
        with self.new_scope("function", d):
            self.declare_type_params(d.type_params)
            rt = self.guarded(self.ctype, d.rtype) or ast.TypeDontCare()
            self.check_params(d.params, "function", self.scope)
            with self.ctx(
                function=d,
                function_rtype=rt,
                action=None,
                table=None,
                loop_depth=0,
                in_state=False,
                in_apply_block=False,
            ):
                self.block(d.body, new_scope=True)
            if not isinstance(rt, (ast.TypeVoid, ast.TypeDontCare)) and not self.always_returns(
                d.body
            ):
                self.report(
                    self.error(d, f"function '{d.name}' does not return a value on all paths")
                )
        self.declare(d.name, d)

    def decl_ActionDecl(self, d: ast.ActionDecl) -> None:
        with self.new_scope("action", d):
            self.check_params(d.params, "action", self.scope)
            with self.ctx(
                action=d, function=None, function_rtype=None, loop_depth=0, in_apply_block=False
            ):
                self.block(d.body, new_scope=True)
        self.declare(d.name, d)

    # ----------------------------------------------------------------------------------------
    # Parser, control and package types

    def decl_ParserTypeDecl(self, d: ast.ParserTypeDecl) -> None:
        try:
            with self.new_scope("parser type", d):
                self.declare_type_params(d.type_params)
                self.check_params(d.params, "apply", self.scope)
        finally:
            self.declare(d.name, d)

    def decl_ControlTypeDecl(self, d: ast.ControlTypeDecl) -> None:
        try:
            with self.new_scope("control type", d):
                self.declare_type_params(d.type_params)
                self.check_params(d.params, "apply", self.scope)
        finally:
            self.declare(d.name, d)

    def decl_PackageTypeDecl(self, d: ast.PackageTypeDecl) -> None:
        try:
            with self.new_scope("package type", d):
                self.declare_type_params(d.type_params)
                types_ = self.check_params(d.params, "package", self.scope)
                for p, t in zip(d.params, types_):
                    if isinstance(T.type_decl(t), (ast.ParserDecl, ast.ControlDecl)):
                        self.report(self.error(p, f"invalid package parameter type {type_str(t)}"))
        finally:
            self.declare(d.name, d)

    def _container_params(self, d: ast.ParserDecl | ast.ControlDecl) -> None:
        self.declare_type_params(d.type_params)
        self.check_params(d.params, "apply", self.scope)
        apply_names = {p.name for p in d.params} | {p.name for p in d.type_params}
        for p in d.ctor_params:
            if p.name in apply_names:
                self.report(self.error(p, f"duplicate parameter '{p.name}'"))
        ctor_scope = self.scope
        self.check_params(d.ctor_params, "ctor", None)
        for p in d.ctor_params:
            if p.name not in apply_names:
                ctor_scope.add(p.name, p)

    def decl_ParserDecl(self, d: ast.ParserDecl) -> None:
        try:
            with self.new_scope("parser", d):
                self._container_params(d)
                with (
                    self.ctx(
                        parser=d,
                        control=None,
                        action=None,
                        function=None,
                        function_rtype=None,
                        table=None,
                        instance=None,
                        in_apply_block=False,
                    ),
                    self.new_scope("parser locals", d),
                ):
                    for loc in d.locals:
                        self.at(loc)
                        if isinstance(loc, (ast.ActionDecl, ast.TableDecl, ast.FunctionDecl)):
                            self.report(
                                self.error(
                                    loc, f"{loc.kind[:-4].lower()}s cannot be declared in a parser"
                                )
                            )
                            continue
                        self.guarded(self.decl, loc)
                    self.parser_states(d)
        finally:
            self.declare(d.name, d)

    def parser_states(self, d: ast.ParserDecl) -> None:
        """Check the states of parser ``d`` (they may refer to each other in any order)."""
        states: dict[str, ast.ParserState] = {}
        user_states = []
        for st in d.states:
            if st.loc is None and st.name in ("accept", "reject") and st.transition is None:
                continue  # synthesized by an earlier run
            user_states.append(st)
            if st.name in ("accept", "reject"):
                self.report(
                    self.error(st, f"state '{st.name}' is built in and cannot be implemented")
                )
                continue
            if st.name in states:
                self.report(self.error(st, f"duplicate state '{st.name}' in parser {d.name}"))
                continue
            local = self.scope.local(st.name)
            if local:
                self.report(
                    self.error(st, f"state '{st.name}' has the same name as another declaration")
                )
            states[st.name] = st
        accept = next(
            (s for s in d.states if s.loc is None and s.name == "accept"), None
        ) or ast.ParserState(name="accept", stmts=[], transition=None)
        reject = next(
            (s for s in d.states if s.loc is None and s.name == "reject"), None
        ) or ast.ParserState(name="reject", stmts=[], transition=None)
        states.setdefault("accept", accept)
        states.setdefault("reject", reject)
        if "start" not in states:
            self.report(self.error(d, f"parser {d.name} has no 'start' state"))
        with self.ctx(states=states):
            for st in user_states:
                self.at(st)
                self.guarded(self.parser_state, st)
                self.check_annotations(st)
        d.states = user_states + [accept, reject]
        if "start" in states and not self._reaches_end(states["start"]):
            self.report(self.error(d, f"parser {d.name} never reaches the accept or reject state"))

    @staticmethod
    def _reaches_end(start: ast.ParserState) -> bool:
        seen: set[int] = set()
        todo = [start]
        while todo:
            st = todo.pop()
            if id(st) in seen:
                continue
            seen.add(id(st))
            if st.name in ("accept", "reject") and st.transition is None:
                return True
            tr = st.transition
            targets: list = []
            if isinstance(tr, ast.PathExpr):
                targets = [tr]
            elif isinstance(tr, ast.SelectExpr):
                targets = [c.state for c in tr.cases]
            elif tr is None:
                return True
            for p in targets:
                nxt = getattr(p, "decl", None)
                if not isinstance(nxt, ast.ParserState):
                    return True  # unresolved: an error was reported already
                todo.append(nxt)
        return False

    # ----------------------------------------------------------------------------------------

    def decl_ControlDecl(self, d: ast.ControlDecl) -> None:
        try:
            with self.new_scope("control", d):
                self._container_params(d)
                with (
                    self.ctx(
                        control=d,
                        parser=None,
                        action=None,
                        function=None,
                        function_rtype=None,
                        table=None,
                        instance=None,
                        in_apply_block=False,
                        in_state=False,
                    ),
                    self.new_scope("control locals", d),
                ):
                    for loc in d.locals:
                        self.at(loc)
                        if isinstance(loc, ast.ValueSetDecl):
                            self.report(
                                self.error(loc, "value sets can only be declared in parsers")
                            )
                            continue
                        self.guarded(self.decl, loc)
                    with self.ctx(in_apply_block=True):
                        self.block(d.body, new_scope=True)
        finally:
            self.declare(d.name, d)

    def decl_ValueSetDecl(self, d: ast.ValueSetDecl) -> None:
        try:
            t = self.ctype(d.elem)
            self.dtype[d] = t
            base = T.strip_newtype(t)
            ok = (
                isinstance(base, (ast.TypeBits, ast.TypeBool, ast.TypeTuple))
                or T.is_enum(base)
                or T.is_struct(base)
            )
            if not ok:
                raise self.error(d.elem, f"illegal element type {type_str(t)} for a value_set")
            d.size = self.expr(d.size)
            self.require_known(d.size, "the size of a value_set")
        finally:
            self.dtype.setdefault(d, ast.TypeDontCare())
            self.declare(d.name, d)
