"""The packet replication engine: multicast groups and clone (mirroring) sessions.

Multicast follows BMv2's ``simple_pre`` as ``simple_switch_CLI`` drives it: a *node* is a
replication id (``egress_rid``) plus a set of ports; a *group* (``mcast_grp``) is an ordered list
of associated nodes. :meth:`PacketReplicationEngine.replicate` yields one ``(port, rid)`` copy per
port of each node, nodes in association order, ports ascending within a node (BMv2 keeps a node's
ports as a bitmap, so duplicates collapse and order is by port number). Node handles are the
lowest free integers from 0, as BMv2's handle manager hands them out.

:meth:`~PacketReplicationEngine.set_group` is the P4Runtime form (``MulticastGroupEntry``): a list
of ``(port, rid)`` replicas becomes one node per distinct rid, in order of first appearance, as
PI's BMv2 back end builds it (PI keeps those nodes in a hash map, so BMv2's order there is
unspecified; first appearance is our deterministic choice).

Clone sessions cover ``mirroring_add`` (one port), ``mirroring_add_mc`` (a multicast group,
resolved when the clone is made, as BMv2 does) and P4Runtime's ``CloneSessionEntry`` (replicas,
``class_of_service``, ``packet_length_bytes`` as ``truncate_bytes``).

Errors: unknown ids raise :class:`KeyError`, malformed or out-of-range arguments and conflicting
state (node already associated, duplicate replica) raise :class:`ValueError`; the P4Runtime server
maps them to NOT_FOUND / INVALID_ARGUMENT. Where BMv2 silently succeeds (creating a group that
exists, destroying one that does not) we raise, so callers learn about the mistake.

Data-path reads (:meth:`replicate`, :meth:`clone_copies`) see immutable snapshots that every
write replaces whole, so a control-plane thread may write while the engine reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush

MAX_MCAST_GRP = 0xFFFF  # standard_metadata.mcast_grp is bit<16>
MAX_RID = 0xFFFF  # standard_metadata.egress_rid is bit<16>
MAX_PORT = 511  # BMv2's PRE port map holds 512 ports (v1model PortId_t is bit<9>)
MAX_CLONE_SESSION_ID = (1 << 15) - 1  # simple_switch's MAX_MIRROR_SESSION_ID

Replica = tuple[int, int]  # (egress port, rid / instance)


@dataclass(frozen=True, slots=True)
class CloneSession:
    """A configured clone session; exactly one of ``replicas`` / ``mcast_grp`` is in use."""

    session_id: int
    replicas: tuple[Replica, ...]  # copies in order, when the session names ports
    mcast_grp: int | None  # the group, when the session names one (mirroring_add_mc)
    truncate_bytes: int  # 0 = whole packet
    class_of_service: int


@dataclass(slots=True)
class _Node:
    rid: int
    ports: tuple[int, ...]  # ascending, unique
    mgrp: int | None = None  # the group it is associated with
    owned: bool = False  # created by set_group, destroyed with its group


class PacketReplicationEngine:
    """Multicast groups (BMv2 simple_pre semantics) and clone sessions."""

    def __init__(self) -> None:
        self._groups: dict[int, list[int]] = {}  # mgrp -> node handles, association order
        self._nodes: dict[int, _Node] = {}
        self._next_handle = 0
        self._free_handles: list[int] = []  # heap
        self._copies: dict[int, tuple[Replica, ...]] = {}  # mgrp -> flattened replication list
        self._sessions: dict[int, CloneSession] = {}

    # -- multicast groups, simple_switch_CLI style ----------------------------------------

    def mgrp_create(self, mgrp: int) -> int:
        """Create an empty multicast group; returns its handle, which is ``mgrp`` (as BMv2)."""
        _check_range("multicast group id", mgrp, MAX_MCAST_GRP)
        if mgrp in self._groups:
            raise ValueError(f"multicast group {mgrp} already exists")
        self._groups[mgrp] = []
        self._copies[mgrp] = ()
        return mgrp

    def mgrp_destroy(self, mgrp: int) -> None:
        """Destroy a group. Nodes made by :meth:`set_group` go with it; others are dissociated.

        (BMv2 leaves associated nodes marked as associated to the vanished group, so they can
        never be associated again; dissociating them is what a user would expect.)
        """
        handles = self._group(mgrp)
        for h in handles:
            node = self._nodes[h]
            if node.owned:
                self._release(h)
            else:
                node.mgrp = None
        del self._copies[mgrp]
        del self._groups[mgrp]

    def node_create(self, rid: int, ports: Iterable[int]) -> int:
        """Create a node replicating to ``ports`` with ``egress_rid = rid``; returns its handle."""
        _check_range("rid", rid, MAX_RID)
        node = _Node(rid, _port_set(ports))
        # The lowest free handle, as BMv2's handle manager; freed handles are all below the next.
        if self._free_handles:
            handle = heappop(self._free_handles)
        else:
            handle = self._next_handle
            self._next_handle += 1
        self._nodes[handle] = node
        return handle

    def node_update(self, handle: int, ports: Iterable[int]) -> None:
        """Replace a node's ports (``mc_node_update``)."""
        node = self._node(handle)
        node.ports = _port_set(ports)
        if node.mgrp is not None:
            self._refresh(node.mgrp)

    def node_associate(self, mgrp: int, handle: int) -> None:
        """Append a node to a group's replication list; a node belongs to one group at most."""
        node = self._node(handle)
        handles = self._group(mgrp)
        if node.mgrp is not None:
            raise ValueError(f"node {handle} is already associated with group {node.mgrp}")
        handles.append(handle)
        node.mgrp = mgrp
        self._refresh(mgrp)

    def node_dissociate(self, mgrp: int, handle: int) -> None:
        """Remove a node from a group (the node survives)."""
        node = self._node(handle)
        handles = self._group(mgrp)
        if node.mgrp != mgrp:
            raise ValueError(f"node {handle} is not associated with group {mgrp}")
        handles.remove(handle)
        node.mgrp = None
        self._refresh(mgrp)

    def node_destroy(self, handle: int) -> None:
        """Destroy a node, dissociating it first if needed (BMv2 allows that too)."""
        node = self._node(handle)
        if node.mgrp is not None:
            self._groups[node.mgrp].remove(handle)
            self._refresh(node.mgrp)
        self._release(handle)

    # -- multicast groups, P4Runtime style -------------------------------------------------

    def set_group(self, mgrp: int, replicas: Iterable[Replica]) -> None:
        """Create or replace group ``mgrp`` so it replicates to ``replicas`` = [(port, rid)].

        Replaces every node of the group (including CLI-made ones). A repeated (port, rid) pair
        is an error, as in PI; an empty list makes a group that replicates to nothing.
        """
        _check_range("multicast group id", mgrp, MAX_MCAST_GRP)
        by_rid = _group_by_rid(replicas, "multicast group")
        if mgrp in self._groups:
            for h in list(self._groups[mgrp]):
                if self._nodes[h].owned:
                    self.node_destroy(h)
                else:
                    self.node_dissociate(mgrp, h)
        else:
            self._groups[mgrp] = []
        for rid, ports in by_rid.items():
            handle = self.node_create(rid, ports)
            self._nodes[handle].owned = True
            self._groups[mgrp].append(handle)
            self._nodes[handle].mgrp = mgrp
        self._refresh(mgrp)

    def has_group(self, mgrp: int) -> bool:
        """Whether multicast group ``mgrp`` exists."""
        return mgrp in self._groups

    def group_ids(self) -> list[int]:
        """Ids of all multicast groups, ascending."""
        return sorted(self._groups)

    def group_replicas(self, mgrp: int) -> list[Replica]:
        """The group's copies as :meth:`replicate` makes them; KeyError if it does not exist."""
        self._group(mgrp)
        return list(self._copies[mgrp])

    def replicate(self, mgrp: int) -> list[Replica]:
        """The (port, rid) copies of a packet sent to ``mgrp``, in BMv2's order.

        An unknown group gives no copies (BMv2 logs a warning and drops), not an error: this is
        the data path, and ``mcast_grp`` comes from the P4 program.
        """
        return list(self._copies.get(mgrp, ()))

    # -- clone sessions --------------------------------------------------------------------

    def set_clone_session(
        self,
        session_id: int,
        ports: Sequence[int | Replica] = (),
        *,
        mcast_grp: int | None = None,
        truncate_bytes: int = 0,
        class_of_service: int = 0,
    ) -> CloneSession:
        """Create or replace a clone session.

        ``ports``: egress ports (rid 0, like ``mirroring_add``) or ``(port, instance)`` replicas
        (P4Runtime's CloneSessionEntry); ``mcast_grp``: send clones to a multicast group instead
        (``mirroring_add_mc``; the group may be created later). ``truncate_bytes``: keep only
        that many bytes of each clone (0 = all; P4Runtime's ``packet_length_bytes``).
        """
        _check_range("clone session id", session_id, MAX_CLONE_SESSION_ID)
        _check_range("truncate_bytes", truncate_bytes, None)
        _check_range("class_of_service", class_of_service, None)
        if mcast_grp is not None:
            if ports:
                raise ValueError("a clone session takes ports or a multicast group, not both")
            _check_range("multicast group id", mcast_grp, MAX_MCAST_GRP)
            replicas: tuple[Replica, ...] = ()
        else:
            try:
                pairs = [(p, 0) if isinstance(p, int) else tuple(p) for p in ports]
            except TypeError:
                raise ValueError(
                    f"clone session {session_id}: ports are ints or (port, instance) pairs, "
                    f"got {ports!r}"
                ) from None
            by_rid = _group_by_rid(pairs, f"clone session {session_id}")
            replicas = tuple((port, rid) for rid, ps in by_rid.items() for port in ps)
        session = CloneSession(session_id, replicas, mcast_grp, truncate_bytes, class_of_service)
        self._sessions[session_id] = session
        return session

    def delete_clone_session(self, session_id: int) -> None:
        """Remove a clone session; KeyError if it does not exist."""
        self.clone_session(session_id)
        del self._sessions[session_id]

    def clone_session(self, session_id: int) -> CloneSession:
        """The configuration of a session; KeyError if it does not exist."""
        try:
            return self._sessions[session_id]
        except KeyError:
            raise KeyError(f"clone session {session_id} does not exist") from None

    def clone_session_ids(self) -> list[int]:
        """Ids of all clone sessions, ascending."""
        return sorted(self._sessions)

    def clone_copies(self, session_id: int) -> list[Replica]:
        """The (port, rid) copies a clone to ``session_id`` makes, group resolved now.

        An unconfigured session makes no copies: BMv2 skips the clone silently.
        """
        s = self._sessions.get(session_id)
        if s is None:
            return []
        if s.mcast_grp is not None:
            return self.replicate(s.mcast_grp)
        return list(s.replicas)

    # -- internals -------------------------------------------------------------------------

    def _group(self, mgrp: int) -> list[int]:
        try:
            return self._groups[mgrp]
        except KeyError:
            raise KeyError(f"multicast group {mgrp} does not exist") from None

    def _node(self, handle: int) -> _Node:
        try:
            return self._nodes[handle]
        except KeyError:
            raise KeyError(f"multicast node {handle} does not exist") from None

    def _release(self, handle: int) -> None:
        del self._nodes[handle]
        heappush(self._free_handles, handle)

    def _refresh(self, mgrp: int) -> None:
        # Rebuilt whole and swapped in, so a concurrent replicate() sees old or new, never half.
        nodes = [self._nodes[h] for h in self._groups[mgrp]]
        self._copies[mgrp] = tuple((port, n.rid) for n in nodes for port in n.ports)


def _check_range(what: str, value: int, maximum: int | None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what} {value} is out of range (max {maximum})")


def _port_set(ports: Iterable[int]) -> tuple[int, ...]:
    ports = tuple(ports)
    for port in ports:
        _check_range("port", port, MAX_PORT)
    return tuple(sorted(set(ports)))


def _group_by_rid(replicas: Iterable[Replica], what: str) -> dict[int, list[int]]:
    """Replicas as {rid: ports ascending}, rids in order of first appearance."""
    by_rid: dict[int, set[int]] = {}
    for replica in replicas:
        if len(replica) != 2:
            raise ValueError(f"{what}: a replica is (port, rid), got {replica!r}")
        port, rid = replica
        _check_range("port", port, MAX_PORT)
        _check_range("rid", rid, MAX_RID)
        ports = by_rid.setdefault(rid, set())
        if port in ports:
            raise ValueError(f"{what}: duplicate replica (port {port}, rid {rid})")
        ports.add(port)
    return {rid: sorted(ports) for rid, ports in by_rid.items()}
