"""Calls, constructor calls, instantiations and generic type-argument inference.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T
from .constfold import expr_str, try_const_value
from .scope import BUILTIN_METHODS, SIZE_METHODS
from .types import type_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object

Binding = dict[ast.Node, "ast.Type | None"]

_CALLABLES = (ast.ActionDecl, ast.FunctionDecl, ast.ExternFunctionDecl, ast.MethodDecl)
_CONTAINER_TYPES = (ast.ParserDecl, ast.ControlDecl, ast.ParserTypeDecl, ast.ControlTypeDecl)


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


def _is_optional(p: ast.Parameter) -> bool:
    return ast.annotation(p, "optional") is not None


class CallChecker(_Base):
    """Call rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Helpers

    def canon(self, t: ast.Type | None) -> ast.Type:
        """Canonical form of already-checked type syntax (unknown when it failed to check)."""
        if t is None:
            return ast.TypeVoid()
        try:
            return T.resolve_type(t)
        except ValueError:
            return ast.TypeDontCare()

    def ptype(self, p: ast.Parameter) -> ast.Type:
        """Canonical type of a checked parameter."""
        t = self.dtype.get(p)
        if t is None:
            t = self.canon(p.ptype)
            self.dtype[p] = t
        return t

    def bind(
        self,
        params: list[ast.Parameter],
        args: list[ast.Argument],
        where: ast.Node,
        what: str,
        allow_missing: bool = False,
    ) -> list[tuple[ast.Parameter, ast.Argument | None]]:
        """Match arguments to parameters (positional or all named); report missing ones."""
        named = [a for a in args if a.name]
        if named and len(named) != len(args):
            raise self.error(where, f"{what}: either all or none of the arguments must be named")
        slots: dict[str, ast.Argument] = {}
        if named:
            pnames = {p.name for p in params}
            for a in args:
                if a.name not in pnames:
                    raise self.error(a, f"{what} has no parameter named '{a.name}'")
                if a.name in slots:
                    raise self.error(a, f"argument '{a.name}' given twice")
                slots[a.name] = a  # type: ignore[index]
        else:
            if len(args) > len(params):
                raise self.error(
                    where,
                    f"too many arguments for {what}: expected {len(params)}, got {len(args)}",
                )
            for p, a in zip(params, args):
                slots[p.name] = a
        out: list[tuple[ast.Parameter, ast.Argument | None]] = []
        for p in params:
            a = slots.get(p.name)
            if a is None and p.default is None and not _is_optional(p) and not allow_missing:
                raise self.error(where, f"missing argument for parameter '{p.name}' of {what}")
            out.append((p, a))
        return out

    def select_overload(
        self, cands: list[ast.Node], args: list[ast.Argument], where: ast.Node, name: str
    ) -> ast.Node:
        """Pick the overload matching the argument count and names."""
        if len(cands) == 1:
            return cands[0]
        ok = [c for c in cands if self._arity_ok(getattr(c, "params", []), args)]
        if len(ok) == 1:
            return ok[0]
        if not ok:
            raise self.error(
                where, f"no overload of '{name}' takes {len(args)} argument"
                f"{'s' if len(args) != 1 else ''}"
            )
        exact = [c for c in ok if len(getattr(c, "params", [])) == len(args)]
        if len(exact) == 1:
            return exact[0]
        raise self.error(where, f"ambiguous call of '{name}': several overloads match")

    @staticmethod
    def _arity_ok(params: list[ast.Parameter], args: list[ast.Argument]) -> bool:
        names = {p.name for p in params}
        used: set[str] = set()
        for i, a in enumerate(args):
            if a.name:
                if a.name not in names or a.name in used:
                    return False
                used.add(a.name)
            else:
                if i >= len(params):
                    return False
                used.add(params[i].name)
        return all(
            p.name in used or p.default is not None or _is_optional(p) for p in params
        )

    # ----------------------------------------------------------------------------------------
    # Unification

    def unify(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        """Can a value of type ``a`` be passed where ``p`` is expected, binding the type variables
        of ``b`` (keys) that occur in ``p``? Unsized ints and initializers are accepted where an
        implicit conversion exists."""
        if _unknown(a) or _unknown(p):
            return True
        if isinstance(a, ast.TypeName) and isinstance(a.decl, ast.TypeParam) and a.decl in b:
            if not (isinstance(p, ast.TypeName) and p.decl is a.decl):
                cur = b[a.decl]
                if cur is None:
                    b[a.decl] = p
                    return True
                return self.unify(p, cur, b)
        if isinstance(p, ast.TypeName) and isinstance(p.decl, ast.TypeParam) and p.decl in b:
            cur = b[p.decl]
            if cur is None or isinstance(cur, ast.TypeDontCare):
                b[p.decl] = a
                return True
            if isinstance(cur, ast.TypeInfInt) and not isinstance(a, ast.TypeInfInt):
                if isinstance(T.strip_newtype(a), ast.TypeBits):
                    b[p.decl] = a
                    return True
                return False
            if isinstance(cur, ast.TypeTuple) and T.is_struct_like(a):
                if self.unify(a, cur, {}):
                    b[p.decl] = a
                    return True
            return self.unify(cur, a, {})
        if isinstance(a, ast.TypeInfInt):
            base = T.strip_newtype(p)
            return isinstance(base, (ast.TypeBits, ast.TypeInfInt))
        if isinstance(p, ast.TypeInfInt):
            return isinstance(T.enum_underlying(a) or a, ast.TypeBits)
        if isinstance(p, ast.TypeBits):
            if T.is_serializable_enum(a):
                return T.type_eq(T.enum_underlying(a), p)
            return T.type_eq(p, a)
        if isinstance(p, ast.TypeSpecialized):
            if isinstance(a, ast.TypeSpecialized) and a.base.decl is p.base.decl:
                return len(a.args) == len(p.args) and all(
                    self.unify(x, y, b) for x, y in zip(p.args, a.args)
                )
            if isinstance(p.base.decl, (ast.ParserTypeDecl, ast.ControlTypeDecl)):
                return self.unify_signature(p, a, b)
            if T.is_struct_like(p) and isinstance(a, ast.TypeTuple):
                return self._unify_fields(p, a, b)
            return False
        if isinstance(p, ast.TypeName):
            if isinstance(a, ast.TypeName) and a.decl is p.decl:
                return True
            pd = p.decl
            if isinstance(pd, (ast.ParserTypeDecl, ast.ControlTypeDecl)):
                return self.unify_signature(p, a, b)
            if isinstance(pd, ast.StructDecl):
                if isinstance(a, ast.TypeTuple):
                    return self._unify_fields(p, a, b)
                ad = T.type_decl(a)
                if isinstance(ad, ast.StructDecl) and ad.__dict__.get("_sluice_anonymous"):
                    return self._unify_named_fields(p, a, b)
            if isinstance(pd, ast.TypedefDecl) and isinstance(a, ast.TypeInfInt):
                return True
            return False
        if isinstance(p, ast.TypeStack):
            if isinstance(a, ast.TypeStack):
                return p.size == a.size and self.unify(p.elem, a.elem, b)
            if isinstance(a, ast.TypeTuple):
                return len(a.args) == p.size and all(self.unify(p.elem, x, b) for x in a.args)
            return False
        if isinstance(p, ast.TypeTuple):
            if isinstance(a, ast.TypeTuple):
                return len(a.args) == len(p.args) and all(
                    self.unify(x, y, b) for x, y in zip(p.args, a.args)
                )
            return False
        if isinstance(p, ast.TypeList):
            if isinstance(a, ast.TypeList):
                return self.unify(p.elem, a.elem, b)
            if isinstance(a, ast.TypeTuple):
                return all(self.unify(p.elem, x, b) for x in a.args)
            return False
        return T.type_eq(p, a)

    def _unify_fields(self, p: ast.Type, a: ast.TypeTuple, b: Binding) -> bool:
        fields = T.fields_of(p)
        if len(fields) != len(a.args) or T.is_header_union(p):
            return False
        return all(self.unify(ft, x, b) for (_, ft, _), x in zip(fields, a.args))

    def _unify_named_fields(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        af = {n: t for n, t, _ in T.fields_of(a)}
        pf = T.fields_of(p)
        if set(af) != {n for n, _, _ in pf}:
            return False
        return all(self.unify(ft, af[n], b) for n, ft, _ in pf)

    def unify_signature(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        """A parser/control declaration (or type) ``a`` where parser/control type ``p`` is
        expected: same kind, same parameter directions, unifiable parameter types."""
        pd, ad = T.type_decl(p), T.type_decl(a)
        if not isinstance(pd, _CONTAINER_TYPES) or not isinstance(ad, _CONTAINER_TYPES):
            return False
        p_parser = isinstance(pd, (ast.ParserDecl, ast.ParserTypeDecl))
        a_parser = isinstance(ad, (ast.ParserDecl, ast.ParserTypeDecl))
        if p_parser != a_parser:
            return False
        psub: dict[ast.Node, ast.Type] = dict(T.struct_subst(p))
        if not isinstance(p, ast.TypeSpecialized):
            for tp in pd.type_params:
                if tp not in b:
                    b[tp] = None
        asub = T.struct_subst(a)
        if not isinstance(a, ast.TypeSpecialized):
            for tp in ad.type_params:
                if tp not in b:
                    b[tp] = None
        if len(pd.params) < len(ad.params):
            return False
        for extra in pd.params[len(ad.params):]:
            if extra.default is None and not _is_optional(extra):
                return False
        for pp, ap in zip(pd.params, ad.params):
            if pp.direction != ap.direction:
                return False
            pt = T.substitute(self.ptype(pp), psub)
            at = T.substitute(self.ptype(ap), asub)
            if not self.unify(pt, at, b):
                return False
        return True

    # ----------------------------------------------------------------------------------------
    # Calls

    def ex_Call(self, e: ast.Call) -> ast.Expr:
        f = e.func
        if isinstance(f, ast.PathExpr):
            self.at(f)
            if f.name == "error":
                found = self.scope.lookup("error")
                if not found:
                    raise self.error(f, "'error' is a type, not a function")
            decls = self.lookup(f.name, f, f.global_)
            if isinstance(decls[0], T.TYPE_DECLS) and not isinstance(decls[0], ast.TypeParam):
                base = ast.TypeName(f.name, global_=f.global_, loc=f.loc)
                ctype: ast.Type = base
                if e.type_args:
                    ctype = ast.TypeSpecialized(base=base, args=e.type_args, loc=f.loc)
                cc = ast.ConstructorCall(ctype=ctype, args=e.args, loc=e.loc)
                return self.ex_ConstructorCall(cc)
            return self._call_path(e, f, decls)
        if isinstance(f, ast.Member):
            return self._call_member(e, f)
        e.func = self.expr(f)
        raise self.error(e, f"'{expr_str(f)}' is not a function or method")

    def _call_path(self, e: ast.Call, f: ast.PathExpr, decls: list[ast.Node]) -> ast.Expr:
        callables = [d for d in decls if isinstance(d, _CALLABLES)]
        if not callables:
            self.expr(f)
            raise self.error(e, f"'{f.name}' is not a function, action or method")
        cand = self.select_overload(callables, e.args, e, f.name)
        f.decl = cand
        f.type = T.named(cand)
        if isinstance(cand, ast.ActionDecl):
            return self.action_call(e, cand)
        if isinstance(cand, ast.MethodDecl):
            subst = T.struct_subst(self.dtype.get(self.instance)) if self.instance else {}
            return self.generic_call(e, cand, cand.params, cand.type_params, cand.rtype, subst)
        assert isinstance(cand, (ast.FunctionDecl, ast.ExternFunctionDecl))
        if self.in_select:
            raise self.error(e, "no function calls are allowed in this context")
        if (
            cand.name == "verify"
            and isinstance(cand, ast.ExternFunctionDecl)
            and self.parser is None
        ):
            raise self.error(e, "verify may only be invoked in parsers")
        r = self.generic_call(e, cand, cand.params, cand.type_params, cand.rtype, {})
        if cand.name == "static_assert" and isinstance(cand, ast.ExternFunctionDecl) and e.args:
            self._static_assert(e)
        return r

    def _static_assert(self, e: ast.Call) -> None:
        cond = e.args[0].expr
        v = try_const_value(cond)
        if v is None:
            if not self.compile_time_known(cond):
                raise self.error(cond, "the condition of static_assert must be a constant")
            return
        if v is False:
            msg = "static assertion failed"
            if len(e.args) > 1 and isinstance(e.args[1].expr, ast.StringLit):
                msg += ": " + e.args[1].expr.value
            raise self.error(e, msg)

    def generic_call(
        self,
        e: ast.Call,
        callee: ast.Node,
        params: list[ast.Parameter],
        type_params: list[ast.TypeParam],
        rtype: ast.Type | None,
        subst: dict[ast.Node, ast.Type],
        what: str | None = None,
    ) -> ast.Expr:
        """Check a call of a (possibly generic) function, method or apply: bind arguments,
        infer type arguments, convert arguments and set the result type."""
        name = what or f"'{getattr(callee, 'name', '?')}'"
        b: Binding = {tp: None for tp in type_params}
        if e.type_args:
            if len(e.type_args) != len(type_params):
                raise self.error(
                    e,
                    f"{name} expects {len(type_params)} type argument"
                    f"{'s' if len(type_params) != 1 else ''}, not {len(e.type_args)}",
                )
            for tp, ta in zip(type_params, e.type_args):
                ct = self.ctype(ta, dontcare_ok=True)
                if not isinstance(ct, ast.TypeDontCare):
                    b[tp] = ct
        pairs = self.bind(params, e.args, e, name)
        ptypes = [T.substitute(self.ptype(p), subst) for p, _ in pairs]
        for (p, a), pt in zip(pairs, ptypes):
            if a is None:
                continue
            self.at(a)
            a.expr = self.expr(a.expr)
            if isinstance(a.expr, ast.DontCare) and p.direction not in ("out", "inout"):
                if not T.type_vars_in(pt) - set(b):
                    pass
        # Sized arguments first, so unsized constants do not fix a type variable's width.
        order = sorted(
            (i for i, (_, a) in enumerate(pairs) if a is not None),
            key=lambda i: isinstance(pairs[i][1].expr.type, ast.TypeInfInt),  # type: ignore
        )
        for i in order:
            p, a = pairs[i]
            assert a is not None
            pt = ptypes[i]
            if not T.type_vars_in(pt) & set(b):
                continue
            if not self.unify(T.substitute(pt, self._bound(b)), a.expr.type, b):
                raise self.error(
                    a,
                    f"argument '{expr_str(a.expr)}' of type {T.describe_type(a.expr.type)} does"
                    f" not match parameter '{p.name}' of type"
                    f" {T.describe_type(T.substitute(pt, self._bound(b)))} of {name}",
                )
        # Type variables used only by absent optional parameters are don't-cares.
        for (_p, a), pt in zip(pairs, ptypes):
            if a is None:
                for v in T.type_vars_in(pt):
                    if v in b and b[v] is None:
                        b[v] = ast.TypeDontCare()
        for tp, bt in b.items():
            if isinstance(bt, ast.TypeInfInt) or (
                isinstance(bt, ast.TypeTuple) and _has_infint(bt)
            ):
                raise self.error(
                    e, f"could not infer a width for type parameter '{tp.name}' of {name}"
                )
        final = self._bound(b)
        for (p, a), pt in zip(pairs, ptypes):
            if a is None:
                continue
            st = T.substitute(pt, final)
            self.at(a)
            raw = self.ptype(p)
            if isinstance(st, ast.TypeDontCare) and not isinstance(raw, ast.TypeDontCare):
                raise self.error(
                    a, f"could not infer a type for parameter '{p.name}' of {name}"
                    " (it is bound to the don't-care type '_')"
                )
            if T.type_vars_in(st) & {tp for tp, v in b.items() if v is None}:
                raise self.error(
                    a, f"could not infer a type for parameter '{p.name}' of {name}"
                )
            sd = T.type_decl(st)
            if isinstance(sd, (ast.TableDecl, ast.ActionDecl, ast.ParserDecl, ast.ControlDecl,
                               ast.ParserTypeDecl, ast.ControlTypeDecl, ast.PackageTypeDecl)):
                raise self.error(a, f"argument '{expr_str(a.expr)}' cannot have type {T.describe_type(st)}")
            if isinstance(sd, ast.StructDecl) and sd.__dict__.get("_sluice_anonymous"):
                raise self.error(
                    a, f"cannot infer a struct type for the initializer '{expr_str(a.expr)}'"
                )
            if p.direction and (isinstance(st, ast.TypeString) or isinstance(sd, ast.ExternDecl)):
                if not T.type_eq(raw, st):
                    raise self.error(
                        a, f"a parameter with type {type_str(st)} cannot have a direction"
                    )
            self.check_argument(p, a, st, name)
        rt = T.substitute(T.substitute(self.canon(rtype), subst), final) if rtype else ast.TypeVoid()
        unresolved = T.type_vars_in(rt) & set(b)
        if unresolved:
            v = next(iter(unresolved))
            raise self.error(
                e, f"cannot infer type parameter '{v.name}' of {name}; give it explicitly"
            )
        if type_params:
            e.type_args = [final.get(tp, ast.TypeDontCare()) for tp in type_params]
        rd = T.type_decl(rt)
        if isinstance(rd, (ast.ParserDecl, ast.ControlDecl, ast.ParserTypeDecl,
                           ast.ControlTypeDecl, ast.PackageTypeDecl)):
            raise self.error(e, f"{name}: illegal return type {type_str(rt)}")
        e.type = rt
        return e

    @staticmethod
    def _bound(b: Binding) -> dict[ast.Node, ast.Type]:
        return {k: v for k, v in b.items() if v is not None}

    def check_argument(
        self, p: ast.Parameter, a: ast.Argument, pt: ast.Type, name: str
    ) -> None:
        """Check one argument against its parameter (direction, l-value, conversion)."""
        if p.direction in ("out", "inout"):
            if isinstance(a.expr, ast.DontCare):
                a.expr.type = pt
                return
            self.check_lvalue(a.expr, f"passed to {p.direction} parameter '{p.name}'")
            at = a.expr.type
            if _unknown(at) or _unknown(pt) or T.is_type_var(pt):
                return
            if T.type_eq(at, pt):
                return
            if isinstance(a.expr, ast.Slice) and isinstance(pt, ast.TypeBits):
                if T.type_eq(at, pt):
                    return
            raise self.error(
                a,
                f"argument '{expr_str(a.expr)}' of type {T.describe_type(at)} cannot be passed"
                f" to {p.direction} parameter '{p.name}' of type {T.describe_type(pt)} of {name}",
            )
        if isinstance(a.expr, ast.DontCare):
            raise self.error(a, f"'_' can only be passed to out parameters, not to '{p.name}'")
        if isinstance(a.expr, ast.Default):
            raise self.error(a, "'default' cannot be used as an argument")
        if T.is_type_var(pt):
            return
        try:
            a.expr = self.coerce(a.expr, pt, f"argument '{p.name}' of {name}")
        except Exception:
            raise
        if p.direction == "" and self.in_ctor_args:
            self.require_known(a.expr, f"argument '{p.name}' of {name}")

    # ----------------------------------------------------------------------------------------
    # Actions

    def action_call(self, e: ast.Call, action: ast.ActionDecl) -> ast.Expr:
        """A call of an action: directly, in a table's ``actions`` list (partial: data-plane
        arguments only), or as a default action / entry action (all arguments)."""
        if self.parser is not None and self.function is None:
            raise self.error(e, "actions cannot be called from parsers")
        if self.function is not None:
            raise self.error(e, "functions cannot call actions")
        if e.type_args:
            raise self.error(e, "actions take no type arguments")
        prop = self.table_prop if self.table is not None else None
        in_list = prop == "actions"
        pairs = self.bind(action.params, e.args, e, f"action '{action.name}'", allow_missing=True)
        for p, a in pairs:
            pt = self.ptype(p)
            if a is None:
                if p.direction == "" and in_list:
                    continue
                if p.default is not None or _is_optional(p):
                    continue
                raise self.error(e, f"parameter '{p.name}' of action '{action.name}' must be bound")
            self.at(a)
            if p.direction == "" and in_list:
                raise self.error(
                    a,
                    f"parameter '{p.name}' of action '{action.name}' cannot be bound:"
                    " it is set by the control plane",
                )
            a.expr = self.expr(a.expr)
            self.check_argument(p, a, pt, f"action '{action.name}'")
            if p.direction == "" and prop in ("default_action", "entries"):
                self.require_known(a.expr, f"argument '{p.name}' of action '{action.name}'")
        e.type = ast.TypeVoid()
        return e

    # ----------------------------------------------------------------------------------------
    # Methods

    def _call_member(self, e: ast.Call, f: ast.Member) -> ast.Expr:
        base = f.expr
        sizeq = f.name in SIZE_METHODS and not e.args
        with self.ctx(in_size_query=sizeq or self.in_size_query):
            if isinstance(base, (ast.PathExpr, ast.TypeExpr, ast.Member)):
                base = self.expr(base, allow_type=True)
            else:
                base = self.expr(base)
        f.expr = base
        name = f.name
        bt = base.type
        self.at(f)
        is_type = self.is_type_ref(base)
        bd = T.type_decl(bt)
        if name in SIZE_METHODS and not e.args and not e.type_args and not isinstance(
            bd, (ast.ExternDecl, ast.TableDecl)
        ):
            f.decl = BUILTIN_METHODS[name]
            f.type = T.named(f.decl)
            if not _unknown(bt):
                try:
                    T.max_size_in_bits(bt)  # type: ignore[arg-type]
                except (T.NoWidth, ValueError) as exc:
                    raise self.error(
                        e, f"'{name}' is not defined for values of type {type_str(bt)}"
                    ) from exc
            e.type = ast.TypeInfInt()
            return e
        if is_type:
            if isinstance(bd, (ast.ParserDecl, ast.ControlDecl)) and name == "apply":
                if bd.ctor_params:
                    raise self.error(
                        e, f"'{bd.name}' has constructor parameters and must be instantiated"
                    )
                return self._container_apply(e, f, bt, bd)  # direct invocation
            raise self.error(e, f"cannot call '{name}' on type {type_str(bt)}")
        if _unknown(bt):
            for a in e.args:
                a.expr = self.expr(a.expr)
            f.type = ast.TypeDontCare()
            e.type = ast.TypeDontCare()
            return e
        if isinstance(bd, ast.StructDecl) and bd.flavor in ("header", "header_union"):
            if name == "isValid" or (
                bd.flavor == "header" and name in ("setValid", "setInvalid")
            ):
                return self._builtin_call(e, f, name)
        if isinstance(bt, ast.TypeStack) and name in ("push_front", "pop_front"):
            if self.parser is not None:
                raise self.error(e, f"'{name}' cannot be used in a parser")
            self.check_lvalue(base, f"modified by {name}")
            r = self._builtin_call(e, f, name)
            if e.args:
                n = try_const_value(e.args[0].expr)
                if not isinstance(n, int) or isinstance(n, bool):
                    raise self.error(e.args[0], f"the count of '{name}' must be a constant")
                if n < 0:
                    raise self.error(e.args[0], f"the count of '{name}' cannot be negative")
            return r
        if isinstance(bd, ast.ExternDecl):
            methods = [m for m in bd.methods if m.name == name and m.name != bd.name]
            if not methods:
                raise self.error(f, f"extern {bd.name} has no method '{name}'")
            if self.in_select:
                raise self.error(e, "no function calls are allowed in this context")
            m = self.select_overload(methods, e.args, e, name)
            assert isinstance(m, ast.MethodDecl)
            f.decl = m
            f.type = T.named(m)
            subst = T.struct_subst(bt)
            r = self.generic_call(
                e, m, m.params, m.type_params, m.rtype, subst, f"method '{bd.name}.{name}'"
            )
            if bd.name in ("packet_in", "packet_out"):
                self._core_method(e, bd.name, name)
            return r
        if isinstance(bd, ast.TableDecl):
            if name != "apply":
                raise self.error(f, f"table '{bd.name}' has no method '{name}'")
            return self._table_apply(e, f, bd)
        if isinstance(bd, _CONTAINER_TYPES):
            if name != "apply":
                raise self.error(f, f"'{expr_str(base)}' has no method '{name}'")
            return self._container_apply(e, f, bt, bd)
        raise self.error(
            f, f"'{expr_str(base)}' of type {T.describe_type(bt)} has no method '{name}'"
        )

    def _core_method(self, e: ast.Call, ext: str, name: str) -> None:
        """The extra rules of core.p4's packet_in/packet_out methods."""
        if ext == "packet_in" and name == "extract" and e.args:
            arg = e.args[0].expr
            at = arg.type
            if _unknown(at) or isinstance(arg, ast.DontCare):
                return
            if not T.is_header(at):
                raise self.error(arg, f"'{expr_str(arg)}': the argument of extract must be a header")
            nvar = sum(1 for _, ft, _ in T.fields_of(at) if isinstance(ft, ast.TypeVarbit))
            if len(e.args) == 1 and nvar:
                raise self.error(
                    arg, f"'{expr_str(arg)}': a header with varbit fields needs the two-argument extract"
                )
            if len(e.args) == 2:
                if nvar == 0:
                    raise self.error(arg, f"'{expr_str(arg)}': the argument should contain a varbit field")
                if nvar > 1:
                    raise self.error(arg, f"'{expr_str(arg)}': a header can have at most one varbit field")
        elif ext == "packet_in" and name == "lookahead":
            if len(e.type_args) != 1:
                return
            ta = e.type_args[0]
            if isinstance(ta, ast.TypeVoid):
                raise self.error(e, "illegal type argument void for 'lookahead'")
            if _has_varbit(ta):
                raise self.error(e, f"the type argument of 'lookahead' must have a fixed width, not {type_str(ta)}")
        elif ext == "packet_out" and name == "emit" and e.args:
            arg = e.args[0].expr
            if not self._emittable(arg.type):
                raise self.error(
                    arg,
                    f"'{expr_str(arg)}': the argument of emit must be a header, stack or union,"
                    " or a struct or tuple of such types",
                )

    def _emittable(self, t: ast.Type | None) -> bool:
        if _unknown(t) or T.is_header(t) or T.is_header_union(t) or isinstance(t, ast.TypeStack):
            return True
        if T.is_struct(t):
            return all(self._emittable(ft) for _, ft, _ in T.fields_of(t))  # type: ignore[arg-type]
        if isinstance(t, ast.TypeTuple):
            return all(self._emittable(a) for a in t.args)
        return False

    def _builtin_call(self, e: ast.Call, f: ast.Member, name: str) -> ast.Expr:
        m = BUILTIN_METHODS[name]
        f.decl = m
        f.type = T.named(m)
        if e.type_args:
            raise self.error(e, f"'{name}' takes no type arguments")
        if name in ("setValid", "setInvalid"):
            self.check_lvalue(f.expr, f"modified by {name}")
        pairs = self.bind(m.params, e.args, e, f"'{name}'")
        for p, a in pairs:
            if a is not None:
                a.expr = self.expr(a.expr)
                self.check_argument(p, a, self.ptype(p), f"'{name}'")
        e.type = T.resolve_type(m.rtype) if m.rtype is not None else ast.TypeVoid()
        return e

    def _table_apply(self, e: ast.Call, f: ast.Member, table: ast.TableDecl) -> ast.Expr:
        if self.action is not None:
            raise self.error(e, "tables cannot be applied from actions")
        if self.function is not None:
            raise self.error(e, "tables cannot be applied from functions")
        if self.in_select:
            raise self.error(e, "no function calls are allowed in this context")
        if e.args or e.type_args:
            raise self.error(e, f"table '{table.name}'.apply() takes no arguments")
        f.decl = table
        f.type = T.named(table, "apply")
        res = table.__dict__.get("_sluice_apply_result")
        e.type = T.named(res) if res is not None else ast.TypeDontCare()
        return e

    def _container_apply(
        self, e: ast.Call, f: ast.Member, bt: ast.Type, d: ast.Node
    ) -> ast.Expr:
        is_parser = isinstance(d, (ast.ParserDecl, ast.ParserTypeDecl))
        if self.action is not None:
            raise self.error(e, "apply cannot be called from actions")
        if self.function is not None:
            raise self.error(e, "apply cannot be called from functions")
        if is_parser and self.parser is None:
            raise self.error(e, "a parser can only be applied from a parser")
        if not is_parser and self.control is None:
            raise self.error(e, "a control can only be applied from a control")
        f.decl = d
        f.type = T.named(d, "apply")
        subst = T.struct_subst(bt)
        return self.generic_call(
            e, d, d.params, [], None, subst, f"'{expr_str(f.expr)}.apply'"  # type: ignore
        )

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
                isinstance(T.type_decl(self.ptype(p)), (ast.ParserTypeDecl, ast.ControlTypeDecl,
                                                        ast.PackageTypeDecl))
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
                if _has_infint(bt):
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
                raise self.error(d, f"{T.describe_type(ct)} cannot be instantiated at the top level")
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
            raise self.error(d, f"instance '{d.name}' must implement the abstract methods of {ext.name}")
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
                    self.report(self.error(item, "only abstract method implementations are allowed here"))
                    continue
                m = virt.get(item.name)
                if m is None:
                    self.report(self.error(item, f"'{item.name}' is not an abstract method of {ext.name}"))
                    continue
                if item.type_params:
                    self.report(self.error(item, "abstract method implementations cannot be generic"))
                    continue
                done.add(item.name)
                self.guarded(self._impl, item, m, subst)
        for name, m in virt.items():
            if name not in done and ast.annotation(m, "optional") is None:
                self.report(
                    self.error(d, f"abstract method '{name}' of {ext.name} is not implemented")
                )

    def _impl(self, f: ast.FunctionDecl, m: ast.MethodDecl, subst: dict[ast.Node, ast.Type]) -> None:
        with self.new_scope("function", f):
            rt = self.guarded(self.ctype, f.rtype) or ast.TypeDontCare()
            types_ = self.check_params(f.params, "method_impl", self.scope)
            want_rt = T.substitute(self.canon(m.rtype), subst) if m.rtype else ast.TypeVoid()
            ok = len(types_) <= len(m.params) and (_unknown(rt) or T.type_eq(rt, want_rt))
            ok = ok and all(_is_optional(mp) for mp in m.params[len(types_):])
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


def _has_varbit(t: ast.Type) -> bool:
    if isinstance(t, (ast.TypeVarbit,)) or T.is_header_union(t):
        return True
    if isinstance(t, ast.TypeStack):
        return _has_varbit(t.elem)
    if isinstance(t, ast.TypeTuple):
        return any(_has_varbit(a) for a in t.args)
    if T.is_struct_like(t):
        return any(isinstance(ft, ast.TypeVarbit) for _, ft, _ in T.fields_of(t))
    return False


def _has_infint(t: ast.Type) -> bool:
    if isinstance(t, ast.TypeInfInt):
        return True
    if isinstance(t, ast.TypeTuple):
        return any(_has_infint(a) for a in t.args)
    return False
