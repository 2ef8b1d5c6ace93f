"""Canonical types and the questions later passes ask about them.

The type checker gives every expression a *canonical* type (``expr.type``), built from the same
nodes as type syntax but normalised:

* ``TypeBits(size=N, signed=...)`` / ``TypeVarbit(size=N)`` with the width folded (``width`` None);
* ``TypeBool()``, ``TypeInfInt()`` (unsized ``int``), ``TypeString()``, ``TypeErrorT()``,
  ``TypeMatchKind()``, ``TypeVoid()``, ``TypeDontCare()`` (``_`` / not yet known);
* ``TypeName(name, decl=D)`` for named types. Typedefs are followed to what they name; ``type``
  (newtype) declarations stay a ``TypeName`` whose ``decl`` is the :class:`TypedefDecl`. ``D`` is
  otherwise a struct/header/union, enum, extern, parser/control/package type, parser or control
  declaration, or a :class:`TypeParam` inside generic code. References to callables and tables
  use the same form with the callable's declaration (``ActionDecl``, ``FunctionDecl``,
  ``MethodDecl``, ``TableDecl``, ``ParserState``...);
* ``TypeSpecialized(base=TypeName(..., decl=D), args=[canonical...])`` for generic instances;
* ``TypeStack(elem, size=N)``, ``TypeTuple(args)``, ``TypeList(elem)``.

Canonical nodes are never the declaration's own syntax, so walking an expression's ``type`` never
reaches declaration-side width expressions. They may be shared between expressions (every use of
a variable carries the same type object): treat them as immutable.

:func:`resolve_type` turns checked type *syntax* (a field's ``ftype``, a parameter's ``ptype``)
into the canonical form, so consumers can ask :func:`width_of`, :func:`fields_of`, ... about
either.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ast

Subst = Mapping[ast.Node, ast.Type]

# Declarations that introduce a type name.
TYPE_DECLS: tuple[type, ...] = (
    ast.StructDecl,
    ast.EnumDecl,
    ast.TypedefDecl,
    ast.ExternDecl,
    ast.ParserTypeDecl,
    ast.ControlTypeDecl,
    ast.PackageTypeDecl,
    ast.ParserDecl,
    ast.ControlDecl,
    ast.TypeParam,
)


# --------------------------------------------------------------------------------------------
# Constructors


def bits(size: int, signed: bool = False) -> ast.TypeBits:
    """A canonical ``bit<size>`` (or ``int<size>`` when ``signed``)."""
    return ast.TypeBits(width=None, signed=signed, size=size)


def named(decl: ast.Node, name: str | None = None) -> ast.TypeName:
    """A canonical reference to the type (or callable) declared by ``decl``."""
    return ast.TypeName(name if name is not None else getattr(decl, "name", "?"), decl=decl)


_SIMPLE = (
    ast.TypeBool,
    ast.TypeErrorT,
    ast.TypeMatchKind,
    ast.TypeString,
    ast.TypeVoid,
    ast.TypeDontCare,
    ast.TypeInfInt,
)


# --------------------------------------------------------------------------------------------
# Resolution of checked syntax into canonical form


def resolve_type(t: ast.Type, subst: Subst | None = None) -> ast.Type:
    """The canonical form of ``t`` (checked syntax or already canonical).

    Typedefs are followed; newtypes are kept. ``subst`` maps :class:`TypeParam` declarations to
    the types they stand for (generic instantiation). Syntax the checker could not resolve (only
    possible in a program that failed to check) comes back as ``TypeDontCare``.
    """
    if isinstance(t, ast.TypeBits):
        if t.size is None:
            if t.width is None:
                return ast.TypeBits(width=None, signed=t.signed, size=1)
            return ast.TypeDontCare()
        return ast.TypeBits(width=None, signed=t.signed, size=t.size)
    if isinstance(t, ast.TypeName):
        d = t.decl
        if d is None:
            return ast.TypeDontCare()
        if isinstance(d, ast.TypedefDecl) and not d.newtype:
            return resolve_type(d.target, subst)
        if isinstance(d, ast.TypeParam) and subst is not None and d in subst:
            return subst[d]
        if isinstance(d, ast.ErrorDecl):
            return ast.TypeErrorT()
        if isinstance(d, ast.MatchKindDecl):
            return ast.TypeMatchKind()
        return ast.TypeName(t.name if isinstance(d, ast.TypeParam) else d.name, decl=d)
    if isinstance(t, _SIMPLE):
        return type(t)()
    if isinstance(t, ast.TypeVarbit):
        if t.size is None:
            return ast.TypeDontCare()
        return ast.TypeVarbit(width=None, size=t.size)
    if isinstance(t, ast.TypeSpecialized):
        base = resolve_type(t.base, subst)
        args = [resolve_type(a, subst) for a in t.args]
        if not isinstance(base, ast.TypeName):  # unresolved, or a typedef of a specialization
            return base
        return ast.TypeSpecialized(base=base, args=args)
    if isinstance(t, ast.TypeStack):
        if t.size is None:
            return ast.TypeDontCare()
        return ast.TypeStack(elem=resolve_type(t.elem, subst), size_expr=None, size=t.size)
    if isinstance(t, ast.TypeTuple):
        return ast.TypeTuple(args=[resolve_type(a, subst) for a in t.args])
    if isinstance(t, ast.TypeList):
        return ast.TypeList(elem=resolve_type(t.elem, subst))
    raise ValueError(f"not a type: {t!r}")


def substitute(t: ast.Type, subst: Subst) -> ast.Type:
    """Replace type variables in canonical type ``t`` by their bindings in ``subst``."""
    if not subst:
        return t
    if isinstance(t, ast.TypeName):
        if isinstance(t.decl, ast.TypeParam) and t.decl in subst:
            return subst[t.decl]
        return t
    if isinstance(t, ast.TypeSpecialized):
        return ast.TypeSpecialized(base=t.base, args=[substitute(a, subst) for a in t.args])
    if isinstance(t, ast.TypeStack):
        return ast.TypeStack(elem=substitute(t.elem, subst), size_expr=None, size=t.size)
    if isinstance(t, ast.TypeTuple):
        return ast.TypeTuple(args=[substitute(a, subst) for a in t.args])
    if isinstance(t, ast.TypeList):
        return ast.TypeList(elem=substitute(t.elem, subst))
    return t


def type_vars_in(t: ast.Type, out: set[ast.Node] | None = None) -> set[ast.Node]:
    """The :class:`TypeParam` declarations referenced by canonical type ``t``."""
    if out is None:
        out = set()
    if isinstance(t, ast.TypeName):
        if isinstance(t.decl, ast.TypeParam):
            out.add(t.decl)
    elif isinstance(t, ast.TypeSpecialized):
        for a in t.args:
            type_vars_in(a, out)
    elif isinstance(t, ast.TypeStack):
        type_vars_in(t.elem, out)
    elif isinstance(t, ast.TypeTuple):
        for a in t.args:
            type_vars_in(a, out)
    elif isinstance(t, ast.TypeList):
        type_vars_in(t.elem, out)
    return out


# --------------------------------------------------------------------------------------------
# Questions


def type_decl(t: ast.Type | None) -> ast.Node | None:
    """The declaration behind a named or specialized canonical type, else None."""
    if isinstance(t, ast.TypeSpecialized):
        t = t.base
    if isinstance(t, ast.TypeName):
        return t.decl
    return None


def strip_newtype(t: ast.Type) -> ast.Type:
    """``t`` with ``type`` (newtype) wrappers removed."""
    seen = 0
    while isinstance(t, ast.TypeName) and isinstance(t.decl, ast.TypedefDecl) and seen < 64:
        t = resolve_type(t.decl.target)
        seen += 1
    return t


def _struct(t: ast.Type | None, flavor: str | None = None) -> ast.StructDecl | None:
    d = type_decl(t)
    if isinstance(d, ast.StructDecl) and (flavor is None or d.flavor == flavor):
        return d
    return None


def is_header(t: ast.Type | None) -> bool:
    """True for a header type."""
    return _struct(t, "header") is not None


def is_header_union(t: ast.Type | None) -> bool:
    """True for a header_union type."""
    return _struct(t, "header_union") is not None


def is_struct(t: ast.Type | None) -> bool:
    """True for a struct type (not header / header_union)."""
    return _struct(t, "struct") is not None


def is_struct_like(t: ast.Type | None) -> bool:
    """True for struct, header and header_union types."""
    return _struct(t) is not None


def is_stack(t: ast.Type | None) -> bool:
    """True for a header stack / array type ``T[N]``."""
    return isinstance(t, ast.TypeStack)


def is_enum(t: ast.Type | None) -> bool:
    """True for any enum type."""
    return isinstance(type_decl(t), ast.EnumDecl)


def is_serializable_enum(t: ast.Type | None) -> bool:
    """True for ``enum bit<W> E {...}``."""
    d = type_decl(t)
    return isinstance(d, ast.EnumDecl) and d.underlying is not None


def is_extern(t: ast.Type | None) -> bool:
    """True for an extern object type."""
    return isinstance(type_decl(t), ast.ExternDecl)


def is_newtype(t: ast.Type | None) -> bool:
    """True for a ``type`` (newtype) declaration's type."""
    d = type_decl(t)
    return isinstance(d, ast.TypedefDecl) and d.newtype


