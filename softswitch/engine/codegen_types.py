"""Code generation, part 1: the runtime classes of a program's headers, unions and structs.

Every struct-like type gets one Python class with ``__slots__`` (one slot per field, plus
``_valid`` for headers) and a fixed set of methods that the rest of the generated code and the
v1model harness call:

``_copy()``        a deep copy (P4 assignment and copy-in make copies);
``_set(other)``    copy ``other`` into ``self`` in place (assignment keeps object identity, so
                   references held by callers stay valid);
``_eq(other)``     P4 ``==`` (two invalid headers are equal whatever their fields);
``_invalidate()``  every header inside becomes invalid (``out`` parameters, fresh packets);
``_emit(out)``     append the deparsed bytes of the valid headers to the list ``out``;
``_fl(out)``       append ``(value, width)`` pairs of the fields (invalid headers skipped): the
                   input of hashes, checksums and digests;
``_vals()``        the field values as a tuple (digests);
headers also ``_extract(data, off)`` (fields from ``data[off:]``; byte-sized headers only, as
BMv2 requires) and unions ``_sv_<member>()`` (make one member valid, the others invalid).

``bool`` fields are stored as ``bool``, ``int<W>`` fields as signed numbers, enum and ``error``
fields as their integer codes.
"""

from __future__ import annotations

import keyword
from typing import Any

from ..frontend import ast
from ..frontend import types as T

CORE_ERRORS = ("NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds", "HeaderTooShort",
               "ParserTimeout", "ParserInvalidArgument")


class CodegenError(Exception):
    """The program uses something the engine cannot run; the message says what and where."""


def py_field(name: str) -> str:
    """The slot name of P4 field ``name`` (Python keywords and ``_`` names are suffixed)."""
    if keyword.iskeyword(name) or name.startswith("_") or name in ("h", "size", "nextIndex"):
        return name + "_f"
    return name


def scalar_bits(t: ast.Type | None) -> tuple[int, bool] | None:
    """``(width, signed)`` of a bit<>/int<> type, serializable enum or newtype of one."""
    if t is None:
        return None
    if isinstance(t, ast.TypeName):
        d = t.decl
        if isinstance(d, ast.EnumDecl) and d.underlying is not None:
            return scalar_bits(T.resolve_type(d.underlying))
        if isinstance(d, ast.TypedefDecl):
            return scalar_bits(T.resolve_type(d.target))
        return None
    if isinstance(t, ast.TypeBits):
        return (t.size or 0, t.signed)
    return None


def is_obj(t: ast.Type | None) -> bool:
    """Struct, header, union or stack: values that live in mutable generated objects."""
    if t is None:
        return False
    t = T.strip_newtype(t) if isinstance(t, ast.TypeName) else t
    return isinstance(t, ast.TypeStack) or T.is_struct_like(t)


