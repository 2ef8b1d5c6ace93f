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

from google.protobuf import json_format, text_format
from p4.config.v1 import p4info_pb2

from . import ast
from . import p4info_ids as ids
from .elaborate import (
    ActionInstance,
    BlockInstance,
    Elaboration,
    ExternInstance,
    PackageInstance,
    TableInstance,
    control_plane_name,
    elaborate,
    live_walk,
)
from .errors import CompileError, CompileErrors, Loc
from .p4info_annotations import (
    add_annotations,
    add_documentation,
    has_annotation,
    id_annotation,
    key_name,  # noqa: F401 - re-exported for the engine's code generator
)
from .p4info_digests import _DigestGen
from .p4info_externs import _extern_prefix, _ExternGen
from .p4info_tables import DEFAULT_TABLE_SIZE, _entry_action, _TableGen  # noqa: F401 - re-exported
from .p4info_types import (
    TypeSpecs,
    check_translation_annotations,
)

ARCH = "v1model"



# --------------------------------------------------------------------------------------------
# The generator


class _Gen(_TableGen, _ExternGen, _DigestGen):
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
