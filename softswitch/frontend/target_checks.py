"""Target checks: what p4c's BMv2 back end and mid end refuse in a program the front end accepts.

``sluice compile`` emulates p4c-bm2-ss (``simple_switch``), so a program p4c's mid end or BMv2
back end rejects is an error here too, even though the P4 language allows it. Each rule below
names the p4c pass it mirrors. Only code that survives p4c's front end is checked (what
:mod:`.elaborate` marks used: applied controls, used actions, kept parser states, live branches),
because p4c removes the rest before its mid end runs.

Rules:

* ``__v1model_version`` (set from ``V1MODEL_VERSION``) must be a non-negative number between the
  first and the latest v1model revision p4c knows (p4c's ``GetV1ModelVersion``);
* no ``switch`` statement inside an action (``EliminateSwitch``: BMv2 implements a ``switch``
  on a value as a table, and actions cannot apply tables);
* a ``switch`` on a value needs ``match_kind`` ``exact`` (``EliminateSwitch``; from core.p4);
* no ``/`` or ``%`` left for run time (``CompileTimeOperations``), see :class:`_Division`;
* no nested struct (a struct with struct, header or stack fields) as the ``out``/``inout``
  argument of an extern (``NestedStructs``), and no struct-typed field of a top-level block's
  nested-struct parameter written by an extern (``FlattenInterfaceStructs``), e.g.
  ``reg.read(meta.some_struct, i)``;
* no table application in the arguments of an action in a table's ``actions`` list (the
  front end's ``SideEffectOrdering``, which runs after unused tables are removed);
* with ``@command_line("--loopsUnroll")`` (an option p4c reads from the program), no run-time
  index into a header union stack in a parser (p4test's ``FlattenHeaderUnion``, which only
  flattens such stacks when parser loops are unrolled);
* no two entries of a table with the same keys (``CheckTableEntries``, run by p4c's mid end;
  BMv2 cannot load such a table either). Keys compare as p4c's IR does: literals are equal when
  value, width and written base agree, so ``0x01`` and ``1`` are different keys there too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import ast
from . import types as T
from .constfold import expr_str, try_const_value
from .elaborate import ActionInstance, BlockInstance, Elaboration, elaborate, live_walk
from .errors import CompileError, CompileErrors
from .scope import is_builtin
from .typecheck import bind_arguments, call_target

V1MODEL_VERSION_INITIAL = 20180101
V1MODEL_VERSION_CURRENT = 20200408


def check_target(program: ast.Program, elab: Elaboration | None = None) -> None:
    """Raise :class:`CompileErrors` listing what the BMv2 target refuses in ``program``."""
    if elab is None:
        elab = elaborate(program)
    errors = _Checker(program, elab).run()
    if errors:
        raise CompileErrors(errors)


class _Checker:
    def __init__(self, program: ast.Program, elab: Elaboration):
        self.program = program
        self.elab = elab
        self.errors: list[CompileError] = []
        self.match_kinds: set[str] = set()
        for d in program.decls:
            if isinstance(d, ast.MatchKindDecl):
                self.match_kinds.update(d.members)
        self.missing_exact: ast.Node | None = None
        self.block_info: dict[int, _BlockFacts] = {}

    def error(self, node: ast.Node | None, msg: str) -> None:
        self.errors.append(CompileError(getattr(node, "loc", None), msg))

    def run(self) -> list[CompileError]:
        self.v1model_version()
        seen: set[int] = set()
        # p4test's @test_keep_opassign keeps ``a /= b`` as it is, and p4c's check only sees
        # ``/`` and ``%`` expressions; otherwise ``a /= b`` becomes ``a = a / b``.
        keep_opassign = any(
            ast.annotation(d, "test_keep_opassign") is not None for d in self.program.decls
        )
        options = _command_line_options(self.program)
        # With --preferSwitch p4test keeps switch statements as they are (no EliminateSwitch).
        check_switch = "--preferSwitch" not in options
        unroll = "--loopsUnroll" in options
        for body, in_action, blk in self.live_code():
            if id(body) in seen:
                continue
            seen.add(id(body))
            flat = _flattened_params(blk)
            div = self.division_context(blk, body, in_action)
            for n in live_walk(body):
                if isinstance(n, ast.Binary) and n.op in ("/", "%"):
                    div.check(n, n.left, n.right, n.op)
                elif (isinstance(n, ast.AssignStmt) and n.op in ("/=", "%=")
                      and not keep_opassign):
                    div.check(n, n.lhs, n.rhs, n.op[0])
                if isinstance(n, ast.SwitchStmt):
                    if check_switch:
                        self.switch(n, in_action)
                elif isinstance(n, ast.Index):
                    if unroll and blk is not None and blk.is_parser:
                        self.union_stack_index(n, div.facts)
                elif isinstance(n, ast.Call):
                    self.extern_call(n, flat)
        for tdecl in self.used_tables():
            self.duplicate_entries(tdecl)
            self.tables_in_action_args(tdecl)
        if self.missing_exact is not None:
            self.error(
                self.missing_exact,
                "switch statement needs match_kind 'exact' (it is implemented with a table);"
                " could not find 'match_kind.exact': did you include core.p4?",
            )
        return self.errors

    # ---- what survives p4c's front end ---------------------------------------------------

    def live_code(self) -> Iterator[tuple[ast.Node, bool, BlockInstance | None]]:
        """Bodies p4c keeps, each with whether it is an action body and the block it is in:
        apply blocks and parser states of used blocks, the bodies of used actions (local and
        global; a global action has no block)."""
        if self.elab.main is None:
            return
        blocks: list[BlockInstance] = []

        def add(b: BlockInstance) -> None:
            blocks.append(b)
            for n in b.nested():
                if n.used:
                    add(n)

        for b in self.elab.top_blocks():
            add(b)
        for b in blocks:
            decl = b.decl
            if isinstance(decl, ast.ControlDecl):
                yield decl.body, False, b
                for a in b.local_actions():
                    if a.used and a.block is b:
                        yield a.decl.body, True, b
            elif isinstance(decl, ast.ParserDecl):
                for st in decl.states:
                    yield st, False, b
        for a in self.elab.global_actions.values():
            if a.used:
                yield a.decl.body, True, None

    def division_context(self, blk: BlockInstance | None, body: ast.Node,
                         in_action: bool) -> _Division:
        key = id(blk)
        info = self.block_info.get(key)
        if info is None:
            info = _BlockFacts(blk, list(self.block_bodies(blk)))
            self.block_info[key] = info
        action_params: set[int] = set()
        if in_action:
            for a in self.action_instances(blk):
                if a.decl.body is body and a.table_refs and not a.direct_calls:
                    action_params.update(id(p) for p in a.decl.params if not p.direction)
        return _Division(self, info, action_params)

    def action_instances(self, blk: BlockInstance | None) -> list[ActionInstance]:
        if blk is None:
            return [a for a in self.elab.global_actions.values() if a.used]
        return [a for a in blk.local_actions() if a.used and a.block is blk]

    def block_bodies(self, blk: BlockInstance | None) -> Iterator[ast.Node]:
        if blk is None:
            return
        decl = blk.decl
        if isinstance(decl, ast.ControlDecl):
            yield decl.body
            for a in self.action_instances(blk):
                yield a.decl.body
        elif isinstance(decl, ast.ParserDecl):
            yield from decl.states

    def used_tables(self) -> list[ast.TableDecl]:
        out: list[ast.TableDecl] = []
        seen: set[int] = set()
        for t in self.elab.all_tables():
            if id(t.decl) not in seen:
                seen.add(id(t.decl))
                out.append(t.decl)
        return out

    # ---- rules ---------------------------------------------------------------------------

    def v1model_version(self) -> None:
        for d in self.program.decls:
            if isinstance(d, ast.ConstDecl) and d.name == "__v1model_version":
                v = d.value
                negative = isinstance(v, ast.Unary) and v.op == "-"
                value = None if negative else try_const_value(v)
                if negative or not isinstance(value, int) or isinstance(value, bool):
                    self.error(v, f"{expr_str(v)}: expected v1model version (V1MODEL_VERSION)"
                                  " to be a non-negative number")
                elif not V1MODEL_VERSION_INITIAL <= value <= V1MODEL_VERSION_CURRENT:
                    self.error(v, f"{value}: unknown v1model version (V1MODEL_VERSION); initial"
                                  f" supported version is {V1MODEL_VERSION_INITIAL}, latest is"
                                  f" {V1MODEL_VERSION_CURRENT}")

    def switch(self, s: ast.SwitchStmt, in_action: bool) -> None:
        if not s.cases:
            return  # p4c removes a switch without cases
        if _is_action_run(s.expr):
            return
        if not isinstance(s.expr, ast.PathExpr) and try_const_value(s.expr) is not None:
            return  # p4c's SimplifySwitch replaces it by the matching case
        if in_action:
            self.error(s, "switch statements are not supported in actions on this target"
                          " (BMv2); move the switch to the control's apply block")
            return
        if "exact" not in self.match_kinds and self.missing_exact is None:
            self.missing_exact = s

    def extern_call(self, call: ast.Call, flat: set[int]) -> None:
        """``out``/``inout`` arguments of extern functions and methods: p4c's NestedStructs
        refuses a nested struct there, FlattenInterfaceStructs a struct-typed field of a block
        parameter it flattens (a struct with nested structs)."""
        target = call_target(call)
        if not isinstance(target, (ast.MethodDecl, ast.ExternFunctionDecl)) or is_builtin(target):
            return
        for p, arg in bind_arguments(call):
            if arg is None or p.direction not in ("out", "inout"):
                continue
            t = getattr(arg, "type", None)
            if _is_nested_struct(t):
                self.error(arg, f"{expr_str(call)}: extern functions with 'out' nested struct"
                                f" argument ({p.name}) are not supported on this target"
                                f" ({T.type_str(t)} has fields of struct, header or stack type)")
            elif T.is_struct(t) and isinstance(arg, ast.Member):
                root = arg
                while isinstance(root, ast.Member):
                    root = root.expr
                if isinstance(root, ast.PathExpr) and id(root.decl) in flat:
                    self.error(arg, f"{expr_str(arg)}: writing to a structure is not supported"
                                    f" on this target (it is passed to '{p.direction}'"
                                    f" parameter {p.name}); pass its fields one by one")

    def union_stack_index(self, n: ast.Index, facts: _BlockFacts) -> None:
        t = getattr(n.expr, "type", None)
        if not (isinstance(t, ast.TypeStack) and T.is_header_union(t.elem)):
            return
        if facts.is_runtime(n.index):
            self.error(n.index, "Target expects constant array indices for accessing header"
                                f" union stack elements, {expr_str(n.index)} is not a constant"
                                " (with --loopsUnroll, header union stacks are flattened)")

    def tables_in_action_args(self, t: ast.TableDecl) -> None:
        """p4c's front end (SideEffectOrdering) cannot order a table application inside the
        arguments of an action in a table's ``actions`` list."""
        for p in t.properties:
            if p.name != "actions" or not isinstance(p.value, list):
                continue
            for ref in p.value:
                if not isinstance(ref, ast.ActionRef):
                    continue
                for n in ast.walk(ref.expr):
                    if n is ref.expr or not isinstance(n, ast.Call):
                        continue
                    if isinstance(call_target(n), ast.TableDecl):
                        self.error(n, f"{expr_str(n)}: table invocation in action argument is"
                                      " not supported")

    def duplicate_entries(self, t: ast.TableDecl) -> None:
        nkeys = 0
        entries: list[ast.Entry] = []
        for p in t.properties:
            if p.name == "key" and isinstance(p.value, list):
                nkeys = len(p.value)
            elif p.name == "entries" and isinstance(p.value, list):
                entries = [e for e in p.value if isinstance(e, ast.Entry)]
        prev: list[ast.Entry] = []
        for en in entries:
            if len(en.keyset) != nkeys:
                continue
            for other in prev:
                if all(_same_key(a, b) for a, b in zip(en.keyset, other.keyset)):
                    self.error(en, f"Duplicate entry keys in table {t.name}: the same keys as"
                                   f" the entry at {other.loc}")
                    break
            prev.append(en)


