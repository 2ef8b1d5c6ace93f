"""The server's view of a P4Info and of P4Runtime bytestrings: the project's one schema
(:mod:`controlplane.p4rt.schema`) and codec (:mod:`controlplane.p4rt.values`), with the
server's status codes.

A controller names objects by id, so the server looks them up by id: ``index.tables[id]``
raises :class:`~.errors.P4RTError` ``NOT_FOUND`` naming the kind of object, so callers need no
error handling of their own. Tables, actions and value sets come as small records keyed by id
(a table's match fields, its action refs and scopes, an action's params...); the other kinds are
the schema's own records. Every record keeps its P4Info message (``proto``).

Bytestrings (spec section "Bytestrings"): big-endian; the server accepts any length whose value
fits the declared width (leading zero bytes allowed), rejects an empty string or a value that does
not fit, and answers with the canonical (shortest, at least one byte) form. The rejection code:
the general Bytestrings section says ``OUT_OF_RANGE``, while the sections on match fields and
action params (where nearly all bytestrings arrive) say ``INVALID_ARGUMENT``, which is also what
BMv2 (PI) answers; :func:`decode_bits` uses ``INVALID_ARGUMENT`` unless told otherwise.
``@p4runtime_translation`` types: a translated ``sdn_bitwidth`` is passed through (the
controller's value is used as the data-plane value and must fit the P4 width); ``sdn_string``
translation is not supported (``UNIMPLEMENTED``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from p4.config.v1 import p4info_pb2

from controlplane.p4rt import schema
from controlplane.p4rt.schema import MATCH_KINDS, ObjectIndex, P4Schema
from controlplane.p4rt.values import decode_int, decode_signed, encode_int
from controlplane.p4rt.values import encode_signed as encode_signed_bits

from .errors import P4RTError

__all__ = [
    "ActionInfo",
    "FieldInfo",
    "P4InfoIndex",
    "TableInfo",
    "decode_bits",
    "decode_signed_bits",
    "encode_bits",
    "encode_signed_bits",
]

Scope = p4info_pb2.ActionRef.Scope
_MATCH_TYPES = {kind: mt for mt, kind in MATCH_KINDS.items()}


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
    return _decode(decode_int, data, bitwidth, what, code, f"{bitwidth} bits")


def decode_signed_bits(
    data: bytes,
    bitwidth: int,
    what: str = "value",
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> int:
    """The ``int<bitwidth>`` value of a two's-complement bytestring (sign extension allowed),
    returned as its ``bitwidth`` stored bits; raises ``code`` if it does not fit."""
    return _decode(decode_signed, data, bitwidth, what, code, f"int<{bitwidth}>")


def _decode(
    decode: Callable[[bytes, int], int],
    data: bytes,
    bitwidth: int,
    what: str,
    code: grpc.StatusCode,
    width: str,
) -> int:
    # The client's codec accepts an empty string (as 0); a server must refuse it.
    if not data:
        raise P4RTError(code, f"{what}: empty bytestring")
    try:
        return decode(data, bitwidth)
    except ValueError:
        raise P4RTError(code, f"{what}: 0x{data.hex()} does not fit in {width}") from None


def encode_bits(value: int, bitwidth: int | None = None) -> bytes:
    """The canonical bytestring of an unsigned value: shortest big-endian, at least one byte.
    ``bitwidth`` (when given) masks the value first, as the data plane's ``bit<W>`` does."""
    return encode_int(value if bitwidth is None else value & ((1 << bitwidth) - 1))


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class FieldInfo:
    """A match field, action param, controller metadata or value-set field, by id."""

    id: int
    name: str
    bitwidth: int
    match_type: int = 0  # p4info MatchField.MatchType (0 for params and metadata)
    translation: str | None = None  # None, "sdn_bitwidth" or "sdn_string"

    @classmethod
    def of(cls, f: schema.MatchFieldInfo | schema.ParamInfo) -> FieldInfo:
        """The schema's field, with its P4Info match type."""
        return cls(
            f.id, f.name, f.bitwidth, _MATCH_TYPES.get(getattr(f, "kind", ""), 0), f.translation
        )

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


def _by_id(fields: Iterable[schema.MatchFieldInfo | schema.ParamInfo]) -> dict[int, FieldInfo]:
    return {f.id: FieldInfo.of(f) for f in fields}


