"""Code generation, part 3: statements, calls, actions, functions, tables and controls.

Calling convention of generated callables (actions, functions, control ``apply``):

* parameters are positional, in declaration order;
* struct-like arguments of ``out``/``inout`` parameters are passed by reference (the callee
  mutates them in place with ``_set``); of ``in`` parameters as copies;
* scalar ``out``/``inout`` parameters are passed in (their current value) and returned: a callee
  with any returns ``(result, out1, out2, ...)`` (no ``result`` when it returns nothing), a
  callee without returns its result (or nothing); the caller writes them back.

Control parameters and control-local variables live in the generated module's globals (prefixed
by the block instance), so actions and tables, which are module-level functions, see them
without closures; P4 has no recursion and one packet is processed at a time, so that is safe.
``exit`` raises :class:`~.packet.ExitSignal`, caught by the v1model harness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..frontend import ast
from ..frontend import types as T
from ..frontend.elaborate import BlockInstance
from ..frontend.typecheck import bind_arguments
from .codegen_expr import loc_of
from .codegen_types import CodegenError, is_obj, py_field, scalar_bits


@dataclass
class Fn:
    """One Python function being generated."""

    name: str
    params: list[str]
    kind: str  # action, function, apply, state, table
    lines: list[str] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)
    outs: list[str] = field(default_factory=list)  # scalar out/inout parameter names
    has_result: bool = False
    indent: int = 1
    loops: list[list[ast.Stmt]] = field(default_factory=list)


class ControlGen:
    """Mixin of the generator: statements and callables."""

    names: dict[int, tuple[str, bool]]
    pre: list[str]
    fn: Fn | None
    block: BlockInstance | None
    prefix: str

    # -- function bodies ---------------------------------------------------------------------

    def begin(self, name: str, params: list[str], kind: str) -> Fn:
        assert self.fn is None, "nested function generation"
        self.fn = Fn(name, params, kind)
        self.pre = []
        return self.fn

    def end(self) -> str:
        fn = self.fn
        assert fn is not None
        self.fn = None
        head = [f"def {fn.name}({', '.join(fn.params)}):"]
        if fn.globals:
            head.append("    global " + ", ".join(sorted(fn.globals)))
        body = fn.lines or ["    pass"]
        src = "\n".join(head + body) + "\n"
        self.out_code.append(src)
        return src

    def note_global(self, name: str) -> None:
        if self.fn is not None:
            self.fn.globals.add(name)

    def tmp(self, hint: str = "t") -> str:
        self._tmp_seq += 1
        return f"_{hint}{self._tmp_seq}"

    def line(self, s: str) -> None:
        """Emit ``s`` (after any hoisted pre-statements) at the current indentation."""
        fn = self.fn
        assert fn is not None
        ind = "    " * fn.indent
        for p in self.pre:
            fn.lines.append(ind + p)
        self.pre = []
        if s:
            fn.lines.append(ind + s)

    def flush(self) -> None:
        self.line("")

    def indented(self, stmts: list[ast.Node] | ast.Node | None) -> None:
        """Emit ``stmts`` one level deeper (``pass`` when empty)."""
        fn = self.fn
        assert fn is not None
        fn.indent += 1
        n = len(fn.lines)
        if stmts is not None:
            for s in stmts if isinstance(stmts, list) else [stmts]:
                self.stmt(s)
        if len(fn.lines) == n:
            self.line("pass")
        fn.indent -= 1

    def bind_local(self, decl: ast.Node, hint: str) -> str:
        """A fresh Python local for a variable or parameter."""
        self._tmp_seq += 1
        name = f"v{self._tmp_seq}_{hint}"
        self.names[id(decl)] = (name, False)
        return name

    def bind_global(self, decl: ast.Node, hint: str) -> str:
        name = f"{self.prefix}{hint}"
        self.names[id(decl)] = (name, True)
        return name

    def return_code(self, result: str | None) -> str:
        fn = self.fn
        assert fn is not None
        parts = ([result] if fn.has_result and result is not None else []) + fn.outs
        if fn.outs:
            return "return (" + "".join(p + ", " for p in parts) + ")"
        if fn.has_result and result is not None:
            return f"return {result}"
        return "return"

    # -- statements --------------------------------------------------------------------------

    def stmt(self, s: ast.Node) -> None:
        m = getattr(self, "st_" + s.kind, None)
        if m is None:
            raise CodegenError(f"{loc_of(s)}statement {s.kind} is not supported by the engine")
        m(s)

    def st_BlockStmt(self, s: ast.BlockStmt) -> None:
        for x in s.stmts:
            self.stmt(x)

    def st_EmptyStmt(self, s: ast.EmptyStmt) -> None:
        pass

    def st_ConstDecl(self, s: ast.ConstDecl) -> None:
        self.names[id(s)] = (self.global_const(s), False)

    def st_VarDecl(self, s: ast.VarDecl) -> None:
        t = T.resolve_type(s.vtype)
        name = self.bind_local(s, s.name)
        if s.init is None:
            self.line(f"{name} = {self.default_code(t)}")
            return
        if is_obj(t):
            self.line(f"{name} = {self.value_copy(s.init, t)}")
        else:
            self.line(f"{name} = {self.ex(s.init)}")

    def st_AssignStmt(self, s: ast.AssignStmt) -> None:
        lhs = s.lhs
        if _has_call(lhs) or (_has_call(s.rhs) and _has_index(lhs)) or (
            s.op != "=" and _has_index(lhs)
        ):
            lhs = self.pin_lvalue(lhs)  # the l-value is evaluated once, before the value
        if s.op == "=":
            value = self.ex(s.rhs)
        else:
            b = ast.Binary(op=s.op[:-1], left=lhs, right=s.rhs, type=lhs.type, loc=s.loc)
            value = self.ex(b)
        for x in self.assign(lhs, value):
            self.line(x)

    def pinned(self, code: str, t: ast.Type | None) -> ast.PathExpr:
        """A name expression standing for an already evaluated value (a temporary)."""
        tmp = self.tmp("pn")
        self.pre.append(f"{tmp} = {code}")
        decl = ast.VarDecl(vtype=ast.TypeDontCare(), name=tmp)
        self.names[id(decl)] = (tmp, False)
        self._keep.append(decl)
        return ast.PathExpr(name=tmp, type=t, decl=decl)

    def pin_lvalue(self, e: ast.Expr) -> ast.Expr:
        """``e`` with its object bases and indices evaluated into temporaries now."""
        if isinstance(e, ast.Member):
            if isinstance(e.expr.type, ast.TypeStack):
                return e
            base = self.pin_lvalue(e.expr)
            if not isinstance(base, ast.PathExpr):
                base = self.pinned(self.ex(base), base.type)
            return ast.Member(expr=base, name=e.name, type=e.type, decl=e.decl, loc=e.loc)
        if isinstance(e, ast.Index):
            base = self.pin_lvalue(e.expr)
            idx = e.index
            if self._const_int(idx) is None:
                idx = self.pinned(self.ex(idx), idx.type)
            return ast.Index(expr=base, index=idx, type=e.type, loc=e.loc)
        if isinstance(e, ast.Slice):
            return ast.Slice(expr=self.pin_lvalue(e.expr), hi=e.hi, lo=e.lo, type=e.type,
                             loc=e.loc)
        return e

    def st_CallStmt(self, s: ast.CallStmt) -> None:
        call = s.call
        if isinstance(call, ast.ConstructorCall):
            raise CodegenError(f"{loc_of(s)}constructor call as a statement")
        code = self.call(call, want_value=False)
        self.line(code or "")

    def st_IfStmt(self, s: ast.IfStmt) -> None:
        self.line(f"if {self.ex(s.cond)}:")
        self.indented(s.then)
        if s.else_ is not None:
            self.line("else:")
            self.indented(s.else_)

    def st_ExitStmt(self, s: ast.ExitStmt) -> None:
        self.line("raise _EXIT")

    def st_ReturnStmt(self, s: ast.ReturnStmt) -> None:
        fn = self.fn
        assert fn is not None
        result = None
        if s.expr is not None:
            result = self.value_copy(s.expr, s.expr.type)
            if fn.outs:
                tmp = self.tmp("r")
                self.line(f"{tmp} = {result}")
                result = tmp
        self.line(self.return_code(result))

    def st_SwitchStmt(self, s: ast.SwitchStmt) -> None:
        e = s.expr
        tmp = self.tmp("sw")
        action_run = (
            isinstance(e, ast.Member)
            and e.name == "action_run"
            and isinstance(T.type_decl(e.expr.type), ast.StructDecl)
        )
        self.line(f"{tmp} = {self.ex(e)}")
        groups: list[tuple[list[ast.Expr], ast.BlockStmt | None]] = []
        labels: list[ast.Expr] = []
        for c in s.cases:
            labels.append(c.label)
            if c.body is not None:
                groups.append((labels, c.body))
                labels = []
        if labels:
            groups.append((labels, None))
        first = True
        for labels, body in groups:
            if any(isinstance(lb, ast.Default) for lb in labels):
                cond = None
            else:
                vals = [self._switch_label(lb, e, action_run) for lb in labels]
                cond = " or ".join(f"{tmp} == {v}" for v in vals)
            if cond is None:
                self.line("else:" if not first else "if True:")
            else:
                self.line(("if " if first else "elif ") + cond + ":")
            self.indented(body)
            first = False

    def _switch_label(self, lb: ast.Expr, e: ast.Expr, action_run: bool) -> str:
        if action_run:
            d = getattr(lb, "decl", None)
            table = getattr(e.expr.func.expr, "decl", None) if isinstance(e.expr, ast.Call) else None
            return repr(self.action_cp_name(d, table))
        return self.ex(lb)

    def st_ForStmt(self, s: ast.ForStmt) -> None:
        fn = self.fn
        assert fn is not None
        for x in s.init:
            self.stmt(x)
        self.line("while True:")
        fn.indent += 1
        if s.cond is not None:
            self.line(f"if not {self.ex(s.cond)}:")
            self.line("    break")
        fn.loops.append(list(s.updates))
        self.stmt(s.body)
        fn.loops.pop()
        for u in s.updates:
            self.stmt(u)
        self.line("pass")
        fn.indent -= 1

    def st_ForInStmt(self, s: ast.ForInStmt) -> None:
        fn = self.fn
        assert fn is not None
        decl = s
        var = self.bind_local(decl, s.var)
        self._bind_forin_var(s, var)
        coll = s.collection
        if isinstance(coll, ast.Range):
            src = f"range({self.ex(coll.lo)}, {self.ex(coll.hi)} + 1)"
        elif isinstance(coll.type, ast.TypeStack):
            src = f"{self.ex(coll)}.h"
        else:
            src = self.ex(coll)
        self.line(f"for {var} in {src}:")
        fn.loops.append([])
        self.indented(s.body)
        fn.loops.pop()

    def _bind_forin_var(self, s: ast.ForInStmt, var: str) -> None:
        # references to the loop variable point at the statement or a synthetic declaration
        for n in ast.walk(s.body):
            if isinstance(n, ast.PathExpr) and n.name == s.var and n.decl is not None:
                if id(n.decl) not in self.names or isinstance(n.decl, ast.ForInStmt):
                    self.names[id(n.decl)] = (var, False)

    def st_BreakStmt(self, s: ast.BreakStmt) -> None:
        self.line("break")

    def st_ContinueStmt(self, s: ast.ContinueStmt) -> None:
        fn = self.fn
        assert fn is not None
        for u in fn.loops[-1] if fn.loops else []:
            self.stmt(u)
        self.line("continue")

    # -- calls -------------------------------------------------------------------------------

    def call(self, e: ast.Call, want_value: bool) -> str | None:
        """Code for call ``e``: an expression (value or statement), or None when everything was
        emitted as pre-statements."""
        func = e.func
        d = getattr(func, "decl", None)
        if isinstance(func, ast.Member):
            base = func.expr
            if d is not None and d.__dict__.get("_sluice_builtin"):
                return self.builtin_method(e, base, func.name)
            if isinstance(d, ast.TableDecl):
                return self.table_apply_code(d)
            if func.name == "apply" and isinstance(
                d, (ast.ControlDecl, ast.ParserDecl, ast.ControlTypeDecl, ast.ParserTypeDecl)
            ):
                return self.block_apply(e, base)
            bd = T.type_decl(base.type)
            if isinstance(bd, ast.ExternDecl):
                return self.extern_method(e, base, func.name, bd.name)
            raise CodegenError(f"{loc_of(e)}cannot call {func.name}")
        if isinstance(d, ast.ActionDecl):
            return self.invoke(self.action_func(d), d.params, e, None, d)
        if isinstance(d, ast.FunctionDecl):
            return self.invoke(self.function_func(d), d.params, e, d.rtype, d)
        if isinstance(d, ast.ExternFunctionDecl):
            return self.extern_function(e, d.name)
        raise CodegenError(f"{loc_of(e)}cannot call {getattr(func, 'name', func.kind)}")

    def invoke(self, pyfunc: str, params: list[ast.Parameter], e: ast.Call,
               rtype: ast.Type | None, callee: ast.Node | None = None) -> str | None:
        """A call with P4's copy-in/copy-out, see the module docstring.

        Struct-like ``out``/``inout`` arguments are passed by reference unless the callee can
        also reach them another way (it reads control state, or two arguments overlap); then
        they are copied in and out like scalars. When the callee may ``exit``, the copy-out
        still happens before the exit goes on, as P4 requires.
        """
        bound = bind_arguments(e)
        exprs: list[ast.Expr] = []
        for _p, a in bound:
            if a is not None and not isinstance(a, ast.DontCare):
                exprs.append(a)
        codes = iter(self.ex_seq(exprs))
        obj_codes = []
        plan: list[tuple[ast.Parameter, ast.Expr | None, str | None]] = []
        for p, a in bound:
            code = next(codes) if a is not None and not isinstance(a, ast.DontCare) else None
            plan.append((p, a, code))
            if code is not None and is_obj(a.type) and p.direction in ("out", "inout"):
                obj_codes.append(code)
        copy_objs = bool(obj_codes) and (
            (callee is not None and self.touches_outer(callee)) or _overlap(obj_codes)
        )
        args: list[str] = []
        writebacks: list[ast.Expr | None] = []
        copybacks: list[tuple[str, str]] = []
        for p, a, code in plan:
            pt = T.resolve_type(p.ptype) if p.ptype is not None else None
            direction = p.direction
            if a is None:
                args.append(self.default_code(pt))
                continue
            if direction in ("", "in"):
                if code is None:
                    code = self.default_code(pt)
                elif is_obj(a.type) and not self.is_fresh(a):
                    code = f"{code}._copy()"
                args.append(code)
                continue
            if is_obj(a.type) or (pt is not None and is_obj(pt)):
                if code is None:
                    args.append(self.default_code(pt))
                elif copy_objs:
                    t = self.tmp("cp")
                    init = f"{code}._copy()" if direction == "inout" else self.default_code(pt)
                    self.pre.append(f"{t} = {init}")
                    args.append(t)
                    copybacks.append((code, t))
                else:
                    args.append(code)
                continue
            if direction == "inout" and code is not None:
                args.append(code)
            else:
                args.append(self.default_code(pt if pt is not None else a.type))
            writebacks.append(a)
        call = f"{pyfunc}({', '.join(args)})"
        has_result = rtype is not None and not isinstance(T.resolve_type(rtype), ast.TypeVoid)
        if not writebacks and not copybacks:
            return call
        tmp = self.tmp("c")
        guard = callee is not None and self.may_exit(callee)
        if guard:
            x = self.tmp("ex")
            self.pre += [f"{x} = None", "try:", f"    {tmp} = {call}",
                         "except _ExitSignal as _e:", f"    {x} = _e",
                         f"    {tmp} = getattr(_e, 'v', None)"]
        else:
            self.pre.append(f"{tmp} = {call}")
        off = 1 if has_result else 0
        wb: list[str] = []
        for i, a in enumerate(writebacks):
            if a is None or isinstance(a, ast.DontCare):
                continue
            wb.extend(self.assign(a, f"{tmp}[{i + off}]"))
        if guard and wb:
            self.pre.append(f"if {tmp} is not None:")
            self.pre.extend("    " + w for w in wb)
        else:
            self.pre.extend(wb)
        for code, t in copybacks:
            self.pre.append(f"{code}._set({t})")
        if guard:
            self.pre.append(f"if {x} is not None: raise _EXIT")
        return f"{tmp}[0]" if has_result else None

    def touches_outer(self, decl: ast.Node) -> bool:
        """Whether an action or function reads or writes anything but its own parameters and
        locals (control parameters and variables)."""
        hit = self._touch_cache.get(id(decl))
        if hit is not None:
            return hit
        own = {id(p) for p in getattr(decl, "params", [])}
        body = getattr(decl, "body", None)
        res = False
        if body is not None:
            for n in ast.walk(body):
                if isinstance(n, (ast.VarDecl, ast.ConstDecl, ast.ForInStmt)):
                    own.add(id(n))
            for n in ast.walk(body):
                if isinstance(n, ast.PathExpr) and isinstance(n.decl, (ast.Parameter,
                                                                       ast.VarDecl)):
                    if id(n.decl) not in own:
                        res = True
                        break
                if isinstance(n, ast.Call):
                    d = getattr(n.func, "decl", None)
                    if isinstance(d, (ast.ActionDecl, ast.FunctionDecl)) and d is not decl:
                        if self.touches_outer(d):
                            res = True
                            break
        self._touch_cache[id(decl)] = res
        return res

    def may_exit(self, decl: ast.Node) -> bool:
        """Whether calling ``decl`` (action, function, control) can execute ``exit``."""
        hit = self._exit_cache.get(id(decl))
        if hit is not None:
            return hit
        self._exit_cache[id(decl)] = False  # no recursion in P4; guards cycles anyway
        roots: list[ast.Node] = []
        body = getattr(decl, "body", None)
        if body is not None:
            roots.append(body)
        res = False
        for root in roots:
            for n in ast.walk(root):
                if isinstance(n, ast.ExitStmt):
                    res = True
                elif isinstance(n, ast.Call):
                    d = getattr(n.func, "decl", None)
                    if isinstance(d, (ast.ActionDecl, ast.FunctionDecl, ast.ControlDecl)):
                        res = res or self.may_exit(d)
                    elif isinstance(d, ast.TableDecl):
                        for p in d.properties:
                            if p.name == "actions":
                                for r in p.value or ():
                                    f = r.expr.func if isinstance(r.expr, ast.Call) else r.expr
                                    ad = getattr(f, "decl", None)
                                    if ad is not None:
                                        res = res or self.may_exit(ad)
                if res:
                    break
        self._exit_cache[id(decl)] = res
        return res

    def builtin_method(self, e: ast.Call, base: ast.Expr, name: str) -> str | None:
        bt = base.type
        if name == "isValid":
            return f"{self.ex(base)}._valid"
        if name in ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes"):
            fn = T.min_size_in_bits if name.startswith("min") else T.max_size_in_bits
            bits = fn(bt)
            return str(bits if name.endswith("Bits") else (bits + 7) // 8)
        if name == "setValid":
            if isinstance(base, ast.Member) and T.is_header_union(base.expr.type):
                self.pre.append(f"{self.ex(base.expr)}._sv_{py_field(base.name)}()")
            else:
                self.pre.append(f"{self.ex(base)}._valid = True")
            return None
        if name == "setInvalid":
            if T.is_header_union(bt):
                self.pre.append(f"{self.ex(base)}._invalidate()")
            else:
                self.pre.append(f"{self.ex(base)}._valid = False")
            return None
        if name in ("push_front", "pop_front"):
            n = self.ex(e.args[0].expr)
            return f"{self.ex(base)}.{name}({n})"
        raise CodegenError(f"{loc_of(e)}method {name} is not supported")

    # -- actions and functions ---------------------------------------------------------------

    def action_func(self, d: ast.ActionDecl) -> str:
        """The generated function of action ``d`` as visible from the current block."""
        hit = self.names.get(id(d))
        if hit is not None:
            return hit[0]
        # a global action: generate it once
        return self.gen_action(d, None)

    def gen_action(self, d: ast.ActionDecl, block: BlockInstance | None) -> str:
        prefix = self.prefix if block is not None else "g_"
        name = f"{prefix}a_{_ident(d.name)}_{id(d) % 100000}"
        self.names[id(d)] = (name, True)
        self._pending.append(("action", d, name, block))
        return name

    def function_func(self, d: ast.FunctionDecl) -> str:
        hit = self.names.get(id(d))
        if hit is not None:
            return hit[0]
        name = f"g_f_{_ident(d.name)}_{id(d) % 100000}"
        self.names[id(d)] = (name, True)
        self._pending.append(("function", d, name, None))
        return name

    def gen_callable_body(self, kind: str, d: Any, name: str) -> None:
        """Generate the function of an action or function declaration."""
        saved_fn, saved_pre = self.fn, self.pre
        self.fn = None
        fn = self.begin(name, [], kind)
        outs = []
        for p in d.params:
            pn = self.bind_local(p, p.name)
            fn.params.append(pn)
            pt = T.resolve_type(p.ptype)
            if p.direction in ("out", "inout") and not is_obj(pt):
                outs.append(pn)
            sb = scalar_bits(pt)
            if kind == "action" and p.direction == "" and sb is not None and sb[1]:
                w = sb[0]
                self.line(f"if {pn} > {(1 << (w - 1)) - 1}: {pn} -= {1 << w}")
            if kind == "action" and p.direction == "" and isinstance(pt, ast.TypeBool):
                self.line(f"{pn} = bool({pn})")
            if p.direction == "out" and is_obj(pt):
                self.line(f"{pn}._invalidate()")
        fn.outs = outs
        rt = getattr(d, "rtype", None)
        fn.has_result = rt is not None and not isinstance(T.resolve_type(rt), ast.TypeVoid)
        guard = bool(outs) and self.may_exit(d)
        if guard:  # exit still copies the out parameters back (see invoke)
            self.line("try:")
            fn.indent += 1
        for s in d.body.stmts:
            self.stmt(s)
        if outs:
            self.line(self.return_code(None))
        if guard:
            self.line("pass")
            fn.indent -= 1
            vals = (["None"] if fn.has_result else []) + outs
            self.line("except _ExitSignal:")
            self.line(f"    raise _ExitOuts(({''.join(v + ', ' for v in vals)}))")
        self.end()
        self.fn, self.pre = saved_fn, saved_pre

    def flush_pending(self) -> None:
        while self._pending:
            kind, d, name, block = self._pending.pop(0)
            saved = (self.block, self.prefix)
            if block is not None:
                self.block, self.prefix = block, self.block_prefix[id(block)]
            self.gen_callable_body(kind, d, name)
            self.block, self.prefix = saved

    # -- blocks ------------------------------------------------------------------------------

    def block_apply(self, e: ast.Call, base: ast.Expr) -> str | None:
        assert self.block is not None
        sub = None
        if isinstance(base, ast.TypeExpr):  # Type.apply(): an instance made in place
            sub = self.block.instance_of(e)
        else:
            inst_decl = getattr(base, "decl", None)
            b: BlockInstance | None = self.block
            while b is not None and sub is None:
                sub = b.instance_of(inst_decl) if inst_decl is not None else None
                if sub is None and isinstance(inst_decl, ast.Parameter):
                    sub = b.args.get(inst_decl.name)
                b = b.block if b.inst_name is not None else None
            if sub is None:
                sub = self.global_blocks.get(id(inst_decl))
        if not isinstance(sub, BlockInstance):
            raise CodegenError(f"{loc_of(e)}cannot find the instance applied here")
        fname = self.block_funcs.get(id(sub))
        if fname is None:
            fname = self.gen_block(sub)
        return self.invoke(fname, sub.decl.params, e, None, sub.decl)


def _has_call(e: ast.Node) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(e))


def _has_index(e: ast.Node) -> bool:
    return any(isinstance(n, ast.Index) for n in ast.walk(e))


def _overlap(codes: list[str]) -> bool:
    """Whether two argument l-values may share storage (one is a prefix of the other)."""
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if a == b or a.startswith(b + ".") or b.startswith(a + ".") or "[" in a + b:
                return True
    return False


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
