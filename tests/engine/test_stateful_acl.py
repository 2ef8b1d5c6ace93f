"""p4src/examples/stateful_acl.p4 (the engine benchmark's second program) through real packets."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from softswitch.engine import hashes
from softswitch.engine.stateful import MeterRates
from softswitch.engine.switch import Switch
from softswitch.engine.tables import Exact, Lpm, Ternary
from softswitch.frontend.compiler import compile_file

PROGRAM = Path(__file__).resolve().parents[2] / "p4src" / "examples" / "stateful_acl.p4"
ROUTER_MAC = 0x020000000001
ANY = Ternary(0, 0)


def make_switch() -> Switch:
    sw = Switch.from_program(compile_file(str(PROGRAM), p4info=False), priority_queues=8)
    sw.add_entry("AclIngress.ipv4_route", [Lpm(0xC6336400, 24)], "AclIngress.set_next_hop",
                 [2, 0x020000000202, ROUTER_MAC])
    sw.add_entry("AclIngress.l2_fwd", [Exact(0x020000000303)], "AclIngress.l2_forward", [3])
    return sw


def udp(src: str, sport: int, dport: int, ttl: int = 64) -> bytes:
    return bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:aa")
                 / IP(src=src, dst="198.51.100.9", ttl=ttl) / UDP(sport=sport, dport=dport)
                 / b"data")


def send(sw: Switch, data: bytes, port: int = 1) -> list[tuple[int, bytes]]:
    sw.inject(port, data)
    sw.run_until_idle()
    return sw.outputs()


def flow_index(src: str, sport: int, dport: int) -> int:
    fields = [(int.from_bytes(bytes(map(int, src.split("."))), "big"), 32),
              (0xC6336409, 32), (17, 8), (sport, 16), (dport, 16)]
    return hashes.hash_fields("crc16", fields) % 4096


def test_routes_counts_flows_and_ports() -> None:
    sw = make_switch()
    for _ in range(3):
        (port, data), = send(sw, udp("192.0.2.1", 1000, 53))
    send(sw, udp("192.0.2.2", 1000, 53))
    assert port == 2
    out = Ether(data)
    assert (out.dst, out.src, out[IP].ttl) == ("02:00:00:00:02:02", "02:00:00:00:00:01", 63)
    fresh = out[IP].copy()
    del fresh.chksum  # scapy recomputes it
    assert out[IP].chksum == IP(bytes(fresh)).chksum
    flows = sw.registers["AclIngress.flow_packets"]
    a, b = flow_index("192.0.2.1", 1000, 53), flow_index("192.0.2.2", 1000, 53)
    assert a != b and (flows.read(a), flows.read(b)) == (3, 1)
    cell = sw.counters["AclIngress.ingress_port_counter"].cell(1)
    assert cell.packets == 4


def test_acl_denies_and_queues_and_l2_bridges_other_frames() -> None:
    sw = make_switch()
    deny = [Ternary(0xC0000200, 0xFFFFFF00), ANY, Ternary(17, 0xFF), ANY, Ternary(53, 0xFFFF)]
    sw.add_entry("AclIngress.acl", deny, "AclIngress.deny", priority=10)
    queue = [ANY, ANY, ANY, ANY, Ternary(443, 0xFFFF)]
    sw.add_entry("AclIngress.acl", queue, "AclIngress.permit_with_queue", [5], priority=5)
    assert send(sw, udp("192.0.2.7", 1000, 53)) == []  # denied
    assert [p for p, _ in send(sw, udp("203.0.113.7", 1000, 53))] == [2]  # other source
    assert [p for p, _ in send(sw, udp("192.0.2.7", 1000, 443))] == [2]
    assert sw.tm.stats()[(2, 5)].dequeued == 1  # permit_with_queue chose queue 5
    assert send(sw, udp("203.0.113.7", 1000, 80, ttl=1)) == []  # TTL would expire
    arp = bytes(Ether(dst="02:00:00:00:03:03") / ARP(pdst="198.51.100.9"))
    assert [p for p, _ in send(sw, arp)] == [3]
    assert send(sw, bytes(Ether(dst="02:00:00:00:04:04") / ARP())) == []  # unknown MAC
    hits = [e.packets for e in sw.tables["AclIngress.acl"].entries()]
    assert sorted(hits) == [1, 1]


def test_meter_polices_each_ingress_port() -> None:
    sw = make_switch()
    # 1000 packets/s committed and peak, bursts of 2: the third back-to-back packet is red
    rates = MeterRates.from_per_second(1000, 2, 1000, 2)
    sw.meters["AclIngress.ingress_port_meter"].cell(1).set_rates(rates)
    got = [len(send(sw, udp("192.0.2.1", 1, 2), port=1)) for _ in range(3)]
    assert got == [1, 1, 0]
    assert len(send(sw, udp("192.0.2.1", 1, 2), port=4)) == 1  # another port, not policed
    sw.advance_to(2_000)  # two tokens back
    assert [len(send(sw, udp("192.0.2.1", 1, 2), port=1)) for _ in range(3)] == [1, 1, 0]
