"""Table entities: ``TableEntry`` (default entries, const and initial entries, idle timeouts,
direct counters and meters inside the entry, member, group and one-shot actions of indirect
tables), ``DirectCounterEntry`` and ``DirectMeterEntry``.

A mixin of :class:`~.entities.EntityStore`, which provides ``index`` (the P4Info) and ``switch``;
members and groups are in :mod:`.entities_profiles`. Every write validates the whole update
first and only then touches the engine, so a failing update leaves nothing behind.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from ..engine.action_profiles import ProfileRef
from ..engine.stateful import MeterRates
from ..engine.tables import (
    ActionCall,
    Exact,
    Lpm,
    Match,
    MatchTable,
    NotFound,
    Optional,
    Range,
    TableEntry,
    Ternary,
)
from .entities_profiles import (
    HIDDEN_ID_BASE,
    OneShot,
    ProfileEntities,
    check_scope,
    counter_data,
    decode_action,
    decode_meter_config,
    encode_action,
    encode_meter_config,
    meter_unit,
)
from .errors import P4RTError, engine_call, invalid, not_found, unimplemented
from .p4info_index import FieldInfo, P4InfoIndex, TableInfo

__all__ = ["TableEntities"]

Code = grpc.StatusCode
Update = p4runtime_pb2.Update
MT = p4info_pb2.MatchField


# -- tables --------------------------------------------------------------------------------


@dataclass
class _EntryWrite:
    """The validated direct resources of a TableEntry update, ready to apply."""

    info: TableInfo
    table: MatchTable
    counter: tuple[int, int] | None  # (packets, bytes) to write
    meter: MeterRates | None  # None: back to unconfigured


_KIND_FIELD = {
    MT.EXACT: "exact",
    MT.LPM: "lpm",
    MT.TERNARY: "ternary",
    MT.RANGE: "range",
    MT.OPTIONAL: "optional",
}


class TableEntities(ProfileEntities):
    """Table entries and their direct resources (mixin of ``EntityStore``)."""

    index: P4InfoIndex
    switch: Any

    def _init_tables(self) -> None:
        self._oneshots: weakref.WeakKeyDictionary[TableEntry, OneShot] = weakref.WeakKeyDictionary()
        self._init_profiles()
        self._engine_tables: dict[int, MatchTable] = {}
        for info in self.index.tables:
            table = self.switch.tables.get(info.name)
            if table is None:
                continue
            if len(table.keys) != len(info.fields):
                raise ValueError(
                    f"table {info.name}: the engine has {len(table.keys)} key fields, P4Info "
                    f"{len(info.fields)}"
                )
            self._engine_tables[info.id] = table

    # -- lookups ---------------------------------------------------------------------------

    def _table(self, table_id: int) -> tuple[TableInfo, MatchTable]:
        info = self.index.tables[table_id]
        table = self._engine_tables.get(table_id)
        if table is None:
            raise P4RTError(Code.INTERNAL, f"table {info.name} is not in the running program")
        return info, table

    # -- match fields ----------------------------------------------------------------------

    def _decode_match(
        self, info: TableInfo, fms: Iterable[p4runtime_pb2.FieldMatch]
    ) -> tuple[Match, ...]:
        given: dict[int, p4runtime_pb2.FieldMatch] = {}
        for fm in fms:
            if fm.field_id not in info.fields:
                raise invalid(f"table {info.name}: no match field id {fm.field_id}")
            if fm.field_id in given:
                raise invalid(f"table {info.name}: match field id {fm.field_id} given twice")
            given[fm.field_id] = fm
        return tuple(_decode_field(info, f, given.get(f.id)) for f in info.fields.values())

    def _encode_match(self, info: TableInfo, match: tuple[Match, ...]) -> list[Any]:
        out = []
        for f, m in zip(info.fields.values(), match):
            fm = _encode_field(f, m)
            if fm is not None:
                out.append(fm)
        return out

    def _check_priority(self, info: TableInfo, table: MatchTable, priority: int) -> int:
        if table.needs_priority:
            if priority <= 0:
                raise invalid(
                    f"table {info.name} has ternary, range or optional fields: its entries "
                    f"need a priority > 0, got {priority}"
                )
        elif priority != 0:
            raise invalid(f"table {info.name} takes no priority, got {priority}")
        return priority

    # -- actions ---------------------------------------------------------------------------

    def _decode_table_action(
        self, info: TableInfo, ta: p4runtime_pb2.TableAction, *, default: bool
    ) -> ActionCall | ProfileRef | OneShot:
        which = ta.WhichOneof("type")
        where = f"table {info.name}" + (" default entry" if default else "")
        indirect = info.implementation_id != 0
        if which == "action":
            if indirect and not default:
                raise invalid(f"{where} is indirect: give a member, a group or an action set")
            check_scope(info.action_scopes, ta.action.action_id, default=default, where=where)
            return decode_action(self.index, ta.action, where)
        if which is None:
            raise invalid(f"{where}: the action is empty")
        if default:
            raise invalid(f"{where}: the default entry takes a direct action")
        if not indirect:
            raise invalid(f"{where} is direct: give an action, not {which}")
        prof = self.index.action_profiles[info.implementation_id]
        engine = self._profile(prof.id)
        if which == "action_profile_member_id":
            mid = ta.action_profile_member_id
            if mid >= HIDDEN_ID_BASE or mid not in engine.members():
                raise not_found(f"{where}: action profile {prof.name} has no member {mid}")
            return ProfileRef(member=mid)
        if not prof.proto.with_selector:
            raise invalid(f"{where}: action profile {prof.name} has no selector: no groups")
        if which == "action_profile_group_id":
            gid = ta.action_profile_group_id
            if gid >= HIDDEN_ID_BASE or gid not in engine.groups():
                raise not_found(f"{where}: action profile {prof.name} has no group {gid}")
            return ProfileRef(group=gid)
        actions = []
        for apa in ta.action_profile_action_set.action_profile_actions:
            check_scope(info.action_scopes, apa.action.action_id, default=False, where=where)
            call = decode_action(self.index, apa.action, where)
            if apa.weight <= 0:
                raise invalid(f"{where}: action set weight must be > 0, got {apa.weight}")
            if apa.WhichOneof("watch_kind") is not None:
                raise unimplemented(f"{where}: watch ports are not supported")
            actions.append((call, apa.weight))
        if not actions:
            raise invalid(f"{where}: empty action set")
        if len(actions) > engine.size - len(engine.members()):
            raise P4RTError(
                Code.RESOURCE_EXHAUSTED,
                f"{where}: action profile {prof.name} has no room for {len(actions)} members",
            )
        return OneShot(actions)

    def _encode_table_action(
        self, entry: TableEntry, action: ActionCall | ProfileRef
    ) -> p4runtime_pb2.TableAction:
        ta = p4runtime_pb2.TableAction()
        if isinstance(action, ActionCall):
            ta.action.CopyFrom(encode_action(self.index, action))
        elif action.member is not None:
            ta.action_profile_member_id = action.member
        else:
            shot = self._oneshots.get(entry)
            if shot is None:
                ta.action_profile_group_id = action.group  # type: ignore[assignment]
            else:
                aset = ta.action_profile_action_set
                for call, weight in shot.actions:
                    apa = aset.action_profile_actions.add(weight=weight)
                    apa.action.CopyFrom(encode_action(self.index, call))
        return ta

    # -- TableEntry writes -----------------------------------------------------------------

    def write_table_entry(self, utype: int, te: p4runtime_pb2.TableEntry) -> None:
        """Apply one TableEntry update (raises :class:`P4RTError`, nothing applied)."""
        info, table = self._table(te.table_id)
        if te.is_default_action:
            self._write_default(utype, info, table, te)
            return
        if te.HasField("time_since_last_hit"):
            raise invalid(f"table {info.name}: time_since_last_hit is read-only")
        if te.idle_timeout_ns and not info.supports_idle_timeout:
            raise invalid(f"table {info.name} does not support idle timeouts")
        if te.idle_timeout_ns < 0:
            raise invalid(f"table {info.name}: negative idle_timeout_ns")
        match = self._decode_match(info, te.match)
        priority = self._check_priority(info, table, te.priority)
        where = f"table {info.name}"
        if utype == Update.INSERT:
            if info.is_const or table.const_entries:
                raise P4RTError(Code.PERMISSION_DENIED, f"{where} is const: no inserts")
            if not te.HasField("action"):
                raise invalid(f"{where}: an inserted entry needs an action")
            action = self._decode_table_action(info, te.action, default=False)
            w = self._resources(info, table, te)
            if self._find(table, match, priority) is not None:
                raise P4RTError(
                    Code.ALREADY_EXISTS, f"{where}: entry {_show(match)} already exists"
                )
            if len(table) >= table.size:
                raise P4RTError(Code.RESOURCE_EXHAUSTED, f"{where} is full ({table.size} entries)")
            self._insert(w, match, priority, action, te)
            return
        entry = self._find(table, match, priority)
        if entry is None:
            raise not_found(
                f"{where}: no entry {_show(match)}"
                + (f" with priority {priority}" if table.needs_priority else "")
            )
        const = entry.is_const or info.is_const
        if utype == Update.DELETE:
            if const:
                raise P4RTError(Code.PERMISSION_DENIED, f"{where}: the entry is const")
            engine_call(table.delete, entry.match, entry.priority)
            shot = self._oneshots.pop(entry, None)
            if shot is not None:
                self._drop_oneshot(info, shot)
            return
        if utype != Update.MODIFY:
            raise invalid(f"{where}: unknown update type {utype}")
        new_action: ActionCall | ProfileRef | OneShot | None = None
        if const:
            if te.HasField("action"):
                raise P4RTError(
                    Code.PERMISSION_DENIED,
                    f"{where}: a const entry's action cannot change; modify only "
                    "its direct resources",
                )
        else:
            if not te.HasField("action"):
                raise invalid(f"{where}: a modified entry needs an action")
            new_action = self._decode_table_action(info, te.action, default=False)
        w = self._resources(info, table, te)
        if new_action is not None:
            old_shot = self._oneshots.get(entry)
            if isinstance(new_action, OneShot):
                shot = new_action
                ref = self._make_oneshot(info, shot)
                try:
                    engine_call(table.modify, entry.match, ref, entry.priority)
                except P4RTError:
                    self._drop_oneshot(info, shot)
                    raise
                self._oneshots[entry] = shot
            else:
                engine_call(table.modify, entry.match, new_action, entry.priority)
                self._oneshots.pop(entry, None)
            if old_shot is not None and old_shot is not self._oneshots.get(entry):
                self._drop_oneshot(info, old_shot)
            entry.timeout_ns = te.idle_timeout_ns
            entry.metadata = te.metadata
            entry.controller_metadata = te.controller_metadata
        self._apply_resources(w, entry)

    def _find(self, table: MatchTable, match: tuple[Match, ...], prio: int) -> TableEntry | None:
        try:
            return table.get(match, prio)
        except NotFound:
            return None
        except ValueError as e:
            raise invalid(str(e)) from None

    def _insert(
        self,
        w: _EntryWrite,
        match: tuple[Match, ...],
        priority: int,
        action: ActionCall | ProfileRef | OneShot,
        te: p4runtime_pb2.TableEntry,
    ) -> None:
        shot = action if isinstance(action, OneShot) else None
        ref = self._make_oneshot(w.info, shot) if shot is not None else action
        entry = TableEntry(
            match=match,
            action=ref,  # type: ignore[arg-type]
            priority=priority,
            timeout_ns=te.idle_timeout_ns,
            last_hit_ns=self.switch.clock.now_ns(),
            metadata=te.metadata,
            controller_metadata=te.controller_metadata,
        )
        try:
            engine_call(w.table.add, entry)
        except P4RTError:
            if shot is not None:
                self._drop_oneshot(w.info, shot)
            raise
        if shot is not None:
            self._oneshots[entry] = shot
        self._apply_resources(w, entry)

    def _resources(
        self, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry
    ) -> _EntryWrite:
        """Validate the direct resources of a TableEntry write."""
        where = f"table {info.name}"
        counter = None
        if te.HasField("counter_data"):
            if not info.direct_counter_id:
                raise invalid(f"{where} has no direct counter")
            counter = (te.counter_data.packet_count, te.counter_data.byte_count)
        rates = None
        if te.HasField("meter_config"):
            if not info.direct_meter_id:
                raise invalid(f"{where} has no direct meter")
            unit = meter_unit(self.index.direct_meters[info.direct_meter_id].proto.spec.unit)
            rates = decode_meter_config(te.meter_config, unit, where)
        if te.HasField("meter_counter_data"):
            raise unimplemented(f"{where}: per-colour meter counters are not supported")
        return _EntryWrite(info, table, counter, rates)

    def _apply_resources(self, w: _EntryWrite, entry: TableEntry) -> None:
        if w.counter is not None:
            entry.packets, entry.bytes = w.counter
        if entry.meter is not None and w.info.direct_meter_id:
            # INSERT or MODIFY without meter_config: the default (unconfigured, all GREEN)
            if w.meter is not None:
                entry.meter.set_rates(w.meter)
            else:
                entry.meter.reset_rates()

    def _write_default(
        self, utype: int, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry
    ) -> None:
        where = f"table {info.name} default entry"
        if utype != Update.MODIFY:
            raise invalid(f"{where}: only MODIFY is allowed on the default entry")
        if len(te.match) or te.priority:
            raise invalid(f"{where}: match and priority must be empty")
        if te.idle_timeout_ns or te.HasField("time_since_last_hit"):
            raise invalid(f"{where}: default entries have no idle timeout")
        if info.const_default_action_id or table.const_default:
            raise P4RTError(Code.PERMISSION_DENIED, f"{where} is const")
        if te.HasField("counter_data") or te.HasField("meter_config"):
            raise unimplemented(f"{where}: direct resources of the default entry are not supported")
        if not te.HasField("action"):
            table.reset_default()
            return
        action = self._decode_table_action(info, te.action, default=True)
        assert isinstance(action, ActionCall)
        engine_call(table.set_default, action)

    # -- TableEntry reads ------------------------------------------------------------------

    def read_table_entries(self, te: p4runtime_pb2.TableEntry) -> Iterator[p4runtime_pb2.Entity]:
        """The entries a (possibly wildcard) TableEntry selects, as Entities."""
        if te.table_id == 0:
            for info in self.index.tables:
                table = self._engine_tables.get(info.id)
                if table is None:
                    continue
                if te.is_default_action:
                    yield self._entity(self._default_msg(info, table))
                    continue
                for e in table.entries():
                    yield self._entity(self._entry_msg(info, table, e, te))
            return
        info, table = self._table(te.table_id)
        if te.is_default_action:
            yield self._entity(self._default_msg(info, table))
            return
        for e in self._select(info, table, te):
            yield self._entity(self._entry_msg(info, table, e, te))

    def _select(
        self, info: TableInfo, table: MatchTable, te: p4runtime_pb2.TableEntry
    ) -> list[TableEntry]:
        """Entries of one table a request selects (exact key, or filters)."""
        if len(te.match):
            match = self._decode_match(info, te.match)
            e = self._find(table, match, te.priority if table.needs_priority else 0)
            return [e] if e is not None else []
        out = []
        action_id = te.action.action.action_id if te.action.HasField("action") else 0
        for e in table.entries():
            if te.priority and e.priority != te.priority:
                continue
            if te.controller_metadata and e.controller_metadata != te.controller_metadata:
                continue
            if te.metadata and e.metadata != te.metadata:
                continue
            if action_id and not (
                isinstance(e.action, ActionCall)
                and self.index.action_named(e.action.name).id == action_id
            ):
                continue
            out.append(e)
        return out

    @staticmethod
    def _entity(te: p4runtime_pb2.TableEntry) -> p4runtime_pb2.Entity:
        ent = p4runtime_pb2.Entity()
        ent.table_entry.CopyFrom(te)
        return ent

    def _key_msg(self, info: TableInfo, table: MatchTable, e: TableEntry) -> Any:
        msg = p4runtime_pb2.TableEntry(table_id=info.id)
        msg.match.extend(self._encode_match(info, e.match))
        if table.needs_priority:
            msg.priority = e.priority
        return msg

    def _entry_msg(
        self, info: TableInfo, table: MatchTable, e: TableEntry, req: p4runtime_pb2.TableEntry
    ) -> p4runtime_pb2.TableEntry:
        msg = self._key_msg(info, table, e)
        msg.action.CopyFrom(self._encode_table_action(e, e.action))
        msg.idle_timeout_ns = e.timeout_ns
        msg.metadata = e.metadata
        msg.controller_metadata = e.controller_metadata
        msg.is_const = e.is_const or info.is_const
        if req.HasField("counter_data") and info.direct_counter_id:
            unit = self.index.direct_counters[info.direct_counter_id].proto.spec.unit
            msg.counter_data.CopyFrom(counter_data(e.packets, e.bytes, unit))
        if req.HasField("meter_config") and e.meter is not None:
            cfg = encode_meter_config(e.meter.get_rates())
            if cfg is not None:
                msg.meter_config.CopyFrom(cfg)
        if req.HasField("time_since_last_hit"):
            msg.time_since_last_hit.elapsed_ns = max(0, self.switch.clock.now_ns() - e.last_hit_ns)
        return msg

    def _default_msg(self, info: TableInfo, table: MatchTable) -> p4runtime_pb2.TableEntry:
        msg = p4runtime_pb2.TableEntry(table_id=info.id, is_default_action=True)
        msg.action.action.CopyFrom(encode_action(self.index, table.default_action))
        if info.const_default_action_id or table.const_default:
            msg.is_const = True
        return msg

    # -- idle timeouts ---------------------------------------------------------------------

    def idle_timeout_entities(
        self, expired: Iterable[tuple[str, TableEntry]]
    ) -> list[p4runtime_pb2.TableEntry]:
        """``IdleTimeoutNotification`` entries for engine entries, given as (table name,
        entry): key, action, idle_timeout_ns and the other fields a read returns."""
        out = []
        req = p4runtime_pb2.TableEntry()
        for name, e in expired:
            info = self.index.tables.named(name)
            table = self._engine_tables[info.id]
            out.append(self._entry_msg(info, table, e, req))
        return out

    def poll_idle_timeouts(self, now_ns: int | None = None) -> list[p4runtime_pb2.TableEntry]:
        """Entries of tables with idle timeout support due a notification (idle for their TTL
        since their last hit and their last notification), as TableEntry messages in table
        order."""
        now = self.switch.clock.now_ns() if now_ns is None else now_ns
        expired = []
        for info in self.index.tables:
            table = self._engine_tables.get(info.id)
            if table is not None and info.supports_idle_timeout:
                expired.extend((info.name, e) for e in table.expired(now))
        return self.idle_timeout_entities(expired)

    # -- DirectCounterEntry / DirectMeterEntry ---------------------------------------------

    def _direct_targets(
        self, te: p4runtime_pb2.TableEntry, kind: str
    ) -> Iterator[tuple[TableInfo, MatchTable, TableEntry]]:
        attr = "direct_counter_id" if kind == "counter" else "direct_meter_id"
        if te.table_id:
            info, table = self._table(te.table_id)
            if not getattr(info, attr):
                raise invalid(f"table {info.name} has no direct {kind}")
            infos = [(info, table)]
        else:
            infos = [
                (i, self._engine_tables[i.id])
                for i in self.index.tables
                if getattr(i, attr) and i.id in self._engine_tables
            ]
        for info, table in infos:
            for e in self._select(info, table, te):
                yield info, table, e

    def _direct_entry(self, te: p4runtime_pb2.TableEntry, kind: str) -> tuple[Any, TableEntry]:
        """The one entry a DirectCounter/MeterEntry write names."""
        if te.is_default_action:
            raise unimplemented("direct resources of the default entry are not supported")
        info, table = self._table(te.table_id)
        attr = "direct_counter_id" if kind == "counter" else "direct_meter_id"
        if not getattr(info, attr):
            raise invalid(f"table {info.name} has no direct {kind}")
        match = self._decode_match(info, te.match)
        prio = self._check_priority(info, table, te.priority)
        e = self._find(table, match, prio)
        if e is None:
            raise not_found(f"table {info.name}: no entry {_show(match)}")
        return info, e

    def write_direct_counter(self, utype: int, d: p4runtime_pb2.DirectCounterEntry) -> None:
        """Apply a DirectCounterEntry update (MODIFY only)."""
        if utype != Update.MODIFY:
            raise invalid("direct counter entries only take MODIFY")
        _, e = self._direct_entry(d.table_entry, "counter")
        e.packets, e.bytes = d.data.packet_count, d.data.byte_count

    def read_direct_counters(self, d: p4runtime_pb2.DirectCounterEntry) -> Iterator[Any]:
        """DirectCounterEntry entities (table id 0 = all tables with one; empty match = all)."""
        for info, table, e in self._direct_targets(d.table_entry, "counter"):
            unit = self.index.direct_counters[info.direct_counter_id].proto.spec.unit
            ent = p4runtime_pb2.Entity()
            ent.direct_counter_entry.table_entry.CopyFrom(self._key_msg(info, table, e))
            ent.direct_counter_entry.data.CopyFrom(counter_data(e.packets, e.bytes, unit))
            yield ent

    def write_direct_meter(self, utype: int, d: p4runtime_pb2.DirectMeterEntry) -> None:
        """Apply a DirectMeterEntry update (MODIFY only; no config = back to unconfigured)."""
        if utype != Update.MODIFY:
            raise invalid("direct meter entries only take MODIFY")
        info, e = self._direct_entry(d.table_entry, "meter")
        if e.meter is None:
            raise P4RTError(Code.INTERNAL, f"table {info.name}: the entry has no meter cell")
        if d.HasField("config"):
            rates = decode_meter_config(d.config, e.meter.unit, f"table {info.name}")
            e.meter.set_rates(rates)
        else:
            e.meter.reset_rates()

    def read_direct_meters(self, d: p4runtime_pb2.DirectMeterEntry) -> Iterator[Any]:
        """DirectMeterEntry entities; ``config`` unset for unconfigured meters."""
        for info, table, e in self._direct_targets(d.table_entry, "meter"):
            ent = p4runtime_pb2.Entity()
            ent.direct_meter_entry.table_entry.CopyFrom(self._key_msg(info, table, e))
            cfg = encode_meter_config(e.meter.get_rates() if e.meter is not None else None)
            if cfg is not None:
                ent.direct_meter_entry.config.CopyFrom(cfg)
            yield ent


# -- field codecs ----------------------------------------------------------------------------


def _decode_field(info: TableInfo, f: FieldInfo, fm: p4runtime_pb2.FieldMatch | None) -> Match:
    where = f"table {info.name}, field {f.name}"
    full = (1 << f.bitwidth) - 1
    kind = f.match_type
    if fm is None:
        if kind == MT.EXACT:
            raise invalid(f"{where}: exact fields must be given")
        if kind == MT.LPM:
            return Lpm(0, 0)
        if kind == MT.TERNARY:
            return Ternary(0, 0)
        if kind == MT.RANGE:
            return Range(0, full)
        if kind == MT.OPTIONAL:
            return Optional(None)
        raise unimplemented(f"{where}: match kind {kind} is not supported")
    expected = _KIND_FIELD.get(kind)
    which = fm.WhichOneof("field_match_type")
    if expected is None:
        raise unimplemented(f"{where}: match kind {kind} is not supported")
    if which != expected:
        raise invalid(f"{where}: expected a {expected} match, got {which}")
    if kind == MT.EXACT:
        return Exact(f.decode(fm.exact.value, where))
    if kind == MT.OPTIONAL:
        return Optional(f.decode(fm.optional.value, where))
    if kind == MT.LPM:
        v = f.decode(fm.lpm.value, where)
        plen = fm.lpm.prefix_len
        if plen == 0:
            raise invalid(f"{where}: prefix length 0 is a don't-care: omit the field")
        if not 0 < plen <= f.bitwidth:
            raise invalid(f"{where}: prefix length {plen} out of range 1..{f.bitwidth}")
        if v & (full >> plen):
            raise invalid(f"{where}: value 0x{v:x} has bits set beyond the /{plen} prefix")
        return Lpm(v, plen)
    if kind == MT.TERNARY:
        v = f.decode(fm.ternary.value, where)
        m = f.decode(fm.ternary.mask, where + " (mask)")
        if m == 0:
            raise invalid(f"{where}: mask 0 is a don't-care: omit the field")
        if v & ~m:
            raise invalid(f"{where}: value 0x{v:x} has bits outside mask 0x{m:x}")
        return Ternary(v, m)
    lo = f.decode(fm.range.low, where + " (low)")
    hi = f.decode(fm.range.high, where + " (high)")
    if lo > hi:
        raise invalid(f"{where}: empty range {lo}..{hi}")
    if lo == 0 and hi == full:
        raise invalid(f"{where}: the full range is a don't-care: omit the field")
    return Range(lo, hi)


def _encode_field(f: FieldInfo, m: Match) -> p4runtime_pb2.FieldMatch | None:
    """The canonical FieldMatch of an engine match, ``None`` for a don't-care."""
    fm = p4runtime_pb2.FieldMatch(field_id=f.id)
    full = (1 << f.bitwidth) - 1
    if isinstance(m, Exact):
        fm.exact.value = f.encode(m.value)
    elif isinstance(m, Lpm):
        if m.prefix_len == 0:
            return None
        fm.lpm.value = f.encode(m.value)
        fm.lpm.prefix_len = m.prefix_len
    elif isinstance(m, Ternary):
        if m.mask == 0:
            return None
        fm.ternary.value = f.encode(m.value)
        fm.ternary.mask = f.encode(m.mask)
    elif isinstance(m, Range):
        if (m.low, m.high) == (0, full):
            return None
        fm.range.low = f.encode(m.low)
        fm.range.high = f.encode(m.high)
    else:
        if m.value is None:
            return None
        fm.optional.value = f.encode(m.value)
    return fm


def _show(match: tuple[Match, ...]) -> str:
    """A match key for error messages: ``(0xa, 0xc0a80000/16, 0x800&&&0xff00, 1..9, *)``."""
    parts = []
    for m in match:
        if isinstance(m, Exact):
            parts.append(hex(m.value))
        elif isinstance(m, Lpm):
            parts.append(f"{m.value:#x}/{m.prefix_len}")
        elif isinstance(m, Ternary):
            parts.append(f"{m.value:#x}&&&{m.mask:#x}")
        elif isinstance(m, Range):
            parts.append(f"{m.low:#x}..{m.high:#x}")
        else:
            parts.append("*" if m.value is None else hex(m.value))
    return "(" + ", ".join(parts) + ")"
