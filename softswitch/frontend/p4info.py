"""P4Info generation: the control-plane API of a checked program, as p4c emits it.

:func:`build_p4info` elaborates the program (:mod:`.elaborate`) and reproduces what p4c's
P4Runtime serializer produces after its front end (p4c-bm2-ss and p4test serialise P4Info right
after the front end), for the v1model architecture:

* two passes as in p4c: first every control-plane symbol is collected (including objects that
  are never serialised, such as ``@hidden`` ones and undeclared direct resources), then ids are
  assigned (:mod:`.p4info_ids`) and the message is filled in;
* objects are visited breadth-first from the top level (global extern instances, then the
  package's parsers and controls, then their tables and extern instances), which fixes the order
  of every repeated field;
* a control's actions are the global actions its tables use (first use first), then its own
  actions (nested instances inlined in place), deduplicated by id;
* annotations other than ``@name``, ``@id``, ``@brief`` and ``@description`` are printed back as
  written (tokens separated by one space), structured ones go to ``structured_annotations``;
* type specs and ``type_info`` follow p4c's ``TypeSpecConverter``.

:func:`write_p4runtime_files` writes a message in the format each file name's extension asks for.
"""

from __future__ import annotations

import os
from typing import Any

from google.protobuf import json_format, text_format
from p4.config.v1 import p4info_pb2

from . import ast
from . import p4info_ids as ids
from .constfold import try_const_value
from .elaborate import (
    ActionInstance,
    BlockInstance,
    Elaboration,
    ExternInstance,
    PackageInstance,
    TableInstance,
    ValueSetInstance,
    annotation_string,
    control_plane_name,
    elaborate,
    live_walk,
)
from .errors import CompileError, CompileErrors, Loc
from .p4info_annotations import (
    add_annotations,
    add_documentation,
    annotation_int,
    get_annotation,
    has_annotation,
    id_annotation,
    is_hidden,
    key_name,
    set_preamble,
)
from .p4info_types import (
    TypeSpecs,
    check_translation_annotations,
    decl_of,
    flatten_header,
    follow_typedefs,
    resolve,
    type_name_of,
    type_width,
    value_bytes,
    width_bits,
)

DEFAULT_TABLE_SIZE = 1024
ARCH = "v1model"

_COUNTER_UNITS = {"packets": "PACKETS", "bytes": "BYTES", "packets_and_bytes": "BOTH"}
_METER_UNITS = {"packets": "PACKETS", "bytes": "BYTES"}
_MATCH_TYPES = {
    "exact": p4info_pb2.MatchField.EXACT,
    "lpm": p4info_pb2.MatchField.LPM,
    "ternary": p4info_pb2.MatchField.TERNARY,
    "range": p4info_pb2.MatchField.RANGE,
    "optional": p4info_pb2.MatchField.OPTIONAL,
}


# --------------------------------------------------------------------------------------------
# The generator


