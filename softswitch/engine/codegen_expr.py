"""Code generation, part 2: P4 expressions and l-values as Python expression source.

Values follow :mod:`.packet`'s conventions (``bit<W>`` unsigned ints, ``int<W>`` signed ints,
``bool``, integer codes for enums and ``error``, generated objects for struct-like types, tuples
for tuples). Every arithmetic result is wrapped to its width right where it is computed, so an
operand is always in range. Compile-time constant sub-expressions are folded by the front end's
``const_value`` and emitted as literals.

Calls whose callee writes back ``out``/``inout`` scalars cannot be a Python expression; they are
hoisted into statements placed before the current one (``self.pre``), and their value is a
temporary.
"""

from __future__ import annotations

from typing import Any

from ..frontend import ast, constfold
from ..frontend import types as T
from ..frontend.scope import STACK_PROPERTIES
from .codegen_types import CodegenError, is_obj, py_field, scalar_bits

_SCALAR_CONST_TYPES = (ast.TypeBits, ast.TypeBool, ast.TypeInfInt, ast.TypeErrorT)


def _mask(w: int) -> str:
    return f"{(1 << w) - 1:#x}"


def _wrap_s(code: str, w: int) -> str:
    half = 1 << (w - 1)
    return f"((({code}) + {half:#x} & {(1 << w) - 1:#x}) - {half:#x})"


def _is_literal(code: str) -> bool:
    return code in ("True", "False") or code.lstrip("-").replace("x", "").isalnum() and (
        code.lstrip("-")[:1].isdigit()
    )


def loc_of(node: Any) -> str:
    loc = getattr(node, "loc", None)
    return f"{loc}: " if loc is not None else ""


