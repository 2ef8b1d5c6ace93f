"""sluice.p4's data-plane queue pause/resume: a program holds a queue and later releases it."""

from __future__ import annotations

from pathlib import Path

from softswitch.cli import main as sluice_main
from softswitch.engine.switch import Switch
from softswitch.frontend.compiler import compile_text

CTRL_ETHERTYPE = 0x88B5
OP_PAUSE, OP_RESUME = 1, 2

# Data frames go out on port dst[8:0], queue src[2:0]; a control frame (EtherType 0x88B5)
# pauses or resumes the queue it names and is dropped. Egress stamps each frame's source MAC
# with its departure time, so the test reads the schedule off the packets.
PROGRAM = """
#include <core.p4>
#include <v1model.p4>
#ifdef __TARGET_SLUICE__
#include <sluice_target.p4>
#endif

header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header ctrl_t { bit<8> op; bit<16> port; bit<8> qid; }
struct headers_t { ethernet_t ethernet; ctrl_t ctrl; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta,
         inout standard_metadata_t std_meta) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x88B5: parse_ctrl;
            default: accept;
        }
    }
    state parse_ctrl { pkt.extract(hdr.ctrl); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std_meta) {
    action pause_queue() {
#ifdef SLUICE_QUEUE_PAUSE
        sluice_queue_pause((bit<9>)hdr.ctrl.port, (bit<3>)hdr.ctrl.qid);
#endif
        mark_to_drop(std_meta);
    }
    action resume_queue() {
#ifdef SLUICE_QUEUE_PAUSE
        sluice_queue_resume((bit<9>)hdr.ctrl.port, (bit<3>)hdr.ctrl.qid);
#endif
        mark_to_drop(std_meta);
    }
    action forward() {
        std_meta.egress_spec = (bit<9>)hdr.ethernet.dst;
        std_meta.priority = (bit<3>)hdr.ethernet.src;
    }
    table ctrl_ops {
        key = { hdr.ctrl.op : exact; }
        actions = { pause_queue; resume_queue; NoAction; }
        const entries = { 1 : pause_queue(); 2 : resume_queue(); }
        default_action = NoAction();
    }
    apply {
        if (hdr.ctrl.isValid()) {
            ctrl_ops.apply();
        } else {
            forward();
        }
    }
}

control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std_meta) {
    apply {
#ifdef SLUICE_QUEUE_PAUSE
        if (hdr.ethernet.ether_type == 0x5A5A) {  // "last one for now": hold the queue behind it
            sluice_queue_pause(std_meta.egress_port, (bit<3>)hdr.ethernet.src);
        }
#endif
        hdr.ethernet.src = std_meta.egress_global_timestamp;
    }
}

control CC(inout headers_t hdr, inout meta_t meta) { apply { } }

control D(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ctrl); }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def make_switch() -> Switch:
    sw = Switch.from_program(compile_text(PROGRAM, "pause.p4", p4info=False), priority_queues=2)
    sw.tm.set_queue_rate(None, 1000)  # every queue: one packet per ms
    return sw


def data(port: int, qid: int, seq: int, ether_type: int = 0x1234) -> bytes:
    return (port.to_bytes(6, "big") + qid.to_bytes(6, "big") + ether_type.to_bytes(2, "big")
            + bytes([seq]))


def ctrl(op: int, port: int, qid: int) -> bytes:
    eth = (0).to_bytes(12, "big") + CTRL_ETHERTYPE.to_bytes(2, "big")
    return eth + bytes([op]) + port.to_bytes(2, "big") + bytes([qid])


def sent(sw: Switch) -> list[tuple[int, int, int]]:
    """(port, seq, departure time in us) of every packet sent since the last call."""
    return [(p, d[14], int.from_bytes(d[6:12], "big")) for p, d in sw.outputs()]


def test_paused_queue_holds_until_resume_while_others_flow() -> None:
    sw = make_switch()
    sw.inject(9, ctrl(OP_PAUSE, 1, 0))
    for seq in range(3):
        sw.inject(0, data(1, 0, seq))  # the paused queue
        sw.inject(0, data(1, 1, 10 + seq))  # the other queue of the same port
        sw.inject(0, data(2, 0, 20 + seq))  # the same queue index on another port
    sw.advance_to(10_000)
    out = sent(sw)
    assert [(s, t) for p, s, t in out if p == 1] == [(10, 0), (11, 1000), (12, 2000)]
    assert [(s, t) for p, s, t in out if p == 2] == [(20, 0), (21, 1000), (22, 2000)]
    assert sw.tm.is_paused(1, 0) and sw.tm.depth(1, 0) == 3
    assert sw.dropped == 1  # the control frame

    sw.inject(9, ctrl(OP_RESUME, 1, 0))
    sw.run_until_idle()
    # held packets leave in order, at the queue's own rate, from the moment of the resume
    assert sent(sw) == [(1, 0, 10_000), (1, 1, 11_000), (1, 2, 12_000)]
    assert not sw.tm.is_paused(1, 0) and sw.tm.depth(1, 0) == 0


def test_paused_queue_accepts_arrivals_and_lower_queue_takes_the_line() -> None:
    sw = make_switch()
    sw.inject(9, ctrl(OP_PAUSE, 1, 1))  # the high-priority queue of port 1
    sw.inject(0, data(1, 1, 0))
    sw.inject(0, data(1, 0, 1))
    sw.advance_to(5_000)
    sw.inject(0, data(1, 1, 2))  # still accepted while paused
    sw.advance_to(8_000)
    assert sent(sw) == [(1, 1, 0)]  # only the low queue, which a running high one would delay
    assert sw.tm.depth(1, 1) == 2
    sw.inject(9, ctrl(OP_RESUME, 1, 1))
    sw.inject(9, ctrl(OP_RESUME, 1, 1))  # resuming a running queue changes nothing
    sw.run_until_idle()
    assert sent(sw) == [(1, 0, 8_000), (1, 2, 9_000)]


def test_egress_pauses_the_queue_behind_the_packet_it_processes() -> None:
    sw = make_switch()
    sw.inject(0, data(1, 0, 0, ether_type=0x5A5A))
    sw.inject(0, data(1, 0, 1))
    sw.inject(0, data(1, 0, 2))
    sw.advance_to(5_000)
    assert sent(sw) == [(1, 0, 0)]  # left at 0; its egress paused the queue from then on
    assert sw.tm.is_paused(1, 0) and sw.tm.depth(1, 0) == 2
    sw.inject(9, ctrl(OP_RESUME, 1, 0))
    sw.run_until_idle()
    assert sent(sw) == [(1, 1, 5_000), (1, 2, 6_000)]


def test_pause_of_a_queue_the_switch_lacks_or_the_drop_port_is_ignored() -> None:
    sw = make_switch()
    sw.inject(9, ctrl(OP_PAUSE, 1, 5))  # priority_queues=2: no queue 5
    sw.inject(9, ctrl(OP_PAUSE, 511, 0))
    sw.inject(0, data(1, 0, 7))
    sw.run_until_idle()
    assert sent(sw) == [(1, 7, 0)]
    assert not sw.tm.is_paused(1, 0) and sw.tm.stats().keys() == {(1, 0), (1, 1)}


def test_program_compiles_with_sluice_compile_and_adds_nothing_to_p4info(tmp_path: Path) -> None:
    src = tmp_path / "pause.p4"
    src.write_text(PROGRAM)
    p4info = tmp_path / "pause.p4info.txtpb"
    assert sluice_main(["compile", str(src), "-o", str(tmp_path),
                        "--p4runtime-files", str(p4info)]) == 0
    text = p4info.read_text()
    assert "sluice_queue" not in text and "externs" not in text
    assert 'name: "I.ctrl_ops"' in text
