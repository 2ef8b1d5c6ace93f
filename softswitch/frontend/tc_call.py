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
                where,
                f"no overload of '{name}' takes {len(args)} argument"
                f"{'s' if len(args) != 1 else ''}",
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
        return all(p.name in used or p.default is not None or _is_optional(p) for p in params)

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
                isinstance(bt, ast.TypeTuple) and T.contains_infint(bt)
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
                    a,
                    f"could not infer a type for parameter '{p.name}' of {name}"
                    " (it is bound to the don't-care type '_')",
                )
            if T.type_vars_in(st) & {tp for tp, v in b.items() if v is None}:
                raise self.error(a, f"could not infer a type for parameter '{p.name}' of {name}")
            sd = T.type_decl(st)
            if isinstance(
                sd,
                (
                    ast.TableDecl,
                    ast.ActionDecl,
                    ast.ParserDecl,
                    ast.ControlDecl,
                    ast.ParserTypeDecl,
                    ast.ControlTypeDecl,
                    ast.PackageTypeDecl,
                ),
            ):
                raise self.error(
                    a, f"argument '{expr_str(a.expr)}' cannot have type {T.describe_type(st)}"
                )
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
        rt = (
            T.substitute(T.substitute(self.canon(rtype), subst), final) if rtype else ast.TypeVoid()
        )
        unresolved = T.type_vars_in(rt) & set(b)
        if unresolved:
            v = next(iter(unresolved))
            raise self.error(
                e, f"cannot infer type parameter '{v.name}' of {name}; give it explicitly"
            )
        if type_params:
            e.type_args = [final.get(tp, ast.TypeDontCare()) for tp in type_params]
        rd = T.type_decl(rt)
        if isinstance(
            rd,
            (
                ast.ParserDecl,
                ast.ControlDecl,
                ast.ParserTypeDecl,
                ast.ControlTypeDecl,
                ast.PackageTypeDecl,
            ),
        ):
            raise self.error(e, f"{name}: illegal return type {type_str(rt)}")
        e.type = rt
        return e

    @staticmethod
    def _bound(b: Binding) -> dict[ast.Node, ast.Type]:
        return {k: v for k, v in b.items() if v is not None}

    def check_argument(self, p: ast.Parameter, a: ast.Argument, pt: ast.Type, name: str) -> None:
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
        if (
            name in SIZE_METHODS
            and not e.args
            and not e.type_args
            and not isinstance(bd, (ast.ExternDecl, ast.TableDecl))
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
            if name == "isValid" or (bd.flavor == "header" and name in ("setValid", "setInvalid")):
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
                raise self.error(
                    arg, f"'{expr_str(arg)}': the argument of extract must be a header"
                )
            nvar = sum(1 for _, ft, _ in T.fields_of(at) if isinstance(ft, ast.TypeVarbit))
            if len(e.args) == 1 and nvar:
                raise self.error(
                    arg,
                    f"'{expr_str(arg)}': a header with varbit fields needs the two-argument extract",
                )
            if len(e.args) == 2:
                if nvar == 0:
                    raise self.error(
                        arg, f"'{expr_str(arg)}': the argument should contain a varbit field"
                    )
                if nvar > 1:
                    raise self.error(
                        arg, f"'{expr_str(arg)}': a header can have at most one varbit field"
                    )
        elif ext == "packet_in" and name == "lookahead":
            if len(e.type_args) != 1:
                return
            ta = e.type_args[0]
            if isinstance(ta, ast.TypeVoid):
                raise self.error(e, "illegal type argument void for 'lookahead'")
            if T.has_varbit(ta):
                raise self.error(
                    e,
                    f"the type argument of 'lookahead' must have a fixed width, not {type_str(ta)}",
                )
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

    def _container_apply(self, e: ast.Call, f: ast.Member, bt: ast.Type, d: ast.Node) -> ast.Expr:
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
            e,
            d,
            d.params,
            [],
            None,
            subst,
            f"'{expr_str(f.expr)}.apply'",  # type: ignore
        )
