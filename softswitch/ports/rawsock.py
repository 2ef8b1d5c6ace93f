"""Real Linux interfaces (``-i 0@veth0``) through ``AF_PACKET`` raw sockets. Needs root.

Each port is one ``SOCK_RAW`` packet socket bound to its interface for every protocol
(``ETH_P_ALL``), non-blocking, with a large receive buffer, in promiscuous mode for as long as the
socket is open (a ``PACKET_MR_PROMISC`` membership: the kernel counts users, and drops it when the
socket closes, so the interface is left as it was found).

What the switch sees is what crossed the wire into the interface, as BMv2 (libpcap) sees it:

- Frames going *out* of the interface (``PACKET_OUTGOING``: our own sends, and anything the host
  stack transmits there) are not received. The kernel is asked not to deliver them at all
  (``PACKET_IGNORE_OUTGOING``, Linux 4.20+) and the packet type is checked as well.
- A VLAN tag the kernel took off the frame (VLAN receive offload) is put back from the packet's
  auxiliary data, as libpcap does, so tagged frames reach the parser tagged.
- Frames are sent exactly as given. Frames shorter than the 60-byte Ethernet minimum are not
  padded: veth carries them as they are (a physical NIC pads them on the wire).
- When the kernel will not take a frame (transmit queue full, link down, larger than the MTU,
  shorter than the 14-byte Ethernet header), it is dropped and counted in
  :attr:`RawSocketPort.tx_dropped`, as a switch port drops; sending does not raise for these.

Interfaces with segmentation or checksum offloads can show the socket frames larger than the MTU
or with unfinished checksums; ``tools/veth.sh`` and :mod:`softswitch.ports.netns` turn those off
on the veths they create.
"""

from __future__ import annotations

import errno
import socket
import struct

from .base import Port, PortError

__all__ = ["RawSocketPort"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ETH_P_8021Q = 0x8100

DEFAULT_RCVBUF = 8 * 1024 * 1024
# Any frame the interface can carry (MTU 9500 jumbo frames and more) fits whole.
RECV_SIZE = 65536

_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_ANCBUF = socket.CMSG_SPACE(_AUXDATA.size)
_MREQ = struct.Struct("=iHH8s")  # struct packet_mreq
_STATS = struct.Struct("=II")  # struct tpacket_stats
_TX_DROP_ERRNOS = frozenset(
    {errno.EAGAIN, errno.ENOBUFS, errno.ENETDOWN, errno.ENXIO, errno.EMSGSIZE, errno.EINVAL}
)


def _open_error(ifname: str, e: OSError) -> PortError:
    if e.errno in (errno.EPERM, errno.EACCES):
        why = "needs root (CAP_NET_RAW and CAP_NET_ADMIN) to open a raw socket"
    elif e.errno in (errno.ENODEV, errno.ENXIO):
        why = "no such interface (create it first, e.g. tools/veth.sh up N)"
    else:
        why = e.strerror or str(e)
    return PortError(e.errno, f"cannot open port on interface {ifname!r}: {why}")


class RawSocketPort(Port):
    """Port ``number`` on Linux interface ``ifname`` (its name, as in ``0@veth0``).

    ``promisc``: receive frames addressed to any MAC (default, as BMv2). ``rcvbuf``: bytes of
    socket receive buffer (forced past ``net.core.rmem_max`` when root). The socket is created
    in the caller's network namespace; use :func:`softswitch.ports.netns.run_in_netns` to open a
    port inside another one (the socket keeps working from any thread afterwards).
    """

    def __init__(
        self,
        number: int,
        ifname: str,
        *,
        promisc: bool = True,
        rcvbuf: int = DEFAULT_RCVBUF,
    ) -> None:
        super().__init__(number, ifname)
        self.tx_dropped = 0
        self._rx_dropped = 0
        self.rx_truncated = 0
        try:
            self.ifindex = socket.if_nametoindex(ifname)
        except OSError as e:
            raise PortError(
                errno.ENODEV,
                f"cannot open port on interface {ifname!r}: no such interface "
                "(create it first, e.g. tools/veth.sh up N)",
            ) from e
        try:
            # Protocol 0 receives nothing until bind(), so no frame of another interface slips in.
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as e:
            raise _open_error(ifname, e) from e
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                pass  # kernel before 4.20: the pkttype check below does the job
            if promisc:
                mreq = _MREQ.pack(self.ifindex, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            sock.bind((ifname, ETH_P_ALL))
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            raise _open_error(ifname, e) from e
        self._sock = sock
        self._recvmsg = sock.recvmsg

    def fileno(self) -> int:
        """The socket's descriptor (readable when frames wait)."""
        return self._sock.fileno()

    def recv_nowait(self) -> bytes | None:
        """The next frame that came in on the interface, or ``None``."""
        recvmsg = self._recvmsg
        while True:
            try:
                data, anc, flags, addr = recvmsg(RECV_SIZE, _ANCBUF)
            except (BlockingIOError, InterruptedError):
                return None
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if flags & socket.MSG_TRUNC:  # only with receive offloads on; BMv2 drops these too
                self.rx_truncated += 1
                continue
            for level, kind, cdata in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(cdata) >= _AUXDATA.size:
                    status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(cdata)
                    if tci or status & TP_STATUS_VLAN_VALID:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = ETH_P_8021Q
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            return data

    def send(self, frame: bytes) -> None:
        """Transmit ``frame`` unchanged (no padding); dropped and counted if it cannot go now."""
        try:
            self._sock.send(frame)
        except OSError as e:
            if e.errno in _TX_DROP_ERRNOS:
                self.tx_dropped += 1
                return
            raise PortError(e.errno, f"port {self.number} ({self.name}): send failed: {e}") from e

    @property
    def rx_dropped(self) -> int:
        """Frames the kernel dropped because the receive buffer was full (since opening)."""
        if self._sock.fileno() >= 0:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
            self._rx_dropped += _STATS.unpack(raw)[1]  # reading resets the kernel's counters
        return self._rx_dropped

    def close(self) -> None:
        """Close the socket (the promiscuous membership goes with it)."""
        self._sock.close()
