"""Code generation, part 5: the v1model externs (objects and functions).

Extern objects (registers, counters, meters) are runtime objects from :mod:`.stateful` bound in
the generated module under names chosen here; per-packet side effects that the harness acts on
after a pipeline stage (clone, resubmit, recirculate, digest, truncate, checksum errors) are
recorded on ``_ctx``, the harness's :class:`~.v1model.PacketContext`.
"""

from __future__ import annotations

from typing import Any

from ..frontend import ast, constfold
from ..frontend import types as T
from ..frontend.elaborate import ExternInstance
from ..frontend.typecheck import bind_arguments
from .codegen_expr import loc_of
from .codegen_types import CodegenError, is_obj, scalar_bits


class ExternGen:
    """Mixin of the generator: extern method calls and extern functions."""

    def extern_object(self, base: ast.Expr) -> str:
        """The runtime name of the extern instance ``base`` refers to."""
        d = getattr(base, "decl", None)
        inst = None
        b = self.block
        while b is not None and inst is None:
            inst = b.instance_of(d)
            b = b.block if b.inst_name is not None else None
        if inst is None:
            inst = self.global_extern_by_node.get(id(d))
        if not isinstance(inst, ExternInstance):
            raise CodegenError(f"{loc_of(base)}'{getattr(base, 'name', '?')}' is not an extern"
                               " instance the engine knows")
        return self.extern_name(inst)

    def extern_name(self, inst: ExternInstance) -> str:
        name = self.extern_names.get(id(inst))
        if name is None:
            name = f"X{len(self.extern_names)}"
            self.extern_names[id(inst)] = name
            self.externs.append((name, inst))
        return name

    def enum_member(self, e: ast.Expr) -> str:
        v = constfold.const_value(e)
        if isinstance(v, constfold.EnumValue):
            return v.member
        raise CodegenError(f"{loc_of(e)}expected an enum constant")

    def out_assign(self, target: ast.Expr, value: str, guard_none: bool = False) -> None:
        """Store ``value`` into out argument ``target`` (skipped when the value is None)."""
        if isinstance(target, ast.DontCare):
            return
        if guard_none:
            tmp = self.tmp("x")
            self.line(f"{tmp} = {value}")
            self.line(f"if {tmp} is not None:")
            self.fn.indent += 1
            for s in self.assign(target, self.fit(tmp, target.type)):
                self.line(s)
            self.fn.indent -= 1
            return
        for s in self.assign(target, self.fit(value, target.type)):
            self.line(s)

    def fit(self, code: str, t: ast.Type | None) -> str:
        """``code`` (an unsigned number) reduced to type ``t``."""
        if isinstance(t, ast.TypeBool):
            return f"({code} != 0)"
        sb = scalar_bits(t)
        if sb is None:
            return code
        w, signed = sb
        if signed:
            return f"_sx({code} & {(1 << w) - 1:#x}, {w})"
        return f"({code} & {(1 << w) - 1:#x})"

    # -- methods -----------------------------------------------------------------------------

    def extern_method(self, e: ast.Call, base: ast.Expr, name: str, ext: str) -> str | None:
        if ext in ("packet_in", "packet_out"):
            return self.packet_method(e, base, name)
        args = [a for _, a in bind_arguments(e)] if any(x.name for x in e.args) else [
            a.expr for a in e.args
        ]
        obj = self.extern_object(base)
        if ext == "register":
            if name == "read":
                self.out_assign(args[0], f"{obj}.read({self.ex(args[1])})", guard_none=True)
                return None
            if name == "write":
                return f"{obj}.write({self.ex(args[0])}, {self.ex(args[1])})"
        if ext == "counter" and name == "count":
            return f"{obj}.count({self.ex(args[0])}, _ctx.ingress_length)"
        if ext == "direct_counter" and name == "count":
            return None  # BMv2 counts every hit of the table itself
        if ext == "meter" and name == "execute_meter":
            code = f"{obj}.execute({self.ex(args[0])}, _ctx.ingress_length, _ctx.now_us)"
            self.out_assign(args[1], code, guard_none=True)
            return None
        if ext == "direct_meter" and name == "read":
            self.out_assign(args[0], "_ctx.dmeter")
            return None
        if ext == "Checksum16" and name == "get":
            return f"_ccsum('csum16', {self.field_list(args[0])}, 16)"
        raise CodegenError(f"{loc_of(e)}{ext}.{name} is not supported by the engine")

    # -- functions ---------------------------------------------------------------------------

    def extern_function(self, e: ast.Call, name: str) -> str | None:  # noqa: C901
        args = [a for _, a in bind_arguments(e)] if any(x.name for x in e.args) else [
            a.expr for a in e.args
        ]
        if name == "verify":
            self.line(f"if not {self.ex(args[0])}: raise _PErr({self.ex(args[1])})")
            return None
        if name == "mark_to_drop":
            sm = self.ex(args[0]) if args else "_ctx.sm"
            self.line(f"{sm}.egress_spec = _DROP_PORT")  # the switch's drop port
            self.line(f"{sm}.mcast_grp = 0")
            return None
        if name in ("clone", "clone3", "clone_preserving_field_list"):
            self.enum_member(args[0])  # I2E / E2E: BMv2 acts by where it is called
            fl = "None"
            if name == "clone_preserving_field_list":
                fl = self.ex(args[2])
            elif name == "clone3":
                fl = repr(self.data_field_list(args[2]))
            self.line(f"_ctx.clone_session = {self.ex(args[1])}")
            self.line("_ctx.fx = True")
            self.line(f"_ctx.clone_fl = {fl}")
            return None
        if name in ("resubmit", "resubmit_preserving_field_list"):
            fl = self.ex(args[0]) if name.endswith("list") else repr(self.data_field_list(args[0]))
            self.line(f"_ctx.resubmit_fl = {fl}")
            self.line("_ctx.fx = True")
            return None
        if name in ("recirculate", "recirculate_preserving_field_list"):
            fl = self.ex(args[0]) if name.endswith("list") else repr(self.data_field_list(args[0]))
            self.line(f"_ctx.recirculate_fl = {fl}")
            self.line("_ctx.fx = True")
            return None
        if name == "truncate":
            self.line(f"_ctx.truncate = {self.ex(args[0])}")
            self.line("_ctx.fx = True")
            return None
        if name == "digest":
            data = args[1]
            dname = self.digest_name(data)
            fn, vals = self.digest_values(data)
            self.line(f"_ctx.digests.append(({dname!r}, {self.ex(args[0])}, {fn}, {vals}))")
            self.line("_ctx.fx = True")
            return None
        if name == "hash":
            algo = self.enum_member(args[1])
            fl = self.field_list(args[3])
            r = args[0]
            w = self.width(r.type)
            code = f"_v1hash({algo!r}, {self.ex(args[2])}, {fl}, {self.ex(args[4])}, {w})"
            self.out_assign(r, code)
            return None
        if name == "random":
            r = args[0]
            self.out_assign(r, f"_random({self.ex(args[1])}, {self.ex(args[2])})")
            return None
        if name in ("verify_checksum", "verify_checksum_with_payload"):
            algo = self.enum_member(args[3])
            cond = self.ex(args[0])
            csum = args[2]
            hb = self._header_base(csum)
            if hb is not None:
                cond = f"{cond} and {hb}._valid"
            self.line(f"if {cond}:")
            self.fn.indent += 1
            fast = self.fast_csum16(args[1]) if algo == "csum16" and "payload" not in name else None
            if fast is not None:
                self.line(f"if {fast} != {self.ex(csum)}:")
            else:
                fl = self.field_list(args[1])
                payload = "_ctx.payload" if name.endswith("payload") else "b''"
                self.line(f"if not _vcsum({algo!r}, {fl}, {self.ex(csum)}, payload={payload}):")
            self.line("    _ctx.checksum_error = 1")
            self.fn.indent -= 1
            return None
        if name in ("update_checksum", "update_checksum_with_payload"):
            algo = self.enum_member(args[3])
            cond = self.ex(args[0])
            csum = args[2]
            self.line(f"if {cond}:")
            self.fn.indent += 1
            fast = self.fast_csum16(args[1]) if algo == "csum16" and "payload" not in name else None
            if fast is not None:
                self.out_assign(csum, fast)
            else:
                fl = self.field_list(args[1])
                payload = "_ctx.payload" if name.endswith("payload") else "b''"
                w = self.width(csum.type)
                self.out_assign(csum, f"_ccsum({algo!r}, {fl}, {w}, payload={payload})")
            self.fn.indent -= 1
            return None
        if name == "log_msg":
            data = self.ex(args[1]) if len(args) > 1 else "()"
            if len(args) > 1 and not isinstance(args[1], ast.ListExpr):
                data = f"({data},)"
            return f"_log_msg({self.ex(args[0])}, {data})"
        if name in ("assert", "assume"):
            self.line(f"if not {self.ex(args[0])}: raise _ASSERT")
            return None
        if name == "static_assert":
            return None
        if name in ("sluice_queue_pause", "sluice_queue_resume"):
            # sluice.p4: acts on the traffic manager at once, when the action runs
            what = name.rsplit("_", 1)[1]
            return f"_queue_{what}({self.ex(args[0])}, {self.ex(args[1])})"
        raise CodegenError(f"{loc_of(e)}extern {name} is not supported by the engine")

    # -- helpers -----------------------------------------------------------------------------

    def fast_csum16(self, data: ast.Expr) -> str | None:
        """``csum16`` over a list of scalar fields of one header (the IPv4 header checksum case)
        as one integer: the one's-complement sum of 16-bit words is the value mod 0xFFFF."""
        if not isinstance(data, ast.ListExpr) or not data.items:
            return None
        bases = {self._header_base(i) for i in data.items}
        if len(bases) != 1:
            return None
        parts: list[tuple[str, int]] = []
        for item in data.items:
            t = item.type
            if not (isinstance(t, ast.TypeBool) or scalar_bits(t) is not None):
                return None
            sb = scalar_bits(t)
            if sb is not None and sb[1]:
                return None
            parts.append((self._int_val(item), self.width(t)))
        base = bases.pop()
        if base is not None:
            # read the header once into a local, not once per field (the per-packet hot path:
            # every IPv4 program verifies and updates this checksum)
            h = self.tmp("h")
            self.line(f"{h} = {base}")
            parts = [(code.replace(base + ".", h + "."), w) for code, w in parts]
            base = h
        total = sum(w for _, w in parts)
        shift = -total % 16
        terms = []
        for code, w in reversed(parts):
            terms.append(code if shift == 0 else f"({code} << {shift})")
            shift += w
        v = " | ".join(reversed(terms))
        if base is not None:
            v = f"(({v}) if {base}._valid else 0)"
        return f"_csum16_int({v})"

    def digest_name(self, data: ast.Expr) -> str:
        d = T.type_decl(data.type)
        if isinstance(d, ast.StructDecl) and not d.__dict__.get("_sluice_anonymous"):
            return d.name
        return "digest"

    def digest_values(self, data: ast.Expr) -> tuple[str, str]:
        """``(reader, values)`` of a digest's data. As in BMv2, fields of the packet's headers
        and metadata are read when ingress ends (the learn engine reads its field list then);
        the reader function (module level) does that. Other values (action parameters,
        locals, constants) are taken now, into ``values``."""
        if isinstance(data, ast.ListExpr):
            comps: list[ast.Expr] | None = list(data.items)
        elif isinstance(data, ast.StructExpr):
            comps = [f.expr for f in data.fields]
        else:
            comps = None
        if comps is None:
            code = self.ex(data)
            if self._deferrable(data):
                return self._digest_reader([f"{code}._vals()"], whole=True), "None"
            return "None", f"{code}._vals()" if is_obj(data.type) else f"({code},)"
        now: list[str] = []
        later: list[str] = []
        for i, c in enumerate(comps):
            if self._deferrable(c):
                code = self.ex(c)
                later.append(f"{code}._vals()" if is_obj(c.type) else code)
                now.append("None")
            else:
                code = self.ex(c)
                later.append(f"v[{i}]")
                now.append(f"{code}._vals()" if is_obj(c.type) else code)
        vals = "(" + "".join(x + ", " for x in now) + ")"
        if all(x.startswith("v[") for x in later):
            return "None", vals
        return self._digest_reader(later, whole=False), vals

    def _digest_reader(self, parts: list[str], whole: bool) -> str:
        name = f"_dg{len(self.out_code)}_{self._tmp_seq}"
        self._tmp_seq += 1
        body = parts[0] if whole else "(" + "".join(p + ", " for p in parts) + ")"
        self.out_code.append(f"def {name}(v):\n    return {body}\n")
        return name

    def _deferrable(self, e: ast.Expr) -> bool:
        """An l-value rooted at a parameter of the block (the packet's headers/metadata)."""
        while True:
            if isinstance(e, ast.Member):
                if isinstance(e.expr.type, ast.TypeStack):
                    return False
                e = e.expr
            elif isinstance(e, ast.Index):
                if self._const_int(e.index) is None:
                    return False
                e = e.expr
            elif isinstance(e, ast.PathExpr):
                hit = self.names.get(id(e.decl))
                return hit is not None and hit[1] and isinstance(e.decl, ast.Parameter)
            else:
                return False

    def data_field_list(self, data: ast.Expr) -> Any:
        """A field list given as data (``resubmit(meta)``): a tuple of field paths."""
        paths: list[tuple[str, ...]] = []

        def path_of(x: ast.Expr) -> tuple[str, ...] | None:
            if isinstance(x, ast.Member):
                p = path_of(x.expr)
                return None if p is None else p + (x.name,)
            if isinstance(x, ast.PathExpr):
                d = T.type_decl(x.type)
                return ("sm",) if getattr(d, "name", "") == "standard_metadata_t" else ("meta",)
            return None

        items = data.items if isinstance(data, ast.ListExpr) else [data]
        for it in items:
            p = path_of(it)
            if p is not None:
                paths.append(p)
        key = ("data",) + tuple(paths)
        self.data_field_lists.append(key)
        return key
