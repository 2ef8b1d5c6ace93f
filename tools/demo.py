"""``make demo``: Sluice end to end on the embedded target, in one process, no root needed.

1. ``sluice compile`` the Sluice data plane (p4src/sluice.p4) and run an STF packet test.
2. Start an embedded switch (P4Runtime on 127.0.0.1) with four in-process ports: two senders,
   a fast receiver, a slow receiver whose port drains at a few hundred packets/s, and a
   remote-memory server.
3. Start the controller on it: it pushes the pipeline, routes, and gives each new flow its own
   queue when the switch reports the flow (a digest).
4. Both senders send; the sender to the slow receiver is paused and resumed by the switch (one
   PAUSE per crossing of the high-water mark), the other is never paused, and nothing is lost.
5. A stranger tries to read remote memory: the switch drops it and the controller logs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, ROOT)
SLUICE_P4 = os.path.join(ROOT, "p4src", "sluice.p4")
ROUTER = os.path.join(ROOT, "p4src", "examples", "l3_router.p4")
OUT = os.path.join(ROOT, "out", "demo")

SWITCH_MAC = "00:00:5e:00:53:01"
HOSTS = {
    "h1": {"mac": "02:00:00:00:00:01", "ipv4": "192.0.2.1", "ipv6": "2001:db8:1::1", "port": 1},
    "h2": {"mac": "02:00:00:00:00:02", "ipv4": "192.0.2.2", "ipv6": "2001:db8:1::2", "port": 2},
    "fast": {"mac": "02:00:00:00:00:03", "ipv4": "198.51.100.3", "port": 3},
    "slow": {"mac": "02:00:00:00:00:04", "ipv4": "198.51.100.4", "port": 4},
}
SLOW_PPS = 400          # the slow receiver's port drains this many packets per second
PACKETS = 400           # per flow
POLICY = {
    "defaults": {"class": "bulk", "idle_timeout_s": 60.0},
    "classes": {"bulk": {"queues": "1-4", "high_water": 16, "low_water": 8, "cap": 64}},
    "rules": [],
}


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    shown = " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)
    print(f"$ {shown}", flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(res.stdout + res.stderr)
    return res


def compile_and_stf(sluice: str) -> bool:
    step("1. compile the Sluice data plane with the project's own P4_16 front end")
    p4info = os.path.join(OUT, "sluice.p4info.txtpb")
    if run([sluice, "compile", SLUICE_P4, "-o", OUT, "--p4runtime-files", p4info, "-v"]).returncode:
        return False
    from controlplane.p4rt.schema import P4Schema

    schema = P4Schema.load(p4info)
    info = schema.p4info
    print(f"P4Info: {len(info.tables)} tables, {len(info.actions)} actions, "
          f"{len(info.registers)} registers, {len(info.digests)} digests "
          f"(names and ids as p4c gives them)")
    step("   and run p4c-style STF packet tests on the example router")
    stf = os.path.splitext(ROUTER)[0] + ".stf"
    return run([sluice, "stf", ROUTER, stf]).returncode == 0


class Lab:
    """One embedded switch with in-process ports 1-5, its P4Runtime and admin servers."""

    def __init__(self) -> None:
        from softswitch.admin import AdminServer
        from softswitch.p4runtime.server import P4RuntimeServer
        from softswitch.ports import InProcessPort, PortSet
        from softswitch.runtime import SwitchRuntime

        self.ports = PortSet()
        self.port = {n: self.ports.add(InProcessPort(n)) for n in (1, 2, 3, 4, 5)}
        self.rt = SwitchRuntime(self.ports, device_id=0, cpu_port=255, priority_queues=8)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0")
        self.server.start()
        self.rt.start()
        self.admin = AdminServer(self.rt, "127.0.0.1:0")
        self.admin.start()
        self.p4rt_addr = f"127.0.0.1:{self.server.port}"
        self.admin_addr = f"127.0.0.1:{self.admin.port}"

    def close(self) -> None:
        self.admin.stop()
        self.server.stop(grace=0.2)
        self.rt.stop()


def topology(lab: Lab) -> Any:
    from controlplane.topology import parse_topology

    hosts = [{"name": n, "switch": "s1", **h} for n, h in HOSTS.items()]
    hosts[0]["role"] = "memory_client"
    hosts.append({"name": "mem1", "mac": "02:00:00:00:00:05", "ipv6": "2001:db8:2::5",
                  "switch": "s1", "port": 5, "role": "memory_server", "subid": 0x2001})
    return parse_topology({
        "program": SLUICE_P4,
        "switches": [{"name": "s1", "p4runtime": lab.p4rt_addr, "admin": lab.admin_addr,
                      "mac": SWITCH_MAC, "ports": [1, 2, 3, 4, 5], "cpu_port": 255}],
        "hosts": hosts,
        "links": [],
    }, "<demo topology>")


def udp(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    s, d = HOSTS[src], HOSTS[dst]
    return bytes(Ether(src=s["mac"], dst=SWITCH_MAC) / IP(src=s["ipv4"], dst=d["ipv4"])
                 / UDP(sport=sport, dport=dport) / seq.to_bytes(4, "big") / (b"\x00" * 60))


def is_flow_packet(frame: bytes, dport: int) -> bool:
    """An IPv4/UDP frame to ``dport`` (Ethernet 14 + IPv4 20 bytes, then the UDP header)."""
    return (frame[12:14] == b"\x08\x00" and frame[23] == 17
            and int.from_bytes(frame[36:38], "big") == dport)


def wait_for(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def traffic(lab: Lab, ctl: Any) -> dict[str, dict[str, Any]]:
    """Two paced senders that obey PAUSE/RESUME; returns per-flow counts."""
    from scapy.layers.l2 import Ether

    from controlplane.protocol import MsgType, Sluice

    flows = {
        "A h1->fast": {"src": "h1", "dst": "fast", "sport": 40001, "dport": 5001},
        "B h2->slow": {"src": "h2", "dst": "slow", "sport": 40002, "dport": 5002},
    }
    for f in flows.values():
        f.update(sent=0, delivered=0, pauses=0, resumes=0, paused=False, paused_s=0.0)
    # The first packet of each flow: the switch reports the new flow, the controller places it.
    for f in flows.values():
        lab.port[HOSTS[f["src"]]["port"]].inject(udp(f["src"], f["dst"], f["sport"], f["dport"], 0))
        f["sent"] = 1
    wait_for(lambda: len([x for x in ctl.flows() if x.get("installed")]) >= 2, 10,
             "the controller to place both flows")
    start = time.monotonic()
    gap = 1 / 2000  # each sender offers 2000 packets/s, five times what the slow port drains
    deadline = start + 30
    while time.monotonic() < deadline:
        for f in flows.values():
            host_port = lab.port[HOSTS[f["src"]]["port"]]
            for frame in host_port.take_sent():
                pkt = Ether(frame)
                if Sluice in pkt:
                    kind = pkt[Sluice].msg_type
                    if kind == MsgType.PAUSE:
                        f["pauses"] += 1
                        f["paused"], f["paused_at"] = True, time.monotonic()
                    elif kind == MsgType.RESUME:
                        f["resumes"] += 1
                        if f["paused"]:
                            f["paused_s"] += time.monotonic() - f["paused_at"]
                        f["paused"] = False
            if not f["paused"] and f["sent"] < PACKETS:
                host_port.inject(udp(f["src"], f["dst"], f["sport"], f["dport"], f["sent"]))
                f["sent"] += 1
            rx = lab.port[HOSTS[f["dst"]]["port"]]
            f["delivered"] += sum(1 for fr in rx.take_sent() if is_flow_packet(fr, f["dport"]))
            if f["delivered"] >= PACKETS and not f.get("done"):
                f["done"] = time.monotonic() - start
        if all(f.get("done") for f in flows.values()):
            break
        time.sleep(gap)
    return flows


def main() -> int:
    sluice = os.path.join(os.path.dirname(sys.executable), "sluice")
    if not compile_and_stf(sluice):
        print("demo: step 1 failed")
        return 1

    from controlplane.controller import Controller
    from controlplane.policy import parse_policy
    from controlplane.protocol import BB_UDP_PORT, BBCommand, BlueBridge, bb_addr

    step("2. start an embedded switch: P4Runtime and admin servers on 127.0.0.1, 5 ports")
    lab = Lab()
    print(f"switch s1: P4Runtime {lab.p4rt_addr}, admin {lab.admin_addr}, 8 queues per port")
    state = tempfile.mkdtemp(prefix="sluice-demo-")
    ctl = None
    try:
        step("3. start the controller: pipeline, routes, clone sessions, queue classes")
        ctl = Controller(topology(lab), parse_policy(POLICY, "<demo policy>"), state)
        ctl.start()
        st = ctl.status()["switches"]["s1"]
        print(f"controller: s1 connected={st['connected']} primary={st['primary']}")
        driver = ctl.switches["s1"].driver  # the target driver the controller uses
        driver.set_queue_rate(HOSTS["slow"]["port"], None, SLOW_PPS)
        print(f"the slow receiver's port {HOSTS['slow']['port']} drains {SLOW_PPS} packets/s; "
              "both senders offer 2000 packets/s")

        step(f"4. traffic: {PACKETS} packets per flow; senders obey PAUSE/RESUME")
        flows = traffic(lab, ctl)
        placed = {(x["sport"]): x for x in ctl.flows() if x.get("installed")}
        print(f"{'flow':12} {'queue':>5} {'sent':>5} {'delivered':>9} {'lost':>4} "
              f"{'PAUSE':>5} {'RESUME':>6} {'paused':>7} {'time':>6}  reason")
        for name, f in flows.items():
            p = placed.get(f["sport"], {})
            print(f"{name:12} {p.get('queue', '?'):>5} {f['sent']:>5} {f['delivered']:>9} "
                  f"{f['sent'] - f['delivered']:>4} {f['pauses']:>5} {f['resumes']:>6} "
                  f"{f['paused_s']:>6.2f}s {f.get('done', float('nan')):>5.2f}s  "
                  f"{p.get('reason', '')}")
        a, b = flows["A h1->fast"], flows["B h2->slow"]
        ok = (a["pauses"] == 0 and b["pauses"] >= 1 and b["resumes"] == b["pauses"]
              and a["delivered"] == a["sent"] and b["delivered"] == b["sent"])
        print("=> only the slow receiver's sender was paused, and nothing was lost"
              if ok else "=> unexpected result (see the table)")

        step("5. remote memory: a stranger's READ is dropped and logged")
        from scapy.layers.inet import UDP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.l2 import Ether

        stranger = bytes(Ether(src=HOSTS["h2"]["mac"], dst=SWITCH_MAC)
                         / IPv6(src=HOSTS["h2"]["ipv6"],
                                dst=bb_addr(0x2001, BBCommand.READ, 0, 0x1000))
                         / UDP(sport=40000, dport=BB_UDP_PORT) / BlueBridge(seq=7))
        lab.port[HOSTS["h2"]["port"]].inject(stranger)
        v = wait_for(ctl.violations, 5, "the violation report")[-1]
        print(f"controller's violation log: client {v['client']} {v['cmd']} {v['paddr']:#x} on "
              f"server {v['subid']:#x} refused ({v['reason']}), never forwarded to the server: "
              f"{not lab.port[5].take_sent()}")
        step("done: make test checks all of this and more (PTF suites over veth, the controller end to end)")
        return 0 if ok else 1
    finally:
        if ctl is not None:
            ctl.stop()
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
