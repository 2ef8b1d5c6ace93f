"""Code generation, part 6: match-action tables.

A table becomes a function that builds the key tuple from the packet, looks it up in the table
object the loader bound (``TBL_n``: a :class:`~.tables.MatchTable`), counts/meters/touches the
hit entry, resolves action profile references, and calls the action through the table's
dispatch dict (``ACT_n``: control-plane action name -> generated function). It returns
``(hit, action name)``, which ``t.apply().hit``/``.miss``/``.action_run`` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..frontend import ast, constfold
from ..frontend import types as T
from ..frontend.elaborate import ActionInstance, BlockInstance, TableInstance
from .codegen_expr import loc_of
from .codegen_types import CodegenError


@dataclass
class TableSpec:
    """What the switch needs to build a table object for generated code to use."""

    pyname: str
    inst: TableInstance
    key_names: list[str]
    key_kinds: list[str]
    key_widths: list[int]
    actions: dict[str, ActionInstance]  # control-plane name -> action
    action_funcs: dict[str, str]  # control-plane name -> generated function
    default: tuple[str, tuple[int, ...]]
    const_default: bool
    block: BlockInstance
    error_codes: dict[str, int] | None = None  # error member -> code (const entries on errors)


class TableGen:
    """Mixin of the generator: tables."""

    def action_cp_name(self, decl: ast.Node | None, table: ast.Node | None) -> str:
        """The control-plane name of action ``decl`` as the current block sees it."""
        inst = self.action_instances.get(id(decl))
        if inst is None:
            raise CodegenError(f"no action instance for {getattr(decl, 'name', decl)}")
        return inst.cp_name

    def table_apply_code(self, d: ast.TableDecl) -> str:
        assert self.block is not None
        inst = self.block.instance_of(d)
        if not isinstance(inst, TableInstance):
            raise CodegenError(f"{loc_of(d)}table {d.name} has no instance")
        name = self.table_funcs.get(id(inst))
        if name is None:
            name = f"{self.prefix}t_{_ident(d.name)}"
            self.table_funcs[id(inst)] = name
            self._pending_tables.append((inst, name, self.block))
        return f"{name}()"

    def gen_table(self, inst: TableInstance, name: str, block: BlockInstance) -> None:
        from ..frontend.p4info import key_name

        tbl = f"TBL_{len(self.tables)}"
        acts = f"ACT_{len(self.tables)}"
        key_codes, key_names, kinds, widths = [], [], [], []
        saved_fn, saved_pre = self.fn, self.pre
        self.fn = None
        self.begin(name, [], "table")
        for k in inst.keys:
            code = self.ex(k.expr)
            if isinstance(k.expr.type, ast.TypeBool):
                code = f"int({code})"
            key_codes.append(code)
            nm = None
            for a in k.annotations:
                if a.name == "name" and a.exprs and isinstance(a.exprs[0], ast.StringLit):
                    nm = a.exprs[0].value
            key_names.append(nm or key_name(k.expr) or f"key{len(key_names)}")
            kinds.append(k.match_kind)
            widths.append(self.width(k.expr.type))
        actions: dict[str, ActionInstance] = {}
        funcs: dict[str, str] = {}
        nbound: dict[str, int] = {}
        for r in inst.actions:
            actions[r.action.cp_name] = r.action
            funcs[r.action.cp_name] = self.action_func(r.action.decl)
            if r.args:
                nbound[r.action.cp_name] = len(r.args)
                funcs[r.action.cp_name] = self.bound_action(r, funcs[r.action.cp_name])
        da = inst.default_action
        default_name = da.action.cp_name if da is not None else "NoAction"
        skip = nbound.get(default_name, 0)
        default_args = tuple(self._const_arg(a.expr) for a in (da.args[skip:] if da else []))
        if da is not None and da.action.cp_name not in funcs:
            actions[da.action.cp_name] = da.action
            funcs[da.action.cp_name] = self.action_func(da.action.decl)
        selector_keys = [c for c, k in zip(key_codes, kinds) if k == "selector"]
        match_codes = [c for c, k in zip(key_codes, kinds) if k != "selector"]
        key = "(" + "".join(c + ", " for c in match_codes) + ")"
        if inst.meters is not None:
            self.line("_ctx.dmeter = 0")
        self.line(f"e = {tbl}.lookup({key})")
        self.line("if e is None:")
        self.line(f"    a = {tbl}.default_action")
        self.line("    hit = False")
        self.line("else:")
        self.fn.indent += 1
        self.line("hit = True")
        if inst.support_timeout:
            self.line("e.touch(_ctx.now_ns)")
        if inst.counters is not None:
            self.line("e.count(_ctx.ingress_length)")
        if inst.meters is not None:
            self.line("m = e.meter")
            self.line("_ctx.dmeter = m.execute(_ctx.ingress_length, _ctx.now_us) if m else 0")
        self.line("a = e.action")
        if inst.implementation is not None:
            if selector_keys:
                self.line("_sfl = []")
                for key, kind in zip(inst.keys, kinds):
                    if kind == "selector":
                        kx = key.expr
                        self.line(f"_sfl.append(({self.ex(kx)}, {self.width(kx.type)}))")
                self.line(f"a = {tbl}.profile.resolve(a, {tbl}.selector_hash(_sfl))")
            else:
                self.line(f"a = {tbl}.profile.resolve(a)")
            self.line("if a is None:")
            self.line(f"    a = {tbl}.default_action")
            self.line("    hit = False")
        self.fn.indent -= 1
        self.line(f"{acts}[a.name](*a.args)")
        self.line("return hit, a.name")
        self.end()
        self.fn, self.pre = saved_fn, saved_pre
        spec = TableSpec(
            pyname=tbl,
            inst=inst,
            key_names=[n for n, k in zip(key_names, kinds) if k != "selector"],
            key_kinds=[k for k in kinds if k != "selector"],
            key_widths=[w for w, k in zip(widths, kinds) if k != "selector"],
            actions=actions,
            action_funcs=funcs,
            default=(default_name, default_args),
            const_default=bool(da is not None and da.const),
            block=block,
            error_codes=self.error_codes,
        )
        self.tables.append(spec)
        self.dispatch_src.append(
            f"{acts} = {{" + ", ".join(f"{k!r}: {v}" for k, v in funcs.items()) + "}"
        )

    def bound_action(self, r: Any, func: str) -> str:
        """A wrapper passing a table's bound action arguments before the control plane's."""
        params = r.action.decl.params
        n = len(r.args)
        saved_fn, saved_pre = self.fn, self.pre
        self.fn = None
        wname = f"{func}_b{self._tmp_seq}"
        self._tmp_seq += 1
        fn = self.begin(wname, [f"c{i}" for i in range(len(params) - n)], "wrapper")
        call_args = [ast.Argument(expr=a.expr) for a in r.args]
        for p, cname in zip(params[n:], fn.params):
            decl = ast.VarDecl(vtype=p.ptype, name=cname)
            self.names[id(decl)] = (cname, False)
            self._keep.append(decl)
            ref = ast.PathExpr(name=cname, type=T.resolve_type(p.ptype), decl=decl)
            call_args.append(ast.Argument(expr=ref))
        decl = r.action.decl
        call = ast.Call(func=ast.PathExpr(name=decl.name, decl=decl), type_args=[],
                        args=call_args)
        self.line(self.invoke(func, params, call, None, decl) or "")
        self.end()
        self.fn, self.pre = saved_fn, saved_pre
        return wname

    def _const_arg(self, e: ast.Expr) -> int:
        v = constfold.const_value(e)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        raise CodegenError(f"{loc_of(e)}action argument is not a constant")



def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
