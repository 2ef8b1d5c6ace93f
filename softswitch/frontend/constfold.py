"""Compile-time evaluation of checked expressions.

:func:`const_value` folds an expression the type checker has annotated (``.type``, ``.decl``)
with P4's semantics: ``bit<W>`` wraps modulo 2^W, ``int<W>`` wraps in two's complement,
``|+|``/``|-|`` saturate, the unsized ``int`` is unbounded. Values are Python objects:

* ``int`` for ``bit<W>``/``int<W>``/``int`` (an ``int<W>`` value is the signed number) and for
  members of serializable enums (their underlying value);
* ``bool``, ``str``;
* :class:`EnumValue` for members of plain enums, :class:`ErrorValue` for ``error.X``,
  :class:`MatchKindValue` for match kinds;
* ``tuple`` for list/tuple expressions and :class:`StructValue` for struct/header initializers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ast
from . import types as T
from .errors import CompileError

Value = Any

# The largest shift amount folded exactly for unsized values; beyond it the result is refused.
_MAX_INF_SHIFT = 1 << 16


@dataclass(frozen=True)
class EnumValue:
    """A member of a (non-serializable) enum."""

    enum: str
    member: str


@dataclass(frozen=True)
class ErrorValue:
    """A member of the ``error`` type."""

    name: str


@dataclass(frozen=True)
class MatchKindValue:
    """A member of ``match_kind``."""

    name: str


@dataclass
class StructValue:
    """A struct, header or header-union value; ``valid`` is None for structs."""

    fields: dict[str, Value] = field(default_factory=dict)
    valid: bool | None = None


class NotConstant(CompileError):
    """The expression is not a compile-time constant."""


# Set by the type checker: functions that say what a PathExpr to a parameter evaluates to while
# checking an instantiation (unused after checking).
_CACHE_ATTR = "_sluice_const"


def wrap(value: int, t: ast.Type | None) -> int:
    """``value`` reduced to the range of the canonical numeric type ``t``."""
    if isinstance(t, ast.TypeName):
        under = T.enum_underlying(t)
        if under is None and T.is_newtype(t):
            under = T.strip_newtype(t)
        t = under
    if isinstance(t, ast.TypeBits):
        w = t.size or 0
        if w == 0:
            return 0
        v = value & ((1 << w) - 1)
        if t.signed and v >> (w - 1):
            v -= 1 << w
        return v
    return value


def to_unsigned(value: int, width: int) -> int:
    """Two's complement bit pattern of ``value`` in ``width`` bits."""
    return value & ((1 << width) - 1) if width > 0 else 0


def _width(t: ast.Type | None) -> int | None:
    if isinstance(t, ast.TypeName):
        u = T.enum_underlying(t)
        if u is None and T.is_newtype(t):
            u = T.strip_newtype(t)
        t = u
    if isinstance(t, ast.TypeBits):
        return t.size
    return None


def _not_const(e: ast.Node) -> NotConstant:
    return NotConstant(e.loc, f"'{expr_str(e)}' is not a compile-time constant")


def is_constant(e: ast.Expr) -> bool:
    """True when :func:`const_value` succeeds on ``e``."""
    try:
        const_value(e)
    except CompileError:
        return False
    return True


def try_const_value(e: ast.Expr) -> Value | None:
    """:func:`const_value`, or None when ``e`` is not constant (or fails to fold)."""
    try:
        return const_value(e)
    except CompileError:
        return None