class _Gen:
    def __init__(self, program: ast.Program):
        self.program = program
        self.p4info = p4info_pb2.P4Info()
        self.symbols = ids.SymbolTable()
        self.types = TypeSpecs(self.p4info, program)
        self.serialized_actions: set[int] = set()
        self.serialized_externs: set[int] = set()
        self.digest_names: dict[int, str] = {}
        self.profile_tables: dict[str, set[str]] = {}
        self.name_locs: dict[str, list[Loc]] = {}
        self.errors: list[CompileError] = []

    # ---- helpers ---------------------------------------------------------------------------

    def type_info(self) -> None:
        self.p4info.type_info.SetInParent()

    def control_actions(self, blk: BlockInstance) -> list[tuple[ActionInstance, bool]]:
        """A control's actions after p4c's action localisation, each with whether it keeps its
        parameters: global actions it uses (first use first: tables in order, then calls in the
        apply body), then its own used actions. p4c gives every use its own copy of an action;
        the copy for a direct call loses all its parameters, a table's copy keeps the
        directionless ones, and the first copy is the one serialised."""
        order: list[ActionInstance] = []
        seen: set[int] = set()
        in_table: set[int] = set()

        def note(a: ActionInstance, table: bool) -> None:
            if table:
                in_table.add(id(a))
            if a.block is None and id(a) not in seen:
                seen.add(id(a))
                order.append(a)

        for t in blk.tables():
            for r in t.actions:
                note(r.action, True)
            if t.default_action is not None:
                note(t.default_action.action, True)
            for e in t.entries or ():
                a = _entry_action(t, e)
                if a is not None:
                    note(a, True)
        for bc in blk.inlined_calls():
            if bc.kind == "action":
                note(bc.target, False)
        order.extend(a for a in blk.local_actions() if a.used)
        return [(a, id(a) in in_table) for a in order]

    def extern_calls(self, blk: BlockInstance) -> list[ast.Call]:
        """Extern function calls p4c finds in a control after inlining: in its actions (in
        order, with actions they call inlined), then in its apply body."""
        out: list[ast.Call] = []
        for act, _keep in self.control_actions(blk):
            out.extend(_calls_in(act.decl.body))
        for bc in blk.inlined_calls():
            if bc.kind == "call":
                d = getattr(bc.call.func, "decl", None)
                if isinstance(d, ast.FunctionDecl):
                    out.extend(_calls_in(d.body))
                else:
                    out.append(bc.call)
        return [c for c in out if _is_extern_function(c)]

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

    # ---- pass 1: symbols -------------------------------------------------------------------

    def check_action_names(self, elab: Elaboration) -> None:
        """p4c's DuplicateActionControlPlaneNameCheck: two different action declarations whose
        control-plane names (``@name``, made absolute by the enclosing control) coincide."""
        first: dict[str, ast.ActionDecl] = {}
        clashes: list[tuple[ast.ActionDecl, ast.ActionDecl, str]] = []
        for inst in elab.walk_blocks():
            if not (isinstance(inst, BlockInstance) and inst.inst_name is None and inst.is_control):
                continue
            for act, _keep in self.control_actions(inst):
                other = first.setdefault(act.cp_name, act.decl)
                if other is not act.decl and all(c[1] is not act.decl for c in clashes):
                    clashes.append((other, act.decl, act.cp_name))

        def pos(d: ast.ActionDecl) -> tuple[str, int, int]:
            loc = d.loc
            return (loc.file, loc.line, loc.col) if loc is not None else ("", 0, 0)

        for a, b, name in clashes:
            earlier, later = (a, b) if pos(a) <= pos(b) else (b, a)
            where = f" (also the name of action {earlier.name} at {earlier.loc})" if earlier.loc else ""
            self.errors.append(CompileError(
                later.loc,
                f"{later.name}: conflicting control plane name: {name}{where}",
            ))
        if self.errors:
            raise CompileErrors(self.errors)

    def collect(self, elab: Elaboration) -> None:
        self.check_action_names(elab)
        sym = self.symbols
        # Where each control-plane name was declared, so duplicate-name errors can be located.
        for inst in elab.walk_blocks():
            node = getattr(inst, "decl", None) or getattr(inst, "node", None)
            name = getattr(inst, "cp_name", None)
            if name and node is not None and node.loc is not None:
                self.name_locs.setdefault(name, []).append(node.loc)
        for inst in elab.walk_blocks():
            if isinstance(inst, BlockInstance) and inst.inst_name is None:
                if inst.is_control:
                    for act, _keep in self.control_actions(inst):
                        sym.add(ids.ACTION, act.cp_name, id_annotation(act.annotations))
                    for call in self.extern_calls(inst):
                        if _call_name(call) == "digest":
                            dn = self.digest_name(call)
                            if dn is not None:
                                sym.add(ids.DIGEST, dn[0])
                else:
                    for vs in inst.value_sets():
                        if vs.used:
                            sym.add(ids.VALUE_SET, vs.cp_name, id_annotation(vs.annotations))
            elif isinstance(inst, ExternInstance) and not inst.in_place:
                prefix = _extern_prefix(inst.type_name)
                if prefix is not None:
                    sym.add(prefix, inst.cp_name, id_annotation(inst.annotations))
            elif isinstance(inst, TableInstance):
                sym.add(ids.TABLE, inst.cp_name, id_annotation(inst.annotations))
                for ext, prefix in (
                    (inst.implementation, ids.ACTION_PROFILE),
                    (inst.counters, ids.DIRECT_COUNTER),
                    (inst.meters, ids.DIRECT_METER),
                ):
                    if ext is not None and ext.in_place and ext.cp_name:
                        sym.add(prefix, ext.cp_name)
        for d in self.program.decls:
            if isinstance(d, ast.StructDecl) and d.flavor == "header":
                if has_annotation(d.annotations, "controller_header"):
                    sym.add(ids.CONTROLLER_HEADER, control_plane_name(d),
                            id_annotation(d.annotations))
        for msg in sym.errors:
            raise CompileError(None, msg)
        sym.assign_ids()
        # Action profiles: which tables use each one.
        for inst in elab.walk_blocks():
            if isinstance(inst, TableInstance) and inst.implementation is not None:
                self.profile_tables.setdefault(inst.implementation.cp_name, set()).add(
                    inst.cp_name
                )

    # ---- pass 2: messages ------------------------------------------------------------------

    def build(self, elab: Elaboration) -> None:
        for inst in elab.walk_blocks():
            if isinstance(inst, BlockInstance) and inst.inst_name is None:
                if inst.is_control:
                    self.add_control(inst)
                else:
                    for vs in inst.value_sets():
                        if vs.used:
                            self.add_value_set(vs)
            elif isinstance(inst, ExternInstance) and not inst.in_place:
                self.add_extern(inst)
            elif isinstance(inst, TableInstance):
                self.add_table(inst)
        for d in self.program.decls:
            if isinstance(d, ast.StructDecl) and d.flavor == "header":
                if has_annotation(d.annotations, "controller_header"):
                    self.add_controller_header(d)
        self.add_pkg_info(elab.main)
        self.check_duplicates()

    def check_duplicates(self) -> None:
        """p4c refuses a program in which two objects of one kind share a name."""
        kinds = (
            ("tables", "table"),
            ("actions", "action"),
            ("action_profiles", "action profile"),
            ("counters", "counter"),
            ("direct_counters", "direct counter"),
            ("meters", "meter"),
            ("direct_meters", "direct meter"),
            ("controller_packet_metadata", "controller packet metadata"),
            ("value_sets", "value set"),
            ("registers", "register"),
            ("digests", "digest"),
        )
        errors = []
        for field_name, what in kinds:
            seen: set[str] = set()
            for item in getattr(self.p4info, field_name):
                name = item.preamble.name
                if name in seen:
                    locs = self.name_locs.get(name, [])
                    loc = locs[1] if len(locs) > 1 else (locs[0] if locs else None)
                    errors.append(
                        CompileError(loc, f"Name '{name}' is used for multiple {what} objects "
                                          "in the P4Info message")
                    )
                seen.add(name)
        if errors:
            raise CompileErrors(errors)

    def add_control(self, blk: BlockInstance) -> None:
        for act, keep in self.control_actions(blk):
            self.add_action(act, keep)
        for call in self.extern_calls(blk):
            self.type_info()
            if _call_name(call) == "digest":
                self.add_digest(call)

    def add_action(self, act: ActionInstance, keep_params: bool = True) -> None:
        if is_hidden(act.annotations):
            return
        ident = self.symbols.id(ids.ACTION, act.cp_name)
        if ident in self.serialized_actions:
            return
        self.serialized_actions.add(ident)
        msg = self.p4info.actions.add()
        set_preamble(msg.preamble, ident, act.cp_name, self.symbols.alias(act.cp_name),
                     act.annotations)
        params = [p for p in act.decl.params if not p.direction] if keep_params else []
        fids = ids.FieldIds([id_annotation(p.annotations) for p in params])
        for i, p in enumerate(params):
            pm = msg.params.add()
            pm.id = fids[i]
            pm.name = control_plane_name(p)
            add_annotations(pm, p.annotations)
            add_documentation(pm, p.annotations)
            ptype = follow_typedefs(resolve(p.ptype))
            d = decl_of(ptype)
            is_enum = isinstance(d, ast.EnumDecl) and d.underlying is None
            if not (
                isinstance(ptype, (ast.TypeBits, ast.TypeBool))
                or isinstance(d, ast.EnumDecl)
                or (isinstance(d, ast.TypedefDecl) and d.newtype)
            ):
                self.errors.append(CompileError(
                    p.loc, f"Action parameter {p.name} has a type which is not bit<>, int<>, "
                    "bool, type or serializable enum"))
                msg.params.pop()
                continue
            if not is_enum:
                pm.bitwidth = type_width(ptype)
            self.types.convert(ptype)
            self.type_info()
            tn = type_name_of(ptype)
            if tn:
                pm.type_name.name = tn
            elif is_enum:
                pm.type_name.name = control_plane_name(d)

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

    def add_table(self, t: TableInstance) -> None:
        if is_hidden(t.annotations):
            return
        da = t.default_action
        if da is None:
            raise CompileError(t.decl.loc, f"table {t.name} has no default action")
        self.type_info()
        msg = self.p4info.tables.add()
        set_preamble(msg.preamble, self.symbols.id(ids.TABLE, t.cp_name), t.cp_name,
                     self.symbols.alias(t.cp_name), t.annotations)
        size = t.size if isinstance(t.size, int) and not isinstance(t.size, bool) else None
        msg.size = size if size else DEFAULT_TABLE_SIZE
        act_id = self.symbols.id(ids.ACTION, da.action.cp_name)
        if da.const:
            msg.const_default_action_id = act_id
        ida = msg.initial_default_action
        ida.action_id = act_id
        params = [p for p in da.action.decl.params if not p.direction]
        index = 0
        param_id = 1
        for arg in _control_plane_args(da.action.decl.params, da.args):
            value = _arg_bytes(arg.expr, params[index] if index < len(params) else None)
            if value is None:
                continue
            p = params[index] if index < len(params) else None
            index += 1
            a = ida.arguments.add()
            pid = id_annotation(p.annotations) if p is not None else None
            a.param_id = pid if pid is not None else param_id
            param_id += 1
            a.value = value
        for ref in t.actions:
            ar = msg.action_refs.add()
            ar.id = self.symbols.id(ids.ACTION, ref.action.cp_name)
            add_annotations(ar, ref.annotations)
            if has_annotation(ref.annotations, "tableonly"):
                ar.scope = p4info_pb2.ActionRef.TABLE_ONLY
            elif has_annotation(ref.annotations, "defaultonly"):
                ar.scope = p4info_pb2.ActionRef.DEFAULT_ONLY
        fids = ids.FieldIds([id_annotation(k.annotations) for k in t.keys])
        for i, k in enumerate(t.keys):
            if k.match_kind == "selector":
                continue
            mf = msg.match_fields.add()
            mf.id = fids[i]
            explicit = get_annotation(k.annotations, "name")
            name = annotation_string(explicit) if explicit is not None else key_name(k.expr)
            if name is None:
                raise CompileError(k.expr.loc,
                                   "complex key expression requires a @name annotation")
            mf.name = name
            add_annotations(mf, k.annotations)
            add_documentation(mf, k.annotations)
            ktype = getattr(k.expr, "type", None)
            mf.bitwidth = type_width(ktype)
            self.types.convert(ktype)
            mt = _MATCH_TYPES.get(k.match_kind)
            if mt is not None:
                mf.match_type = mt
            else:
                mf.other_match_type = k.match_kind
            tn = type_name_of(ktype)
            if tn:
                mf.type_name.name = tn
        if t.entries is not None and t.entries_const:
            msg.is_const_table = True
        if t.entries:
            msg.has_initial_entries = True
        # v1model table properties
        impl = t.implementation
        if impl is not None:
            msg.implementation_id = self.symbols.id(ids.ACTION_PROFILE, impl.cp_name)
            if impl.in_place:
                self.add_action_profile(impl)
        if t.counters is not None:
            c = t.counters
            msg.direct_resource_ids.append(self.symbols.id(ids.DIRECT_COUNTER, c.cp_name))
            dc = self.p4info.direct_counters.add()
            set_preamble(dc.preamble, self.symbols.id(ids.DIRECT_COUNTER, c.cp_name), c.cp_name,
                         self.symbols.alias(c.cp_name), [] if c.in_place else c.annotations)
            dc.spec.unit = _unit(c.args.get("type"), _COUNTER_UNITS, p4info_pb2.CounterSpec)
            dc.direct_table_id = self.symbols.id(ids.TABLE, t.cp_name)
        if t.meters is not None:
            m = t.meters
            msg.direct_resource_ids.append(self.symbols.id(ids.DIRECT_METER, m.cp_name))
            dm = self.p4info.direct_meters.add()
            set_preamble(dm.preamble, self.symbols.id(ids.DIRECT_METER, m.cp_name), m.cp_name,
                         self.symbols.alias(m.cp_name), [] if m.in_place else m.annotations)
            dm.spec.unit = _unit(m.args.get("type"), _METER_UNITS, p4info_pb2.MeterSpec)
            dm.direct_table_id = self.symbols.id(ids.TABLE, t.cp_name)
        if t.support_timeout:
            msg.idle_timeout_behavior = p4info_pb2.Table.NOTIFY_CONTROL

    def add_extern(self, e: ExternInstance) -> None:
        self.type_info()
        tn = e.type_name
        if tn == "counter":
            msg = self.p4info.counters.add()
            ident = self.symbols.id(ids.COUNTER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.spec.unit = _unit(e.args.get("type"), _COUNTER_UNITS, p4info_pb2.CounterSpec)
            msg.size = _int_arg(e.args.get("size"))
        elif tn == "meter":
            msg = self.p4info.meters.add()
            ident = self.symbols.id(ids.METER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.spec.unit = _unit(e.args.get("type"), _METER_UNITS, p4info_pb2.MeterSpec)
            msg.size = _int_arg(e.args.get("size"))
        elif tn == "register":
            msg = self.p4info.registers.add()
            ident = self.symbols.id(ids.REGISTER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.size = _int_arg(e.args.get("size"))
            if e.type_args:
                msg.type_spec.CopyFrom(self.types.convert(e.type_args[0]))
        elif tn in ("action_profile", "action_selector"):
            self.add_action_profile(e)

    def add_action_profile(self, e: ExternInstance) -> None:
        ident = self.symbols.id(ids.ACTION_PROFILE, e.cp_name)
        msg = self.p4info.action_profiles.add()
        annos = e.annotations
        set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name), annos,
                     frozenset({"max_group_size", "selector_size_semantics",
                                "max_member_weight"}))
        selector = e.type_name == "action_selector"
        msg.with_selector = selector
        msg.size = _int_arg(e.args.get("size"))
        if selector:
            a = get_annotation(annos, "max_group_size")
            if a is not None:
                v = annotation_int(a)
                if v is not None:
                    msg.max_group_size = v
            a = get_annotation(annos, "selector_size_semantics")
            if a is not None:
                s = (annotation_string(a) or "").upper()
                if s == "SUM_OF_WEIGHTS":
                    msg.sum_of_weights.SetInParent()
                elif s == "SUM_OF_MEMBERS":
                    msg.sum_of_members.SetInParent()
            a = get_annotation(annos, "max_member_weight")
            if a is not None and msg.HasField("sum_of_members"):
                v = annotation_int(a)
                if v is not None:
                    msg.sum_of_members.max_member_weight = v
        for tname in sorted(self.profile_tables.get(e.cp_name, ())):
            msg.table_ids.append(self.symbols.id(ids.TABLE, tname))

    def add_value_set(self, vs: ValueSetInstance) -> None:
        msg = self.p4info.value_sets.add()
        size = vs.size if isinstance(vs.size, int) else 0
        ident = self.symbols.id(ids.VALUE_SET, vs.cp_name)
        set_preamble(msg.preamble, ident, vs.cp_name, self.symbols.alias(vs.cp_name),
                     vs.annotations)
        msg.size = size
        et = follow_typedefs(resolve(vs.decl.elem))
        d = decl_of(et)
        if isinstance(et, ast.TypeBits):
            m = msg.match.add()
            m.id = 1
            m.bitwidth = et.size or 0
            m.match_type = p4info_pb2.MatchField.EXACT
        elif isinstance(d, ast.StructDecl):
            fids = ids.FieldIds([id_annotation(f.annotations) for f in d.fields])
            for i, f in enumerate(d.fields):
                ft = follow_typedefs(resolve(f.ftype))
                if not isinstance(ft, ast.TypeBits):
                    continue
                m = msg.match.add()
                m.id = fids[i]
                m.name = control_plane_name(f)
                m.bitwidth = ft.size or 0
                ma = get_annotation(f.annotations, "match")
                kind = "exact"
                if ma is not None:
                    if ma.exprs and isinstance(ma.exprs[0], ast.PathExpr):
                        kind = ma.exprs[0].name
                    elif ma.body:
                        kind = ma.body.strip()
                mt = _MATCH_TYPES.get(kind)
                if mt is not None:
                    m.match_type = mt
                else:
                    m.other_match_type = kind
                add_annotations(m, f.annotations, frozenset({"match"}))
                add_documentation(m, f.annotations)
        elif isinstance(d, ast.EnumDecl) and d.underlying is not None:
            w = width_bits(d.underlying)
            for i, mem in enumerate(d.members):
                m = msg.match.add()
                m.id = i + 1
                m.name = control_plane_name(mem)
                m.bitwidth = w
                m.match_type = p4info_pb2.MatchField.EXACT

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

    def add_pkg_info(self, main: PackageInstance | None) -> None:
        if main is None:
            return
        pkg = self.p4info.pkg_info
        pkg.arch = ARCH
        node = main.node
        annos = list(getattr(node, "annotations", None) or main.annotations)
        for a in annos:
            if a.name == "pkginfo":
                for kv in a.kvs or ():
                    if kv.key in ("name", "version", "organization", "contact", "url", "arch"):
                        v = kv.value
                        if isinstance(v, ast.StringLit):
                            setattr(pkg, kv.key, v.value)
            elif a.name == "platform_property":
                pp = pkg.platform_properties
                for kv in a.kvs or ():
                    if kv.key in (
                        "multicast_group_table_size",
                        "multicast_group_table_total_replicas",
                        "multicast_group_table_max_replicas_per_entry",
                    ) and isinstance(kv.value, ast.IntLit):
                        setattr(pp, kv.key, kv.value.value)
        add_annotations(pkg, annos, frozenset({"pkginfo", "platform_property"}))
        add_documentation(pkg, annos)


# --------------------------------------------------------------------------------------------
# Small helpers


def _extern_prefix(type_name: str) -> int | None:
    return {
        "counter": ids.COUNTER,
        "direct_counter": ids.DIRECT_COUNTER,
        "meter": ids.METER,
        "direct_meter": ids.DIRECT_METER,
        "action_profile": ids.ACTION_PROFILE,
        "action_selector": ids.ACTION_PROFILE,
        "register": ids.REGISTER,
    }.get(type_name)


def _unit(v: Any, names: dict[str, str], spec: Any) -> int:
    """The ``Unit`` enum value for a ``CounterType``/``MeterType`` member."""
    member = getattr(v, "member", None)
    n = names.get(member) if isinstance(member, str) else None
    return spec.Unit.Value(n) if n is not None else 0


def _int_arg(v: Any) -> int:
    """An integer constructor argument (0 when it is not one)."""
    if isinstance(v, bool) or not isinstance(v, int):
        return 0
    return v


def _arg_bytes(e: ast.Expr, param: ast.Parameter | None) -> bytes | None:
    """p4c's ``stringRepr`` of a default-action argument: the constant's value (a boolean as 0
    or 1, a serializable enum member as its value) in the bytes of the argument's width."""
    t = getattr(e, "type", None)
    if t is None or isinstance(t, ast.TypeInfInt):
        t = param.ptype if param is not None else None
    width = type_width(t) if t is not None else 0
    v = try_const_value(e)
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, int):
        return None
    return value_bytes(v, width)


