"""The vocabulary of ``p4src/sluice.p4`` for its PTF suite: ports, routes, ACL, flows, queue
classes, doorbells, memory grants, digests, registers and queue rates.

The topology and the packets are in :mod:`ptf_tests.sluice.packets`.

Everything goes through P4Runtime, except queue rates, which P4Runtime does not cover: those go
through the target's driver (:func:`controlplane.p4rt.drivers.make_driver`), so the same tests
run on BMv2 (``simple_switch_CLI``). Tests that need the data-plane queue pause extern, which
only the embedded target has, are in the PTF group ``queue_pause`` and skip themselves on other
targets (or leave them out with ``ptf ... ^queue_pause``).

State that outlives a test on the switch (registers, counters) is handled so tests do not see
each other: a test resets the register cells it relies on (those writes are undone too) and
checks counters as differences.
"""

from __future__ import annotations

import time
from typing import Any

from ptf import testutils as tu
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from controlplane.p4rt import CloneSession, DigestEntry, RegisterEntry, Update, UpdateType
from controlplane.p4rt.drivers import TargetDriver, make_driver
from controlplane.protocol import (
    FlowKey,
    MemEventDigest,
    MemViolationDigest,
    NewFlowDigest,
    client_index,
    control_session,
    flow_dedup_index,
    lease_index,
)
from ptf_tests.base_test import P4RuntimeTest
from ptf_tests.sluice.packets import (
    CLIENT_GW_MAC,
    CLIENT_NET6,
    CLIENT_PORT,
    HOST_R,
    MEM_SUBID,
    OTHER_MAC,
    PORTS,
    RECV_PORT,
    ROUTER_MAC,
    SERVER_MAC,
    SERVER_PORT,
    SWITCH_MAC,
    same_frame,
)

IG = "SluiceIngress."
EG = "SluiceEgress."

ALL_ONES_128 = (1 << 128) - 1

DIGEST_TYPES = {
    "new_flow_digest_t": NewFlowDigest,
    "mem_event_digest_t": MemEventDigest,
    "mem_violation_digest_t": MemViolationDigest,
}

_driver: TargetDriver | None = None


def _get_driver(target: str, admin_addr: str, thrift_port: int) -> TargetDriver:
    """The run's one driver connection (made on first use)."""
    global _driver
    if _driver is None:
        if target == "bmv2":
            _driver = make_driver("bmv2", thrift_port=thrift_port)
        else:
            _driver = make_driver(target, address=admin_addr)
    return _driver


