"""Elaboration: from a checked program to the tree of instances its ``main`` package builds.

The type checker says what every name and expression *is*; elaboration says what the program
*instantiates*. Starting from the ``main`` package instantiation it evaluates constructor arguments
and builds one object per parser, control, table, action, extern instance and value set, each with
its fully qualified control-plane name:

* a top-level parser or control (an argument of ``main``) names its objects ``Decl.obj``, using
  the parser's or control's *declared* name, as p4c's ``HierarchicalNames`` pass does;
* a parser or control instantiated inside another one is inlined by p4c, which prefixes its
  objects with the instance's name (``Outer.inst.obj``); two instances give two sets of objects;
* ``@name("x")`` replaces an object's local name, ``@name(".x")`` makes it global (``x``);
* actions declared at top level keep their global name (``NoAction``), wherever they are used.

Only what survives p4c's front end is marked ``used``: tables that are applied (from the apply
body, or from the key of another used table), actions that a used table refers to or that the
apply body calls, value sets a ``select`` reads, nested instances that are applied (including
``C.apply()`` on a control type, which instantiates it in place). Code in a branch that constant
folding removes does not count. Extern instances are kept even when unused, unless declared
through a ``typedef`` of the extern type (p4c removes those like any unused declaration).

The P4Info generator reads this tree; the packet-processing engine can use it to allocate state
(one register array per :class:`ExternInstance`, one table per :class:`TableInstance`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import ast
from .constfold import EnumValue, ErrorValue, const_value
from .errors import CompileError

__all__ = [
    "ActionInstance",
    "ActionRefInstance",
    "BlockInstance",
    "BodyCall",
    "DefaultActionInstance",
    "Elaboration",
    "EnumValue",
    "ErrorValue",
    "ExternInstance",
    "Instance",
    "KeyInstance",
    "NotConstant",
    "PackageInstance",
    "TableInstance",
    "ValueSetInstance",
    "control_plane_name",
    "elaborate",
    "external_name",
    "live_walk",
]

# --------------------------------------------------------------------------------------------
# Compile-time values: ints, bools, strings, and the checker's EnumValue / ErrorValue (a
# serializable enum member is its integer value); instances for extern/parser/control arguments.


class NotConstant(Exception):
    """An expression that has no compile-time value."""


# --------------------------------------------------------------------------------------------
# Instances


@dataclass(eq=False)
class Instance:
    """Base of everything elaboration creates.

    ``name`` is the local (declared) name, ``cp_name`` the fully qualified control-plane name
    (what P4Info calls ``name``), ``annotations`` those of the declaration.
    """

    name: str
    cp_name: str
    annotations: list[ast.Annotation]
    block: BlockInstance | None

    def annotation(self, name: str) -> ast.Annotation | None:
        """The annotation ``@name`` on this object's declaration, if any."""
        for a in self.annotations:
            if a.name == name:
                return a
        return None


@dataclass(eq=False)
class ExternInstance(Instance):
    """An instance of an extern type (``register<bit<32>>(16) r;`` or an in-place
    ``implementation = action_profile(128)``).

    ``args`` maps constructor parameter names to evaluated values, ``arg_exprs`` to the argument
    expressions; ``type_args`` are the type arguments as written (``bit<32>`` for the register).
    """

    extern: ast.ExternDecl
    type_args: list[ast.Type]
    args: dict[str, Any]
    arg_exprs: dict[str, ast.Expr]
    node: ast.Node
    in_place: bool = False
    used: bool = True

    @property
    def type_name(self) -> str:
        """The extern type's name (``register``, ``counter``, ``action_selector``...)."""
        return self.extern.name


@dataclass(eq=False)
class ActionInstance(Instance):
    """An action; global actions have ``block`` None and one instance shared by every user."""

    decl: ast.ActionDecl
    used: bool = False
    table_refs: int = 0
    direct_calls: int = 0

    @property
    def params(self) -> list[ast.Parameter]:
        return self.decl.params


@dataclass(eq=False)
class ActionRefInstance:
    """An entry of a table's ``actions`` list (annotations are those on the reference)."""

    action: ActionInstance
    annotations: list[ast.Annotation]
    args: list[ast.Argument]


@dataclass(eq=False)
class DefaultActionInstance:
    """A table's ``default_action``; ``implicit`` when p4c would add ``NoAction``."""

    action: ActionInstance
    args: list[ast.Argument]
    const: bool
    implicit: bool = False


@dataclass(eq=False)
class KeyInstance:
    """One key element: the expression, its match kind and annotations."""

    expr: ast.Expr
    match_kind: str
    annotations: list[ast.Annotation]
    node: ast.KeyElement


@dataclass(eq=False)
class TableInstance(Instance):
    """A table with its properties resolved."""

    decl: ast.TableDecl
    keys: list[KeyInstance] = field(default_factory=list)
    actions: list[ActionRefInstance] = field(default_factory=list)
    default_action: DefaultActionInstance | None = None
    entries: list[ast.Entry] | None = None
    entries_const: bool = False
    size: int | None = None
    implementation: ExternInstance | None = None
    counters: ExternInstance | None = None
    meters: ExternInstance | None = None
    support_timeout: bool = False
    properties: dict[str, ast.TableProperty] = field(default_factory=dict)
    used: bool = False