_WIDTH_PREFIX = re.compile(r"^\d+[ws]")


def _int_base(text: str) -> int:
    t = _WIDTH_PREFIX.sub("", text).lower()
    if t.startswith("0x"):
        return 16
    if t.startswith("0b"):
        return 2
    if t.startswith("0o"):
        return 8
    return 10


def _same_key(a: ast.Expr, b: ast.Expr) -> bool:
    """Whether two entry keys are the same expression (p4c's ``equiv``); False when unsure."""
    if isinstance(a, ast.IntLit) and isinstance(b, ast.IntLit):
        ta, tb = a.type, b.type
        wa = (ta.size, ta.signed) if isinstance(ta, ast.TypeBits) else None
        wb = (tb.size, tb.signed) if isinstance(tb, ast.TypeBits) else None
        return (a.value == b.value and wa == wb and wa is not None
                and _int_base(a.text or str(a.value)) == _int_base(b.text or str(b.value)))
    if isinstance(a, ast.BoolLit) and isinstance(b, ast.BoolLit):
        return a.value == b.value
    if isinstance(a, (ast.DontCare, ast.Default)) and isinstance(b, (ast.DontCare, ast.Default)):
        return True
    if isinstance(a, ast.Mask) and isinstance(b, ast.Mask):
        return _same_key(a.value, b.value) and _same_key(a.mask, b.mask)
    if isinstance(a, ast.Range) and isinstance(b, ast.Range):
        return _same_key(a.lo, b.lo) and _same_key(a.hi, b.hi)
    if isinstance(a, ast.Member) and isinstance(b, ast.Member):
        return a.decl is not None and a.decl is b.decl and a.name == b.name
    return False


