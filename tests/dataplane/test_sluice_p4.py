"""p4src/sluice.p4 on the embedded engine, in-process: real packets built with the project's
scapy layers, the switch programmed the way the controller will program it (table entries,
registers, clone sessions), by the control-plane names of the P4Info."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from controlplane.protocol import (
    BB_UDP_PORT,
    CPU_PORT,
    FLAG_RELAYED,
    BBCommand,
    BlueBridge,
    FlowKey,
    MemEventDigest,
    MemReason,
    MemViolationDigest,
    MsgType,
    NewFlowDigest,
    PacketIn,
    PacketOut,
    Perm,
    PuntReason,
    Sluice,
    SluiceDoorbell,
    SluiceFlow,
    bb_addr,
    client_index,
    control_session,
    flow_dedup_index,
    lease_index,
)
from softswitch.engine.switch import Switch
from softswitch.engine.tables import Lpm, Range, Ternary
from softswitch.frontend.compiler import CompileResult, compile_file

PROGRAM = Path(__file__).resolve().parents[2] / "p4src" / "sluice.p4"

IG = "SluiceIngress."
EG = "SluiceEgress."

ROUTER_MAC = "00:00:5e:00:53:01"
SWITCH_MAC = "00:00:5e:00:53:ff"
HOST_A = "02:00:00:00:00:0a"  # on port 1
HOST_B = "02:00:00:00:00:0b"  # on port 4
HOST_R = "02:00:00:00:00:02"  # receiver behind port 2
SERVER_MAC = "02:00:00:00:00:03"  # memory server on port 3
PORTS = (0, 1, 2, 3, 4, 5, 6, 7)
MEM_SUBID = 0x2001
ALL_ONES_128 = (1 << 128) - 1


def mac(text: str) -> int:
    return int(text.replace(":", ""), 16)


def ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


@pytest.fixture(scope="module")
def compiled() -> CompileResult:
    return compile_file(str(PROGRAM))


class Harness:
    """A switch running sluice.p4, with the helpers a controller would have."""

    def __init__(self, compiled: CompileResult) -> None:
        self.sw = Switch.from_program(compiled, priority_queues=8)
        for p in (*PORTS, CPU_PORT):
            self.sw.pre.set_clone_session(control_session(p), [p])
        self.sw.registers["switch_mac"].set(0, mac(SWITCH_MAC))

    # -- programming ---------------------------------------------------------------------------

    def add(self, table: str, match: list, action: str, args: list | tuple = (),
            priority: int = 0):
        """Add an entry by names relative to the pipeline (``"forwarding.l2"``)."""
        ctl = EG if table.startswith("doorbell.") else IG
        return self.sw.add_entry(ctl + table, match, ctl + action, list(args), priority)

    def router(self) -> None:
        """L2 to the router MAC, one IPv4 and one IPv6 route towards the receiver on port 2."""
        self.add("forwarding.l2", [mac(ROUTER_MAC)], "forwarding.l2_to_router")
        self.add("forwarding.l2", [mac(HOST_R)], "forwarding.l2_forward", [2])
        self.add("forwarding.routes_v4", [Lpm(ip("198.51.100.0"), 24)],
                 "forwarding.set_next_hop", [2, mac(HOST_R), mac(ROUTER_MAC)])
        self.add("forwarding.routes_v6", [Lpm(ip("2001:db8:2::"), 48)],
                 "forwarding.set_next_hop", [2, mac(HOST_R), mac(ROUTER_MAC)])
        # memory clients live under 2001:db8:c::/48, behind port 5
        self.add("forwarding.routes_v6", [Lpm(ip("2001:db8:c::"), 48)],
                 "forwarding.set_next_hop", [5, mac("02:00:00:00:00:05"), mac(ROUTER_MAC)])

    def flow(self, pkt: Packet, qid: int, slot: int) -> None:
        self.add("flow.flows", list(FlowKey.of(pkt).table_key()), "flow.set_flow", [qid, slot])

    def watermarks(self, qid: int, high: int, low: int, cap: int) -> None:
        self.add("admission.queue_classes", [qid], "admission.set_watermarks", [high, low, cap])

    # -- traffic -------------------------------------------------------------------------------

    def send(self, port: int, *pkts: Packet | bytes) -> list[tuple[int, bytes]]:
        for p in pkts:
            self.sw.inject(port, bytes(p))
        self.sw.run_until_idle()
        return self.sw.outputs()

    def send_now(self, port: int, *pkts: Packet | bytes) -> list[tuple[int, bytes]]:
        """Inject and process what can run without advancing the clock."""
        for p in pkts:
            self.sw.inject(port, bytes(p))
        self.sw.process()
        return self.sw.outputs()

    def counter(self, name: str, index: int) -> tuple[int, int]:
        return self.sw.counters[name].read(index)


@pytest.fixture
def h(compiled: CompileResult) -> Harness:
    return Harness(compiled)


def udp4(src: str = "192.0.2.1", dst: str = "198.51.100.7", sport: int = 4000,
         dport: int = 80, ttl: int = 64, smac: str = HOST_A, size: int = 32) -> Packet:
    return (Ether(dst=ROUTER_MAC, src=smac) / IP(src=src, dst=dst, ttl=ttl)
            / UDP(sport=sport, dport=dport) / (b"\x00" * size))


def tcp6(src: str = "2001:db8:1::1", dst: str = "2001:db8:2::7", sport: int = 4000,
         dport: int = 443, hlim: int = 64, smac: str = HOST_A) -> Packet:
    return (Ether(dst=ROUTER_MAC, src=smac) / IPv6(src=src, dst=dst, hlim=hlim)
            / TCP(sport=sport, dport=dport) / (b"\x00" * 32))


def sluice_frames(out: list[tuple[int, bytes]]) -> list[tuple[int, Packet]]:
    return [(p, Ether(d)) for p, d in out if Ether(d).type == 0x88B5]


def digests(h: Harness, cls: type) -> list:
    name = {NewFlowDigest: "new_flow_digest_t", MemEventDigest: "mem_event_digest_t",
            MemViolationDigest: "mem_violation_digest_t"}[cls]
    return [cls.from_values(d.values) for d in h.sw.digests() if d.name == name]


# -- the program ----------------------------------------------------------------------------------


def test_p4info_names_keys_counters_and_controller_headers(compiled: CompileResult) -> None:
    info = compiled.p4info
    tables = {t.preamble.name: t for t in info.tables}
    assert set(tables) == {
        IG + "flow.flows", IG + "memguard.mem_servers", IG + "memguard.mem_acl",
        IG + "memguard.mem_alloc_acl", IG + "forwarding.l2", IG + "forwarding.routes_v4",
        IG + "forwarding.routes_v6", IG + "acl.acl", IG + "admission.queue_classes",
        EG + "doorbell.doorbell_ports",
    }
    direct = {c.direct_table_id for c in info.direct_counters}
    for t in tables.values():
        assert t.preamble.id in direct, f"{t.preamble.name} has no direct counter"
        assert t.const_default_action_id != 0, f"{t.preamble.name} default is not const"
    keys = [f.name for f in tables[IG + "flow.flows"].match_fields]
    assert keys == ["ip_version", "ip_src", "ip_dst", "ip_proto", "l4_sport", "l4_dport"]
    assert tables[IG + "flow.flows"].idle_timeout_behavior != 0
    assert [f.name for f in tables[IG + "memguard.mem_acl"].match_fields] == [
        "client", "subid", "paddr"]
    cpm = {c.preamble.name: [(m.name, m.bitwidth) for m in c.metadata]
           for c in info.controller_packet_metadata}
    assert cpm == {"packet_out": [("egress_port", 9), ("_pad0", 7)],
                   "packet_in": [("ingress_port", 9), ("_pad0", 7), ("reason", 8)]}


def test_p4c_view_has_no_sluice_extern_and_the_same_p4info(compiled: CompileResult) -> None:
    """What p4c compiles: no __TARGET_SLUICE__, so no <sluice_target.p4> and no queue pause calls. The
    P4Info must not change (the extern is a function with no control-plane state)."""
    from softswitch.frontend.compiler import _compile_preprocessed
    from softswitch.frontend.preprocessor import preprocess_file

    text = preprocess_file(str(PROGRAM), [], {"__TARGET_BMV2__": "1"})
    ours = preprocess_file(str(PROGRAM), [], {"__TARGET_SLUICE__": "1"})
    assert "sluice_queue_pause(" not in text and "sluice_queue_pause(lm." in ours
    bmv2 = _compile_preprocessed(str(PROGRAM), text, {}, p4info=True)
    assert bmv2.p4info == compiled.p4info


def test_cpu_port_is_a_compile_time_define() -> None:
    sw = Switch.from_program(compile_file(str(PROGRAM), defines={"CPU_PORT": "510"}))
    frame = Ether(dst=HOST_B, src=SWITCH_MAC, type=0x9000) / (b"\x05" * 46)
    sw.inject(510, bytes(PacketOut(egress_port=4) / frame))
    sw.run_until_idle()
    assert sw.outputs() == [(4, bytes(frame))]


def test_digest_layouts_match_the_python_dataclasses(compiled: CompileResult) -> None:
    info = compiled.p4info
    structs = info.type_info.structs
    for cls, name in ((NewFlowDigest, "new_flow_digest_t"), (MemEventDigest, "mem_event_digest_t"),
                      (MemViolationDigest, "mem_violation_digest_t")):
        members = [m.name for m in structs[name].members]
        assert members == cls.field_names(), name


# -- forwarding -----------------------------------------------------------------------------------


def test_ipv4_route_rewrites_macs_decrements_ttl_and_fixes_the_checksum(h: Harness) -> None:
    h.router()
    (port, data), = h.send(1, udp4(ttl=9))
    assert port == 2
    pkt = Ether(data)
    assert pkt.dst == HOST_R and pkt.src == ROUTER_MAC
    assert pkt[IP].ttl == 8
    fresh = pkt[IP].copy()
    del fresh.chksum
    assert IP(bytes(fresh)).chksum == pkt[IP].chksum
    entry = h.sw.tables[IG + "forwarding.routes_v4"].entries()[0]
    assert entry.packets == 1


def test_ipv6_route_decrements_hop_limit(h: Harness) -> None:
    h.router()
    (port, data), = h.send(1, tcp6(hlim=2))
    pkt = Ether(data)
    assert port == 2 and pkt.dst == HOST_R and pkt[IPv6].hlim == 1


def test_ttl_and_hop_limit_expiry_drop_and_count(h: Harness) -> None:
    h.router()
    assert h.send(1, udp4(ttl=1), udp4(ttl=0)) == []
    assert h.send(1, tcp6(hlim=1)) == []
    assert h.counter(IG + "forwarding.ttl_expired", 0)[0] == 2
    assert h.counter(IG + "forwarding.ttl_expired", 1)[0] == 1


def test_l2_forwarding_and_unknown_destination_drop(h: Harness) -> None:
    h.router()
    frame = Ether(dst=HOST_R, src=HOST_A, type=0x9000) / (b"\x01" * 46)
    (port, data), = h.send(1, frame)
    assert port == 2 and data == bytes(frame)  # switched, untouched
    assert h.send(1, Ether(dst="02:00:00:00:00:99", src=HOST_A, type=0x9000) / (b"\x01" * 46)) == []
    assert h.send(1, udp4(dst="203.0.113.9")) == []  # no route


def test_acl_drop_punt_permit(h: Harness) -> None:
    h.router()
    h.add("acl.acl", [Ternary(0, 0), Ternary(0, 0), Ternary(0, 0), Ternary(0x0800, 0xFFFF),
                      Ternary(17, 0xFF), Ternary(0, 0), Ternary(0, 0), Ternary(0, 0),
                      Ternary(53, 0xFFFF)], "acl.acl_drop", priority=10)
    h.add("acl.acl", [Ternary(0, 0), Ternary(0, 0), Ternary(0, 0), Ternary(0x88CC, 0xFFFF),
                      Ternary(0, 0), Ternary(0, 0), Ternary(0, 0), Ternary(0, 0),
                      Ternary(0, 0)], "acl.acl_punt", priority=10)
    assert h.send(1, udp4(dport=53)) == []
    assert [p for p, _ in h.send(1, udp4(dport=54))] == [2]
    lldp = Ether(dst="01:80:c2:00:00:0e", src=HOST_A, type=0x88CC) / (b"\x02" * 46)
    (port, data), = h.send(3, lldp)
    assert port == CPU_PORT
    pin = PacketIn(data)
    assert pin.ingress_port == 3 and pin.reason == PuntReason.ACL
    assert bytes(pin[Ether]) == bytes(lldp)
    counts = sorted(e.packets for e in h.sw.tables[IG + "acl.acl"].entries())
    assert counts == [1, 1]


def test_acl_punt_wins_over_routing_and_hands_over_the_frame_untouched(h: Harness) -> None:
    h.router()
    h.add("acl.acl", [Ternary(1, 0x1FF)] + [Ternary(0, 0)] * 6
          + [Ternary(0, 0), Ternary(179, 0xFFFF)], "acl.acl_punt", priority=1)
    bgp = (Ether(dst=ROUTER_MAC, src=HOST_A) / IP(src="192.0.2.1", dst="198.51.100.7", ttl=1)
           / TCP(sport=40000, dport=179))
    (port, data), = h.send(1, bgp)
    assert port == CPU_PORT and bytes(PacketIn(data)[Ether]) == bytes(bgp)
    assert h.counter(IG + "forwarding.ttl_expired", 0) == (0, 0)
    assert digests(h, NewFlowDigest) == []  # punted packets are not admitted as flows


def test_packet_out_leaves_by_the_given_port_untouched(h: Harness) -> None:
    frame = Ether(dst=HOST_B, src=SWITCH_MAC, type=0x9000) / (b"\x05" * 46)
    (port, data), = h.send(CPU_PORT, PacketOut(egress_port=4) / frame)
    assert port == 4 and data == bytes(frame)


# -- admission ------------------------------------------------------------------------------------


def test_new_flow_burst_yields_one_digest_until_the_controller_clears_its_bit(h: Harness) -> None:
    h.router()
    pkt = udp4()
    out = h.send(1, *[pkt] * 5)
    assert len(out) == 5  # the default queue forwards the flow meanwhile
    d, = digests(h, NewFlowDigest)
    assert d.flow() == FlowKey.of(pkt)
    assert d.ingress_port == 1
    assert d.dedup_index == flow_dedup_index(FlowKey.of(pkt))
    h.send(1, tcp6(), tcp6())
    d6, = digests(h, NewFlowDigest)
    assert d6.flow() == FlowKey.of(tcp6()) and d6.ip_version == 6
    # the controller declines to install it but wants to hear again: it clears the bit
    h.sw.registers[IG + "admission.flow_dedup"].set(d.dedup_index, 0)
    h.send(1, pkt, pkt)
    assert len(digests(h, NewFlowDigest)) == 1
    # an installed flow raises no digest
    h.flow(pkt, qid=3, slot=1)
    h.sw.registers[IG + "admission.flow_dedup"].set(d.dedup_index, 0)
    h.send(1, pkt)
    assert digests(h, NewFlowDigest) == []


def test_new_flow_digest_carries_the_dscp_without_the_ecn_bits(h: Harness) -> None:
    h.router()
    # IPv4 TOS 0xB9: DSCP 46 (EF), ECN 01; IPv6 traffic class 0x8B: DSCP 34 (AF41), ECN 11
    v4 = udp4(sport=4100)
    v4[IP].tos = 0xB9
    v6 = tcp6(sport=4200)
    v6[IPv6].tc = 0x8B
    h.send(1, v4, v6, udp4(sport=4300))
    got = {d.src_port: d.dscp for d in digests(h, NewFlowDigest)}
    assert got == {4100: 46, 4200: 34, 4300: 0}


def test_installed_flow_uses_its_queue_and_overtakes_the_default_queue(h: Harness) -> None:
    h.router()
    slow, fast = udp4(sport=1000), udp4(sport=2000)
    h.flow(fast, qid=6, slot=7)
    h.sw.tm.set_queue_rate(2, 1000, 0)     # the shared default queue: 1 packet per ms
    h.sw.tm.set_queue_rate(2, 100000, 6)   # the flow's own queue: 100 per ms
    for _ in range(5):
        h.sw.inject(1, bytes(slow))
    for _ in range(5):
        h.sw.inject(1, bytes(fast))
    h.sw.run_until_idle()
    order = [Ether(d)[UDP].sport for _, d in h.sw.outputs()]
    assert sorted(order) == [1000] * 5 + [2000] * 5
    # all five fast packets leave before the second slow one
    assert order.index(2000) < 2 and max(i for i, s in enumerate(order) if s == 2000) < 6
    assert h.sw.registers["flow_occ_pkts"].get(7) == 0  # egress subtracted all of them


def test_occupancy_is_added_in_ingress_and_subtracted_in_egress(h: Harness) -> None:
    h.router()
    pkt = udp4(size=100)
    h.flow(pkt, qid=2, slot=9)
    h.sw.tm.pause(2, 2)  # hold the queue: nothing leaves
    h.send_now(1, pkt, pkt, pkt)
    assert h.sw.registers["flow_occ_pkts"].get(9) == 3
    assert h.sw.registers["flow_occ_bytes"].get(9) == 3 * len(pkt)
    assert h.sw.registers["flow_in_port"].get(9) == 1
    assert h.sw.registers["flow_src_mac"].get(9) == mac(HOST_A)
    h.sw.tm.resume(2, 2)
    h.sw.run_until_idle()
    assert len(h.sw.outputs()) == 3
    assert h.sw.registers["flow_occ_pkts"].get(9) == 0
    assert h.sw.registers["flow_occ_bytes"].get(9) == 0


def test_hard_cap_drops_and_counts_per_flow_and_nothing_below_it(h: Harness) -> None:
    h.router()
    a, b = udp4(sport=1), udp4(sport=2, src="192.0.2.2", smac=HOST_B)
    h.flow(a, qid=4, slot=1)
    h.flow(b, qid=4, slot=2)
    h.watermarks(4, high=100, low=50, cap=3)
    h.sw.tm.pause(2, 4)
    h.send_now(1, *[a] * 5)
    h.send_now(4, *[b] * 3)
    h.sw.tm.resume(2, 4)
    h.sw.run_until_idle()
    out = h.sw.outputs()
    assert [Ether(d)[UDP].sport for _, d in out].count(1) == 3
    assert [Ether(d)[UDP].sport for _, d in out].count(2) == 3  # at the cap, none dropped
    assert h.counter(IG + "admission.flow_cap_drops", 1) == (2, 2 * len(a))
    assert h.counter(IG + "admission.flow_cap_drops", 2) == (0, 0)


# -- backpressure ---------------------------------------------------------------------------------


def check_flow_frame(frame: Packet, kind: MsgType, flow: FlowKey, dst_mac: str, qid: int) -> None:
    assert frame.dst == dst_mac and frame.src == SWITCH_MAC and frame.type == 0x88B5
    assert frame[Sluice].version == 1 and frame[Sluice].msg_type == kind
    assert frame[Sluice].length == 40 and frame[Sluice].hops == 0
    assert frame[SluiceFlow].flow() == flow and frame[SluiceFlow].qid == qid
    assert len(frame) == 60


def test_pause_once_at_high_water_resume_once_below_low_water(h: Harness) -> None:
    h.router()
    a = udp4(sport=1111)
    b = udp4(src="192.0.2.2", sport=2222, smac=HOST_B)
    h.flow(a, qid=3, slot=1)
    h.flow(b, qid=3, slot=2)
    h.watermarks(3, high=4, low=2, cap=64)
    h.sw.tm.set_queue_rate(2, 1000, 3)  # the receiver drains 1 packet per ms
    out = h.send_now(1, *[a] * 8)
    out += h.send_now(4, b)
    ctrl = sluice_frames(out)
    assert len(ctrl) == 1, "one PAUSE, however many packets above high water"
    port, pause = ctrl[0]
    assert port == 1
    check_flow_frame(pause, MsgType.PAUSE, FlowKey.of(a), HOST_A, 3)
    assert h.sw.registers["flow_paused"].get(1) == 1
    assert h.sw.registers["flow_paused"].get(2) == 0  # same port and queue, not paused
    assert h.counter(EG + "backpressure_frame.bp_sent", 1)[0] == 1
    h.sw.run_until_idle()
    out += h.sw.outputs()
    ctrl = sluice_frames(out)
    assert len(ctrl) == 2
    port, resume = ctrl[1]
    assert port == 1
    check_flow_frame(resume, MsgType.RESUME, FlowKey.of(a), HOST_A, 3)
    # RESUME left when the flow's occupancy fell below 2: after its 7th packet departed
    before = out[: out.index((port, bytes(resume)))]
    assert [Ether(d)[UDP].sport for p, d in before if p == 2].count(1111) == 7
    assert [Ether(d)[UDP].sport for p, d in out if p == 2].count(2222) == 1
    assert not [p for p, _ in out if p == 4]  # nothing ever went to flow B's sender
    assert h.sw.registers["flow_paused"].get(1) == 0
    # the next burst pauses again: hysteresis resets
    assert len(sluice_frames(h.send_now(1, *[a] * 4))) == 1


def test_pause_for_an_ipv6_tcp_flow(h: Harness) -> None:
    h.router()
    f = tcp6()
    h.flow(f, qid=5, slot=11)
    h.watermarks(5, high=2, low=1, cap=10)
    h.sw.tm.pause(2, 5)
    (port, pause), = sluice_frames(h.send_now(1, f, f, f))
    assert port == 1
    check_flow_frame(pause, MsgType.PAUSE, FlowKey.of(f), HOST_A, 5)
    assert pause[SluiceFlow].ip_version == 6 and pause[SluiceFlow].protocol == 6
    h.sw.tm.resume(2, 5)
    h.sw.run_until_idle()
    (port, resume), = sluice_frames(h.sw.outputs())
    assert port == 1 and resume[Sluice].msg_type == MsgType.RESUME


def test_pause_is_relayed_towards_the_flow_source_and_holds_its_queue(h: Harness) -> None:
    h.router()
    a = udp4(sport=1234)
    h.flow(a, qid=2, slot=5)
    h.send(1, a)  # the switch learns where the flow comes from
    pause = (Ether(dst=ROUTER_MAC, src=HOST_R) / Sluice(msg_type=MsgType.PAUSE)
             / FlowKey.of(a).sluice_flow(qid=6))
    (port, data), = h.send(2, pause)
    relayed = Ether(data)
    assert port == 1 and relayed.dst == HOST_A and relayed.src == SWITCH_MAC
    assert relayed[Sluice].flags == FLAG_RELAYED and relayed[Sluice].hops == 1
    assert relayed[SluiceFlow].flow() == FlowKey.of(a) and relayed[SluiceFlow].qid == 2
    assert h.sw.tm.is_paused(2, 2)  # this target can also hold the flow's queue
    assert h.counter(IG + "backpressure.bp_relayed", MsgType.PAUSE)[0] == 1
    # packets of the flow wait in the held queue; RESUME releases them
    assert [p for p, _ in h.send_now(1, a)] == []
    resume = pause.copy()
    resume[Sluice].msg_type = MsgType.RESUME
    out = h.send(2, resume)
    assert sorted(p for p, _ in out) == [1, 2]
    assert not h.sw.tm.is_paused(2, 2)


def test_pause_from_a_port_the_flow_does_not_leave_by_is_rejected(h: Harness) -> None:
    h.router()
    a = udp4(sport=1234)
    h.flow(a, qid=2, slot=5)
    h.send(1, a)
    forged = (Ether(dst=ROUTER_MAC, src=HOST_B) / Sluice(msg_type=MsgType.PAUSE)
              / FlowKey.of(a).sluice_flow())
    assert h.send(4, forged) == []
    assert not h.sw.tm.is_paused(2, 2)
    assert h.counter(IG + "backpressure.bp_rejected", MsgType.PAUSE)[0] == 1
    assert h.counter(IG + "backpressure.bp_relayed", MsgType.PAUSE)[0] == 0


def test_backpressure_reaches_the_sender_across_two_switches(compiled: CompileResult) -> None:
    """host A -> port 1 [s1] port 2 -> port 1 [s2] port 2 -> slow receiver. s2 pauses the flow;
    s1 relays the PAUSE to A and holds the flow's queue; the RESUME undoes both."""
    s1, s2 = Harness(compiled), Harness(compiled)
    s1.sw.registers["switch_mac"].set(0, mac("00:00:5e:00:53:f1"))
    for s in (s1, s2):
        s.router()
    a = udp4(sport=7777)
    for s in (s1, s2):
        s.flow(a, qid=4, slot=2)
    s2.watermarks(4, high=3, low=1, cap=100)
    s2.sw.tm.set_queue_rate(2, 1000, 4)

    def hop(out: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """s1's packets out of port 2 arrive at s2's port 1 (rewritten back to s2's MAC)."""
        back = []
        for port, data in out:
            if port == 2 and Ether(data).type == 0x0800:
                pkt = Ether(data)
                pkt.dst = ROUTER_MAC
                back += s2.send_now(1, pkt)
            else:
                back.append((port, data))
        return back

    out2 = hop(s1.send_now(1, *[a] * 4))
    (port, pause), = sluice_frames(out2)
    assert port == 1 and pause.dst == ROUTER_MAC  # s2 answers s1, the flow's previous hop
    (port, data), = s1.send_now(2, pause)
    relayed = Ether(data)
    assert port == 1 and relayed.dst == HOST_A and relayed[Sluice].hops == 1
    assert relayed[Sluice].flags == FLAG_RELAYED
    assert relayed[SluiceFlow].flow() == FlowKey.of(a)
    assert s1.sw.tm.is_paused(2, 4)
    # s2 drains; its RESUME reaches s1, which releases the queue and relays it to A
    s2.sw.run_until_idle()
    (port, resume), = sluice_frames(s2.sw.outputs())
    (port, data), = s1.send(2, resume)
    assert port == 1 and Ether(data)[Sluice].msg_type == MsgType.RESUME
    assert not s1.sw.tm.is_paused(2, 4)


def test_pause_for_an_unknown_flow_is_not_relayed(h: Harness) -> None:
    h.router()
    stray = (Ether(dst=ROUTER_MAC, src=HOST_R) / Sluice(msg_type=MsgType.PAUSE)
             / FlowKey(4, 17, "192.0.2.77", "198.51.100.7", 1, 2).sluice_flow())
    assert h.send(2, stray) == []
    assert h.counter(IG + "backpressure.bp_relayed", MsgType.PAUSE)[0] == 0


# -- doorbells ------------------------------------------------------------------------------------


def test_doorbells_coalesce_by_count_and_by_time(h: Harness) -> None:
    h.router()
    h.add("doorbell.doorbell_ports", [2], "doorbell.doorbell_enable", [4, 1000])
    a = udp4()
    h.flow(a, qid=1, slot=3)
    out = h.send(1, *[a] * 10)
    bells = sluice_frames(out)
    assert [f[SluiceDoorbell].count for _, f in bells] == [1, 4, 4]
    for port, f in bells:
        assert port == 2 and f.dst == HOST_R and f.src == SWITCH_MAC
        assert f[Sluice].msg_type == MsgType.DOORBELL and f[Sluice].length == 8
        assert f[SluiceDoorbell].port == 2 and f[SluiceDoorbell].qid == 1
        assert len(f) == 28
    # one more packet within T: coalesced; after T: rings with the count since the last one
    assert sluice_frames(h.send(1, a)) == []
    h.sw.advance_to(h.sw.clock.now_us() + 1000)
    (port, f), = sluice_frames(h.send(1, a))
    assert f[SluiceDoorbell].count == 3
    # a packet that triggers a RESUME rings no doorbell; the next one carries its count
    h.watermarks(1, high=2, low=1, cap=100)
    h.sw.tm.pause(2, 1)
    pause_out = h.send_now(1, a, a)
    assert [f[Sluice].msg_type for _, f in sluice_frames(pause_out)] == [MsgType.PAUSE]
    h.sw.advance_to(h.sw.clock.now_us() + 5000)
    h.sw.tm.resume(2, 1)
    h.sw.run_until_idle()
    kinds = [(f[Sluice].msg_type, f[SluiceDoorbell].count if SluiceDoorbell in f else None)
             for _, f in sluice_frames(h.sw.outputs())]
    # first departure: T has passed, rings with count 1; second: RESUME (occ 0 < 1), no ring
    assert sorted(kinds, key=str) == [(MsgType.RESUME, None), (MsgType.DOORBELL, 1)]
    assert sluice_frames(h.send(1, a)) == []  # within T of the last ring
    h.sw.advance_to(h.sw.clock.now_us() + 1000)
    (_, f), = sluice_frames(h.send(1, a))
    assert f[SluiceDoorbell].count == 3  # the RESUME packet, the one above, this one
    # ports without an entry get none
    h.add("forwarding.routes_v4", [Lpm(ip("203.0.113.0"), 24)], "forwarding.set_next_hop",
          [6, mac("02:00:00:00:00:06"), mac(ROUTER_MAC)])
    assert sluice_frames(h.send(1, udp4(dst="203.0.113.1"))) == []


# -- remote-memory protection --------------------------------------------------------------------

OWNER = "2001:db8:c::a"
READER = "2001:db8:c::b"
STRANGER = "2001:db8:c::c"
WRITER2 = "2001:db8:c::d"
REGION = (0x10000, 0x1FFFF)


def memguard(h: Harness) -> None:
    h.router()
    h.add("memguard.mem_servers", [MEM_SUBID], "memguard.mem_server",
          [3, mac(SERVER_MAC), mac(ROUTER_MAC)])
    full = Ternary(0, 0)

    def grant(client: str, perms: int, prio: int) -> None:
        h.add("memguard.mem_acl", [Ternary(ip(client), ALL_ONES_128), MEM_SUBID, Range(*REGION)],
              "memguard.mem_grant", [perms], priority=prio)

    grant(OWNER, Perm.READ | Perm.WRITE | Perm.OWNER, 10)
    grant(READER, Perm.READ, 10)
    grant(WRITER2, Perm.READ | Perm.WRITE, 10)
    h.add("memguard.mem_alloc_acl", [Ternary(ip(OWNER), ALL_ONES_128), full],
          "memguard.mem_allow_alloc", priority=10)


def bb_request(client: str, cmd: int, paddr: int = 0x10040, args: int = 64,
               subid: int = MEM_SUBID) -> Packet:
    return (Ether(dst=ROUTER_MAC, src="02:00:00:00:00:05")
            / IPv6(src=client, dst=bb_addr(subid, cmd, args, paddr), hlim=64)
            / UDP(sport=40000, dport=BB_UDP_PORT) / BlueBridge(seq=7) / (b"\xab" * 16))


ALLOWED = {
    OWNER: {c for c in BBCommand},
    READER: {BBCommand.READ, BBCommand.READ_BULK},
    STRANGER: set(),
}
REASON = {
    BBCommand.ALLOC: MemReason.NO_ALLOC, BBCommand.ALLOC_BULK: MemReason.NO_ALLOC,
    BBCommand.READ: MemReason.NO_READ, BBCommand.READ_BULK: MemReason.NO_READ,
    BBCommand.WRITE: MemReason.NO_WRITE, BBCommand.WRITE_BULK: MemReason.NO_WRITE,
    BBCommand.FREE: MemReason.NOT_OWNER, BBCommand.TRIM: MemReason.NOT_OWNER,
}


@pytest.mark.parametrize("client", [OWNER, READER, STRANGER], ids=["owner", "reader", "stranger"])
@pytest.mark.parametrize("cmd", list(BBCommand), ids=[c.name for c in BBCommand])
def test_memory_commands_allowed_and_denied(h: Harness, client: str, cmd: BBCommand) -> None:
    memguard(h)
    req = bb_request(client, cmd)
    out = h.send(5, req)
    cell = client_index(client)
    if cmd in ALLOWED[client]:
        (port, data), = out
        fwd = Ether(data)
        assert port == 3 and fwd.dst == SERVER_MAC and fwd[IPv6].hlim == 63
        assert fwd[IPv6].dst == req[IPv6].dst and bytes(fwd[BlueBridge]) == bytes(req[BlueBridge])
        assert h.counter(IG + "memguard.mem_violations", cell) == (0, 0)
        assert digests(h, MemViolationDigest) == []
    else:
        assert out == []
        assert h.counter(IG + "memguard.mem_violations", cell) == (1, len(req))
        d, = digests(h, MemViolationDigest)
        assert d == MemViolationDigest(ip(client), MEM_SUBID, cmd, 0x10040, REASON[cmd], 5, cell)


def test_outside_the_region_unknown_server_and_bad_command_are_refused(h: Harness) -> None:
    memguard(h)
    cases = [
        (bb_request(OWNER, BBCommand.READ, paddr=0x20000), MemReason.NO_READ),
        (bb_request(OWNER, BBCommand.READ, subid=0x2002), MemReason.NO_SERVER),
        (bb_request(OWNER, 9), MemReason.BAD_COMMAND),
    ]
    for req, reason in cases:
        h.sw.registers[IG + "memguard.mem_report_next"].reset()
        assert h.send(5, req) == []
        d, = digests(h, MemViolationDigest)
        assert d.reason == reason
    assert h.counter(IG + "memguard.mem_violations", client_index(OWNER))[0] == 3


def test_violation_reports_are_rate_limited_per_client(h: Harness) -> None:
    memguard(h)
    h.sw.registers[IG + "memguard.mem_config"].set(1, 500)  # report at most every 500 us
    bad = bb_request(STRANGER, BBCommand.READ)
    h.send(5, *[bad] * 6)
    assert len(digests(h, MemViolationDigest)) == 1
    h.send(5, bb_request(READER, BBCommand.WRITE))  # another client has its own budget
    assert [d.client for d in digests(h, MemViolationDigest)] == [ip(READER)]
    h.sw.advance_to(h.sw.clock.now_us() + 500)
    h.send(5, bad)
    assert len(digests(h, MemViolationDigest)) == 1
    assert h.counter(IG + "memguard.mem_violations", client_index(STRANGER))[0] == 7


def test_one_writer_per_page_lease(h: Harness) -> None:
    memguard(h)
    h.sw.registers[IG + "memguard.mem_config"].set(0, 200)  # 200 us leases
    page = 0x11000
    assert [p for p, _ in h.send(5, bb_request(OWNER, BBCommand.WRITE, paddr=page))] == [3]
    idx = lease_index(MEM_SUBID, page)
    assert h.sw.registers[IG + "memguard.mem_lease_holder"].get(idx) == ip(OWNER)
    # a second writer inside the lease is refused, on any address of that page
    assert h.send(5, bb_request(WRITER2, BBCommand.WRITE, paddr=page + 0x80)) == []
    d, = digests(h, MemViolationDigest)
    assert d.reason == MemReason.LEASE_HELD and d.client == ip(WRITER2)
    assert h.send(5, bb_request(WRITER2, BBCommand.WRITE_BULK, paddr=page)) == []
    # the holder renews; reads are not leased; another page is free
    assert [p for p, _ in h.send(5, bb_request(OWNER, BBCommand.WRITE, paddr=page + 8))] == [3]
    assert [p for p, _ in h.send(5, bb_request(WRITER2, BBCommand.READ, paddr=page))] == [3]
    assert [p for p, _ in h.send(5, bb_request(WRITER2, BBCommand.WRITE, paddr=page + 0x1000))
            ] == [3]
    # once the lease runs out the page is free again
    h.sw.advance_to(h.sw.clock.now_us() + 201)
    assert [p for p, _ in h.send(5, bb_request(WRITER2, BBCommand.WRITE, paddr=page))] == [3]
    assert h.sw.registers[IG + "memguard.mem_lease_holder"].get(idx) == ip(WRITER2)


def bb_reply(client: str, cmd: int, paddr: int, args: int) -> Packet:
    return (Ether(dst=ROUTER_MAC, src=SERVER_MAC)
            / IPv6(src=bb_addr(MEM_SUBID, cmd, args, paddr), dst=client)
            / UDP(sport=BB_UDP_PORT, dport=40000) / BlueBridge(seq=7))


def test_alloc_and_free_replies_produce_digests_and_reach_the_client(h: Harness) -> None:
    memguard(h)
    (port, data), = h.send(3, bb_reply(OWNER, BBCommand.ALLOC, 0x40000, 0x2000))
    assert port == 5 and Ether(data)[IPv6].dst == OWNER
    d, = digests(h, MemEventDigest)
    assert d == MemEventDigest(ip(OWNER), MEM_SUBID, BBCommand.ALLOC, 0x2000, 0x40000)
    h.send(3, bb_reply(OWNER, BBCommand.FREE, 0x40000, 0))
    assert [d.cmd for d in digests(h, MemEventDigest)] == [BBCommand.FREE]
    h.send(3, bb_reply(OWNER, BBCommand.READ, 0x40000, 64))
    assert digests(h, MemEventDigest) == []
    # a "reply" from a port that is not the server's is spoofed: refused, reported
    assert h.send(5, bb_reply(STRANGER, BBCommand.ALLOC, 0x50000, 0x1000)) == []
    assert digests(h, MemEventDigest) == []
    assert h.counter(IG + "memguard.mem_violations", client_index(STRANGER))[0] == 1