@dataclass(eq=False)
class ValueSetInstance(Instance):
    """A parser ``value_set``."""

    decl: ast.ValueSetDecl
    size: int | None = None
    used: bool = False


@dataclass(eq=False)
class BlockInstance(Instance):
    """A parser or control instance.

    ``locals`` holds, in declaration order, the tables, actions, extern instances, value sets and
    nested parser/control instances declared in it. ``inst_name`` is the name nested objects are
    prefixed with (None for a top-level block, whose objects are prefixed with the declared
    name). ``args`` are the constructor arguments' values by parameter name.
    """

    decl: ast.ControlDecl | ast.ParserDecl = None  # type: ignore[assignment]
    args: dict[str, Any] = field(default_factory=dict)
    locals: list[Instance] = field(default_factory=list)
    inst_name: str | None = None
    node: ast.Node | None = None
    used: bool = True
    by_decl: dict[int, Instance] = field(default_factory=dict, repr=False)
    calls: list[BodyCall] = field(default_factory=list, repr=False)
    direct: bool = False

    @property
    def is_control(self) -> bool:
        return isinstance(self.decl, ast.ControlDecl)

    @property
    def is_parser(self) -> bool:
        return isinstance(self.decl, ast.ParserDecl)

    def flat_locals(self) -> Iterator[Instance]:
        """Locals in the order p4c sees them after inlining: a used nested instance is replaced
        by its own (flattened) locals; unused nested instances disappear."""
        for loc in self.locals:
            if isinstance(loc, BlockInstance):
                if loc.used:
                    yield from loc.flat_locals()
            else:
                yield loc

    def tables(self) -> list[TableInstance]:
        """Used tables, flattened."""
        return [x for x in self.flat_locals() if isinstance(x, TableInstance) and x.used]

    def externs(self) -> list[ExternInstance]:
        """Extern instances, flattened (in-place table externs not included)."""
        return [x for x in self.flat_locals() if isinstance(x, ExternInstance) and x.used]

    def local_actions(self) -> list[ActionInstance]:
        """Actions declared in this block and the used nested blocks, flattened."""
        return [x for x in self.flat_locals() if isinstance(x, ActionInstance)]

    def value_sets(self) -> list[ValueSetInstance]:
        """Value sets, flattened."""
        return [x for x in self.flat_locals() if isinstance(x, ValueSetInstance)]

    def nested(self) -> list[BlockInstance]:
        """Directly nested parser/control instances."""
        return [x for x in self.locals if isinstance(x, BlockInstance)]

    def instance_of(self, decl: ast.Node) -> Instance | None:
        """The instance this block made for local declaration ``decl``."""
        return self.by_decl.get(id(decl))

    def inlined_calls(self) -> Iterator[BodyCall]:
        """The calls of the apply body in source order, with the body of each applied nested
        instance expanded in place (as p4c's inlining does)."""
        for bc in self.calls:
            if bc.kind == "apply" and isinstance(bc.target, BlockInstance) and bc.target.used:
                yield from bc.target.inlined_calls()
            else:
                yield bc


@dataclass(eq=False)
class BodyCall:
    """A call in a control's apply body: ``kind`` is ``action`` (``target`` the
    :class:`ActionInstance`), ``apply`` (``target`` the nested :class:`BlockInstance` or the
    :class:`TableInstance`) or ``call`` (anything else; ``target`` None)."""

    kind: str
    call: ast.Call
    target: Any
    block: BlockInstance


@dataclass(eq=False)
class PackageInstance(Instance):
    """A package instance (``main``); ``args`` maps parameter names to blocks and values."""

    decl: ast.PackageTypeDecl = None  # type: ignore[assignment]
    args: dict[str, Any] = field(default_factory=dict)
    node: ast.Node | None = None