def _control_plane_args(params: list[ast.Parameter], args: list[ast.Argument]
                        ) -> list[ast.Argument]:
    """The arguments of an action call that bind directionless parameters (p4c moves the
    others into the action body before serialising)."""
    if any(a.name for a in args):
        dl = {p.name for p in params if not p.direction}
        return [a for a in args if a.name in dl]
    out = []
    for i, a in enumerate(args):
        if i < len(params) and not params[i].direction:
            out.append(a)
    # Arguments of a table's action list are bound first; a default action supplies the rest.
    if len(args) < len([p for p in params if not p.direction]):
        return list(args)
    return out


def _entry_action(t: TableInstance, e: ast.Entry) -> ActionInstance | None:
    func = e.action.func if isinstance(e.action, ast.Call) else e.action
    name = getattr(func, "name", None)
    decl = getattr(func, "decl", None)
    for r in t.actions:
        if r.action.decl is decl or r.action.name == name:
            return r.action
    return None


def _call_name(c: ast.Call) -> str | None:
    f = c.func
    if isinstance(f, ast.PathExpr):
        return f.name
    return None


def _is_extern_function(c: ast.Call) -> bool:
    f = c.func
    if not isinstance(f, ast.PathExpr):
        return False
    d = f.decl
    if isinstance(d, ast.ExternFunctionDecl):
        # static_assert is evaluated and removed by p4c's front end.
        return d.name != "static_assert"
    return False


