"""P4Info for tables and actions: ``actions``, ``tables`` (keys, action refs, direct resources,
const entries) and parser ``value_sets``. A mixin of :class:`.p4info._Gen`.
"""

from __future__ import annotations

from p4.config.v1 import p4info_pb2

from . import ast
from . import p4info_ids as ids
from .constfold import try_const_value
from .elaborate import (
    ActionInstance,
    TableInstance,
    ValueSetInstance,
    annotation_string,
    control_plane_name,
)
from .errors import CompileError
from .p4info_annotations import (
    add_annotations,
    add_documentation,
    get_annotation,
    has_annotation,
    id_annotation,
    is_hidden,
    key_name,
    set_preamble,
)
from .p4info_externs import (
    _COUNTER_UNITS,
    _METER_UNITS,
    _unit,
)
from .p4info_types import (
    decl_of,
    follow_typedefs,
    resolve,
    type_name_of,
    type_width,
    value_bytes,
    width_bits,
)

DEFAULT_TABLE_SIZE = 1024

_MATCH_TYPES = {
    "exact": p4info_pb2.MatchField.EXACT,
    "lpm": p4info_pb2.MatchField.LPM,
    "ternary": p4info_pb2.MatchField.TERNARY,
    "range": p4info_pb2.MatchField.RANGE,
    "optional": p4info_pb2.MatchField.OPTIONAL,
}



class _TableGen:
    """Adds controls' actions, tables and value sets to the P4Info message."""

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



# --------------------------------------------------------------------------------------------
# Small helpers


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
