"""Extern entities: ``CounterEntry``, ``MeterEntry``, ``RegisterEntry``, ``ValueSetEntry`` and
``DigestEntry`` (per-digest configuration), plus the digest helpers the stream side needs
(:meth:`ExternEntities.digest_id_for`, :meth:`ExternEntities.encode_digest_data`).

A mixin of :class:`~.entities.EntityStore`. These entities take ``MODIFY`` only (digests take
all three update types); an omitted ``index`` writes or reads every cell of the array.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from p4.config.v1 import p4info_pb2, p4types_pb2
from p4.v1 import p4data_pb2, p4runtime_pb2

from controlplane.p4rt.schema import Named

from .entities_profiles import counter_data, decode_meter_config, encode_meter_config
from .errors import P4RTError, invalid, unimplemented
from .p4info_index import (
    ActionInfo,
    FieldInfo,
    P4InfoIndex,
    decode_bits,
    decode_signed_bits,
    encode_bits,
    encode_signed_bits,
)

__all__ = ["DigestConfig", "ExternEntities"]

Code = grpc.StatusCode
Update = p4runtime_pb2.Update
MT = p4info_pb2.MatchField


@dataclass(frozen=True)
class DigestConfig:
    """A digest's configuration as the controller set it (``DigestEntry.Config``)."""

    max_timeout_ns: int
    max_list_size: int
    ack_timeout_ns: int