def _calls_in(node: ast.Node, depth: int = 0) -> list[ast.Call]:
    """Calls in ``node`` in source order, calls to actions and functions replaced by the calls
    in their bodies (p4c inlines both before serialising P4Info)."""
    out: list[ast.Call] = []
    if node is None or depth > 32:
        return out
    for n in _walk_ordered(node):
        if not isinstance(n, ast.Call):
            continue
        d = getattr(n.func, "decl", None)
        if isinstance(d, (ast.ActionDecl, ast.FunctionDecl)):
            out.extend(_calls_in(d.body, depth + 1))
            continue
        out.append(n)
    return out


def _walk_ordered(node: ast.Node) -> list[ast.Node]:
    """Post-order (arguments before the call that uses them), as p4c's visitors meet calls."""
    out: list[ast.Node] = []

    for n in live_walk(node):
        if isinstance(n, ast.Call):
            out.append(n)
    return out


# --------------------------------------------------------------------------------------------
# Entry points


def build_p4info(program: ast.Program, elab: Elaboration | None = None) -> p4info_pb2.P4Info:
    """The P4Info message p4c would emit for ``program`` (checked, v1model)."""
    if elab is None:
        elab = elaborate(program)
    gen = _Gen(program)
    errors = check_translation_annotations(program)
    if errors:
        raise CompileErrors(errors)
    if elab.main is None:
        return gen.p4info
    gen.collect(elab)
    gen.build(elab)
    if gen.errors:
        raise CompileErrors(gen.errors)
    return gen.p4info


_TEXT_HEADER = "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"


def p4info_text(p4info: p4info_pb2.P4Info) -> str:
    """The text format p4c writes (with its two header comment lines)."""
    return _TEXT_HEADER + text_format.MessageToString(p4info)


def write_p4runtime_files(p4info: p4info_pb2.P4Info, paths: list[str]) -> None:
    """Write ``p4info`` to each path, in the format its extension names: ``.txtpb``/``.txt``
    (text), ``.bin`` (binary) or ``.json`` (JSON)."""
    for path in paths:
        ext = os.path.splitext(path)[1].lower()
        if ext in (".txtpb", ".txt"):
            data = p4info_text(p4info).encode()
        elif ext == ".bin":
            data = p4info.SerializeToString()
        elif ext == ".json":
            data = json_format.MessageToJson(p4info, indent=2).encode() + b"\n"
        else:
            raise ValueError(
                f"{path}: unknown P4Runtime file kind; known suffixes are .bin, .txt, .json "
                "and .txtpb"
            )
        with open(path, "wb") as fh:
            fh.write(data)


__all__ = ["build_p4info", "p4info_text", "write_p4runtime_files"]