class TypeGen:
    """Mixin of the generator: classes for struct-like types, default values, error codes."""

    out_types: list[str]
    program: ast.Program

    def init_types(self) -> None:
        self.out_types = []
        self._classes: dict[Any, str] = {}
        self._class_seq = 0
        # BMv2's core error codes are fixed (ErrorCodeMap::Core), whatever order the program
        # declares errors in; the program's own errors follow in declaration order
        self.error_codes: dict[str, int] = {
            n: i for i, n in enumerate(CORE_ERRORS)
        }
        for d in self.program.decls:
            if isinstance(d, ast.ErrorDecl):
                for m in d.members:
                    self.error_codes.setdefault(m, len(self.error_codes))

    # -- questions ---------------------------------------------------------------------------

    def width(self, t: ast.Type) -> int:
        """The width in bits of a type with one."""
        if isinstance(t, ast.TypeBool):
            return 1
        if isinstance(t, ast.TypeErrorT):
            return 32
        return T.width_of(t)

    def enum_code(self, decl: ast.EnumDecl, member: str) -> int:
        """The integer a member of an enum is stored as."""
        for i, m in enumerate(decl.members):
            if m.name == member:
                if decl.underlying is not None:
                    from ..frontend.constfold import const_value

                    return int(const_value(m.value)) if m.value is not None else i
                return i
        raise CodegenError(f"enum {decl.name} has no member {member}")

    def default_code(self, t: ast.Type | None) -> str:
        """Python code for the value an uninitialised variable of type ``t`` holds (BMv2: 0)."""
        if t is None:
            return "0"
        if isinstance(t, ast.TypeBool):
            return "False"
        if isinstance(t, ast.TypeTuple):
            items = [self.default_code(a) for a in t.args]
            return "(" + "".join(i + ", " for i in items) + ")"
        if isinstance(t, ast.TypeList):
            return "[]"
        if isinstance(t, ast.TypeString):
            return "''"
        if isinstance(t, ast.TypeStack):
            return f"_HS([{self.default_code(t.elem)} for _ in range({t.size})])"
        if T.is_struct_like(t):
            return self.class_of(t) + "()"
        if isinstance(t, ast.TypeVarbit):
            return "0"
        return "0"

    # -- classes -----------------------------------------------------------------------------

    def class_of(self, t: ast.Type) -> str:
        """The name of the generated class of struct-like type ``t`` (generated on first use)."""
        d = T.type_decl(t)
        if not isinstance(d, ast.StructDecl):
            raise CodegenError(f"no class for type {T.type_str(t)}")
        key: Any = id(d) if not isinstance(t, ast.TypeSpecialized) else T.type_str(t)
        name = self._classes.get(key)
        if name is not None:
            return name
        self._class_seq += 1
        prefix = {"header": "H", "header_union": "U", "struct": "S"}[d.flavor]
        safe = "".join(c if c.isalnum() else "_" for c in d.name)[:40]
        name = f"{prefix}{self._class_seq}_{safe}"
        self._classes[key] = name
        fields = T.fields_of(t)
        if d.flavor == "header":
            self._gen_header(name, d, fields)
        elif d.flavor == "header_union":
            self._gen_union(name, d, fields)
        else:
            self._gen_struct(name, d, fields)
        return name

    def _emit_class(self, lines: list[str]) -> None:
        self.out_types.append("\n".join(lines) + "\n")

    def _gen_header(self, name: str, d: ast.StructDecl, fields: list) -> None:
        names = [py_field(f) for f, _, _ in fields]
        objs = [is_obj(ft) for _, ft, _ in fields]  # struct-typed fields (P4_16 allows them)
        top_varbits = [i for i, (_, ft, _) in enumerate(fields) if isinstance(ft, ast.TypeVarbit)]
        slots = ["_valid"] + names + [names[i] + "__len" for i in top_varbits]
        # the bit-level layout works on the leaves: struct fields flattened in order
        leaves = self._leaves(fields, "")
        top_fields = fields
        fields = [(p, ft, fd) for p, ft, fd in leaves]
        lnames = [p for p, _, _ in leaves]
        varbits = [i for i, (_, ft, _) in enumerate(fields) if isinstance(ft, ast.TypeVarbit)]
        L = [f"class {name}:", f"    __slots__ = {tuple(slots)!r}", f"    _P4NAME = {d.name!r}"]
        widths = []
        for _, ft, _ in fields:
            if isinstance(ft, ast.TypeVarbit):
                widths.append(0)
            else:
                widths.append(self.width(ft))
        fixed_bits = sum(widths)
        L.append(f"    _NB = {fixed_bits // 8}")
        L.append(f"    _FIXED_BITS = {fixed_bits}")
        L.append("    def __init__(self):")
        L.append("        self._valid = False")
        for n, (_, ft, _) in zip(names, top_fields):
            L.append(f"        self.{n} = {self.default_code(ft)}")
        for i in top_varbits:
            L.append(f"        self.{names[i]}__len = 0")
        L.append("    def _copy(self):")
        L.append(f"        o = _new({name})")
        for sl in slots:
            ob = sl in names and objs[names.index(sl)]
            L.append(f"        o.{sl} = self.{sl}._copy()" if ob else f"        o.{sl} = self.{sl}")
        L.append("        return o")
        L.append("    def _set(self, s):")
        for sl in slots:
            ob = sl in names and objs[names.index(sl)]
            L.append(f"        self.{sl}._set(s.{sl})" if ob else f"        self.{sl} = s.{sl}")
        L.append("    def _eq(self, s):")
        L.append("        if not self._valid:")
        L.append("            return not s._valid")
        cmp = " and ".join(f"self.{n}._eq(s.{n})" if ob else f"self.{n} == s.{n}"
                           for n, ob in zip(names, objs)) or "True"
        L.append(f"        return s._valid and {cmp}")
        L.append("    def _invalidate(self):")
        L.append("        self._valid = False")
        L.append("    def _vals(self):")
        L.append("        return (" + "".join(f"self.{n}, " for n in lnames) + ")")
        L.append("    def _fl(self, out):")
        L.append("        if self._valid:")
        pairs = []
        for n, w, (_, ft, _) in zip(lnames, widths, fields):
            if isinstance(ft, ast.TypeVarbit):
                pairs.append(f"(self.{n}, self.{n}__len)")
            else:
                pairs.append(f"({'int(' if isinstance(ft, ast.TypeBool) else ''}self.{n}"
                             f"{')' if isinstance(ft, ast.TypeBool) else ''}, {w})")
        L.append("            out.extend((" + "".join(p + ", " for p in pairs) + "))")
        L.append("    def __repr__(self):")
        L.append(
            f"        return '{d.name}(' + ('' if self._valid else 'invalid ') + "
            + " ', '.join(["
            + ", ".join(f"'{n}=%#x' % int(self.{n})" for n in lnames)
            + "]) + ')'"
        )
        names = lnames
        if len(varbits) > 1:
            raise CodegenError(f"header {d.name} has more than one varbit field")
        if fixed_bits % 8 == 0 and fixed_bits and not varbits:
            L.extend(_struct_codec(name, names, widths, fields))
        elif fixed_bits % 8 == 0:
            L.extend(self._header_codec(names, widths, fields, varbits))
        else:
            L.append("    def _extract(self, d, off):")
            L.append(f"        raise _CodegenError('header {d.name} is not a whole number of bytes')")
            L.append("    _emit = _extract")
        self._emit_class(L)

    def _leaves(self, fields: list, prefix: str) -> list:
        out = []
        for f, ft, fd in fields:
            path = prefix + py_field(f)
            if T.is_struct(ft):
                out.extend(self._leaves(T.fields_of(ft), path + "."))
            else:
                out.append((path, ft, fd))
        return out

    def _header_codec(self, names: list[str], widths: list[int], fields: list,
                      varbits: list[int]) -> list[str]:
        L: list[str] = []
        total = sum(widths)
        nb = total // 8
        # shift of each field: bits after it (the varbit, if any, adds its run-time length)
        shifts: list[str] = []
        acc = 0
        vb_after = True
        for i in range(len(names) - 1, -1, -1):
            if i in varbits:
                shifts.append(str(acc))
                vb_after = False
                continue
            shifts.append(str(acc) if vb_after else f"{acc} + vl")
            acc += widths[i]
        shifts.reverse()
        has_vb = bool(varbits)
        L.append("    def _extract(self, d, off" + (", vl" if has_vb else "") + "):")
        size = f"{nb} + (vl >> 3)" if has_vb else str(nb)
        L.append(f"        v = _from_bytes(d[off:off + {size}], 'big')")
        for i, (n, w, (_, ft, _)) in enumerate(zip(names, widths, fields)):
            sh = shifts[i]
            if i in varbits:
                expr = f"(v >> {sh}) & ((1 << vl) - 1)"
                L.append(f"        self.{n} = {expr}")
                L.append(f"        self.{n}__len = vl")
                continue
            mask = f"{(1 << w) - 1:#x}"
            raw = f"v & {mask}" if sh == "0" else f"(v >> ({sh})) & {mask}"
            sb = scalar_bits(ft)
            if isinstance(ft, ast.TypeBool):
                L.append(f"        self.{n} = bool({raw})")
            elif sb is not None and sb[1]:
                L.append(f"        x = {raw}")
                L.append(f"        self.{n} = x - {1 << w} if x >> {w - 1} else x")
            else:
                L.append(f"        self.{n} = {raw}")
        L.append("        self._valid = True")
        L.append("    def _emit(self, out):")
        L.append("        if self._valid:")
        parts = []
        for i, (n, w, (_, ft, _)) in enumerate(zip(names, widths, fields)):
            sh = shifts[i].replace("vl", f"self.{names[varbits[0]]}__len") if has_vb else shifts[i]
            if i in varbits:
                val = f"(self.{n} & ((1 << self.{n}__len) - 1))"
            else:
                sb = scalar_bits(ft)
                if isinstance(ft, ast.TypeBool):
                    val = f"int(self.{n})"
                elif sb is not None and sb[1]:
                    val = f"(self.{n} & {(1 << w) - 1:#x})"
                else:
                    val = f"self.{n}"
            parts.append(val if sh == "0" else f"({val} << ({sh}))")
        nbytes = f"{nb} + (self.{names[varbits[0]]}__len >> 3)" if has_vb else str(nb)
        body = " | ".join(parts) if parts else "0"
        L.append(f"            out.append(({body}).to_bytes({nbytes}, 'big'))")
        return L

    def _gen_union(self, name: str, d: ast.StructDecl, fields: list) -> None:
        names = [py_field(f) for f, _, _ in fields]
        L = [f"class {name}:", f"    __slots__ = {tuple(names)!r}", f"    _P4NAME = {d.name!r}"]
        L.append("    def __init__(self):")
        for n, (_, ft, _) in zip(names, fields):
            L.append(f"        self.{n} = {self.class_of(ft)}()")
        if not names:
            L.append("        pass")
        L.append("    @property")
        L.append("    def _valid(self):")
        L.append("        return " + (" or ".join(f"self.{n}._valid" for n in names) or "False"))
        L.append("    def _copy(self):")
        L.append(f"        o = _new({name})")
        for n in names:
            L.append(f"        o.{n} = self.{n}._copy()")
        L.append("        return o")
        L.append("    def _set(self, s):")
        for n in names:
            L.append(f"        self.{n}._set(s.{n})")
        L.append("        pass")
        L.append("    def _eq(self, s):")
        L.append("        return " + (" and ".join(f"self.{n}._eq(s.{n})" for n in names) or "True"))
        L.append("    def _invalidate(self):")
        for n in names:
            L.append(f"        self.{n}._valid = False")
        L.append("        pass")
        for n in names:
            L.append(f"    def _sv_{n}(self):")
            for m in names:
                L.append(f"        self.{m}._valid = {m == n}")
        L.append("    def _emit(self, out):")
        for n in names:
            L.append(f"        self.{n}._emit(out)")
        L.append("        pass")
        L.append("    def _fl(self, out):")
        for n in names:
            L.append(f"        self.{n}._fl(out)")
        L.append("        pass")
        L.append("    def _vals(self):")
        L.append("        return (" + "".join(f"self.{n}._vals(), " for n in names) + ")")
        L.append("    def __repr__(self):")
        L.append(f"        return '{d.name}(' + ', '.join(["
                 + ", ".join(f"repr(self.{n})" for n in names) + "]) + ')'")
        self._emit_class(L)

    def _gen_struct(self, name: str, d: ast.StructDecl, fields: list) -> None:
        names = [py_field(f) for f, _, _ in fields]
        objs = [is_obj(ft) for _, ft, _ in fields]
        L = [f"class {name}:", f"    __slots__ = {tuple(names)!r}", f"    _P4NAME = {d.name!r}"]
        L.append("    def __init__(self):")
        for n, (_, ft, _) in zip(names, fields):
            L.append(f"        self.{n} = {self.default_code(ft)}")
        L.append("        pass")
        L.append("    def _copy(self):")
        L.append(f"        o = _new({name})")
        for n, ob in zip(names, objs):
            L.append(f"        o.{n} = self.{n}._copy()" if ob else f"        o.{n} = self.{n}")
        L.append("        return o")
        L.append("    def _set(self, s):")
        for n, ob in zip(names, objs):
            L.append(f"        self.{n}._set(s.{n})" if ob else f"        self.{n} = s.{n}")
        L.append("        pass")
        L.append("    def _eq(self, s):")
        conds = [f"self.{n}._eq(s.{n})" if ob else f"self.{n} == s.{n}"
                 for n, ob in zip(names, objs)]
        L.append("        return " + (" and ".join(conds) or "True"))
        L.append("    def _invalidate(self):")
        for n, ob in zip(names, objs):
            if ob:
                L.append(f"        self.{n}._invalidate()")
        L.append("        pass")
        L.append("    def _emit(self, out):")
        for n, ob in zip(names, objs):
            if ob:
                L.append(f"        self.{n}._emit(out)")
        L.append("        pass")
        L.append("    def _fl(self, out):")
        for n, ob, (_, ft, _) in zip(names, objs, fields):
            if ob:
                L.append(f"        self.{n}._fl(out)")
            else:
                try:
                    w = self.width(ft)
                except T.NoWidth:
                    continue
                L.append(f"        out.append((int(self.{n}), {w}))")
        L.append("        pass")
        L.append("    def _vals(self):")
        L.append("        return (" + "".join(
            f"self.{n}._vals(), " if ob else f"self.{n}, " for n, ob in zip(names, objs)) + ")")
        L.append("    def __repr__(self):")
        L.append(f"        return '{d.name}(' + ', '.join(["
                 + ", ".join(f"'{f}=' + repr(self.{n})" for (f, _, _), n in zip(fields, names))
                 + "]) + ')'")
        self._emit_class(L)


