"""Lexical scopes and the built-in declarations the type checker resolves names to.

A :class:`Scope` maps names to the declarations made in it, in program order; lookups walk
outwards through the enclosing scopes (a dict probe per level, so lookups never scan). P4 has one
namespace for types and values; a lookup in type position skips non-type declarations, as p4c
does. Several declarations may share a name only where P4 allows overloading (functions, extern
functions, methods, constructors: overloads are told apart by argument count and names).
"""

from __future__ import annotations

from . import ast
from . import types as T


class Scope:
    """One level of names. ``kind`` documents what opened it (``program``, ``control``, ...)."""

    __slots__ = ("parent", "names", "kind", "owner")

    def __init__(self, parent: Scope | None, kind: str, owner: ast.Node | None = None):
        self.parent = parent
        self.kind = kind
        self.owner = owner
        self.names: dict[str, list[ast.Node]] = {}

    def add(self, name: str, decl: ast.Node) -> None:
        """Declare ``name`` here (overloads append)."""
        lst = self.names.get(name)
        if lst is None:
            self.names[name] = [decl]
        else:
            lst.append(decl)

    def local(self, name: str) -> list[ast.Node]:
        """Declarations of ``name`` made in this very scope."""
        return self.names.get(name, [])

    def lookup(self, name: str, types_only: bool = False) -> list[ast.Node]:
        """The declarations ``name`` denotes here: the innermost scope that declares it wins."""
        s: Scope | None = self
        while s is not None:
            found = s.names.get(name)
            if found:
                if types_only:
                    found = [d for d in found if isinstance(d, T.TYPE_DECLS)]
                    if found:
                        return found
                else:
                    return found
            s = s.parent
        return []

    def root(self) -> Scope:
        """The outermost (program) scope."""
        s = self
        while s.parent is not None:
            s = s.parent
        return s


def _builtin_method(name: str, rtype: ast.Type, params: list[ast.Parameter]) -> ast.MethodDecl:
    m = ast.MethodDecl(rtype=rtype, name=name, type_params=[], params=params)
    m.__dict__["_sluice_builtin"] = True
    return m


def _int_param(name: str) -> ast.Parameter:
    return ast.Parameter(direction="", ptype=ast.TypeInfInt(), name=name)


#: Built-in methods of headers, unions, stacks and of every type (``minSizeInBits`` ...).
#: ``Member.decl`` points at one of these for calls such as ``h.isValid()``.
BUILTIN_METHODS: dict[str, ast.MethodDecl] = {
    "isValid": _builtin_method("isValid", ast.TypeBool(), []),
    "setValid": _builtin_method("setValid", ast.TypeVoid(), []),
    "setInvalid": _builtin_method("setInvalid", ast.TypeVoid(), []),
    "push_front": _builtin_method("push_front", ast.TypeVoid(), [_int_param("count")]),
    "pop_front": _builtin_method("pop_front", ast.TypeVoid(), [_int_param("count")]),
    "minSizeInBits": _builtin_method("minSizeInBits", ast.TypeInfInt(), []),
    "minSizeInBytes": _builtin_method("minSizeInBytes", ast.TypeInfInt(), []),
    "maxSizeInBits": _builtin_method("maxSizeInBits", ast.TypeInfInt(), []),
    "maxSizeInBytes": _builtin_method("maxSizeInBytes", ast.TypeInfInt(), []),
}

SIZE_METHODS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")


def _builtin_field(name: str, ftype: ast.Type) -> ast.StructField:
    f = ast.StructField(ftype=ftype, name=name)
    f.__dict__["_sluice_builtin"] = True
    return f


#: Built-in properties of header stacks: ``Member.decl`` for ``hs.next``, ``hs.size`` ...
STACK_PROPERTIES: dict[str, ast.StructField] = {
    "next": _builtin_field("next", ast.TypeDontCare()),
    "last": _builtin_field("last", ast.TypeDontCare()),
    "lastIndex": _builtin_field("lastIndex", T.bits(32)),
    "nextIndex": _builtin_field("nextIndex", T.bits(32)),
    "size": _builtin_field("size", T.bits(32)),
}


def is_builtin(decl: ast.Node | None) -> bool:
    """True for the synthetic declarations of this module (and per-table apply results)."""
    return decl is not None and bool(decl.__dict__.get("_sluice_builtin"))
