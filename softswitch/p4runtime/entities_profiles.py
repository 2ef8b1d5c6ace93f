"""Actions and action profiles: the action, meter and counter codecs every entity module uses,
``ActionProfileMember`` and ``ActionProfileGroup``, and the hidden members and groups behind
one-shot ``ActionProfileActionSet``s.

A mixin of :class:`~.entities.EntityStore` (through :class:`~.entities_tables.TableEntities`).

The engine builds one :class:`~softswitch.engine.action_profiles.ActionProfile` per indirect
table, even when tables share an instance; members and groups are written to each of them (same
order, so the same handles), which keeps them identical.

Weights: the engine's groups hold each member once, so a group member's weight must be 1
(anything else is ``UNIMPLEMENTED``); a one-shot action set with weight ``w`` gets ``w`` hidden
members with that action. ``watch_port`` is ``UNIMPLEMENTED``. One-shot members and groups get
ids above the uint32 range, so they never collide with the controller's and reads leave them
out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from ..engine.action_profiles import ActionProfile, ProfileRef
from ..engine.stateful import Meter, MeterRates
from ..engine.tables import ActionCall, MatchTable
from .errors import P4RTError, engine_call, invalid, not_found, unimplemented
from .p4info_index import ActionInfo, P4InfoIndex, TableInfo

__all__ = [
    "HIDDEN_ID_BASE",
    "OneShot",
    "ProfileEntities",
    "check_scope",
    "counter_data",
    "decode_action",
    "decode_meter_config",
    "encode_action",
    "encode_meter_config",
    "meter_unit",
]

Code = grpc.StatusCode
Update = p4runtime_pb2.Update
HIDDEN_ID_BASE = 1 << 32


def decode_action(index: P4InfoIndex, msg: p4runtime_pb2.Action, where: str) -> ActionCall:
    """An ``Action`` as the engine's :class:`ActionCall`: every param exactly once, each fits.

    The caller has checked that the action is allowed where it is used."""
    info = index.actions.get(msg.action_id)
    if info is None:
        raise invalid(f"{where}: unknown action id {msg.action_id}")
    values: dict[int, int] = {}
    for p in msg.params:
        f = info.params.get(p.param_id)
        if f is None:
            raise invalid(f"{where}: action {info.name} has no param id {p.param_id}")
        if p.param_id in values:
            raise invalid(f"{where}: action {info.name}: param {f.name} given twice")
        values[p.param_id] = f.decode(p.value, f"{where}: action {info.name}, param {f.name}")
    missing = [f.name for i, f in info.params.items() if i not in values]
    if missing:
        raise invalid(f"{where}: action {info.name}: missing param(s) {', '.join(missing)}")
    return ActionCall(info.name, tuple(values[i] for i in info.params))


def encode_action(index: P4InfoIndex, call: ActionCall) -> p4runtime_pb2.Action:
    """An engine :class:`ActionCall` as an ``Action`` with canonical param values."""
    info: ActionInfo = index.actions.named(call.name)
    msg = p4runtime_pb2.Action(action_id=info.id)
    for (pid, f), v in zip(info.params.items(), call.args):
        msg.params.add(param_id=pid, value=f.encode(v))
    return msg


def check_scope(scopes: dict[int, int], action_id: int, *, default: bool, where: str) -> None:
    """The action may be used in a table (``INVALID_ARGUMENT`` if not one of its actions) and
    in this role (``PERMISSION_DENIED`` for a DEFAULT_ONLY action in an entry, a TABLE_ONLY one
    as the default)."""
    scope = scopes.get(action_id)
    if scope is None:
        raise invalid(f"{where}: action id {action_id} is not an action of this table")
    if default and scope == p4info_pb2.ActionRef.TABLE_ONLY:
        raise P4RTError(
            Code.PERMISSION_DENIED,
            f"{where}: action id {action_id} is @tableonly: not a default action",
        )
    if not default and scope == p4info_pb2.ActionRef.DEFAULT_ONLY:
        raise P4RTError(
            Code.PERMISSION_DENIED,
            f"{where}: action id {action_id} is @defaultonly: not for entries",
        )


# -- meters and counters ------------------------------------------------------------------


def decode_meter_config(cfg: p4runtime_pb2.MeterConfig, unit: str, where: str) -> MeterRates:
    """A ``MeterConfig`` (units per second) as engine rates, checked on a scratch meter so a
    bad config fails before anything changes."""
    if min(cfg.cir, cfg.cburst, cfg.pir, cfg.pburst) < 0:
        raise invalid(f"{where}: negative meter rate or burst")
    rates = MeterRates.from_per_second(cfg.cir, cfg.cburst, cfg.pir, cfg.pburst)
    try:
        Meter(unit).set_rates(rates)  # type: ignore[arg-type]
    except ValueError as e:
        raise invalid(f"{where}: {e}") from None
    return rates


def encode_meter_config(rates: MeterRates | None) -> p4runtime_pb2.MeterConfig | None:
    """Engine rates back in units per second, ``None`` when unconfigured.

    Rounded, not truncated: ``MeterRates.per_second`` truncates, so ``cir`` 249 would read back
    as 248 (249 / 1e6 * 1e6 is 248.99999999999997)."""
    if rates is None:
        return None
    return p4runtime_pb2.MeterConfig(
        cir=round(rates.cir * 1_000_000.0),
        cburst=rates.cburst,
        pir=round(rates.pir * 1_000_000.0),
        pburst=rates.pburst,
    )


def counter_data(packets: int, nbytes: int, unit: int) -> p4runtime_pb2.CounterData:
    """``CounterData`` reporting what a counter of ``unit`` (p4info CounterSpec.Unit) counts."""
    d = p4runtime_pb2.CounterData()
    if unit in (p4info_pb2.CounterSpec.BYTES, p4info_pb2.CounterSpec.BOTH):
        d.byte_count = nbytes
    if unit in (p4info_pb2.CounterSpec.PACKETS, p4info_pb2.CounterSpec.BOTH):
        d.packet_count = packets
    return d


def meter_unit(spec_unit: int) -> str:
    """The engine's meter unit of a p4info MeterSpec.Unit."""
    return "bytes" if spec_unit == p4info_pb2.MeterSpec.BYTES else "packets"