def is_type_var(t: ast.Type | None) -> bool:
    """True for an (unbound) type parameter."""
    return isinstance(t, ast.TypeName) and isinstance(t.decl, ast.TypeParam)


def is_numeric(t: ast.Type | None) -> bool:
    """bit<W>, int<W> or the unsized int."""
    return isinstance(t, (ast.TypeBits, ast.TypeInfInt))


def enum_underlying(t: ast.Type) -> ast.Type | None:
    """The underlying canonical type of a serializable enum, else None."""
    d = type_decl(t)
    if isinstance(d, ast.EnumDecl) and d.underlying is not None:
        return resolve_type(d.underlying)
    return None


def struct_subst(t: ast.Type) -> dict[ast.Node, ast.Type]:
    """Type-parameter bindings of a specialized generic type (empty otherwise)."""
    if isinstance(t, ast.TypeSpecialized):
        d = t.base.decl
        params = getattr(d, "type_params", None) or []
        return {p: a for p, a in zip(params, t.args)}
    return {}


def fields_of(t: ast.Type) -> list[tuple[str, ast.Type, ast.StructField]]:
    """``(name, canonical type, field declaration)`` for each field of a struct-like type."""
    d = _struct(t)
    if d is None:
        return []
    sub = struct_subst(t)
    return [(f.name, resolve_type(f.ftype, sub or None), f) for f in d.fields]


