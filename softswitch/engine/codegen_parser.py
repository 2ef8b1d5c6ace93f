"""Code generation, part 4: parsers (states, select, ``packet_in``) and ``packet_out.emit``.

Each parser state becomes a function that runs the state's statements and returns the function
of the next state (``None`` for ``accept``). The parser's ``apply`` loops over them. Parser
exceptions are :class:`~.packet.ParserError` carrying the ``error`` code; the v1model harness
catches them, so a failed parse reaches ingress with ``parser_error`` set and the bytes after the
last complete extract as payload, as in BMv2. ``transition reject`` written in the program ends
parsing like ``accept`` does: p4c's BMv2 back end does not support it (BMv2's docs say so) and
compiles it to the end of parsing.
"""

from __future__ import annotations

from ..frontend import ast, constfold
from ..frontend import types as T
from ..frontend.elaborate import BlockInstance
from . import packet as P
from .codegen_expr import loc_of
from .codegen_types import CodegenError, py_field, scalar_bits


class ParserGen:
    """Mixin of the generator: parser blocks and packet_in/packet_out methods."""

    def gen_parser_states(self, blk: BlockInstance) -> dict[str, str]:
        """Generate one function per state of ``blk``; returns state name -> function."""
        decl = blk.decl
        assert isinstance(decl, ast.ParserDecl)
        funcs = {s.name: f"{self.prefix}s_{_ident(s.name)}" for s in decl.states}
        self._state_funcs = funcs
        for st in decl.states:
            if st.name in ("accept", "reject"):
                continue
            self.begin(funcs[st.name], [], "state")
            for s in st.stmts:
                self.stmt(s)
            self.transition(st.transition)
            self.end()
        return funcs

    def _target(self, e: ast.Expr) -> str:
        name = getattr(e, "name", None)
        if name in ("accept", "reject"):
            return "None"
        f = self._state_funcs.get(name)
        if f is None:
            raise CodegenError(f"{loc_of(e)}unknown state {name}")
        return f

    def transition(self, tr: ast.Expr | None) -> None:
        if tr is None:
            self.line("return None")
            return
        if isinstance(tr, ast.PathExpr):
            self.line(f"return {self._target(tr)}")
            return
        if not isinstance(tr, ast.SelectExpr):
            raise CodegenError(f"{loc_of(tr)}unsupported transition")
        keys = []
        for k in tr.keys:
            tmp = self.tmp("k")
            code = self.ex(k)
            if isinstance(k.type, ast.TypeBool):
                code = f"int({code})"
            self.line(f"{tmp} = {code}")
            keys.append(tmp)
        for case in tr.cases:
            ks = case.keyset
            if len(keys) > 1 and isinstance(ks, ast.ListExpr):
                conds = [self._key_match(k, x) for k, x in zip(keys, ks.items)]
            elif len(keys) > 1 and _is_vs(ks):
                conds = [self._vs_match("(" + ", ".join(keys) + ",)", ks)]
            else:
                conds = [self._key_match(keys[0] if len(keys) == 1 else
                                         "(" + ", ".join(keys) + ",)", ks)]
            conds = [c for c in conds if c != "True"]
            target = self._target(case.state)
            if not conds:
                self.line(f"return {target}")
                return
            self.line(f"if {' and '.join(conds)}:")
            self.line(f"    return {target}")
        self.line(f"raise _PErr({P.NO_MATCH})")

    def _key_match(self, key: str, ks: ast.Expr) -> str:
        if isinstance(ks, (ast.Default, ast.DontCare)):
            return "True"
        if isinstance(ks, ast.Mask):
            v = self._cint(ks.value)
            m = self._cint(ks.mask)
            return f"({key} & {m:#x}) == {v & m:#x}"
        if isinstance(ks, ast.Range):
            return f"{self._cint(ks.lo)} <= {key} <= {self._cint(ks.hi)}"
        if _is_vs(ks):
            return self._vs_match(key, ks)
        v = constfold.const_value(ks)
        if isinstance(v, bool):
            v = int(v)
        code = self.const_code(v, ks.type) if not isinstance(v, int) else repr(v)
        return f"{key} == {code}"

    def _vs_match(self, key: str, ks: ast.Expr) -> str:
        inst = self.block.instance_of(ks.decl) if self.block is not None else None
        name = self.value_set_names.get(id(inst))
        if name is None:
            raise CodegenError(f"{loc_of(ks)}value set {getattr(ks, 'name', '?')} not found")
        return f"{name}.match({key})"

    def _cint(self, e: ast.Expr) -> int:
        v = constfold.const_value(e)
        if isinstance(v, bool):
            return int(v)
        if not isinstance(v, int):
            raise CodegenError(f"{loc_of(e)}select keyset must be a constant")
        sb = scalar_bits(e.type)
        if sb is not None:
            v &= (1 << sb[0]) - 1
        return v

    # -- packet_in / packet_out --------------------------------------------------------------

    def packet_method(self, e: ast.Call, base: ast.Expr, name: str) -> str | None:
        pin = self.ex(base)
        args = [a.expr for a in e.args]
        if name == "extract":
            self.extract(pin, args[0], args[1] if len(args) > 1 else None)
            return None
        if name == "lookahead":
            return self.lookahead(pin, e.type)
        if name == "advance":
            return f"{pin}.advance({self.ex(args[0])})"
        if name == "length":
            return f"{pin}.end"
        if name == "emit":
            return f"{self.ex(args[0])}._emit({pin})"
        raise CodegenError(f"{loc_of(e)}packet method {name} is not supported")

    def extract(self, pin: str, target: ast.Expr, vlen: ast.Expr | None) -> None:
        t = target.type
        if not T.is_header(t):
            raise CodegenError(f"{loc_of(target)}extract into a non-header")
        self.class_of(t)
        fixed = T.min_size_in_bits(t)
        if fixed % 8:
            raise CodegenError(f"{loc_of(target)}header {T.type_str(t)} is not byte-sized")
        nb = fixed // 8
        stack_next = (
            isinstance(target, ast.Member)
            and target.name == "next"
            and isinstance(target.expr.type, ast.TypeStack)
        )
        union_next = (
            isinstance(target, ast.Member)
            and isinstance(target.expr, ast.Member)
            and target.expr.name == "next"
            and isinstance(target.expr.expr.type, ast.TypeStack)
        )
        h = self.tmp("h")
        if stack_next:
            stack = self.tmp("st")
            self.line(f"{stack} = {self.ex(target.expr)}")
            self.line(f"{h} = {stack}.next()")
        elif union_next:  # a member of the next union of a stack of unions
            stack = self.tmp("st")
            u = self.tmp("u")
            self.line(f"{stack} = {self.ex(target.expr.expr)}")
            self.line(f"{u} = {stack}.next()")
            self.line(f"{u}._invalidate()")
            self.line(f"{h} = {u}.{py_field(target.name)}")
            stack_next = True
        else:
            self.line(f"{h} = {self.ex(target)}")
            if isinstance(target, ast.Member) and T.is_header_union(target.expr.type):
                self.line(f"{self.ex(target.expr)}._invalidate()")
        o = self.tmp("o")
        if vlen is None:
            self.line(f"{o} = {pin}.off")
            self.line(f"if {o} + {nb} > {pin}.end: raise _PErr({P.PACKET_TOO_SHORT})")
            self.line(f"{h}._extract({pin}.data, {o})")
            self.line(f"{pin}.off = {o} + {nb}")
        else:
            vmax = T.max_size_in_bits(t) - fixed
            n = self.tmp("vl")
            self.line(f"{n} = {self.ex(vlen)}")
            # BMv2's order of checks: multiple of 8, enough data, then the varbit's maximum
            self.line(f"if {n} & 7: raise _PErr({P.PARSER_INVALID_ARGUMENT})")
            self.line(f"{o} = {pin}.need({nb} + ({n} >> 3))")
            self.line(f"if {n} > {vmax}: raise _PErr({P.HEADER_TOO_SHORT})")
            self.line(f"{h}._extract({pin}.data, {o}, {n})")
            self.line(f"{pin}.off = {o} + {nb} + ({n} >> 3)")
        if stack_next:
            self.line(f"{stack}.nextIndex += 1")

    def lookahead(self, pin: str, t: ast.Type | None) -> str:
        if isinstance(t, ast.TypeBool):
            return f"({pin}.peek_bits(1) != 0)"
        sb = scalar_bits(t)
        if sb is not None:
            w, signed = sb
            if signed:
                return f"_sx({pin}.peek_bits({w}), {w})"
            return f"{pin}.peek_bits({w})"
        if T.is_header(t):
            fixed = T.min_size_in_bits(t)
            if fixed % 8:
                raise CodegenError(f"lookahead of a header that is not byte-sized: {T.type_str(t)}")
            h = self.tmp("la")
            self.line(f"{h} = {self.class_of(t)}()")
            self.line(f"{h}._extract({pin}.data, {pin}.need({fixed // 8}))")
            return h
        if T.is_struct_like(t) or isinstance(t, ast.TypeStack):
            w = T.width_of(t)
            v = self.tmp("lv")
            h = self.tmp("la")
            self.line(f"{v} = {pin}.peek_bits({w})")
            self.line(f"{h} = {self.default_code(t)}")
            self._unpack(h, t, v, w)
            return h
        raise CodegenError(f"lookahead<{T.type_str(t)}> is not supported")

    def _unpack(self, obj: str, t: ast.Type, v: str, end: int) -> int:
        """Lines storing the bits of ``v`` below bit ``end`` into ``obj``; returns the new end."""
        if isinstance(t, ast.TypeStack):
            for i in range(t.size or 0):
                end = self._unpack(f"{obj}.h[{i}]", t.elem, v, end)
            return end
        if T.is_header(t):
            self.line(f"{obj}._valid = True")
        for fname, ft, _ in T.fields_of(t):
            target = f"{obj}.{py_field(fname)}"
            if T.is_struct_like(ft) or isinstance(ft, ast.TypeStack):
                end = self._unpack(target, ft, v, end)
                continue
            w = self.width(ft)
            end -= w
            raw = f"(({v} >> {end}) & {(1 << w) - 1:#x})"
            self.line(f"{target} = {self.fit(raw, ft)}")
        return end


def _is_vs(e: ast.Expr) -> bool:
    return isinstance(e, ast.PathExpr) and isinstance(e.decl, ast.ValueSetDecl)


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
