"""The router: everything static a switch needs, from the topology and the policy.

Per switch: L2 (the switch's router MAC -> route; each attached host's MAC -> its port), IPv4
and IPv6 host routes (/32, /128) to every host (attached: its port and MAC; elsewhere: the first
hop of the shortest path over the links and the neighbour's router MAC), memory servers by subid
(``mem_servers``, the same way), one clone session ``CTRL_SESSION_BASE + p`` per port (CPU port
included) for PAUSE, RESUME and DOORBELL frames, the queue classes' watermarks, doorbells on
ports of hosts that asked for them, ``switch_mac`` and the memory guard's timers
(``mem_config``), and the digest configurations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..p4rt import CloneSession, DigestEntry, RegisterEntry, TableEntry
from ..protocol import control_session
from .base import App

if TYPE_CHECKING:
    from ..controller import SwitchHandle

__all__ = ["RouterApp"]

IG = "SluiceIngress."
EG = "SluiceEgress."
DIGESTS = ("new_flow_digest_t", "mem_event_digest_t", "mem_violation_digest_t")


class RouterApp(App):
    """Static state (see the module docstring)."""

    name = "router"
    tables = (
        IG + "forwarding.l2",
        IG + "forwarding.routes_v4",
        IG + "forwarding.routes_v6",
        IG + "memguard.mem_servers",
        IG + "admission.queue_classes",
        EG + "doorbell.doorbell_ports",
    )

    def desired(self, sw: SwitchHandle) -> list[Any]:
        topo, spec = self.ctl.topo, sw.spec
        out: list[Any] = [
            TableEntry(IG + "forwarding.l2", {"eth_dst": spec.mac}, IG + "forwarding.l2_to_router")
        ]
        for h in topo.hosts_on(spec.name):
            out.append(TableEntry(IG + "forwarding.l2", {"eth_dst": h.mac},
                                  IG + "forwarding.l2_forward", {"port": h.port}))
        for h in topo.hosts.values():
            hop = topo.egress(spec.name, h)
            if hop is None:
                continue
            port, dmac = hop
            nh = {"port": port, "dmac": dmac, "smac": spec.mac}
            if h.ipv4:
                out.append(TableEntry(IG + "forwarding.routes_v4", {"ipv4_dst": f"{h.ipv4}/32"},
                                      IG + "forwarding.set_next_hop", dict(nh)))
            if h.ipv6:
                out.append(TableEntry(IG + "forwarding.routes_v6", {"ipv6_dst": f"{h.ipv6}/128"},
                                      IG + "forwarding.set_next_hop", dict(nh)))
            if h.is_memory_server:
                out.append(TableEntry(IG + "memguard.mem_servers", {"subid": h.subid},
                                      IG + "memguard.mem_server", dict(nh)))
        for cls in self.ctl.policy.classes.values():
            for q in cls.queues:
                out.append(TableEntry(
                    IG + "admission.queue_classes", {"qid": q}, IG + "admission.set_watermarks",
                    {"high_pkts": cls.high_water, "low_pkts": cls.low_water,
                     "cap_pkts": cls.cap}))
        for h in topo.hosts_on(spec.name):
            if h.doorbell:
                out.append(TableEntry(EG + "doorbell.doorbell_ports", {"egress_port": h.port},
                                      EG + "doorbell.doorbell_enable",
                                      {"every": topo.doorbell_every,
                                       "interval": topo.doorbell_interval_us}))
        for p in (*spec.ports, spec.cpu_port):
            out.append(CloneSession(control_session(p), [p]))
        return out

    def configure(self, sw: SwitchHandle) -> None:
        conn, pol = sw.conn, self.ctl.policy
        conn.modify([
            RegisterEntry("switch_mac", 0, sw.spec.mac),
            RegisterEntry(IG + "memguard.mem_config", 0, pol.lease_us),
            RegisterEntry(IG + "memguard.mem_config", 1, pol.report_us),
        ])
        # digests: as they come (no batching delay), acknowledged by the controller
        entries = [DigestEntry(d, max_timeout_ns=0, max_list_size=1,
                               ack_timeout_ns=1_000_000_000) for d in DIGESTS]
        have = {d.digest for d in conn.read(DigestEntry())}
        new = [e for e in entries if e.digest not in have]
        old = [e for e in entries if e.digest in have]
        if new:
            conn.insert(new)
        if old:
            conn.modify(old)
