"""Multicast groups and clone sessions written through P4Runtime (gRPC), checked with packets.

A program sends EtherType 0x88b6 frames to multicast group 5 and clones 0x88b7 frames to
session 7; egress writes the replica's ``egress_rid`` and ``instance_type`` into the source MAC,
so each copy says which replica it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from controlplane.p4rt import CloneSession, MulticastGroup, SwitchConnection, Update, UpdateType
from softswitch.frontend.compiler import compile_text
from softswitch.p4runtime.server import P4RuntimeServer
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime

PROGRAM = r"""
#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct h_t { eth_t eth; }
struct m_t { }
parser P(packet_in pkt, out h_t h, inout m_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(h.eth); transition accept; }
}
control VC(inout h_t h, inout m_t m) { apply { } }
control Ig(inout h_t h, inout m_t m, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (h.eth.type == 0x88b6) {
            sm.mcast_grp = 5;
        } else if (h.eth.type == 0x88b7) {
            clone(CloneType.I2E, 7);
        }
    }
}
control Eg(inout h_t h, inout m_t m, inout standard_metadata_t sm) {
    apply {
        h.eth.src = 8w0x02 ++ 8w0 ++ (bit<16>) sm.egress_rid ++ (bit<16>) sm.instance_type;
    }
}
control CC(inout h_t h, inout m_t m) { apply { } }
control D(packet_out pkt, in h_t h) { apply { pkt.emit(h.eth); } }
V1Switch(P(), VC(), Ig(), Eg(), CC(), D()) main;
"""

# BMv2's instance_type values (v1model): a normal packet, a replica, an ingress clone.
NORMAL, REPLICATION, INGRESS_CLONE = 0, 5, 1


def frame(ether_type: int, payload: bytes = b"\x00" * 46) -> bytes:
    return (bytes.fromhex("02000000aa01") + bytes.fromhex("02000000bb01")
            + ether_type.to_bytes(2, "big") + payload)


def tag(out: bytes) -> tuple[int, int]:
    """(egress_rid, instance_type) that egress wrote into the source MAC."""
    return int.from_bytes(out[8:10], "big"), int.from_bytes(out[10:12], "big")


class Rig:
    def __init__(self) -> None:
        self.ports = PortSet()
        self.out = {n: self.ports.add(InProcessPort(n)) for n in (0, 1, 2, 3, 4)}
        self.rt = SwitchRuntime(self.ports, device_id=1, tick_interval=0.01)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0")
        self.server.start()
        self.rt.start()
        self.conn = SwitchConnection(f"127.0.0.1:{self.server.port}", device_id=1,
                                     election_id=(0, 1))
        self.conn.connect()
        self.conn.wait_for_primary()
        res = compile_text(PROGRAM, "replication.p4")
        self.conn.set_pipeline(res.p4info, res.device_config_bytes())

    def send_and_collect(self, data: bytes, expect: int) -> dict[int, list[bytes]]:
        self.out[0].inject(data)
        deadline = time.monotonic() + 5
        got: dict[int, list[bytes]] = {}
        while time.monotonic() < deadline:
            for n, port in self.out.items():
                got.setdefault(n, []).extend(port.take_sent())
            if sum(len(v) for v in got.values()) >= expect:
                break
            time.sleep(0.01)
        time.sleep(0.05)  # nothing beyond what was expected may follow
        for n, port in self.out.items():
            got[n].extend(port.take_sent())
        return {n: v for n, v in got.items() if v}

    def close(self) -> None:
        self.conn.close()
        self.server.stop(grace=0.2)
        self.rt.stop()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_multicast_group_written_over_p4runtime_replicates_packets(rig: Rig) -> None:
    rig.conn.insert([MulticastGroup(5, [(2, 1), (3, 1), (4, 9)])])
    got = rig.send_and_collect(frame(0x88B6), expect=3)
    assert sorted(got) == [2, 3, 4]
    assert [tag(p) for n in (2, 3, 4) for p in got[n]] == [
        (1, REPLICATION), (1, REPLICATION), (9, REPLICATION)
    ]
    # Modify the group: the next packet follows the new replica list.
    rig.conn.write([Update(UpdateType.MODIFY, MulticastGroup(5, [(3, 4)]))])
    got = rig.send_and_collect(frame(0x88B6), expect=1)
    assert list(got) == [3] and tag(got[3][0]) == (4, REPLICATION)
    # Deleted: no copies at all (BMv2 drops a packet sent to an unknown group).
    rig.conn.delete([MulticastGroup(5)])
    assert rig.send_and_collect(frame(0x88B6), expect=1) == {}


def test_clone_session_written_over_p4runtime_mirrors_and_truncates(rig: Rig) -> None:
    rig.conn.insert([CloneSession(7, [(4, 0)], packet_length_bytes=20)])
    data = frame(0x88B7, bytes(range(46)))
    got = rig.send_and_collect(data, expect=2)
    assert sorted(got) == [1, 4]
    (original,) = got[1]
    (copy,) = got[4]
    assert tag(original) == (0, NORMAL) and len(original) == len(data)
    assert tag(copy)[1] == INGRESS_CLONE
    assert len(copy) == 20 and copy[12:14] == b"\x88\xb7"
    # Without the session the clone has nowhere to go: only the original leaves.
    rig.conn.delete([CloneSession(7)])
    got = rig.send_and_collect(data, expect=1)
    assert list(got) == [1]
