"""One lookup of a P4Info by id and by name, and the P4Runtime bytestring codec.

Everything the entity translation needs about an object sits in one small record (a table's
match fields by id, its action refs and scopes, an action's params...); the record keeps the
P4Info message too (``proto``). Lookups by id raise :class:`~.errors.P4RTError` ``NOT_FOUND``
naming the kind of object, so callers need no error handling of their own.

Bytestrings (spec section "Bytestrings"): big-endian; the server accepts any length whose value
fits the declared width (leading zero bytes allowed), rejects an empty string or a value that does
not fit, and answers with the canonical (shortest, at least one byte) form. The rejection code:
the general Bytestrings section says ``OUT_OF_RANGE``, while the sections on match fields and
action params (where nearly all bytestrings arrive) say ``INVALID_ARGUMENT``, which is also what
BMv2 (PI) answers; :func:`decode_bits` uses ``INVALID_ARGUMENT`` unless told otherwise. ``@p4runtime_translation`` types: a translated ``sdn_bitwidth`` is passed through (the
controller's value is used as the data-plane value and must fit the P4 width); ``sdn_string``
translation is not supported (``UNIMPLEMENTED``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from p4.config.v1 import p4info_pb2

from .errors import P4RTError

__all__ = [
    "ActionInfo",
    "FieldInfo",
    "Named",
    "P4InfoIndex",
    "TableInfo",
    "decode_bits",
    "decode_signed_bits",
    "encode_bits",
    "encode_signed_bits",
]

MatchType = p4info_pb2.MatchField.MatchType
Scope = p4info_pb2.ActionRef.Scope


def decode_bits(
    data: bytes,
    bitwidth: int,
    what: str = "value",
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> int:
    """The unsigned value of a P4Runtime bytestring expected to fit ``bit<bitwidth>``.

    Leading zero bytes are accepted; an empty string or a value wider than ``bitwidth`` bits
    raises ``code`` (see the module docstring) with a message naming ``what``.
    """
    if not data:
        raise P4RTError(code, f"{what}: empty bytestring")
    v = int.from_bytes(data, "big")
    if v >> bitwidth:
        raise P4RTError(
            code,
            f"{what}: 0x{data.hex()} does not fit in {bitwidth} bits",
        )
    return v


def encode_bits(value: int, bitwidth: int | None = None) -> bytes:
    """The canonical bytestring of an unsigned value: shortest big-endian, at least one byte.
    ``bitwidth`` (when given) masks the value first."""
    if bitwidth is not None:
        value &= (1 << bitwidth) - 1
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def decode_signed_bits(
    data: bytes,
    bitwidth: int,
    what: str = "value",
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> int:
    """The ``int<bitwidth>`` value of a two's-complement bytestring (sign extension allowed),
    returned as its ``bitwidth`` stored bits; raises ``code`` if it does not fit."""
    if not data:
        raise P4RTError(code, f"{what}: empty bytestring")
    v = int.from_bytes(data, "big", signed=True)
    if not -(1 << (bitwidth - 1)) <= v < (1 << (bitwidth - 1)):
        raise P4RTError(code, f"{what}: 0x{data.hex()} does not fit in int<{bitwidth}>")
    return v & ((1 << bitwidth) - 1)


def encode_signed_bits(bits: int, bitwidth: int) -> bytes:
    """The canonical bytestring of ``int<bitwidth>`` stored bits: the shortest two's complement
    form of the value they stand for."""
    bits &= (1 << bitwidth) - 1
    v = bits - (1 << bitwidth) if bits >> (bitwidth - 1) else bits
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return v.to_bytes(n, "big", signed=True)


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class FieldInfo:
    """A match field, action param, controller metadata or value-set field."""

    id: int
    name: str
    bitwidth: int
    match_type: int = 0  # p4info MatchField.MatchType (0 for params and metadata)
    translation: str | None = None  # None, "sdn_bitwidth" or "sdn_string"

    def decode(self, data: bytes, what: str) -> int:
        """``data`` as this field's value (see :func:`decode_bits`)."""
        if self.translation == "sdn_string":
            raise P4RTError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{what}: @p4runtime_translation with sdn_string is not supported",
            )
        return decode_bits(data, self.bitwidth, what)

    def encode(self, value: int) -> bytes:
        """The canonical bytestring of ``value``."""
        return encode_bits(value, self.bitwidth)


@dataclass
class Named:
    """Any P4Info object: its id, fully qualified name and message."""

    id: int
    name: str
    proto: Any


@dataclass
class ActionInfo(Named):
    """An action: params by id, in declaration order."""

    params: dict[int, FieldInfo] = field(default_factory=dict)


@dataclass
class TableInfo(Named):
    """A table: match fields by id (declaration order), action refs with their scopes."""

    fields: dict[int, FieldInfo] = field(default_factory=dict)
    action_scopes: dict[int, int] = field(default_factory=dict)  # action id -> ActionRef.Scope
    const_default_action_id: int = 0
    implementation_id: int = 0
    direct_counter_id: int = 0
    direct_meter_id: int = 0
    is_const: bool = False
    supports_idle_timeout: bool = False
    needs_priority: bool = False


T = TypeVar("T", bound=Named)


