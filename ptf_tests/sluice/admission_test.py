"""Per-flow queue admission (``p4src/include/control/admission.p4``, ``flow.p4``): one digest
per new flow, however long its burst; an installed flow leaves by its own queue; the hard cap
drops and counts, per flow.

Queue rates are set through the target's driver. The rates are low (a few packets per second)
so that what the clock decides is far from what scheduling noise on a busy machine can move:
every timing margin below is at least 150 ms.
"""

from __future__ import annotations

import time

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane.protocol import FlowKey, flow_dedup_index
from ptf_tests.sluice.packets import (
    HOST_A_PORT,
    HOST_B,
    HOST_B_IP,
    HOST_B_PORT,
    HOST_R,
    RECV_PORT,
    routed,
    tcp6,
    udp4,
)
from ptf_tests.sluice.sluice_base import IG, SluiceTest

NEW_FLOW = "new_flow_digest_t"
CAP_DROPS = IG + "admission.flow_cap_drops"


class NewFlowBurstYieldsOneDigest(SluiceTest):
    """Eight packets of a new flow: all forwarded through the default queue, one digest naming
    the flow, its ingress port, its dedup bit and its DSCP. Clearing the bit re-arms it; an
    installed flow raises none. An IPv6 TCP flow gets its own digest."""

    def runTest(self) -> None:
        self.setup_router()
        self.enable_digest(NEW_FLOW)
        pkt = udp4(sport=41001)
        flow = FlowKey.of(pkt)
        self.clear_flow_dedup(flow)
        self.send(HOST_A_PORT, *[pkt] * 8)
        self.expect_frames([(RECV_PORT, routed(pkt, HOST_R))] * 8)
        (d,) = self.digests(NEW_FLOW, 1)
        self.assertEqual(d.flow(), flow)
        self.assertEqual(d.ingress_port, HOST_A_PORT)
        self.assertEqual(d.dedup_index, flow_dedup_index(flow))
        self.assertEqual(d.dscp, 0)

        v6 = tcp6(sport=41002)
        v6[IPv6].tc = 0xB9  # DSCP 46, ECN 01: the digest carries the DSCP only
        self.clear_flow_dedup(v6)
        self.send(HOST_A_PORT, v6, v6, v6)
        self.expect_frames([(RECV_PORT, routed(v6, HOST_R))] * 3)
        (d6,) = self.digests(NEW_FLOW, 1)
        self.assertEqual((d6.flow(), d6.ip_version, d6.protocol), (FlowKey.of(v6), 6, 6))
        self.assertEqual(d6.dscp, 46)

        # the controller declines the flow but wants to hear again: it clears the bit
        self.write_register(IG + "admission.flow_dedup", d.dedup_index, 0)
        self.send(HOST_A_PORT, *[pkt] * 3)
        self.expect_frames([(RECV_PORT, routed(pkt, HOST_R))] * 3)
        self.assertEqual(len(self.digests(NEW_FLOW, 1)), 1)
        # once installed, the flow is no longer new
        self.add_flow_entry(pkt, qid=3, slot=101)
        self.write_register(IG + "admission.flow_dedup", d.dedup_index, 0)
        self.send(HOST_A_PORT, *[pkt] * 3)
        self.expect_frames([(RECV_PORT, routed(pkt, HOST_R))] * 3)
        self.digests(NEW_FLOW, 0)


class InstalledFlowUsesItsQueue(SluiceTest):
    """Two flows from two hosts to the receiver, on queues 5 (3 packets/s) and 2 (unlimited).
    Five packets of the slow flow go first, five of the fast one right behind: the fast ones
    all leave before the slow flow's third, although queue 5 has the higher priority: each
    flow is in the queue its entry names. Without their entries both would share queue 0, in
    arrival order. Occupancy goes back to zero once they have all left."""

    def runTest(self) -> None:
        self.setup_router()
        slow = udp4(sport=42001)
        fast = udp4(src=HOST_B_IP, sport=42002, smac=HOST_B)
        self.add_flow_entry(slow, qid=5, slot=102)
        self.add_flow_entry(fast, qid=2, slot=103)
        self.set_queue_rate(RECV_PORT, 5, 3)
        self.send(HOST_A_PORT, *[slow] * 5)
        self.send(HOST_B_PORT, *[fast] * 5)
        got = self.collect(quiet=0.5, count=10, timeout=5.0)
        order = [Ether(d)[UDP].sport for p, d in got if p == RECV_PORT]
        self.assertEqual(sorted(order), [42001] * 5 + [42002] * 5, order)
        third_slow = [i for i, s in enumerate(order) if s == 42001][2]
        last_fast = max(i for i, s in enumerate(order) if s == 42002)
        self.assertLess(last_fast, third_slow, f"departure order {order}")
        for slot in (102, 103):
            self.assertEqual(self.read_register("flow_occ_pkts", slot), 0)
            self.assertEqual(self.read_register("flow_occ_bytes", slot), 0)


class HardCapDropsAndCounts(SluiceTest):
    """Cap 3 on queue 4, drained at 2 packets/s after a warm-up packet took the queue's
    immediate slot: of six packets of flow A sent at once, three are admitted and three are
    dropped and counted at A's slot; flow B, sharing the queue, sends three and loses none
    (the cap is per flow). High water is out of reach: no PAUSE. Then the queue is opened up
    and the six admitted packets leave."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        a = udp4(sport=43001)
        b = udp4(src=HOST_B_IP, sport=43002, smac=HOST_B)
        warm = udp4(sport=43003)
        self.add_flow_entry(a, qid=4, slot=104)
        self.add_flow_entry(b, qid=4, slot=105)
        self.add_flow_entry(warm, qid=4, slot=106)
        self.set_queue_class(4, high=100, low=50, cap=3)
        drops_a, drops_b = self.counter_delta(CAP_DROPS, 104), self.counter_delta(CAP_DROPS, 105)
        self.set_queue_rate(RECV_PORT, 4, 2)
        t0 = time.monotonic()
        self.send(HOST_A_PORT, warm, *[a] * 6)
        self.send(HOST_B_PORT, *[b] * 3)
        # nothing but the warm-up may leave before 500 ms: all ten must be in by then
        self.assertLess(time.monotonic() - t0, 0.3, "sending took too long to be meaningful")
        self.wait_for_delta(drops_a, (3, 3 * len(a)))
        self.set_queue_rate(RECV_PORT, 4, 0)
        got = self.collect(quiet=0.5, count=7, timeout=5.0)
        self.assertEqual({p for p, _ in got}, {RECV_PORT}, "no control frames")
        sports = [Ether(d)[UDP].sport for _, d in got]
        self.assertEqual(sorted(sports), [43001] * 3 + [43002] * 3 + [43003], sports)
        self.assertEqual(drops_a(), (3, 3 * len(a)))
        self.assertEqual(drops_b(), (0, 0))