@dataclass(eq=False)
class Elaboration:
    """The result of elaboration.

    ``toplevel`` lists the global instances (extern instances, the parser/control instances
    ``main`` uses, and ``main``) in program order; ``blocks`` the top-level parser and control
    instances, breadth-first as p4c visits them (:meth:`all_blocks` adds the nested ones).
    ``main.args`` maps the package's parameter names to what it received (:meth:`block`).
    """

    program: ast.Program
    main: PackageInstance | None
    toplevel: list[Instance]
    global_externs: list[ExternInstance]
    global_actions: dict[int, ActionInstance]
    blocks: list[BlockInstance]
    by_decl: dict[int, Instance] = field(default_factory=dict, repr=False)

    def instance_of(self, decl: ast.Node) -> Instance | None:
        """The instance a top-level instantiation (or global action) built."""
        inst = self.by_decl.get(id(decl))
        if inst is None:
            inst = self.global_actions.get(id(decl))
        return inst

    def block(self, param: str) -> BlockInstance | None:
        """The parser or control ``main`` received for package parameter ``param``."""
        if self.main is None:
            return None
        v = self.main.args.get(param)
        return v if isinstance(v, BlockInstance) else None

    def top_blocks(self) -> list[BlockInstance]:
        """Blocks that p4c keeps as blocks after inlining (not nested inside another)."""
        return [b for b in self.blocks if b.inst_name is None]

    def all_blocks(self) -> Iterator[BlockInstance]:
        """Every parser/control instance, top-level ones each followed by what it nests."""

        def rec(b: BlockInstance) -> Iterator[BlockInstance]:
            yield b
            for n in b.nested():
                yield from rec(n)

        for b in self.top_blocks():
            yield from rec(b)

    def all_tables(self) -> list[TableInstance]:
        """Every used table, block by block."""
        out: list[TableInstance] = []
        for b in self.top_blocks():
            out.extend(b.tables())
        return out

    def all_externs(self) -> list[ExternInstance]:
        """Every extern instance: global ones first, then block by block."""
        out = list(self.global_externs)
        for b in self.top_blocks():
            out.extend(b.externs())
        return out

    def walk_blocks(self) -> Iterator[Instance]:
        """Every instance in the order p4c's ``forAllEvaluatedBlocks`` visits them: breadth
        first from the top level, a block's children being its constructor arguments then its
        (flattened) tables and extern instances, a table's children its in-place externs."""
        seen: set[int] = set()
        queue: list[Instance] = []

        def push(x: Any) -> None:
            if isinstance(x, Instance) and id(x) not in seen:
                seen.add(id(x))
                queue.append(x)

        for t in self.toplevel:
            push(t)
        i = 0
        while i < len(queue):
            cur = queue[i]
            i += 1
            yield cur
            if isinstance(cur, PackageInstance):
                for v in cur.args.values():
                    push(v)
            elif isinstance(cur, BlockInstance):
                for v in cur.args.values():
                    push(v)
                for loc in cur.flat_locals():
                    if isinstance(loc, TableInstance) and loc.used:
                        push(loc)
                    elif isinstance(loc, ExternInstance) and loc.used:
                        push(loc)
            elif isinstance(cur, TableInstance):
                for ext in (cur.implementation, cur.counters, cur.meters):
                    if ext is not None and ext.in_place:
                        push(ext)


# --------------------------------------------------------------------------------------------
# Helpers on syntax


def annotation_string(a: ast.Annotation) -> str | None:
    """The single string argument of an annotation like ``@name("x")``."""
    if a.exprs:
        e = a.exprs[0]
        if isinstance(e, ast.StringLit):
            return e.value
    if a.body is not None:
        text = a.body.strip()
        if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            return text[1:-1]
    return None


def external_name(decl: Any) -> str:
    """p4c's ``externalName()``: the ``@name`` annotation's string, else the declared name."""
    for a in getattr(decl, "annotations", None) or ():
        if a.name == "name":
            s = annotation_string(a)
            if s is not None:
                return s
    return decl.name


def control_plane_name(decl: Any) -> str:
    """p4c's ``controlPlaneName()``: the external name without a leading dot."""
    n = external_name(decl)
    return n[1:] if n.startswith(".") else n


def _qualify(local: str, block: BlockInstance | None) -> str:
    """The fully qualified control-plane name of an object named ``local`` in ``block``."""
    n = local
    b = block
    while b is not None and not n.startswith("."):
        if b.inst_name is not None:
            n = b.inst_name + "." + n
        else:
            n = b.decl.name + "." + n
        b = b.block if b.inst_name is not None else None
    return n[1:] if n.startswith(".") else n


def _unwrap_type(t: Any) -> Any:
    """The declaration a (possibly specialized) type name refers to."""
    if isinstance(t, ast.TypeSpecialized):
        t = t.base
    if isinstance(t, ast.TypeName):
        return t.decl
    return t


def _type_args(t: Any) -> list[ast.Type]:
    return list(t.args) if isinstance(t, ast.TypeSpecialized) else []


def _type_name(t: Any) -> str | None:
    if isinstance(t, ast.TypeSpecialized):
        t = t.base
    if isinstance(t, ast.TypeName):
        return t.name
    return None


def _bind_args(
    params: list[ast.Parameter], args: list[ast.Argument]
) -> dict[str, ast.Expr | None]:
    """Match call arguments to parameters (positional or named); missing ones map to the
    parameter's default expression or None."""
    out: dict[str, ast.Expr | None] = {}
    if any(a.name for a in args):
        named = {a.name: a.expr for a in args if a.name}
        for p in params:
            out[p.name] = named.get(p.name, p.default)
        return out
    for i, p in enumerate(params):
        out[p.name] = args[i].expr if i < len(args) else p.default
    return out


def _select_ctor(ext: ast.ExternDecl, args: list[ast.Argument]) -> ast.MethodDecl | None:
    """The constructor of ``ext`` an argument list calls (by count and names)."""
    ctors = [m for m in ext.methods if m.rtype is None and m.name == ext.name]
    if not ctors:
        return None
    names = {a.name for a in args if a.name}
    best = None
    for c in ctors:
        required = [p for p in c.params if p.default is None and not ast.annotation(p, "optional")]
        if names:
            pnames = {p.name for p in c.params}
            if names <= pnames and all(p.name in names for p in required):
                return c
            continue
        if len(required) <= len(args) <= len(c.params):
            if best is None or len(c.params) == len(args):
                best = c
    return best or ctors[0]


# --------------------------------------------------------------------------------------------
# The elaborator