@dataclass(frozen=True)
class ActionInfo:
    """An action (or a value set): its fields by id, in P4Info order."""

    id: int
    name: str
    alias: str
    proto: Any
    params: dict[int, FieldInfo]


@dataclass(frozen=True)
class TableInfo:
    """A table: match fields by id (declaration order), action refs with their scopes."""

    id: int
    name: str
    alias: str
    proto: Any
    fields: dict[int, FieldInfo]
    action_scopes: dict[int, int]  # action id -> ActionRef.Scope
    const_default_action_id: int
    implementation_id: int
    direct_counter_id: int
    direct_meter_id: int
    is_const: bool
    supports_idle_timeout: bool
    needs_priority: bool


T = TypeVar("T")


class _Kind(ObjectIndex[T]):
    """The objects of one kind: ``kind[id]`` or ``kind.named(name)``, ``NOT_FOUND`` if absent;
    ``kind.get(id)`` is None if absent."""

    def _missing(self, message: str) -> Exception:
        return P4RTError(grpc.StatusCode.NOT_FOUND, message)

    def named(self, name: str) -> T:
        """The object by fully qualified name or alias."""
        return self[name]


class P4InfoIndex:
    """A P4Info indexed by id and by name (fully qualified or alias), kind by kind.

    Attributes ``tables``, ``actions``, ``action_profiles``, ``counters``, ``direct_counters``,
    ``meters``, ``direct_meters``, ``registers``, ``value_sets`` and ``digests`` (controller
    headers are :mod:`.packetio`'s): ``index.tables[id]`` (NOT_FOUND if absent),
    ``index.tables.named("I.acl")``, ``index.tables.get(id)`` (None if absent), iteration.
    ``schema`` is the :class:`~controlplane.p4rt.schema.P4Schema` underneath.
    """

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        s = self.schema = P4Schema(p4info)
        self.actions = _Kind("action", [_fields_of(a, a.params) for a in s.actions])
        self.tables = _Kind("table", [self._table(t) for t in s.tables])
        self.value_sets = _Kind("value set", [_fields_of(v, v.match) for v in s.value_sets])
        self.action_profiles = _Kind("action profile", s.action_profiles)
        self.counters = _Kind("counter", s.counters)
        self.direct_counters = _Kind("direct counter", s.direct_counters)
        self.meters = _Kind("meter", s.meters)
        self.direct_meters = _Kind("direct meter", s.direct_meters)
        self.registers = _Kind("register", s.registers)
        self.digests = _Kind("digest", s.digests)

    def _table(self, t: schema.TableInfo) -> TableInfo:
        counter = self.schema.direct_counters.get(t.direct_counter or "")
        meter = self.schema.direct_meters.get(t.direct_meter or "")
        return TableInfo(
            t.id,
            t.name,
            t.alias,
            t.proto,
            fields=_by_id(t.match_fields),
            action_scopes={r.id: r.scope for r in t.proto.action_refs},
            const_default_action_id=t.proto.const_default_action_id,
            implementation_id=t.proto.implementation_id,
            direct_counter_id=counter.id if counter else 0,
            direct_meter_id=meter.id if meter else 0,
            is_const=t.is_const,
            supports_idle_timeout=t.idle_timeout,
            needs_priority=t.needs_priority,
        )

    # -- queries ---------------------------------------------------------------------------

    def action_named(self, name: str) -> ActionInfo:
        """An action by fully qualified name (the engine's names)."""
        return self.actions.named(name)

    def profile_tables(self, profile_id: int) -> list[TableInfo]:
        """The tables an action profile implements."""
        prof = self.action_profiles[profile_id]
        return [self.tables[t] for t in prof.proto.table_ids if t in self.tables]

    def profile_action_ids(self, profile_id: int) -> set[int]:
        """The actions a member of the profile may bind (those of its tables)."""
        ids: set[int] = set()
        for t in self.profile_tables(profile_id):
            ids.update(a for a, s in t.action_scopes.items() if s != Scope.DEFAULT_ONLY)
        return ids


def _fields_of(obj: Any, fields: Iterable[Any]) -> ActionInfo:
    return ActionInfo(obj.id, obj.name, obj.alias, obj.proto, _by_id(fields))
