"""Casts, initializers, implicit conversions and l-values.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T
from .constfold import NotConstant, default_value, expr_str, try_const_value
from .types import type_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


class ConvertChecker(_Base):
    """Conversion rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Casts

    def ex_Cast(self, e: ast.Cast) -> ast.Expr:
        dst = self.ctype(e.to)
        e.expr = self.expr(e.expr)
        src = e.expr.type
        e.type = dst
        if isinstance(e.expr, (ast.InvalidHeader, ast.Dots)):
            e.expr = self.coerce(e.expr, dst, "cast")
            return e
        if _unknown(src):
            return e
        if T.is_struct_like(dst) or isinstance(dst, (ast.TypeStack, ast.TypeList)):
            if isinstance(e.expr, (ast.ListExpr, ast.StructExpr, ast.InvalidHeader)) or T.type_eq(
                src, dst
            ):
                e.expr = self.coerce(e.expr, dst, "cast")
                return e
            raise self.error(e, f"cast from {type_str(src)} to {type_str(dst)} is not supported")
        if isinstance(dst, ast.TypeTuple):
            if T.type_eq(src, dst):
                return e
            raise self.error(e.to, f"{type_str(dst)}: cast not supported")
        dbase = T.strip_newtype(dst)
        ok_dest = (
            isinstance(dbase, (ast.TypeBits, ast.TypeBool, ast.TypeInfInt))
            or T.is_enum(dbase)
            or isinstance(dst, ast.TypeSpecialized)
        )
        if not ok_dest:
            raise self.error(e.to, f"cast to {type_str(dst)} is not supported")
        if not self.can_cast(dst, src, e.expr):
            raise self.error(e, f"illegal cast from {type_str(src)} to {type_str(dst)}")
        return e

    def can_cast(self, dst: ast.Type, src: ast.Type, e: ast.Expr | None = None) -> bool:
        """Explicit cast rules (spec 8.11)."""
        if T.type_eq(dst, src):
            return True
        if T.is_newtype(dst) and T.type_eq(T.resolve_type(T.type_decl(dst).target), src):  # type: ignore[union-attr]
            return True
        if T.is_newtype(src) and T.type_eq(T.resolve_type(T.type_decl(src).target), dst):  # type: ignore[union-attr]
            return True
        if isinstance(src, ast.TypeInfInt):
            d = T.strip_newtype(dst)
            if isinstance(d, ast.TypeBool) and e is not None:
                v = try_const_value(e)
                return v in (0, 1) or v is None
            return isinstance(d, (ast.TypeBits, ast.TypeBool, ast.TypeInfInt)) or (
                T.is_serializable_enum(d)
            )
        if isinstance(src, ast.TypeBits):
            if isinstance(dst, ast.TypeBits):
                return src.size == dst.size or src.signed == dst.signed
            if isinstance(dst, ast.TypeBool):
                return src.size == 1 and not src.signed
            if T.is_serializable_enum(dst):
                return T.type_eq(T.enum_underlying(dst), src)
            if isinstance(dst, ast.TypeInfInt):
                return True
            return False
        if isinstance(src, ast.TypeBool):
            if isinstance(dst, ast.TypeBits):
                return dst.size == 1 and not dst.signed
            return False
        if T.is_serializable_enum(src):
            u = T.enum_underlying(src)
            if isinstance(dst, ast.TypeBits):
                return T.type_eq(u, dst)
            if T.is_serializable_enum(dst):
                return T.type_eq(u, T.enum_underlying(dst))
            return False
        return False

    # ----------------------------------------------------------------------------------------
    # Initializers

    def ex_ListExpr(self, e: ast.ListExpr) -> ast.Expr:
        e.items = [self.expr(i) for i in e.items]
        if e.ctype is not None:
            target = self.ctype(e.ctype, generic_ok=False)
            e.type = ast.TypeTuple(args=[i.type or ast.TypeDontCare() for i in e.items])
            return self.coerce(e, target, "initializer")
        e.type = ast.TypeTuple(args=[i.type or ast.TypeDontCare() for i in e.items])
        return e

    def ex_StructExpr(self, e: ast.StructExpr) -> ast.Expr:
        seen: set[str] = set()
        for f in e.fields:
            self.at(f)
            if f.name in seen:
                raise self.error(f, f"duplicate field '{f.name}' in initializer")
            seen.add(f.name)
            f.expr = self.expr(f.expr)
        if e.ctype is not None:
            target = self.ctype(e.ctype)
            if not T.is_struct_like(target):
                raise self.error(e, f"{type_str(target)} is not a struct or header type")
            e.type = self._anon_struct(e)
            return self.coerce(e, target, "initializer")
        e.type = self._anon_struct(e)
        return e

    def _anon_struct(self, e: ast.StructExpr) -> ast.Type:
        d = ast.StructDecl(
            flavor="struct",
            name="{" + ", ".join(f.name for f in e.fields) + "}",
            type_params=[],
            fields=[
                ast.StructField(ftype=f.expr.type or ast.TypeDontCare(), name=f.name)
                for f in e.fields
            ],
        )
        d.__dict__["_sluice_anonymous"] = True
        return T.named(d)

    def ex_Mask(self, e: ast.Mask) -> ast.Expr:
        e.value = self.expr(e.value)
        e.mask = self.expr(e.mask)
        e.type = self._set_operands(e, e.value, e.mask, "&&&")
        return e

    def ex_Range(self, e: ast.Range) -> ast.Expr:
        e.lo = self.expr(e.lo)
        e.hi = self.expr(e.hi)
        e.type = self._set_operands(e, e.lo, e.hi, "..")
        return e

    def _set_operands(self, e: ast.Expr, a: ast.Expr, b: ast.Expr, op: str) -> ast.Type:
        at, bt = a.type, b.type
        if _unknown(at) or _unknown(bt):
            return bt if _unknown(at) else at  # type: ignore[return-value]
        ab, bb = self._sized_base(at), self._sized_base(bt)
        for side, x, orig in ((a, ab, at), (b, bb, bt)):
            if not isinstance(x, (ast.TypeBits, ast.TypeInfInt)):
                raise self.error(
                    e, f"'{op}' cannot be applied to '{expr_str(side)}' of type {type_str(orig)}"
                )
        if isinstance(ab, ast.TypeInfInt) and isinstance(bb, ast.TypeBits):
            self._retype_int(a, bb)
            return bt  # type: ignore[return-value]
        if isinstance(bb, ast.TypeInfInt) and isinstance(ab, ast.TypeBits):
            self._retype_int(b, ab)
            return at  # type: ignore[return-value]
        if not T.type_eq(ab, bb):
            raise self.error(
                e, f"'{op}' operands have different types {type_str(at)} and {type_str(bt)}"
            )
        return at  # type: ignore[return-value]

    # ----------------------------------------------------------------------------------------
    # Implicit conversions

    def coerce(self, e: ast.Expr, target: ast.Type | None, what: str) -> ast.Expr:
        """Convert checked ``e`` to ``target`` as an assignment does (unsized constants take the
        target width, initializers become structs/headers/tuples, ``{#}`` becomes the target
        header); raises a located error when the types do not match."""
        src = e.type
        if target is None or isinstance(target, ast.TypeDontCare):
            return e
        if isinstance(e, ast.DontCare):
            e.type = target
            return e
        if isinstance(e, ast.Dots):
            e.type = target
            try:
                default_value(target, e)
            except NotConstant as exc:
                raise self.error(
                    e, f"'...' has no default value of type {T.describe_type(target)} ({what})"
                ) from exc
            return e
        if isinstance(e, ast.InvalidHeader):
            if T.is_header(target) or T.is_header_union(target):
                e.type = target
                return e
            raise self.error(e, f"{{#}} cannot be converted to {type_str(target)}")
        if _unknown(src):
            return e
        if T.type_eq(src, target):
            if isinstance(e, ast.StructExpr) and T.is_struct_like(target):
                self._struct_init(e, target, what)
            return e
        if isinstance(target, ast.TypeInfInt) and isinstance(
            T.enum_underlying(src) or src, ast.TypeBits
        ):
            return e  # p4c lets sized values initialise unsized ints
        td = T.type_decl(target)
        if isinstance(td, (ast.ParserTypeDecl, ast.ControlTypeDecl)) and self.unify_signature(
            target, src, dict.fromkeys(T.type_vars_in(target))
        ):
            return e
        if self._wild_eq(target, src):
            return e
        tbase = T.strip_newtype(target)
        if isinstance(src, ast.TypeInfInt):
            if isinstance(tbase, ast.TypeBits) or isinstance(tbase, ast.TypeInfInt):
                if isinstance(e, ast.Ternary):
                    e.then = self.coerce(e.then, target, what)
                    e.else_ = self.coerce(e.else_, target, what)
                e.type = target
                return e
            raise self.error(
                e,
                f"cannot convert '{expr_str(e)}' of type int to {T.describe_type(target)} ({what})",
            )
        if T.is_serializable_enum(src) and isinstance(target, ast.TypeBits):
            if T.type_eq(T.enum_underlying(src), target):
                return e
        if isinstance(e, ast.ListExpr):
            return self._list_init(e, target, what)
        if isinstance(e, ast.StructExpr) and T.is_struct_like(target):
            self._struct_init(e, target, what)
            return e
        if isinstance(e, ast.Ternary) and not _unknown(e.then.type):
            e.then = self.coerce(e.then, target, what)
            e.else_ = self.coerce(e.else_, target, what)
            e.type = target
            return e
        if isinstance(src, ast.TypeTuple) and isinstance(target, ast.TypeTuple):
            if len(src.args) == len(target.args) and all(
                T.type_eq(a, b) or isinstance(a, (ast.TypeInfInt, ast.TypeDontCare))
                for a, b in zip(src.args, target.args)
            ):
                return e
        raise self.error(
            e,
            f"cannot use '{expr_str(e)}' of type {T.describe_type(src)} as"
            f" {T.describe_type(target)} ({what})",
        )

    def _wild_eq(self, p: ast.Type, a: ast.Type) -> bool:
        """Type equality where ``_`` type arguments in ``p`` match anything."""
        if isinstance(p, ast.TypeDontCare):
            return True
        if isinstance(p, ast.TypeSpecialized) and isinstance(a, ast.TypeSpecialized):
            return (
                p.base.decl is a.base.decl
                and len(p.args) == len(a.args)
                and all(self._wild_eq(x, y) for x, y in zip(p.args, a.args))
            )
        return T.type_eq(p, a)

    def _list_init(self, e: ast.ListExpr, target: ast.Type, what: str) -> ast.Expr:
        if e.items and isinstance(e.items[-1], ast.Dots):
            return self._dots_list_init(e, target, what)
        if T.is_struct_like(target):
            fields = T.fields_of(target)
            if T.is_header_union(target):
                raise self.error(e, f"a header_union cannot be initialized by a list ({what})")
            if len(fields) != len(e.items):
                raise self.error(
                    e,
                    f"{T.describe_type(target)} has {len(fields)} fields but the initializer"
                    f" has {len(e.items)} ({what})",
                )
            e.items = [
                self.coerce(item, ft, f"field '{fname}'")
                for item, (fname, ft, _) in zip(e.items, fields)
            ]
            e.ctype = self._type_syntax(target)
            e.type = target
            return e
        if isinstance(target, ast.TypeTuple):
            if len(target.args) != len(e.items):
                raise self.error(
                    e,
                    f"expected {len(target.args)} components, the initializer has"
                    f" {len(e.items)} ({what})",
                )
            e.items = [self.coerce(i, t, what) for i, t in zip(e.items, target.args)]
            e.type = target
            return e
        if isinstance(target, ast.TypeStack):
            if target.size != len(e.items):
                raise self.error(
                    e,
                    f"expected {target.size} elements, the initializer has {len(e.items)} ({what})",
                )
            e.items = [self.coerce(i, target.elem, what) for i in e.items]
            e.type = target
            return e
        if isinstance(target, ast.TypeList):
            e.items = [self.coerce(i, target.elem, what) for i in e.items]
            e.type = target
            return e
        raise self.error(
            e, f"cannot use the list '{expr_str(e)}' as {T.describe_type(target)} ({what})"
        )

    def _dots_list_init(self, e: ast.ListExpr, target: ast.Type, what: str) -> ast.Expr:
        """``{a, b, ...}``: the listed components, the rest default-initialised."""
        if T.is_struct_like(target):
            comp = [ft for _, ft, _ in T.fields_of(target)]
        elif isinstance(target, ast.TypeTuple):
            comp = list(target.args)
        elif isinstance(target, ast.TypeStack):
            comp = [target.elem] * (target.size or 0)
        else:
            raise self.error(e, f"'...' cannot initialize {T.describe_type(target)} ({what})")
        n = len(e.items) - 1
        if n > len(comp):
            raise self.error(e, f"too many components in the initializer ({what})")
        e.items = [self.coerce(i, t, what) for i, t in zip(e.items[:n], comp)] + [e.items[-1]]
        e.items[-1].type = ast.TypeDontCare()
        if T.is_struct_like(target):
            e.ctype = self._type_syntax(target)
        e.type = target
        return e

    def _struct_init(self, e: ast.StructExpr, target: ast.Type, what: str) -> None:
        fields = T.fields_of(target)
        by_name = {f.name: f for f in e.fields}
        names = {n for n, _, _ in fields}
        for f in e.fields:
            if f.name not in names:
                raise self.error(
                    f, f"'{f.name}' is not a field of {T.describe_type(target)} ({what})"
                )
        for fname, ft, _ in fields:
            ne = by_name.get(fname)
            if ne is None:
                if e.dots:
                    continue
                raise self.error(e, f"no initializer for field '{fname}' ({what})")
            ne.expr = self.coerce(ne.expr, ft, f"field '{fname}'")
        if e.ctype is None or T.type_decl(e.type) is not T.type_decl(target):
            e.ctype = self._type_syntax(target)
        e.type = target

    def _type_syntax(self, t: ast.Type) -> ast.Type:
        """Type syntax naming canonical type ``t`` (for ``ctype`` fields we fill in)."""
        return T.resolve_type(t)

    # ----------------------------------------------------------------------------------------
    # L-values

    def check_lvalue(self, e: ast.Expr, what: str) -> None:
        """Raise unless ``e`` may be written (assignment target, out/inout argument)."""
        why = self._not_lvalue(e)
        if why is not None:
            raise self.error(e, f"'{expr_str(e)}' cannot be {what}: {why}")

    def _not_lvalue(self, e: ast.Expr) -> str | None:
        if isinstance(e, ast.DontCare):
            return None
        if isinstance(e, ast.PathExpr):
            d = e.decl
            if isinstance(d, ast.VarDecl):
                return None
            if isinstance(d, ast.Parameter):
                if d.direction in ("out", "inout"):
                    return None
                if d.direction == "in":
                    return f"'{e.name}' is an in parameter"
                return f"'{e.name}' is a directionless parameter"
            if isinstance(d, ast.ConstDecl):
                return f"'{e.name}' is a constant"
            return "it is not a variable"
        if isinstance(e, ast.Member):
            if isinstance(e.expr.type, ast.TypeStack):
                if e.name == "next":
                    return self._not_lvalue(e.expr)
                if e.name == "last":
                    return self._not_lvalue(e.expr)
                return f"'{e.name}' is read-only"
            if isinstance(e.decl, ast.StructField) and not e.decl.__dict__.get("_sluice_builtin"):
                sd = T.type_decl(e.expr.type)
                if isinstance(sd, ast.StructDecl) and sd.__dict__.get("_sluice_apply_result"):
                    return "table application results are read-only"
                return self._not_lvalue(e.expr)
            return "it is not a variable"
        if isinstance(e, ast.Index):
            return self._not_lvalue(e.expr)
        if isinstance(e, (ast.Slice, ast.PlusSlice)):
            return self._not_lvalue(e.expr)
        return "it is not a variable"

    # ----------------------------------------------------------------------------------------
    # Misc helpers shared with statements

    def cond(self, e: ast.Expr, what: str) -> ast.Expr:
        """Check a boolean condition."""
        e = self.expr(e)
        self.untyped(e)
        if not _unknown(e.type) and not isinstance(e.type, ast.TypeBool):
            raise self.error(e, f"the condition of {what} must be a bool, not {type_str(e.type)}")
        return e