class _Env:
    """Compile-time values of constructor parameters visible in a block."""

    def __init__(self, values: dict[str, Any] | None = None, parent: _Env | None = None):
        self.values = values or {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        e: _Env | None = self
        while e is not None:
            if name in e.values:
                return e.values[name]
            e = e.parent
        raise KeyError(name)


MISSING = object()


class Elaborator:
    """Builds an :class:`Elaboration` from a checked program (see :func:`elaborate`)."""

    def __init__(self, program: ast.Program):
        self.program = program
        self.globals: dict[str, list[ast.Node]] = {}
        for d in program.decls:
            name = getattr(d, "name", None)
            if name is not None:
                self.globals.setdefault(name, []).append(d)
        self.global_actions: dict[int, ActionInstance] = {}
        self.global_instances: dict[int, Instance] = {}
        self.blocks: list[BlockInstance] = []

    # ---- name resolution -------------------------------------------------------------------

    def lookup_global(self, name: str, kinds: tuple[type, ...] | None = None) -> Any:
        for d in self.globals.get(name, ()):
            if kinds is None or isinstance(d, kinds):
                return d
        return None

    def resolve(self, expr: Any, block: BlockInstance | None, kinds: tuple[type, ...]) -> Any:
        """The declaration a path (or type name) refers to, preferring the checker's ``decl``."""
        decl = getattr(expr, "decl", None)
        if decl is not None:
            return decl if isinstance(decl, kinds) else None
        name = getattr(expr, "name", None)
        if name is None:
            return None
        if block is not None and not getattr(expr, "global_", False):
            b: BlockInstance | None = block
            while b is not None:
                for d in b.decl.locals:
                    if getattr(d, "name", None) == name and isinstance(d, kinds):
                        return d
                b = b.block if b.inst_name is not None else None
        return self.lookup_global(name, kinds)

    # ---- evaluation ------------------------------------------------------------------------

    def const(self, expr: Any, env: _Env | None = None) -> Any:
        """The compile-time value of ``expr``; raises :class:`NotConstant`.

        Constructor parameters take their values from ``env``; everything else is folded by
        the checker's :func:`~.constfold.const_value`. Enum members come back as the checker's
        ``EnumValue`` (serializable ones as their integer value), ``error`` members as
        ``ErrorValue``.
        """
        if expr is None:
            raise NotConstant("no expression")
        if env is not None and _uses_params(expr, env):
            return self._fold_with_env(expr, env)
        try:
            return const_value(expr)
        except CompileError as exc:
            raise NotConstant(str(exc)) from None

    def _fold_with_env(self, expr: Any, env: _Env) -> Any:
        """Fold ``expr`` where constructor parameters (in ``env``) may appear."""
        if isinstance(expr, ast.PathExpr) and not expr.global_:
            try:
                return env.lookup(expr.name)
            except KeyError:
                pass
        if isinstance(expr, (ast.IntLit, ast.BoolLit, ast.StringLit)):
            return expr.value
        if isinstance(expr, ast.Cast):
            v = self.const(expr.expr, env)
            size = _bits_size(expr.type if expr.type is not None else expr.to)
            if isinstance(v, bool) and size is not None:
                return int(v)
            if isinstance(v, int) and size:
                t = expr.type if expr.type is not None else expr.to
                return _wrap_signed(v, size) if _is_signed(t) else v & ((1 << size) - 1)
            return v
        if isinstance(expr, ast.Unary):
            v = self.const(expr.expr, env)
            if expr.op == "-" and isinstance(v, int):
                return -v
            if expr.op == "+":
                return v
            if expr.op == "!" and isinstance(v, bool):
                return not v
            if expr.op == "~" and isinstance(v, int):
                size = _bits_size(expr.type)
                return (~v) & ((1 << size) - 1) if size else ~v
        if isinstance(expr, ast.Binary):
            a = self.const(expr.left, env)
            b = self.const(expr.right, env)
            r = binop(expr.op, a, b)
            if r is not MISSING:
                size = _bits_size(expr.type)
                if isinstance(r, int) and not isinstance(r, bool) and size:
                    return _wrap_signed(r, size) if _is_signed(expr.type) else r & ((1 << size) - 1)
                return r
        if isinstance(expr, ast.Ternary):
            c = self.const(expr.cond, env)
            return self.const(expr.then if c else expr.else_, env)
        try:
            return const_value(expr)
        except CompileError as exc:
            raise NotConstant(str(exc)) from None

    def try_const(self, expr: Any, env: _Env | None = None, default: Any = None) -> Any:
        """:meth:`const`, or ``default`` when ``expr`` has no compile-time value."""
        try:
            return self.const(expr, env)
        except NotConstant:
            return default
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return default

    def value(self, expr: Any, block: BlockInstance | None, env: _Env | None, name: str) -> Any:
        """Evaluate a constructor argument: an instance, or a compile-time constant."""
        if expr is None:
            return None
        if isinstance(expr, ast.ConstructorCall):
            return self.construct(expr.ctype, expr.args, block, env, name, expr, [])
        if isinstance(expr, ast.Call):
            tdecl = self.resolve(
                expr.func,
                block,
                (ast.ControlDecl, ast.ParserDecl, ast.ExternDecl, ast.PackageTypeDecl),
            )
            if tdecl is not None:
                ctype = ast.TypeName(tdecl.name, decl=tdecl)
                if expr.type_args:
                    ctype = ast.TypeSpecialized(ctype, list(expr.type_args))
                return self.construct(ctype, expr.args, block, env, name, expr, [])
        if isinstance(expr, ast.PathExpr):
            if env is not None and not expr.global_:
                try:
                    return env.lookup(expr.name)
                except KeyError:
                    pass
            decl = self.resolve(expr, block, (ast.Instantiation,))
            if isinstance(decl, ast.Instantiation):
                if block is not None:
                    inst = block.instance_of(decl)
                    if inst is not None:
                        return inst
                return self.global_instance(decl)
        return self.try_const(expr, env)

    def global_instance(self, decl: ast.Instantiation) -> Instance | None:
        """The instance a top-level instantiation builds (built once)."""
        inst = self.global_instances.get(id(decl))
        if inst is None:
            inst = self.construct(
                decl.itype, decl.args, None, None, external_name(decl), decl, decl.annotations
            )
            if inst is not None:
                self.global_instances[id(decl)] = inst
        return inst

    def construct(
        self,
        ctype: ast.Type,
        args: list[ast.Argument],
        block: BlockInstance | None,
        env: _Env | None,
        ext_name: str,
        node: ast.Node,
        annotations: list[ast.Annotation],
    ) -> Instance | None:
        """Instantiate type ``ctype`` with ``args``, inside ``block`` (None at top level)."""
        tdecl = _unwrap_type(ctype)
        if tdecl is None:
            tname = _type_name(ctype)
            if tname is not None:
                tdecl = self.lookup_global(
                    tname,
                    (
                        ast.ControlDecl,
                        ast.ParserDecl,
                        ast.ExternDecl,
                        ast.PackageTypeDecl,
                        ast.TypedefDecl,
                    ),
                )
        while isinstance(tdecl, ast.TypedefDecl):
            ctype = tdecl.target
            tdecl = _unwrap_type(ctype)
        local = ext_name
        if isinstance(tdecl, ast.ExternDecl):
            ctor = _select_ctor(tdecl, args)
            params = ctor.params if ctor is not None else []
            bound = _bind_args(params, args)
            values = {k: self.value(v, block, env, k) for k, v in bound.items()}
            cp = _qualify(local, block) if block is not None else _strip_dot(local)
            return ExternInstance(
                name=getattr(node, "name", ext_name),
                cp_name=cp,
                annotations=list(annotations),
                block=block,
                extern=tdecl,
                type_args=_type_args(ctype),
                args=values,
                arg_exprs={k: v for k, v in bound.items() if v is not None},
                node=node,
            )
        if isinstance(tdecl, (ast.ControlDecl, ast.ParserDecl)):
            bound = _bind_args(tdecl.ctor_params, args)
            values = {k: self.value(v, block, env, k) for k, v in bound.items()}
            return self.make_block(tdecl, values, block, ext_name, node, annotations)
        if isinstance(tdecl, ast.PackageTypeDecl):
            ctor_params = tdecl.params
            bound = _bind_args(ctor_params, args)
            values = {}
            for k, v in bound.items():
                values[k] = self.value(v, block, env, k)
            return PackageInstance(
                name=getattr(node, "name", ext_name),
                cp_name=_strip_dot(ext_name),
                annotations=list(annotations),
                block=block,
                decl=tdecl,
                args=values,
                node=node,
            )
        return None

    def make_block(
        self,
        decl: ast.ControlDecl | ast.ParserDecl,
        args: dict[str, Any],
        parent: BlockInstance | None,
        ext_name: str,
        node: ast.Node,
        annotations: list[ast.Annotation],
    ) -> BlockInstance:
        """Build a parser/control instance and everything declared in it."""
        nested = parent is not None
        blk = BlockInstance(
            name=getattr(node, "name", ext_name),
            cp_name=_qualify(ext_name, parent) if nested else decl.name,
            annotations=list(annotations),
            block=parent,
            decl=decl,
            args=args,
            inst_name=ext_name if nested else None,
            node=node,
        )
        self.blocks.append(blk)
        env = _Env(dict(args))
        for d in decl.locals:
            inst: Instance | None = None
            if isinstance(d, ast.ActionDecl):
                inst = ActionInstance(
                    name=d.name,
                    cp_name=_qualify(external_name(d), blk),
                    annotations=list(d.annotations),
                    block=blk,
                    decl=d,
                )
            elif isinstance(d, ast.TableDecl):
                inst = TableInstance(
                    name=d.name,
                    cp_name=_qualify(external_name(d), blk),
                    annotations=list(d.annotations),
                    block=blk,
                    decl=d,
                )
            elif isinstance(d, ast.ValueSetDecl):
                inst = ValueSetInstance(
                    name=d.name,
                    cp_name=_qualify(external_name(d), blk),
                    annotations=list(d.annotations),
                    block=blk,
                    decl=d,
                    size=self.try_const(d.size, env),
                )
            elif isinstance(d, ast.Instantiation):
                inst = self.construct(
                    d.itype, d.args, blk, env, external_name(d), d, d.annotations
                )
                if isinstance(inst, ExternInstance):
                    inst.name = d.name
            elif isinstance(d, ast.ConstDecl):
                env.values[d.name] = self.try_const(d.value, env)
                continue
            if inst is not None:
                blk.locals.append(inst)
                blk.by_decl[id(d)] = inst
        self.direct_instances(blk, env)
        for loc in blk.locals:
            if isinstance(loc, TableInstance):
                self.resolve_table(loc, env)
        self.mark_used(blk)
        return blk

    def direct_instances(self, blk: BlockInstance, env: _Env) -> None:
        """``C.apply(...)`` on a parser or control *type* instantiates it in place: p4c adds an
        instance named after the type at the end of the caller's locals, one per call."""
        decl = blk.decl
        roots: list[ast.Node] = (
            [decl.body] if isinstance(decl, ast.ControlDecl) else list(decl.states)
        )
        for root in roots:
            for n in ast.walk(root):
                if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Member)):
                    continue
                if n.func.name != "apply" or not isinstance(n.func.expr, ast.TypeExpr):
                    continue
                ctype = n.func.expr.ctype
                tdecl = _unwrap_type(ctype)
                if not isinstance(tdecl, (ast.ControlDecl, ast.ParserDecl)):
                    continue
                tn = ctype.base if isinstance(ctype, ast.TypeSpecialized) else ctype
                ext = ("." if getattr(tn, "global_", False) else "") + tdecl.name
                sub = self.make_block(tdecl, {}, blk, ext, n, [])
                sub.name = tdecl.name
                sub.direct = True
                blk.locals.append(sub)
                blk.by_decl[id(n)] = sub

    # ---- tables ----------------------------------------------------------------------------

    def action_instance(self, expr: Any, blk: BlockInstance) -> ActionInstance | None:
        """The action a table (or call) in ``blk`` names."""
        func = expr.func if isinstance(expr, ast.Call) else expr
        decl = self.resolve(func, blk, (ast.ActionDecl,))
        if decl is None:
            return None
        b: BlockInstance | None = blk
        while b is not None:
            inst = b.instance_of(decl)
            if isinstance(inst, ActionInstance):
                return inst
            b = b.block if b.inst_name is not None else None
        inst = self.global_actions.get(id(decl))
        if inst is None:
            inst = ActionInstance(
                name=decl.name,
                cp_name=control_plane_name(decl),
                annotations=list(decl.annotations),
                block=None,
                decl=decl,
            )
            self.global_actions[id(decl)] = inst
        return inst

    def resolve_table(self, t: TableInstance, env: _Env) -> None:
        """Fill in a table's keys, actions, default action, entries, size and externs."""
        blk = t.block
        assert blk is not None
        has_default = False
        for p in t.decl.properties:
            t.properties[p.name] = p
            if p.name == "key":
                for ke in p.value or ():
                    t.keys.append(KeyInstance(ke.expr, ke.match_kind, list(ke.annotations), ke))
            elif p.name == "actions":
                for ref in p.value or ():
                    act = self.action_instance(ref.expr, blk)
                    if act is None:
                        raise CompileError(ref.loc, "table action is not an action")
                    args = list(ref.expr.args) if isinstance(ref.expr, ast.Call) else []
                    t.actions.append(ActionRefInstance(act, list(ref.annotations), args))
            elif p.name == "default_action":
                has_default = True
                expr = p.value
                act = self.action_instance(expr, blk)
                if act is None:
                    raise CompileError(p.loc, "default_action is not an action")
                args = list(expr.args) if isinstance(expr, ast.Call) else []
                t.default_action = DefaultActionInstance(act, args, p.const)
            elif p.name == "entries":
                t.entries = list(p.value or ())
                t.entries_const = p.const
            elif p.name == "size":
                t.size = self.try_const(p.value, env)
            elif p.name in ("implementation", "counters", "meters"):
                ext = self.table_extern(t, p, env)
                setattr(t, p.name, ext)
            elif p.name == "support_timeout":
                t.support_timeout = self.try_const(p.value, env) is True
        if not has_default:
            noaction = self.lookup_global("NoAction", (ast.ActionDecl,))
            if noaction is not None:
                act = self.action_instance(ast.PathExpr("NoAction", decl=noaction), blk)
                assert act is not None
                if not any(r.action is act for r in t.actions):
                    t.actions.append(
                        ActionRefInstance(act, [ast.Annotation("defaultonly", exprs=[])], [])
                    )
                t.default_action = DefaultActionInstance(act, [], False, implicit=True)

    def table_extern(
        self, t: TableInstance, p: ast.TableProperty, env: _Env
    ) -> ExternInstance | None:
        """The extern a table property (``implementation``, ``counters``, ``meters``) names or
        constructs in place."""
        blk = t.block
        expr = p.value
        if isinstance(expr, (ast.ConstructorCall, ast.Call)):
            ctype = expr.ctype if isinstance(expr, ast.ConstructorCall) else None
            if ctype is None:
                tdecl = self.resolve(expr.func, blk, (ast.ExternDecl,))
                if tdecl is None:
                    return None
                ctype = ast.TypeName(tdecl.name, decl=tdecl)
                if expr.type_args:
                    ctype = ast.TypeSpecialized(ctype, list(expr.type_args))
            name = None
            for a in p.annotations:
                if a.name == "name":
                    name = annotation_string(a)
                    break
            ext = self.construct(
                ctype, expr.args, blk, env, name or p.name, expr, list(p.annotations)
            )
            if isinstance(ext, ExternInstance):
                ext.in_place = True
                # p4c names an in-place extern by the property's control-plane name, not
                # hierarchically: its @name, or else the property's own name.
                ext.cp_name = _strip_dot(name) if name else p.name
                ext.name = name or p.name
                return ext
            return None
        v = self.value(expr, blk, env, p.name)
        return v if isinstance(v, ExternInstance) else None

    # ---- usage -----------------------------------------------------------------------------

    def mark_used(self, blk: BlockInstance) -> None:
        """Mark what p4c's unused-declaration removal keeps in ``blk``: what the apply body (or
        the parser states) reaches, directly or through the properties of used tables."""
        decl = blk.decl
        refs: set[int] = set()
        names: set[str] = set()

        dead = _dead_calls(decl)

        def note(node: ast.Node) -> None:
            for n in live_walk(node, dead):
                if isinstance(n, ast.PathExpr):
                    if n.decl is not None:
                        refs.add(id(n.decl))
                    else:
                        names.add(n.name)

        if isinstance(decl, ast.ControlDecl):
            note(decl.body)
        else:
            for st in _kept_states(decl):
                note(st)
        for loc in decl.locals:
            if isinstance(loc, ast.Instantiation):
                for a in loc.args:
                    note(a)

        def referenced(d: ast.Node) -> bool:
            if id(d) in refs:
                return True
            return getattr(d, "name", None) in names

        changed = True
        while changed:
            changed = False
            for loc in blk.locals:
                if isinstance(loc, TableInstance) and not loc.used and referenced(loc.decl):
                    loc.used = True
                    changed = True
                    for p in loc.decl.properties:
                        if p.name not in ("actions", "default_action", "entries"):
                            v = p.value
                            for item in v if isinstance(v, list) else [v]:
                                if isinstance(item, ast.Node):
                                    note(item)
        for loc in blk.locals:
            if isinstance(loc, ExternInstance) and _declared_through_typedef(loc):
                # p4c removes such an instance like any unused declaration (it only keeps
                # instances whose type names an extern directly).
                loc.used = referenced(loc.node)
            elif isinstance(loc, ValueSetInstance):
                loc.used = referenced(loc.decl)
            elif isinstance(loc, BlockInstance) and not loc.direct:
                loc.used = isinstance(loc.node, ast.Instantiation) and referenced(loc.node)
        if isinstance(decl, ast.ControlDecl):
            for n in live_walk(decl.body):
                if not isinstance(n, ast.Call):
                    continue
                f = n.func
                if isinstance(f, ast.Member) and f.name == "apply":
                    target = blk.instance_of(n)
                    if target is None:
                        d = self.resolve(f.expr, blk, (ast.Instantiation, ast.TableDecl))
                        target = blk.instance_of(d) if d is not None else None
                    blk.calls.append(BodyCall("apply", n, target, blk))
                    continue
                if isinstance(f, ast.PathExpr):
                    d = self.resolve(f, blk, (ast.ActionDecl,))
                    if isinstance(d, ast.ActionDecl):
                        act = self.action_instance(n, blk)
                        if act is not None:
                            act.used = True
                            act.direct_calls += 1
                            blk.calls.append(BodyCall("action", n, act, blk))
                            continue
                blk.calls.append(BodyCall("call", n, None, blk))
        for loc in blk.locals:
            if isinstance(loc, TableInstance) and loc.used:
                for r in loc.actions:
                    r.action.used = True
                    r.action.table_refs += 1
                if loc.default_action is not None:
                    loc.default_action.action.used = True
                for e in loc.entries or ():
                    act = self.action_instance(e.action, blk)
                    if act is not None:
                        act.used = True

    # ---- driver ----------------------------------------------------------------------------

    def run(self) -> Elaboration:
        toplevel: list[Instance] = []
        global_externs: list[ExternInstance] = []
        main: PackageInstance | None = None
        for d in self.program.decls:
            if not isinstance(d, ast.Instantiation):
                continue
            inst = self.global_instance(d)
            if inst is None:
                continue
            toplevel.append(inst)
            if isinstance(inst, ExternInstance):
                global_externs.append(inst)
            if d.name == "main" and isinstance(inst, PackageInstance):
                main = inst
        elab = Elaboration(
            program=self.program,
            main=main,
            toplevel=toplevel,
            global_externs=global_externs,
            global_actions=self.global_actions,
            blocks=[],
            by_decl=self.global_instances,
        )
        if main is None:
            elab.toplevel = []
            elab.global_externs = []
            return elab
        # A global parser/control instance that main does not use is removed by p4c.
        used = {id(v) for v in main.args.values()}
        elab.toplevel = [
            t for t in toplevel
            if isinstance(t, ExternInstance) or t is main or id(t) in used
        ]
        elab.blocks = [x for x in elab.walk_blocks() if isinstance(x, BlockInstance)]
        return elab


