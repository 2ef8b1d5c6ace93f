"""Types in P4Info: widths, ``type_name`` and type specs, as p4c computes them.

:class:`TypeSpecs` is p4c's ``TypeSpecConverter``: it turns a type into a ``P4DataTypeSpec`` and
registers every named type it meets (structs, headers, unions, enums, serializable enums, the
error type, new types) in the P4Info's ``type_info``. :func:`type_width` is p4c's
``getTypeWidth`` (a ``@p4runtime_translation`` type has its controller width, ``error`` has 0),
:func:`flatten_header` its ``FlattenHeader``.

Types may be given as checked syntax (``decl`` filled in) or as the checker's canonical types.
"""

from __future__ import annotations

from typing import Any

from p4.config.v1 import p4info_pb2, p4types_pb2

from . import ast
from .constfold import try_const_value
from .elaborate import control_plane_name
from .errors import CompileError
from .lexer import tokenize
from .p4info_annotations import add_annotations, get_annotation
from .types import resolve_type, width_of


def resolve(t: Any) -> Any:
    """Canonical form of a type (syntax with ``decl`` filled in, or already canonical)."""
    if t is None:
        return None
    if isinstance(t, ast.TypeBits) and t.size is not None and t.width is None:
        return t
    try:
        return resolve_type(t)
    except (ValueError, AssertionError, AttributeError, TypeError):
        return t


def decl_of(t: Any) -> Any:
    """The declaration a named (or specialized) type refers to, else None."""
    if isinstance(t, ast.TypeSpecialized):
        t = t.base
    if isinstance(t, ast.TypeName):
        return t.decl
    return None


def follow_typedefs(t: Any) -> Any:
    """Follow plain typedefs (not ``type`` declarations)."""
    seen = 0
    while seen < 64:
        d = decl_of(t)
        if isinstance(d, ast.TypedefDecl) and not d.newtype:
            t = resolve(d.target)
            seen += 1
            continue
        return t
    return t


def newtype_decl(t: Any) -> ast.TypedefDecl | None:
    """The ``type`` declaration ``t`` names (through plain typedefs), else None."""
    d = decl_of(follow_typedefs(t))
    if isinstance(d, ast.TypedefDecl) and d.newtype:
        return d
    return None


def translation(d: ast.TypedefDecl) -> tuple[str, int | None] | None:
    """``(uri, width)`` of a ``@p4runtime_translation("uri", bit<W> | W | string)``; the width
    is None when the controller sees the type as a string."""
    a = get_annotation(d.annotations, "p4runtime_translation")
    if a is None:
        return None
    uri = ""
    width: int | None = None
    if a.exprs and len(a.exprs) >= 2:
        first, second = a.exprs[0], a.exprs[1]
        if isinstance(first, ast.StringLit):
            uri = first.value
        if isinstance(second, ast.IntLit):
            width = second.value
        elif isinstance(second, ast.TypeExpr) and isinstance(second.ctype, ast.TypeBits):
            bits = second.ctype
            if bits.size is not None:
                width = bits.size
            elif isinstance(bits.width, ast.IntLit):
                width = bits.width.value
    elif a.body:
        toks = [t for t in tokenize(a.body, "<annotation>") if t.kind != "EOF"]
        strs = [t for t in toks if t.kind == "STR"]
        ints = [t for t in toks if t.kind == "INT" and t.value is not None]
        if strs:
            uri = strs[0].text
        if ints and not any(t.kind == "string" for t in toks):
            width = ints[-1].value[0]  # type: ignore[index]
    return uri, width


def check_translation_annotations(program: ast.Program) -> list[CompileError]:
    """Errors for ``@p4runtime_translation`` annotations p4c's grammar rejects: the second
    argument must be an integer, ``bit<W>`` with a literal ``W``, or ``string``."""
    errors: list[CompileError] = []
    for d in program.decls:
        if not isinstance(d, ast.TypedefDecl):
            continue
        for a in d.annotations:
            if a.name != "p4runtime_translation" or a.structured:
                continue
            toks = [t for t in tokenize(a.body or "", "<annotation>") if t.kind != "EOF"]
            kinds = [t.kind for t in toks]
            ok = len(toks) >= 3 and kinds[0] == "STR" and kinds[1] == ","
            rest = kinds[2:]
            ok = ok and rest in (["INT"], ["string"], ["bit", "<", "INT", ">"])
            if not ok:
                errors.append(CompileError(
                    a.loc, "@p4runtime_translation expects a URI string and bit<W>, an integer "
                    "or string"))
    return errors


def type_width(t: Any) -> int:
    """p4c's ``getTypeWidth``: the controller width of a translated type, 0 for ``error``, else
    the width in bits."""
    t = follow_typedefs(resolve(t))
    nt = newtype_decl(t)
    if nt is not None:
        tr = translation(nt)
        if tr is not None:
            return tr[1] or 0
    if isinstance(t, ast.TypeErrorT):
        return 0
    return width_bits(t)


