"""Expression checking: names, members, operators, casts, initializers and implicit conversions.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
Every ``ex_<Kind>`` method types one expression node and returns it (or its replacement).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T
from .constfold import NotConstant, const_value, expr_str, try_const_value
from .scope import SIZE_METHODS, STACK_PROPERTIES
from .types import type_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object

_REL = frozenset({"<", "<=", ">", ">="})
_EQ = frozenset({"==", "!="})
_VALUE_DECLS = (
    ast.EnumMember,
    ast.Parameter,
    ast.VarDecl,
    ast.ConstDecl,
    ast.Instantiation,
    ast.ValueSetDecl,
)
_CALLABLE_DECLS = (
    ast.ActionDecl,
    ast.FunctionDecl,
    ast.ExternFunctionDecl,
    ast.MethodDecl,
    ast.TableDecl,
    ast.ParserState,
)


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


def _anonymous(t: ast.Type | None) -> bool:
    d = T.type_decl(t)
    return isinstance(d, ast.StructDecl) and bool(d.__dict__.get("_sluice_anonymous"))


class ExprChecker(_Base):
    """Expression rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Dispatch

    def expr(self, e: ast.Expr, allow_type: bool = False) -> ast.Expr:
        """Type-check ``e``; returns the checked node (a replacement for rewritten calls)."""
        self.at(e)
        meth = getattr(self, "ex_" + e.kind, None)
        if meth is None:
            raise self.error(e, f"unexpected {e.kind} in an expression")
        if allow_type and isinstance(e, (ast.PathExpr, ast.TypeExpr, ast.Member)):
            return meth(e, allow_type=True)
        return meth(e)

    def is_type_ref(self, e: ast.Expr) -> bool:
        """True when checked expression ``e`` names a type rather than a value."""
        if isinstance(e, ast.TypeExpr):
            return True
        if isinstance(e, ast.PathExpr):
            d = e.decl
            if isinstance(d, T.TYPE_DECLS):
                return True
            return (
                e.name == "error"
                and isinstance(e.type, ast.TypeErrorT)
                and (d is None or isinstance(d, ast.ErrorDecl))
            )
        if isinstance(e, ast.Member):
            return bool(e.__dict__.get("_sluice_typeref"))
        return False

    # ----------------------------------------------------------------------------------------
    # Leaves

    def ex_IntLit(self, e: ast.IntLit) -> ast.Expr:
        if e.width is not None:
            if e.width == 0 and e.signed:
                raise self.error(e, "a signed integer literal cannot have width 0")
            e.type = T.bits(e.width, e.signed)
        else:
            e.type = ast.TypeInfInt()
        return e

    def ex_BoolLit(self, e: ast.BoolLit) -> ast.Expr:
        e.type = ast.TypeBool()
        return e

    def ex_StringLit(self, e: ast.StringLit) -> ast.Expr:
        e.type = ast.TypeString()
        return e

    def ex_DontCare(self, e: ast.DontCare) -> ast.Expr:
        e.type = ast.TypeDontCare()
        return e

    def ex_Default(self, e: ast.Default) -> ast.Expr:
        raise self.error(e, "'default' can only be used in a keyset or as a switch label")

    def ex_InvalidHeader(self, e: ast.InvalidHeader) -> ast.Expr:
        if e.type is None or not (T.is_header(e.type) or T.is_header_union(e.type)):
            e.type = ast.TypeDontCare()
        return e

    def ex_This(self, e: ast.This) -> ast.Expr:
        if self.instance is None or self.function is None:
            raise self.error(e, "'this' can only be used in the definition of an abstract method")
        e.type = self.dtype.get(self.instance, ast.TypeDontCare())
        return e

    def ex_TypeExpr(self, e: ast.TypeExpr, allow_type: bool = False) -> ast.Expr:
        e.type = self.ctype(e.ctype, generic_ok=True)
        if not allow_type and not self.in_ctor_args:
            raise self.error(e, f"type {type_str(e.type)} cannot be used as an expression")
        return e

    def ex_SelectExpr(self, e: ast.SelectExpr) -> ast.Expr:
        raise self.error(e, "select expressions can only be used in parser transitions")

    # ----------------------------------------------------------------------------------------
    # Names

    def ex_PathExpr(self, e: ast.PathExpr, allow_type: bool = False) -> ast.Expr:
        if e.name == "error" and allow_type and not e.global_:
            found = self.scope.lookup("error")
            if not found:
                e.decl = next(iter(self.error_members.values()), None)
                e.type = ast.TypeErrorT()
                return e
        decls = self.lookup(e.name, e, e.global_)
        d = decls[0]
        e.decl = d
        if isinstance(d, _VALUE_DECLS):
            t = self.dtype.get(d)
            if t is None:
                raise self.error(e, f"'{e.name}' cannot be used before it is declared")
            e.type = t
            return e
        if isinstance(d, ast.MatchKindDecl):
            e.type = ast.TypeMatchKind()
            return e
        if isinstance(d, ast.TableDecl) and d is self.table:
            raise self.error(e, f"cannot refer to the containing table '{d.name}'")
        if isinstance(d, _CALLABLE_DECLS):
            e.type = T.named(d)
            return e
        if isinstance(d, T.TYPE_DECLS):
            if isinstance(d, ast.TypedefDecl) and not d.newtype:
                e.type = self.dtype.get(d, ast.TypeDontCare())
            else:
                e.type = T.named(d, e.name if isinstance(d, ast.TypeParam) else None)
            if not allow_type:
                raise self.error(e, f"type '{e.name}' cannot be used as an expression")
            return e
        e.type = T.named(d)
        return e

    # ----------------------------------------------------------------------------------------
    # Members

    def ex_Member(self, e: ast.Member, allow_type: bool = False) -> ast.Expr:
        base = e.expr
        if isinstance(base, (ast.PathExpr, ast.TypeExpr, ast.Member)):
            base = self.expr(base, allow_type=True)
        else:
            base = self.expr(base)
        e.expr = base
        bt = base.type
        name = e.name
        if self.is_type_ref(base):
            return self._type_member(e, bt, allow_type)
        if _unknown(bt):
            e.type = ast.TypeDontCare()
            return e
        if name in SIZE_METHODS or name in ("isValid", "setValid", "setInvalid"):
            if T.is_struct_like(bt) and T.field_of(bt, name) is not None:
                pass  # a field that happens to have a method's name
            else:
                raise self.error(e, f"method '{name}' must be called")
        sd = T.type_decl(bt)
        if isinstance(sd, ast.StructDecl):
            fo = T.field_of(bt, name)
            if fo is None:
                raise self.error(e, f"field '{name}' is not a member of {sd.flavor} {type_str(bt)}")
            ft, fdecl = fo
            if sd.__dict__.get("_sluice_apply_result") and name == "action_run":
                if not self.in_switch_expr:
                    raise self.error(e, f"'{expr_str(e)}' is only allowed in switch statements")
            e.decl = fdecl
            e.type = ft
            return e
        if isinstance(bt, ast.TypeStack):
            prop = STACK_PROPERTIES.get(name)
            if name in ("push_front", "pop_front"):
                raise self.error(e, f"method '{name}' must be called")
            if prop is None:
                raise self.error(e, f"'{name}' is not a property of header stacks")
            if name in ("next", "last", "lastIndex") and self.parser is None:
                raise self.error(e, f"'{name}' for header stacks can only be used in a parser")
            e.decl = prop
            e.type = bt.elem if name in ("next", "last") else T.bits(32)
            return e
        if isinstance(
            sd,
            (
                ast.ExternDecl,
                ast.TableDecl,
                ast.ParserDecl,
                ast.ControlDecl,
                ast.ParserTypeDecl,
                ast.ControlTypeDecl,
            ),
        ):
            raise self.error(e, f"'{expr_str(e)}' is a method and must be called")
        raise self.error(
            e, f"cannot get field '{name}' of '{expr_str(base)}' of type {type_str(bt)}"
        )

    def _type_member(self, e: ast.Member, bt: ast.Type | None, allow_type: bool) -> ast.Expr:
        name = e.name
        if isinstance(bt, ast.TypeErrorT):
            d = self.error_members.get(name)
            if d is None:
                raise self.error(e, f"'error.{name}' is not declared")
            e.decl = d
            e.type = ast.TypeErrorT()
            return e
        ed = T.type_decl(bt)
        if isinstance(ed, ast.EnumDecl):
            for m in ed.members:
                if m.name == name:
                    e.decl = m
                    e.type = T.named(ed)
                    return e
            raise self.error(e, f"'{name}' is not a member of enum {ed.name}")
        if name in SIZE_METHODS:
            raise self.error(e, f"method '{name}' must be called")
        raise self.error(e, f"cannot get member '{name}' of type {type_str(bt)}")

    # ----------------------------------------------------------------------------------------
    # Indexing and slicing

    def ex_Index(self, e: ast.Index) -> ast.Expr:
        e.expr = self.expr(e.expr)
        e.index = self.expr(e.index)
        bt, it = e.expr.type, e.index.type
        if _unknown(bt):
            e.type = ast.TypeDontCare()
            return e
        idx = try_const_value(e.index)
        if isinstance(bt, ast.TypeStack):
            if isinstance(idx, int) and not isinstance(idx, bool) and not self.in_size_query:
                if idx < 0:
                    raise self.error(e, f"negative array index {idx}")
                if bt.size is not None and idx >= bt.size:
                    raise self.error(
                        e.index, f"array index {idx} larger or equal to array size {bt.size}"
                    )
            elif not (
                isinstance(T.strip_newtype(it), (ast.TypeBits, ast.TypeInfInt))
                or T.is_serializable_enum(it)
                or _unknown(it)
            ):
                raise self.error(e.index, f"array index must be an integer, not {type_str(it)}")
            e.type = bt.elem
            return e
        if isinstance(bt, ast.TypeTuple):
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise self.error(e.index, "tuple index must be a compile-time constant")
            if idx < 0 or idx >= len(bt.args):
                raise self.error(
                    e.index, f"tuple index {idx} out of range for tuple of size {len(bt.args)}"
                )
            e.type = bt.args[idx]
            return e
        raise self.error(e, f"cannot index a value of type {type_str(bt)}")

    def ex_Slice(self, e: ast.Slice) -> ast.Expr:
        e.expr = self.expr(e.expr)
        e.hi = self.expr(e.hi)
        e.lo = self.expr(e.lo)
        bt = e.expr.type
        if _unknown(bt):
            e.type = ast.TypeDontCare()
            return e
        base = T.enum_underlying(bt) or bt
        if not isinstance(base, ast.TypeBits):
            raise self.error(
                e, f"bit slices are only defined on bit<> and int<> values, not {type_str(bt)}"
            )
        vals = []
        for part in (e.hi, e.lo):
            try:
                v = const_value(part)
            except NotConstant as exc:
                raise self.error(part, "slice bit indices must be compile-time constants") from exc
            if isinstance(v, bool) or not isinstance(v, int):
                raise self.error(part, "slice bit indices must be integers")
            if v < 0:
                raise self.error(e, f"negative bit index {v}")
            if v >= (base.size or 0):
                raise self.error(part, f"bit index {v} greater than width {base.size}")
            vals.append(v)
        hi, lo = vals
        if lo > hi:
            raise self.error(e, f"LSB index {lo} greater than MSB index {hi}")
        e.type = T.bits(hi - lo + 1)
        return e

    def ex_PlusSlice(self, e: ast.PlusSlice) -> ast.Expr:
        e.expr = self.expr(e.expr)
        e.base = self.expr(e.base)
        e.width = self.expr(e.width)
        bt = e.expr.type
        if _unknown(bt):
            e.type = ast.TypeDontCare()
            return e
        base = T.enum_underlying(bt) or bt
        if not isinstance(base, ast.TypeBits):
            raise self.error(
                e, f"bit slices are only defined on bit<> and int<> values, not {type_str(bt)}"
            )
        lsb = try_const_value(e.base)
        if isinstance(lsb, int) and not isinstance(lsb, bool):
            if lsb < 0:
                raise self.error(e, f"negative bit index {lsb}")
            if lsb >= (base.size or 0):
                raise self.error(e.base, f"bit index {lsb} greater than width {base.size}")
        else:
            it = T.enum_underlying(e.base.type) or e.base.type
            if not (_unknown(it) or isinstance(it, ast.TypeBits)):
                raise self.error(e.base, f"a bit index must be an integer, not {type_str(it)}")
        try:
            w = const_value(e.width)
        except NotConstant as exc:
            raise self.error(
                e.width, "the width of a slice must be a compile-time constant"
            ) from exc
        if isinstance(w, bool) or not isinstance(w, int):
            raise self.error(e.width, "the width of a slice must be an integer")
        if w < 0:
            raise self.error(e, f"negative slice width {w}")
        e.type = T.bits(w)
        return e

    def ex_Dots(self, e: ast.Dots) -> ast.Expr:
        e.type = ast.TypeDontCare()
        return e

    # ----------------------------------------------------------------------------------------
    # Operators

    def untyped(self, e: ast.Expr) -> None:
        """Reject initializer-only forms (``...``, ``{#}``) where no type can be inferred."""
        if isinstance(e, ast.Dots):
            raise self.error(e, "'...' can only be used as an initializer")
        if isinstance(e, ast.InvalidHeader) and _unknown(e.type):
            raise self.error(e, "the type of '{#}' cannot be inferred here")

    def ex_Unary(self, e: ast.Unary) -> ast.Expr:
        e.expr = self.expr(e.expr)
        self.untyped(e.expr)
        t = e.expr.type
        if _unknown(t):
            e.type = ast.TypeDontCare()
            return e
        if e.op == "!":
            if not isinstance(t, ast.TypeBool):
                raise self.error(
                    e, f"cannot apply '!' to '{expr_str(e.expr)}' of type {type_str(t)}"
                )
            e.type = ast.TypeBool()
            return e
        base = T.enum_underlying(t) or t
        if e.op == "~":
            if isinstance(base, ast.TypeInfInt):
                raise self.error(
                    e, f"'~' cannot be applied to '{expr_str(e.expr)}' which has no width"
                )
            if not isinstance(base, ast.TypeBits):
                raise self.error(
                    e, f"cannot apply '~' to '{expr_str(e.expr)}' of type {type_str(t)}"
                )
            e.type = base
            return e
        if e.op in ("-", "+"):
            if not isinstance(base, (ast.TypeBits, ast.TypeInfInt)):
                raise self.error(
                    e, f"cannot apply '{e.op}' to '{expr_str(e.expr)}' of type {type_str(t)}"
                )
            e.type = base
            return e
        raise self.error(e, f"unknown unary operator '{e.op}'")

    def _sized_base(self, t: ast.Type) -> ast.Type:
        """Serializable enums act as their underlying type in arithmetic and comparisons."""
        u = T.enum_underlying(t)
        return u if u is not None else t

    def ex_Binary(self, e: ast.Binary) -> ast.Expr:
        e.left = self.expr(e.left)
        e.right = self.expr(e.right)
        return self.binary(e)

    def binary(self, e: ast.Binary) -> ast.Expr:
        """Type binary operation ``e`` whose operands are already checked."""
        op = e.op
        if op not in _EQ:
            self.untyped(e.left)
            self.untyped(e.right)
        elif isinstance(e.left, (ast.Dots, ast.InvalidHeader)) and isinstance(
            e.right, (ast.Dots, ast.InvalidHeader)
        ):
            self.untyped(e.left)
        elif isinstance(e.left, ast.Dots) or isinstance(e.right, ast.Dots):
            self.untyped(e.left if isinstance(e.left, ast.Dots) else e.right)
        lt, rt = e.left.type, e.right.type
        lunk = _unknown(lt) and not isinstance(e.left, ast.InvalidHeader)
        runk = _unknown(rt) and not isinstance(e.right, ast.InvalidHeader)
        if lunk or runk:
            if op in _REL or op in _EQ or op in ("&&", "||"):
                e.type = ast.TypeBool()
            else:
                e.type = rt if _unknown(lt) else lt
                if _unknown(e.type):
                    e.type = ast.TypeDontCare()
            return e
        if op in ("&&", "||"):
            if not isinstance(lt, ast.TypeBool) or not isinstance(rt, ast.TypeBool):
                raise self.error(e, f"'{op}' is not defined on {type_str(lt)} and {type_str(rt)}")
            e.type = ast.TypeBool()
            return e
        if op in ("<<", ">>"):
            return self._shift(e)
        if op == "++":
            return self._concat(e)
        if op in _EQ:
            return self._equality(e)
        lb, rb = self._sized_base(lt), self._sized_base(rt)
        if op == "+" and isinstance(lb, ast.TypeString) and isinstance(rb, ast.TypeString):
            raise self.error(e, "'+' cannot be applied to strings; did you mean '++'?")
        for side, bt, orig in ((e.left, lb, lt), (e.right, rb, rt)):
            if not isinstance(bt, (ast.TypeBits, ast.TypeInfInt)):
                raise self.error(
                    e,
                    f"'{op}' cannot be applied to '{expr_str(side)}' of type {T.describe_type(orig)}",
                )
        if op in ("/", "%"):
            for side, bt in ((e.left, lb), (e.right, rb)):
                if isinstance(bt, ast.TypeBits) and bt.signed:
                    raise self.error(e, f"'{op}' cannot be applied to signed values")
                v = try_const_value(side) if isinstance(bt, ast.TypeInfInt) else None
                if isinstance(v, int) and v < 0:
                    raise self.error(e, f"'{op}' is not defined on negative numbers")
            rv = try_const_value(e.right)
            if isinstance(rv, int) and not isinstance(rv, bool) and rv == 0:
                raise self.error(e, "division by zero" if op == "/" else "modulo by zero")
        if isinstance(lb, ast.TypeInfInt) and isinstance(rb, ast.TypeInfInt):
            if op in ("|+|", "|-|"):
                raise self.error(e, f"'{op}' needs operands with a width")
            e.type = ast.TypeInfInt()
            if op in _REL:
                e.type = ast.TypeBool()
            self._fold_check(e)
            return e
        if isinstance(lb, ast.TypeInfInt):
            self._retype_int(e.left, rb)
            lb = rb
        elif isinstance(rb, ast.TypeInfInt):
            self._retype_int(e.right, lb)
            rb = lb
        assert isinstance(lb, ast.TypeBits) and isinstance(rb, ast.TypeBits)
        if lb.size != rb.size:
            raise self.error(
                e,
                f"cannot operate on values with different widths: '{expr_str(e.left)}' is"
                f" {type_str(lt)} and '{expr_str(e.right)}' is {type_str(rt)}",
            )
        if lb.signed != rb.signed:
            raise self.error(
                e,
                f"cannot operate on values with different signs: {type_str(lt)} and {type_str(rt)}",
            )
        e.type = ast.TypeBool() if op in _REL else T.bits(lb.size or 0, lb.signed)
        return e

    def _fold_check(self, e: ast.Expr) -> None:
        """Report folding errors (division by zero...) of constant operations."""
        try:
            const_value(e)
        except NotConstant:
            pass

    def _retype_int(self, e: ast.Expr, t: ast.Type) -> None:
        """Give an unsized-int expression the sized type ``t`` (an implicit cast)."""
        if isinstance(e.type, ast.TypeInfInt):
            e.type = t

    def _shift(self, e: ast.Binary) -> ast.Expr:
        lt, rt = e.left.type, e.right.type
        lb = self._sized_base(lt)
        rb = self._sized_base(rt)
        if not isinstance(lb, (ast.TypeBits, ast.TypeInfInt)):
            raise self.error(e, f"left operand of '{e.op}' must be numeric, not {type_str(lt)}")
        amount = try_const_value(e.right)
        if isinstance(amount, int) and not isinstance(amount, bool):
            if amount < 0:
                raise self.error(e, f"negative shift amount {amount}")
        if isinstance(rb, ast.TypeBits):
            if rb.signed and not isinstance(amount, int):
                raise self.error(e.right, "shift amount must be an unsigned number")
        elif isinstance(rb, ast.TypeInfInt):
            if amount is None:
                raise self.error(
                    e.right, "shift amount of type int must be a compile-time constant"
                )
        else:
            raise self.error(
                e.right,
                f"the right operand of '{e.op}' must be a bit<> value or a non-negative"
                f" constant, not {type_str(rt)}",
            )
        if isinstance(lb, ast.TypeInfInt) and amount is None:
            raise self.error(
                e,
                "the width of the left operand of a shift must be known when the shift"
                " amount is not a constant",
            )
        e.type = lb
        if isinstance(lb, ast.TypeInfInt):
            self._fold_check(e)
        return e

    def _concat(self, e: ast.Binary) -> ast.Expr:
        lt, rt = e.left.type, e.right.type
        if isinstance(lt, ast.TypeString) and isinstance(rt, ast.TypeString):
            e.type = ast.TypeString()
            return e
        lb, rb = self._sized_base(lt), self._sized_base(rt)
        for side, b in ((e.left, lb), (e.right, rb)):
            if isinstance(b, ast.TypeInfInt):
                raise self.error(
                    side, f"please specify a width for the operand '{expr_str(side)}' of '++'"
                )
            if not isinstance(b, ast.TypeBits):
                raise self.error(e, f"'++' is not defined on {type_str(lt)} and {type_str(rt)}")
        assert isinstance(lb, ast.TypeBits) and isinstance(rb, ast.TypeBits)
        e.type = T.bits((lb.size or 0) + (rb.size or 0), lb.signed)
        return e

    def _equality(self, e: ast.Binary) -> ast.Expr:
        lt, rt = e.left.type, e.right.type
        e.type = ast.TypeBool()
        for side, t in ((e.left, lt), (e.right, rt)):
            d = T.type_decl(t)
            if isinstance(d, ast.TableDecl):
                raise self.error(e, "tables cannot be compared")
            if isinstance(d, ast.ExternDecl):
                raise self.error(e, "extern instances cannot be compared")
            if isinstance(d, (ast.ActionDecl, ast.FunctionDecl, ast.MethodDecl)):
                raise self.error(e, f"'{expr_str(side)}' cannot be compared")
            if isinstance(
                d,
                (
                    ast.ParserDecl,
                    ast.ControlDecl,
                    ast.ParserTypeDecl,
                    ast.ControlTypeDecl,
                    ast.PackageTypeDecl,
                ),
            ):
                raise self.error(e, f"'{expr_str(side)}' cannot be compared")
            if isinstance(d, ast.StructDecl) and d.__dict__.get("_sluice_apply_result"):
                raise self.error(e, "table application results cannot be compared")
            if T.is_type_var(t):
                raise self.error(e, "values of a type variable cannot be compared")
            if isinstance(t, ast.TypeVoid):
                raise self.error(e, f"values of type {type_str(t)} cannot be compared")
        if _anonymous(lt) and _anonymous(rt):
            raise self.error(e, "cannot compare structure-valued expressions with unknown types")
        # {#} takes the other side's type; list/struct initializers convert to structs.
        if isinstance(e.left, (ast.InvalidHeader, ast.ListExpr, ast.StructExpr)) and not isinstance(
            e.right, (ast.InvalidHeader,)
        ):
            if _unknown(lt) or self._needs_conversion(lt, rt):
                e.left = self.coerce(e.left, rt, "comparison")
                return e
        if isinstance(e.right, (ast.InvalidHeader, ast.ListExpr, ast.StructExpr)):
            if _unknown(rt) or self._needs_conversion(rt, lt):
                e.right = self.coerce(e.right, lt, "comparison")
                return e
        lb, rb = self._sized_base(lt), self._sized_base(rt)
        if isinstance(lb, ast.TypeInfInt) and isinstance(rb, ast.TypeInfInt):
            return e
        if isinstance(lb, ast.TypeInfInt) and isinstance(rb, ast.TypeBits):
            self._retype_int(e.left, rb)
            return e
        if isinstance(rb, ast.TypeInfInt) and isinstance(lb, ast.TypeBits):
            self._retype_int(e.right, lb)
            return e
        if T.type_eq(lb, rb):
            return e
        if isinstance(lb, ast.TypeTuple) and isinstance(rb, ast.TypeTuple):
            if len(lb.args) == len(rb.args):
                ok = True
                for a, b in zip(lb.args, rb.args):
                    if not (
                        T.type_eq(a, b)
                        or isinstance(a, ast.TypeInfInt)
                        or isinstance(b, ast.TypeInfInt)
                    ):
                        ok = False
                if ok:
                    if isinstance(e.right, ast.ListExpr):
                        e.right = self.coerce(e.right, lt, "comparison")
                    elif isinstance(e.left, ast.ListExpr):
                        e.left = self.coerce(e.left, rt, "comparison")
                    return e
        raise self.error(
            e,
            f"'{expr_str(e.left)}' of type {T.describe_type(lt)} cannot be compared to"
            f" '{expr_str(e.right)}' of type {T.describe_type(rt)}",
        )

    def _needs_conversion(self, src: ast.Type | None, dst: ast.Type | None) -> bool:
        return not T.type_eq(src, dst) and (
            T.is_struct_like(dst) or isinstance(dst, (ast.TypeTuple, ast.TypeStack, ast.TypeList))
        )

    def ex_Ternary(self, e: ast.Ternary) -> ast.Expr:
        e.cond = self.expr(e.cond)
        e.then = self.expr(e.then)
        e.else_ = self.expr(e.else_)
        self.untyped(e.cond)
        ct = e.cond.type
        if not _unknown(ct) and not isinstance(ct, ast.TypeBool):
            raise self.error(e.cond, f"the condition of ?: must be a bool, not {type_str(ct)}")
        a, b = e.then.type, e.else_.type
        if _unknown(a) or _unknown(b):
            e.type = b if _unknown(a) else a
            if _unknown(e.type):
                e.type = ast.TypeDontCare()
            return e
        if isinstance(a, ast.TypeInfInt) and isinstance(b, ast.TypeInfInt):
            if try_const_value(e.cond) is None:
                raise self.error(
                    e,
                    f"a width must be specified for at least one of '{expr_str(e.then)}' or"
                    f" '{expr_str(e.else_)}'",
                )
            e.type = ast.TypeInfInt()
            return e
        if isinstance(a, ast.TypeInfInt):
            e.then = self.coerce(e.then, b, "?: operand")
            e.type = b
            return e
        if isinstance(b, ast.TypeInfInt):
            e.else_ = self.coerce(e.else_, a, "?: operand")
            e.type = a
            return e
        if T.type_eq(a, b):
            e.type = a
            return e
        if isinstance(e.else_, (ast.ListExpr, ast.StructExpr, ast.InvalidHeader)):
            e.else_ = self.coerce(e.else_, a, "?: operand")
            e.type = a
            return e
        if isinstance(e.then, (ast.ListExpr, ast.StructExpr, ast.InvalidHeader)):
            e.then = self.coerce(e.then, b, "?: operand")
            e.type = b
            return e
        raise self.error(
            e, f"the operands of ?: have different types {type_str(a)} and {type_str(b)}"
        )