class ExternEntities:
    """Counters, meters, registers, value sets and digests (mixin of ``EntityStore``)."""

    index: P4InfoIndex
    switch: Any

    def _init_externs(self) -> None:
        self._digest_configs: dict[int, DigestConfig] = {}
        # written members per value set, canonical, for read-back
        self._value_set_members: dict[int, list[p4runtime_pb2.ValueSetMember]] = {}
        self._digest_by_name: dict[str, Named] = {}
        for d in self.index.digests:
            self._digest_by_name.setdefault(d.name, d)
            if d.proto.type_spec.HasField("struct"):
                self._digest_by_name.setdefault(d.proto.type_spec.struct.name, d)

    # -- helpers ---------------------------------------------------------------------------

    def _engine(self, kind: str, info: Named) -> Any:
        obj = getattr(self.switch, kind).get(info.name)
        if obj is None:
            raise P4RTError(Code.INTERNAL, f"{info.name} is not in the running program")
        return obj

    @staticmethod
    def _indices(msg: Any, size: int, what: str) -> range:
        """The indices an entry names: one, or all when ``index`` is unset."""
        if not msg.HasField("index"):
            return range(size)
        i = msg.index.index
        if i < 0:
            raise invalid(f"{what}: negative index {i}")
        if i >= size:
            raise P4RTError(Code.OUT_OF_RANGE, f"{what}: index {i} out of range (size {size})")
        return range(i, i + 1)

    @staticmethod
    def _only_modify(utype: int, what: str) -> None:
        if utype != Update.MODIFY:
            raise invalid(f"{what}: only MODIFY is allowed")

    # -- counters --------------------------------------------------------------------------

    def write_counter(self, utype: int, c: p4runtime_pb2.CounterEntry) -> None:
        """Set one counter cell, or all when ``index`` is unset (no ``data``: unchanged)."""
        info = self.index.counters[c.counter_id]
        what = f"counter {info.name}"
        self._only_modify(utype, what)
        arr = self._engine("counters", info)
        idx = self._indices(c, arr.size, what)
        if c.HasField("data"):
            for i in idx:
                arr.write(i, c.data.packet_count, c.data.byte_count)

    def read_counters(self, c: p4runtime_pb2.CounterEntry) -> Iterator[p4runtime_pb2.Entity]:
        """CounterEntry entities (counter id 0 = all counters, no index = all cells)."""
        infos = [self.index.counters[c.counter_id]] if c.counter_id else list(self.index.counters)
        for info in infos:
            arr = self._engine("counters", info)
            unit = info.proto.spec.unit
            idx = (
                self._indices(c, arr.size, f"counter {info.name}")
                if c.counter_id
                else range(arr.size)
            )
            for i in idx:
                ent = p4runtime_pb2.Entity()
                ent.counter_entry.counter_id = info.id
                ent.counter_entry.index.index = i
                ent.counter_entry.data.CopyFrom(counter_data(*arr.read(i), unit))
                yield ent

    # -- meters ----------------------------------------------------------------------------

    def write_meter(self, utype: int, m: p4runtime_pb2.MeterEntry) -> None:
        """Configure one meter cell or all; no ``config`` = back to unconfigured (all GREEN)."""
        info = self.index.meters[m.meter_id]
        what = f"meter {info.name}"
        self._only_modify(utype, what)
        arr = self._engine("meters", info)
        idx = self._indices(m, arr.size, what)
        if m.HasField("counter_data"):
            raise unimplemented(f"{what}: per-colour meter counters are not supported")
        if m.HasField("config"):
            rates = decode_meter_config(m.config, arr.unit, what)
            for i in idx:
                arr.set_rates(i, rates)
        else:
            for i in idx:
                arr.cell(i).reset_rates()

    def read_meters(self, m: p4runtime_pb2.MeterEntry) -> Iterator[p4runtime_pb2.Entity]:
        """MeterEntry entities; ``config`` unset for unconfigured cells."""
        infos = [self.index.meters[m.meter_id]] if m.meter_id else list(self.index.meters)
        for info in infos:
            arr = self._engine("meters", info)
            idx = (
                self._indices(m, arr.size, f"meter {info.name}") if m.meter_id else range(arr.size)
            )
            for i in idx:
                ent = p4runtime_pb2.Entity()
                ent.meter_entry.meter_id = info.id
                ent.meter_entry.index.index = i
                cfg = encode_meter_config(arr.get_rates(i))
                if cfg is not None:
                    ent.meter_entry.config.CopyFrom(cfg)
                yield ent

    # -- registers -------------------------------------------------------------------------

    def write_register(self, utype: int, r: p4runtime_pb2.RegisterEntry) -> None:
        """Set one register cell, or all when ``index`` is unset."""
        info = self.index.registers[r.register_id]
        what = f"register {info.name}"
        self._only_modify(utype, what)
        arr = self._engine("registers", info)
        idx = self._indices(r, arr.size, what)
        if r.data.WhichOneof("data") != "bitstring":
            raise invalid(f"{what}: data must be a bitstring")
        decode = decode_signed_bits if arr.signed else decode_bits
        value = decode(r.data.bitstring, arr.bitwidth, what)
        for i in idx:
            arr.set(i, value)

    def read_registers(self, r: p4runtime_pb2.RegisterEntry) -> Iterator[p4runtime_pb2.Entity]:
        """RegisterEntry entities (register id 0 = all, no index = all cells)."""
        infos = (
            [self.index.registers[r.register_id]] if r.register_id else list(self.index.registers)
        )
        for info in infos:
            arr = self._engine("registers", info)
            idx = (
                self._indices(r, arr.size, f"register {info.name}")
                if r.register_id
                else range(arr.size)
            )
            for i in idx:
                ent = p4runtime_pb2.Entity()
                ent.register_entry.register_id = info.id
                ent.register_entry.index.index = i
                encode = encode_signed_bits if arr.signed else encode_bits
                ent.register_entry.data.bitstring = encode(arr.get(i), arr.bitwidth)
                yield ent

    # -- value sets ------------------------------------------------------------------------

    def write_value_set(self, utype: int, v: p4runtime_pb2.ValueSetEntry) -> None:
        """Replace a value set's members (an empty list empties it)."""
        info = self.index.value_sets[v.value_set_id]
        what = f"value set {info.name}"
        self._only_modify(utype, what)
        vs = self._engine("value_sets", info)
        size = info.proto.size
        if size and len(v.members) > size:
            raise P4RTError(
                Code.RESOURCE_EXHAUSTED, f"{what}: {len(v.members)} members exceed its size {size}"
            )
        engine_members: list[tuple[Any, Any]] = []
        canonical: list[p4runtime_pb2.ValueSetMember] = []
        seen: set[Any] = set()
        for n, member in enumerate(v.members):
            fields = self._value_set_member(info, member, f"{what}, member {n}")
            key = tuple(fields)
            if key in seen:
                raise P4RTError(Code.ALREADY_EXISTS, f"{what}: member {n} is a duplicate")
            seen.add(key)
            values = [val for val, _ in fields]
            masks = [m for _, m in fields]
            if len(fields) == 1:
                engine_members.append((values[0], masks[0]))
            else:
                full = [(1 << f.bitwidth) - 1 for f in info.params.values()]
                ms = tuple(m if m is not None else w for m, w in zip(masks, full))
                engine_members.append((tuple(values), None if masks == [None] * len(masks) else ms))
            out = p4runtime_pb2.ValueSetMember()
            for f, (val, mask) in zip(info.params.values(), fields):
                fm = _encode_value_set_field(f, val, mask)
                if fm is not None:
                    out.match.append(fm)
            canonical.append(out)
        vs.set_members(engine_members)
        self._value_set_members[info.id] = canonical

    def _value_set_member(
        self, info: ActionInfo, member: p4runtime_pb2.ValueSetMember, what: str
    ) -> list[tuple[int, int | None]]:
        """(value, mask or None) per field, in P4Info order."""
        given = {}
        for fm in member.match:
            if fm.field_id not in info.params:
                raise invalid(f"{what}: no field id {fm.field_id}")
            if fm.field_id in given:
                raise invalid(f"{what}: field id {fm.field_id} given twice")
            given[fm.field_id] = fm
        out: list[tuple[int, int | None]] = []
        for f in info.params.values():
            out.append(_value_set_field(f, given.get(f.id), f"{what}, field {f.id}"))
        return out

    def read_value_sets(self, v: p4runtime_pb2.ValueSetEntry) -> Iterator[p4runtime_pb2.Entity]:
        """ValueSetEntry entities (value set id 0 = all) with the members last written."""
        infos = (
            [self.index.value_sets[v.value_set_id]]
            if v.value_set_id
            else list(self.index.value_sets)
        )
        for info in infos:
            ent = p4runtime_pb2.Entity()
            ent.value_set_entry.value_set_id = info.id
            ent.value_set_entry.members.extend(self._value_set_members.get(info.id, []))
            yield ent

    # -- digests ---------------------------------------------------------------------------

    def write_digest(self, utype: int, d: p4runtime_pb2.DigestEntry) -> None:
        """Insert, modify or delete a digest's configuration."""
        info = self.index.digests[d.digest_id]
        what = f"digest {info.name}"
        exists = info.id in self._digest_configs
        if utype == Update.DELETE:
            if not exists:
                raise P4RTError(Code.NOT_FOUND, f"{what} is not configured")
            del self._digest_configs[info.id]
            return
        if not d.HasField("config"):
            raise invalid(f"{what}: config is required")
        c = d.config
        if c.max_timeout_ns < 0 or c.max_list_size < 0 or c.ack_timeout_ns < 0:
            raise invalid(f"{what}: negative config value")
        cfg = DigestConfig(c.max_timeout_ns, c.max_list_size, c.ack_timeout_ns)
        if utype == Update.INSERT:
            if exists:
                raise P4RTError(Code.ALREADY_EXISTS, f"{what} is already configured")
        elif utype == Update.MODIFY:
            if not exists:
                raise P4RTError(Code.NOT_FOUND, f"{what} is not configured")
        else:
            raise invalid(f"{what}: unknown update type {utype}")
        self._digest_configs[info.id] = cfg

    def read_digests(self, d: p4runtime_pb2.DigestEntry) -> Iterator[p4runtime_pb2.Entity]:
        """DigestEntry entities of configured digests (digest id 0 = all)."""
        if d.digest_id:
            self.index.digests[d.digest_id]
        for did, cfg in sorted(self._digest_configs.items()):
            if d.digest_id and did != d.digest_id:
                continue
            ent = p4runtime_pb2.Entity()
            ent.digest_entry.digest_id = did
            ent.digest_entry.config.max_timeout_ns = cfg.max_timeout_ns
            ent.digest_entry.config.max_list_size = cfg.max_list_size
            ent.digest_entry.config.ack_timeout_ns = cfg.ack_timeout_ns
            yield ent

    def digest_config(self, digest_id: int) -> DigestConfig | None:
        """The configuration of a digest, ``None`` if the controller has not inserted one
        (then its digests are not streamed)."""
        return self._digest_configs.get(digest_id)

    def digest_id_for(self, digest: Any) -> int | None:
        """The P4Info id of an engine :class:`~softswitch.engine.v1model.Digest` (matched by
        name: the digest's or its struct type's), ``None`` if P4Info has none."""
        info = self._digest_by_name.get(digest.name)
        if info is None and len(self.index.digests) == 1:
            info = next(iter(self.index.digests))  # an anonymous digest ("digest")
        return info.id if info is not None else None

    def encode_digest_data(self, digest: Any) -> p4data_pb2.P4Data:
        """An engine digest's values as ``P4Data`` per the digest's P4Info ``type_spec``
        (a struct of bitstrings for ``digest<T>(...)``)."""
        did = self.digest_id_for(digest)
        if did is None:
            raise P4RTError(Code.NOT_FOUND, f"no P4Info digest for {digest.name}")
        spec = self.index.digests[did].proto.type_spec
        values = digest.values
        if (
            spec.WhichOneof("type_spec") not in ("struct", "tuple", "header")
            and isinstance(values, tuple)
            and len(values) == 1
        ):
            values = values[0]
        return self._p4data(spec, values)

    def _p4data(self, spec: p4types_pb2.P4DataTypeSpec, value: Any) -> p4data_pb2.P4Data:
        ti = self.index.p4info.type_info
        d = p4data_pb2.P4Data()
        which = spec.WhichOneof("type_spec")
        if which == "bitstring":
            d.bitstring = encode_bits(int(value), _bitstring_width(spec.bitstring))
        elif which == "bool":
            d.bool = bool(value)
        elif which == "struct":
            members = ti.structs[spec.struct.name].members
            for m, v in zip(members, _as_tuple(value)):
                d.struct.members.append(self._p4data(m.type_spec, v))
        elif which == "tuple":
            for m, v in zip(spec.tuple.members, _as_tuple(value)):
                d.tuple.members.append(self._p4data(m, v))
        elif which == "header":
            members = ti.headers[spec.header.name].members
            d.header.is_valid = True
            for m, v in zip(members, _as_tuple(value)):
                d.header.bitstrings.append(encode_bits(int(v), _bitstring_width(m.type_spec)))
        elif which == "serializable_enum":
            e = ti.serializable_enums[spec.serializable_enum.name]
            d.enum_value = encode_bits(int(value), e.underlying_type.bitwidth)
        else:
            raise unimplemented(f"digest data of type {which} is not supported")
        return d


