"""The P4_16 abstract syntax tree.

Every node is a dataclass whose fields are, in order, its children and attributes, plus a ``loc``
(file, line, column) that every diagnostic names. The node set is declared once here; traversal
(:func:`iter_children`, :class:`Visitor`, :class:`Transformer`) and the JSON form used as the
embedded target's device config (:func:`to_json`, :func:`from_json`) are derived from the field
declarations, so a new node needs no hand-written twin anywhere else.

Fields named ``type`` on expressions, and ``decl`` on references, are filled in by the type checker
(``None`` straight from the parser). ``decl`` is not serialised; it is a back-pointer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import Loc

# Fields that are filled in by later passes and must not be treated as children or serialised.
_NON_CHILD_FIELDS = frozenset({"loc", "decl"})


@dataclass(eq=False)
class Node:
    """Base of every syntax tree node."""

    loc: Loc | None = field(default=None, kw_only=True, repr=False, compare=False)

    kind: ClassVar[str] = "Node"

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.kind = cls.__name__
        _NODE_CLASSES[cls.__name__] = cls


_NODE_CLASSES: dict[str, type[Node]] = {}


# --------------------------------------------------------------------------------------------
# Annotations


@dataclass(eq=False)
class Annotation(Node):
    """``@name``, ``@name(expr, ...)``, ``@name[k=v, ...]`` or an unstructured ``@name(tokens)``.

    ``body`` keeps the raw token text of the parenthesised body (what P4Info prints); ``exprs``
    holds parsed expressions for structured and well-known annotations, ``kvs`` key-value pairs.
    ``structured`` is True for the ``[...]`` form.
    """

    name: str
    body: str | None = None
    exprs: list[Expr] | None = None
    kvs: list[KeyValue] | None = None
    structured: bool = False
    # The ``@pragma name ...`` spelling keeps the words after the name here.
    pragma: bool = False


@dataclass(eq=False)
class KeyValue(Node):
    key: str
    value: Expr


# --------------------------------------------------------------------------------------------
# Types


class Type(Node):
    """Base of type syntax; the checker also uses these nodes as canonical types."""


@dataclass(eq=False)
class TypeBool(Type):
    pass


@dataclass(eq=False)
class TypeErrorT(Type):
    """The ``error`` type."""


@dataclass(eq=False)
class TypeMatchKind(Type):
    pass


@dataclass(eq=False)
class TypeString(Type):
    pass


@dataclass(eq=False)
class TypeVoid(Type):
    pass


@dataclass(eq=False)
class TypeDontCare(Type):
    """``_`` in a type argument position: a type the checker infers."""


@dataclass(eq=False)
class TypeInfInt(Type):
    """The type of an integer literal without a width (``int``)."""


@dataclass(eq=False)
class TypeBits(Type):
    """``bit<W>`` (signed=False) or ``int<W>`` (signed=True). ``width`` is an expression until the
    checker folds it; ``size`` is the folded width."""

    width: Expr | None = None
    signed: bool = False
    size: int | None = None


@dataclass(eq=False)
class TypeVarbit(Type):
    width: Expr | None = None
    size: int | None = None


@dataclass(eq=False)
class TypeName(Type):
    """A named type; ``global_`` for a leading-dot path (``.T``)."""

    name: str
    global_: bool = False
    decl: Node | None = field(default=None, repr=False, compare=False)


@dataclass(eq=False)
class TypeSpecialized(Type):
    """``Base<Arg, ...>``."""

    base: TypeName
    args: list[Type]


@dataclass(eq=False)
class TypeStack(Type):
    """``T[size]`` header stack."""

    elem: Type
    size_expr: Expr | None = None
    size: int | None = None


@dataclass(eq=False)
class TypeTuple(Type):
    args: list[Type]


@dataclass(eq=False)
class TypeList(Type):
    """``list<T>`` (P4_16 1.2.4)."""

    elem: Type


# --------------------------------------------------------------------------------------------
# Expressions


class Expr(Node):
    """Base of expressions. ``type`` is set by the type checker."""


@dataclass(eq=False)
class IntLit(Expr):
    """An integer literal. ``width``/``signed`` come from a ``8w``/``8s`` prefix; ``text`` keeps
    the spelling (P4Info prints const-entry values from the value, but errors quote the text)."""

    value: int
    width: int | None = None
    signed: bool = False
    text: str = ""
    type: Type | None = None


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool
    type: Type | None = None


@dataclass(eq=False)
class StringLit(Expr):
    value: str
    type: Type | None = None


@dataclass(eq=False)
class PathExpr(Expr):
    """A name in expression position; ``global_`` for ``.name``."""

    name: str
    global_: bool = False
    type: Type | None = None
    decl: Node | None = field(default=None, repr=False, compare=False)


@dataclass(eq=False)
class This(Expr):
    """``this`` inside an abstract method implementation."""

    type: Type | None = None


@dataclass(eq=False)
class Member(Expr):
    """``expr.name``. Also used for ``error.X``, ``Enum.X`` and ``T.minSizeInBits`` forms."""

    expr: Expr
    name: str
    type: Type | None = None
    decl: Node | None = field(default=None, repr=False, compare=False)


@dataclass(eq=False)
class Index(Expr):
    """``expr[index]`` (stacks, tuples)."""

    expr: Expr
    index: Expr
    type: Type | None = None


@dataclass(eq=False)
class Slice(Expr):
    """``expr[hi:lo]``."""

    expr: Expr
    hi: Expr
    lo: Expr
    type: Type | None = None


@dataclass(eq=False)
class PlusSlice(Expr):
    """``expr[base +: width]``: ``width`` bits starting at bit ``base`` (P4_16 1.2.4); ``width``
    must be a compile-time constant, ``base`` need not be."""

    expr: Expr
    base: Expr
    width: Expr
    type: Type | None = None


@dataclass(eq=False)
class Dots(Expr):
    """``...``: "the rest, default-initialised". Alone (``x = ...;``) it is the default value of
    the target type; as the last item of a list (``{2, ...}``) it fills the remaining fields.
    (In a named-field initializer the parser sets :attr:`StructExpr.dots` instead.)"""

    type: Type | None = None


@dataclass(eq=False)
class Unary(Expr):
    """``op`` is one of ``!``, ``~``, ``-``, ``+``."""

    op: str
    expr: Expr
    type: Type | None = None


@dataclass(eq=False)
class Binary(Expr):
    """``op`` is the operator's spelling: ``* / % + - |+| |-| << >> <= >= < > != == & ^ | ++
    && ||``."""

    op: str
    left: Expr
    right: Expr
    type: Type | None = None


@dataclass(eq=False)
class Ternary(Expr):
    cond: Expr
    then: Expr
    else_: Expr
    type: Type | None = None


@dataclass(eq=False)
class Cast(Expr):
    """``(T) expr``."""

    to: Type
    expr: Expr
    type: Type | None = None


@dataclass(eq=False)
class Argument(Node):
    """A call argument; ``name`` for named arguments (``f(x = 1)``). ``expr`` is None for ``_``
    (don't care) only when written as a bare ``_``; that is a :class:`DontCare` expression."""

    expr: Expr
    name: str | None = None


@dataclass(eq=False)
class Call(Expr):
    """``func<type_args>(args)``: function, method, action, extern method or ``apply`` call."""

    func: Expr
    type_args: list[Type]
    args: list[Argument]
    type: Type | None = None


@dataclass(eq=False)
class ConstructorCall(Expr):
    """``T(args)`` where T names a type: an extern or a parser/control/package constructor used as
    an argument (``V1Switch(MyParser(), ...)``)."""

    ctype: Type
    args: list[Argument]
    type: Type | None = None


@dataclass(eq=False)
class ListExpr(Expr):
    """``{a, b, c}`` (tuple / list / struct initializer by position), or with ``ctype`` the typed
    form ``(T){...}`` once the checker knows it."""

    items: list[Expr]
    ctype: Type | None = None
    type: Type | None = None


@dataclass(eq=False)
class NamedExpr(Node):
    name: str
    expr: Expr


@dataclass(eq=False)
class StructExpr(Expr):
    """``{a = 1, b = 2}``; ``ctype`` for ``T {a = 1, ...}``. ``dots`` for a trailing ``...``."""

    fields: list[NamedExpr]
    ctype: Type | None = None
    dots: bool = False
    type: Type | None = None


@dataclass(eq=False)
class InvalidHeader(Expr):
    """``{#}``: the invalid header (or header union) value."""

    type: Type | None = None


@dataclass(eq=False)
class DontCare(Expr):
    """``_`` as an expression (out argument or keyset wildcard)."""

    type: Type | None = None


@dataclass(eq=False)
class Default(Expr):
    """``default`` as a keyset."""

    type: Type | None = None


@dataclass(eq=False)
class Mask(Expr):
    """``value &&& mask`` in a keyset."""

    value: Expr
    mask: Expr
    type: Type | None = None


@dataclass(eq=False)
class Range(Expr):
    """``lo .. hi`` in a keyset."""

    lo: Expr
    hi: Expr
    type: Type | None = None


@dataclass(eq=False)
class TypeExpr(Expr):
    """A type in expression position, e.g. the ``bit<8>`` in ``bit<8>.minSizeInBits()`` or a
    type argument written where an expression was expected."""

    ctype: Type
    type: Type | None = None


# --------------------------------------------------------------------------------------------
# Statements


class Stmt(Node):
    """Base of statements."""


@dataclass(eq=False)
class AssignStmt(Stmt):
    """``lhs = rhs``; ``op`` is ``=`` or a compound operator such as ``+=``, ``|+|=``, ``<<=``."""

    lhs: Expr
    rhs: Expr
    op: str = "="


@dataclass(eq=False)
class CallStmt(Stmt):
    call: Call | ConstructorCall


@dataclass(eq=False)
class ReturnStmt(Stmt):
    expr: Expr | None = None


@dataclass(eq=False)
class ExitStmt(Stmt):
    pass


@dataclass(eq=False)
class EmptyStmt(Stmt):
    pass


@dataclass(eq=False)
class BreakStmt(Stmt):
    pass


@dataclass(eq=False)
class ContinueStmt(Stmt):
    pass


@dataclass(eq=False)
class BlockStmt(Stmt):
    stmts: list[Node]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class IfStmt(Stmt):
    cond: Expr
    then: Stmt
    else_: Stmt | None = None


@dataclass(eq=False)
class SwitchCase(Node):
    """A case of a switch statement. ``label`` is an expression (action name path, or a value), or
    :class:`Default`. ``body`` is None for a fall-through label (``a:`` with no block)."""

    label: Expr
    body: BlockStmt | None


@dataclass(eq=False)
class SwitchStmt(Stmt):
    expr: Expr
    cases: list[SwitchCase]


@dataclass(eq=False)
class ForStmt(Stmt):
    """``for (init; cond; updates) body``."""

    init: list[Node]
    cond: Expr | None
    updates: list[Stmt]
    body: Stmt
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ForInStmt(Stmt):
    """``for (T x in collection) body`` or ``for (x in collection) body`` (``var_type`` None)."""

    var_type: Type | None
    var: str
    collection: Expr
    body: Stmt
    annotations: list[Annotation] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Declarations


class Decl(Node):
    """Base of declarations. Every declaration has ``name`` and ``annotations``."""

    name: str
    annotations: list[Annotation]


@dataclass(eq=False)
class Parameter(Node):
    """``direction`` is ``""`` (directionless), ``in``, ``out`` or ``inout``."""

    direction: str
    ptype: Type
    name: str
    default: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class TypeParam(Node):
    name: str


@dataclass(eq=False)
class ConstDecl(Decl):
    ctype: Type
    name: str
    value: Expr
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class VarDecl(Decl):
    """A variable declaration (also usable as a statement)."""

    vtype: Type
    name: str
    init: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class TypedefDecl(Decl):
    """``typedef T name;`` or, with ``newtype``, ``type T name;``."""

    target: Type
    name: str
    newtype: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class StructField(Node):
    ftype: Type
    name: str
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class StructDecl(Decl):
    """``header``, ``header_union`` or ``struct`` (see ``flavor``)."""

    flavor: str
    name: str
    type_params: list[TypeParam]
    fields: list[StructField]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class EnumMember(Node):
    name: str
    value: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class EnumDecl(Decl):
    """``enum name {...}`` or the serializable ``enum bit<8> name { A = 1, ... }``."""

    name: str
    members: list[EnumMember]
    underlying: Type | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ErrorDecl(Decl):
    """``error { ... }``; several of these merge into the one error type."""

    members: list[str]
    name: str = "error"
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class MatchKindDecl(Decl):
    members: list[str]
    name: str = "match_kind"
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class MethodDecl(Decl):
    """A method prototype inside an extern. A constructor has ``rtype`` None and the extern's
    name; ``abstract`` marks methods a user must implement at instantiation."""

    rtype: Type | None
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    abstract: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ExternDecl(Decl):
    name: str
    type_params: list[TypeParam]
    methods: list[MethodDecl]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ExternFunctionDecl(Decl):
    """``extern R f<T>(params);``"""

    rtype: Type
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class FunctionDecl(Decl):
    rtype: Type
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    body: BlockStmt
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ActionDecl(Decl):
    name: str
    params: list[Parameter]
    body: BlockStmt
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ParserTypeDecl(Decl):
    """``parser P<T>(params);`` (a parser type, no body)."""

    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ControlTypeDecl(Decl):
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class PackageTypeDecl(Decl):
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class SelectCase(Node):
    """``keyset : state``; ``keyset`` is an expression, :class:`ListExpr` for tuples, or
    :class:`Default` / :class:`DontCare`."""

    keyset: Expr
    state: PathExpr


@dataclass(eq=False)
class SelectExpr(Expr):
    """``select (keys) { cases }``."""

    keys: list[Expr]
    cases: list[SelectCase]
    type: Type | None = None


@dataclass(eq=False)
class ParserState(Decl):
    """A parser state; ``transition`` is a :class:`PathExpr` naming the next state, a
    :class:`SelectExpr`, or None (only ``accept``/``reject``, which the checker adds)."""

    name: str
    stmts: list[Node]
    transition: Expr | None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ValueSetDecl(Decl):
    """``value_set<T>(size) name;``"""

    elem: Type
    size: Expr
    name: str
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class Instantiation(Decl):
    """``T(args) name;`` or ``T(args) name = { abstract method implementations };``"""

    itype: Type
    args: list[Argument]
    name: str
    initializer: list[Node] | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ParserDecl(Decl):
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    ctor_params: list[Parameter]
    locals: list[Node]
    states: list[ParserState]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ActionRef(Node):
    """An entry of a table's ``actions`` list: a name or a call with bound arguments."""

    expr: Expr
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class KeyElement(Node):
    expr: Expr
    match_kind: str
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class Entry(Node):
    """An entry of ``entries``/``const entries``. ``keyset`` is a list (one expression per key);
    ``priority`` the explicit ``priority = N:`` if written."""

    keyset: list[Expr]
    action: Expr
    priority: Expr | None = None
    const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class TableProperty(Node):
    """A table property. ``key`` holds :class:`KeyElement` s, ``actions`` :class:`ActionRef` s,
    ``entries`` :class:`Entry` s; other properties keep their value expression in ``value``."""

    name: str
    value: Any = None
    const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class TableDecl(Decl):
    name: str
    properties: list[TableProperty]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ControlDecl(Decl):
    name: str
    type_params: list[TypeParam]
    params: list[Parameter]
    ctor_params: list[Parameter]
    locals: list[Node]
    body: BlockStmt
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class Program(Node):
    decls: list[Node]


# --------------------------------------------------------------------------------------------
# Traversal


def child_fields(node: Node) -> Iterator[tuple[str, Any]]:
    """The (name, value) pairs of a node's fields, in declaration order, without ``loc``/``decl``."""
    for f in dataclasses.fields(node):
        if f.name not in _NON_CHILD_FIELDS:
            yield f.name, getattr(node, f.name)


def iter_children(node: Node) -> Iterator[Node]:
    """Every direct child node, in source order (lists flattened)."""
    for _, value in child_fields(node):
        if isinstance(value, Node):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(node: Node) -> Iterator[Node]:
    """Pre-order traversal of ``node`` and all its descendants."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(iter_children(n))))


class Visitor:
    """Calls ``visit_<Kind>`` for each node, falling back to :meth:`generic_visit`."""

    def visit(self, node: Node) -> Any:
        method = getattr(self, "visit_" + node.kind, None)
        if method is None:
            return self.generic_visit(node)
        return method(node)

    def generic_visit(self, node: Node) -> None:
        for child in iter_children(node):
            self.visit(child)


class Transformer(Visitor):
    """A visitor whose ``visit_*`` methods return a replacement node (or the same node)."""

    def generic_visit(self, node: Node) -> Node:  # type: ignore[override]
        for name, value in child_fields(node):
            if isinstance(value, Node):
                setattr(node, name, self.visit(value))
            elif isinstance(value, list) and any(isinstance(v, Node) for v in value):
                setattr(node, name, [self.visit(v) if isinstance(v, Node) else v for v in value])
        return node


def annotation(node: Node, name: str) -> Annotation | None:
    """The annotation ``@name`` on ``node``, if any."""
    for a in getattr(node, "annotations", None) or ():
        if a.name == name:
            return a
    return None


# --------------------------------------------------------------------------------------------
# JSON form (the device config of the embedded target)


def to_json(node: Any) -> Any:
    """A JSON-ready structure for ``node``: ``{"kind": ..., fields..., "loc": [file, line, col]}``."""
    if isinstance(node, Node):
        out: dict[str, Any] = {"kind": node.kind}
        for name, value in child_fields(node):
            out[name] = to_json(value)
        if node.loc is not None:
            out["loc"] = [node.loc.file, node.loc.line, node.loc.col]
        return out
    if isinstance(node, list):
        return [to_json(v) for v in node]
    if isinstance(node, tuple):
        return [to_json(v) for v in node]
    return node


def from_json(data: Any) -> Any:
    """Rebuild nodes from :func:`to_json` output."""
    if isinstance(data, dict) and "kind" in data:
        cls = _NODE_CLASSES[data["kind"]]
        kwargs = {}
        names = {f.name for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key == "kind":
                continue
            if key == "loc":
                kwargs["loc"] = Loc(value[0], value[1], value[2])
            elif key in names:
                kwargs[key] = from_json(value)
        return cls(**kwargs)
    if isinstance(data, list):
        return [from_json(v) for v in data]
    return data
