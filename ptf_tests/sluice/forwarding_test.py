"""Forwarding (``p4src/include/control/forwarding.p4``, ``acl.p4``): L2, IPv4 and IPv6 routing
with MAC rewrite and TTL or hop-limit decrement, expiry dropped and counted, ACL drop."""

from __future__ import annotations

from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from ptf_tests.sluice.packets import (
    HOST_A,
    HOST_A_PORT,
    HOST_R,
    OTHER_MAC,
    RECV_PORT,
    ROUTER_MAC,
    SERVER_PORT,
    routed,
    tcp6,
    udp4,
)
from ptf_tests.sluice.sluice_base import IG, SluiceTest

TTL_EXPIRED = IG + "forwarding.ttl_expired"


class Ipv4Routing(SluiceTest):
    """Two IPv4 prefixes, two next hops: new MACs, TTL - 1, a correct checksum (the expected
    bytes carry it), and the longest prefix wins; the route's direct counter counts."""

    def runTest(self) -> None:
        self.add_router_mac()
        wide = self.add_forwarding_routing_v4_entry("198.51.100.0/24", RECV_PORT, HOST_R)
        self.add_forwarding_routing_v4_entry("198.51.100.128/25", SERVER_PORT, OTHER_MAC)
        low, high = udp4(dst="198.51.100.7", ttl=9), udp4(dst="198.51.100.200")
        exp = routed(low, HOST_R)
        self.assertEqual(exp[IP].ttl, 8)
        self.send(HOST_A_PORT, low, high)
        self.expect_frames([(RECV_PORT, exp), (SERVER_PORT, routed(high, OTHER_MAC))])
        got = self.wait_for_counter(lambda: self.read_direct_counter(wide), (1, len(low)))
        self.assertEqual(got, (1, len(low)))


class Ipv6Routing(SluiceTest):
    """An IPv6 prefix: new MACs, hop limit - 1, nothing else changed."""

    def runTest(self) -> None:
        self.add_router_mac()
        self.add_forwarding_routing_v6_entry("2001:db8:2::/48", RECV_PORT, HOST_R)
        pkt = tcp6(hlim=2)
        exp = routed(pkt, HOST_R)
        self.assertEqual(exp[IPv6].hlim, 1)
        self.send(HOST_A_PORT, pkt)
        self.expect_frames([(RECV_PORT, exp)])


class TtlAndHopLimitExpiry(SluiceTest):
    """TTL 1 and 0, hop limit 1: dropped, counted in ttl_expired (cell 0 IPv4, 1 IPv6);
    TTL 2 leaves with TTL 1."""

    def runTest(self) -> None:
        self.setup_router()
        v4, v6 = self.counter_delta(TTL_EXPIRED, 0), self.counter_delta(TTL_EXPIRED, 1)
        dead4 = [udp4(ttl=1), udp4(ttl=0)]
        dead6 = tcp6(hlim=1)
        self.send(HOST_A_PORT, *dead4, dead6)
        self.expect_nothing()
        self.wait_for_delta(v4, (2, sum(len(p) for p in dead4)))
        self.wait_for_delta(v6, (1, len(dead6)))
        last = udp4(ttl=2)
        self.send(HOST_A_PORT, last)
        self.expect_frames([(RECV_PORT, routed(last, HOST_R))])
        self.assertEqual(v4()[0], 2)


class L2AndDrops(SluiceTest):
    """A frame to a known MAC is switched untouched; an unknown MAC, a missing route and an
    ACL drop are dropped."""

    def runTest(self) -> None:
        self.setup_router()
        frame = Ether(dst=HOST_R, src=HOST_A, type=0x9000) / (b"\x01" * 46)
        self.send(HOST_A_PORT, frame)
        self.expect_frames([(RECV_PORT, frame)])
        unknown = Ether(dst="02:00:00:00:00:99", src=HOST_A, type=0x9000) / (b"\x01" * 46)
        self.send(HOST_A_PORT, unknown, udp4(dst="192.0.2.200"))
        self.expect_nothing()
        self.add_acl_entry("drop", eth_type=0x0800, ip_proto=17, l4_dport=53)
        self.send(HOST_A_PORT, udp4(dport=53))
        self.expect_nothing()
        ok = udp4(dport=54)
        self.send(HOST_A_PORT, ok)
        self.expect_frames([(RECV_PORT, routed(ok, HOST_R, ROUTER_MAC))])
