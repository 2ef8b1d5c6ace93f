"""Packet replication engine: multicast groups (BMv2 simple_pre order) and clone sessions."""

from __future__ import annotations

import pytest

from softswitch.engine.pre import CloneSession, PacketReplicationEngine


def test_replication_order_is_nodes_in_association_order_ports_ascending() -> None:
    pre = PacketReplicationEngine()
    assert pre.mgrp_create(7) == 7
    n_a = pre.node_create(5, [3, 1, 2, 1])  # duplicate port collapses, as BMv2's port bitmap
    n_b = pre.node_create(2, [0, 9])
    pre.node_associate(7, n_b)
    pre.node_associate(7, n_a)
    assert pre.replicate(7) == [(0, 2), (9, 2), (1, 5), (2, 5), (3, 5)]
    assert pre.group_replicas(7) == pre.replicate(7)


def test_node_handles_are_lowest_free_from_zero() -> None:
    pre = PacketReplicationEngine()
    assert [pre.node_create(1, [1]) for _ in range(3)] == [0, 1, 2]
    pre.node_destroy(1)
    assert pre.node_create(1, [1]) == 1
    assert pre.node_create(1, [1]) == 3


def test_dissociate_update_and_destroy() -> None:
    pre = PacketReplicationEngine()
    pre.mgrp_create(1)
    a = pre.node_create(10, [1])
    b = pre.node_create(20, [2])
    pre.node_associate(1, a)
    pre.node_associate(1, b)
    pre.node_dissociate(1, a)
    assert pre.replicate(1) == [(2, 20)]
    pre.node_associate(1, a)  # back at the end of the list
    assert pre.replicate(1) == [(2, 20), (1, 10)]
    pre.node_update(b, [4, 3])
    assert pre.replicate(1) == [(3, 20), (4, 20), (1, 10)]
    pre.node_destroy(b)  # destroying an associated node dissociates it (BMv2 allows this)
    assert pre.replicate(1) == [(1, 10)]


def test_destroying_a_group_frees_its_nodes_for_reuse() -> None:
    pre = PacketReplicationEngine()
    pre.mgrp_create(1)
    n = pre.node_create(1, [1])
    pre.node_associate(1, n)
    pre.mgrp_destroy(1)
    assert not pre.has_group(1)
    assert pre.replicate(1) == []
    pre.mgrp_create(2)
    pre.node_associate(2, n)
    assert pre.replicate(2) == [(1, 1)]


def test_unknown_group_replicates_to_nothing() -> None:
    assert PacketReplicationEngine().replicate(99) == []


def test_multicast_errors() -> None:
    pre = PacketReplicationEngine()
    pre.mgrp_create(1)
    pre.mgrp_create(2)
    n = pre.node_create(0, [1])
    with pytest.raises(ValueError, match="already exists"):
        pre.mgrp_create(1)
    with pytest.raises(KeyError, match="multicast group 3 does not exist"):
        pre.mgrp_destroy(3)
    with pytest.raises(KeyError, match="multicast group 3 does not exist"):
        pre.node_associate(3, n)
    with pytest.raises(KeyError, match="multicast node 8 does not exist"):
        pre.node_associate(1, 8)
    with pytest.raises(KeyError, match="node 8"):
        pre.node_destroy(8)
    with pytest.raises(KeyError, match="group 3"):
        pre.group_replicas(3)
    pre.node_associate(1, n)
    with pytest.raises(ValueError, match="already associated with group 1"):
        pre.node_associate(2, n)
    with pytest.raises(ValueError, match="not associated with group 2"):
        pre.node_dissociate(2, n)
    with pytest.raises(ValueError, match="port 512 is out of range"):
        pre.node_create(0, [512])
    with pytest.raises(ValueError, match="rid 65536 is out of range"):
        pre.node_create(65536, [1])
    with pytest.raises(ValueError, match="multicast group id 65536"):
        pre.mgrp_create(65536)
    with pytest.raises(ValueError, match="port must be an integer"):
        pre.node_create(0, [-1])
    assert pre.replicate(1) == [(1, 0)]  # failed calls changed nothing


