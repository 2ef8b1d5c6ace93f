"""PTF suite for ``p4src/examples/l3_router.p4``: IPv4 LPM routing, MAC rewrite, TTL, counters.

Ports: the PTF side's port N faces switch port N (``make ptf`` wires 0, 1 and 2). Hosts send on
port 0; next hops sit on ports 1 and 2. Addresses come from the documentation ranges only.
"""

from __future__ import annotations

from typing import Any

from ptf import testutils as tu
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from ptf_tests.base_test import P4RuntimeTest

ROUTE_TABLE = "RouterIngress.ipv4_route"
ROUTE_COUNTER = "RouterIngress.route_counter"

HOST_PORT, NH1_PORT, NH2_PORT = 0, 1, 2
ROUTER_MAC = "02:00:00:00:00:01"
HOST_MAC = "02:00:00:00:00:0a"
NH1_MAC = "02:00:00:00:01:01"
NH2_MAC = "02:00:00:00:02:02"
NH3_MAC = "02:00:00:00:03:03"
HOST_IP = "192.0.2.1"


class RouterTest(P4RuntimeTest):
    """The router's vocabulary: routes, their counters, and the packets a route makes."""

    def add_route_v4(self, prefix: str, port: int, dst_mac: str, src_mac: str = ROUTER_MAC) -> Any:
        """Route ``prefix`` (``"198.51.100.0/24"``) to ``port``, rewriting the MACs."""
        return self.insert_table_entry(
            ROUTE_TABLE,
            {"ipv4_dst": prefix},
            "RouterIngress.set_next_hop",
            {"port": port, "dst_mac": dst_mac, "src_mac": src_mac},
        )

    def add_drop_route_v4(self, prefix: str) -> Any:
        """Drop what matches ``prefix``."""
        return self.insert_table_entry(ROUTE_TABLE, {"ipv4_dst": prefix}, "RouterIngress.drop")

    def modify_route_v4(
        self, prefix: str, port: int, dst_mac: str, src_mac: str = ROUTER_MAC
    ) -> Any:
        """Point the existing route for ``prefix`` elsewhere."""
        return self.modify_table_entry(
            ROUTE_TABLE,
            {"ipv4_dst": prefix},
            "RouterIngress.set_next_hop",
            {"port": port, "dst_mac": dst_mac, "src_mac": src_mac},
        )

    def route_counter(self, route: Any) -> tuple[int, int]:
        """``(packets, bytes)`` counted for ``route``."""
        return self.read_direct_counter(route)

    @staticmethod
    def host_packet(dst: str, ttl: int = 64, pktlen: int = 100) -> Any:
        """A TCP/IPv4 packet from the host to ``dst``, addressed to the router."""
        return tu.simple_tcp_packet(
            pktlen=pktlen,
            eth_dst=ROUTER_MAC,
            eth_src=HOST_MAC,
            ip_src=HOST_IP,
            ip_dst=dst,
            ip_ttl=ttl,
        )

    @staticmethod
    def routed(pkt: Any, dst_mac: str, src_mac: str = ROUTER_MAC) -> Any:
        """``pkt`` as a router forwards it: new MACs, TTL - 1, IPv4 checksum recomputed."""
        exp = pkt.copy()
        exp[Ether].dst = dst_mac
        exp[Ether].src = src_mac
        exp[IP].ttl -= 1
        exp[IP].chksum = None
        return Ether(bytes(exp))

    def send_and_expect(self, pkt: Any, port: int, exp: Any) -> None:
        """Send ``pkt`` from the host and expect exactly ``exp`` on ``port``, nothing else."""
        tu.send_packet(self, HOST_PORT, pkt)
        tu.verify_packet(self, exp, port)
        tu.verify_no_other_packets(self)

    def send_and_expect_drop(self, pkt: Any) -> None:
        """Send ``pkt`` from the host and expect it on no port."""
        tu.send_packet(self, HOST_PORT, pkt)
        tu.verify_no_other_packets(self, timeout=0.5)


class ForwardToTwoNextHops(RouterTest):
    """Two prefixes, two next hops: each packet leaves on its port with its MACs, TTL - 1 and a
    correct IPv4 checksum (the expected bytes carry the recomputed checksum)."""

    def runTest(self) -> None:
        self.add_route_v4("192.0.2.0/24", NH1_PORT, NH1_MAC)
        self.add_route_v4("203.0.113.0/24", NH2_PORT, NH2_MAC)
        for dst, port, mac in (
            ("192.0.2.10", NH1_PORT, NH1_MAC),
            ("203.0.113.7", NH2_PORT, NH2_MAC),
        ):
            pkt = self.host_packet(dst, ttl=64)
            exp = self.routed(pkt, mac)
            self.assertEqual(exp[IP].ttl, 63)
            self.assertNotEqual(bytes(exp[IP])[10:12], bytes(Ether(bytes(pkt))[IP])[10:12])
            self.send_and_expect(pkt, port, exp)


class LongestPrefixWins(RouterTest):
    """Nested /24, /25 and /32 routes: the longest matching prefix decides, whatever the
    order the routes were inserted in."""

    def runTest(self) -> None:
        self.add_route_v4("198.51.100.200/32", NH1_PORT, NH3_MAC)
        self.add_route_v4("198.51.100.0/24", NH1_PORT, NH1_MAC)
        self.add_route_v4("198.51.100.128/25", NH2_PORT, NH2_MAC)
        for dst, port, mac in (
            ("198.51.100.10", NH1_PORT, NH1_MAC),
            ("198.51.100.130", NH2_PORT, NH2_MAC),
            ("198.51.100.200", NH1_PORT, NH3_MAC),
        ):
            pkt = self.host_packet(dst)
            self.send_and_expect(pkt, port, self.routed(pkt, mac))