def field_of(t: ast.Type, name: str) -> tuple[ast.Type, ast.StructField] | None:
    """The canonical type and declaration of field ``name`` of a struct-like type."""
    d = _struct(t)
    if d is None:
        return None
    for f in d.fields:
        if f.name == name:
            sub = struct_subst(t)
            return resolve_type(f.ftype, sub or None), f
    return None


def type_eq(a: ast.Type | None, b: ast.Type | None) -> bool:
    """Structural equality of canonical types."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.TypeBits):
        return a.size == b.size and a.signed == b.signed  # type: ignore[union-attr]
    if isinstance(a, ast.TypeVarbit):
        return a.size == b.size  # type: ignore[union-attr]
    if isinstance(a, ast.TypeName):
        return a.decl is b.decl and (a.decl is not None or a.name == b.name)  # type: ignore
    if isinstance(a, ast.TypeSpecialized):
        return (
            a.base.decl is b.base.decl  # type: ignore[union-attr]
            and len(a.args) == len(b.args)  # type: ignore[union-attr]
            and all(type_eq(x, y) for x, y in zip(a.args, b.args))  # type: ignore[union-attr]
        )
    if isinstance(a, ast.TypeStack):
        return a.size == b.size and type_eq(a.elem, b.elem)  # type: ignore[union-attr]
    if isinstance(a, ast.TypeTuple):
        return len(a.args) == len(b.args) and all(  # type: ignore[union-attr]
            type_eq(x, y)
            for x, y in zip(a.args, b.args)  # type: ignore[union-attr]
        )
    if isinstance(a, ast.TypeList):
        return type_eq(a.elem, b.elem)  # type: ignore[union-attr]
    return True  # the simple types


def type_str(t: ast.Type | None) -> str:
    """P4 spelling of a canonical (or checked) type, for messages."""
    if t is None:
        return "?"
    if isinstance(t, ast.TypeBits):
        size = t.size if t.size is not None else "?"
        return f"{'int' if t.signed else 'bit'}<{size}>"
    if isinstance(t, ast.TypeVarbit):
        return f"varbit<{t.size if t.size is not None else '?'}>"
    if isinstance(t, ast.TypeBool):
        return "bool"
    if isinstance(t, ast.TypeInfInt):
        return "int"
    if isinstance(t, ast.TypeString):
        return "string"
    if isinstance(t, ast.TypeErrorT):
        return "error"
    if isinstance(t, ast.TypeMatchKind):
        return "match_kind"
    if isinstance(t, ast.TypeVoid):
        return "void"
    if isinstance(t, ast.TypeDontCare):
        return "_"
    if isinstance(t, ast.TypeName):
        return t.name
    if isinstance(t, ast.TypeSpecialized):
        return f"{t.base.name}<{', '.join(type_str(a) for a in t.args)}>"
    if isinstance(t, ast.TypeStack):
        return f"{type_str(t.elem)}[{t.size if t.size is not None else '?'}]"
    if isinstance(t, ast.TypeTuple):
        return f"tuple<{', '.join(type_str(a) for a in t.args)}>"
    if isinstance(t, ast.TypeList):
        return f"list<{type_str(t.elem)}>"
    return t.kind


def describe_type(t: ast.Type | None) -> str:
    """Like :func:`type_str`, prefixed with the kind for struct-like and enum types."""
    d = type_decl(t)
    if isinstance(d, ast.StructDecl):
        return f"{d.flavor} {type_str(t)}"
    if isinstance(d, ast.EnumDecl):
        return f"enum {type_str(t)}"
    if isinstance(d, ast.ExternDecl):
        return f"extern {type_str(t)}"
    if isinstance(d, (ast.ParserDecl, ast.ParserTypeDecl)):
        return f"parser {type_str(t)}"
    if isinstance(d, (ast.ControlDecl, ast.ControlTypeDecl)):
        return f"control {type_str(t)}"
    if isinstance(d, ast.PackageTypeDecl):
        return f"package {type_str(t)}"
    return type_str(t)


# --------------------------------------------------------------------------------------------
# Sizes


class NoWidth(ValueError):
    """The type has no bit width (extern, string, non-serializable enum, ...)."""


def width_of(t: ast.Type) -> int:
    """The width in bits of a (canonical or checked) type.

    ``bool`` is 1, ``bit<W>``/``int<W>`` W, ``varbit<W>`` W (its maximum), a serializable enum
    its underlying width, a newtype its underlying width, a header or struct the sum of its
    fields, a header_union its widest member, a stack ``size * elem`` and a tuple the sum of its
    components. Raises :class:`NoWidth` for types that have no width.
    """
    return _size(resolve_type(t), True)


def min_size_in_bits(t: ast.Type) -> int:
    """``minSizeInBits()``: like :func:`width_of` but a varbit field counts 0."""
    return _size(resolve_type(t), False)


def max_size_in_bits(t: ast.Type) -> int:
    """``maxSizeInBits()``: a varbit field counts its maximum width."""
    return _size(resolve_type(t), True)


def _size(t: ast.Type, use_max: bool) -> int:
    if isinstance(t, ast.TypeBits):
        return t.size or 0
    if isinstance(t, ast.TypeBool):
        return 1
    if isinstance(t, ast.TypeVarbit):
        return (t.size or 0) if use_max else 0
    if isinstance(t, ast.TypeStack):
        return (t.size or 0) * _size(t.elem, use_max)
    if isinstance(t, ast.TypeTuple):
        return sum(_size(a, use_max) for a in t.args)
    d = type_decl(t)
    if isinstance(d, ast.EnumDecl):
        if d.underlying is None:
            raise NoWidth(f"enum {d.name} has no width")
        return _size(resolve_type(d.underlying), use_max)
    if isinstance(d, ast.TypedefDecl):
        return _size(resolve_type(d.target), use_max)
    if isinstance(d, ast.StructDecl):
        sizes = [_size(ft, use_max) for _, ft, _ in fields_of(t)]
        if d.flavor == "header_union":
            return max(sizes, default=0)
        return sum(sizes)
    raise NoWidth(f"type {type_str(t)} has no width")


def is_fixed_width(t: ast.Type) -> bool:
    """True when every bit of the type is fixed (no varbit inside) and it has a width."""
    try:
        return _size(resolve_type(t), True) == _size(resolve_type(t), False)
    except NoWidth:
        return False


def has_varbit(t: ast.Type) -> bool:
    """True when a value of ``t`` has no fixed width (varbit fields, header unions)."""
    if isinstance(t, (ast.TypeVarbit,)) or is_header_union(t):
        return True
    if isinstance(t, ast.TypeStack):
        return has_varbit(t.elem)
    if isinstance(t, ast.TypeTuple):
        return any(has_varbit(a) for a in t.args)
    if is_struct_like(t):
        return any(isinstance(ft, ast.TypeVarbit) for _, ft, _ in fields_of(t))
    return False


def contains_infint(t: ast.Type) -> bool:
    """True when ``t`` is or contains the unsized ``int``."""
    if isinstance(t, ast.TypeInfInt):
        return True
    if isinstance(t, ast.TypeTuple):
        return any(contains_infint(a) for a in t.args)
    return False
