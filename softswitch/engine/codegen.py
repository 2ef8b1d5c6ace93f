"""Translate a checked v1model program into Python source, once, at pipeline load.

:func:`generate` walks the elaborated program (the instance tree of ``main``) and produces one
Python module: a class per struct-like type (:mod:`.codegen_types`), a function per action,
function, table, parser state and block ``apply`` (:mod:`.codegen_control`,
:mod:`.codegen_tables`, :mod:`.codegen_parser`), with expressions inlined as Python expressions
(:mod:`.codegen_expr`) and externs as calls on runtime objects (:mod:`.codegen_externs`). The
source is compiled with ``compile``/``exec`` once; per packet only the generated functions run.

The result, :class:`GeneratedProgram`, lists what the generated code expects the loader to bind
in its namespace before packets flow: tables (``TBL_n``), extern objects (``Xn``), value sets
(``VS_n``) and the per-packet context ``_ctx``; :mod:`.v1model` does that.
"""

from __future__ import annotations

import random as _random_mod
import struct as _struct_mod
from dataclasses import dataclass, field
from typing import Any

from ..frontend import ast, constfold
from ..frontend import types as T
from ..frontend.elaborate import (
    ActionInstance,
    BlockInstance,
    Elaboration,
    ExternInstance,
    TableInstance,
    ValueSetInstance,
    elaborate,
)
from . import hashes
from . import packet as P
from .codegen_control import ControlGen, Fn
from .codegen_expr import ExprGen, loc_of
from .codegen_externs import ExternGen
from .codegen_parser import ParserGen
from .codegen_tables import TableGen, TableSpec
from .codegen_types import CodegenError, TypeGen, is_obj

__all__ = ["CodegenError", "GeneratedProgram", "TableSpec", "generate", "runtime_namespace"]

V1SWITCH_BLOCKS = ("parser", "verify_checksum", "ingress", "egress", "compute_checksum",
                   "deparser")


@dataclass
class GeneratedProgram:
    """The generated module and what it needs bound before it runs."""

    source: str
    code: Any  # the compiled code object
    elab: Elaboration
    entry: dict[str, str]  # block role (V1SWITCH_BLOCKS) -> apply function name
    classes: dict[str, str]  # headers / meta / standard_metadata -> class name
    tables: list[TableSpec]
    externs: list[tuple[str, ExternInstance]]
    value_sets: list[tuple[str, ValueSetInstance]]
    field_lists: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)


def _mk(cls: type, names: tuple[str, ...], vals: tuple[Any, ...], valid: bool) -> Any:
    o = cls()
    for n, v in zip(names, vals):
        setattr(o, n, v)
    if valid:
        o._valid = True
    return o


def _sx(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) else v


def _div(a: int, b: int) -> int:
    return a // b if b else 0


def _mod(a: int, b: int) -> int:
    return a % b if b else 0


def _csum16_int(v: int) -> int:
    """RFC 1071 checksum of the 16-bit words of ``v``: their one's-complement sum is
    ``v % 0xFFFF`` (2**16 == 1 mod 0xFFFF), except that a non-zero multiple sums to 0xFFFF."""
    s = v % 0xFFFF
    if s == 0 and v:
        return 0
    return 0xFFFF - s


def _log_msg(msg: str, data: tuple[Any, ...]) -> None:
    import logging

    text = msg
    for v in data:
        text = text.replace("{}", str(v), 1)
    logging.getLogger("softswitch.p4.log_msg").info("%s", text)