def elaborate(program: ast.Program) -> Elaboration:
    """Instantiate ``main`` and everything it builds; see the module docstring."""
    return Elaborator(program).run()


# --------------------------------------------------------------------------------------------
# Small helpers


def _const_bool(e: Any) -> bool | None:
    """The value of a condition the checker can fold, else None."""
    if isinstance(e, ast.BoolLit):
        return e.value
    try:
        from .constfold import try_const_value
    except ImportError:  # pragma: no cover
        return None
    try:
        v = try_const_value(e)
    except Exception:  # noqa: BLE001 - folding is best effort here
        return None
    return v if isinstance(v, bool) else None


def live_walk(node: ast.Node, skip: set[int] | None = None) -> Iterator[ast.Node]:
    """Pre-order walk of ``node`` that skips code p4c's constant folding removes: the dead arm
    of an ``if`` or ``?:`` with a constant condition, the right side of ``false && x`` and
    ``true || x`` (and any node whose id is in ``skip``)."""
    stack: list[ast.Node] = [node]
    while stack:
        n = stack.pop()
        if skip and id(n) in skip:
            continue
        yield n
        if isinstance(n, ast.IfStmt):
            c = _const_bool(n.cond)
            if c is not None:
                live = n.then if c else n.else_
                if live is not None:
                    stack.append(live)
                continue
        elif isinstance(n, ast.Ternary):
            c = _const_bool(n.cond)
            if c is not None:
                stack.append(n.then if c else n.else_)
                continue
        elif isinstance(n, ast.Binary) and n.op in ("&&", "||"):
            c = _const_bool(n.left)
            if c is not None and c == (n.op == "||"):
                continue
        stack.extend(reversed(list(ast.iter_children(n))))


