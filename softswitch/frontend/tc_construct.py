"""Constructor calls, instantiations and abstract method implementations.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T
from .constfold import expr_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


def _is_optional(p: ast.Parameter) -> bool:
    return ast.annotation(p, "optional") is not None


Binding = dict[ast.Node, "ast.Type | None"]
_CONTAINER_TYPES = (ast.ParserDecl, ast.ControlDecl, ast.ParserTypeDecl, ast.ControlTypeDecl)


class ConstructChecker(_Base):
    """Construction rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Construction

    def ex_ConstructorCall(self, e: ast.ConstructorCall) -> ast.Expr:
        self.at(e)
        if self.action is not None:
            raise self.error(e, "constructor calls are not allowed in actions")
        ct = self.ctype(e.ctype, generic_ok=True, dontcare_ok=True)
        e.type = self.construct(e, ct, e.args, None)
        return e

    def construct(
        self,
        where: ast.Node,
        ct: ast.Type,
        args: list[ast.Argument],
        inst: ast.Instantiation | None,
    ) -> ast.Type:
        """Check constructor arguments for type ``ct``; returns the constructed type."""
        d = T.type_decl(ct)
        if isinstance(d, (ast.ParserDecl, ast.ControlDecl, ast.PackageTypeDecl)):
            d = self._container_overload(d, args, where)
            if isinstance(ct, ast.TypeSpecialized):
                ct = ast.TypeSpecialized(base=T.named(d), args=ct.args)
            else:
                ct = T.named(d)
        with self.ctx(in_ctor_args=True):
            if isinstance(d, ast.ExternDecl):
                return self._construct_extern(where, ct, d, args, inst)
            if isinstance(d, (ast.ParserDecl, ast.ControlDecl)):
                self._ctor_args(where, d.ctor_params, args, {}, {}, f"'{d.name}'")
                return ct
            if isinstance(d, ast.PackageTypeDecl):
                b: Binding = {}
                fixed = dict(T.struct_subst(ct))
                if not isinstance(ct, ast.TypeSpecialized):
                    b = {tp: None for tp in d.type_params}
                if isinstance(ct, ast.TypeSpecialized):
                    b = {tp: None for tp, a in zip(d.type_params, ct.args) if _unknown(a)}
                    fixed = {k: v for k, v in fixed.items() if not _unknown(v)}
                self._ctor_args(where, d.params, args, fixed, b, f"package '{d.name}'")
                if b:
                    final = dict(fixed)
                    final.update(self._bound(b))
                    explicit = isinstance(ct, ast.TypeSpecialized)
                    for tp in d.type_params:
                        bt = final.get(tp)
                        if bt is None or (isinstance(bt, ast.TypeName) and bt.decl is tp):
                            if explicit or self._only_optional(tp, d.params, args):
                                final[tp] = ast.TypeDontCare()
                                continue
                            raise self.error(
                                where,
                                f"could not infer type parameter '{tp.name}' of package {d.name}",
                            )
                    return ast.TypeSpecialized(
                        base=T.named(d), args=[final[tp] for tp in d.type_params]
                    )
                return ct
        raise self.error(where, f"cannot instantiate objects of type {T.describe_type(ct)}")

    def _container_overload(
        self, d: ast.Node, args: list[ast.Argument], where: ast.Node
    ) -> ast.Node:
        cands = [x for x in self.scope.lookup(d.name) if type(x) is type(d)]  # type: ignore
        if len(cands) <= 1:
            return d

        class _P:
            def __init__(self, n: ast.Node):
                self.n = n
                self.params = (
                    n.ctor_params if isinstance(n, (ast.ParserDecl, ast.ControlDecl)) else n.params  # type: ignore
                )

        pick = self.select_overload([_P(c) for c in cands], args, where, d.name)  # type: ignore
        return pick.n  # type: ignore[attr-defined]

    def _only_optional(
        self, tp: ast.Node, params: list[ast.Parameter], args: list[ast.Argument]
    ) -> bool:
        """True when type variable ``tp`` only occurs in optional parameters left out."""
        given = {a.name for a in args if a.name} | {
            p.name for p, a in zip(params, args) if not a.name
        }
        for p in params:
            if tp in T.type_vars_in(self.ptype(p)) or (
                isinstance(
                    T.type_decl(self.ptype(p)),
                    (ast.ParserTypeDecl, ast.ControlTypeDecl, ast.PackageTypeDecl),
                )
                and any(tp in T.type_vars_in(x) for x in getattr(self.ptype(p), "args", []))
            ):
                if p.name in given or not _is_optional(p):
                    return False
        return True

    def _construct_extern(
        self,
        where: ast.Node,
        ct: ast.Type,
        d: ast.ExternDecl,
        args: list[ast.Argument],
        inst: ast.Instantiation | None,
    ) -> ast.Type:
        ctors = [m for m in d.methods if m.name == d.name and m.rtype is None]
        if not ctors:
            raise self.error(where, f"extern {d.name} has no constructor")
        m = self.select_overload(ctors, args, where, d.name)
        assert isinstance(m, ast.MethodDecl)
        if inst is None and any(x.abstract for x in d.methods):
            raise self.error(where, f"an instance of {d.name} must implement its abstract methods")
        fixed = dict(T.struct_subst(ct))
        b: Binding = {}
        if not isinstance(ct, ast.TypeSpecialized) and d.type_params:
            b = {tp: None for tp in d.type_params}
        self._ctor_args(where, m.params, args, fixed, b, f"constructor of {d.name}")
        if b:
            final = self._bound(b)
            for tp in d.type_params:
                bt = final.get(tp)
                if bt is None:
                    raise self.error(
                        where, f"could not infer type parameter '{tp.name}' of extern {d.name}"
                    )
                if T.contains_infint(bt):
                    raise self.error(
                        where,
                        f"could not infer a width for type parameter '{tp.name}' of extern {d.name}",
                    )
            return ast.TypeSpecialized(base=T.named(d), args=[final[tp] for tp in d.type_params])
        return ct

    def _ctor_args(
        self,
        where: ast.Node,
        params: list[ast.Parameter],
        args: list[ast.Argument],
        fixed: dict[ast.Node, ast.Type],
        b: Binding,
        name: str,
    ) -> None:
        pairs = self.bind(params, args, where, name)
        for _p, a in pairs:
            if a is None:
                continue
            self.at(a)
            a.expr = self.expr(a.expr)
        for p, a in pairs:
            if a is None:
                if b and p.default is not None and p.default.type is not None:
                    self.unify(T.substitute(self.ptype(p), fixed), p.default.type, b)
                continue
            pt = T.substitute(self.ptype(p), fixed)
            if T.type_vars_in(pt) & set(b) or isinstance(
                T.type_decl(pt), (ast.ParserTypeDecl, ast.ControlTypeDecl, ast.PackageTypeDecl)
            ):
                if not self.unify(pt, a.expr.type, b):
                    raise self.error(
                        a,
                        f"argument '{expr_str(a.expr)}' of type {T.describe_type(a.expr.type)}"
                        f" does not match parameter '{p.name}' of type"
                        f" {T.describe_type(T.substitute(pt, self._bound(b)))} of {name}",
                    )
        final = self._bound(b)
        for p, a in pairs:
            if a is None:
                continue
            pt = T.substitute(T.substitute(self.ptype(p), fixed), final)
            pd = T.type_decl(pt)
            if isinstance(pd, (ast.ParserTypeDecl, ast.ControlTypeDecl, ast.PackageTypeDecl)):
                ad = T.type_decl(a.expr.type)
                if isinstance(pd, ast.PackageTypeDecl):
                    if not (isinstance(ad, ast.PackageTypeDecl) and ad is pd):
                        raise self.error(
                            a, f"argument '{expr_str(a.expr)}' is not a package {pd.name}"
                        )
                continue
            self.check_argument(p, a, pt, name)
            self.require_known(a.expr, f"argument '{p.name}' of {name}")

    def decl_Instantiation(self, d: ast.Instantiation) -> None:
        """``T(args) name;`` (with abstract method implementations when ``initializer``)."""
        try:
            if self.action is not None or self.function is not None:
                raise self.error(d, "instantiations cannot be in actions or functions")
            if self.in_apply_block or self.in_state:
                raise self.error(
                    d, "instantiations cannot be in a control's apply block or a parser state"
                )
            it = d.itype
            arr: ast.TypeStack | None = None
            if isinstance(it, ast.TypeStack):
                arr = it
                it = it.elem
            ct = self.ctype(it, generic_ok=True, dontcare_ok=True)
            td = T.type_decl(ct)
            top = self.scope is self.global_scope
            if isinstance(td, (ast.ParserDecl, ast.ControlDecl)) and top:
                raise self.error(
                    d, f"{T.describe_type(ct)} cannot be instantiated at the top level"
                )
            if isinstance(td, ast.ParserDecl) and self.control is not None:
                raise self.error(d, "a parser cannot be instantiated in a control")
            if isinstance(td, ast.ControlDecl) and self.parser is not None:
                raise self.error(d, "a control cannot be instantiated in a parser")
            if d.initializer is not None and not isinstance(td, ast.ExternDecl):
                raise self.error(d, "initializers are only allowed for extern instances")
            t = self.construct(d, ct, d.args, d)
            if arr is not None:
                if not isinstance(td, ast.ExternDecl):
                    raise self.error(d, f"cannot create arrays of {T.describe_type(ct)}")
                size = self.const_int(arr.size_expr, "array size") if arr.size_expr else arr.size
                arr.size = size
                t = ast.TypeStack(elem=t, size_expr=None, size=size)
            self.dtype[d] = t
            if isinstance(td, ast.ExternDecl):
                self.abstract_methods(d, t if arr is None else arr_elem(t), td)
        finally:
            self.dtype.setdefault(d, ast.TypeDontCare())
            self.declare(d.name, d)

    def abstract_methods(self, d: ast.Instantiation, t: ast.Type, ext: ast.ExternDecl) -> None:
        """Check the abstract method implementations of an extern instance."""
        virt = {m.name: m for m in ext.methods if m.abstract}
        if not virt and d.initializer is None:
            return
        if not virt:
            raise self.error(d, f"extern {ext.name} has no abstract methods to implement")
        if d.initializer is None:
            raise self.error(
                d, f"instance '{d.name}' must implement the abstract methods of {ext.name}"
            )
        subst = T.struct_subst(t)
        self.dtype[d] = t
        done: set[str] = set()
        with self.ctx(instance=d):
            for item in d.initializer:
                self.at(item)
                if isinstance(item, ast.Instantiation):
                    self.guarded(self.decl, item)
                    continue
                if not isinstance(item, ast.FunctionDecl):
                    self.report(
                        self.error(item, "only abstract method implementations are allowed here")
                    )
                    continue
                m = virt.get(item.name)
                if m is None:
                    self.report(
                        self.error(item, f"'{item.name}' is not an abstract method of {ext.name}")
                    )
                    continue
                if item.type_params:
                    self.report(
                        self.error(item, "abstract method implementations cannot be generic")
                    )
                    continue
                done.add(item.name)
                self.guarded(self._impl, item, m, subst)
        for name, m in virt.items():
            if name not in done and ast.annotation(m, "optional") is None:
                self.report(
                    self.error(d, f"abstract method '{name}' of {ext.name} is not implemented")
                )

    def _impl(
        self, f: ast.FunctionDecl, m: ast.MethodDecl, subst: dict[ast.Node, ast.Type]
    ) -> None:
        with self.new_scope("function", f):
            rt = self.guarded(self.ctype, f.rtype) or ast.TypeDontCare()
            types_ = self.check_params(f.params, "method_impl", self.scope)
            want_rt = T.substitute(self.canon(m.rtype), subst) if m.rtype else ast.TypeVoid()
            ok = len(types_) <= len(m.params) and (_unknown(rt) or T.type_eq(rt, want_rt))
            ok = ok and all(_is_optional(mp) for mp in m.params[len(types_) :])
            if ok:
                for p, mp, t in zip(f.params, m.params, types_):
                    if p.direction != mp.direction or not (
                        _unknown(t) or T.type_eq(t, T.substitute(self.ptype(mp), subst))
                    ):
                        ok = False
            if not ok:
                raise self.error(
                    f, f"'{f.name}' does not match the signature of abstract method '{m.name}'"
                )
            with self.ctx(
                function=f,
                function_rtype=rt,
                action=None,
                table=None,
                loop_depth=0,
                in_state=False,
                in_apply_block=False,
                parser=None,
            ):
                self.block(f.body, new_scope=True)
            if not isinstance(rt, (ast.TypeVoid, ast.TypeDontCare)) and not self.always_returns(
                f.body
            ):
                self.report(self.error(f, f"'{f.name}' does not return a value on all paths"))


def arr_elem(t: ast.Type) -> ast.Type:
    """Element type of an array of instances."""
    return t.elem if isinstance(t, ast.TypeStack) else t
