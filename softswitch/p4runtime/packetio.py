"""Packet-in and packet-out: controller packet metadata as the program's header.

P4Info's ``controller_packet_metadata`` named ``packet_in`` and ``packet_out`` (from
``@controller_header``) list the header's fields with ids and widths. The header sits at the
front of the frame, fields packed most significant bit first in declaration order, its total
width a multiple of 8. A frame the switch sends to the CPU port starts with the ``packet_in``
header; a PacketOut becomes a frame that starts with the ``packet_out`` header. Without the
corresponding metadata in P4Info, frames pass through unchanged.

Packet-out metadata must give every field once, except padding (fields annotated ``@padding``
or named ``_pad...``), which defaults to 0; an unknown id, a repeated one or a value too wide
for its field is ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from .errors import P4RTError, invalid
from .p4info_index import decode_bits, encode_bits

__all__ = ["ControllerHeader", "PacketIO"]


@dataclass(frozen=True)
class _Field:
    id: int
    name: str
    bitwidth: int
    padding: bool


class ControllerHeader:
    """One controller header (``packet_in`` or ``packet_out``): pack and unpack its fields."""

    def __init__(self, cpm: p4info_pb2.ControllerPacketMetadata) -> None:
        self.name = cpm.preamble.name
        self.id = cpm.preamble.id
        self.fields = [
            _Field(
                m.id, m.name, m.bitwidth, "@padding" in m.annotations or m.name.startswith("_pad")
            )
            for m in cpm.metadata
        ]
        self.by_id = {f.id: f for f in self.fields}
        self.width = sum(f.bitwidth for f in self.fields)
        if self.width % 8:
            raise ValueError(f"controller header {self.name} is {self.width} bits, not whole bytes")
        self.nbytes = self.width // 8

    def unpack(self, frame: bytes) -> list[tuple[int, int]]:
        """(metadata id, value) of the header at the front of ``frame``."""
        if len(frame) < self.nbytes:
            raise ValueError(
                f"frame of {len(frame)} bytes is shorter than the {self.name} header "
                f"({self.nbytes} bytes)"
            )
        bits = int.from_bytes(frame[: self.nbytes], "big")
        out = []
        shift = self.width
        for f in self.fields:
            shift -= f.bitwidth
            out.append((f.id, (bits >> shift) & ((1 << f.bitwidth) - 1)))
        return out

    def pack(self, values: dict[int, int]) -> bytes:
        """The header's bytes from values by metadata id (absent ids are 0)."""
        bits = 0
        for f in self.fields:
            bits = (bits << f.bitwidth) | values.get(f.id, 0)
        return bits.to_bytes(self.nbytes, "big")


class PacketIO:
    """Packet-in/packet-out translation for one P4Info."""

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.packet_in_header: ControllerHeader | None = None
        self.packet_out_header: ControllerHeader | None = None
        for cpm in p4info.controller_packet_metadata:
            if cpm.preamble.name == "packet_in":
                self.packet_in_header = ControllerHeader(cpm)
            elif cpm.preamble.name == "packet_out":
                self.packet_out_header = ControllerHeader(cpm)

    def packet_in(self, frame: bytes) -> p4runtime_pb2.PacketIn:
        """A frame the switch sent to the CPU port as a PacketIn: the ``packet_in`` header
        becomes metadata (canonical bytestrings), the rest is the payload. Raises
        :class:`ValueError` when the frame is shorter than the header."""
        msg = p4runtime_pb2.PacketIn()
        hdr = self.packet_in_header
        if hdr is None:
            msg.payload = frame
            return msg
        for mid, value in hdr.unpack(frame):
            msg.metadata.add(metadata_id=mid, value=encode_bits(value))
        msg.payload = frame[hdr.nbytes :]
        return msg

    def packet_out(self, msg: p4runtime_pb2.PacketOut) -> bytes:
        """The frame to inject for a PacketOut: the ``packet_out`` header, then the payload.
        Raises :class:`~.errors.P4RTError` (``INVALID_ARGUMENT``) for bad metadata."""
        hdr = self.packet_out_header
        if hdr is None:
            if len(msg.metadata):
                raise invalid("packet_out metadata given, but the program has no packet_out header")
            return msg.payload
        values: dict[int, int] = {}
        for md in msg.metadata:
            f = hdr.by_id.get(md.metadata_id)
            if f is None:
                raise invalid(f"packet_out: unknown metadata id {md.metadata_id}")
            if md.metadata_id in values:
                raise invalid(f"packet_out: metadata {f.name} given twice")
            values[f.id] = decode_bits(
                md.value,
                f.bitwidth,
                f"packet_out metadata {f.name}",
                grpc.StatusCode.INVALID_ARGUMENT,
            )
        missing = [f.name for f in hdr.fields if f.id not in values and not f.padding]
        if missing:
            raise P4RTError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"packet_out: missing metadata {', '.join(missing)}",
            )
        return hdr.pack(values) + msg.payload
