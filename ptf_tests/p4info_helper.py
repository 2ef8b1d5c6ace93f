"""Names and readable values to P4Runtime messages, from a P4Info (no ids in tests).

Every P4Info object is found by its full name (``RouterIngress.ipv4_route``) or its alias
(``ipv4_route``). Values may be ints, bytes, MAC strings (``"02:00:00:00:00:01"``), IPv4 or IPv6
strings; they are encoded as P4Runtime's canonical bytestrings (big-endian, no leading zero
bytes, at least one byte), which every server must accept.

Match values by match kind:

- exact, optional: ``value``
- lpm: ``"198.51.100.0/24"``, or ``(value, prefix_len)``
- ternary: ``(value, mask)``
- range: ``(low, high)``

A key left out of the match dict is a don't-care (allowed for lpm, ternary, range, optional);
an lpm value of prefix length 0 is one too.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

__all__ = ["P4InfoHelper", "encode_value", "load_p4info"]

MatchType = p4info_pb2.MatchField.MatchType

# P4Info repeated fields searched by name, by kind
_KINDS = (
    "tables",
    "actions",
    "counters",
    "direct_counters",
    "meters",
    "direct_meters",
    "registers",
    "action_profiles",
    "digests",
    "controller_packet_metadata",
    "value_sets",
)


def load_p4info(path: str) -> p4info_pb2.P4Info:
    """A P4Info from a file: text (``.txt``, ``.txtpb``) or binary (``.bin``)."""
    p4info = p4info_pb2.P4Info()
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".bin"):
        p4info.ParseFromString(data)
    else:
        text_format.Merge(data.decode(), p4info)
    return p4info


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        s = value.strip()
        if s.count(":") == 5 and all(len(p) <= 2 for p in s.split(":")):  # MAC address
            return int(s.replace(":", ""), 16)
        try:
            return int(ipaddress.ip_address(s))
        except ValueError:
            return int(s, 0)
    raise TypeError(f"cannot encode {value!r} as a P4Runtime value")


def encode_value(value: Any, bitwidth: int) -> bytes:
    """``value`` as a canonical P4Runtime bytestring for ``bit<bitwidth>``."""
    v = _to_int(value)
    if v < 0 or v >> bitwidth:
        raise ValueError(f"{value!r} does not fit in {bitwidth} bits")
    return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")


class P4InfoHelper:
    """Lookups and message builders over one P4Info."""

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        self._by_name: dict[tuple[str, str], Any] = {}
        self._by_id: dict[int, Any] = {}
        for kind in _KINDS:
            for obj in getattr(p4info, kind):
                pre = obj.preamble
                self._by_name[(kind, pre.name)] = obj
                self._by_name.setdefault((kind, pre.alias), obj)
                self._by_id[pre.id] = obj

    # -- lookups ---------------------------------------------------------------------------------

    def get(self, kind: str, name: str) -> Any:
        """The P4Info object of ``kind`` (``"tables"``, ``"actions"``...) named ``name``."""
        try:
            return self._by_name[(kind, name)]
        except KeyError:
            known = sorted(n for k, n in self._by_name if k == kind)
            raise KeyError(
                f"no {kind[:-1]} named {name!r} in the P4Info (known: {known})"
            ) from None

    def get_id(self, kind: str, name: str) -> int:
        """The id of the ``kind`` object named ``name``."""
        return int(self.get(kind, name).preamble.id)

    def name_of(self, obj_id: int) -> str:
        """The full name of the object with id ``obj_id``."""
        return str(self._by_id[obj_id].preamble.name)

    def match_field(self, table: str, field: str) -> p4info_pb2.MatchField:
        """Match field ``field`` of ``table``."""
        for mf in self.get("tables", table).match_fields:
            if mf.name == field:
                return mf
        fields = [mf.name for mf in self.get("tables", table).match_fields]
        raise KeyError(f"table {table!r} has no match field {field!r} (fields: {fields})")

    def action_param(self, action: str, param: str) -> Any:
        """Parameter ``param`` of ``action``."""
        for p in self.get("actions", action).params:
            if p.name == param:
                return p
        params = [p.name for p in self.get("actions", action).params]
        raise KeyError(f"action {action!r} has no parameter {param!r} (params: {params})")

    # -- builders --------------------------------------------------------------------------------

    def field_match(self, table: str, field: str, value: Any) -> p4runtime_pb2.FieldMatch | None:
        """One ``FieldMatch`` of ``table`` (see the module docstring for ``value``); None for
        an lpm prefix of length 0, which P4Runtime spells by omitting the field."""
        mf = self.match_field(table, field)
        width = mf.bitwidth
        fm = p4runtime_pb2.FieldMatch(field_id=mf.id)
        kind = mf.match_type
        if kind == MatchType.EXACT:
            fm.exact.value = encode_value(value, width)
        elif kind == MatchType.OPTIONAL:
            fm.optional.value = encode_value(value, width)
        elif kind == MatchType.LPM:
            if isinstance(value, str) and "/" in value:
                net = ipaddress.ip_network(value, strict=False)
                addr, plen = int(net.network_address), net.prefixlen
            else:
                addr, plen = _to_int(value[0]), int(value[1])
            if plen == 0:
                return None
            mask = ((1 << plen) - 1) << (width - plen)
            fm.lpm.value = encode_value(addr & mask, width)
            fm.lpm.prefix_len = plen
        elif kind == MatchType.TERNARY:
            v, m = _to_int(value[0]), _to_int(value[1])
            fm.ternary.value = encode_value(v & m, width)
            fm.ternary.mask = encode_value(m, width)
        elif kind == MatchType.RANGE:
            fm.range.low = encode_value(value[0], width)
            fm.range.high = encode_value(value[1], width)
        else:
            raise ValueError(f"{table}.{field}: unsupported match kind {kind}")
        return fm

    def action(self, name: str, params: dict[str, Any] | None = None) -> p4runtime_pb2.Action:
        """An ``Action`` with its parameters by name (all must be given)."""
        info = self.get("actions", name)
        params = dict(params or {})
        act = p4runtime_pb2.Action(action_id=info.preamble.id)
        for p in info.params:
            if p.name not in params:
                raise KeyError(f"action {name!r}: parameter {p.name!r} not given")
            act.params.add(param_id=p.id, value=encode_value(params.pop(p.name), p.bitwidth))
        if params:
            raise KeyError(f"action {name!r} has no parameter(s) {sorted(params)}")
        return act

    def table_entry(
        self,
        table: str,
        match: dict[str, Any] | None = None,
        action: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        priority: int = 0,
        default: bool = False,
    ) -> p4runtime_pb2.TableEntry:
        """A ``TableEntry`` of ``table`` (``default=True``: the table's default entry)."""
        te = p4runtime_pb2.TableEntry(table_id=self.get_id("tables", table), priority=priority)
        for field, value in (match or {}).items():
            fm = self.field_match(table, field, value)
            if fm is not None:
                te.match.append(fm)
        if default:
            te.is_default_action = True
        if action is not None:
            te.action.action.CopyFrom(self.action(action, params))
        return te

    def packet_metadata(
        self, kind: str, values: dict[str, Any]
    ) -> list[p4runtime_pb2.PacketMetadata]:
        """Controller packet metadata of ``kind`` (``"packet_out"``) from values by name."""
        if not values:
            return []
        info = self.get("controller_packet_metadata", kind)
        out = []
        values = dict(values)
        for md in info.metadata:
            if md.name in values:
                out.append(
                    p4runtime_pb2.PacketMetadata(
                        metadata_id=md.id, value=encode_value(values.pop(md.name), md.bitwidth)
                    )
                )
        if values:
            raise KeyError(f"{kind} has no metadata {sorted(values)}")
        return out

    def decode_packet_metadata(self, kind: str, metadata: Any) -> dict[str, int]:
        """Packet metadata (``packet_in``) by name, as ints."""
        try:
            info = self.get("controller_packet_metadata", kind)
        except KeyError:
            return {}
        names = {md.id: md.name for md in info.metadata}
        return {
            names.get(m.metadata_id, str(m.metadata_id)): int.from_bytes(m.value, "big")
            for m in metadata
        }
