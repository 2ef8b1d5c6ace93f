"""The addresses of the Sluice suite's topology and the packets it sends and expects: data
packets, what routing makes of them, PAUSE/RESUME and DOORBELL frames as the switch writes them,
BlueBridge requests and replies. Built with scapy and the project's layers
(:mod:`controlplane.protocol`).

Topology (PTF port N faces switch port N; ``make ptf PTF_SUITE=sluice`` wires 0..4):

====  ====================================================================================
0     host A, a sender (``HOST_A``, 192.0.2.1, 2001:db8:1::1)
1     host B, a second sender (``HOST_B``, 192.0.2.2)
2     the receiver, next hop for 198.51.100.0/24 and 2001:db8:2::/48 (``HOST_R``)
3     the memory server (``SERVER_MAC``, BlueBridge subid ``MEM_SUBID``); next hop for
      203.0.113.0/24 (a port without doorbells)
4     memory clients (2001:db8:c::/48, behind ``CLIENT_GW_MAC``)
====  ====================================================================================
"""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from controlplane.protocol import (
    BB_UDP_PORT,
    ETHERTYPE_SLUICE,
    FLAG_RELAYED,
    BlueBridge,
    FlowKey,
    MsgType,
    Sluice,
    SluiceDoorbell,
    bb_addr,
)

HOST_A_PORT, HOST_B_PORT, RECV_PORT, SERVER_PORT, CLIENT_PORT = 0, 1, 2, 3, 4
PORTS = (HOST_A_PORT, HOST_B_PORT, RECV_PORT, SERVER_PORT, CLIENT_PORT)

ROUTER_MAC = "00:00:5e:00:53:01"
SWITCH_MAC = "00:00:5e:00:53:ff"  # source of the control frames the switch writes
HOST_A = "02:00:00:00:00:0a"
HOST_B = "02:00:00:00:00:0b"
HOST_R = "02:00:00:00:00:02"
SERVER_MAC = "02:00:00:00:00:03"
CLIENT_GW_MAC = "02:00:00:00:00:05"
OTHER_MAC = "02:00:00:00:00:06"

HOST_A_IP, HOST_B_IP = "192.0.2.1", "192.0.2.2"
RECV_IP = "198.51.100.7"
HOST_A_IP6, RECV_IP6 = "2001:db8:1::1", "2001:db8:2::7"
MEM_SUBID = 0x2001
CLIENT_NET6 = "2001:db8:c::/48"


def udp4(
    src: str = HOST_A_IP,
    dst: str = RECV_IP,
    sport: int = 4000,
    dport: int = 80,
    *,
    smac: str = HOST_A,
    dmac: str = ROUTER_MAC,
    ttl: int = 64,
    size: int = 64,
) -> Packet:
    """A UDP/IPv4 packet from a host to the router (``size`` bytes of payload)."""
    return (
        Ether(dst=dmac, src=smac)
        / IP(src=src, dst=dst, ttl=ttl)
        / UDP(sport=sport, dport=dport)
        / (b"\x00" * size)
    )


def tcp4(
    src: str = HOST_A_IP,
    dst: str = RECV_IP,
    sport: int = 4000,
    dport: int = 443,
    *,
    smac: str = HOST_A,
    ttl: int = 64,
    size: int = 64,
) -> Packet:
    """A TCP/IPv4 packet from a host to the router."""
    return (
        Ether(dst=ROUTER_MAC, src=smac)
        / IP(src=src, dst=dst, ttl=ttl)
        / TCP(sport=sport, dport=dport)
        / (b"\x00" * size)
    )


def tcp6(
    src: str = HOST_A_IP6,
    dst: str = RECV_IP6,
    sport: int = 4000,
    dport: int = 443,
    *,
    smac: str = HOST_A,
    hlim: int = 64,
    size: int = 64,
) -> Packet:
    """A TCP/IPv6 packet from a host to the router."""
    return (
        Ether(dst=ROUTER_MAC, src=smac)
        / IPv6(src=src, dst=dst, hlim=hlim)
        / TCP(sport=sport, dport=dport)
        / (b"\x00" * size)
    )


def routed(pkt: Packet, dmac: str, smac: str = ROUTER_MAC) -> Packet:
    """``pkt`` as the switch routes it: new MACs, TTL or hop limit - 1, IPv4 checksum redone."""
    exp = Ether(bytes(pkt))
    exp[Ether].dst, exp[Ether].src = dmac, smac
    if IP in exp:
        exp[IP].ttl -= 1
        exp[IP].chksum = None
    else:
        exp[IPv6].hlim -= 1
    return Ether(bytes(exp))


def bb_request(
    client: str,
    cmd: int,
    paddr: int = 0x10040,
    args: int = 64,
    subid: int = MEM_SUBID,
    seq: int = 7,
) -> Packet:
    """A BlueBridge request from ``client`` (behind the client port) to server ``subid``."""
    return (
        Ether(dst=ROUTER_MAC, src=CLIENT_GW_MAC)
        / IPv6(src=client, dst=bb_addr(subid, cmd, args, paddr), hlim=64)
        / UDP(sport=40000, dport=BB_UDP_PORT)
        / BlueBridge(seq=seq)
        / (b"\xab" * 16)
    )


def bb_reply(client: str, cmd: int, paddr: int, args: int, subid: int = MEM_SUBID) -> Packet:
    """A BlueBridge reply from server ``subid`` to ``client``."""
    return (
        Ether(dst=ROUTER_MAC, src=SERVER_MAC)
        / IPv6(src=bb_addr(subid, cmd, args, paddr), dst=client, hlim=64)
        / UDP(sport=BB_UDP_PORT, dport=40000)
        / BlueBridge(seq=7)
        / (b"\xcd" * 16)
    )


def is_sluice(data: bytes) -> bool:
    """Whether a frame is a Sluice control frame (EtherType 0x88B5)."""
    return len(data) >= 14 and data[12:14] == b"\x88\xb5"


def same_frame(exp: Packet | bytes, data: bytes) -> bool:
    """``data`` is ``exp``, possibly padded with zeros to the Ethernet minimum on the wire."""
    want = bytes(exp)
    return data[: len(want)] == want and not data[len(want) :].strip(b"\x00")


def doorbell_frame(port: int, qid: int, count: int, dst: str) -> Packet:
    """The DOORBELL the switch writes for (``port``, ``qid``) to ``dst``."""
    return (
        Ether(dst=dst, src=SWITCH_MAC, type=ETHERTYPE_SLUICE)
        / Sluice(msg_type=MsgType.DOORBELL, length=8)
        / SluiceDoorbell(port=port, qid=qid, count=count)
    )


def flow_frame(
    msg_type: int, flow: FlowKey, dst: str, qid: int, *, relayed: bool = False, hops: int = 0
) -> Packet:
    """The PAUSE (1) or RESUME (2) the switch writes or relays for ``flow``."""
    return (
        Ether(dst=dst, src=SWITCH_MAC, type=ETHERTYPE_SLUICE)
        / Sluice(msg_type=msg_type, flags=FLAG_RELAYED if relayed else 0, length=40, hops=hops)
        / flow.sluice_flow(qid=qid)
    )


def downstream_frame(msg_type: int, flow: FlowKey, src: str = HOST_R, qid: int = 6) -> Packet:
    """A PAUSE or RESUME for ``flow`` as the next switch towards the receiver writes it to
    this one (from ``src``, to the router's MAC)."""
    return (
        Ether(dst=ROUTER_MAC, src=src, type=ETHERTYPE_SLUICE)
        / Sluice(msg_type=msg_type)
        / flow.sluice_flow(qid=qid)
    )
