"""Actions and action profiles: the action, meter and counter codecs every entity module uses,
``ActionProfileMember`` and ``ActionProfileGroup``, and the hidden members and groups behind
one-shot ``ActionProfileActionSet``s.

A mixin of :class:`~.entities.EntityStore` (through :class:`~.entities_tables.TableEntities`).

Each action profile is one engine :class:`~softswitch.engine.action_profiles.ActionProfile`
(``switch.action_profiles[name]``), shared by the tables it implements. Member weights go to
the engine as they are; a one-shot action set gets one hidden member per action, with that
action's weight, in a hidden group. ``watch_port`` is ``UNIMPLEMENTED``. One-shot members and
groups get ids above the uint32 range, so they never collide with the controller's and reads
leave them out.
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
    """Engine rates back in units per second, ``None`` when unconfigured."""
    if rates is None:
        return None
    cir, cburst, pir, pburst = rates.per_second()
    return p4runtime_pb2.MeterConfig(cir=cir, cburst=cburst, pir=pir, pburst=pburst)


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

    def _profile(self, profile_id: int) -> ActionProfile:
        """The engine object of one action profile."""
        prof = self.index.action_profiles[profile_id]
        engine = self.switch.action_profiles.get(prof.name)
        if engine is None:
            raise P4RTError(Code.INTERNAL, f"action profile {prof.name} is not in the engine")
        return engine

    def _make_oneshot(self, info: TableInfo, shot: OneShot) -> ProfileRef:
        """Create the hidden members and group of a one-shot set (all or nothing: a failure
        removes what was made and raises P4RTError)."""
        engine = self._profile(info.implementation_id)
        gid = self._next_hidden
        self._next_hidden += 1
        weights: dict[int, int] = {}
        shot.group_id, shot.member_ids = gid, ()
        try:
            for call, weight in shot.actions:
                mid = self._next_hidden
                self._next_hidden += 1
                engine_call(engine.add_member, mid, call)
                weights[mid] = weight
                shot.member_ids = tuple(weights)
            engine_call(engine.create_group, gid, weights)
        except P4RTError:
            self._drop_oneshot(info, shot)
            raise
        return ProfileRef(group=gid)

    def _drop_oneshot(self, info: TableInfo, shot: OneShot) -> None:
        engine = self._profile(info.implementation_id)
        if shot.group_id in engine.groups():
            engine.delete_group(shot.group_id)
        for mid in shot.member_ids:
            if mid in engine.members():
                engine.delete_member(mid)

    # -- ActionProfileMember / ActionProfileGroup ------------------------------------------

    def _check_unused(self, profile_id: int, ref: ProfileRef, where: str) -> None:
        """FAILED_PRECONDITION if a group (for a member) or an entry of any table the profile
        implements uses ``ref``."""
        if ref.member is not None:
            for gid, mids in self._profile(profile_id).groups().items():
                if ref.member in mids:
                    raise P4RTError(Code.FAILED_PRECONDITION, f"{where} is in group {gid}")
        for t in self.index.profile_tables(profile_id):
            table = self._engine_tables.get(t.id)
            if table is not None and any(e.action == ref for e in table.entries()):
                raise P4RTError(Code.FAILED_PRECONDITION, f"{where} is used by table {t.name}")

    def write_member(self, utype: int, m: p4runtime_pb2.ActionProfileMember) -> None:
        """Apply one ActionProfileMember update."""
        prof = self.index.action_profiles[m.action_profile_id]
        engine = self._profile(prof.id)
        where = f"action profile {prof.name}, member {m.member_id}"
        if m.member_id >= HIDDEN_ID_BASE:
            raise invalid(f"{where}: member id out of range")
        exists = m.member_id in engine.members()
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{where} does not exist")
            self._check_unused(prof.id, ProfileRef(member=m.member_id), where)
            engine_call(engine.delete_member, m.member_id)
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
            if len(engine.members()) >= engine.size:
                raise P4RTError(
                    Code.RESOURCE_EXHAUSTED, f"action profile {prof.name} is full ({engine.size})"
                )
            engine_call(engine.add_member, m.member_id, call)
        elif utype == Update.MODIFY:
            if not exists:
                raise not_found(f"{where} does not exist")
            engine_call(engine.modify_member, m.member_id, call)
        else:
            raise invalid(f"{where}: unknown update type {utype}")

    def write_group(self, utype: int, g: p4runtime_pb2.ActionProfileGroup) -> None:
        """Apply one ActionProfileGroup update."""
        prof = self.index.action_profiles[g.action_profile_id]
        engine = self._profile(prof.id)
        where = f"action profile {prof.name}, group {g.group_id}"
        if not prof.proto.with_selector:
            raise invalid(f"action profile {prof.name} has no selector: no groups")
        if g.group_id >= HIDDEN_ID_BASE:
            raise invalid(f"{where}: group id out of range")
        key = (prof.id, g.group_id)
        exists = g.group_id in engine.groups()
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{where} does not exist")
            self._check_unused(prof.id, ProfileRef(group=g.group_id), where)
            engine_call(engine.delete_group, g.group_id)
            self._group_max_size.pop(key, None)
            return
        by_members = prof.proto.WhichOneof("selector_size_semantics") == "sum_of_members"
        max_weight = prof.proto.sum_of_members.max_member_weight if by_members else 0
        members: dict[int, int] = {}
        for mem in g.members:
            if mem.member_id in members:
                raise invalid(f"{where}: member {mem.member_id} given twice")
            if mem.weight <= 0:
                raise invalid(f"{where}: member {mem.member_id}: weight must be > 0")
            if max_weight and mem.weight > max_weight:
                raise invalid(
                    f"{where}: member {mem.member_id}: weight {mem.weight} exceeds the "
                    f"profile's max_member_weight {max_weight}"
                )
            if mem.WhichOneof("watch_kind") is not None:
                raise unimplemented(f"{where}: watch ports are not supported")
            if mem.member_id >= HIDDEN_ID_BASE or mem.member_id not in engine.members():
                raise not_found(f"{where}: member {mem.member_id} does not exist")
            members[mem.member_id] = mem.weight
        max_group = prof.proto.max_group_size
        if max_group and not 0 < g.max_size <= max_group:
            raise invalid(f"{where}: max_size must be in 1..{max_group}, got {g.max_size}")
        # the group's size as P4Info's selector_size_semantics counts it (sum of weights unless
        # the profile says sum of members)
        size, unit = (len(members), "members") if by_members else (sum(members.values()), "weight")
        if g.max_size and size > g.max_size:
            raise P4RTError(
                Code.RESOURCE_EXHAUSTED,
                f"{where}: {size} ({unit}) exceeds max_size {g.max_size}",
            )
        if utype == Update.INSERT:
            if exists:
                raise P4RTError(Code.ALREADY_EXISTS, f"{where} already exists")
            engine_call(engine.create_group, g.group_id, members)
            self._group_max_size[key] = g.max_size
        elif utype == Update.MODIFY:
            if not exists:
                raise not_found(f"{where} does not exist")
            if self._group_max_size.get(key, 0) != g.max_size:
                raise invalid(
                    f"{where}: max_size cannot change (was {self._group_max_size.get(key, 0)})"
                )
            engine_call(engine.set_group_members, g.group_id, members)
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
            for mid, call in self._profile(prof.id).members().items():
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
            engine = self._profile(prof.id)
            for gid in engine.groups():
                if gid >= HIDDEN_ID_BASE or (g.group_id and gid != g.group_id):
                    continue
                ent = p4runtime_pb2.Entity()
                out = ent.action_profile_group
                out.action_profile_id, out.group_id = prof.id, gid
                out.max_size = self._group_max_size.get((prof.id, gid), 0)
                for mid, weight in sorted(engine.group_weights(gid).items()):
                    out.members.add(member_id=mid, weight=weight)
                yield ent
