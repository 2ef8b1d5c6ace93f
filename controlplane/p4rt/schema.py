"""P4Info as a typed schema: everything above this module speaks names, never ids.

:class:`P4Schema` wraps one ``P4Info`` and indexes its objects by full name, alias and id::

    schema = P4Schema(p4info)
    t = schema.tables["dmac"]                 # alias or "I.dmac"
    t.match_fields["hdr.ethernet.dst"].bitwidth
    schema.actions["forward"].params["port"].bitwidth
    schema.digests["learn_t"].fields          # [("src", 48), ("port", 9)]

An unknown name raises :class:`SchemaError` listing close matches. Multicast groups and clone
sessions are not in P4Info (they are identified by number), so the schema has nothing for them.

This is the project's one P4Info index: the embedded target's P4Runtime server looks objects up
by id through it too (``softswitch.p4runtime.p4info_index``), with its own error codes. Each
object keeps its P4Info message as ``proto`` for what the schema does not spell out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2, p4types_pb2

__all__ = [
    "ActionInfo",
    "ActionProfileInfo",
    "ControllerPacketMetadataInfo",
    "CounterInfo",
    "DigestInfo",
    "DirectCounterInfo",
    "DirectMeterInfo",
    "MatchFieldInfo",
    "MeterInfo",
    "Named",
    "ObjectIndex",
    "P4Schema",
    "ParamInfo",
    "RegisterInfo",
    "SchemaError",
    "TableInfo",
    "TypeSpec",
    "ValueSetInfo",
]

MATCH_KINDS = {
    p4info_pb2.MatchField.EXACT: "exact",
    p4info_pb2.MatchField.LPM: "lpm",
    p4info_pb2.MatchField.TERNARY: "ternary",
    p4info_pb2.MatchField.RANGE: "range",
    p4info_pb2.MatchField.OPTIONAL: "optional",
}
_UNITS = {
    p4info_pb2.CounterSpec.PACKETS: "packets",
    p4info_pb2.CounterSpec.BYTES: "bytes",
    p4info_pb2.CounterSpec.BOTH: "both",
}
_METER_UNITS = {p4info_pb2.MeterSpec.PACKETS: "packets", p4info_pb2.MeterSpec.BYTES: "bytes"}


class SchemaError(LookupError):
    """A name or id that the P4Info does not have, or a value the schema cannot place."""


T = TypeVar("T")


class ObjectIndex(Generic[T]):
    """Objects of one kind, found by full name, alias or id (``index["dmac"]``)."""

    def __init__(self, kind: str, items: list[T] | None = None) -> None:
        self.kind = kind
        self._items: list[T] = []
        self._by_name: dict[str, T] = {}
        self._by_id: dict[int, T] = {}
        self._aliases: dict[str, list[T]] = {}
        for item in items or []:
            self.add(item)

    def add(self, item: T) -> None:
        """Index ``item`` (it has ``id``, ``name`` and ``alias``)."""
        self._items.append(item)
        self._by_name[item.name] = item  # type: ignore[attr-defined]
        self._by_id[item.id] = item  # type: ignore[attr-defined]
        for alias in {item.alias, item.name.rsplit(".", 1)[-1]}:  # type: ignore[attr-defined]
            if alias and alias != item.name:  # type: ignore[attr-defined]
                self._aliases.setdefault(alias, []).append(item)

    def __getitem__(self, key: str | int) -> T:
        if isinstance(key, int):
            try:
                return self._by_id[key]
            except KeyError:
                raise self._missing(f"no {self.kind} with id {key}") from None
        found = self.get(key)
        if found is not None:
            return found
        if len(self._aliases.get(key, ())) > 1:
            names = ", ".join(sorted(i.name for i in self._aliases[key]))  # type: ignore[attr-defined]
            raise self._missing(f"{self.kind} name {key!r} is ambiguous: {names}")
        raise self._missing(self._unknown(key))

    def _missing(self, message: str) -> Exception:
        """What a failed lookup raises (a server's index raises its own status instead)."""
        return SchemaError(message)

    def get(self, key: str | int) -> T | None:
        """The object or None (an ambiguous alias is None too)."""
        if isinstance(key, int):
            return self._by_id.get(key)
        if key in self._by_name:
            return self._by_name[key]
        matches = self._aliases.get(key, [])
        return matches[0] if len(matches) == 1 else None

    def _unknown(self, key: str) -> str:
        names = sorted(set(self._by_name) | set(self._aliases))
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        msg = f"no {self.kind} named {key!r}"
        if close:
            return msg + f" (did you mean {', '.join(repr(c) for c in close)}?)"
        if not names:
            return msg + " (there are none)"
        shown = ", ".join(sorted(self._by_name)[:10])
        return msg + f" (known: {shown}{', ...' if len(self._by_name) > 10 else ''})"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (str, int)) and self.get(key) is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<{len(self._items)} {self.kind}(s): {', '.join(self.names()[:8])}>"

    def names(self) -> list[str]:
        """Full names, in P4Info order."""
        return [i.name for i in self._items]  # type: ignore[attr-defined]