def runtime_namespace(rng: _random_mod.Random | None = None) -> dict[str, Any]:
    """The helpers every generated module refers to (see the generated source)."""
    rng = rng or _random_mod.Random(0)

    def _random(lo: int, hi: int) -> int:
        return rng.randint(lo, hi) if lo <= hi else lo

    return {
        "__name__": "softswitch_generated",
        "_new": object.__new__,
        "_from_bytes": int.from_bytes,
        "_Struct": _struct_mod.Struct,
        "_HS": P.HeaderStack,
        "_mk": _mk,
        "_sx": _sx,
        "_div": _div,
        "_mod": _mod,
        "_EXIT": P.ExitSignal(),
        "_ExitSignal": P.ExitSignal,
        "_ExitOuts": P.ExitOuts,
        "_ASSERT": P.AssertSignal(),
        "_PErr": P.ParserError,
        "_shl": P.shl,
        "_shl_s": P.shl_s,
        "_sat_add_u": P.sat_add_u,
        "_sat_sub_u": P.sat_sub_u,
        "_sat_add_s": P.sat_add_s,
        "_sat_sub_s": P.sat_sub_s,
        "_v1hash": lambda algo, base, fl, mx, w: hashes.v1model_hash(
            algo, base, fl, mx, w, rng=rng
        ),
        "_vcsum": hashes.verify_checksum,
        "_csum16_int": _csum16_int,
        "_ccsum": hashes.compute_checksum,
        "_random": _random,
        "_log_msg": _log_msg,
        "_CodegenError": CodegenError,
    }


