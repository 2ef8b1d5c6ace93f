"""Packet I/O (``p4src/include/control/packetio.p4``, ``acl.p4``): ACL punts reach the
controller as packet-ins with the ingress port and reason, untouched; packet-outs leave by the
port they name, untouched."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from controlplane.protocol import PuntReason
from ptf_tests.sluice.packets import (
    HOST_A,
    HOST_A_PORT,
    HOST_B,
    HOST_B_PORT,
    RECV_PORT,
    ROUTER_MAC,
    SERVER_PORT,
    SWITCH_MAC,
)
from ptf_tests.sluice.sluice_base import SluiceTest


class AclPuntToController(SluiceTest):
    """An ACL punt by EtherType (LLDP) from port 3: a packet-in with ingress_port 3 and reason
    ACL carrying the frame as received; other traffic is not punted."""

    def runTest(self) -> None:
        self.setup_router()
        self.add_acl_entry("punt", eth_type=0x88CC)
        lldp = Ether(dst="01:80:c2:00:00:0e", src=HOST_A, type=0x88CC) / (b"\x02" * 46)
        self.send(SERVER_PORT, lldp)
        self.verify_packet_in(lldp, ingress_port=SERVER_PORT, reason=PuntReason.ACL)
        self.expect_nothing()
        self.verify_no_packet_in()


class PuntWinsOverRouting(SluiceTest):
    """A punt on (ingress port, TCP port 179) hands over a TTL 1 packet untouched: the ACL runs
    before routing, so no TTL expiry, no rewrite; the same packet on another port is routed
    (and, with TTL 1, dropped)."""

    def runTest(self) -> None:
        self.setup_router()
        self.add_acl_entry("punt", ingress_port=HOST_A_PORT, l4_dport=179)
        bgp = (
            Ether(dst=ROUTER_MAC, src=HOST_A)
            / IP(src="192.0.2.1", dst="198.51.100.7", ttl=1)
            / TCP(sport=40000, dport=179)
            / (b"\x00" * 20)
        )
        self.send(HOST_A_PORT, bgp)
        self.verify_packet_in(bgp, ingress_port=HOST_A_PORT, reason=PuntReason.ACL)
        self.send(HOST_B_PORT, bgp)
        self.expect_nothing()
        self.verify_no_packet_in()


class PacketOutToAPort(SluiceTest):
    """A packet-out naming a port leaves by that port byte for byte, whatever its destination
    MAC (no L2 lookup, no ACL), and nothing comes back to the controller."""

    def runTest(self) -> None:
        self.setup_router()
        self.add_acl_entry("punt", eth_type=0x9000)  # would punt it, were it not a packet-out
        frame = Ether(dst=HOST_B, src=SWITCH_MAC, type=0x9000) / (b"\x05" * 46)
        for port in (HOST_B_PORT, RECV_PORT):
            self.send_packet_out(frame, egress_port=port)
            self.expect_frames([(port, frame)])
        self.verify_no_packet_in()