def width_bits(t: Any) -> int:
    """The width in bits of a fixed-width type (new types and serializable enums by their
    underlying type, ``bool`` 1)."""
    t = follow_typedefs(resolve(t))
    if isinstance(t, ast.TypeBits):
        return t.size or 0
    if isinstance(t, ast.TypeBool):
        return 1
    if isinstance(t, ast.TypeVarbit):
        return t.size or 0
    d = decl_of(t)
    if isinstance(d, ast.TypedefDecl):
        return width_bits(d.target)
    if isinstance(d, ast.EnumDecl) and d.underlying is not None:
        return width_bits(d.underlying)
    if isinstance(d, ast.StructDecl):
        total = 0
        for f in d.fields:
            total += width_bits(f.ftype)
        return total
    if isinstance(t, ast.TypeStack):
        return (t.size or 0) * width_bits(t.elem)
    try:
        return width_of(t)
    except (ValueError, AssertionError, AttributeError, TypeError):
        return 0


def type_name_of(t: Any) -> str | None:
    """p4c's ``getTypeName``: the declared name of a ``type`` (newtype), else None."""
    nt = newtype_decl(resolve(t))
    return nt.name if nt is not None else None


def value_bytes(value: int, width: int) -> bytes | None:
    """p4c's padded big-endian byte string of a non-negative value."""
    if value < 0:
        return None
    n = (width + 7) // 8
    if n == 0:
        return None
    return (value & ((1 << (8 * n)) - 1)).to_bytes(n, "big")


