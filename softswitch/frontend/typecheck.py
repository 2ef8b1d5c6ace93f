"""Name resolution, type checking and width inference for P4_16 (spec 1.2.x).

:func:`check_program` walks the parsed program once, in declaration order (P4 requires
declaration before use, except for parser states and type variables), and annotates it in place:

* ``decl`` on every :class:`~.ast.PathExpr`, :class:`~.ast.TypeName` and :class:`~.ast.Member`
  that names a declaration: a variable, constant, parameter, instance, action, function, table,
  parser state, type... For ``s.f`` on a struct/header it is the :class:`~.ast.StructField`; for
  ``E.X`` the :class:`~.ast.EnumMember`; for ``error.X`` the :class:`~.ast.ErrorDecl` declaring X;
  for an extern method call the chosen overload's :class:`~.ast.MethodDecl`; for ``t.apply`` the
  :class:`~.ast.TableDecl` (the control/parser declaration or type for ``c.apply``); for built-in
  methods (``isValid``, ``push_front``, ``minSizeInBits``...) a synthetic ``MethodDecl`` from
  :data:`.scope.BUILTIN_METHODS`; for stack properties (``next``, ``last``, ``size``...) a
  synthetic field from :data:`.scope.STACK_PROPERTIES`.
* ``type`` on every expression: the canonical type described in :mod:`.types`. An unsized integer
  literal used where a ``bit<W>``/``int<W>`` is expected keeps its :class:`~.ast.IntLit` node with
  ``type`` set to that sized type. An expression whose own type is sized but whose operands are
  typed ``int`` is a compile-time constant: fold it with :func:`const_value`. Select expressions
  are typed ``void``; ``t.apply()`` has a per-table synthetic struct type with fields ``hit``,
  ``miss`` and ``action_run`` (see :func:`apply_result_fields`).
* Widths in declared types are folded: every ``TypeBits.size``, ``TypeVarbit.size`` and
  ``TypeStack.size`` in fields, parameters, variables... is set, so :func:`resolve_type` and
  :func:`width_of` work directly on declaration syntax.
* Calls: a ``Call`` whose callee names a type (``MyParser()``, ``Checksum16()``) is rewritten into
  a :class:`~.ast.ConstructorCall`; a generic call's ``type_args`` are replaced by the canonical
  types of all its type parameters (inferred where omitted or ``_``); ``ListExpr``/``StructExpr``
  arguments and initializers that stand for a struct or header get their ``ctype`` set.
  :func:`bind_arguments` pairs a checked call's arguments with the callee's parameters.
* Parsers get synthetic ``accept``/``reject`` states (``loc`` None) appended to ``states``, and a
  state without a transition gets ``transition reject``.

All errors found are raised together as :class:`~.errors.CompileErrors`; an unexpected exception
inside the checker is turned into a located ``internal error`` rather than a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import ast
from . import types as T
from .constfold import NotConstant, const_value, expr_str, is_constant, try_const_value
from .errors import CompileError, CompileErrors, Loc
from .scope import BUILTIN_METHODS, STACK_PROPERTIES, Scope, is_builtin
from .tc_call import CallChecker
from .tc_construct import ConstructChecker
from .tc_convert import ConvertChecker
from .tc_decl import DeclChecker
from .tc_expr import ExprChecker
from .tc_stmt import StmtChecker
from .tc_table import TableChecker
from .tc_unify import UnifyChecker
from .types import (
    field_of,
    fields_of,
    is_header,
    is_header_union,
    is_stack,
    is_struct,
    resolve_type,
    type_str,
    width_of,
)

__all__ = [
    "check_program",
    "const_value",
    "try_const_value",
    "is_constant",
    "resolve_type",
    "width_of",
    "is_header",
    "is_header_union",
    "is_struct",
    "is_stack",
    "fields_of",
    "field_of",
    "type_str",
    "bind_arguments",
    "call_target",
    "apply_result_fields",
    "BUILTIN_METHODS",
    "STACK_PROPERTIES",
    "is_builtin",
]


def check_program(prog: ast.Program) -> ast.Program:
    """Resolve names and check types of ``prog``, annotating it in place; returns ``prog``.

    Raises :class:`~.errors.CompileErrors` listing every error found (each located).
    """
    checker = Checker()
    old_limit = sys.getrecursionlimit()
    if old_limit < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        checker.check(prog)
    except (CompileError, CompileErrors) as err:
        checker.report(err)
    except _Abort:
        pass
    except RecursionError:
        loc = checker.current_loc()
        checker.errors.append(CompileError(loc, "internal error: program nested too deeply"))
    except Exception as exc:  # noqa: BLE001 - turned into a located diagnostic
        loc = checker.current_loc()
        checker.errors.append(CompileError(loc, f"internal error: {type(exc).__name__}: {exc}"))
    finally:
        if old_limit < _RECURSION_LIMIT:
            sys.setrecursionlimit(old_limit)
    if checker.errors:
        raise CompileErrors(checker.errors)
    return prog


def call_target(call: ast.Call | ast.ConstructorCall) -> ast.Node | None:
    """The declaration a checked call invokes (action, function, method, table, control...)."""
    if isinstance(call, ast.ConstructorCall):
        return T.type_decl(call.type)
    f = call.func
    return getattr(f, "decl", None)


def bind_arguments(
    call: ast.Call | ast.ConstructorCall,
) -> list[tuple[ast.Parameter, ast.Expr | None]]:
    """Pairs ``(parameter, argument expression)`` of a checked call, in parameter order.

    Named arguments are matched by name. A parameter without an argument gets its default value
    expression, or None when it is ``@optional`` (or, for a table action in an ``actions`` list,
    set by the control plane).
    """
    target = call_target(call)
    params: list[ast.Parameter] = []
    if isinstance(call, ast.ConstructorCall):
        params = _ctor_params(target, len(call.args), call.args)
    elif isinstance(target, (ast.ActionDecl, ast.FunctionDecl, ast.ExternFunctionDecl)):
        params = target.params
    elif isinstance(target, ast.MethodDecl):
        params = target.params
    elif isinstance(target, (ast.ParserDecl, ast.ControlDecl)):
        params = target.params
    elif isinstance(target, (ast.ParserTypeDecl, ast.ControlTypeDecl)):
        params = target.params
    out: list[tuple[ast.Parameter, ast.Expr | None]] = []
    by_name = {a.name: a.expr for a in call.args if a.name}
    positional = [a.expr for a in call.args if not a.name]
    for i, p in enumerate(params):
        if p.name in by_name:
            out.append((p, by_name[p.name]))
        elif i < len(positional):
            out.append((p, positional[i]))
        else:
            out.append((p, p.default))
    return out


def _ctor_params(
    target: ast.Node | None, nargs: int, args: list[ast.Argument]
) -> list[ast.Parameter]:
    if isinstance(target, (ast.ParserDecl, ast.ControlDecl)):
        return target.ctor_params
    if isinstance(target, ast.PackageTypeDecl):
        return target.params
    if isinstance(target, ast.ExternDecl):
        ctors = [m for m in target.methods if m.name == target.name and m.rtype is None]
        names = {a.name for a in args if a.name}
        for m in ctors:
            if len(m.params) == nargs and names <= {p.name for p in m.params}:
                return m.params
        for m in ctors:
            if _arity_ok(m.params, args):
                return m.params
    return []


def _arity_ok(params: list[ast.Parameter], args: list[ast.Argument]) -> bool:
    names = {p.name: p for p in params}
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
    for p in params:
        if p.name not in used and p.default is None and not _is_optional(p):
            return False
    return True


def _is_optional(p: ast.Parameter) -> bool:
    return ast.annotation(p, "optional") is not None


def _ctor_params_of(d: ast.Node) -> list[ast.Parameter]:
    if isinstance(d, (ast.ParserDecl, ast.ControlDecl)):
        return d.ctor_params
    return getattr(d, "params", [])


def apply_result_fields(table: ast.TableDecl) -> ast.StructDecl | None:
    """The synthetic struct that is the type of ``table.apply()`` (None before checking)."""
    return table.__dict__.get("_sluice_apply_result")


# Deeply nested expressions (long ``a ++ b ++ ...`` chains) recurse once per level.
_RECURSION_LIMIT = 20000

# p4c keeps widths in a C int; wider types are refused.
_MAX_WIDTH = (1 << 31) - 1


class _Abort(Exception):
    """Internal: abandon the current construct after its error has been reported."""


class Checker(
    DeclChecker,
    ExprChecker,
    ConvertChecker,
    CallChecker,
    UnifyChecker,
    ConstructChecker,
    StmtChecker,
    TableChecker,
):
    """The state of one checking run; see :func:`check_program`."""

    def __init__(self) -> None:
        self.errors: list[CompileError] = []
        self.global_scope = Scope(None, "program")
        self.scope = self.global_scope
        # Canonical types of value declarations (parameters, variables, constants, instances,
        # value sets) and of typedef targets.
        self.dtype: dict[ast.Node, ast.Type] = {}
        self.error_members: dict[str, ast.ErrorDecl] = {}
        self.match_kinds: dict[str, ast.MatchKindDecl] = {}
        self.cur: ast.Node | None = None
        self.last_loc: Loc | None = None
        # Context of the construct being checked.
        self.parser: ast.ParserDecl | None = None
        self.control: ast.ControlDecl | None = None
        self.action: ast.ActionDecl | None = None
        self.function: ast.FunctionDecl | None = None
        self.function_rtype: ast.Type | None = None
        self.table: ast.TableDecl | None = None
        self.table_prop: str | None = None
        self.instance: ast.Instantiation | None = None
        self.loop_depth = 0
        self.in_select = False
        self.in_state = False
        self.states: dict[str, ast.ParserState] | None = None
        self.in_apply_block = False
        self.in_ctor_args = False
        self.in_switch_expr = False
        self.in_size_query = False

    # ----------------------------------------------------------------------------------------
    # Diagnostics

    def current_loc(self) -> Loc | None:
        """Location of the node being checked (for internal errors)."""
        if self.cur is not None and self.cur.loc is not None:
            return self.cur.loc
        return self.last_loc

    def at(self, node: ast.Node | None) -> None:
        """Note ``node`` as the one being checked."""
        if node is not None:
            self.cur = node
            if node.loc is not None:
                self.last_loc = node.loc

    def error(self, where: ast.Node | Loc | None, msg: str) -> CompileError:
        """A located error (to ``raise`` or :meth:`report`)."""
        if isinstance(where, ast.Node):
            loc = where.loc if where.loc is not None else self.current_loc()
        else:
            loc = where if where is not None else self.current_loc()
        return CompileError(loc, msg)

    def report(self, err: CompileError | CompileErrors) -> None:
        """Record an error and carry on."""
        if isinstance(err, CompileErrors):
            for e in err.errors:
                self.report(e)
            return
        if err.loc is None:
            err.loc = self.current_loc()
        for prev in self.errors:
            if prev.loc == err.loc and prev.message == err.message:
                return
        self.errors.append(err)

    def guarded(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)``, reporting (not propagating) a compile error; None on error."""
        try:
            return fn(*args)
        except CompileError as e:
            self.report(e)
        except _Abort:
            pass
        return None

    @contextmanager
    def ctx(self, **changes: Any) -> Iterator[None]:
        """Temporarily change context attributes."""
        saved = {k: getattr(self, k) for k in changes}
        for k, v in changes.items():
            setattr(self, k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(self, k, v)

    @contextmanager
    def new_scope(self, kind: str, owner: ast.Node | None = None) -> Iterator[Scope]:
        """Open a nested scope for the duration of the ``with``."""
        saved = self.scope
        self.scope = Scope(saved, kind, owner)
        try:
            yield self.scope
        finally:
            self.scope = saved

    # ----------------------------------------------------------------------------------------
    # Declaring names

    def declare(self, name: str, decl: ast.Node, scope: Scope | None = None) -> None:
        """Add ``decl`` to ``scope`` (the current one by default), checking for duplicates and for
        declarations that shadow a parameter (both errors in P4)."""
        s = scope if scope is not None else self.scope
        prev = s.local(name)
        if prev:
            if not self._may_overload(prev, decl):
                p = prev[0]
                where = f" (previous declaration at {p.loc})" if p.loc is not None else ""
                self.report(self.error(decl, f"duplicate declaration of '{name}'{where}"))
                return
        elif (
            not isinstance(decl, (ast.Parameter, ast.TypeParam))
            and s.parent is not None
            and s.kind in ("block", "state", "for")
        ):
            outer = s.parent.lookup(name)
            if (
                outer
                and isinstance(outer[0], ast.Parameter)
                and not isinstance(
                    decl, (ast.ActionDecl, ast.FunctionDecl, ast.TableDecl, ast.ParserState)
                )
            ):
                self.report(
                    self.error(decl, f"declaration of '{name}' shadows a parameter '{name}'")
                )
        s.add(name, decl)

    @staticmethod
    def _may_overload(prev: list[ast.Node], decl: ast.Node) -> bool:
        """Functions, extern functions and methods overload; so do parsers, controls and
        packages with different constructor parameters (as p4c allows)."""
        callables = (ast.FunctionDecl, ast.ExternFunctionDecl, ast.MethodDecl)
        containers = (ast.ParserDecl, ast.ControlDecl, ast.PackageTypeDecl)
        if not isinstance(decl, callables + containers):
            return False
        for p in prev:
            if type(p) is not type(decl):
                return False
            if isinstance(decl, callables):
                continue
            pp = _ctor_params_of(p)
            dp = _ctor_params_of(decl)
            if len(pp) == len(dp) and {x.name for x in pp} == {x.name for x in dp}:
                return False
        return True

    # ----------------------------------------------------------------------------------------
    # Name lookup

    def lookup(self, name: str, where: ast.Node, global_: bool = False) -> list[ast.Node]:
        """Declarations a value-position name denotes; raises when there is none."""
        scope = self.global_scope if global_ else self.scope
        found = scope.lookup(name)
        if found:
            return found
        mk = self.match_kinds.get(name)
        if mk is not None:
            return [mk]
        raise self.error(where, f"'{name}' is not declared")

    def lookup_type_decl(self, name: str, where: ast.Node, global_: bool = False) -> ast.Node:
        """The declaration a type-position name denotes; raises when there is none."""
        scope = self.global_scope if global_ else self.scope
        found = scope.lookup(name, types_only=True)
        if not found:
            other = scope.lookup(name)
            if other:
                raise self.error(where, f"'{name}' is not a type")
            raise self.error(where, f"type '{name}' is not declared")
        return found[0]

    # ----------------------------------------------------------------------------------------
    # Type syntax -> canonical types

    def const_int(self, e: ast.Expr, what: str) -> int:
        """Check ``e`` and fold it to an integer constant (widths, sizes, indices)."""
        e2 = self.expr(e)
        if e2 is not e:  # only calls are rewritten; they are not constant integers anyway
            raise self.error(e, f"{what} must be a compile-time constant integer")
        try:
            v = const_value(e)
        except NotConstant as exc:
            raise self.error(e, f"{what} must be a compile-time constant") from exc
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(e, f"{what} must be an integer, not {expr_str(e)}")
        return v

    def ctype(
        self, t: ast.Type, *, generic_ok: bool = False, dontcare_ok: bool = False
    ) -> ast.Type:
        """Resolve type syntax ``t`` in the current scope: set ``decl`` on its names, fold its
        widths, report errors, and return the canonical type."""
        self.at(t)
        if isinstance(t, ast.TypeBits):
            if t.width is None:
                size = t.size if t.size is not None else 1
            else:
                size = self.const_int(t.width, "the width of a bit<>/int<> type")
            if size < 0:
                raise self.error(t, f"invalid width {size} for {'int' if t.signed else 'bit'}<>")
            if size > _MAX_WIDTH:
                raise self.error(t, f"width {size} is too large (at most {_MAX_WIDTH} bits)")
            if size == 0 and t.signed:
                raise self.error(t, "the width of a signed int<> type cannot be zero")
            t.size = size
            return T.bits(size, t.signed)
        if isinstance(t, ast.TypeVarbit):
            if t.width is None:
                if t.size is None:
                    raise self.error(t, "varbit<> needs a width")
                size = t.size
            else:
                size = self.const_int(t.width, "the width of a varbit<> type")
            if size < 0:
                raise self.error(t, f"invalid width {size} for varbit<>")
            if size > _MAX_WIDTH:
                raise self.error(t, f"width {size} is too large (at most {_MAX_WIDTH} bits)")
            t.size = size
            return ast.TypeVarbit(width=None, size=size)
        if isinstance(t, ast.TypeName):
            if t.name == "_" and not t.global_:
                if dontcare_ok:
                    return ast.TypeDontCare()
                raise self.error(t, "'_' cannot be used as a type here")
            d = self.lookup_type_decl(t.name, t, t.global_)
            t.decl = d
            if isinstance(d, ast.TypedefDecl) and not d.newtype:
                target = self.dtype.get(d)
                if target is None:
                    raise _Abort()
                return target
            if isinstance(d, (ast.ParserDecl, ast.ControlDecl)) and (
                d is self.parser or d is self.control
            ):
                raise self.error(t, f"'{t.name}' cannot be referred to inside itself")
            if not generic_ok and getattr(d, "type_params", None):
                if not isinstance(d, (ast.ParserDecl, ast.ControlDecl)):
                    raise self.error(t, f"type '{t.name}' needs type arguments")
            return T.named(d, t.name if isinstance(d, ast.TypeParam) else None)
        if isinstance(t, ast.TypeSpecialized):
            self.at(t.base)
            d = self.lookup_type_decl(t.base.name, t.base, t.base.global_)
            t.base.decl = d
            params = getattr(d, "type_params", None) or []
            if not params:
                raise self.error(t, f"type '{t.base.name}' is not generic")
            if len(params) != len(t.args):
                raise self.error(
                    t,
                    f"'{t.base.name}' expects {len(params)} type argument"
                    f"{'s' if len(params) != 1 else ''}, not {len(t.args)}",
                )
            args = []
            for a in t.args:
                ca = self.ctype(a, dontcare_ok=dontcare_ok)
                if ca is not None and T.type_decl(ca) is d:
                    raise self.error(a, f"'{t.base.name}' contains itself as a type argument")
                ad = T.type_decl(ca)
                if isinstance(
                    ad,
                    (
                        ast.ParserDecl,
                        ast.ControlDecl,
                        ast.ParserTypeDecl,
                        ast.ControlTypeDecl,
                        ast.PackageTypeDecl,
                    ),
                ):
                    raise self.error(a, f"{T.describe_type(ca)} cannot be used as a type argument")
                args.append(ca)
            spec = ast.TypeSpecialized(base=T.named(d), args=args)
            if isinstance(d, ast.StructDecl):
                self.check_specialized_fields(d, spec, t)
            return spec
        if isinstance(t, ast.TypeStack):
            elem = self.ctype(t.elem)
            if t.size_expr is not None:
                size = self.const_int(t.size_expr, "the size of a header stack")
            elif t.size is not None:
                size = t.size
            else:
                raise self.error(t, "the size of a header stack must be a constant")
            if size < 0:
                raise self.error(t, f"illegal array size {size}")
            ed = T.type_decl(elem)
            if isinstance(ed, (ast.ExternDecl, ast.ParserDecl, ast.ControlDecl)) or isinstance(
                elem, (ast.TypeInfInt, ast.TypeString, ast.TypeVoid)
            ):
                raise self.error(t, f"cannot declare an array of {type_str(elem)}")
            t.size = size
            return ast.TypeStack(elem=elem, size_expr=None, size=size)
        if isinstance(t, ast.TypeTuple):
            args = []
            for a in t.args:
                ca = self.ctype(a)
                ad = T.type_decl(ca)
                if isinstance(
                    ad,
                    (
                        ast.ExternDecl,
                        ast.ParserDecl,
                        ast.ControlDecl,
                        ast.ParserTypeDecl,
                        ast.ControlTypeDecl,
                        ast.PackageTypeDecl,
                    ),
                ):
                    raise self.error(a, f"{type_str(ca)}: not supported as a tuple field")
                args.append(ca)
            return ast.TypeTuple(args=args)
        if isinstance(t, ast.TypeList):
            return ast.TypeList(elem=self.ctype(t.elem))
        if isinstance(t, ast.TypeDontCare):
            if dontcare_ok:
                return ast.TypeDontCare()
            raise self.error(t, "'_' cannot be used as a type here")
        if isinstance(t, ast.TypeErrorT):
            if not self.error_members:
                raise self.error(t, "the type 'error' is not declared; did you include core.p4?")
            return ast.TypeErrorT()
        if isinstance(t, (ast.TypeBool, ast.TypeMatchKind, ast.TypeString)):
            return type(t)()
        if isinstance(t, (ast.TypeVoid, ast.TypeInfInt)):
            return type(t)()
        raise self.error(t, f"unexpected type syntax {t.kind}")

    def check_specialized_fields(
        self, d: ast.StructDecl, spec: ast.TypeSpecialized, where: ast.Node
    ) -> None:
        """A generic struct/header instantiated with type arguments must still have legal
        field types."""
        for name, ft, _ in T.fields_of(spec):
            if T.type_vars_in(ft) or isinstance(ft, ast.TypeDontCare):
                continue
            if not self._field_type_ok(d.flavor, ft):
                raise self.error(
                    where,
                    f"field '{name}' of {d.flavor} {type_str(spec)} cannot have type"
                    f" {T.describe_type(ft)}",
                )

    def declare_type_params(self, params: list[ast.TypeParam]) -> None:
        """Declare type variables in the current scope."""
        for p in params:
            self.declare(p.name, p)

    # ----------------------------------------------------------------------------------------
    # Program

    def check(self, prog: ast.Program) -> None:
        """Check every top-level declaration in order."""
        for d in prog.decls:
            self.at(d)
            self.guarded(self.top_decl, d)
        self.check_main()

    def check_main(self) -> None:
        """``main``, when declared, must instantiate a package."""
        found = self.global_scope.local("main")
        if not found:
            return
        d = found[0]
        if isinstance(d, ast.Instantiation):
            t = self.dtype.get(d)
            if t is None or isinstance(t, ast.TypeDontCare):
                return
            if not isinstance(T.type_decl(t), ast.PackageTypeDecl):
                self.report(
                    self.error(
                        d, f"main must be an instance of a package, not of {T.describe_type(t)}"
                    )
                )
            return
        if isinstance(d, ast.ExternDecl):
            self.report(self.error(d, "main must be a package instance"))

    def top_decl(self, d: ast.Node) -> None:
        """Check one top-level declaration and declare its name."""
        if isinstance(d, ast.VarDecl):
            raise self.error(d, "variables cannot be declared at the top level")
        if isinstance(d, (ast.TableDecl,)):
            raise self.error(d, "tables can only be declared inside a control")
        if isinstance(d, ast.ValueSetDecl):
            raise self.error(d, "value sets can only be declared inside a parser")
        self.decl(d)

    def decl(self, d: ast.Node) -> None:
        """Check a declaration (top level or local) and declare its name in the current scope."""
        self.at(d)
        meth = getattr(self, "decl_" + d.kind, None)
        if meth is None:
            raise self.error(d, f"unexpected {d.kind} here")
        done = False
        try:
            meth(d)
            done = True
        finally:
            if not done:
                self._declare_after_error(d)
        self.check_annotations(d)

    def _declare_after_error(self, d: ast.Node) -> None:
        name = getattr(d, "name", None)
        if not name or isinstance(d, (ast.ErrorDecl, ast.MatchKindDecl)):
            return
        if any(x is d for x in self.scope.local(name)):
            return
        if isinstance(d, (ast.VarDecl, ast.ConstDecl, ast.Instantiation, ast.ValueSetDecl)):
            self.dtype.setdefault(d, ast.TypeDontCare())
        if isinstance(d, ast.TypedefDecl) and not d.newtype:
            self.dtype.setdefault(d, ast.TypeDontCare())
        self.scope.add(name, d)

    def check_annotations(self, node: ast.Node) -> None:
        """Type the expressions inside annotations where they check (bodies are mostly
        target-specific) and enforce the rules of the annotations the spec defines."""
        anns = getattr(node, "annotations", None)
        if not anns:
            return
        names: dict[str, ast.Annotation] = {}
        for a in anns:
            for i, e in enumerate(a.exprs or ()):
                a.exprs[i] = self.quiet_expr(e)  # type: ignore[index]
            for kv in a.kvs or ():
                kv.value = self.quiet_expr(kv.value)
            prev = names.get(a.name)
            if prev is not None and (prev.structured or a.structured):
                self.report(self.error(a, f"duplicate name @{a.name} for a structured annotation"))
            names[a.name] = a
            try:
                self._annotation_rules(a)
            except CompileError as err:
                self.report(err)

    def _annotation_rules(self, a: ast.Annotation) -> None:
        if a.structured:
            values = list(a.exprs or ()) + [kv.value for kv in a.kvs or ()]
            for v in values:
                cv = try_const_value(v)
                if isinstance(v, ast.ListExpr) or not isinstance(cv, (int, str, bool)):
                    raise self.error(
                        v,
                        f"illegal value '{expr_str(v)}' in structured annotation @{a.name};"
                        " it must be an int, string or bool constant",
                    )
            return
        if a.name == "pkginfo" and not a.pragma and not a.kvs:
            # p4c parses @pkginfo's body as a non-empty key=value list; anything else (an empty
            # or missing body included) is a syntax error there.
            raise self.error(a, "@pkginfo expects a list of key=value pairs, as in"
                                ' @pkginfo(name="prog", version="1.0")')
        if a.pragma or a.exprs is None:
            return
        one_string = len(a.exprs) == 1 and isinstance(try_const_value(a.exprs[0]), str)
        if a.name == "name" and not one_string:
            raise self.error(a, "@name should contain a string")
        if a.name == "deprecated" and not one_string:
            raise self.error(a, "the value of @deprecated must be a string")
        if a.name == "match" and a.exprs:
            e = a.exprs[0]
            if not (isinstance(e, ast.PathExpr) and e.name in self.match_kinds):
                raise self.error(a, f"'{expr_str(e)}': the value of @match must be a match_kind")

    def quiet_expr(self, e: ast.Expr) -> ast.Expr:
        """Type ``e`` if it checks, else leave it (annotation bodies are target-specific)."""
        nerr = len(self.errors)
        try:
            return self.expr(e)
        except (CompileError, _Abort):
            pass
        except Exception:  # noqa: BLE001 - annotation bodies must never break checking
            pass
        del self.errors[nerr:]
        for n in ast.walk(e):
            if isinstance(n, ast.Expr) and getattr(n, "type", None) is None:
                n.type = ast.TypeDontCare()  # type: ignore[attr-defined]
        return e

    # ----------------------------------------------------------------------------------------
    # Constants

    def require_const(self, e: ast.Expr, what: str) -> Any:
        """The value of ``e``, which must be a compile-time constant."""
        try:
            return const_value(e)
        except NotConstant as exc:
            raise self.error(e, f"{what} must be a compile-time constant") from exc

    def require_known(self, e: ast.Expr, what: str) -> None:
        """``e`` must be known at compile time (constants, or constructor parameters)."""
        try:
            const_value(e)
            return
        except NotConstant:
            pass
        if not self.compile_time_known(e):
            raise self.error(e, f"{what} must be a compile-time constant")

    def compile_time_known(self, e: ast.Node) -> bool:
        """True when ``e`` only depends on constants, constructor/directionless parameters,
        instances and other compile-time-known values."""
        if isinstance(e, ast.PathExpr):
            d = e.decl
            if isinstance(d, ast.Parameter):
                return d.direction == ""
            return isinstance(
                d,
                (
                    ast.ConstDecl,
                    ast.Instantiation,
                    ast.MatchKindDecl,
                    ast.ActionDecl,
                    ast.TableDecl,
                    ast.ExternFunctionDecl,
                    ast.FunctionDecl,
                ),
            ) or isinstance(d, T.TYPE_DECLS)
        if isinstance(
            e, (ast.IntLit, ast.BoolLit, ast.StringLit, ast.DontCare, ast.Default, ast.Dots)
        ):
            return True
        if isinstance(e, (ast.InvalidHeader, ast.TypeExpr)):
            return True
        if isinstance(e, ast.Member):
            if isinstance(e.decl, (ast.EnumMember, ast.ErrorDecl)):
                return True
            return self.compile_time_known(e.expr)
        if isinstance(e, ast.Call):
            f = e.func
            if (
                isinstance(f, ast.Member)
                and is_builtin(f.decl)
                and f.name
                in (
                    "minSizeInBits",
                    "minSizeInBytes",
                    "maxSizeInBits",
                    "maxSizeInBytes",
                )
            ):
                return True
            d = getattr(f, "decl", None)
            if isinstance(d, ast.ExternFunctionDecl) and (
                ast.annotation(d, "pure") is not None
                or T.is_extern(e.type)
                or d.name == "static_assert"
            ):
                return all(self.compile_time_known(a.expr) for a in e.args)
            return False
        if isinstance(e, ast.ConstructorCall):
            return all(self.compile_time_known(a.expr) for a in e.args)
        if isinstance(e, (ast.Unary, ast.Binary, ast.Ternary, ast.Cast, ast.Slice, ast.Index)):
            return all(
                self.compile_time_known(c) for c in ast.iter_children(e) if isinstance(c, ast.Expr)
            )
        if isinstance(e, (ast.ListExpr, ast.StructExpr, ast.Mask, ast.Range)):
            return all(
                self.compile_time_known(c.expr if isinstance(c, ast.NamedExpr) else c)
                for c in ast.iter_children(e)
                if isinstance(c, (ast.Expr, ast.NamedExpr))
            )
        return False