class Generator(TypeGen, ExprGen, ControlGen, TableGen, ParserGen, ExternGen):
    """One code generation run; see :func:`generate`."""

    def __init__(self, program: ast.Program) -> None:
        self.program = program
        self.init_types()
        self.names: dict[int, tuple[str, bool]] = {}
        self.pre: list[str] = []
        self.fn: Fn | None = None
        self.block: BlockInstance | None = None
        self.prefix = "g_"
        self._tmp_seq = 0
        self._block_seq = 0
        self._pending: list[tuple[str, Any, str, BlockInstance | None]] = []
        self._pending_tables: list[tuple[TableInstance, str, BlockInstance]] = []
        self.out_code: list[str] = []
        self.out_consts: list[str] = []
        self.dispatch_src: list[str] = []
        self.block_prefix: dict[int, str] = {}
        self.block_funcs: dict[int, str] = {}
        self.block_action_names: dict[int, dict[int, str]] = {}
        self.action_instances: dict[int, ActionInstance] = {}
        self.table_funcs: dict[int, str] = {}
        self.tables: list[TableSpec] = []
        self.extern_names: dict[int, str] = {}
        self.externs: list[tuple[str, ExternInstance]] = []
        self.value_set_names: dict[int, str] = {}
        self.value_sets: list[tuple[str, ValueSetInstance]] = []
        self.global_extern_by_node: dict[int, ExternInstance] = {}
        self.global_blocks: dict[int, BlockInstance] = {}
        self._touch_cache: dict[int, bool] = {}
        self._exit_cache: dict[int, bool] = {}
        self._keep: list[Any] = []
        self.const_names: dict[int, str] = {}
        self.data_field_lists: list[Any] = []
        self._state_funcs: dict[str, str] = {}

    # -- constants ---------------------------------------------------------------------------

    def global_const(self, d: ast.ConstDecl) -> str:
        name = self.const_names.get(id(d))
        if name is not None:
            return name
        t = T.resolve_type(d.ctype)
        try:
            v = constfold.const_value(d.value)
        except Exception:  # noqa: BLE001
            v = None
        code = self.const_code(v, t) if v is not None else None
        if code is not None:
            self.const_names[id(d)] = code
            return code
        name = f"K{len(self.const_names)}_{d.name}"
        self.const_names[id(d)] = name
        saved = (self.fn, self.pre)
        self.fn, self.pre = None, []
        value = self.ex(d.value)
        pre = self.pre
        self.fn, self.pre = saved
        if pre:
            raise CodegenError(f"{loc_of(d)}constant {d.name} is not a simple value")
        self.out_consts.append(f"{name} = {value}\n")
        return name

    # -- actions (per block) -----------------------------------------------------------------

    def action_func(self, d: ast.ActionDecl) -> str:
        b = self.block
        while b is not None:
            hit = self.block_action_names.get(id(b), {}).get(id(d))
            if hit is not None:
                return hit
            b = b.block if b.inst_name is not None else None
        return super().action_func(d)

    # -- blocks ------------------------------------------------------------------------------

    def gen_block(self, blk: BlockInstance) -> str:
        if id(blk) in self.block_funcs:
            return self.block_funcs[id(blk)]
        saved_fn = (self.fn, self.pre)
        self.fn, self.pre = None, []
        for sub in blk.nested() + [v for v in blk.args.values() if isinstance(v, BlockInstance)]:
            self.gen_block(sub)
        self._block_seq += 1
        prefix = f"b{self._block_seq}_"
        self.block_prefix[id(blk)] = prefix
        saved = (self.block, self.prefix)
        self.block, self.prefix = blk, prefix
        decl = blk.decl
        pnames = [self.bind_global(p, "p_" + p.name) for p in decl.params]
        local_vars: list[ast.VarDecl] = []
        amap = self.block_action_names.setdefault(id(blk), {})
        for loc in decl.locals:
            inst = blk.instance_of(loc)
            if isinstance(loc, ast.ActionDecl):
                if isinstance(inst, ActionInstance):
                    self.action_instances[id(loc)] = inst
                amap[id(loc)] = self.gen_action(loc, blk)
            elif isinstance(loc, ast.VarDecl):
                self.bind_global(loc, "l_" + loc.name)
                local_vars.append(loc)
            elif isinstance(loc, ast.ConstDecl):
                self.names[id(loc)] = (self.global_const(loc), False)
            elif isinstance(loc, ast.ValueSetDecl) and isinstance(inst, ValueSetInstance):
                name = f"VS_{len(self.value_sets)}"
                self.value_set_names[id(inst)] = name
                self.value_sets.append((name, inst))
            elif isinstance(loc, ast.Instantiation) and isinstance(inst, ExternInstance):
                self.extern_name(inst)
        for r in self.elab.global_actions.values():
            self.action_instances.setdefault(id(r.decl), r)
        fname = prefix + "apply"
        self.block_funcs[id(blk)] = fname
        if isinstance(decl, ast.ParserDecl):
            self.gen_parser_states(blk)
        fn = self.begin(fname, [f"a{i}" for i in range(len(pnames))], "apply")
        outs = []
        for i, (p, gname) in enumerate(zip(decl.params, pnames)):
            self.note_global(gname)
            self.line(f"{gname} = a{i}")
            pt = T.resolve_type(p.ptype)
            if p.direction in ("out", "inout") and not is_obj(pt) and not _is_extern_t(pt):
                outs.append(gname)
        fn.outs = outs
        for v in local_vars:
            t = T.resolve_type(v.vtype)
            gname = self.names[id(v)][0]
            self.note_global(gname)
            if v.init is None:
                self.line(f"{gname} = {self.default_code(t)}")
            else:
                self.line(f"{gname} = {self.value_copy(v.init, t)}")
        guard = bool(outs) and not isinstance(decl, ast.ParserDecl) and self.may_exit(decl)
        if guard:  # exit still copies the scalar out parameters back (see invoke)
            self.line("try:")
            fn.indent += 1
        if isinstance(decl, ast.ParserDecl):
            self.line(f"st = {self._state_funcs['start']}")
            self.line("while st is not None:")
            self.line("    st = st()")
        else:
            for s in decl.body.stmts:
                self.stmt(s)
        if outs:
            self.line(self.return_code(None))
        if guard:
            self.line("pass")
            fn.indent -= 1
            self.line("except _ExitSignal:")
            self.line(f"    raise _ExitOuts(({''.join(v + ', ' for v in outs)}))")
        self.end()
        self.flush_all()
        self.block, self.prefix = saved
        self.fn, self.pre = saved_fn
        return fname

    def flush_all(self) -> None:
        while self._pending or self._pending_tables:
            self.flush_pending()
            while self._pending_tables:
                inst, name, blk = self._pending_tables.pop(0)
                saved = (self.block, self.prefix)
                self.block, self.prefix = blk, self.block_prefix[id(blk)]
                self.gen_table(inst, name, blk)
                self.block, self.prefix = saved

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> GeneratedProgram:
        self.elab = elab = elaborate(self.program)
        main = elab.main
        if main is None:
            raise CodegenError("the program has no 'main' package instance")
        if main.decl.name != "V1Switch":
            raise CodegenError(f"package {main.decl.name} is not supported (only V1Switch)")
        for x in elab.toplevel:
            if isinstance(x, BlockInstance):
                self.global_blocks[id(x.node)] = x
        for ext in elab.global_externs:
            self.global_extern_by_node[id(ext.node)] = ext
            self.extern_name(ext)
        blocks = [main.args.get(p.name) for p in main.decl.params]
        if len(blocks) != 6 or not all(isinstance(b, BlockInstance) for b in blocks):
            raise CodegenError("V1Switch needs six parser/control instances")
        entry = {}
        for role, blk in zip(V1SWITCH_BLOCKS, blocks):
            entry[role] = self.gen_block(blk)
        pdecl = blocks[0].decl
        classes = {
            "headers": self.class_of(T.resolve_type(pdecl.params[1].ptype)),
            "meta": self.class_of(T.resolve_type(pdecl.params[2].ptype)),
            "standard_metadata": self.class_of(T.resolve_type(pdecl.params[3].ptype)),
        }
        field_lists = self.collect_field_lists(T.resolve_type(pdecl.params[2].ptype))
        source = "\n".join(
            ["# generated by softswitch.engine.codegen; do not edit\n"]
            + self.out_types
            + self.out_consts
            + self.out_code
            + [s + "\n" for s in self.dispatch_src]
        )
        try:
            code = compile(source, "<p4-generated>", "exec")
        except SyntaxError as exc:  # a generator bug: say where in the source
            lines = source.splitlines()
            ctx = "\n".join(lines[max(0, (exc.lineno or 1) - 3): (exc.lineno or 1) + 2])
            raise CodegenError(
                f"internal error: generated code does not compile: {exc}\n{ctx}"
            ) from None
        return GeneratedProgram(
            source=source,
            code=code,
            elab=elab,
            entry=entry,
            classes=classes,
            tables=self.tables,
            externs=self.externs,
            value_sets=self.value_sets,
            field_lists=field_lists,
        )

    def collect_field_lists(self, meta_t: ast.Type) -> dict[int, list[tuple[str, ...]]]:
        """``@field_list(i, ...)`` annotations on the user metadata: index -> field paths."""
        out: dict[int, list[tuple[str, ...]]] = {}

        def walk(t: ast.Type, path: tuple[str, ...], inherited: list[int]) -> None:
            for fname, ft, fdecl in T.fields_of(t):
                idxs = list(inherited)
                a = ast.annotation(fdecl, "field_list")
                if a is not None:
                    for ex in a.exprs or []:
                        try:
                            idxs.append(int(constfold.const_value(ex)))
                        except Exception:  # noqa: BLE001
                            pass
                    if not a.exprs and a.body:
                        for part in a.body.split(","):
                            part = part.strip()
                            if part.isdigit():
                                idxs.append(int(part))
                p = path + (fname,)
                if T.is_struct(ft):
                    walk(ft, p, idxs)
                else:
                    for i in idxs:
                        out.setdefault(i, []).append(("meta",) + p)

        if T.is_struct_like(meta_t):
            walk(meta_t, (), [])
        return out


def _is_extern_t(t: ast.Type) -> bool:
    return isinstance(T.type_decl(t), ast.ExternDecl)


def generate(program: ast.Program) -> GeneratedProgram:
    """Generate and compile the Python code of checked v1model ``program``."""
    return Generator(program).run()
