"""Per-flow backpressure (``p4src/include/control/backpressure.p4``, ``admission.p4``): one
PAUSE at the high-water mark and one RESUME below the low-water mark, to the flow's sender
alone; PAUSE and RESUME from downstream relayed towards the flow's source. The test that needs
the switch to hold the flow's queue (the queue pause extern) is in the PTF group
``queue_pause``.

The receiver's queue drains at 10 packets/s (a departure every 100 ms), so which packet
crossed a watermark is decided by the clock, with margins far above scheduling noise.
"""

from __future__ import annotations

from ptf.testutils import group
from scapy.layers.inet import TCP, UDP
from scapy.layers.l2 import Ether

from controlplane.protocol import FlowKey, MsgType, SluiceFlow
from ptf_tests.sluice.packets import (
    HOST_A,
    HOST_A_PORT,
    HOST_B,
    HOST_B_IP,
    HOST_B_PORT,
    HOST_R,
    RECV_PORT,
    downstream_frame,
    flow_frame,
    is_sluice,
    routed,
    same_frame,
    tcp6,
    udp4,
)
from ptf_tests.sluice.sluice_base import EG, IG, SluiceTest

BP_SENT = EG + "backpressure_frame.bp_sent"
BP_RELAYED = IG + "backpressure.bp_relayed"
BP_REJECTED = IG + "backpressure.bp_rejected"


class BackpressureTest(SluiceTest):
    """Helpers of this module."""

    def sent_counters(self) -> tuple:
        """Deltas of bp_sent's PAUSE and RESUME cells."""
        return tuple(self.counter_delta(BP_SENT, t) for t in (MsgType.PAUSE, MsgType.RESUME))

    def learn(self, pkt: Ether) -> None:
        """One packet of ``pkt``'s flow through the switch, so it knows the flow's ports and
        sender MAC."""
        self.send(HOST_A_PORT, pkt)
        self.expect_frames([(RECV_PORT, routed(pkt, HOST_R))], quiet=0.1)


class PauseOnceResumeOnce(BackpressureTest):
    """Flow A (8 packets from host A) and flow B (1 packet from host B) share the receiver's
    queue 3 (high 4, low 2). Exactly one PAUSE, to port 0 and host A's MAC, naming A, while A
    is above high water; exactly one RESUME, same port and MAC, after A's 7th packet left
    (occupancy 1 < 2), before its 8th. B is not paused and nothing goes to its port. A second
    burst (6) pauses and resumes A once more (the hysteresis resets)."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        a = udp4(sport=44001)
        b = udp4(src=HOST_B_IP, sport=44002, smac=HOST_B)
        flow_a = FlowKey.of(a)
        self.add_flow_entry(a, qid=3, slot=107)
        self.add_flow_entry(b, qid=3, slot=108)
        self.set_queue_class(3, high=4, low=2, cap=64)
        self.set_queue_rate(RECV_PORT, 3, 10)
        pauses, resumes = self.sent_counters()
        pause = flow_frame(MsgType.PAUSE, flow_a, HOST_A, 3)
        resume = flow_frame(MsgType.RESUME, flow_a, HOST_A, 3)

        for burst in (8, 6):
            self.send(HOST_A_PORT, *[a] * burst)
            self.send(HOST_B_PORT, b)
            paused = self.wait_for_counter(lambda: self.read_register("flow_paused", 107), 1)
            self.assertEqual(paused, 1)
            self.assertEqual(self.read_register("flow_paused", 108), 0)
            got = self.collect(quiet=0.6, count=burst + 3, timeout=5.0)
            ctrl = [(p, d) for p, d in got if is_sluice(d)]
            self.assertEqual([p for p, _ in ctrl], [HOST_A_PORT, HOST_A_PORT], got)
            self.assertTrue(same_frame(pause, ctrl[0][1]), Ether(ctrl[0][1]))
            self.assertTrue(same_frame(resume, ctrl[1][1]), Ether(ctrl[1][1]))
            self.assertEqual({p for p, _ in got}, {HOST_A_PORT, RECV_PORT})
            data = [Ether(d)[UDP].sport for p, d in got if p == RECV_PORT]
            self.assertEqual(sorted(data), [44001] * burst + [44002], data)
            a_before_resume = [
                Ether(d)[UDP].sport for p, d in got[: got.index(ctrl[1])] if p == RECV_PORT
            ].count(44001)
            self.assertIn(a_before_resume, (burst - 2, burst - 1))
            self.assertEqual(self.read_register("flow_paused", 107), 0)
            self.assertEqual(self.read_register("flow_occ_pkts", 107), 0)
        self.wait_for_delta(pauses, (2, 0))
        self.wait_for_delta(resumes, (2, 0))


class PauseForAnIpv6TcpFlow(BackpressureTest):
    """The same for TCP over IPv6 (high 2, low 1): the PAUSE carries version 6, protocol 6 and
    the full addresses."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        f = tcp6(sport=44003)
        flow = FlowKey.of(f)
        self.add_flow_entry(f, qid=5, slot=110)
        self.set_queue_class(5, high=2, low=1, cap=10)
        self.set_queue_rate(RECV_PORT, 5, 10)
        self.send(HOST_A_PORT, f, f, f)
        got = self.collect(quiet=0.6, count=5, timeout=5.0)
        ctrl = [(p, d) for p, d in got if is_sluice(d)]
        self.assertEqual(len(ctrl), 2, got)
        (p1, d1), (p2, d2) = ctrl
        self.assertEqual((p1, p2), (HOST_A_PORT, HOST_A_PORT))
        self.assertTrue(same_frame(flow_frame(MsgType.PAUSE, flow, HOST_A, 5), d1), Ether(d1))
        self.assertTrue(same_frame(flow_frame(MsgType.RESUME, flow, HOST_A, 5), d2), Ether(d2))
        self.assertEqual(Ether(d1)[SluiceFlow].ip_version, 6)
        self.assertEqual([Ether(d)[TCP].sport for p, d in got if p == RECV_PORT], [44003] * 3)


