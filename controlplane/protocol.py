"""Sluice's wire formats as scapy layers, shared by tests, hosts and tools.

The formats are specified in ``docs/protocol.md``; each class here names the section it
implements. Importing the module binds the layers:

- ``Ether(type=0x88B5) / Sluice / SluiceFlow`` (PAUSE, RESUME) or ``/ SluiceDoorbell``;
- ``PacketIn / Ether`` and ``PacketOut / Ether``: the controller headers on the CPU port (not
  bound below anything: a frame from the CPU port is parsed with ``PacketIn(data)``);
- ``UDP / BlueBridge`` for UDP port 5000 either way (requests to it, replies from it).

Besides the layers: BlueBridge addresses (:class:`BBAddress`), flow keys (:class:`FlowKey`), the
digests as dataclasses, and the hash indexes the controller needs to find a flow's, a client's or
a page's register cell.
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import astuple, dataclass, fields
from enum import IntEnum
from typing import Any

from scapy.fields import (
    BitEnumField,
    BitField,
    ByteEnumField,
    ByteField,
    FlagsField,
    IntField,
    IP6Field,
    ShortField,
)
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, bind_bottom_up, bind_layers, bind_top_down

__all__ = [
    "BB_PAGE_SHIFT",
    "BB_UDP_PORT",
    "CTRL_SESSION_BASE",
    "ETHERTYPE_SLUICE",
    "MEM_CLIENT_SLOTS",
    "MEM_LEASE_SLOTS",
    "FLOW_DEDUP_SLOTS",
    "BBAddress",
    "BBCommand",
    "BlueBridge",
    "FlowKey",
    "MemEventDigest",
    "MemReason",
    "MemViolationDigest",
    "MsgType",
    "NewFlowDigest",
    "PacketIn",
    "PacketOut",
    "Perm",
    "PuntReason",
    "Sluice",
    "SluiceDoorbell",
    "SluiceFlow",
    "bb_addr",
    "client_index",
    "control_session",
    "flow_dedup_index",
    "lease_index",
    "parse_bb_addr",
]

# -- constants (p4src/include/define.p4 and size.p4 defaults) ---------------------------------

ETHERTYPE_SLUICE = 0x88B5
SLUICE_VERSION = 1
FLAG_RELAYED = 0x01
BB_UDP_PORT = 5000
BB_PAGE_SHIFT = 12
CPU_PORT = 255
CTRL_SESSION_BASE = 512
FLOW_DEDUP_SLOTS = 4096
MEM_CLIENT_SLOTS = 1024
MEM_LEASE_SLOTS = 4096


class MsgType(IntEnum):
    """Sluice control frame types (protocol.md section 2.1)."""

    PAUSE = 1
    RESUME = 2
    DOORBELL = 3


class PuntReason(IntEnum):
    """``packet_in.reason`` (protocol.md section 4)."""

    NONE = 0
    ACL = 1
    TTL_EXPIRED = 2
    NO_ROUTE = 3


class BBCommand(IntEnum):
    """BlueBridge commands, bits 111..96 of the IPv6 address (protocol.md section 5)."""

    ALLOC = 1
    WRITE = 2
    READ = 3
    FREE = 4
    ALLOC_BULK = 5
    WRITE_BULK = 6
    READ_BULK = 7
    TRIM = 8


class Perm(IntEnum):
    """Permission bits of a ``mem_grant`` entry."""

    READ = 0x01
    WRITE = 0x02
    OWNER = 0x04


class MemReason(IntEnum):
    """Why the memory guard refused a packet (``mem_violation_digest_t.reason``)."""

    OK = 0
    NO_SERVER = 1
    BAD_COMMAND = 2
    NO_READ = 3
    NO_WRITE = 4
    NOT_OWNER = 5
    NO_ALLOC = 6
    LEASE_HELD = 7
    SPOOFED_REPLY = 8


def control_session(port: int) -> int:
    """The clone session the controller must point at ``port`` for control frames."""
    return CTRL_SESSION_BASE + port


# -- Sluice control frames (protocol.md section 2) --------------------------------------------


class Sluice(Packet):
    """The common header of every Sluice control frame (section 2.1), 6 bytes."""

    name = "Sluice"
    fields_desc = [
        BitField("version", SLUICE_VERSION, 4),
        BitEnumField("msg_type", MsgType.PAUSE, 4, {m.value: m.name for m in MsgType}),
        FlagsField("flags", 0, 8, ["RELAYED"]),
        ShortField("length", None),
        ByteField("hops", 0),
        ByteField("reserved", 0),
    ]

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.length is None:
            body = len(pay)
            if isinstance(self.payload, (SluiceFlow, SluiceDoorbell)):
                body = len(self.payload.self_build())
            pkt = pkt[:2] + body.to_bytes(2, "big") + pkt[4:]
        return pkt + pay

    def mysummary(self) -> str:
        return self.sprintf("Sluice %msg_type% hops=%hops%")


class SluiceFlow(Packet):
    """PAUSE and RESUME body (section 2.2): the flow, 40 bytes. IPv4 addresses sit in the
    low 32 bits of the 128-bit address fields (shown by scapy as ``::c000:201``)."""

    name = "SluiceFlow"
    fields_desc = [
        ByteField("ip_version", 4),
        ByteEnumField("protocol", 17, {6: "tcp", 17: "udp"}),
        ShortField("sport", 0),
        ShortField("dport", 0),
        ByteField("qid", 0),
        ByteField("reserved", 0),
        IP6Field("src", "::"),
        IP6Field("dst", "::"),
    ]

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s

    def flow(self) -> FlowKey:
        """The flow this frame names."""
        v = self.ip_version
        return FlowKey(v, self.protocol, _unpack_addr(v, self.src), _unpack_addr(v, self.dst),
                       self.sport, self.dport)

    def mysummary(self) -> str:
        return f"SluiceFlow {self.flow()}"


class SluiceDoorbell(Packet):
    """DOORBELL body (section 2.3), 8 bytes."""

    name = "SluiceDoorbell"
    fields_desc = [
        ShortField("port", 0),
        ByteField("qid", 0),
        ByteField("reserved", 0),
        IntField("count", 0),
    ]

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


# -- controller headers (protocol.md section 4) -----------------------------------------------


class PacketOut(Packet):
    """In front of the Ethernet header of a frame the controller sends (section 4), 2 bytes."""

    name = "PacketOut"
    fields_desc = [BitField("egress_port", 0, 9), BitField("_pad0", 0, 7)]


class PacketIn(Packet):
    """In front of the Ethernet header of a frame sent to the controller (section 4), 3 bytes."""

    name = "PacketIn"
    fields_desc = [
        BitField("ingress_port", 0, 9),
        BitField("_pad0", 0, 7),
        ByteEnumField("reason", 0, {r.value: r.name for r in PuntReason}),
    ]


# -- BlueBridge (protocol.md section 5) -------------------------------------------------------


class BlueBridge(Packet):
    """The UDP payload header of BlueBridge requests and replies (section 5.3), 8 bytes.
    The switch never reads it: what it checks is in the IPv6 addresses."""

    name = "BlueBridge"
    fields_desc = [
        ByteField("status", 0),
        ByteField("reserved", 0),
        ShortField("length", None),
        IntField("seq", 0),
    ]

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.length is None:
            pkt = pkt[:2] + len(pay).to_bytes(2, "big") + pkt[4:]
        return pkt + pay


@dataclass(frozen=True)
class BBAddress:
    """A BlueBridge IPv6 address: ``subid:16 | cmd:16 | args:32 | paddr:64`` (section 5.1)."""

    subid: int
    cmd: int
    args: int = 0
    paddr: int = 0

    def __post_init__(self) -> None:
        for name, bits in (("subid", 16), ("cmd", 16), ("args", 32), ("paddr", 64)):
            v = getattr(self, name)
            if not 0 <= v < 1 << bits:
                raise ValueError(f"BlueBridge {name} {v:#x} does not fit {bits} bits")

    def to_int(self) -> int:
        return (self.subid << 112) | (self.cmd << 96) | (self.args << 64) | self.paddr

    def to_ipv6(self) -> str:
        return str(ipaddress.IPv6Address(self.to_int()))

    @classmethod
    def from_ipv6(cls, addr: str | int | ipaddress.IPv6Address) -> BBAddress:
        v = int(ipaddress.IPv6Address(addr))
        return cls(v >> 112, (v >> 96) & 0xFFFF, (v >> 64) & 0xFFFFFFFF, v & (1 << 64) - 1)


def bb_addr(subid: int, cmd: int, args: int = 0, paddr: int = 0) -> str:
    """The IPv6 address (text) of a BlueBridge request to server ``subid``."""
    return BBAddress(subid, int(cmd), args, paddr).to_ipv6()


def parse_bb_addr(addr: str | int | ipaddress.IPv6Address) -> BBAddress:
    """Split a BlueBridge IPv6 address into its fields."""
    return BBAddress.from_ipv6(addr)


# -- flows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowKey:
    """A flow: the 5-tuple. ``src``/``dst`` are address strings of family ``ip_version``."""

    ip_version: int
    protocol: int
    src: str
    dst: str
    sport: int
    dport: int

    @classmethod
    def of(cls, pkt: Packet) -> FlowKey:
        """The flow of a TCP or UDP packet over IPv4 or IPv6."""
        if IP in pkt:
            ip, v, proto = pkt[IP], 4, pkt[IP].proto
        elif IPv6 in pkt:
            ip, v, proto = pkt[IPv6], 6, pkt[IPv6].nh
        else:
            raise ValueError("not an IP packet")
        l4 = pkt[TCP] if TCP in pkt else pkt[UDP]
        return cls(v, proto, ip.src, ip.dst, l4.sport, l4.dport)

    def src_int(self) -> int:
        """The source address as the switch keys it (IPv4 zero-extended to 128 bits)."""
        return int(ipaddress.ip_address(self.src))

    def dst_int(self) -> int:
        return int(ipaddress.ip_address(self.dst))

    def table_key(self) -> tuple[int, int, int, int, int, int]:
        """Values of the ``flows`` table key, in key order
        (ip_version, ip_src, ip_dst, ip_proto, l4_sport, l4_dport)."""
        return (self.ip_version, self.src_int(), self.dst_int(), self.protocol, self.sport,
                self.dport)

    def sluice_flow(self, qid: int = 0) -> SluiceFlow:
        """The PAUSE/RESUME body naming this flow."""
        return SluiceFlow(ip_version=self.ip_version, protocol=self.protocol, sport=self.sport,
                          dport=self.dport, qid=qid, src=_pack_addr(self.src),
                          dst=_pack_addr(self.dst))


def _pack_addr(addr: str) -> str:
    return str(ipaddress.IPv6Address(int(ipaddress.ip_address(addr))))


def _unpack_addr(version: int, addr: str) -> str:
    v = int(ipaddress.IPv6Address(addr))
    return str(ipaddress.IPv4Address(v & 0xFFFFFFFF)) if version == 4 else str(
        ipaddress.IPv6Address(v))


# -- digests (protocol.md section 6) ----------------------------------------------------------


class _Digest:
    """Field order = the P4 struct's; ``from_values`` takes a digest's value tuple."""

    @classmethod
    def from_values(cls, values: Any) -> Any:
        return cls(*(int(v) for v in values))  # type: ignore[call-arg]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    def values(self) -> tuple[int, ...]:
        return astuple(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class NewFlowDigest(_Digest):
    """``new_flow_digest_t``: a flow without a ``flows`` entry started."""

    ip_version: int
    protocol: int
    src_addr: int
    dst_addr: int
    src_port: int
    dst_port: int
    ingress_port: int
    dedup_index: int
    dscp: int  # the reported packet's DSCP (0..63): what the policy's ``dscp`` rules match

    def flow(self) -> FlowKey:
        def addr(a: int) -> str:
            return str(ipaddress.IPv4Address(a) if self.ip_version == 4
                       else ipaddress.IPv6Address(a))

        return FlowKey(self.ip_version, self.protocol, addr(self.src_addr),
                       addr(self.dst_addr), self.src_port, self.dst_port)


@dataclass(frozen=True)
class MemEventDigest(_Digest):
    """``mem_event_digest_t``: a server answered ALLOC, ALLOC_BULK or FREE."""

    client: int
    subid: int
    cmd: int
    args: int
    paddr: int


@dataclass(frozen=True)
class MemViolationDigest(_Digest):
    """``mem_violation_digest_t``: a refused memory packet (rate-limited per client cell)."""

    client: int
    subid: int
    cmd: int
    paddr: int
    reason: int
    ingress_port: int
    client_index: int


# -- register indexes the controller computes ------------------------------------------------


def _crc32(data: bytes, slots: int) -> int:
    return zlib.crc32(data) % slots


def flow_dedup_index(flow: FlowKey, slots: int = FLOW_DEDUP_SLOTS) -> int:
    """The ``flow_dedup`` bit of ``flow`` (the digest carries it too)."""
    data = (bytes([flow.ip_version, flow.protocol]) + flow.src_int().to_bytes(16, "big")
            + flow.dst_int().to_bytes(16, "big") + flow.sport.to_bytes(2, "big")
            + flow.dport.to_bytes(2, "big"))
    return _crc32(data, slots)


def client_index(client: str | int, slots: int = MEM_CLIENT_SLOTS) -> int:
    """The ``mem_violations`` / ``mem_report_next`` cell of a client address."""
    return _crc32(int(ipaddress.IPv6Address(client)).to_bytes(16, "big"), slots)


def lease_index(subid: int, paddr: int, slots: int = MEM_LEASE_SLOTS) -> int:
    """The write-lease cell (``mem_lease_holder``/``mem_lease_expiry``) of a page."""
    return _crc32(subid.to_bytes(2, "big") + (paddr >> BB_PAGE_SHIFT).to_bytes(8, "big"), slots)


# -- bindings -----------------------------------------------------------------------------------

bind_layers(Ether, Sluice, type=ETHERTYPE_SLUICE)
bind_layers(Sluice, SluiceFlow, msg_type=MsgType.PAUSE)
bind_bottom_up(Sluice, SluiceFlow, msg_type=MsgType.RESUME)
bind_layers(Sluice, SluiceDoorbell, msg_type=MsgType.DOORBELL)
bind_layers(PacketIn, Ether)
bind_layers(PacketOut, Ether)
bind_bottom_up(UDP, BlueBridge, dport=BB_UDP_PORT)
bind_bottom_up(UDP, BlueBridge, sport=BB_UDP_PORT)
bind_top_down(UDP, BlueBridge, dport=BB_UDP_PORT)
