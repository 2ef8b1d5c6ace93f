"""P4Info for the data the switch sends to the controller: ``digests`` and
``controller_packet_metadata``. A mixin of :class:`.p4info._Gen`.
"""

from __future__ import annotations

from typing import Any

from . import ast
from . import p4info_ids as ids
from .elaborate import (
    annotation_string,
    control_plane_name,
)
from .errors import CompileError
from .p4info_annotations import (
    add_annotations,
    get_annotation,
    id_annotation,
    is_hidden,
    set_preamble,
)
from .p4info_types import (
    decl_of,
    flatten_header,
    type_name_of,
    type_width,
)


class _DigestGen:
    """Adds digests and controller headers to the P4Info message."""

    def digest_name(self, call: ast.Call) -> tuple[str, Any] | None:
        """The digest's control-plane name and type for a ``digest<T>(receiver, data)`` call."""
        targ: Any = call.type_args[0] if call.type_args else None
        if targ is None and len(call.args) >= 2:
            targ = getattr(call.args[1].expr, "type", None)
        if targ is None:
            return None
        d = decl_of(targ)
        if isinstance(d, (ast.StructDecl, ast.TypedefDecl, ast.EnumDecl)):
            return control_plane_name(d), targ
        key = id(call)
        name = self.digest_names.get(key)
        if name is None:
            name = f"digest_{len(self.digest_names)}"
            self.digest_names[key] = name
        return name, targ

    def add_digest(self, call: ast.Call) -> None:
        dn = self.digest_name(call)
        if dn is None:
            return
        name, targ = dn
        ident = self.symbols.id(ids.DIGEST, name)
        if ident in self.serialized_externs:
            return
        self.serialized_externs.add(ident)
        msg = self.p4info.digests.add()
        set_preamble(msg.preamble, ident, name, self.symbols.alias(name), [])
        msg.type_spec.CopyFrom(self.types.convert(targ))

    def add_controller_header(self, d: ast.StructDecl) -> None:
        if is_hidden(d.annotations):
            return
        a = get_annotation(d.annotations, "controller_header")
        cname = annotation_string(a) if a is not None else None
        if cname is None:
            raise CompileError(d.loc, "@controller_header needs a string argument")
        ident = self.symbols.id(ids.CONTROLLER_HEADER, control_plane_name(d))
        msg = self.p4info.controller_packet_metadata.add()
        set_preamble(msg.preamble, ident, cname, cname, d.annotations)
        fields = flatten_header(d)
        fids = ids.FieldIds([id_annotation(annos) for _n, _t, annos in fields])
        for i, (fname, ftype, annos) in enumerate(fields):
            if is_hidden(annos):
                continue
            m = msg.metadata.add()
            m.id = fids[i]
            m.name = fname
            add_annotations(m, annos)
            m.bitwidth = type_width(ftype)
            self.types.convert(ftype)
            self.type_info()
            tn = type_name_of(ftype)
            if tn:
                m.type_name.name = tn



# --------------------------------------------------------------------------------------------
# Small helpers