# -- types (P4Data layouts) -----------------------------------------------------------------------


@dataclass(frozen=True)
class TypeSpec:
    """A ``P4DataTypeSpec`` resolved against ``type_info``: ``kind`` is ``"bits"`` (with
    ``bitwidth`` and ``signed``), ``"varbit"``, ``"bool"``, ``"struct"``, ``"header"`` (with
    ``members``), ``"tuple"`` (with ``elements``), ``"enum"``, ``"error"`` or ``"other"``."""

    kind: str
    name: str = ""
    bitwidth: int = 0
    signed: bool = False
    members: tuple[tuple[str, TypeSpec], ...] = ()
    elements: tuple[TypeSpec, ...] = ()

    @classmethod
    def from_proto(cls, spec: p4types_pb2.P4DataTypeSpec, info: p4types_pb2.P4TypeInfo) -> TypeSpec:
        """Resolve ``spec`` (named structs and headers are looked up in ``info``)."""
        which = spec.WhichOneof("type_spec")
        if which == "bitstring":
            return _bitstring(spec.bitstring)
        if which == "bool":
            return cls("bool", bitwidth=1)
        if which == "tuple":
            return cls("tuple", elements=tuple(cls.from_proto(m, info) for m in spec.tuple.members))
        if which == "struct":
            name = spec.struct.name
            if name not in info.structs:
                raise SchemaError(f"struct {name!r} is not in the P4Info's type_info")
            members = tuple(
                (m.name, cls.from_proto(m.type_spec, info)) for m in info.structs[name].members
            )
            return cls("struct", name=name, members=members)
        if which == "header":
            name = spec.header.name
            if name not in info.headers:
                raise SchemaError(f"header {name!r} is not in the P4Info's type_info")
            members = tuple((m.name, _bitstring(m.type_spec)) for m in info.headers[name].members)
            return cls("header", name=name, members=members)
        if which == "serializable_enum":
            name = spec.serializable_enum.name
            width = info.serializable_enums[name].underlying_type.bitwidth
            return cls("bits", name=name, bitwidth=width)
        if which == "new_type":
            name = spec.new_type.name
            nt = info.new_types.get(name)
            if nt is not None and nt.WhichOneof("representation") == "original_type":
                return cls.from_proto(nt.original_type, info)
            return cls("other", name=name)
        if which in ("enum", "error"):
            return cls(which, name=getattr(spec, which).name if which == "enum" else "error")
        return cls("other", name=which or "")

    @property
    def fields(self) -> list[tuple[str, int]]:
        """``(name, bitwidth)`` of each member of a flat struct or header (0 for non-bits)."""
        return [(n, t.bitwidth) for n, t in self.members]


def _bitstring(bs: p4types_pb2.P4BitstringLikeTypeSpec) -> TypeSpec:
    which = bs.WhichOneof("type_spec")
    if which == "bit":
        return TypeSpec("bits", bitwidth=bs.bit.bitwidth)
    if which == "int":
        return TypeSpec("bits", bitwidth=bs.int.bitwidth, signed=True)
    if which == "varbit":
        return TypeSpec("varbit", bitwidth=bs.varbit.max_bitwidth)
    return TypeSpec("other")


# -- objects --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    """Any P4Info object: its preamble and its P4Info message (``proto``)."""

    id: int
    name: str
    alias: str
    annotations: tuple[str, ...]
    proto: Any = field(default=None, compare=False, repr=False)  # the P4Info message