def const_value(e: ast.Node) -> Value:
    """The compile-time value of checked expression ``e``.

    Raises :class:`NotConstant` when ``e`` is not a compile-time constant, and
    :class:`CompileError` when folding fails (division by zero, negative shift, ...).
    """
    if isinstance(e, ast.IntLit):
        t = e.type
        if t is None and e.width is not None:
            t = T.bits(e.width, e.signed)
        return wrap(e.value, t)
    if isinstance(e, ast.BoolLit):
        return e.value
    if isinstance(e, ast.StringLit):
        return e.value
    if isinstance(e, ast.PathExpr):
        d = e.decl
        if isinstance(d, ast.ConstDecl):
            cached = d.__dict__.get(_CACHE_ATTR)
            if cached is None:
                cached = (const_value(d.value),)
                d.__dict__[_CACHE_ATTR] = cached
            return _convert(cached[0], e.type)
        if isinstance(d, ast.MatchKindDecl):
            return MatchKindValue(e.name)
        if isinstance(d, ast.EnumMember) and d.value is not None:
            return wrap(const_value(d.value), T.enum_underlying(e.type) if e.type else None)
        raise _not_const(e)
    if isinstance(e, ast.Member):
        return _member(e)
    if isinstance(e, ast.Unary):
        return _unary(e)
    if isinstance(e, ast.Binary):
        return _binary(e)
    if isinstance(e, ast.Ternary):
        c = const_value(e.cond)
        return _convert(const_value(e.then if c else e.else_), e.type)
    if isinstance(e, ast.Cast):
        return cast_value(const_value(e.expr), e.expr.type, e.type, e)
    if isinstance(e, ast.Slice):
        v = const_value(e.expr)
        hi, lo = const_value(e.hi), const_value(e.lo)
        w = _width(e.expr.type)
        if isinstance(v, bool):
            v = int(v)
        if w is not None:
            v = to_unsigned(v, w)
        return (v >> lo) & ((1 << (hi - lo + 1)) - 1)
    if isinstance(e, ast.PlusSlice):
        v = const_value(e.expr)
        lo, w = const_value(e.base), const_value(e.width)
        width = _width(e.expr.type)
        if isinstance(v, bool):
            v = int(v)
        if width is not None:
            v = to_unsigned(v, width)
        return (v >> lo) & ((1 << w) - 1)
    if isinstance(e, ast.ListExpr):
        vals = tuple(const_value(i) for i in e.items)
        st = e.type
        if T.is_struct_like(st):
            names = [n for n, _, _ in T.fields_of(st)]
            return StructValue(dict(zip(names, vals)), valid=True if T.is_header(st) else None)
        return vals
    if isinstance(e, ast.StructExpr):
        return StructValue(
            {f.name: const_value(f.expr) for f in e.fields},
            valid=True if T.is_header(e.type) else None,
        )
    if isinstance(e, ast.InvalidHeader):
        return StructValue({}, valid=False)
    if isinstance(e, ast.Dots):
        return default_value(e.type, e)
    if isinstance(e, ast.Index):
        base = const_value(e.expr)
        i = const_value(e.index)
        if isinstance(base, tuple) and isinstance(i, int) and 0 <= i < len(base):
            return base[i]
        raise _not_const(e)
    if isinstance(e, ast.Call):
        return _call(e)
    raise _not_const(e)


def default_value(t: ast.Type | None, where: ast.Node) -> Value:
    """The default (zero) value of a type, as ``...`` initialises it."""
    base = T.strip_newtype(t) if t is not None else t
    if isinstance(base, (ast.TypeBits, ast.TypeInfInt, ast.TypeVarbit)):
        return 0
    if isinstance(base, ast.TypeBool):
        return False
    if isinstance(base, ast.TypeString):
        return ""
    if isinstance(base, ast.TypeErrorT):
        return ErrorValue("NoError")
    if T.is_serializable_enum(base):
        return 0
    if T.is_enum(base):
        ed = T.type_decl(base)
        first = ed.members[0].name if ed.members else ""  # type: ignore[union-attr]
        return EnumValue(ed.name, first)  # type: ignore[union-attr]
    if isinstance(base, ast.TypeStack):
        return tuple(default_value(base.elem, where) for _ in range(base.size or 0))
    if T.is_struct_like(base):
        return StructValue(
            {n: default_value(ft, where) for n, ft, _ in T.fields_of(base)},
            valid=False if T.is_header(base) else None,
        )
    if isinstance(base, ast.TypeTuple):
        return tuple(default_value(a, where) for a in base.args)
    raise _not_const(where)