def test_set_group_groups_replicas_by_rid() -> None:
    pre = PacketReplicationEngine()
    pre.set_group(5, [(3, 1), (1, 2), (2, 1), (0, 2)])
    # One node per rid, in order of first appearance; ports ascending within a node.
    assert pre.replicate(5) == [(2, 1), (3, 1), (0, 2), (1, 2)]
    pre.set_group(5, [(7, 0)])  # replace
    assert pre.replicate(5) == [(7, 0)]
    pre.set_group(6, [])
    assert pre.has_group(6) and pre.replicate(6) == []
    assert pre.group_ids() == [5, 6]


def test_set_group_replaces_nodes_and_frees_its_own() -> None:
    pre = PacketReplicationEngine()
    pre.mgrp_create(1)
    cli_node = pre.node_create(9, [9])
    pre.node_associate(1, cli_node)
    pre.set_group(1, [(1, 1), (2, 2)])
    assert pre.replicate(1) == [(1, 1), (2, 2)]
    pre.node_associate(1, cli_node)  # the CLI node was dissociated, not destroyed
    pre.mgrp_destroy(1)
    # The nodes set_group made are gone; their handles come back.
    assert pre.node_create(0, []) == 1


def test_set_group_rejects_duplicates_and_bad_values() -> None:
    pre = PacketReplicationEngine()
    with pytest.raises(ValueError, match=r"duplicate replica \(port 1, rid 0\)"):
        pre.set_group(1, [(1, 0), (2, 0), (1, 0)])
    with pytest.raises(ValueError, match="replica is"):
        pre.set_group(1, [(1, 0, 0)])  # type: ignore[list-item]
    assert not pre.has_group(1)
    pre.set_group(1, [(1, 0), (1, 1)])  # same port, other rid: two copies
    assert pre.replicate(1) == [(1, 0), (1, 1)]


def test_clone_session_to_a_port() -> None:
    pre = PacketReplicationEngine()
    s = pre.set_clone_session(5, [3])  # mirroring_add 5 3
    assert s == CloneSession(5, ((3, 0),), None, 0, 0)
    assert pre.clone_session(5) is s
    assert pre.clone_copies(5) == [(3, 0)]


def test_clone_session_with_replicas_truncation_and_cos() -> None:
    pre = PacketReplicationEngine()
    pre.set_clone_session(100, [(4, 7), (2, 7), (1, 3)], truncate_bytes=64, class_of_service=2)
    s = pre.clone_session(100)
    assert (s.truncate_bytes, s.class_of_service, s.mcast_grp) == (64, 2, None)
    assert pre.clone_copies(100) == [(2, 7), (4, 7), (1, 3)]


def test_clone_session_to_a_group_resolves_at_clone_time() -> None:
    pre = PacketReplicationEngine()
    pre.set_clone_session(1, mcast_grp=9)  # mirroring_add_mc 1 9, before the group exists
    assert pre.clone_copies(1) == []
    pre.set_group(9, [(1, 1), (2, 1)])
    assert pre.clone_copies(1) == [(1, 1), (2, 1)]
    pre.set_group(9, [(3, 4)])
    assert pre.clone_copies(1) == [(3, 4)]


def test_clone_session_replace_delete_and_lookup_errors() -> None:
    pre = PacketReplicationEngine()
    pre.set_clone_session(1, [1])
    pre.set_clone_session(1, [2])  # replaces, as mirroring_add does
    assert pre.clone_copies(1) == [(2, 0)]
    assert pre.clone_session_ids() == [1]
    pre.delete_clone_session(1)
    assert pre.clone_copies(1) == []  # an unconfigured session clones nothing (BMv2)
    with pytest.raises(KeyError, match="clone session 1 does not exist"):
        pre.clone_session(1)
    with pytest.raises(KeyError, match="clone session 1 does not exist"):
        pre.delete_clone_session(1)


def test_clone_session_bad_arguments() -> None:
    pre = PacketReplicationEngine()
    with pytest.raises(ValueError, match="clone session id 32768 is out of range"):
        pre.set_clone_session(32768, [1])
    with pytest.raises(ValueError, match="not both"):
        pre.set_clone_session(1, [1], mcast_grp=2)
    with pytest.raises(ValueError, match="truncate_bytes"):
        pre.set_clone_session(1, [1], truncate_bytes=-1)
    with pytest.raises(ValueError, match="duplicate replica"):
        pre.set_clone_session(1, [1, 1])
    with pytest.raises(ValueError, match="ports are ints"):
        pre.set_clone_session(1, [1.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="port 600"):
        pre.set_clone_session(1, [600])
    assert pre.clone_session_ids() == []