class NoRouteIsDropped(RouterTest):
    """No matching route: the table's default action drops; a drop route drops too."""

    def runTest(self) -> None:
        self.add_route_v4("192.0.2.0/24", NH1_PORT, NH1_MAC)
        self.add_drop_route_v4("203.0.113.0/24")
        self.send_and_expect_drop(self.host_packet("198.51.100.1"))
        self.send_and_expect_drop(self.host_packet("203.0.113.9"))
        pkt = self.host_packet("192.0.2.99")  # the route itself still works
        self.send_and_expect(pkt, NH1_PORT, self.routed(pkt, NH1_MAC))


class TtlExpiredIsDropped(RouterTest):
    """TTL 1 (and 0) is dropped rather than forwarded with TTL 0; TTL 2 leaves with TTL 1."""

    def runTest(self) -> None:
        self.add_route_v4("192.0.2.0/24", NH1_PORT, NH1_MAC)
        self.send_and_expect_drop(self.host_packet("192.0.2.20", ttl=1))
        self.send_and_expect_drop(self.host_packet("192.0.2.20", ttl=0))
        pkt = self.host_packet("192.0.2.20", ttl=2)
        exp = self.routed(pkt, NH1_MAC)
        self.assertEqual(exp[IP].ttl, 1)
        self.send_and_expect(pkt, NH1_PORT, exp)


class NonIpv4IsDropped(RouterTest):
    """With a route for every IPv4 address, ARP, IPv6 and unknown EtherTypes are still dropped."""

    def runTest(self) -> None:
        self.add_route_v4("0.0.0.0/0", NH1_PORT, NH1_MAC)
        arp = Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC) / ARP(
            hwsrc=HOST_MAC, psrc=HOST_IP, pdst="192.0.2.254"
        )
        ipv6 = (
            Ether(dst=ROUTER_MAC, src=HOST_MAC)
            / IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=64)
            / (b"\x00" * 40)
        )
        other = Ether(dst=ROUTER_MAC, src=HOST_MAC, type=0x88B5) / (b"\x00" * 46)
        for pkt in (arp, ipv6, other):
            self.send_and_expect_drop(pkt)
        pkt = self.host_packet("203.0.113.1")  # IPv4 is routed by the same table
        self.send_and_expect(pkt, NH1_PORT, self.routed(pkt, NH1_MAC))


class ModifyRoute(RouterTest):
    """Modifying a route moves its traffic; deleting it makes the default (drop) apply."""

    def runTest(self) -> None:
        route = self.add_route_v4("203.0.113.0/24", NH1_PORT, NH1_MAC)
        pkt = self.host_packet("203.0.113.50")
        self.send_and_expect(pkt, NH1_PORT, self.routed(pkt, NH1_MAC))
        self.modify_route_v4("203.0.113.0/24", NH2_PORT, NH2_MAC)
        entries = self.read_table_entries(ROUTE_TABLE)
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0].params["port"], NH2_PORT)
        self.send_and_expect(pkt, NH2_PORT, self.routed(pkt, NH2_MAC))
        self.delete_table_entry(route)
        self.assertEqual(self.read_table_entries(ROUTE_TABLE), [])
        self.send_and_expect_drop(pkt)


class RouteCounters(RouterTest):
    """The direct counter of a route counts its packets and bytes; another route's stays 0."""

    def runTest(self) -> None:
        used = self.add_route_v4("192.0.2.0/24", NH1_PORT, NH1_MAC)
        idle = self.add_route_v4("203.0.113.0/24", NH2_PORT, NH2_MAC)
        self.assertEqual(self.route_counter(used), (0, 0))
        pkt = self.host_packet("192.0.2.77", pktlen=100)
        for _ in range(3):
            self.send_and_expect(pkt, NH1_PORT, self.routed(pkt, NH1_MAC))
        got = self.wait_for_counter(lambda: self.route_counter(used), (3, 300))
        self.assertEqual(got, (3, 300))
        self.assertEqual(self.route_counter(idle), (0, 0))
        with_data = self.read_table_entries(ROUTE_TABLE, counters=True)
        counts = sorted(e.counter_data.packets for e in with_data)
        self.assertEqual(counts, [0, 3])


class PacketInAndOut(RouterTest):
    """A route to the CPU port turns packets into packet-ins (routed: new MACs, TTL - 1); a
    packet-out enters the pipeline on the CPU port and is routed like any packet."""

    def runTest(self) -> None:
        self.add_route_v4("198.51.100.0/24", self.cpu_port, NH3_MAC)
        self.add_route_v4("203.0.113.0/24", NH2_PORT, NH2_MAC)
        pkt = self.host_packet("198.51.100.33")
        tu.send_packet(self, HOST_PORT, pkt)
        self.verify_packet_in(self.routed(pkt, NH3_MAC))
        tu.verify_no_other_packets(self)
        out = self.host_packet("203.0.113.44")
        self.send_packet_out(out)
        tu.verify_packet(self, self.routed(out, NH2_MAC), NH2_PORT)
        tu.verify_no_other_packets(self)
        self.verify_no_packet_in()