def _convert(v: Value, t: ast.Type | None) -> Value:
    if isinstance(v, int) and not isinstance(v, bool):
        return wrap(v, t)
    return v


def _member(e: ast.Member) -> Value:
    d = e.decl
    if isinstance(d, ast.EnumMember):
        enum_t = e.type
        ed = T.type_decl(enum_t)
        if isinstance(ed, ast.EnumDecl) and ed.underlying is not None:
            if d.value is None:
                raise _not_const(e)
            return wrap(const_value(d.value), T.resolve_type(ed.underlying))
        return EnumValue(ed.name if ed is not None else "?", d.name)
    if isinstance(d, ast.ErrorDecl) or isinstance(e.type, ast.TypeErrorT):
        if isinstance(d, ast.ErrorDecl):
            return ErrorValue(e.name)
    if isinstance(e.expr.type, ast.TypeStack) and e.name == "size":
        return e.expr.type.size
    if isinstance(d, ast.StructField):
        base = const_value(e.expr)
        if isinstance(base, StructValue) and e.name in base.fields:
            return base.fields[e.name]
    raise _not_const(e)


_SIZE_METHODS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")


def _call(e: ast.Call) -> Value:
    f = e.func
    if (
        isinstance(f, ast.PathExpr)
        and isinstance(f.decl, ast.ExternFunctionDecl)
        and f.decl.name == "static_assert"
        and e.args
    ):
        return bool(const_value(e.args[0].expr))
    if isinstance(f, ast.Member) and f.name in _SIZE_METHODS and not e.args:
        d = f.decl
        if isinstance(d, ast.MethodDecl) and getattr(d, "_sluice_builtin", False):
            t = f.expr.type
            if isinstance(f.expr, ast.TypeExpr):
                t = f.expr.type
            bits_ = T.max_size_in_bits(t) if f.name.startswith("max") else T.min_size_in_bits(t)
            if f.name.endswith("Bytes"):
                return (bits_ + 7) // 8
            return bits_
    raise _not_const(e)


def _unary(e: ast.Unary) -> Value:
    v = const_value(e.expr)
    t = e.type
    if e.op == "!":
        return not v
    if isinstance(v, bool) or not isinstance(v, int):
        raise _not_const(e)
    if e.op == "-":
        return wrap(-v, t)
    if e.op == "+":
        return wrap(v, t)
    if e.op == "~":
        return wrap(~v, t)
    raise _not_const(e)


def _binary(e: ast.Binary) -> Value:
    op = e.op
    if op == "&&":
        a = const_value(e.left)
        if not a:
            # Still insist on a constant right side, as p4c does.
            const_value(e.right)
            return False
        return bool(const_value(e.right))
    if op == "||":
        a = const_value(e.left)
        b = const_value(e.right)
        return bool(a or b)
    a = const_value(e.left)
    b = const_value(e.right)
    return binary_value(op, a, b, e.left.type, e.right.type, e.type, e)