# -- fixed-size headers: struct.unpack_from / pack ---------------------------------------------

_STRUCT_CODES = ((8, "Q"), (4, "I"), (2, "H"), (1, "B"))


def _struct_codec(cls: str, names: list[str], widths: list[int], fields: list) -> list[str]:
    """``_extract``/``_emit`` of a header without varbits through one ``struct.Struct``: the
    per-packet path of every parser and deparser, about three times faster than slicing the
    header into one big integer and shifting it apart.

    Fields are grouped into chunks that end on byte boundaries; a chunk is read as big-endian
    unsigned words (``Q``/``I``/``H``/``B``, widest first), which are joined when a chunk needs
    more than one, and its fields are cut out of that number by shift and mask. The unpacker is
    the module-level ``_U_<cls>``, the packer ``_K_<cls>``.
    """
    chunks: list[list[int]] = []  # field indices
    cur: list[int] = []
    acc = 0
    for i, w in enumerate(widths):
        cur.append(i)
        acc += w
        if acc % 8 == 0:
            chunks.append(cur)
            cur, acc = [], 0
    fmt = ">"
    # per chunk: its bit width and the (variable, bits after it in the chunk) of its words
    layout: list[tuple[int, list[tuple[str, int]]]] = []
    nvar = 0
    for chunk in chunks:
        bits = sum(widths[i] for i in chunk)
        left = bits // 8
        words: list[tuple[str, int]] = []
        while left:
            size, code = next((sz, c) for sz, c in _STRUCT_CODES if sz <= left)
            left -= size
            fmt += code
            words.append((f"c{nvar}", left * 8))
            nvar += 1
        layout.append((bits, words))
    L = ["    def _extract(self, d, off):"]
    if nvar == 1:
        L.append(f"        c0, = _U_{cls}(d, off)")
    else:
        L.append("        " + ", ".join(f"c{k}" for k in range(nvar)) + f" = _U_{cls}(d, off)")
    for chunk, (bits, words) in zip(chunks, layout):
        joined = " | ".join(v if sh == 0 else f"({v} << {sh})" for v, sh in words)
        if len(words) == 1:
            x = words[0][0]
        elif len(chunk) == 1:
            x = f"({joined})"  # one field in several words: joined in place
        else:
            x = "x"
            L.append(f"        x = {joined}")
        after = bits
        for i in chunk:
            w = widths[i]
            after -= w
            if w == 0:
                raw = "0"
            elif after == 0:
                raw = x if after + w == bits else f"{x} & {(1 << w) - 1:#x}"
            elif after + w == bits:
                raw = f"{x} >> {after}"
            else:
                raw = f"({x} >> {after}) & {(1 << w) - 1:#x}"
            ft = fields[i][1]
            sb = scalar_bits(ft)
            n = names[i]
            if isinstance(ft, ast.TypeBool):
                L.append(f"        self.{n} = bool({raw})")
            elif sb is not None and sb[1] and w:
                L.append(f"        y = {raw}")
                L.append(f"        self.{n} = y - {1 << w} if y >> {w - 1} else y")
            else:
                L.append(f"        self.{n} = {raw}")
    L.append("        self._valid = True")
    L.append("    def _emit(self, out):")
    L.append("        if self._valid:")
    args: list[str] = []
    for chunk, (bits, words) in zip(chunks, layout):
        parts = []
        after = bits
        for i in chunk:
            w = widths[i]
            after -= w
            if w == 0:
                continue
            ft = fields[i][1]
            sb = scalar_bits(ft)
            n = names[i]
            if isinstance(ft, ast.TypeBool):
                val = f"int(self.{n})"
            elif sb is not None and sb[1]:
                val = f"(self.{n} & {(1 << w) - 1:#x})"
            else:
                val = f"self.{n}"
            parts.append(val if after == 0 else f"({val} << {after})")
        value = " | ".join(parts) if parts else "0"
        if len(words) == 1:
            args.append(value)
            continue
        y = f"y{len(args)}"
        L.append(f"            {y} = {value}")
        for k, (_, sh) in enumerate(words):
            top = words[k - 1][1] if k else bits
            mask = (1 << (top - sh)) - 1
            args.append(f"({y} >> {sh}) & {mask:#x}" if sh else f"{y} & {mask:#x}")
    L.append(f"            out.append(_K_{cls}(" + ", ".join(args) + "))")
    L.append(f"_S_{cls} = _Struct({fmt!r})")
    L.append(f"_U_{cls} = _S_{cls}.unpack_from")
    L.append(f"_K_{cls} = _S_{cls}.pack")
    return L