class TypeSpecs:
    """p4c's ``TypeSpecConverter``: P4DataTypeSpec messages, registering named types in
    ``type_info``."""

    def __init__(self, p4info: p4info_pb2.P4Info, program: ast.Program):
        self.p4info = p4info
        self.program = program

    @property
    def info(self) -> p4types_pb2.P4TypeInfo:
        """The ``type_info`` being filled in."""
        return self.p4info.type_info

    def convert(self, t: Any) -> p4types_pb2.P4DataTypeSpec:
        """The type spec of ``t`` (and its named types added to ``type_info``)."""
        spec = p4types_pb2.P4DataTypeSpec()
        t = resolve(t)
        if isinstance(t, ast.TypeBits):
            if t.signed:
                spec.bitstring.int.bitwidth = t.size or 0
            else:
                spec.bitstring.bit.bitwidth = t.size or 0
            return spec
        if isinstance(t, ast.TypeVarbit):
            spec.bitstring.varbit.max_bitwidth = t.size or 0
            return spec
        if isinstance(t, ast.TypeBool):
            spec.bool.SetInParent()
            return spec
        if isinstance(t, ast.TypeErrorT):
            spec.error.SetInParent()
            self.register_error()
            return spec
        if isinstance(t, ast.TypeTuple):
            spec.tuple.SetInParent()
            for a in t.args:
                spec.tuple.members.add().CopyFrom(self.convert(a))
            return spec
        if isinstance(t, ast.TypeList):
            spec.tuple.SetInParent()
            return spec
        if isinstance(t, ast.TypeStack):
            d = decl_of(t.elem)
            name = control_plane_name(d) if d is not None else "?"
            if isinstance(d, ast.StructDecl) and d.flavor == "header_union":
                spec.header_union_stack.header_union.name = name
                spec.header_union_stack.size = t.size or 0
                self.register_union(d)
            else:
                spec.header_stack.header.name = name
                spec.header_stack.size = t.size or 0
                if isinstance(d, ast.StructDecl):
                    self.register_header(d)
            return spec
        d = decl_of(t)
        if isinstance(d, ast.ErrorDecl) or (
            isinstance(t, ast.TypeName) and t.name == "error" and d is None
        ):
            spec.error.SetInParent()
            self.register_error()
            return spec
        if isinstance(d, ast.StructDecl):
            name = control_plane_name(d)
            if d.flavor == "header":
                spec.header.name = name
                self.register_header(d)
            elif d.flavor == "header_union":
                spec.header_union.name = name
                self.register_union(d)
            else:
                spec.struct.name = name
                self.register_struct(d)
            return spec
        if isinstance(d, ast.EnumDecl):
            name = control_plane_name(d)
            if d.underlying is None:
                spec.enum.name = name
                self.register_enum(d)
            else:
                spec.serializable_enum.name = name
                self.register_serenum(d)
            return spec
        if isinstance(d, ast.TypedefDecl):
            if not d.newtype:
                return self.convert(d.target)
            spec.new_type.name = control_plane_name(d)
            self.register_newtype(d)
            return spec
        return spec

    def register_error(self) -> None:
        """Add the ``error`` type's members (all error declarations, in order) to ``type_info``."""
        if self.info.HasField("error"):
            return
        err = self.info.error
        err.SetInParent()
        for d in self.program.decls:
            if isinstance(d, ast.ErrorDecl):
                for m in d.members:
                    err.members.append(m)

    def register_struct(self, d: ast.StructDecl) -> None:
        """Add a struct: its fields' type specs to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.structs:
            return
        spec = p4types_pb2.P4StructTypeSpec()
        for f in d.fields:
            m = spec.members.add()
            m.name = control_plane_name(f)
            m.type_spec.CopyFrom(self.convert(f.ftype))
        self.info.structs[name].CopyFrom(spec)

    def register_header(self, d: ast.StructDecl) -> None:
        """Add a header: its (flattened) fields' bit-string specs to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.headers:
            return
        spec = p4types_pb2.P4HeaderTypeSpec()
        for fname, ftype, _annos in flatten_header(d):
            m = spec.members.add()
            m.name = fname
            fs = self.convert(ftype)
            m.type_spec.CopyFrom(fs.bitstring)
        self.info.headers[name].CopyFrom(spec)

    def register_union(self, d: ast.StructDecl) -> None:
        """Add a header union: its members' header specs to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.header_unions:
            return
        spec = p4types_pb2.P4HeaderUnionTypeSpec()
        for f in d.fields:
            m = spec.members.add()
            m.name = control_plane_name(f)
            fs = self.convert(f.ftype)
            m.header.CopyFrom(fs.header)
        self.info.header_unions[name].CopyFrom(spec)

    def register_enum(self, d: ast.EnumDecl) -> None:
        """Add an enum: its member names to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.enums:
            return
        spec = p4types_pb2.P4EnumTypeSpec()
        for m in d.members:
            spec.members.add().name = control_plane_name(m)
        self.info.enums[name].CopyFrom(spec)

    def register_serenum(self, d: ast.EnumDecl) -> None:
        """Add a serializable enum: underlying width, members and values to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.serializable_enums:
            return
        spec = p4types_pb2.P4SerializableEnumTypeSpec()
        width = width_bits(d.underlying)
        spec.underlying_type.bitwidth = width
        for m in d.members:
            mm = spec.members.add()
            mm.name = control_plane_name(m)
            v = enum_member_value(m)
            if v is None:
                continue
            b = value_bytes(v, width)
            if b is not None:
                mm.value = b
        self.info.serializable_enums[name].CopyFrom(spec)

    def register_newtype(self, d: ast.TypedefDecl) -> None:
        """Add a ``type``: its translation, or the type it stands for to ``type_info``."""
        name = control_plane_name(d)
        if name in self.info.new_types:
            return
        spec = p4types_pb2.P4NewTypeSpec()
        under: Any = resolve(d.target)
        while True:
            under = follow_typedefs(under)
            nd = newtype_decl(under)
            if nd is None:
                break
            under = resolve(nd.target)
        add_annotations(spec, d.annotations, frozenset({"p4runtime_translation"}))
        tr = translation(d)
        if tr is not None:
            spec.translated_type.uri = tr[0]
            if tr[1] is None:
                spec.translated_type.sdn_string.SetInParent()
            else:
                spec.translated_type.sdn_bitwidth = tr[1]
            # p4c still converts the underlying type (which may register named types).
            self.convert(under)
        else:
            spec.original_type.CopyFrom(self.convert(under))
        self.info.new_types[name].CopyFrom(spec)


def enum_member_value(m: ast.EnumMember) -> int | None:
    e = m.value
    while isinstance(e, ast.Cast):
        e = e.expr
    if isinstance(e, ast.IntLit):
        return e.value
    if m.value is None:
        return None
    r = try_const_value(m.value)
    if isinstance(r, int) and not isinstance(r, bool):
        return r
    return None


def flatten_header(d: ast.StructDecl) -> list[tuple[str, Any, list[ast.Annotation]]]:
    """p4c's ``FlattenHeader``: ``(control-plane name, type, annotations)`` per leaf field. A
    header with struct-typed fields is flattened, leaf names joining the path with dots."""
    needs = False
    out: list[tuple[str, Any, list[ast.Annotation]]] = []

    def walk(decl: ast.StructDecl, path: list[str], annos: list[list[ast.Annotation]]) -> None:
        nonlocal needs
        for f in decl.fields:
            ft = follow_typedefs(resolve(f.ftype))
            fd = decl_of(ft)
            if isinstance(fd, ast.StructDecl) and fd.flavor == "struct":
                needs = True
                walk(fd, path + [f.name], annos + [f.annotations])
                continue
            merged: list[ast.Annotation] = []
            names: set[str] = set()
            for group in reversed(annos + [f.annotations]):
                for a in group:
                    if a.name in names:
                        continue
                    names.add(a.name)
                    merged.append(a)
            out.append((".".join(path + [f.name]), f.ftype, merged))

    walk(d, [], [])
    if not needs:
        return [(control_plane_name(f), f.ftype, list(f.annotations)) for f in d.fields]
    # Flattened fields carry a @name with the dotted path, replacing any other @name.
    return [(n, t, [a for a in annos if a.name != "name"]) for n, t, annos in out]