class _BlockFacts:
    """What p4c's copy propagation could know about a block's variables: which top-level
    block parameters are run-time data, which local variables are constants."""

    def __init__(self, blk: BlockInstance | None, bodies: list[ast.Node]):
        self.params: set[int] = set()
        if blk is not None and blk.inst_name is None:
            self.params = {id(p) for p in blk.decl.params if p.direction}
        # Paths written with something that could be a compile-time constant, and local
        # variables written anywhere besides their initializer.
        self.maybe_const_writes: list[str] = []
        self.written_locals: set[int] = set()
        self.local_consts: dict[int, int] = {}
        locals_: list[ast.VarDecl] = []
        if blk is not None:
            locals_.extend(d for d in blk.decl.locals if isinstance(d, ast.VarDecl))
        for body in bodies:
            for n in ast.walk(body):
                if isinstance(n, ast.VarDecl):
                    locals_.append(n)
                elif isinstance(n, ast.AssignStmt):
                    self.note_write(n.lhs, n.rhs if n.op == "=" else None)
                elif isinstance(n, ast.Call):
                    target = call_target(n)
                    extern = isinstance(target, (ast.MethodDecl, ast.ExternFunctionDecl))
                    for p, arg in bind_arguments(n):
                        if arg is not None and p.direction in ("out", "inout"):
                            self.note_write(arg, None, runtime=extern)
        for v in locals_:
            if id(v) in self.written_locals or v.init is None:
                continue
            cv = try_const_value(v.init)
            if isinstance(cv, int) and not isinstance(cv, bool):
                self.local_consts[id(v)] = cv

    def note_write(self, lhs: ast.Expr, rhs: ast.Expr | None, runtime: bool = False) -> None:
        root, path = _path_of(lhs)
        if root is None:
            return
        if isinstance(root.decl, ast.VarDecl):
            self.written_locals.add(id(root.decl))
        if runtime or (rhs is not None and not self.maybe_const(rhs)):
            return
        self.maybe_const_writes.append(path)

    def maybe_const(self, e: ast.Expr) -> bool:
        """False when ``e`` reads run-time data (a top-level block parameter or an extern
        call's result), so p4c cannot have made it a constant."""
        if try_const_value(e) is not None:
            return True
        for n in ast.walk(e):
            if isinstance(n, ast.PathExpr) and id(n.decl) in self.params:
                return False
            if isinstance(n, ast.Call) and isinstance(
                call_target(n), (ast.MethodDecl, ast.ExternFunctionDecl)
            ) and not is_builtin(call_target(n)):
                return False
        return True

    def param_path_runtime(self, e: ast.Expr) -> bool:
        root, path = _path_of(e)
        if root is None or id(root.decl) not in self.params:
            return False
        for w in self.maybe_const_writes:
            if w == path or w.startswith(path + ".") or path.startswith(w + "."):
                return False
        return True

    def is_runtime(self, e: ast.Expr, action_params: set[int] | None = None) -> bool:
        """True when ``e`` is certainly not a compile-time constant after p4c's copy
        propagation and folding: packet or metadata data of a top-level block that nothing in
        the block overwrites with a possible constant, or action data from the control plane
        (and simple operations on those)."""
        if try_const_value(e) is not None:
            return False
        if isinstance(e, (ast.Member, ast.PathExpr)):
            root, _path = _path_of(e)
            if root is None:
                return False
            if action_params and id(root.decl) in action_params:
                return True
            return self.param_path_runtime(e)
        if isinstance(e, ast.Cast):
            return self.is_runtime(e.expr, action_params)
        if isinstance(e, ast.Slice):
            return self.is_runtime(e.expr, action_params)
        if isinstance(e, ast.Binary) and e.op in ("+", "-", "|", "^", "++"):
            sides = [self.is_runtime(e.left, action_params),
                     self.is_runtime(e.right, action_params)]
            consts = [try_const_value(e.left) is not None, try_const_value(e.right) is not None]
            return any(sides) and all(r or c for r, c in zip(sides, consts))
        return False

    def const_of(self, e: ast.Expr) -> int | None:
        cv = try_const_value(e)
        if isinstance(cv, int) and not isinstance(cv, bool):
            return cv
        if isinstance(e, ast.PathExpr) and isinstance(e.decl, ast.VarDecl):
            return self.local_consts.get(id(e.decl))
        return None