def binary_value(
    op: str,
    a: Value,
    b: Value,
    lt: ast.Type | None,
    rt: ast.Type | None,
    rest: ast.Type | None,
    where: ast.Node,
) -> Value:
    """Fold ``a op b`` (operands of types ``lt``/``rt``; result type ``rest``)."""
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    if op == "++":
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        wl, wr = _width(lt), _width(rt)
        if wl is None or wr is None:
            raise _not_const(where)
        return wrap((to_unsigned(int(a), wl) << wr) | to_unsigned(int(b), wr), rest)
    if not isinstance(a, int) or not isinstance(b, int):
        raise _not_const(where)
    a, b = int(a), int(b)
    if op in ("<", "<=", ">", ">="):
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "+":
        return wrap(a + b, rest)
    if op == "-":
        return wrap(a - b, rest)
    if op == "*":
        return wrap(a * b, rest)
    if op in ("/", "%"):
        if b == 0:
            raise CompileError(where.loc, "division by zero" if op == "/" else "modulo by zero")
        if a < 0 or b < 0:
            raise CompileError(where.loc, f"'{op}' is not defined on negative numbers")
        return wrap(a // b if op == "/" else a % b, rest)
    if op in ("|+|", "|-|"):
        r = a + b if op == "|+|" else a - b
        w = _width(rest)
        if w is None:
            return r
        if isinstance(rest, ast.TypeBits) and rest.signed:
            lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
        else:
            lo, hi = 0, (1 << w) - 1
        return max(lo, min(hi, r))
    if op in ("&", "|", "^"):
        r = a & b if op == "&" else (a | b if op == "|" else a ^ b)
        return wrap(r, rest)
    if op in ("<<", ">>"):
        if b < 0:
            raise CompileError(where.loc, f"negative shift amount {b}")
        w = _width(rest)
        if op == "<<":
            if w is not None:
                return 0 if b >= w else wrap(a << b, rest)
            if b > _MAX_INF_SHIFT:
                raise CompileError(where.loc, f"shift amount {b} too large")
            return a << b
        if w is not None and b >= w:
            return -1 if a < 0 else 0
        return wrap(a >> b, rest)
    raise _not_const(where)


def _eq(a: Value, b: Value) -> bool:
    if isinstance(a, StructValue) and isinstance(b, StructValue):
        return a.fields == b.fields and a.valid == b.valid
    return bool(a == b)


def cast_value(v: Value, src: ast.Type | None, dst: ast.Type | None, where: ast.Node) -> Value:
    """Fold ``(dst) v`` where ``v`` has canonical type ``src``."""
    if dst is None:
        return v
    target = dst
    if T.is_newtype(target):
        target = T.strip_newtype(target)
    if isinstance(target, ast.TypeBool):
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            if v not in (0, 1):
                raise CompileError(where.loc, f"only 0 and 1 can be cast to bool, not {v}")
            return v == 1
        raise _not_const(where)
    if isinstance(target, (ast.TypeBits, ast.TypeInfInt)) or T.is_serializable_enum(target):
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int):
            raise _not_const(where)
        return wrap(v, target)  # sign extension and reinterpretation both follow from wrap
    return v


# --------------------------------------------------------------------------------------------
# Printing expressions for messages


_PREC = {
    "||": 1,
    "&&": 2,
    "==": 4,
    "!=": 4,
    "<": 5,
    ">": 5,
    "<=": 5,
    ">=": 5,
    "|": 6,
    "^": 7,
    "&": 8,
    "<<": 9,
    ">>": 9,
    "++": 10,
    "+": 10,
    "-": 10,
    "|+|": 10,
    "|-|": 10,
    "*": 11,
    "/": 11,
    "%": 11,
}