def _bitstring_width(bs: p4types_pb2.P4BitstringLikeTypeSpec) -> int:
    which = bs.WhichOneof("type_spec")
    if which == "bit":
        return bs.bit.bitwidth
    if which == "int":
        return bs.int.bitwidth
    return bs.varbit.max_bitwidth


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _value_set_field(
    f: FieldInfo, fm: p4runtime_pb2.FieldMatch | None, what: str
) -> tuple[int, int | None]:
    """One value-set field as (value, mask); mask ``None`` is an exact match."""
    full = (1 << f.bitwidth) - 1
    if fm is None:
        if f.match_type in (MT.TERNARY, MT.LPM, MT.OPTIONAL):
            return 0, 0
        raise invalid(f"{what}: exact fields must be given")
    which = fm.WhichOneof("field_match_type")
    if which == "exact":
        return f.decode(fm.exact.value, what), None
    if which == "ternary":
        v, m = f.decode(fm.ternary.value, what), f.decode(fm.ternary.mask, what)
        if v & ~m:
            raise invalid(f"{what}: value 0x{v:x} has bits outside mask 0x{m:x}")
        return v, (None if m == full else m)
    if which == "lpm":
        v, plen = f.decode(fm.lpm.value, what), fm.lpm.prefix_len
        if not 0 < plen <= f.bitwidth:
            raise invalid(f"{what}: prefix length {plen} out of range")
        m = full ^ (full >> plen)
        if v & ~m:
            raise invalid(f"{what}: value 0x{v:x} has bits beyond the /{plen} prefix")
        return v, (None if m == full else m)
    if which == "optional":
        return f.decode(fm.optional.value, what), None
    raise unimplemented(f"{what}: {which} matches in value sets are not supported")


def _encode_value_set_field(
    f: FieldInfo, value: int, mask: int | None
) -> p4runtime_pb2.FieldMatch | None:
    """The canonical FieldMatch of a value-set field, in the field's own match kind."""
    full = (1 << f.bitwidth) - 1
    m = full if mask is None else mask
    fm = p4runtime_pb2.FieldMatch(field_id=f.id)
    if f.match_type == MT.TERNARY:
        if m == 0:
            return None
        fm.ternary.value, fm.ternary.mask = f.encode(value), f.encode(m)
    elif f.match_type == MT.LPM:
        if m == 0:
            return None
        fm.lpm.value, fm.lpm.prefix_len = f.encode(value), m.bit_count()
    elif f.match_type == MT.OPTIONAL:
        if mask == 0:
            return None
        fm.optional.value = f.encode(value)
    else:
        fm.exact.value = f.encode(value)
    return fm
