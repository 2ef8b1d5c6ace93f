"""Packet-in/packet-out: controller metadata packed as the program's controller headers."""

from __future__ import annotations

import grpc
import pytest
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from softswitch.engine.switch import Switch
from softswitch.p4runtime.errors import P4RTError
from softswitch.p4runtime.packetio import PacketIO

from .test_entities import compiled

CPU_PORT = 510


def frame() -> bytes:
    return bytes(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
        / IP(src="192.0.2.1", dst="203.0.113.5")
        / UDP(sport=1, dport=2)
        / b"x"
    )


def md_ids(name: str) -> dict[str, int]:
    for cpm in compiled().p4info.controller_packet_metadata:
        if cpm.preamble.name == name:
            return {m.name: m.id for m in cpm.metadata}
    raise KeyError(name)


def test_packet_in_from_the_switch() -> None:
    sw = Switch.from_program(compiled())
    pio = PacketIO(compiled().p4info)
    data = frame()
    sw.inject(9, data)  # port 9 -> to_cpu(); egress adds the packet_in header
    sw.run_until_idle()
    ((port, out),) = sw.outputs()
    assert port == CPU_PORT
    pin = pio.packet_in(out)
    assert pin.payload == data
    ids = md_ids("packet_in")
    assert {(m.metadata_id, m.value) for m in pin.metadata} == {
        (ids["ingress_port"], b"\x09"),
        (ids["pad"], b"\x00"),
    }


def test_packet_out_into_the_switch() -> None:
    sw = Switch.from_program(compiled())
    pio = PacketIO(compiled().p4info)
    ids = md_ids("packet_out")
    data = frame()
    msg = p4runtime_pb2.PacketOut(payload=data)
    msg.metadata.add(metadata_id=ids["egress_port"], value=b"\x00\x05")  # padded is fine
    msg.metadata.add(metadata_id=ids["_pad"], value=b"\x00")
    msg.metadata.add(metadata_id=ids["tag"], value=b"\xab\xcd")
    wire = pio.packet_out(msg)
    # 9 + 7 + 16 bits: egress_port 5 in the top 9 bits, then pad 0, then the tag
    assert wire[:4] == bytes([0x02, 0x80, 0xAB, 0xCD]) and wire[4:] == data
    sw.inject(CPU_PORT, wire)
    sw.run_until_idle()
    assert sw.outputs() == [(5, data)]


def test_round_trip_through_headers() -> None:
    pio = PacketIO(compiled().p4info)
    ids = md_ids("packet_out")
    msg = p4runtime_pb2.PacketOut(payload=b"abc")
    msg.metadata.add(metadata_id=ids["egress_port"], value=b"\x01\xff")
    msg.metadata.add(metadata_id=ids["tag"], value=b"\x01")
    wire = pio.packet_out(msg)  # the padding field may be left out
    hdr = pio.packet_out_header
    assert hdr is not None
    assert dict(hdr.unpack(wire)) == {ids["egress_port"]: 0x1FF, ids["_pad"]: 0, ids["tag"]: 1}


@pytest.mark.parametrize("case", ["unknown", "twice", "missing", "too_wide"])
def test_packet_out_errors(case: str) -> None:
    pio = PacketIO(compiled().p4info)
    ids = md_ids("packet_out")
    msg = p4runtime_pb2.PacketOut(payload=b"abc")
    msg.metadata.add(metadata_id=ids["egress_port"], value=b"\x01")
    if case != "missing":
        msg.metadata.add(metadata_id=ids["tag"], value=b"\x01")
    if case == "unknown":
        msg.metadata.add(metadata_id=99, value=b"\x01")
    elif case == "twice":
        msg.metadata.add(metadata_id=ids["tag"], value=b"\x02")
    elif case == "too_wide":
        msg.metadata[0].value = b"\x02\x00"
    with pytest.raises(P4RTError) as e:
        pio.packet_out(msg)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_no_controller_metadata_passes_through() -> None:
    pio = PacketIO(p4info_pb2.P4Info())
    assert pio.packet_in(b"frame").payload == b"frame"
    assert pio.packet_out(p4runtime_pb2.PacketOut(payload=b"frame")) == b"frame"


def test_short_packet_in_frame() -> None:
    with pytest.raises(ValueError):
        PacketIO(compiled().p4info).packet_in(b"\x01")