class _Kind(Generic[T]):
    """The objects of one kind, by id and by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.by_id: dict[int, T] = {}
        self.by_name: dict[str, T] = {}

    def add(self, obj: T, alias: str = "") -> None:
        self.by_id[obj.id] = obj
        self.by_name[obj.name] = obj
        if alias and alias not in self.by_name:
            self.by_name[alias] = obj

    def __getitem__(self, obj_id: int) -> T:
        obj = self.by_id.get(obj_id)
        if obj is None:
            raise P4RTError(grpc.StatusCode.NOT_FOUND, f"no {self.kind} with id {obj_id}")
        return obj

    def get(self, obj_id: int) -> T | None:
        return self.by_id.get(obj_id)

    def named(self, name: str) -> T:
        obj = self.by_name.get(name)
        if obj is None:
            raise P4RTError(grpc.StatusCode.NOT_FOUND, f"no {self.kind} named {name!r}")
        return obj

    def __iter__(self) -> Any:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)


_PRIORITY_TYPES = {MatchType.TERNARY, MatchType.RANGE, MatchType.OPTIONAL}


class P4InfoIndex:
    """A P4Info indexed by id and by name (fully qualified or alias), kind by kind.

    Attributes ``tables``, ``actions``, ``action_profiles``, ``counters``, ``direct_counters``,
    ``meters``, ``direct_meters``, ``registers``, ``value_sets``, ``digests`` and
    ``controller_packet_metadata``: ``index.tables[id]`` (NOT_FOUND if absent),
    ``index.tables.named("I.acl")``, ``index.tables.get(id)`` (None if absent), iteration.
    """

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        self._new_types = {
            name: spec.translated_type
            for name, spec in p4info.type_info.new_types.items()
            if spec.HasField("translated_type")
        }
        self.tables: _Kind[TableInfo] = _Kind("table")
        self.actions: _Kind[ActionInfo] = _Kind("action")
        self.action_profiles: _Kind[Named] = _Kind("action profile")
        self.counters: _Kind[Named] = _Kind("counter")
        self.direct_counters: _Kind[Named] = _Kind("direct counter")
        self.meters: _Kind[Named] = _Kind("meter")
        self.direct_meters: _Kind[Named] = _Kind("direct meter")
        self.registers: _Kind[Named] = _Kind("register")
        self.value_sets: _Kind[ActionInfo] = _Kind("value set")
        self.digests: _Kind[Named] = _Kind("digest")
        self.controller_packet_metadata: _Kind[ActionInfo] = _Kind("controller packet metadata")
        for a in p4info.actions:
            info = ActionInfo(a.preamble.id, a.preamble.name, a, params=self._fields(a.params))
            self.actions.add(info, a.preamble.alias)
        for kind, msgs in (
            (self.action_profiles, p4info.action_profiles),
            (self.counters, p4info.counters),
            (self.direct_counters, p4info.direct_counters),
            (self.meters, p4info.meters),
            (self.direct_meters, p4info.direct_meters),
            (self.registers, p4info.registers),
            (self.digests, p4info.digests),
        ):
            for m in msgs:
                kind.add(Named(m.preamble.id, m.preamble.name, m), m.preamble.alias)
        for vs in p4info.value_sets:
            self.value_sets.add(
                ActionInfo(vs.preamble.id, vs.preamble.name, vs, params=self._fields(vs.match)),
                vs.preamble.alias,
            )
        for cpm in p4info.controller_packet_metadata:
            self.controller_packet_metadata.add(
                ActionInfo(
                    cpm.preamble.id, cpm.preamble.name, cpm, params=self._fields(cpm.metadata)
                ),
                cpm.preamble.alias,
            )
        for t in p4info.tables:
            self.tables.add(self._table(t), t.preamble.alias)

    # -- building --------------------------------------------------------------------------

    def _translation(self, type_name: Any) -> str | None:
        name = type_name.name if type_name is not None and type_name.name else ""
        tr = self._new_types.get(name)
        if tr is None:
            return None
        return "sdn_string" if tr.HasField("sdn_string") else "sdn_bitwidth"

    def _fields(self, msgs: Iterable[Any]) -> dict[int, FieldInfo]:
        out = {}
        for m in msgs:
            tn = m.type_name if m.HasField("type_name") else None
            mt = getattr(m, "match_type", 0)
            out[m.id] = FieldInfo(m.id, m.name, m.bitwidth, mt, self._translation(tn))
        return out

    def _table(self, t: p4info_pb2.Table) -> TableInfo:
        info = TableInfo(
            t.preamble.id,
            t.preamble.name,
            t,
            fields=self._fields(t.match_fields),
            action_scopes={r.id: r.scope for r in t.action_refs},
            const_default_action_id=t.const_default_action_id,
            implementation_id=t.implementation_id,
            is_const=t.is_const_table,
            supports_idle_timeout=(t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL),
        )
        for rid in t.direct_resource_ids:
            if rid in self.direct_counters.by_id:
                info.direct_counter_id = rid
            elif rid in self.direct_meters.by_id:
                info.direct_meter_id = rid
        info.needs_priority = any(f.match_type in _PRIORITY_TYPES for f in info.fields.values())
        return info

    # -- queries ---------------------------------------------------------------------------

    def action_named(self, name: str) -> ActionInfo:
        """An action by fully qualified name (the engine's names)."""
        return self.actions.named(name)

    def profile_tables(self, profile_id: int) -> list[TableInfo]:
        """The tables an action profile implements."""
        prof = self.action_profiles[profile_id]
        return [self.tables[t] for t in prof.proto.table_ids if t in self.tables.by_id]

    def profile_action_ids(self, profile_id: int) -> set[int]:
        """The actions a member of the profile may bind (those of its tables)."""
        ids: set[int] = set()
        for t in self.profile_tables(profile_id):
            ids.update(a for a, s in t.action_scopes.items() if s != Scope.DEFAULT_ONLY)
        return ids