# -- action profiles -----------------------------------------------------------------------


@dataclass
class OneShot:
    """A one-shot action set: the decoded actions with weights, the hidden ids made for it."""

    actions: list[tuple[ActionCall, int]]
    group_id: int = 0
    member_ids: tuple[int, ...] = ()


class ProfileEntities:
    """Action profile members and groups (mixin of ``EntityStore``)."""

    index: P4InfoIndex
    switch: Any
    _engine_tables: dict[int, MatchTable]

    def _init_profiles(self) -> None:
        self._group_max_size: dict[tuple[int, int], int] = {}
        self._next_hidden = HIDDEN_ID_BASE

    def _profiles(self, profile_id: int) -> list[ActionProfile]:
        """The engine's copies of one action profile (one per table it implements)."""
        out = []
        for t in self.index.profile_tables(profile_id):
            table = self._engine_tables.get(t.id)
            if table is not None and table.profile is not None:
                out.append(table.profile)
        if not out:
            prof = self.index.action_profiles[profile_id]
            raise P4RTError(Code.INTERNAL, f"action profile {prof.name} has no engine table")
        return out

    def _make_oneshot(self, info: TableInfo, shot: OneShot) -> ProfileRef:
        """Create the hidden members and group of a one-shot set in every engine copy (all or
        nothing: a failure removes what was made and raises P4RTError)."""
        gid = self._next_hidden
        self._next_hidden += 1
        mids: list[int] = []
        shot.group_id, shot.member_ids = gid, ()
        try:
            for call, weight in shot.actions:
                for _ in range(weight):
                    mids.append(self._next_hidden)
                    self._next_hidden += 1
                    shot.member_ids = tuple(mids)
                    for p in self._profiles(info.implementation_id):
                        engine_call(p.add_member, mids[-1], call)
            for p in self._profiles(info.implementation_id):
                engine_call(p.create_group, gid, mids)
        except P4RTError:
            self._drop_oneshot(info, shot)
            raise
        return ProfileRef(group=gid)

    def _drop_oneshot(self, info: TableInfo, shot: OneShot) -> None:
        for p in self._profiles(info.implementation_id):
            if shot.group_id in p.groups():
                p.delete_group(shot.group_id)
            for mid in shot.member_ids:
                if mid in p.members():
                    p.delete_member(mid)

    # -- ActionProfileMember / ActionProfileGroup ------------------------------------------

    def _check_unused(self, profile_id: int, ref: ProfileRef, where: str) -> None:
        """FAILED_PRECONDITION if a group (for a member) or an entry of any table the profile
        implements uses ``ref``: checked across all engine copies before any is changed."""
        if ref.member is not None:
            for gid, mids in self._profiles(profile_id)[0].groups().items():
                if ref.member in mids:
                    raise P4RTError(Code.FAILED_PRECONDITION, f"{where} is in group {gid}")
        for t in self.index.profile_tables(profile_id):
            table = self._engine_tables.get(t.id)
            if table is not None and any(e.action == ref for e in table.entries()):
                raise P4RTError(Code.FAILED_PRECONDITION, f"{where} is used by table {t.name}")

    def write_member(self, utype: int, m: p4runtime_pb2.ActionProfileMember) -> None:
        """Apply one ActionProfileMember update."""
        prof = self.index.action_profiles[m.action_profile_id]
        engines = self._profiles(prof.id)
        where = f"action profile {prof.name}, member {m.member_id}"
        if m.member_id >= HIDDEN_ID_BASE:
            raise invalid(f"{where}: member id out of range")
        exists = m.member_id in engines[0].members()
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{where} does not exist")
            self._check_unused(prof.id, ProfileRef(member=m.member_id), where)
            for p in engines:
                engine_call(p.delete_member, m.member_id)
            return
        if not m.HasField("action"):
            raise invalid(f"{where}: the member needs an action")
        if m.action.action_id not in self.index.profile_action_ids(prof.id):
            raise invalid(
                f"{where}: action id {m.action.action_id} is not an action of the profile's tables"
            )
        call = decode_action(self.index, m.action, where)
        if utype == Update.INSERT:
            if exists:
                raise P4RTError(Code.ALREADY_EXISTS, f"{where} already exists")
            if len(engines[0].members()) >= engines[0].size:
                raise P4RTError(
                    Code.RESOURCE_EXHAUSTED,
                    f"action profile {prof.name} is full ({engines[0].size})",
                )
            for p in engines:
                engine_call(p.add_member, m.member_id, call)
        elif utype == Update.MODIFY:
            if not exists:
                raise not_found(f"{where} does not exist")
            for p in engines:
                engine_call(p.modify_member, m.member_id, call)
        else:
            raise invalid(f"{where}: unknown update type {utype}")

    def write_group(self, utype: int, g: p4runtime_pb2.ActionProfileGroup) -> None:
        """Apply one ActionProfileGroup update."""
        prof = self.index.action_profiles[g.action_profile_id]
        engines = self._profiles(prof.id)
        where = f"action profile {prof.name}, group {g.group_id}"
        if not prof.proto.with_selector:
            raise invalid(f"action profile {prof.name} has no selector: no groups")
        if g.group_id >= HIDDEN_ID_BASE:
            raise invalid(f"{where}: group id out of range")
        key = (prof.id, g.group_id)
        exists = g.group_id in engines[0].groups()
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{where} does not exist")
            self._check_unused(prof.id, ProfileRef(group=g.group_id), where)
            for p in engines:
                engine_call(p.delete_group, g.group_id)
            self._group_max_size.pop(key, None)
            return
        members = []
        for mem in g.members:
            if mem.member_id in members:
                raise invalid(f"{where}: member {mem.member_id} given twice")
            if mem.weight <= 0:
                raise invalid(f"{where}: member {mem.member_id}: weight must be > 0")
            if mem.weight != 1:
                raise unimplemented(f"{where}: member {mem.member_id}: only weight 1 is supported")
            if mem.WhichOneof("watch_kind") is not None:
                raise unimplemented(f"{where}: watch ports are not supported")
            if mem.member_id >= HIDDEN_ID_BASE or mem.member_id not in engines[0].members():
                raise not_found(f"{where}: member {mem.member_id} does not exist")
            members.append(mem.member_id)
        max_group = prof.proto.max_group_size
        if max_group and not 0 < g.max_size <= max_group:
            raise invalid(f"{where}: max_size must be in 1..{max_group}, got {g.max_size}")
        if g.max_size and len(members) > g.max_size:
            raise P4RTError(
                Code.RESOURCE_EXHAUSTED,
                f"{where}: {len(members)} members exceed max_size {g.max_size}",
            )
        if utype == Update.INSERT:
            if exists:
                raise P4RTError(Code.ALREADY_EXISTS, f"{where} already exists")
            for p in engines:
                engine_call(p.create_group, g.group_id, members)
            self._group_max_size[key] = g.max_size
        elif utype == Update.MODIFY:
            if not exists:
                raise not_found(f"{where} does not exist")
            if self._group_max_size.get(key, 0) != g.max_size:
                raise invalid(
                    f"{where}: max_size cannot change (was {self._group_max_size.get(key, 0)})"
                )
            for p in engines:
                engine_call(p.set_group_members, g.group_id, members)
        else:
            raise invalid(f"{where}: unknown update type {utype}")

    def read_members(self, m: p4runtime_pb2.ActionProfileMember) -> Iterator[Any]:
        """ActionProfileMember entities (profile id 0 = all profiles, member id 0 = all)."""
        profs = (
            [self.index.action_profiles[m.action_profile_id]]
            if m.action_profile_id
            else list(self.index.action_profiles)
        )
        for prof in profs:
            for mid, call in self._profiles(prof.id)[0].members().items():
                if mid >= HIDDEN_ID_BASE or (m.member_id and mid != m.member_id):
                    continue
                ent = p4runtime_pb2.Entity()
                out = ent.action_profile_member
                out.action_profile_id, out.member_id = prof.id, mid
                out.action.CopyFrom(encode_action(self.index, call))
                yield ent

    def read_groups(self, g: p4runtime_pb2.ActionProfileGroup) -> Iterator[Any]:
        """ActionProfileGroup entities (profile id 0 = all selectors, group id 0 = all)."""
        profs = (
            [self.index.action_profiles[g.action_profile_id]]
            if g.action_profile_id
            else [p for p in self.index.action_profiles if p.proto.with_selector]
        )
        for prof in profs:
            if not prof.proto.with_selector:
                continue
            for gid, mids in self._profiles(prof.id)[0].groups().items():
                if gid >= HIDDEN_ID_BASE or (g.group_id and gid != g.group_id):
                    continue
                ent = p4runtime_pb2.Entity()
                out = ent.action_profile_group
                out.action_profile_id, out.group_id = prof.id, gid
                out.max_size = self._group_max_size.get((prof.id, gid), 0)
                for mid in sorted(mids):
                    out.members.add(member_id=mid, weight=1)
                yield ent