def _kept_states(decl: ast.ParserDecl) -> list[ast.ParserState]:
    """The parser states p4c keeps: it repeatedly drops states no kept state transitions to
    (``start``, ``accept`` and ``reject`` always stay)."""
    states = list(decl.states)
    always = {"start", "accept", "reject"}
    while True:
        targets: set[str] = set()
        for st in states:
            if st.transition is not None:
                for n in live_walk(st.transition):
                    if isinstance(n, ast.PathExpr):
                        targets.add(n.name)
        kept = [st for st in states if st.name in always or st.name in targets]
        if len(kept) == len(states):
            return states
        states = kept


def _declared_through_typedef(inst: ExternInstance) -> bool:
    node = inst.node
    if not isinstance(node, ast.Instantiation):
        return False
    t = node.itype
    if isinstance(t, ast.TypeSpecialized):
        t = t.base
    return isinstance(t, ast.TypeName) and isinstance(t.decl, ast.TypedefDecl)


def _dead_calls(decl: ast.ControlDecl | ast.ParserDecl) -> set[int]:
    """Ids of call statements p4c's def-use simplification deletes: a call of a
    ``@noSideEffects`` method whose ``out`` arguments are local variables nobody reads."""
    roots: list[ast.Node] = (
        [decl.body] if isinstance(decl, ast.ControlDecl) else list(decl.states)
    )
    uses: dict[int, int] = {}
    stmts: list[ast.CallStmt] = []
    for root in roots:
        for n in ast.walk(root):
            if isinstance(n, ast.PathExpr) and n.decl is not None:
                uses[id(n.decl)] = uses.get(id(n.decl), 0) + 1
            elif isinstance(n, ast.CallStmt) and isinstance(n.call, ast.Call):
                stmts.append(n)
    dead: set[int] = set()
    for st in stmts:
        call = st.call
        m = getattr(call.func, "decl", None)
        if not isinstance(m, ast.MethodDecl) or not ast.annotation(m, "noSideEffects"):
            continue
        ok = True
        for p, a in zip(m.params, call.args):
            if p.direction in ("out", "inout"):
                e = a.expr
                if not (isinstance(e, ast.PathExpr) and isinstance(e.decl, ast.VarDecl)):
                    ok = False
                    break
                if uses.get(id(e.decl), 0) > 1:
                    ok = False
                    break
        if ok and any(p.direction in ("out", "inout") for p in m.params):
            dead.add(id(st))
    return dead