class _Division:
    """p4c's CompileTimeOperations: BMv2 has no division or modulo, so every ``/`` and ``%``
    must be gone after p4c's mid end: folded (constant operands, after copy propagation of
    local constants) or strength-reduced (a power-of-two divisor becomes a shift or a mask).
    To never refuse what p4c accepts, only an operation whose value is certainly known at run
    time only is reported: a divisor that is run-time data, or a constant divisor that is not
    a power of two with a run-time dividend."""

    def __init__(self, checker: _Checker, facts: _BlockFacts, action_params: set[int]):
        self.checker = checker
        self.facts = facts
        self.action_params = action_params

    def check(self, node: ast.Node, left: ast.Expr, right: ast.Expr, op: str) -> None:
        f = self.facts
        if f.const_of(left) == 0:
            return
        if isinstance(node, ast.Binary) and try_const_value(node) is not None:
            return
        what = "division" if op == "/" else "modulo"
        text = expr_str(node) if isinstance(node, ast.Binary) else (
            f"{expr_str(left)} {op} {expr_str(right)}"
        )
        dv = f.const_of(right)
        if dv is not None:
            if dv == 0:
                # p4c's StrengthReduction, once copy propagation made the divisor constant.
                self.checker.error(node, f"{text}: {what} by zero")
                return
            if dv < 0 or dv & (dv - 1) == 0:
                return  # a power of two: a shift or a mask
            if not f.is_runtime(left, self.action_params):
                return
        elif not f.is_runtime(right, self.action_params):
            return
        self.checker.error(
            node,
            f"{text}: could not evaluate expression at compilation time: this target has no"
            f" run-time {what}; only constants and divisors that are powers of two are supported",
        )