class SluiceTest(P4RuntimeTest):
    """Connects, pushes sluice.p4, and speaks its language; tests compose these helpers."""

    def setUp(self) -> None:
        super().setUp()
        self.client.digest_lists.clear()
        param = tu.test_param_get
        self.target = str(param("target", "softswitch"))
        self._admin_addr = str(param("admin_addr", "127.0.0.1:9090"))
        self._thrift_port = int(param("thrift_port", 9090))
        self._rates: set[tuple[int, int]] = set()
        self._digests: dict[str, list[Any]] = {name: [] for name in DIGEST_TYPES}

    def tearDown(self) -> None:
        try:
            if self._rates:
                drv = self.driver()
                for port, qid in sorted(self._rates):
                    drv.set_queue_rate(port, qid, 0)
                self._rates.clear()
            # packets a failed test left queued must not reach the next test
            time.sleep(0.05)
            self.dataplane.flush()
        finally:
            super().tearDown()

    # -- target --------------------------------------------------------------------------------

    def driver(self) -> TargetDriver:
        """The target's driver (queue rates), from the test params ``target``, ``admin_addr``
        and ``thrift_port``."""
        return _get_driver(self.target, self._admin_addr, self._thrift_port)

    def set_queue_rate(self, port: int, qid: int, pps: int) -> None:
        """Drain queue ``qid`` of ``port`` at ``pps`` packets/s (reset to unlimited after the
        test)."""
        self.driver().set_queue_rate(port, qid, pps)
        self._rates.add((port, qid))

    def require_queue_pause(self) -> None:
        """Skip unless the target has the data-plane queue pause (the embedded target)."""
        if self.target != "softswitch":
            self.skipTest(f"needs the queue pause extern, which {self.target} lacks")

    # -- ports and control frames -------------------------------------------------------------

    def setup_port(self, port: int) -> None:
        """Clone session ``CTRL_SESSION_BASE + port`` to ``port`` alone: how control frames
        (PAUSE, RESUME, DOORBELL) leave by that port."""
        self.write(Update(UpdateType.INSERT, CloneSession(control_session(port), [port])))

    def setup_ports(self, *ports: int) -> None:
        """:meth:`setup_port` for each of ``ports`` (default: all), and the switch's MAC."""
        for port in ports or PORTS:
            self.setup_port(port)
        self.write_register("switch_mac", 0, SWITCH_MAC)

    # -- forwarding ----------------------------------------------------------------------------

    def add_l2_entry(self, mac: str, port: int) -> Any:
        """Frames to ``mac`` leave by ``port`` untouched."""
        return self.insert_table_entry(
            IG + "forwarding.l2", {"eth_dst": mac}, IG + "forwarding.l2_forward", {"port": port}
        )

    def add_router_mac(self, mac: str = ROUTER_MAC) -> Any:
        """Frames to ``mac`` are routed (IPv4/IPv6 longest prefix)."""
        return self.insert_table_entry(
            IG + "forwarding.l2", {"eth_dst": mac}, IG + "forwarding.l2_to_router"
        )

    def add_forwarding_routing_v4_entry(
        self, prefix: str, port: int, dmac: str, smac: str = ROUTER_MAC
    ) -> Any:
        """Route IPv4 ``prefix`` to ``port``, rewriting the MACs."""
        return self.insert_table_entry(
            IG + "forwarding.routes_v4",
            {"ipv4_dst": prefix},
            IG + "forwarding.set_next_hop",
            {"port": port, "dmac": dmac, "smac": smac},
        )

    def add_forwarding_routing_v6_entry(
        self, prefix: str, port: int, dmac: str, smac: str = ROUTER_MAC
    ) -> Any:
        """Route IPv6 ``prefix`` to ``port``, rewriting the MACs."""
        return self.insert_table_entry(
            IG + "forwarding.routes_v6",
            {"ipv6_dst": prefix},
            IG + "forwarding.set_next_hop",
            {"port": port, "dmac": dmac, "smac": smac},
        )

    def setup_router(self) -> None:
        """The topology of the module docstring: router MAC, the receiver's L2 entry and the
        v4/v6 routes to the receiver, the memory clients and the server's port."""
        self.add_router_mac()
        self.add_l2_entry(HOST_R, RECV_PORT)
        self.add_forwarding_routing_v4_entry("198.51.100.0/24", RECV_PORT, HOST_R)
        self.add_forwarding_routing_v6_entry("2001:db8:2::/48", RECV_PORT, HOST_R)
        self.add_forwarding_routing_v4_entry("203.0.113.0/24", SERVER_PORT, OTHER_MAC)
        self.add_forwarding_routing_v6_entry(CLIENT_NET6, CLIENT_PORT, CLIENT_GW_MAC)

    # -- ACL -----------------------------------------------------------------------------------

    def add_acl_entry(self, action: str, priority: int = 10, **fields: Any) -> Any:
        """An ACL entry (``action``: ``permit``, ``drop`` or ``punt``) matching ``fields`` by
        key name: a value (all bits) or ``(value, mask)``. IP addresses are the flow key's
        (IPv4 zero-extended to 128 bits)."""
        match = {}
        for name, value in fields.items():
            if not isinstance(value, tuple):
                width = self.schema.tables[IG + "acl.acl"].match_fields[name].bitwidth
                value = (value, (1 << width) - 1)
            match[name] = value
        return self.insert_table_entry(
            IG + "acl.acl", match, IG + f"acl.acl_{action}", priority=priority
        )

    # -- admission -----------------------------------------------------------------------------

    def add_flow_entry(self, flow: Packet | FlowKey, qid: int, slot: int) -> Any:
        """Give ``flow`` (a packet of it, or its key) queue ``qid`` and flow slot ``slot``;
        the slot's per-flow registers are reset first."""
        key = flow if isinstance(flow, FlowKey) else FlowKey.of(flow)
        self.reset_flow_slot(slot)
        v, src, dst, proto, sport, dport = key.table_key()
        return self.insert_table_entry(
            IG + "flow.flows",
            {
                "ip_version": v,
                "ip_src": src,
                "ip_dst": dst,
                "ip_proto": proto,
                "l4_sport": sport,
                "l4_dport": dport,
            },
            IG + "flow.set_flow",
            {"qid": qid, "slot": slot},
        )

    def reset_flow_slot(self, slot: int) -> None:
        """Zero the per-flow registers of ``slot`` (occupancy, pause mark, ports, MAC)."""
        for reg in (
            "flow_occ_pkts",
            "flow_occ_bytes",
            "flow_paused",
            "flow_in_port",
            "flow_out_port",
            "flow_src_mac",
        ):
            self.write_register(reg, slot, 0)

    def clear_flow_dedup(self, flow: Packet | FlowKey) -> int:
        """Clear ``flow``'s new-flow digest bit (as the controller does); its index."""
        key = flow if isinstance(flow, FlowKey) else FlowKey.of(flow)
        index = flow_dedup_index(key)
        self.write_register(IG + "admission.flow_dedup", index, 0)
        return index

    def set_queue_class(self, qid: int, high: int, low: int, cap: int) -> Any:
        """Watermarks (packets) of the flows on queue ``qid``."""
        return self.insert_table_entry(
            IG + "admission.queue_classes",
            {"qid": qid},
            IG + "admission.set_watermarks",
            {"high_pkts": high, "low_pkts": low, "cap_pkts": cap},
        )

    # -- doorbells -----------------------------------------------------------------------------

    def enable_doorbells(self, port: int, every: int, interval_us: int) -> Any:
        """Doorbells for ``port``: one per (port, queue) per ``every`` packets or
        ``interval_us`` microseconds."""
        return self.insert_table_entry(
            EG + "doorbell.doorbell_ports",
            {"egress_port": port},
            EG + "doorbell.doorbell_enable",
            {"every": every, "interval": interval_us},
        )

    def reset_doorbell(self, port: int, qid: int) -> None:
        """Forget the doorbell state of (``port``, ``qid``): the next packet rings at once."""
        index = port * 8 + qid
        self.write_register(EG + "doorbell.doorbell_count", index, 0)
        self.write_register(EG + "doorbell.doorbell_next", index, 0)

    # -- memory guard --------------------------------------------------------------------------

    def add_mem_server(
        self, subid: int, port: int, dmac: str = SERVER_MAC, smac: str = ROUTER_MAC
    ) -> Any:
        """Memory server ``subid`` sits behind ``port`` at ``dmac``."""
        return self.insert_table_entry(
            IG + "memguard.mem_servers",
            {"subid": subid},
            IG + "memguard.mem_server",
            {"port": port, "dmac": dmac, "smac": smac},
        )

    def grant_memory(
        self, client: str, lo: int, hi: int, perms: int, subid: int = MEM_SUBID, priority: int = 10
    ) -> Any:
        """Give ``client`` permissions ``perms`` (``Perm`` bits) on [``lo``, ``hi``] of
        server ``subid``."""
        return self.insert_table_entry(
            IG + "memguard.mem_acl",
            {"client": (client, ALL_ONES_128), "subid": subid, "paddr": (lo, hi)},
            IG + "memguard.mem_grant",
            {"perms": perms},
            priority=priority,
        )

    def allow_alloc(self, client: str, subid: int | None = None, priority: int = 10) -> Any:
        """Let ``client`` allocate on server ``subid`` (None: any server)."""
        match: dict[str, Any] = {"client": (client, ALL_ONES_128)}
        if subid is not None:
            match["subid"] = (subid, 0xFFFF)
        return self.insert_table_entry(
            IG + "memguard.mem_alloc_acl",
            match,
            IG + "memguard.mem_allow_alloc",
            priority=priority,
        )

    def set_mem_config(self, lease_us: int = 0, report_us: int = 0) -> None:
        """Write-lease length and violation report interval (0: the program's defaults)."""
        self.write_register(IG + "memguard.mem_config", 0, lease_us)
        self.write_register(IG + "memguard.mem_config", 1, report_us)

    def reset_mem_client(self, client: str) -> int:
        """Let ``client``'s next violation be reported at once; its ``mem_violations`` cell."""
        cell = client_index(client)
        self.write_register(IG + "memguard.mem_report_next", cell, 0)
        return cell

    def revoke_lease(self, subid: int, paddr: int) -> int:
        """End the write lease of the page holding ``paddr`` (as the controller does); its
        cell."""
        cell = lease_index(subid, paddr)
        self.write_register(IG + "memguard.mem_lease_expiry", cell, 0)
        return cell

    def mem_violations(self, client: str) -> tuple[int, int]:
        """``(packets, bytes)`` refused for ``client``."""
        return self.read_counter(IG + "memguard.mem_violations", client_index(client))

    # -- registers and counters ----------------------------------------------------------------

    def write_register(self, name: str, index: int, value: Any) -> None:
        """Set cell ``index`` of register ``name`` (restored after the test)."""
        self.write(Update(UpdateType.MODIFY, RegisterEntry(name, index, value)))

    def read_register(self, name: str, index: int) -> int:
        """Cell ``index`` of register ``name``."""
        (got,) = list(self.client.read(RegisterEntry(name, index)))
        return int(got.value)

    def counter_delta(self, name: str, index: int) -> Any:
        """A function returning how much cell ``index`` of counter ``name`` grew since now."""
        p0, b0 = self.read_counter(name, index)

        def delta() -> tuple[int, int]:
            p, b = self.read_counter(name, index)
            return p - p0, b - b0

        return delta

    def wait_for_delta(self, delta: Any, expected: tuple[int, int], timeout: float = 2.0) -> None:
        """Wait for ``delta()`` (from :meth:`counter_delta`) to reach ``expected``; assert."""
        self.assertEqual(self.wait_for_counter(delta, expected, timeout), expected)

    # -- digests -------------------------------------------------------------------------------

    def enable_digest(self, name: str) -> None:
        """Stream digest ``name``: every message in a list of its own, at once, with no ack
        cache, so what reaches the test is exactly what the data plane sent."""
        digest = DigestEntry(name, max_timeout_ns=0, max_list_size=1, ack_timeout_ns=0)
        self.write(Update(UpdateType.INSERT, digest))

    def _pull_digests(self, timeout: float) -> bool:
        try:
            dl = self.client.digest_lists.get(timeout=max(0.0, timeout))
        except TimeoutError:
            return False
        self.client.ack_digest(dl)
        cls = DIGEST_TYPES[dl.digest]
        for data in dl.data:  # a struct, decoded to a dict in member order
            self._digests[dl.digest].append(cls.from_values(list(data.values())))
        return True

    def digests(self, name: str, count: int, timeout: float = 2.0, quiet: float = 0.5) -> list:
        """Wait for ``count`` messages of digest ``name``, then ``quiet`` seconds for any more;
        all of them (decoded: :mod:`controlplane.protocol` dataclasses), consumed."""
        deadline = time.monotonic() + timeout
        while len(self._digests[name]) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self._pull_digests(left):
                break
        while self._pull_digests(quiet):
            pass
        got, self._digests[name] = self._digests[name], []
        self.assertEqual(len(got), count, f"{name}: expected {count} digests, got {got}")
        return got

    # -- traffic -------------------------------------------------------------------------------

    def send(self, port: int, *pkts: Packet) -> None:
        """Send ``pkts`` from PTF port ``port``, in order."""
        for pkt in pkts:
            tu.send_packet(self, port, pkt)

    def collect(
        self, quiet: float = 0.5, *, count: int = 0, timeout: float = 15.0
    ) -> list[tuple[int, bytes]]:
        """Every frame reaching the PTF ports, in arrival order: wait (up to ``timeout``
        seconds) for at least ``count`` of them, then until none came for ``quiet`` seconds.
        ``[(port, bytes)]``."""
        out: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = min(left, quiet) if len(out) >= count else left
            res = tu.dp_poll(self, device_number=0, timeout=wait)
            if not isinstance(res, self.dataplane.PollSuccess):
                if len(out) >= count:
                    break
                continue
            out.append((res.port, bytes(res.packet)))
        return out

    def expect_frames(self, expected: list[tuple[int, Any]], quiet: float = 0.3) -> None:
        """Exactly ``expected`` (``(port, packet)`` pairs) reaches the PTF ports: in this order
        on each port (the order between ports is the capture threads', not the switch's).
        Waits up to 3 s for them, then ``quiet`` seconds for any extra."""
        got = self.collect(quiet=quiet, count=len(expected), timeout=3.0)
        summary = ", ".join(f"port {p}: {Ether(d).summary()}" for p, d in got)
        self.assertEqual(
            sorted(p for p, _ in got),
            sorted(p for p, _ in expected),
            f"expected {len(expected)} frames, got {len(got)}: {summary}",
        )
        for port in {p for p, _ in expected}:
            mine = [d for p, d in got if p == port]
            want = [e for p, e in expected if p == port]
            for data, exp in zip(mine, want, strict=True):
                self.assertTrue(
                    same_frame(exp, data),
                    f"on port {port}:\n got {Ether(data)!r}\nwant {Ether(bytes(exp))!r}",
                )

    def expect_nothing(self, quiet: float = 0.3) -> None:
        """No frame reaches any PTF port for ``quiet`` seconds."""
        self.expect_frames([], quiet=quiet)