def _uses_params(expr: Any, env: _Env) -> bool:
    """Whether ``expr`` names a constructor parameter bound in ``env``."""
    for n in ast.walk(expr):
        if isinstance(n, ast.PathExpr) and not n.global_:
            if isinstance(n.decl, ast.Parameter) or n.decl is None:
                try:
                    env.lookup(n.name)
                except KeyError:
                    continue
                return True
    return False


def _strip_dot(name: str) -> str:
    return name[1:] if name.startswith(".") else name


def _bits_size(t: Any) -> int | None:
    if isinstance(t, ast.TypeBits):
        return t.size
    if isinstance(t, ast.TypeBool):
        return None
    if isinstance(t, ast.TypeName):
        d = t.decl
        if isinstance(d, ast.TypedefDecl):
            return _bits_size(d.target)
    return None


def _is_signed(t: Any) -> bool:
    return isinstance(t, ast.TypeBits) and t.signed


def _wrap_signed(v: int, size: int) -> int:
    v &= (1 << size) - 1
    return v - (1 << size) if v >> (size - 1) else v


def binop(op: str, a: Any, b: Any) -> Any:
    if isinstance(a, bool) or isinstance(b, bool):
        if op == "&&":
            return a and b
        if op == "||":
            return a or b
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        return MISSING
    if not isinstance(a, int) or not isinstance(b, int):
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        return MISSING
    ops = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a // b,
        "%": lambda: a % b,
        "<<": lambda: a << b,
        ">>": lambda: a >> b,
        "&": lambda: a & b,
        "|": lambda: a | b,
        "^": lambda: a ^ b,
        "==": lambda: a == b,
        "!=": lambda: a != b,
        "<": lambda: a < b,
        ">": lambda: a > b,
        "<=": lambda: a <= b,
        ">=": lambda: a >= b,
    }
    f = ops.get(op)
    return f() if f is not None else MISSING