class PauseRelay(BackpressureTest):
    """A PAUSE and a RESUME for a known flow, from the port the flow leaves by, are relayed to
    the flow's sender: out of its ingress port, to its MAC, from the switch's MAC, RELAYED set,
    hops + 1, qid rewritten to this switch's queue; counted in bp_relayed. The same PAUSE from
    another port is dropped and counted in bp_rejected; one for an unknown flow is not
    relayed."""

    def runTest(self) -> None:
        self.setup_router()
        self.setup_ports()
        a = udp4(sport=44004)
        flow = FlowKey.of(a)
        self.add_flow_entry(a, qid=2, slot=111)
        self.learn(a)
        relayed = self.counter_delta(BP_RELAYED, MsgType.PAUSE)
        relayed_r = self.counter_delta(BP_RELAYED, MsgType.RESUME)
        rejected = self.counter_delta(BP_REJECTED, MsgType.PAUSE)

        forged = downstream_frame(MsgType.PAUSE, flow, src=HOST_B)
        self.send(HOST_B_PORT, forged)
        self.expect_nothing()
        self.wait_for_delta(rejected, (1, 0))

        stranger = FlowKey(4, 17, "192.0.2.77", "198.51.100.7", 1, 2)
        self.send(RECV_PORT, downstream_frame(MsgType.PAUSE, stranger))
        self.expect_nothing()

        for msg_type, delta in ((MsgType.PAUSE, relayed), (MsgType.RESUME, relayed_r)):
            self.send(RECV_PORT, downstream_frame(msg_type, flow))
            exp = flow_frame(msg_type, flow, HOST_A, 2, relayed=True, hops=1)
            self.expect_frames([(HOST_A_PORT, exp)])
            self.wait_for_delta(delta, (1, 0))
        self.assertEqual(relayed(), (1, 0))
        self.assertEqual(rejected(), (1, 0))


@group("queue_pause")
class RelayedPauseHoldsTheFlowsQueue(BackpressureTest):
    """Where the target can pause queues from the data plane (the embedded target only): the
    relayed PAUSE also holds the flow's queue on the port it came in by, so the flow's packets
    wait while another queue of the same port keeps flowing; the RESUME releases them."""

    def runTest(self) -> None:
        self.require_queue_pause()
        self.setup_router()
        self.setup_ports()
        a = udp4(sport=44005)
        other = udp4(src=HOST_B_IP, sport=44006, smac=HOST_B)  # no entry: queue 0
        flow = FlowKey.of(a)
        self.add_flow_entry(a, qid=2, slot=112)
        self.learn(a)
        self.send(RECV_PORT, downstream_frame(MsgType.PAUSE, flow))
        pause = flow_frame(MsgType.PAUSE, flow, HOST_A, 2, relayed=True, hops=1)
        self.expect_frames([(HOST_A_PORT, pause)])
        self.send(HOST_A_PORT, a, a)
        self.send(HOST_B_PORT, other)
        self.expect_frames([(RECV_PORT, routed(other, HOST_R))], quiet=0.5)
        self.assertEqual(self.read_register("flow_occ_pkts", 112), 2)
        self.send(RECV_PORT, downstream_frame(MsgType.RESUME, flow))
        got = self.collect(quiet=0.5, count=3, timeout=5.0)
        resume = flow_frame(MsgType.RESUME, flow, HOST_A, 2, relayed=True, hops=1)
        self.assertEqual(sorted(p for p, _ in got), [HOST_A_PORT, RECV_PORT, RECV_PORT])
        for port, data in got:
            exp = resume if port == HOST_A_PORT else routed(a, HOST_R)
            self.assertTrue(same_frame(exp, data), Ether(data))