def expr_str(e: ast.Node | None, depth: int = 0) -> str:
    """A short P4 rendering of an expression, for diagnostics."""
    if e is None:
        return "?"
    if depth > 12:
        return "..."
    d = depth + 1
    if isinstance(e, ast.IntLit):
        if e.text:
            return e.text
        if e.width is not None:
            return f"{e.width}{'s' if e.signed else 'w'}{e.value}"
        return str(e.value)
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.StringLit):
        return '"' + e.value + '"'
    if isinstance(e, ast.PathExpr):
        return ("." if e.global_ else "") + e.name
    if isinstance(e, ast.This):
        return "this"
    if isinstance(e, ast.Member):
        return f"{expr_str(e.expr, d)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{expr_str(e.expr, d)}[{expr_str(e.index, d)}]"
    if isinstance(e, ast.Slice):
        return f"{expr_str(e.expr, d)}[{expr_str(e.hi, d)}:{expr_str(e.lo, d)}]"
    if isinstance(e, ast.PlusSlice):
        return f"{expr_str(e.expr, d)}[{expr_str(e.base, d)} +: {expr_str(e.width, d)}]"
    if isinstance(e, ast.Dots):
        return "..."
    if isinstance(e, ast.Unary):
        return f"{e.op}{_paren(e.expr, 12, d)}"
    if isinstance(e, ast.Binary):
        p = _PREC.get(e.op, 3)
        return f"{_paren(e.left, p, d)} {e.op} {_paren(e.right, p + 1, d)}"
    if isinstance(e, ast.Ternary):
        return f"{expr_str(e.cond, d)} ? {expr_str(e.then, d)} : {expr_str(e.else_, d)}"
    if isinstance(e, ast.Cast):
        return f"({type_syntax_str(e.to)}){_paren(e.expr, 12, d)}"
    if isinstance(e, ast.Call):
        targs = ""
        if e.type_args:
            targs = "<" + ", ".join(type_syntax_str(t) for t in e.type_args) + ">"
        return f"{expr_str(e.func, d)}{targs}({_args_str(e.args, d)})"
    if isinstance(e, ast.ConstructorCall):
        return f"{type_syntax_str(e.ctype)}({_args_str(e.args, d)})"
    if isinstance(e, ast.ListExpr):
        return "{" + ", ".join(expr_str(i, d) for i in e.items) + "}"
    if isinstance(e, ast.StructExpr):
        inner = ", ".join(f"{f.name} = {expr_str(f.expr, d)}" for f in e.fields)
        return "{" + inner + (", ..." if e.dots else "") + "}"
    if isinstance(e, ast.InvalidHeader):
        return "{#}"
    if isinstance(e, ast.DontCare):
        return "_"
    if isinstance(e, ast.Default):
        return "default"
    if isinstance(e, ast.Mask):
        return f"{expr_str(e.value, d)} &&& {expr_str(e.mask, d)}"
    if isinstance(e, ast.Range):
        return f"{expr_str(e.lo, d)} .. {expr_str(e.hi, d)}"
    if isinstance(e, ast.TypeExpr):
        return type_syntax_str(e.ctype)
    if isinstance(e, ast.SelectExpr):
        return "select(" + ", ".join(expr_str(k, d) for k in e.keys) + ")"
    if isinstance(e, ast.Type):
        return type_syntax_str(e)
    return e.kind


def _paren(e: ast.Node, prec: int, depth: int) -> str:
    s = expr_str(e, depth)
    if isinstance(e, (ast.Binary, ast.Ternary)) and (
        isinstance(e, ast.Ternary) or _PREC.get(e.op, 3) < prec
    ):
        return f"({s})"
    return s


def _args_str(args: list[ast.Argument], depth: int) -> str:
    out = []
    for a in args:
        s = expr_str(a.expr, depth)
        out.append(f"{a.name} = {s}" if a.name else s)
    return ", ".join(out)


def type_syntax_str(t: ast.Type | None) -> str:
    """Render type syntax (widths possibly not yet folded)."""
    if isinstance(t, ast.TypeBits) and t.size is None:
        return f"{'int' if t.signed else 'bit'}<{expr_str(t.width)}>"
    if isinstance(t, ast.TypeVarbit) and t.size is None:
        return f"varbit<{expr_str(t.width)}>"
    if isinstance(t, ast.TypeStack) and t.size is None:
        return f"{type_syntax_str(t.elem)}[{expr_str(t.size_expr)}]"
    if isinstance(t, ast.TypeSpecialized):
        return f"{t.base.name}<{', '.join(type_syntax_str(a) for a in t.args)}>"
    if isinstance(t, ast.TypeTuple):
        return f"tuple<{', '.join(type_syntax_str(a) for a in t.args)}>"
    if isinstance(t, ast.TypeList):
        return f"list<{type_syntax_str(t.elem)}>"
    return T.type_str(t)
