"""The controller against in-process switches running p4src/sluice.p4: real packets through
in-process ports, the controller's apps reacting to digests and idle timeouts over P4Runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane.controller import Controller, ControllerError
from controlplane.p4rt import TableEntry
from controlplane.policy import parse_policy
from controlplane.protocol import BB_UDP_PORT, BBCommand, BlueBridge, bb_addr
from controlplane.topology import parse_topology
from softswitch.admin import AdminServer
from softswitch.frontend.compiler import compile_file
from softswitch.p4runtime.server import P4RuntimeServer
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime

PROGRAM = Path(__file__).resolve().parents[2] / "p4src" / "sluice.p4"
S1_MAC = "00:00:5e:00:53:01"
S2_MAC = "00:00:5e:00:53:02"
H1 = {"mac": "02:00:00:00:00:01", "ipv4": "192.0.2.1", "ipv6": "2001:db8:1::1"}
H2 = {"mac": "02:00:00:00:00:02", "ipv4": "192.0.2.2", "ipv6": "2001:db8:1::2"}
RX = {"mac": "02:00:00:00:00:03", "ipv4": "198.51.100.3", "ipv6": "2001:db8:2::3"}
MEM = {"mac": "02:00:00:00:00:04", "ipv6": "2001:db8:2::4"}
SUBID = 0x2001

POLICY = {
    "defaults": {"class": "bulk", "idle_timeout_s": 60.0},
    "classes": {
        "latency": {"queues": "5-6", "preferred": [6], "weight": 4, "high_water": 16,
                    "low_water": 8, "cap": 64},
        "bulk": {"queues": "1-2", "high_water": 64, "low_water": 32, "cap": 256},
        "short": {"queues": [3], "idle_timeout_s": 0.3},
    },
    "rules": [{"class": "latency", "dport": 5201}, {"class": "short", "dport": 9999}],
    "memory": {"allow_alloc": [{"client": "2001:db8:1::/48", "server": "mem1"}]},
}


@pytest.fixture(scope="module")
def compiled() -> Any:
    return compile_file(str(PROGRAM))


class Sw:
    """An in-process switch: runtime, P4Runtime server, admin server, ports 1-4."""

    def __init__(self, device_id: int = 0) -> None:
        self.ports = PortSet()
        self.p = {n: self.ports.add(InProcessPort(n)) for n in (1, 2, 3, 4)}
        self.rt = SwitchRuntime(self.ports, device_id=device_id, cpu_port=255,
                                priority_queues=8, tick_interval=0.01)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0", idle_scan_interval=0.05)
        self.server.start()
        self.rt.start()
        self.admin = AdminServer(self.rt, "127.0.0.1:0")
        self.admin.start()
        self.addr = f"127.0.0.1:{self.server.port}"
        self.admin_addr = f"127.0.0.1:{self.admin.port}"

    def close(self) -> None:
        self.admin.stop()
        self.server.stop(grace=0.2)
        self.rt.stop()


def topo_for(s1: Sw, s2: Sw | None = None) -> Any:
    sws = [{"name": "s1", "p4runtime": s1.addr, "admin": s1.admin_addr, "mac": S1_MAC,
            "ports": [1, 2, 3, 4]}]
    hosts = [dict(H1, name="h1", switch="s1", port=1, role="memory_client"),
             dict(H2, name="h2", switch="s1", port=2)]
    if s2 is None:
        hosts += [dict(RX, name="rx", switch="s1", port=3),
                  dict(MEM, name="mem1", switch="s1", port=4, role="memory_server",
                       subid=SUBID)]
        links = []
    else:
        sws.append({"name": "s2", "p4runtime": s2.addr, "admin": s2.admin_addr,
                    "device_id": 1, "mac": S2_MAC, "ports": [1, 2, 3, 4]})
        hosts += [dict(RX, name="rx", switch="s2", port=1),
                  dict(MEM, name="mem1", switch="s2", port=2, role="memory_server",
                       subid=SUBID)]
        links = [{"a": "s1:4", "b": "s2:4"}]
    return parse_topology({"program": str(PROGRAM), "switches": sws, "hosts": hosts,
                           "links": links}, "<test topology>")


def make_controller(topo: Any, compiled: Any, state_dir: Path | None = None,
                    policy: dict | None = None) -> Controller:
    ctl = Controller(topo, parse_policy(policy or POLICY, "<test policy>"),
                     str(state_dir) if state_dir else None, stats_period_s=0.2)
    # the module's compile, so each test does not compile again
    from controlplane.p4rt.client import pipeline_cookie
    from controlplane.p4rt.schema import P4Schema

    ctl.schema = P4Schema(compiled.p4info)
    ctl.device_config = compiled.device_config_bytes()
    ctl.cookie = pipeline_cookie(ctl.schema.p4info, ctl.device_config)
    return ctl


def wait_for(cond: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def udp4(src: dict, dst: dict, sport: int, dport: int, router: str = S1_MAC) -> bytes:
    return bytes(Ether(src=src["mac"], dst=router) / IP(src=src["ipv4"], dst=dst["ipv4"])
                 / UDP(sport=sport, dport=dport) / (b"\x00" * 32))


def bb_request(client: dict, cmd: int, paddr: int = 0, args: int = 0) -> bytes:
    return bytes(Ether(src=client["mac"], dst=S1_MAC)
                 / IPv6(src=client["ipv6"], dst=bb_addr(SUBID, cmd, args, paddr))
                 / UDP(sport=40000, dport=BB_UDP_PORT) / BlueBridge(seq=1))


def bb_reply(client: dict, cmd: int, paddr: int, args: int) -> bytes:
    return bytes(Ether(src=MEM["mac"], dst=S1_MAC)
                 / IPv6(src=bb_addr(SUBID, cmd, args, paddr), dst=client["ipv6"])
                 / UDP(sport=BB_UDP_PORT, dport=40000) / BlueBridge(seq=1))


def flows_of(ctl: Controller, **match: Any) -> list[dict]:
    """Allocations whose entry is on the switch, filtered by ``match``."""
    return [f for f in ctl.flows()
            if f["installed"] and all(f[k] == v for k, v in match.items())]


@pytest.fixture
def sw1() -> Iterator[Sw]:
    s = Sw()
    yield s
    s.close()


@pytest.fixture
def ctl(sw1: Sw, compiled: Any, tmp_path: Path) -> Iterator[Controller]:
    c = make_controller(topo_for(sw1), compiled, tmp_path / "state")
    c.start()
    yield c
    c.stop()


# -- queue allocation ---------------------------------------------------------------------------


def test_new_flow_gets_own_queue_with_reason(ctl: Controller, sw1: Sw) -> None:
    sw1.p[1].inject(udp4(H1, RX, 1234, 5201))
    f = wait_for(lambda: flows_of(ctl, sport=1234), what="the flow's allocation")[0]
    assert (f["class"], f["port"], f["queue"]) == ("latency", 3, 6)
    assert "free preferred queue 6 on port 3" in f["reason"]
    assert f["slot"] >= 1
    # the entry is on the switch, and the first packet went out on port 3 (default queue)
    conn = ctl.switches["s1"].conn
    entries = list(conn.read(TableEntry("SluiceIngress.flow.flows")))
    assert [(e.params["qid"], e.params["slot"]) for e in entries] == [(6, f["slot"])]
    wait_for(lambda: sw1.p[3].sent, what="the packet on port 3")
    # the next packet of the flow hits the entry: no second allocation
    sw1.p[1].inject(udp4(H1, RX, 1234, 5201))
    time.sleep(0.2)
    assert len(flows_of(ctl, sport=1234)) == 1
    # ... and leaves by queue 6 (the admin interface's per-queue counters, through stats)

    def on_queue_6() -> Any:
        return [q for q in ctl.queues() if (q["port"], q["queue"]) == (3, 6) and q["enqueued"]]

    q6 = wait_for(on_queue_6, what="a packet through queue 6 of port 3")[0]
    assert q6["flows"] == 1 and q6["class"] == "latency"
    f = flows_of(ctl, sport=1234)[0]
    assert f["occupancy_packets"] == 0  # sampled: everything left
    # an IPv6 TCP flow of the default class
    sw1.p[2].inject(bytes(Ether(src=H2["mac"], dst=S1_MAC) / IPv6(src=H2["ipv6"], dst=RX["ipv6"])
                          / TCP(sport=5555, dport=22)))
    g = wait_for(lambda: flows_of(ctl, sport=5555), what="the IPv6 flow")[0]
    assert (g["ip_version"], g["protocol"], g["class"], g["port"], g["queue"]) == (
        6, 6, "bulk", 3, 1)
    assert g["reason"] == "class bulk (default class): free queue 1 on port 3"
    st = ctl.status()
    assert st["switches"]["s1"]["connected"] and st["switches"]["s1"]["primary"]
    assert st["flows"] == 2 and st["flow_setup_ms"]["count"] == 2


def test_dscp_rule_classifies_flows_by_the_digest_dscp_v4_and_v6(sw1: Sw, compiled: Any,
                                                                  tmp_path: Path) -> None:
    """A ``dscp`` rule matches the DSCP the switch reports in the new-flow digest (ECN bits
    aside), for IPv4 and IPv6; the same flows with another DSCP get the default class."""
    policy = dict(POLICY, classes=dict(POLICY["classes"], ef={"queues": [4]}),
                  rules=[{"class": "ef", "dscp": 46}, *POLICY["rules"]])
    c = make_controller(topo_for(sw1), compiled, tmp_path / "state", policy=policy)
    c.start()
    try:
        # IPv4 TOS 0xB9 = DSCP 46, ECN 01
        sw1.p[1].inject(bytes(Ether(src=H1["mac"], dst=S1_MAC)
                              / IP(src=H1["ipv4"], dst=RX["ipv4"], tos=0xB9)
                              / UDP(sport=6100, dport=80) / (b"\x00" * 32)))
        f = wait_for(lambda: flows_of(c, sport=6100), what="the IPv4 EF flow")[0]
        assert (f["ip_version"], f["class"], f["port"], f["queue"]) == (4, "ef", 3, 4)
        assert f["reason"] == "class ef (rule 0: dscp 46): free queue 4 on port 3"
        # IPv6 traffic class 0xBB = DSCP 46, ECN 11; it shares queue 4, the only ef queue
        sw1.p[2].inject(bytes(Ether(src=H2["mac"], dst=S1_MAC)
                              / IPv6(src=H2["ipv6"], dst=RX["ipv6"], tc=0xBB)
                              / TCP(sport=6200, dport=22)))
        g = wait_for(lambda: flows_of(c, sport=6200), what="the IPv6 EF flow")[0]
        assert (g["ip_version"], g["class"], g["port"], g["queue"]) == (6, "ef", 3, 4)
        assert g["reason"].startswith("class ef (rule 0: dscp 46): queues 4 all busy, shared")
        # DSCP 0 (v4) and DSCP 10 (v6, traffic class 0x28): the rule does not match
        sw1.p[1].inject(udp4(H1, RX, 6101, 80))
        sw1.p[2].inject(bytes(Ether(src=H2["mac"], dst=S1_MAC)
                              / IPv6(src=H2["ipv6"], dst=RX["ipv6"], tc=0x28)
                              / TCP(sport=6201, dport=22)))
        for sport in (6101, 6201):
            h = wait_for(lambda sport=sport: flows_of(c, sport=sport), what=f"flow {sport}")[0]
            assert h["class"] == "bulk" and "(default class)" in h["reason"], h
    finally:
        c.stop()


def test_queues_run_out_then_share_by_policy(ctl: Controller, sw1: Sw) -> None:
    for sport in range(2000, 2005):
        sw1.p[1].inject(udp4(H1, RX, sport, 80))
    wait_for(lambda: len(flows_of(ctl, port=3)) == 5,
             what="five allocations")
    fl = sorted(flows_of(ctl, port=3), key=lambda f: f["slot"])
    assert {f["class"] for f in fl} == {"bulk"}
    free = [f for f in fl if "free queue" in f["reason"]]
    shared = [f for f in fl if "shared queue" in f["reason"]]
    assert sorted(f["queue"] for f in free) == [1, 2]
    assert len(shared) == 3
    assert "queues 1-2 all busy" in shared[0]["reason"]
    q = {x["queue"]: x["flows"] for x in ctl.queues() if x["port"] == 3 and x["queue"] in (1, 2)}
    assert sorted(q.values()) == [2, 3]  # least loaded: balanced
    # each queue is kept deeper than the sum of its flows' caps (bulk cap 256, +16 headroom)
    depths = {k[2]: v for k, v in ctl.allocator.depths.items() if k[:2] == ("s1", 3)}
    assert sorted(depths.values()) == [2 * 256 + 16, 3 * 256 + 16]
    with sw1.rt.lock:  # and the switch has them
        tm = sw1.rt.switch.tm
        assert {q: tm._port(3).queues[q].capacity for q in (1, 2)} == depths


def test_idle_flow_gives_its_queue_back(ctl: Controller, sw1: Sw) -> None:
    sw1.p[1].inject(udp4(H1, RX, 3000, 9999))
    f = wait_for(lambda: flows_of(ctl, sport=3000), what="allocation")[0]
    assert (f["class"], f["queue"]) == ("short", 3)
    wait_for(lambda: not flows_of(ctl, sport=3000), timeout=5, what="idle reclaim")
    conn = ctl.switches["s1"].conn
    wait_for(lambda: not list(conn.read(TableEntry("SluiceIngress.flow.flows"))),
             what="the entry deleted")
    # the flow comes back: it is new again (dedup bit was cleared) and gets the queue again
    sw1.p[1].inject(udp4(H1, RX, 3000, 9999))
    f2 = wait_for(lambda: flows_of(ctl, sport=3000), what="re-allocation")[0]
    assert f2["queue"] == 3 and "free queue 3" in f2["reason"]


def test_policy_watermarks_pause_the_flow_at_high_water(ctl: Controller, sw1: Sw) -> None:
    """queue_classes, clone sessions and switch_mac from the router: a latency flow (high
    water 16) on a slow queue gets exactly one PAUSE, sent to its source."""
    from controlplane.p4rt import SoftswitchDriver
    from controlplane.protocol import MsgType, Sluice, SluiceFlow

    sw1.p[1].inject(udp4(H1, RX, 7000, 5201))
    f = wait_for(lambda: flows_of(ctl, sport=7000), what="allocation")[0]
    assert f["queue"] == 6
    with SoftswitchDriver(sw1.admin_addr) as drv:
        drv.set_queue_rate(3, 6, 1)  # 1 packet/s: the flow backs up in the switch
    sw1.p[1].take_sent()
    for _ in range(20):
        sw1.p[1].inject(udp4(H1, RX, 7000, 5201))
    frames = wait_for(lambda: [Ether(x) for x in sw1.p[1].sent if Ether(x).type == 0x88B5],
                      what="a PAUSE to the sender")
    time.sleep(0.2)
    frames = [Ether(x) for x in sw1.p[1].sent if Ether(x).type == 0x88B5]
    assert len(frames) == 1
    pause = frames[0]
    assert pause[Sluice].msg_type == MsgType.PAUSE
    assert (pause.dst, pause.src) == (H1["mac"], S1_MAC)
    assert (pause[SluiceFlow].sport, pause[SluiceFlow].dport, pause[SluiceFlow].qid) == (
        7000, 5201, 6)
    occ = wait_for(lambda: flows_of(ctl, sport=7000)[0]["occupancy_packets"], what="occupancy")
    assert occ >= 12
    st = wait_for(lambda: ctl.stats.latest["s1"]["counters"]["pause_sent"], what="bp_sent")
    assert st == 1


# -- memory guard ---------------------------------------------------------------------------------


def test_alloc_grants_owner_free_revokes_stranger_logged(ctl: Controller, sw1: Sw) -> None:
    # ALLOC by an allowed client goes to the server
    sw1.p[1].inject(bb_request(H1, BBCommand.ALLOC, args=8192))
    wait_for(lambda: sw1.p[4].sent, what="the ALLOC at the server")
    sw1.p[4].take_sent()
    # the server's reply grants the owner
    sw1.p[4].inject(bb_reply(H1, BBCommand.ALLOC, paddr=0x10000, args=8192))
    g = wait_for(ctl.grants, what="the owner grant")[0]
    assert (g["client"], g["subid"], g["region"], g["perms"], g["origin"]) == (
        H1["ipv6"], SUBID, [0x10000, 0x11FFF], "owner", "alloc")
    acl = TableEntry("SluiceIngress.memguard.mem_acl")
    conn = ctl.switches["s1"].conn
    wait_for(lambda: list(conn.read(acl)), what="the grant on the switch")
    # owner READ passes
    sw1.p[1].inject(bb_request(H1, BBCommand.READ, paddr=0x10040, args=64))
    wait_for(lambda: sw1.p[4].sent, what="the owner's READ at the server")
    sw1.p[4].take_sent()
    # a stranger's READ is dropped and logged
    sw1.p[2].inject(bb_request(H2, BBCommand.READ, paddr=0x10040, args=64))
    v = wait_for(ctl.violations, what="the violation")[-1]
    assert (v["client"], v["reason"], v["cmd"], v["ingress_port"]) == (
        H2["ipv6"], "NO_READ", "READ", 2)
    assert not sw1.p[4].sent
    # an explicit read-only grant lets it read; revoking stops it again
    ctl.grant(H2["ipv6"], "mem1", "0x10000+4096", "r")  # returns once written
    sw1.p[2].inject(bb_request(H2, BBCommand.READ, paddr=0x10040, args=64))
    wait_for(lambda: sw1.p[4].sent, what="the shared READ at the server")
    sw1.p[4].take_sent()
    r = ctl.revoke(H2["ipv6"], SUBID, (0x10000, 0x10FFF))
    assert r["revoked"] == 1
    # FREE reply revokes the owner
    sw1.p[4].inject(bb_reply(H1, BBCommand.FREE, paddr=0x10000, args=0))
    wait_for(lambda: not ctl.grants(), what="the FREE revocation")
    wait_for(lambda: not list(conn.read(acl)), what="the grant gone from the switch")


def test_grant_bad_input_is_a_clear_value_error(ctl: Controller) -> None:
    with pytest.raises(ValueError, match="not an IPv6 address"):
        ctl.grant("192.0.2.1", "mem1", "0-4095", "r")
    with pytest.raises(ValueError, match="no memory server 'nope'"):
        ctl.grant("2001:db8:1::9", "nope", "0-4095", "r")
    with pytest.raises(ValueError, match="permissions 'x'"):
        ctl.grant("2001:db8:1::9", "mem1", "0-4095", "x")
    with pytest.raises(ValueError, match="region"):
        ctl.grant("2001:db8:1::9", "mem1", "9-1", "r")


# -- restarts -------------------------------------------------------------------------------------


def test_controller_restart_reconciles_without_rewriting(sw1: Sw, compiled: Any,
                                                         tmp_path: Path) -> None:
    state = tmp_path / "state"
    c = make_controller(topo_for(sw1), compiled, state)
    c.start()
    try:
        sw1.p[1].inject(udp4(H1, RX, 4000, 5201))
        wait_for(lambda: flows_of(c, sport=4000), what="allocation")
        c.grant(H2["ipv6"], "mem1", "0x0-0xfff", "rw")
    finally:
        c.stop()
    # a flow that starts while no controller runs: its digest is lost, its dedup bit stays set
    sw1.p[1].inject(udp4(H1, RX, 4002, 80))
    wait_for(lambda: sw1.p[3].sent, what="the packet while the controller is down")
    c2 = make_controller(topo_for(sw1), compiled, state)
    c2.start()
    try:
        assert c2.switches["s1"].last_sync["inserted"] == 0
        assert c2.switches["s1"].last_sync["deleted"] == 0
        f = flows_of(c2, sport=4000)[0]
        assert f["queue"] == 6 and f["class"] == "latency"
        assert c2.grants()[0]["perms"] == "rw"
        # a new flow does not get the restored flow's slot or (free) queue
        sw1.p[1].inject(udp4(H1, RX, 4001, 5201))
        g = wait_for(lambda: flows_of(c2, sport=4001), what="allocation")[0]
        assert g["queue"] == 5 and g["slot"] != f["slot"]
        # the flow that started meanwhile is reported again by its next packet
        sw1.p[1].inject(udp4(H1, RX, 4002, 80))
        h = wait_for(lambda: flows_of(c2, sport=4002), what="the missed flow")[0]
        assert h["class"] == "bulk"
    finally:
        c2.stop()


def test_switch_restart_gets_everything_back(compiled: Any, tmp_path: Path) -> None:
    s = Sw()
    port = s.server.port
    c = make_controller(topo_for(s), compiled, tmp_path / "state")
    c.start()
    try:
        s.p[1].inject(udp4(H1, RX, 5000 + 1, 5201))
        wait_for(lambda: flows_of(c, sport=5001), what="allocation")
        c.grant(H2["ipv6"], "mem1", "0x0-0xfff", "r")
        # the switch dies and comes back empty on the same address
        s.close()
        s2 = Sw.__new__(Sw)
        s2.ports = PortSet()
        s2.p = {n: s2.ports.add(InProcessPort(n)) for n in (1, 2, 3, 4)}
        s2.rt = SwitchRuntime(s2.ports, device_id=0, cpu_port=255, priority_queues=8,
                              tick_interval=0.01)
        s2.server = P4RuntimeServer(s2.rt, f"127.0.0.1:{port}", idle_scan_interval=0.05)
        s2.server.start()
        s2.rt.start()
        s2.admin = AdminServer(s2.rt, "127.0.0.1:0")
        s2.admin.start()
        s = s2
        conn = c.switches["s1"].conn
        wait_for(lambda: conn.reconnects >= 1 and c.switches["s1"].syncs >= 2, timeout=15,
                 what="reconnect and re-push")
        flows = list(conn.read(TableEntry("SluiceIngress.flow.flows")))
        assert len(flows) == 1 and flows[0].params["qid"] == 6
        assert len(list(conn.read(TableEntry("SluiceIngress.memguard.mem_acl")))) == 1
        # and it forwards again
        s.p[1].inject(udp4(H1, RX, 5001, 5201))
        wait_for(lambda: s.p[3].sent, what="forwarding after the restart")
    finally:
        c.stop()
        s.close()


def test_unreachable_switch_is_named(compiled: Any) -> None:
    topo = parse_topology({"switches": [{"name": "ghost", "p4runtime": "127.0.0.1:1",
                                         "ports": [1]}]}, "<t>")
    with pytest.raises(ControllerError, match="allow_alloc.0..server: no memory server 'mem1'"):
        make_controller(topo, compiled)
    c = make_controller(topo, compiled, policy={"classes": {"bulk": {"queues": "1-7"}}})
    c.connect_timeout_s = 0.5
    with pytest.raises(ControllerError, match="switch ghost at 127.0.0.1:1"):
        c.start()


# -- two switches -------------------------------------------------------------------------------


def test_two_switches_route_and_allocate_per_hop(compiled: Any) -> None:
    a, b = Sw(0), Sw(1)
    # cable s1:4 <-> s2:4
    a.p[4].on_send = b.p[4].inject
    b.p[4].on_send = a.p[4].inject
    c = make_controller(topo_for(a, b), compiled)
    c.start()
    try:
        a.p[1].inject(udp4(H1, RX, 6000, 5201))
        wait_for(lambda: b.p[1].sent, what="the packet at rx behind s2")
        got = Ether(b.p[1].sent[0])
        assert got.dst == RX["mac"] and got[IP].ttl == 62
        fl = wait_for(lambda: len(flows_of(c, sport=6000)) == 2 and flows_of(c, sport=6000),
                      what="one allocation per switch")
        assert {(f["switch"], f["port"]) for f in fl} == {("s1", 4), ("s2", 1)}
        # memory across two hops: ALLOC reaches mem1 behind s2, its reply grants the owner on
        # both switches (both see the reply; one grant), and the owner can read through both
        a.p[1].inject(bb_request(H1, BBCommand.ALLOC, args=4096))
        wait_for(lambda: b.p[2].sent, what="the ALLOC at mem1")
        b.p[2].take_sent()
        reply = Ether(bb_reply(H1, BBCommand.ALLOC, paddr=0x20000, args=4096))
        reply.dst = S2_MAC
        b.p[2].inject(bytes(reply))
        wait_for(lambda: a.p[1].sent, what="the reply at h1")
        g = wait_for(c.grants, what="the owner grant")
        assert len(g) == 1 and g[0]["perms"] == "owner"
        for sw in c.switches.values():
            wait_for(lambda sw=sw: list(sw.conn.read(
                TableEntry("SluiceIngress.memguard.mem_acl"))), what=f"grant on {sw.name}")
        a.p[1].inject(bb_request(H1, BBCommand.READ, paddr=0x20000, args=64))
        wait_for(lambda: b.p[2].sent, what="the owner's READ at mem1")
        a.p[2].inject(bb_request(H2, BBCommand.READ, paddr=0x20000, args=64))
        v = wait_for(c.violations, what="the stranger refused at s1")[-1]
        assert (v["switch"], v["reason"]) == ("s1", "NO_READ")
    finally:
        c.stop()
        a.close()
        b.close()
