"""Packet replication engine entities: ``MulticastGroupEntry`` and ``CloneSessionEntry``.

A mixin of :class:`~.entities.EntityStore`, on the engine's
:class:`~softswitch.engine.pre.PacketReplicationEngine`. The written messages are kept (with
canonical port bytes) so a read returns replicas in the order and form they were written, with
the group's ``metadata``; groups or sessions made by other means (a CLI) are read from the
engine. Backup replicas (P4Runtime 1.5) are not in the 1.4 protos this server speaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from p4.v1 import p4runtime_pb2

from ..engine.pre import MAX_CLONE_SESSION_ID, MAX_MCAST_GRP, MAX_PORT, MAX_RID
from .errors import P4RTError, engine_call, invalid, not_found
from .p4info_index import decode_bits, encode_bits

__all__ = ["PreEntities"]

Code = grpc.StatusCode
Update = p4runtime_pb2.Update


class PreEntities:
    """Multicast groups and clone sessions (mixin of ``EntityStore``)."""

    switch: Any

    def _init_pre(self) -> None:
        self._mcast_msgs: dict[int, p4runtime_pb2.MulticastGroupEntry] = {}
        self._clone_msgs: dict[int, p4runtime_pb2.CloneSessionEntry] = {}

    def write_pre(self, utype: int, pre: p4runtime_pb2.PacketReplicationEngineEntry) -> None:
        """Apply one PacketReplicationEngineEntry update."""
        which = pre.WhichOneof("type")
        if which == "multicast_group_entry":
            self._write_group(utype, pre.multicast_group_entry)
        elif which == "clone_session_entry":
            self._write_session(utype, pre.clone_session_entry)
        else:
            raise invalid(
                "packet replication engine entry: neither a multicast group nor a clone session"
            )

    def _replicas(
        self, replicas: Any, what: str
    ) -> tuple[list[tuple[int, int]], list[p4runtime_pb2.Replica]]:
        """(port, instance) pairs and canonical Replica messages; duplicates rejected."""
        pairs: list[tuple[int, int]] = []
        canon: list[p4runtime_pb2.Replica] = []
        for r in replicas:
            kind = r.WhichOneof("port_kind")
            if kind == "port":
                port = decode_bits(r.port, 32, f"{what}: replica port")
            else:
                port = r.egress_port
            if port > MAX_PORT:
                raise invalid(f"{what}: port {port} out of range (max {MAX_PORT})")
            if r.instance > MAX_RID:
                raise invalid(f"{what}: instance {r.instance} out of range (max {MAX_RID})")
            if (port, r.instance) in pairs:
                raise invalid(f"{what}: duplicate replica (port {port}, instance {r.instance})")
            pairs.append((port, r.instance))
            c = p4runtime_pb2.Replica(instance=r.instance)
            if kind == "port":
                c.port = encode_bits(port)
            else:
                c.egress_port = port
            canon.append(c)
        return pairs, canon

    # -- multicast groups ------------------------------------------------------------------

    def _write_group(self, utype: int, g: p4runtime_pb2.MulticastGroupEntry) -> None:
        gid = g.multicast_group_id
        what = f"multicast group {gid}"
        pre = self.switch.pre
        if gid == 0:
            raise invalid("multicast group id 0 is not valid")
        if gid > MAX_MCAST_GRP:
            raise P4RTError(Code.OUT_OF_RANGE, f"{what}: id out of range (max {MAX_MCAST_GRP})")
        exists = pre.has_group(gid)
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{what} does not exist")
            engine_call(pre.mgrp_destroy, gid)
            self._mcast_msgs.pop(gid, None)
            return
        if utype == Update.INSERT and exists:
            raise P4RTError(Code.ALREADY_EXISTS, f"{what} already exists")
        if utype == Update.MODIFY and not exists:
            raise not_found(f"{what} does not exist")
        if utype not in (Update.INSERT, Update.MODIFY):
            raise invalid(f"{what}: unknown update type {utype}")
        pairs, canon = self._replicas(g.replicas, what)
        engine_call(pre.set_group, gid, pairs)
        msg = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=gid, metadata=g.metadata)
        msg.replicas.extend(canon)
        self._mcast_msgs[gid] = msg

    def read_multicast_groups(
        self, g: p4runtime_pb2.MulticastGroupEntry
    ) -> Iterator[p4runtime_pb2.Entity]:
        """MulticastGroupEntry entities (group id 0 = all groups)."""
        pre = self.switch.pre
        ids = [g.multicast_group_id] if g.multicast_group_id else pre.group_ids()
        for gid in ids:
            if not pre.has_group(gid):
                continue
            msg = self._mcast_msgs.get(gid)
            if msg is None:
                msg = p4runtime_pb2.MulticastGroupEntry(multicast_group_id=gid)
                for port, rid in pre.group_replicas(gid):
                    msg.replicas.add(egress_port=port, instance=rid)
            ent = p4runtime_pb2.Entity()
            ent.packet_replication_engine_entry.multicast_group_entry.CopyFrom(msg)
            yield ent

    # -- clone sessions --------------------------------------------------------------------

    def _write_session(self, utype: int, s: p4runtime_pb2.CloneSessionEntry) -> None:
        sid = s.session_id
        what = f"clone session {sid}"
        pre = self.switch.pre
        if sid == 0:
            raise invalid("clone session id 0 is not valid")
        if sid > MAX_CLONE_SESSION_ID:
            raise P4RTError(
                Code.OUT_OF_RANGE, f"{what}: id out of range (max {MAX_CLONE_SESSION_ID})"
            )
        exists = sid in pre.clone_session_ids()
        if utype == Update.DELETE:
            if not exists:
                raise not_found(f"{what} does not exist")
            engine_call(pre.delete_clone_session, sid)
            self._clone_msgs.pop(sid, None)
            return
        if utype == Update.INSERT and exists:
            raise P4RTError(Code.ALREADY_EXISTS, f"{what} already exists")
        if utype == Update.MODIFY and not exists:
            raise not_found(f"{what} does not exist")
        if utype not in (Update.INSERT, Update.MODIFY):
            raise invalid(f"{what}: unknown update type {utype}")
        pairs, canon = self._replicas(s.replicas, what)
        engine_call(
            lambda: pre.set_clone_session(
                sid,
                pairs,
                truncate_bytes=s.packet_length_bytes,
                class_of_service=s.class_of_service,
            )
        )
        msg = p4runtime_pb2.CloneSessionEntry(
            session_id=sid,
            class_of_service=s.class_of_service,
            packet_length_bytes=s.packet_length_bytes,
        )
        msg.replicas.extend(canon)
        self._clone_msgs[sid] = msg

    def read_clone_sessions(
        self, s: p4runtime_pb2.CloneSessionEntry
    ) -> Iterator[p4runtime_pb2.Entity]:
        """CloneSessionEntry entities (session id 0 = all sessions)."""
        pre = self.switch.pre
        ids = [s.session_id] if s.session_id else pre.clone_session_ids()
        for sid in ids:
            if sid not in pre.clone_session_ids():
                continue
            msg = self._clone_msgs.get(sid)
            if msg is None:
                cs = pre.clone_session(sid)
                msg = p4runtime_pb2.CloneSessionEntry(
                    session_id=sid,
                    class_of_service=cs.class_of_service,
                    packet_length_bytes=cs.truncate_bytes,
                )
                for port, rid in pre.clone_copies(sid):
                    msg.replicas.add(egress_port=port, instance=rid)
            ent = p4runtime_pb2.Entity()
            ent.packet_replication_engine_entry.clone_session_entry.CopyFrom(msg)
            yield ent
