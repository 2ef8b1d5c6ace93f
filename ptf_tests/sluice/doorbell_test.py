"""Doorbells (``p4src/include/control/doorbell.p4``): at most one DOORBELL per (port, queue)
per N packets or T microseconds, carrying the queue and the count since the previous one,
right behind the packet that rang it, to that packet's destination."""

from __future__ import annotations

import time

from scapy.layers.l2 import Ether

from ptf_tests.sluice.packets import (
    HOST_A_PORT,
    HOST_R,
    OTHER_MAC,
    RECV_PORT,
    SERVER_PORT,
    doorbell_frame,
    is_sluice,
    routed,
    same_frame,
    udp4,
)
from ptf_tests.sluice.sluice_base import EG, SluiceTest

DOORBELLS_SENT = EG + "doorbell_frame.doorbells_sent"


class CoalescedByCount(SluiceTest):
    """N = 4, T = 10 s: ten packets ring three times: at once (count 1, the queue was quiet),
    then every fourth packet (count 4, 4); the tenth waits for the next ring. Each DOORBELL
    leaves after the packet that rang it, by the receiver's port, to the receiver's MAC,
    naming the port and the flow's queue. A port without a doorbell entry gets none."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        pkt = udp4(sport=45001)
        self.add_flow_entry(pkt, qid=1, slot=113)
        self.enable_doorbells(RECV_PORT, every=4, interval_us=10_000_000)
        self.reset_doorbell(RECV_PORT, 1)
        sent = self.counter_delta(DOORBELLS_SENT, 0)
        self.send(HOST_A_PORT, *[pkt] * 10)
        exp_data = routed(pkt, HOST_R)
        got = self.collect(quiet=0.5, count=13, timeout=5.0)
        self.assertEqual({p for p, _ in got}, {RECV_PORT})
        bells = [(i, d) for i, (_, d) in enumerate(got) if is_sluice(d)]
        counts = [Ether(d).count for _, d in bells]
        self.assertEqual(counts, [1, 4, 4], [Ether(d).summary() for _, d in got])
        for (i, d), announced in zip(bells, (1, 5, 9), strict=True):
            self.assertTrue(same_frame(doorbell_frame(RECV_PORT, 1, Ether(d).count, HOST_R), d))
            # the clone leaves after the packet that rang it (through queue 0, so later
            # packets of the flow's higher queue may overtake it)
            before = sum(1 for _, x in got[:i] if not is_sluice(x))
            self.assertGreaterEqual(before, announced)
        data = [d for _, d in got if not is_sluice(d)]
        self.assertEqual(len(data), 10)
        self.assertTrue(all(same_frame(exp_data, d) for d in data))
        self.wait_for_delta(sent, (3, 0))
        self.assertEqual(self.read_register(EG + "doorbell.doorbell_count", RECV_PORT * 8 + 1), 1)

        other = udp4(dst="203.0.113.9", sport=45002)
        self.send(HOST_A_PORT, other, other)
        self.expect_frames([(SERVER_PORT, routed(other, OTHER_MAC))] * 2)


class CoalescedByTime(SluiceTest):
    """N = 1000, T = 300 ms: the first packet rings (count 1); two more within T do not; one
    sent after T rings with the count since the last DOORBELL (3)."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        pkt = udp4(sport=45003)
        self.add_flow_entry(pkt, qid=2, slot=114)
        self.enable_doorbells(RECV_PORT, every=1000, interval_us=300_000)
        self.reset_doorbell(RECV_PORT, 2)
        data = (RECV_PORT, routed(pkt, HOST_R))
        t0 = time.monotonic()
        self.send(HOST_A_PORT, pkt, pkt, pkt)
        self.assertLess(time.monotonic() - t0, 0.2, "sending took too long to be meaningful")
        got = self.collect(quiet=0.1, count=4, timeout=3.0)
        bells = [Ether(d) for _, d in got if is_sluice(d)]
        self.assertEqual(len(got), 4, [Ether(d).summary() for _, d in got])
        self.assertEqual(len(bells), 1)
        self.assertEqual(bells[0].count, 1)
        time.sleep(max(0.0, t0 + 0.5 - time.monotonic()))
        self.send(HOST_A_PORT, pkt)
        self.expect_frames([data, (RECV_PORT, doorbell_frame(RECV_PORT, 2, 3, HOST_R))])