class ExprGen:
    """Mixin of the generator: expressions."""

    # provided by the generator
    names: dict[int, tuple[str, bool]]
    pre: list[str]

    # -- constants ---------------------------------------------------------------------------

    def const_code(self, v: Any, t: ast.Type | None) -> str | None:
        """A literal for folded value ``v`` of type ``t``, or None when it has no literal form."""
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, int):
            sb = scalar_bits(t)
            if sb is not None and sb[0] > 0:
                w, signed = sb
                v &= (1 << w) - 1
                if signed and v >> (w - 1):
                    v -= 1 << w
            return repr(v) if -10 < v < 10 else (hex(v) if v >= 0 else "-" + hex(-v))
        if isinstance(v, constfold.ErrorValue):
            return str(self.error_codes.get(v.name, 0))
        if isinstance(v, constfold.EnumValue):
            d = T.type_decl(t)
            if isinstance(d, ast.EnumDecl):
                return str(self.enum_code(d, v.member))
            return None
        if isinstance(v, tuple) and isinstance(t, ast.TypeTuple):
            items = [self.const_code(x, a) for x, a in zip(v, t.args)]
            if any(i is None for i in items):
                return None
            return "(" + "".join(f"{i}, " for i in items) + ")"
        if isinstance(v, str):
            return repr(v)
        return None

    def try_fold(self, e: ast.Expr) -> str | None:
        t = e.type
        if not (
            isinstance(t, _SCALAR_CONST_TYPES)
            or isinstance(T.type_decl(t), ast.EnumDecl)
            or isinstance(t, ast.TypeTuple)
        ):
            return None
        if isinstance(e, (ast.Call, ast.ListExpr, ast.StructExpr)) and not isinstance(
            e, ast.ListExpr
        ):
            return None
        try:
            v = constfold.const_value(e)
        except Exception:  # noqa: BLE001 - anything the folder refuses is run-time code
            return None
        return self.const_code(v, t)

    # -- expressions -------------------------------------------------------------------------

    def ex(self, e: ast.Expr) -> str:
        """Python source computing the value of ``e``."""
        if isinstance(e, (ast.IntLit, ast.BoolLit, ast.Binary, ast.Unary, ast.Cast,
                          ast.Member, ast.PathExpr, ast.Ternary, ast.Slice)):
            c = self.try_fold(e)
            if c is not None:
                return c
        m = getattr(self, "ex_" + e.kind, None)
        if m is None:
            raise CodegenError(f"{loc_of(e)}expression {e.kind} is not supported by the engine")
        return m(e)

    def ex_IntLit(self, e: ast.IntLit) -> str:
        return self.const_code(e.value, e.type) or repr(e.value)

    def ex_BoolLit(self, e: ast.BoolLit) -> str:
        return "True" if e.value else "False"

    def ex_StringLit(self, e: ast.StringLit) -> str:
        return repr(e.value)

    def ex_PathExpr(self, e: ast.PathExpr) -> str:
        d = e.decl
        hit = self.names.get(id(d))
        if hit is not None:
            return hit[0]
        if isinstance(d, ast.ConstDecl):
            return self.global_const(d)
        if isinstance(d, ast.Parameter):  # a constructor parameter: its compile-time value
            b = self.block
            while b is not None:
                if d.name in b.args and d in getattr(b.decl, "ctor_params", ()):
                    code = self.const_code(b.args[d.name], e.type)
                    if code is not None:
                        return code
                b = b.block if b.inst_name is not None else None
        raise CodegenError(f"{loc_of(e)}'{e.name}' has no run-time value here")

    def ex_Member(self, e: ast.Member) -> str:
        base = e.expr
        bt = base.type
        d = e.decl
        if isinstance(d, ast.EnumMember) or isinstance(d, ast.ErrorDecl):
            c = self.try_fold(e)
            if c is None:
                raise CodegenError(f"{loc_of(e)}cannot evaluate {e.name}")
            return c
        if isinstance(bt, ast.TypeStack):
            b = self.ex(base)
            if e.name == "next":
                return f"{b}.next()"
            if e.name == "last":
                return f"{b}.last()"
            if e.name == "lastIndex":
                return f"{b}.last_index()"
            if e.name == "nextIndex":
                return f"{b}.nextIndex"
            if e.name == "size":
                return str(bt.size)
            raise CodegenError(f"{loc_of(e)}unknown stack property {e.name}")
        sd = T.type_decl(bt)
        if isinstance(sd, ast.StructDecl) and sd.__dict__.get("_sluice_apply_result"):
            call = self.ex(base)
            if e.name == "hit":
                return f"{call}[0]"
            if e.name == "miss":
                return f"(not {call}[0])"
            return f"{call}[1]"
        return f"{self.ex(base)}.{py_field(e.name)}"

    def ex_Index(self, e: ast.Index) -> str:
        bt = e.expr.type
        b, i = self.ex_seq([e.expr, e.index])
        if isinstance(bt, ast.TypeStack):
            if self._const_int(e.index) is not None:
                return f"{b}.h[{i}]"
            return f"{b}.at({i})"  # out of range: a scratch header, as BMv2 tolerates
        return f"{b}[{i}]"

    def ex_Slice(self, e: ast.Slice) -> str:
        hi = constfold.const_value(e.hi)
        lo = constfold.const_value(e.lo)
        w = hi - lo + 1
        b = self.ex(e.expr)
        if lo == 0:
            return f"({b} & {_mask(w)})"
        return f"(({b} >> {lo}) & {_mask(w)})"

    def ex_PlusSlice(self, e: ast.PlusSlice) -> str:
        w = constfold.const_value(e.width)
        return f"(({self.ex(e.expr)} >> {self.ex(e.base)}) & {_mask(w)})"

    def ex_Unary(self, e: ast.Unary) -> str:
        x = self.ex(e.expr)
        if e.op == "!":
            return f"(not {x})"
        if e.op == "+":
            return x
        sb = scalar_bits(e.type)
        if e.op == "~":
            if sb is None:
                return f"(~{x})"
            w, signed = sb
            return f"(~{x})" if signed else f"({x} ^ {_mask(w)})"
        if e.op == "-":
            if sb is None:
                return f"(-{x})"
            w, signed = sb
            return _wrap_s(f"-{x}", w) if signed else f"(-{x} & {_mask(w)})"
        raise CodegenError(f"{loc_of(e)}unary {e.op}")

    def ex_Binary(self, e: ast.Binary) -> str:  # noqa: C901 - one dispatch over operators
        op = e.op
        if op in ("&&", "||"):
            py = "and" if op == "&&" else "or"
            a = self.ex(e.left)
            rpre, b = self.sub(e.right)
            if not rpre:
                return f"({a} {py} {b})"
            # the right side has hoisted calls: evaluate it only when it decides
            t = self.tmp("sc")
            self.pre.append(f"{t} = {a}")
            self.pre.append(f"if {'' if op == '&&' else 'not '}{t}:")
            self.pre.extend("    " + x for x in rpre)
            self.pre.append(f"    {t} = {b}")
            return t
        a, b = self.ex_seq([e.left, e.right])
        lt = e.left.type
        if op in ("==", "!="):
            if is_obj(lt) or is_obj(e.right.type):
                r = f"{a}._eq({b})"
                return r if op == "==" else f"(not {r})"
            return f"({a} {op} {b})"
        if op in ("<", ">", "<=", ">="):
            return f"({a} {op} {b})"
        sb = scalar_bits(e.type)
        if op == "++":
            lsb = scalar_bits(e.left.type)
            rsb = scalar_bits(e.right.type)
            if lsb is None or rsb is None or sb is None:
                raise CodegenError(f"{loc_of(e)}'++' on non-bit operands")
            rw = rsb[0]
            rb = f"({b} & {_mask(rw)})" if rsb[1] else b
            if sb[1]:
                return _wrap_s(f"({a} << {rw}) | {rb}", sb[0])
            la = f"({a} & {_mask(lsb[0])})" if lsb[1] else a
            return f"(({la} << {rw}) | {rb})"
        if sb is None:  # unsized int
            pyop = {"/": "//"}.get(op, op)
            if op in ("|+|", "|-|"):
                pyop = op[1]
            return f"({a} {pyop} {b})"
        w, signed = sb
        if op in ("+", "-", "*"):
            return _wrap_s(f"{a} {op} {b}", w) if signed else f"(({a} {op} {b}) & {_mask(w)})"
        if op in ("/", "%"):
            return f"_div({a}, {b})" if op == "/" else f"_mod({a}, {b})"
        if op in ("&", "|", "^"):
            return f"({a} {op} {b})"
        if op == "<<":
            k = self._const_int(e.right)
            if k is not None:
                if k >= w:
                    return "0"
                return _wrap_s(f"{a} << {k}", w) if signed else f"(({a} << {k}) & {_mask(w)})"
            return f"_shl_s({a}, {b}, {w})" if signed else f"_shl({a}, {b}, {_mask(w)})"
        if op == ">>":
            k = self._const_int(e.right)
            if k is not None and k >= w:
                return "(-1 if " + a + " < 0 else 0)" if signed else "0"
            return f"({a} >> {b})"
        if op == "|+|":
            return f"_sat_add_s({a}, {b}, {w})" if signed else f"_sat_add_u({a}, {b}, {_mask(w)})"
        if op == "|-|":
            return f"_sat_sub_s({a}, {b}, {w})" if signed else f"_sat_sub_u({a}, {b}, {_mask(w)})"
        raise CodegenError(f"{loc_of(e)}operator {op} is not supported")

    def _const_int(self, e: ast.Expr) -> int | None:
        try:
            v = constfold.const_value(e)
        except Exception:  # noqa: BLE001
            return None
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def ex_Ternary(self, e: ast.Ternary) -> str:
        c = self.ex(e.cond)
        tpre, a = self.sub(e.then)
        epre, b = self.sub(e.else_)
        if not tpre and not epre:
            return f"({a} if {c} else {b})"
        t = self.tmp("tn")
        self.pre.append(f"if {c}:")
        self.pre.extend("    " + x for x in tpre)
        self.pre.append(f"    {t} = {a}")
        self.pre.append("else:")
        self.pre.extend("    " + x for x in epre)
        self.pre.append(f"    {t} = {b}")
        return t

    def sub(self, e: ast.Expr) -> tuple[list[str], str]:
        """Evaluate ``e`` capturing the pre-statements it hoists (returned, not emitted)."""
        saved = self.pre
        self.pre = []
        try:
            code = self.ex(e)
            return self.pre, code
        finally:
            self.pre = saved

    def ex_seq(self, exprs: list[ast.Expr]) -> list[str]:
        """Evaluate ``exprs`` left to right; when a later one hoists calls (which may write
        what an earlier one read), the earlier values are taken into temporaries first."""
        codes: list[str] = []
        for x in exprs:
            pre, code = self.sub(x)
            if pre:
                for i, c in enumerate(codes):
                    if not _is_literal(c):
                        t = self.tmp("sq")
                        self.pre.append(f"{t} = {c}")
                        codes[i] = t
                self.pre.extend(pre)
            codes.append(code)
        return codes

    def ex_Cast(self, e: ast.Cast) -> str:
        x = self.ex(e.expr)
        return self.convert(x, e.expr.type, e.type)

    def convert(self, x: str, src: ast.Type | None, dst: ast.Type | None) -> str:
        """Code converting value ``x`` of type ``src`` to type ``dst`` (a cast)."""
        if isinstance(dst, ast.TypeBool):
            if isinstance(src, ast.TypeBool):
                return x
            return f"({x} != 0)"
        dsb = scalar_bits(dst)
        if dsb is not None:
            w, signed = dsb
            if isinstance(src, ast.TypeBool):
                return f"int({x})"
            ssb = scalar_bits(src)
            if ssb is not None and ssb == dsb:
                return x
            if signed:
                return _wrap_s(x, w)
            if ssb is not None and not ssb[1] and ssb[0] <= w:
                return x
            return f"({x} & {_mask(w)})"
        return x

    def ex_ListExpr(self, e: ast.ListExpr) -> str:
        t = e.type
        if T.is_struct_like(t):
            cls = self.class_of(t)
            fields = T.fields_of(t)
            args = self.seq_copies(list(e.items), [ft for _, ft, _ in fields])
            return self.make_struct(cls, t, [py_field(n) for n, _, _ in fields], args)
        if isinstance(t, ast.TypeStack):
            items = self.seq_copies(list(e.items), [t.elem] * len(e.items))
            return "_HS([" + ", ".join(items) + "])"
        items = self.seq_copies(list(e.items), [i.type for i in e.items])
        if isinstance(t, ast.TypeList):
            return "[" + ", ".join(items) + "]"
        return "(" + "".join(i + ", " for i in items) + ")"

    def ex_StructExpr(self, e: ast.StructExpr) -> str:
        t = e.type
        if not T.is_struct_like(t) or T.type_decl(t).__dict__.get("_sluice_anonymous"):
            # an untyped {a = ..} only ever feeds a hash/digest: a tuple in field order
            return "(" + "".join(self.ex(f.expr) + ", " for f in e.fields) + ")"
        cls = self.class_of(t)
        types = {fname: ft for fname, ft, _ in T.fields_of(t)}
        names = [py_field(f.name) for f in e.fields]
        args = self.seq_copies([f.expr for f in e.fields], [types.get(f.name) for f in e.fields])
        return self.make_struct(cls, t, names, args)

    def seq_copies(self, exprs: list[ast.Expr], types: list[Any]) -> list[str]:
        """:meth:`ex_seq` with copies of object values (initializer components)."""
        codes = self.ex_seq(exprs)
        return [
            c + "._copy()" if is_obj(t if t is not None else x.type) and not self.is_fresh(x)
            else c
            for c, x, t in zip(codes, exprs, types)
        ]

    def make_struct(self, cls: str, t: ast.Type, names: list[str], args: list[str]) -> str:
        """An expression building a ``cls`` object with ``names`` set to ``args``."""
        valid = T.is_header(t)
        return f"_mk({cls}, {tuple(names)!r}, ({''.join(a + ', ' for a in args)}), {valid})"

    def value_copy(self, e: ast.Expr, t: ast.Type | None) -> str:
        """The value of ``e`` as a fresh object when it is one (copy semantics)."""
        code = self.ex(e)
        if is_obj(t if t is not None else e.type) and not self.is_fresh(e):
            return f"{code}._copy()"
        return code

    def is_fresh(self, e: ast.Expr) -> bool:
        """Whether ``e`` builds a new object (no copy needed when it is stored)."""
        return isinstance(e, (ast.ListExpr, ast.StructExpr, ast.InvalidHeader, ast.Dots)) or (
            isinstance(e, ast.Call) and not isinstance(T.type_decl(e.type), ast.StructDecl)
        )

    def ex_InvalidHeader(self, e: ast.InvalidHeader) -> str:
        return self.default_code(e.type)

    def ex_Dots(self, e: ast.Dots) -> str:
        return self.default_code(e.type)

    def ex_DontCare(self, e: ast.DontCare) -> str:
        return self.default_code(e.type)

    def ex_Call(self, e: ast.Call) -> str:
        code = self.call(e, want_value=True)
        if code is None:
            raise CodegenError(f"{loc_of(e)}a call without a value used as a value")
        return code

    def ex_TypeExpr(self, e: ast.TypeExpr) -> str:
        raise CodegenError(f"{loc_of(e)}a type used as a value")

    # -- l-values ----------------------------------------------------------------------------

    def assign(self, lhs: ast.Expr, value: str, vtype: ast.Type | None = None) -> list[str]:
        """Statements storing ``value`` (already the right type) into l-value ``lhs``."""
        t = lhs.type
        if isinstance(lhs, ast.DontCare):
            return [f"_ = {value}"]
        if is_obj(t):
            return [f"{self.ex(lhs)}._set({value})"]
        if isinstance(lhs, ast.PathExpr):
            name, is_global = self.names[id(lhs.decl)]
            if is_global:
                self.note_global(name)
            return [f"{name} = {value}"]
        if isinstance(lhs, ast.Member):
            return [f"{self.ex(lhs.expr)}.{py_field(lhs.name)} = {value}"]
        if isinstance(lhs, ast.Index):
            return [f"{self.ex(lhs.expr)}[{self.ex(lhs.index)}] = {value}"]
        if isinstance(lhs, ast.Slice):
            hi = constfold.const_value(lhs.hi)
            lo = constfold.const_value(lhs.lo)
            return self._assign_bits(lhs.expr, value, str(lo), hi - lo + 1)
        if isinstance(lhs, ast.PlusSlice):
            w = constfold.const_value(lhs.width)
            return self._assign_bits(lhs.expr, value, self.ex(lhs.base), w)
        raise CodegenError(f"{loc_of(lhs)}cannot assign to {lhs.kind}")

    def _assign_bits(self, base: ast.Expr, value: str, lo: str, w: int) -> list[str]:
        old = self.ex(base)
        m = _mask(w)
        sb = scalar_bits(base.type)
        merged = f"({old} & ~({m} << {lo})) | (({value} & {m}) << {lo})"
        if sb is not None and sb[1]:
            merged = _wrap_s(merged, sb[0])
        elif sb is not None:
            merged = f"({merged}) & {_mask(sb[0])}"
        return self.assign(base, merged)

    # -- field lists (hash, checksum, digest data) -------------------------------------------

    def field_list(self, e: ast.Expr) -> str:
        """Code for the list of ``(value, width)`` pairs of data expression ``e``, skipping
        fields of invalid headers as BMv2 does. Emits pre-statements; returns the list's name."""
        tmp = self.tmp("fl")
        self.pre.append(f"{tmp} = []")
        self._field_list_into(tmp, e)
        return tmp

    def _field_list_into(self, out: str, e: ast.Expr) -> None:
        t = e.type
        if isinstance(e, ast.ListExpr) and not T.is_struct_like(t):
            group: list[str] = []
            gbase: str | None = None
            for item in e.items:
                base = self._header_base(item)
                if base is not None and not is_obj(item.type):
                    if gbase is not None and gbase != base:
                        self._flush_group(out, gbase, group)
                        group = []
                    gbase = base
                    group.append(f"({self._int_val(item)}, {self.width(item.type)})")
                    continue
                if gbase is not None:
                    self._flush_group(out, gbase, group)
                    group, gbase = [], None
                self._field_list_into(out, item)
            if gbase is not None:
                self._flush_group(out, gbase, group)
            return
        if isinstance(e, ast.StructExpr):
            for f in e.fields:
                self._field_list_into(out, f.expr)
            return
        if is_obj(t):
            self.pre.append(f"{self.ex(e)}._fl({out})")
            return
        base = self._header_base(e)
        pair = f"({self._int_val(e)}, {self.width(t)})"
        if base is not None:
            self.pre.append(f"if {base}._valid: {out}.append({pair})")
        else:
            self.pre.append(f"{out}.append({pair})")

    def _flush_group(self, out: str, base: str, group: list[str]) -> None:
        self.pre.append(f"if {base}._valid: {out}.extend(({''.join(g + ', ' for g in group)}))")

    def _int_val(self, e: ast.Expr) -> str:
        code = self.ex(e)
        return f"int({code})" if isinstance(e.type, ast.TypeBool) else code

    def _header_base(self, e: ast.Expr) -> str | None:
        """The code of the header a field access reads from, if it is one."""
        if isinstance(e, ast.Member) and T.is_header(e.expr.type):
            return self.ex(e.expr)
        return None


__all__ = ["ExprGen", "STACK_PROPERTIES", "loc_of"]
