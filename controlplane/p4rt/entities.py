"""P4Runtime entities as plain dataclasses, by name; ``encode(schema)`` gives the protobuf,
``decode(msg, schema)`` reads one back. Testable without a switch::

    entry = TableEntry("dmac", {"hdr.ethernet.dst": "02:00:00:00:00:01"}, "forward", {"port": 1})
    msg = entry.encode(schema)                    # p4.v1.Entity
    TableEntry.decode(msg, schema)                # match and params decoded to integers

Decoded values are integers (and tuples for LPM ``(value, prefix_len)``, ternary ``(value,
mask)`` and range ``(low, high)``), keyed by the full field and parameter names; use
:meth:`normalized` to compare an app-written entity with one read back. Fields that match
anything are omitted on encode, as the spec requires, and absent after decode.

Stream messages: :class:`PacketOut` (encode), :class:`PacketIn`, :class:`DigestList` (data
decoded into dicts by field name) and :class:`IdleTimeoutNotification` (decode).
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Protocol

from p4.v1 import p4data_pb2, p4runtime_pb2

from .schema import MatchFieldInfo, P4Schema, SchemaError, TableInfo, TypeSpec
from .values import decode_int, encode_int, parse_int, parse_lpm, parse_range, parse_ternary

__all__ = [
    "ActionProfileGroup",
    "ActionProfileMember",
    "CloneSession",
    "CounterData",
    "CounterEntry",
    "DigestEntry",
    "DigestList",
    "DirectCounterEntry",
    "DirectMeterEntry",
    "Entity",
    "IdleTimeoutNotification",
    "MeterConfig",
    "MeterEntry",
    "MulticastGroup",
    "PacketIn",
    "PacketOut",
    "RegisterEntry",
    "TableEntry",
    "Update",
    "UpdateType",
    "ValueSetEntry",
    "WeightedAction",
    "decode_entity",
    "decode_p4data",
    "encode_p4data",
]

P4Entity = p4runtime_pb2.Entity


class _ShortRepr:
    """``repr`` without the fields left at their defaults (entities have many)."""

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if f.default is not MISSING and v == f.default:
                continue
            if f.default_factory is not MISSING and v == f.default_factory():
                continue
            parts.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class UpdateType(enum.IntEnum):
    """``p4.v1.Update.Type``."""

    INSERT = p4runtime_pb2.Update.INSERT
    MODIFY = p4runtime_pb2.Update.MODIFY
    DELETE = p4runtime_pb2.Update.DELETE


class Entity(Protocol):
    """What every entity dataclass offers."""

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        ...


@dataclass
class Update:
    """One update of a Write: ``type`` and an entity (dataclass or ``p4.v1.Entity``)."""

    type: UpdateType
    entity: Any

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Update:
        """The ``p4.v1.Update``."""
        ent = self.entity if isinstance(self.entity, P4Entity) else self.entity.encode(schema)
        return p4runtime_pb2.Update(type=int(self.type), entity=ent)


def _inner(msg: Any, kind: str, cls_name: str) -> Any:
    """``msg`` itself, or its ``kind`` when it is a ``p4.v1.Entity``."""
    if isinstance(msg, P4Entity):
        if msg.WhichOneof("entity") != kind:
            raise ValueError(f"{cls_name}.decode: the entity is a {msg.WhichOneof('entity')}")
        return getattr(msg, kind)
    return msg


# -- match fields and params ----------------------------------------------------------------------


def encode_field_match(f: MatchFieldInfo, value: Any) -> p4runtime_pb2.FieldMatch | None:
    """One ``FieldMatch``, or None when ``value`` matches anything (the field is omitted)."""
    fm = p4runtime_pb2.FieldMatch(field_id=f.id)
    w = f.bitwidth
    try:
        if f.kind == "exact":
            fm.exact.value = encode_int(parse_int(value, w))
        elif f.kind == "lpm":
            v, plen = parse_lpm(value, w)
            if plen == 0:
                return None
            fm.lpm.value, fm.lpm.prefix_len = encode_int(v), plen
        elif f.kind == "ternary":
            v, m = parse_ternary(value, w)
            if m == 0:
                return None
            fm.ternary.value, fm.ternary.mask = encode_int(v), encode_int(m)
        elif f.kind == "range":
            lo, hi = parse_range(value, w)
            if lo == 0 and hi == (1 << w) - 1:
                return None
            fm.range.low, fm.range.high = encode_int(lo), encode_int(hi)
        elif f.kind == "optional":
            if value is None:
                return None
            fm.optional.value = encode_int(parse_int(value, w))
        else:
            raise ValueError(f"match kind {f.kind!r} is not supported")
    except ValueError as exc:
        raise ValueError(f"match field {f.name} ({f.kind}, {w} bits): {exc}") from None
    return fm


def decode_field_match(fm: p4runtime_pb2.FieldMatch) -> Any:
    """A ``FieldMatch`` as an integer or a tuple (see the module docstring)."""
    kind = fm.WhichOneof("field_match_type")
    if kind == "exact":
        return decode_int(fm.exact.value)
    if kind == "lpm":
        return decode_int(fm.lpm.value), fm.lpm.prefix_len
    if kind == "ternary":
        return decode_int(fm.ternary.value), decode_int(fm.ternary.mask)
    if kind == "range":
        return decode_int(fm.range.low), decode_int(fm.range.high)
    if kind == "optional":
        return decode_int(fm.optional.value)
    raise ValueError(f"field match {fm.field_id}: unsupported kind {kind!r}")


def _encode_match(fields: Any, match: dict[str, Any], where: str) -> list[Any]:
    out = []
    seen: set[int] = set()
    for name, value in match.items():
        f = fields[name]
        if f.id in seen:
            raise ValueError(f"{where}: match field {f.name} given twice")
        seen.add(f.id)
        fm = encode_field_match(f, value)
        if fm is not None:
            out.append(fm)
    out.sort(key=lambda m: m.field_id)
    return out


def _decode_match(fields: Any, msgs: Any) -> dict[str, Any]:
    return {fields[m.field_id].name: decode_field_match(m) for m in msgs}


def _encode_action(
    schema: P4Schema, name: str, params: dict[str, Any], table: TableInfo | None
) -> p4runtime_pb2.Action:
    a = table.actions[name] if table is not None else schema.actions[name]
    msg = p4runtime_pb2.Action(action_id=a.id)
    given = {a.params[k].name: v for k, v in params.items()}
    missing = [p.name for p in a.params if p.name not in given]
    if missing:
        raise ValueError(f"action {a.name}: missing parameter(s) {', '.join(missing)}")
    for p in a.params:
        try:
            v = parse_int(given[p.name], p.bitwidth)
        except ValueError as exc:
            raise ValueError(f"action {a.name}: parameter {p.name}: {exc}") from None
        msg.params.add(param_id=p.id, value=encode_int(v))
    return msg


def _decode_action(schema: P4Schema, msg: p4runtime_pb2.Action) -> tuple[str, dict[str, int]]:
    a = schema.actions[msg.action_id]
    return a.name, {a.params[p.param_id].name: decode_int(p.value) for p in msg.params}


# -- P4Data ---------------------------------------------------------------------------------------


def decode_p4data(data: p4data_pb2.P4Data, spec: TypeSpec | None = None) -> Any:
    """A ``P4Data`` as Python: int, bool, dict (struct, header; ``None`` for an invalid header),
    list (tuple); ``spec`` names the members of structs and headers."""
    kind = data.WhichOneof("data")
    if kind == "bitstring":
        v = decode_int(data.bitstring)
        if spec is not None and spec.signed and v >> (spec.bitwidth - 1):
            v -= 1 << spec.bitwidth
        return v
    if kind == "bool":
        return data.bool
    if kind == "varbit":
        return decode_int(data.varbit.bitstring)
    if kind == "tuple":
        specs = spec.elements if spec is not None else ()
        return [
            decode_p4data(m, specs[i] if i < len(specs) else None)
            for i, m in enumerate(data.tuple.members)
        ]
    if kind in ("struct", "header"):
        msg = getattr(data, kind)
        if kind == "header" and not msg.is_valid:
            return None
        values = msg.members if kind == "struct" else msg.bitstrings
        names = [n for n, _ in spec.members] if spec is not None else []
        out: dict[str, Any] = {}
        for i, m in enumerate(values):
            name = names[i] if i < len(names) else str(i)
            sub = spec.members[i][1] if spec is not None and i < len(spec.members) else None
            out[name] = decode_p4data(m, sub) if kind == "struct" else decode_int(m)
        return out
    if kind in ("enum", "error"):
        return getattr(data, kind)
    if kind == "enum_value":
        return decode_int(data.enum_value)
    return None


def encode_p4data(value: Any, spec: TypeSpec) -> p4data_pb2.P4Data:
    """Python ``value`` as ``P4Data`` of type ``spec`` (ints accept every form of
    :func:`~.values.parse_int`)."""
    out = p4data_pb2.P4Data()
    if spec.kind == "bits":
        v = value
        if spec.signed and isinstance(v, int) and v < 0:
            v += 1 << spec.bitwidth
        out.bitstring = encode_int(parse_int(v, spec.bitwidth))
    elif spec.kind == "bool":
        out.bool = bool(value)
    elif spec.kind == "struct":
        if not isinstance(value, dict):
            raise ValueError(f"struct {spec.name}: expected a dict, got {value!r}")
        for name, sub in spec.members:
            if name not in value:
                raise ValueError(f"struct {spec.name}: missing member {name}")
            out.struct.members.add().CopyFrom(encode_p4data(value[name], sub))
    elif spec.kind == "header":
        out.header.is_valid = value is not None
        for name, sub in spec.members:
            v = (value or {}).get(name, 0)
            out.header.bitstrings.append(encode_int(parse_int(v, sub.bitwidth)))
    elif spec.kind == "tuple":
        for v, sub in zip(value, spec.elements, strict=True):
            out.tuple.members.add().CopyFrom(encode_p4data(v, sub))
    else:
        raise ValueError(f"cannot encode a value of type {spec.kind} {spec.name}".strip())
    return out


# -- tables ---------------------------------------------------------------------------------------


@dataclass
class CounterData:
    """Packet and byte counts."""

    packets: int = 0
    bytes: int = 0

    def encode(self) -> p4runtime_pb2.CounterData:
        """``p4.v1.CounterData``."""
        return p4runtime_pb2.CounterData(packet_count=self.packets, byte_count=self.bytes)

    @classmethod
    def decode(cls, msg: p4runtime_pb2.CounterData) -> CounterData:
        """From ``p4.v1.CounterData``."""
        return cls(msg.packet_count, msg.byte_count)


@dataclass
class MeterConfig:
    """Two-rate three-colour meter settings (rates per second, bursts in the meter's unit)."""

    cir: int
    cburst: int
    pir: int
    pburst: int
    eburst: int = 0

    def encode(self) -> p4runtime_pb2.MeterConfig:
        """``p4.v1.MeterConfig``."""
        return p4runtime_pb2.MeterConfig(
            cir=self.cir, cburst=self.cburst, pir=self.pir, pburst=self.pburst, eburst=self.eburst
        )

    @classmethod
    def decode(cls, msg: p4runtime_pb2.MeterConfig) -> MeterConfig:
        """From ``p4.v1.MeterConfig``."""
        return cls(msg.cir, msg.cburst, msg.pir, msg.pburst, msg.eburst)


@dataclass
class WeightedAction:
    """One action of a one-shot action set."""

    action: str
    params: dict[str, Any] = field(default_factory=dict)
    weight: int = 1


@dataclass(repr=False)
class TableEntry(_ShortRepr):
    """A table entry by names. ``table=None`` reads every table; an empty ``match`` with
    ``is_default=True`` is the default entry. The action is one of: ``action`` + ``params``,
    ``member_id``, ``group_id`` or ``action_set`` (one-shot)."""

    table: str | None = None
    match: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    is_default: bool = False
    idle_timeout_ns: int = 0
    counter_data: CounterData | None = None
    meter_config: MeterConfig | None = None
    member_id: int | None = None
    group_id: int | None = None
    action_set: list[WeightedAction] | None = None
    metadata: bytes = b""
    controller_metadata: int = 0
    time_since_last_hit_ns: int | None = None
    is_const: bool = False

    kind: ClassVar[str] = "table_entry"

    def encode_inner(self, schema: P4Schema) -> p4runtime_pb2.TableEntry:
        """The ``p4.v1.TableEntry``."""
        msg = p4runtime_pb2.TableEntry()
        if self.table is None:
            return msg
        t = schema.tables[self.table]
        msg.table_id = t.id
        msg.match.extend(_encode_match(t.match_fields, self.match, f"table {t.name}"))
        if self.action is not None:
            msg.action.action.CopyFrom(_encode_action(schema, self.action, self.params, t))
        elif self.member_id is not None:
            msg.action.action_profile_member_id = self.member_id
        elif self.group_id is not None:
            msg.action.action_profile_group_id = self.group_id
        elif self.action_set is not None:
            aset = msg.action.action_profile_action_set
            for wa in self.action_set:
                aset.action_profile_actions.add(
                    action=_encode_action(schema, wa.action, wa.params, t), weight=wa.weight
                )
        msg.priority = self.priority
        msg.is_default_action = self.is_default
        msg.idle_timeout_ns = self.idle_timeout_ns
        if self.counter_data is not None:
            msg.counter_data.CopyFrom(self.counter_data.encode())
        if self.meter_config is not None:
            msg.meter_config.CopyFrom(self.meter_config.encode())
        msg.metadata = self.metadata
        msg.controller_metadata = self.controller_metadata
        return msg

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        return P4Entity(table_entry=self.encode_inner(schema))

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> TableEntry:
        """From a ``p4.v1.TableEntry`` (or an Entity holding one)."""
        te = _inner(msg, "table_entry", cls.__name__)
        if not te.table_id:
            return cls()
        t = schema.tables[te.table_id]
        out = cls(t.name, _decode_match(t.match_fields, te.match))
        which = te.action.WhichOneof("type") if te.HasField("action") else None
        if which == "action":
            out.action, out.params = _decode_action(schema, te.action.action)
        elif which == "action_profile_member_id":
            out.member_id = te.action.action_profile_member_id
        elif which == "action_profile_group_id":
            out.group_id = te.action.action_profile_group_id
        elif which == "action_profile_action_set":
            out.action_set = []
            for pa in te.action.action_profile_action_set.action_profile_actions:
                name, params = _decode_action(schema, pa.action)
                out.action_set.append(WeightedAction(name, params, pa.weight))
        out.priority = te.priority
        out.is_default = te.is_default_action
        out.idle_timeout_ns = te.idle_timeout_ns
        if te.HasField("counter_data"):
            out.counter_data = CounterData.decode(te.counter_data)
        if te.HasField("meter_config"):
            out.meter_config = MeterConfig.decode(te.meter_config)
        if te.HasField("time_since_last_hit"):
            out.time_since_last_hit_ns = te.time_since_last_hit.elapsed_ns
        out.metadata = te.metadata
        out.controller_metadata = te.controller_metadata
        out.is_const = te.is_const
        return out

    def normalized(self, schema: P4Schema) -> TableEntry:
        """This entry as it reads back: names in full, values as integers."""
        return type(self).decode(self.encode(schema), schema)

    def key(self) -> TableEntry:
        """Only the identity of the entry (table, match, priority, default): for delete."""
        return TableEntry(
            self.table, dict(self.match), priority=self.priority, is_default=self.is_default
        )


@dataclass(repr=False)
class ActionProfileMember(_ShortRepr):
    """A member of an action profile."""

    profile: str | None = None
    member_id: int = 0
    action: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.ActionProfileMember(member_id=self.member_id)
        if self.profile is not None:
            msg.action_profile_id = schema.action_profiles[self.profile].id
        if self.action is not None:
            msg.action.CopyFrom(_encode_action(schema, self.action, self.params, None))
        return P4Entity(action_profile_member=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> ActionProfileMember:
        """From a ``p4.v1.ActionProfileMember`` (or an Entity)."""
        m = _inner(msg, "action_profile_member", cls.__name__)
        out = cls(
            schema.action_profiles[m.action_profile_id].name if m.action_profile_id else None,
            m.member_id,
        )
        if m.HasField("action"):
            out.action, out.params = _decode_action(schema, m.action)
        return out


@dataclass(repr=False)
class ActionProfileGroup(_ShortRepr):
    """A group of an action selector: ``members`` as member ids or ``(member_id, weight)``."""

    profile: str | None = None
    group_id: int = 0
    members: list[Any] = field(default_factory=list)
    max_size: int = 0

    def __post_init__(self) -> None:
        self.members = [(m, 1) if isinstance(m, int) else tuple(m) for m in self.members]

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.ActionProfileGroup(group_id=self.group_id, max_size=self.max_size)
        if self.profile is not None:
            msg.action_profile_id = schema.action_profiles[self.profile].id
        for mid, weight in self.members:
            msg.members.add(member_id=mid, weight=weight)
        return P4Entity(action_profile_group=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> ActionProfileGroup:
        """From a ``p4.v1.ActionProfileGroup`` (or an Entity)."""
        g = _inner(msg, "action_profile_group", cls.__name__)
        return cls(
            schema.action_profiles[g.action_profile_id].name if g.action_profile_id else None,
            g.group_id,
            [(m.member_id, m.weight) for m in g.members],
            g.max_size,
        )


# -- externs --------------------------------------------------------------------------------------


def _index(msg: Any, index: int | None) -> None:
    if index is not None:
        msg.index.index = index


def _decoded_index(msg: Any) -> int | None:
    return msg.index.index if msg.HasField("index") else None


@dataclass(repr=False)
class CounterEntry(_ShortRepr):
    """A counter cell; ``counter=None`` reads all counters, ``index=None`` all cells."""

    counter: str | None = None
    index: int | None = None
    data: CounterData | None = None

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.CounterEntry()
        if self.counter is not None:
            msg.counter_id = schema.counters[self.counter].id
        _index(msg, self.index)
        if self.data is not None:
            msg.data.CopyFrom(self.data.encode())
        return P4Entity(counter_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> CounterEntry:
        """From a ``p4.v1.CounterEntry`` (or an Entity)."""
        c = _inner(msg, "counter_entry", cls.__name__)
        return cls(
            schema.counters[c.counter_id].name if c.counter_id else None,
            _decoded_index(c),
            CounterData.decode(c.data) if c.HasField("data") else None,
        )


@dataclass(repr=False)
class DirectCounterEntry(_ShortRepr):
    """The direct counter of one table entry (``table_entry`` gives table and match)."""

    table_entry: TableEntry = field(default_factory=TableEntry)
    data: CounterData | None = None

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.DirectCounterEntry()
        msg.table_entry.CopyFrom(self.table_entry.key().encode_inner(schema))
        if self.data is not None:
            msg.data.CopyFrom(self.data.encode())
        return P4Entity(direct_counter_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> DirectCounterEntry:
        """From a ``p4.v1.DirectCounterEntry`` (or an Entity)."""
        d = _inner(msg, "direct_counter_entry", cls.__name__)
        return cls(
            TableEntry.decode(d.table_entry, schema),
            CounterData.decode(d.data) if d.HasField("data") else None,
        )


@dataclass(repr=False)
class MeterEntry(_ShortRepr):
    """A meter cell's config; ``meter=None`` reads all meters, ``index=None`` all cells."""

    meter: str | None = None
    index: int | None = None
    config: MeterConfig | None = None

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.MeterEntry()
        if self.meter is not None:
            msg.meter_id = schema.meters[self.meter].id
        _index(msg, self.index)
        if self.config is not None:
            msg.config.CopyFrom(self.config.encode())
        return P4Entity(meter_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> MeterEntry:
        """From a ``p4.v1.MeterEntry`` (or an Entity)."""
        m = _inner(msg, "meter_entry", cls.__name__)
        return cls(
            schema.meters[m.meter_id].name if m.meter_id else None,
            _decoded_index(m),
            MeterConfig.decode(m.config) if m.HasField("config") else None,
        )


@dataclass(repr=False)
class DirectMeterEntry(_ShortRepr):
    """The direct meter config of one table entry."""

    table_entry: TableEntry = field(default_factory=TableEntry)
    config: MeterConfig | None = None

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.DirectMeterEntry()
        msg.table_entry.CopyFrom(self.table_entry.key().encode_inner(schema))
        if self.config is not None:
            msg.config.CopyFrom(self.config.encode())
        return P4Entity(direct_meter_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> DirectMeterEntry:
        """From a ``p4.v1.DirectMeterEntry`` (or an Entity)."""
        d = _inner(msg, "direct_meter_entry", cls.__name__)
        return cls(
            TableEntry.decode(d.table_entry, schema),
            MeterConfig.decode(d.config) if d.HasField("config") else None,
        )


@dataclass(repr=False)
class RegisterEntry(_ShortRepr):
    """A register cell; ``register=None`` reads all registers, ``index=None`` all cells.
    ``value`` is an int for bit-string registers (a dict for struct-typed ones)."""

    register: str | None = None
    index: int | None = None
    value: Any = None

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.RegisterEntry()
        if self.register is not None:
            info = schema.registers[self.register]
            msg.register_id = info.id
            if self.value is not None:
                try:
                    msg.data.CopyFrom(encode_p4data(self.value, info.type))
                except ValueError as exc:
                    raise ValueError(f"register {info.name}: {exc}") from None
        _index(msg, self.index)
        return P4Entity(register_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> RegisterEntry:
        """From a ``p4.v1.RegisterEntry`` (or an Entity)."""
        r = _inner(msg, "register_entry", cls.__name__)
        if not r.register_id:
            return cls(None, _decoded_index(r))
        info = schema.registers[r.register_id]
        value = decode_p4data(r.data, info.type) if r.HasField("data") else None
        return cls(info.name, _decoded_index(r), value)


@dataclass(repr=False)
class ValueSetEntry(_ShortRepr):
    """The members of a parser value set: each a value (one-field sets) or a dict by field
    name or id; decoded members are plain values for one-field sets, else dicts."""

    value_set: str | None = None
    members: list[Any] = field(default_factory=list)

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.ValueSetEntry()
        if self.value_set is not None:
            info = schema.value_sets[self.value_set]
            msg.value_set_id = info.id
            fields = list(info.match)
            for m in self.members:
                if isinstance(m, dict):
                    given = {str(k): v for k, v in m.items()}
                elif len(fields) == 1:
                    given = {fields[0].name: m}
                else:
                    raise ValueError(
                        f"value set {info.name} has {len(fields)} fields: give members as dicts"
                    )
                member = msg.members.add()
                member.match.extend(_encode_match(info.match, given, f"value set {info.name}"))
        return P4Entity(value_set_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> ValueSetEntry:
        """From a ``p4.v1.ValueSetEntry`` (or an Entity)."""
        v = _inner(msg, "value_set_entry", cls.__name__)
        if not v.value_set_id:
            return cls()
        info = schema.value_sets[v.value_set_id]
        members: list[Any] = []
        for m in v.members:
            d = _decode_match(info.match, m.match)
            members.append(next(iter(d.values())) if len(info.match) == 1 and len(d) == 1 else d)
        return cls(info.name, members)


@dataclass(repr=False)
class DigestEntry(_ShortRepr):
    """A digest's configuration (``digest=None`` reads all)."""

    digest: str | None = None
    max_timeout_ns: int = 0
    max_list_size: int = 1
    ack_timeout_ns: int = 1_000_000_000

    def encode(self, schema: P4Schema) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity``."""
        msg = p4runtime_pb2.DigestEntry()
        if self.digest is not None:
            msg.digest_id = schema.digests[self.digest].id
            cfg = msg.config
            cfg.max_timeout_ns = self.max_timeout_ns
            cfg.max_list_size = self.max_list_size
            cfg.ack_timeout_ns = self.ack_timeout_ns
        return P4Entity(digest_entry=msg)

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema) -> DigestEntry:
        """From a ``p4.v1.DigestEntry`` (or an Entity)."""
        d = _inner(msg, "digest_entry", cls.__name__)
        if not d.digest_id:
            return cls()
        c = d.config
        return cls(
            schema.digests[d.digest_id].name, c.max_timeout_ns, c.max_list_size, c.ack_timeout_ns
        )


# -- packet replication ---------------------------------------------------------------------------


def _replicas(items: list[Any]) -> list[tuple[int, int]]:
    return [(r, 0) if isinstance(r, int) else (int(r[0]), int(r[1])) for r in items]


@dataclass(repr=False)
class MulticastGroup(_ShortRepr):
    """A multicast group: ``replicas`` as ports or ``(port, instance)`` pairs."""

    group_id: int = 0
    replicas: list[Any] = field(default_factory=list)
    metadata: bytes = b""

    def __post_init__(self) -> None:
        self.replicas = _replicas(self.replicas)

    def encode(self, schema: P4Schema | None = None) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity`` (the schema is not needed)."""
        msg = p4runtime_pb2.MulticastGroupEntry(
            multicast_group_id=self.group_id, metadata=self.metadata
        )
        for port, instance in self.replicas:
            msg.replicas.add(egress_port=port, instance=instance)
        return P4Entity(
            packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
                multicast_group_entry=msg
            )
        )

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema | None = None) -> MulticastGroup:
        """From a ``p4.v1.MulticastGroupEntry`` (or an Entity)."""
        if isinstance(msg, P4Entity):
            msg = msg.packet_replication_engine_entry.multicast_group_entry
        return cls(msg.multicast_group_id, [_replica(r) for r in msg.replicas], msg.metadata)


def _replica(r: p4runtime_pb2.Replica) -> tuple[int, int]:
    port = decode_int(r.port) if r.WhichOneof("port_kind") == "port" else r.egress_port
    return port, r.instance


@dataclass(repr=False)
class CloneSession(_ShortRepr):
    """A clone (mirror) session."""

    session_id: int = 0
    replicas: list[Any] = field(default_factory=list)
    class_of_service: int = 0
    packet_length_bytes: int = 0

    def __post_init__(self) -> None:
        self.replicas = _replicas(self.replicas)

    def encode(self, schema: P4Schema | None = None) -> p4runtime_pb2.Entity:
        """The ``p4.v1.Entity`` (the schema is not needed)."""
        msg = p4runtime_pb2.CloneSessionEntry(
            session_id=self.session_id,
            class_of_service=self.class_of_service,
            packet_length_bytes=self.packet_length_bytes,
        )
        for port, instance in self.replicas:
            msg.replicas.add(egress_port=port, instance=instance)
        return P4Entity(
            packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
                clone_session_entry=msg
            )
        )

    @classmethod
    def decode(cls, msg: Any, schema: P4Schema | None = None) -> CloneSession:
        """From a ``p4.v1.CloneSessionEntry`` (or an Entity)."""
        if isinstance(msg, P4Entity):
            msg = msg.packet_replication_engine_entry.clone_session_entry
        return cls(
            msg.session_id,
            [_replica(r) for r in msg.replicas],
            msg.class_of_service,
            msg.packet_length_bytes,
        )


# -- dispatch -------------------------------------------------------------------------------------

_DECODERS: dict[str, Any] = {
    "table_entry": TableEntry,
    "action_profile_member": ActionProfileMember,
    "action_profile_group": ActionProfileGroup,
    "counter_entry": CounterEntry,
    "direct_counter_entry": DirectCounterEntry,
    "meter_entry": MeterEntry,
    "direct_meter_entry": DirectMeterEntry,
    "register_entry": RegisterEntry,
    "value_set_entry": ValueSetEntry,
    "digest_entry": DigestEntry,
}


def decode_entity(msg: p4runtime_pb2.Entity, schema: P4Schema) -> Any:
    """Any ``p4.v1.Entity`` as its dataclass."""
    kind = msg.WhichOneof("entity")
    if kind == "packet_replication_engine_entry":
        pre = msg.packet_replication_engine_entry
        if pre.WhichOneof("type") == "multicast_group_entry":
            return MulticastGroup.decode(pre.multicast_group_entry)
        return CloneSession.decode(pre.clone_session_entry)
    cls = _DECODERS.get(kind or "")
    if cls is None:
        raise ValueError(f"cannot decode a {kind or 'empty'} entity")
    return cls.decode(getattr(msg, kind), schema)


# -- stream messages ------------------------------------------------------------------------------


def _is_padding(name: str, annotations: tuple[str, ...] = ()) -> bool:
    return name.startswith("_pad") or "@padding" in annotations


@dataclass(repr=False)
class PacketOut(_ShortRepr):
    """A packet for the switch to inject; ``metadata`` by name (padding may be left out)."""

    payload: bytes
    metadata: dict[str, Any] = field(default_factory=dict)

    def encode(self, schema: P4Schema) -> p4runtime_pb2.PacketOut:
        """The ``p4.v1.PacketOut``."""
        msg = p4runtime_pb2.PacketOut(payload=bytes(self.payload))
        hdr = schema.packet_out
        if hdr is None:
            if self.metadata:
                raise SchemaError("the program has no packet_out header: metadata not allowed")
            return msg
        given = {hdr.metadata[k].name: v for k, v in self.metadata.items()}
        for m in hdr.metadata:
            if m.name not in given:
                if _is_padding(m.name):
                    continue
                raise ValueError(f"packet_out: missing metadata {m.name}")
            try:
                v = parse_int(given[m.name], m.bitwidth)
            except ValueError as exc:
                raise ValueError(f"packet_out metadata {m.name}: {exc}") from None
            msg.metadata.add(metadata_id=m.id, value=encode_int(v))
        return msg

    @classmethod
    def decode(cls, msg: p4runtime_pb2.PacketOut, schema: P4Schema) -> PacketOut:
        """From a ``p4.v1.PacketOut``."""
        return cls(msg.payload, _decode_metadata(schema.packet_out, msg.metadata))


def _decode_metadata(hdr: Any, items: Any) -> dict[str, int]:
    if hdr is None:
        return {}
    out = {}
    for md in items:
        info = hdr.metadata.get(md.metadata_id)
        out[info.name if info is not None else str(md.metadata_id)] = decode_int(md.value)
    return out


@dataclass(repr=False)
class PacketIn(_ShortRepr):
    """A packet from the switch; ``metadata`` by name."""

    payload: bytes
    metadata: dict[str, int] = field(default_factory=dict)

    def encode(self, schema: P4Schema) -> p4runtime_pb2.PacketIn:
        """The ``p4.v1.PacketIn`` (for tests and fake switches)."""
        msg = p4runtime_pb2.PacketIn(payload=bytes(self.payload))
        hdr = schema.packet_in
        for name, v in self.metadata.items():
            if hdr is None:
                raise SchemaError("the program has no packet_in header")
            m = hdr.metadata[name]
            msg.metadata.add(metadata_id=m.id, value=encode_int(parse_int(v, m.bitwidth)))
        return msg

    @classmethod
    def decode(cls, msg: p4runtime_pb2.PacketIn, schema: P4Schema) -> PacketIn:
        """From a ``p4.v1.PacketIn``."""
        return cls(msg.payload, _decode_metadata(schema.packet_in, msg.metadata))


@dataclass(repr=False)
class DigestList(_ShortRepr):
    """A list of digest messages, each decoded (a dict by field name for struct digests).
    Acknowledge it with ``SwitchConnection.ack_digest``."""

    digest: str
    list_id: int
    data: list[Any] = field(default_factory=list)
    timestamp: int = 0
    digest_id: int = 0

    @classmethod
    def decode(cls, msg: p4runtime_pb2.DigestList, schema: P4Schema) -> DigestList:
        """From a ``p4.v1.DigestList``."""
        info = schema.digests[msg.digest_id]
        return cls(
            info.name,
            msg.list_id,
            [decode_p4data(d, info.type) for d in msg.data],
            msg.timestamp,
            msg.digest_id,
        )

    def encode(self, schema: P4Schema) -> p4runtime_pb2.DigestList:
        """The ``p4.v1.DigestList`` (for tests and fake switches)."""
        info = schema.digests[self.digest]
        msg = p4runtime_pb2.DigestList(
            digest_id=info.id, list_id=self.list_id, timestamp=self.timestamp
        )
        for d in self.data:
            msg.data.add().CopyFrom(encode_p4data(d, info.type))
        return msg


@dataclass(repr=False)
class IdleTimeoutNotification(_ShortRepr):
    """Entries that went idle (keys, metadata and ``idle_timeout_ns``)."""

    entries: list[TableEntry] = field(default_factory=list)
    timestamp: int = 0

    @classmethod
    def decode(
        cls, msg: p4runtime_pb2.IdleTimeoutNotification, schema: P4Schema
    ) -> IdleTimeoutNotification:
        """From a ``p4.v1.IdleTimeoutNotification``."""
        return cls([TableEntry.decode(t, schema) for t in msg.table_entry], msg.timestamp)