def _path_of(e: ast.Expr) -> tuple[ast.PathExpr | None, str]:
    """The variable a ``a.b.c`` / ``a[i]`` / ``a[h:l]`` expression starts from, and its
    dotted path (indices and slices cut the path there)."""
    names: list[str] = []
    while True:
        if isinstance(e, ast.Member):
            names.append(e.name)
            e = e.expr
        elif isinstance(e, (ast.Index, ast.Slice)):
            names.clear()
            e = e.expr
        else:
            break
    if not isinstance(e, ast.PathExpr) or e.decl is None:
        return None, ""
    return e, ".".join([e.name] + list(reversed(names)))


def _is_nested_struct(t: ast.Type | None) -> bool:
    """p4c's ``isNestedStruct``: a struct with a struct, header, header union, tuple or stack
    field."""
    if not T.is_struct(t):
        return False
    for _name, ft, _f in T.fields_of(t):  # type: ignore[arg-type]
        ft = T.strip_newtype(ft)
        if T.is_struct_like(ft) or isinstance(ft, (ast.TypeTuple, ast.TypeStack)):
            return True
    return False


def _flattened_params(blk: BlockInstance | None) -> set[int]:
    """Ids of the parameters of a top-level parser or control that p4c's
    FlattenInterfaceStructs replaces (those of a nested struct type)."""
    if blk is None or blk.inst_name is not None:
        return set()
    out: set[int] = set()
    for p in blk.decl.params:
        if _is_nested_struct(T.resolve_type(p.ptype)):
            out.add(id(p))
    return out


def _command_line_options(program: ast.Program) -> set[str]:
    """The options of the program's ``@command_line("...", ...)`` annotations."""
    out: set[str] = set()
    for d in program.decls:
        for a in getattr(d, "annotations", None) or ():
            if a.name == "command_line" and not a.structured:
                for e in a.exprs or ():
                    if isinstance(e, ast.StringLit):
                        out.add(e.value)
    return out


def _is_action_run(e: ast.Expr) -> bool:
    return isinstance(e, ast.Member) and e.name == "action_run"