def _named(msg: Any) -> dict[str, Any]:
    pre = msg.preamble
    return {
        "id": pre.id,
        "name": pre.name,
        "alias": pre.alias,
        "annotations": tuple(pre.annotations),
        "proto": msg,
    }


@dataclass(frozen=True)
class MatchFieldInfo:
    """One match field: ``kind`` is ``exact``, ``lpm``, ``ternary``, ``range`` or ``optional``;
    ``translation`` is ``"sdn_bitwidth"`` or ``"sdn_string"`` for a ``@p4runtime_translation``
    type."""

    id: int
    name: str
    bitwidth: int
    kind: str
    translation: str | None = None

    @property
    def alias(self) -> str:
        """The last component of the name (``hdr.ethernet.dst`` -> ``dst``)."""
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ParamInfo:
    """One action parameter (or controller metadata field); ``translation`` as for
    :class:`MatchFieldInfo`."""

    id: int
    name: str
    bitwidth: int
    translation: str | None = None

    @property
    def alias(self) -> str:
        """Parameters have no aliases; the name itself."""
        return self.name


@dataclass(frozen=True)
class ActionInfo(Named):
    """One action and its parameters (``params["port"]``)."""

    params: ObjectIndex[ParamInfo] = field(hash=False, compare=False, default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class TableInfo(Named):
    """One table: match fields, the actions it allows and the resources attached to it."""

    match_fields: ObjectIndex[MatchFieldInfo] = field(hash=False, compare=False, default=None)  # type: ignore[assignment]
    actions: ObjectIndex[ActionInfo] = field(hash=False, compare=False, default=None)  # type: ignore[assignment]
    table_only: frozenset[str] = frozenset()  # action names that cannot be default actions
    default_only: frozenset[str] = frozenset()  # action names only for the default action
    const_default_action: str | None = None
    initial_default_action: str | None = None
    implementation: str | None = None  # action profile name
    direct_counter: str | None = None
    direct_meter: str | None = None
    size: int = 0
    idle_timeout: bool = False
    is_const: bool = False

    @property
    def needs_priority(self) -> bool:
        """Whether entries need a priority (any ternary, range or optional field)."""
        return any(f.kind in ("ternary", "range", "optional") for f in self.match_fields)


@dataclass(frozen=True)
class ActionProfileInfo(Named):
    """An action profile or selector and the tables that use it."""

    tables: tuple[str, ...] = ()
    with_selector: bool = False
    size: int = 0
    max_group_size: int = 0


@dataclass(frozen=True)
class CounterInfo(Named):
    """An indexed counter array; ``unit`` is ``packets``, ``bytes`` or ``both``."""

    unit: str = "both"
    size: int = 0


@dataclass(frozen=True)
class DirectCounterInfo(Named):
    """A direct counter and its table."""

    unit: str = "both"
    table: str = ""


@dataclass(frozen=True)
class MeterInfo(Named):
    """An indexed meter array; ``unit`` is ``packets`` or ``bytes``."""

    unit: str = "packets"
    size: int = 0


@dataclass(frozen=True)
class DirectMeterInfo(Named):
    """A direct meter and its table."""

    unit: str = "packets"
    table: str = ""


@dataclass(frozen=True)
class RegisterInfo(Named):
    """A register array; ``type`` is the cell type (usually ``bits`` of ``bitwidth``)."""

    size: int = 0
    type: TypeSpec = TypeSpec("other")

    @property
    def bitwidth(self) -> int:
        """The cell width for bit-string registers."""
        return self.type.bitwidth


@dataclass(frozen=True)
class ValueSetInfo(Named):
    """A parser value set; ``match`` lists its fields (often unnamed: found by id)."""

    match: ObjectIndex[MatchFieldInfo] = field(hash=False, compare=False, default=None)  # type: ignore[assignment]
    size: int = 0


@dataclass(frozen=True)
class DigestInfo(Named):
    """A digest and the layout of its data (``type``, usually a struct)."""

    type: TypeSpec = TypeSpec("other")

    @property
    def fields(self) -> list[tuple[str, int]]:
        """``(name, bitwidth)`` of the struct's members."""
        return self.type.fields


@dataclass(frozen=True)
class ControllerPacketMetadataInfo(Named):
    """The ``packet_in`` or ``packet_out`` header: its metadata fields by name."""

    metadata: ObjectIndex[ParamInfo] = field(hash=False, compare=False, default=None)  # type: ignore[assignment]


# -- the schema -----------------------------------------------------------------------------------


class P4Schema:
    """A P4Info, indexed (see the module docstring). ``p4info`` is kept as :attr:`p4info`."""

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        self.arch = p4info.pkg_info.arch
        ti = p4info.type_info
        self._translated = {
            name: "sdn_string" if nt.translated_type.HasField("sdn_string") else "sdn_bitwidth"
            for name, nt in ti.new_types.items()
            if nt.HasField("translated_type")
        }
        self.actions: ObjectIndex[ActionInfo] = ObjectIndex("action")
        for a in p4info.actions:
            params = ObjectIndex(f"parameter of action {a.preamble.name}", self._params(a.params))
            self.actions.add(ActionInfo(**_named(a), params=params))
        names = {o.preamble.id: o.preamble.name for o in _all_objects(p4info)}

        self.tables: ObjectIndex[TableInfo] = ObjectIndex("table")
        for t in p4info.tables:
            self.tables.add(self._table(t, names))

        self.action_profiles: ObjectIndex[ActionProfileInfo] = ObjectIndex("action profile")
        for ap in p4info.action_profiles:
            self.action_profiles.add(
                ActionProfileInfo(
                    **_named(ap),
                    tables=tuple(names.get(i, str(i)) for i in ap.table_ids),
                    with_selector=ap.with_selector,
                    size=ap.size,
                    max_group_size=ap.max_group_size,
                )
            )
        self.counters: ObjectIndex[CounterInfo] = ObjectIndex(
            "counter",
            [
                CounterInfo(**_named(c), unit=_UNITS.get(c.spec.unit, "both"), size=c.size)
                for c in p4info.counters
            ],
        )
        self.direct_counters: ObjectIndex[DirectCounterInfo] = ObjectIndex(
            "direct counter",
            [
                DirectCounterInfo(
                    **_named(c),
                    unit=_UNITS.get(c.spec.unit, "both"),
                    table=names.get(c.direct_table_id, ""),
                )
                for c in p4info.direct_counters
            ],
        )
        self.meters: ObjectIndex[MeterInfo] = ObjectIndex(
            "meter",
            [
                MeterInfo(**_named(m), unit=_METER_UNITS.get(m.spec.unit, "packets"), size=m.size)
                for m in p4info.meters
            ],
        )
        self.direct_meters: ObjectIndex[DirectMeterInfo] = ObjectIndex(
            "direct meter",
            [
                DirectMeterInfo(
                    **_named(m),
                    unit=_METER_UNITS.get(m.spec.unit, "packets"),
                    table=names.get(m.direct_table_id, ""),
                )
                for m in p4info.direct_meters
            ],
        )
        self.registers: ObjectIndex[RegisterInfo] = ObjectIndex(
            "register",
            [
                RegisterInfo(**_named(r), size=r.size, type=TypeSpec.from_proto(r.type_spec, ti))
                for r in p4info.registers
            ],
        )
        self.value_sets: ObjectIndex[ValueSetInfo] = ObjectIndex("value set")
        for vs in p4info.value_sets:
            fields = self._match_fields(vs.match, unknown_kind="exact")
            self.value_sets.add(
                ValueSetInfo(
                    **_named(vs),
                    match=ObjectIndex(f"field of value set {vs.preamble.name}", fields),
                    size=vs.size,
                )
            )
        self.digests: ObjectIndex[DigestInfo] = ObjectIndex(
            "digest",
            [
                DigestInfo(**_named(d), type=TypeSpec.from_proto(d.type_spec, ti))
                for d in p4info.digests
            ],
        )
        self.controller_packet_metadata: ObjectIndex[ControllerPacketMetadataInfo] = ObjectIndex(
            "controller packet metadata",
            [
                ControllerPacketMetadataInfo(
                    **_named(c),
                    metadata=ObjectIndex(
                        f"metadata of {c.preamble.name}", self._params(c.metadata)
                    ),
                )
                for c in p4info.controller_packet_metadata
            ],
        )

    def _table(self, t: p4info_pb2.Table, names: dict[int, str]) -> TableInfo:
        fields = ObjectIndex(
            f"match field of table {t.preamble.name}",
            self._match_fields(t.match_fields, unknown_kind="other"),
        )
        actions: ObjectIndex[ActionInfo] = ObjectIndex(f"action of table {t.preamble.name}")
        table_only, default_only = set(), set()
        for ref in t.action_refs:
            a = self.actions.get(ref.id)
            if a is None:
                continue
            actions.add(a)
            if ref.scope == p4info_pb2.ActionRef.TABLE_ONLY:
                table_only.add(a.name)
            elif ref.scope == p4info_pb2.ActionRef.DEFAULT_ONLY:
                default_only.add(a.name)
        direct_counter = direct_meter = None
        for rid in t.direct_resource_ids:
            n = names.get(rid)
            if n is None:
                continue
            if any(c.preamble.id == rid for c in self.p4info.direct_counters):
                direct_counter = n
            else:
                direct_meter = n
        const_default = initial_default = None
        if t.const_default_action_id:
            const_default = names.get(t.const_default_action_id)
        if t.HasField("initial_default_action"):
            initial_default = names.get(t.initial_default_action.action_id)
        return TableInfo(
            **_named(t),
            match_fields=fields,
            actions=actions,
            table_only=frozenset(table_only),
            default_only=frozenset(default_only),
            const_default_action=const_default,
            initial_default_action=initial_default or const_default,
            implementation=names.get(t.implementation_id) if t.implementation_id else None,
            direct_counter=direct_counter,
            direct_meter=direct_meter,
            size=t.size,
            idle_timeout=t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL,
            is_const=t.is_const_table,
        )

    def _translation(self, msg: Any) -> str | None:
        """``@p4runtime_translation`` of a field's ``type_name``, if its type has one."""
        return self._translated.get(msg.type_name.name) if msg.HasField("type_name") else None

    def _params(self, msgs: Any) -> list[ParamInfo]:
        return [ParamInfo(m.id, m.name, m.bitwidth, self._translation(m)) for m in msgs]

    def _match_fields(self, msgs: Any, unknown_kind: str) -> list[MatchFieldInfo]:
        # value-set fields are often unnamed: their id stands in for the name
        return [
            MatchFieldInfo(
                m.id,
                m.name or str(m.id),
                m.bitwidth,
                MATCH_KINDS.get(m.match_type, unknown_kind),
                self._translation(m),
            )
            for m in msgs
        ]

    # -- construction helpers -----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> P4Schema:
        """A schema from a P4Info file (text format, or binary when it does not parse as text)."""
        data = Path(path).read_bytes()
        p4info = p4info_pb2.P4Info()
        try:
            text_format.Parse(data.decode("utf-8"), p4info)
        except (UnicodeDecodeError, text_format.ParseError):
            p4info = p4info_pb2.P4Info.FromString(data)
        return cls(p4info)

    # -- lookups --------------------------------------------------------------------------------

    @property
    def packet_in(self) -> ControllerPacketMetadataInfo | None:
        """The ``packet_in`` controller header, if the program has one."""
        return self.controller_packet_metadata.get("packet_in")

    @property
    def packet_out(self) -> ControllerPacketMetadataInfo | None:
        """The ``packet_out`` controller header, if the program has one."""
        return self.controller_packet_metadata.get("packet_out")

    def name_of(self, obj_id: int) -> str:
        """The full name of any P4Info object by id (``SchemaError`` if unknown)."""
        for idx in self._indexes():
            found = idx.get(obj_id)
            if found is not None:
                return found.name  # type: ignore[attr-defined]
        raise SchemaError(f"no P4Info object with id {obj_id}")

    def _indexes(self) -> list[ObjectIndex[Any]]:
        return [
            self.tables,
            self.actions,
            self.action_profiles,
            self.counters,
            self.direct_counters,
            self.meters,
            self.direct_meters,
            self.registers,
            self.value_sets,
            self.digests,
            self.controller_packet_metadata,
        ]

    def __repr__(self) -> str:
        return (
            f"P4Schema({self.arch or 'unknown arch'}: {len(self.tables)} tables, "
            f"{len(self.actions)} actions, {len(self.digests)} digests)"
        )


def _all_objects(p4info: p4info_pb2.P4Info) -> Iterator[Any]:
    for kind in (
        "tables",
        "actions",
        "action_profiles",
        "counters",
        "direct_counters",
        "meters",
        "direct_meters",
        "controller_packet_metadata",
        "value_sets",
        "registers",
        "digests",
    ):
        yield from getattr(p4info, kind)
