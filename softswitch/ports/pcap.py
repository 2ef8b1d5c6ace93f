"""The classic libpcap file format, and BMv2-style ``--pcap`` capture of ports.

Format (libpcap's ``savefile``): a 24-byte global header (magic, version 2.4, zone, sigfigs,
snaplen, link type) then records of a 16-byte header (seconds, fraction, captured length,
original length) and the captured bytes, all in the writer's byte order. The magic tells the byte
order and the unit of the fraction: ``0xa1b2c3d4`` microseconds, ``0xa1b23c4d`` nanoseconds.

:class:`PcapWriter` writes microsecond files with link type Ethernet and flushes every record,
so ``tcpdump -r`` on a live capture sees every frame written so far. :class:`PcapReader` reads
both byte orders and both units. pcapng is not supported.

:class:`PcapCapture` is the :class:`~softswitch.ports.base.Capture` behind ``--pcap DIR``: as
BMv2, interface ``X`` gets ``DIR/X_in.pcap`` (frames it received) and ``DIR/X_out.pcap`` (frames
it sent), created when the port is added. For ``-i 0@veth0`` that is ``veth0_in.pcap``; an
in-process port is named by its number.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from .base import Capture, Direction, Port

__all__ = [
    "LINKTYPE_ETHERNET",
    "PcapCapture",
    "PcapError",
    "PcapReader",
    "PcapRecord",
    "PcapWriter",
    "capture_path",
    "read_pcap",
    "write_pcap",
]

LINKTYPE_ETHERNET = 1
MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
# tcpdump's default snap length: large enough for any frame we move, so nothing is truncated.
DEFAULT_SNAPLEN = 262144

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD_LE = struct.Struct("<IIII")
_RECORD_BE = struct.Struct(">IIII")


class PcapError(ValueError):
    """A file is not a classic pcap file, or is cut short."""


class PcapRecord(NamedTuple):
    """One record: time (float seconds and exact nanoseconds), bytes, length on the wire."""

    ts: float
    frame: bytes
    ts_ns: int
    orig_len: int


class PcapWriter:
    """Writes a microsecond-resolution pcap file, one flushed record per :meth:`write`.

    ``target`` is a path (created or truncated) or a binary file object (left open by
    :meth:`close` unless the writer opened it). ``flush=False`` leaves buffering to the file, for
    bulk writing.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        *,
        linktype: int = LINKTYPE_ETHERNET,
        snaplen: int = DEFAULT_SNAPLEN,
        flush: bool = True,
    ) -> None:
        if isinstance(target, (str, os.PathLike)):
            self._file: BinaryIO = open(target, "wb")
            self._owns = True
        else:
            self._file = target
            self._owns = False
        self.snaplen = snaplen
        self.linktype = linktype
        self._flush = flush
        self._closed = False
        self._file.write(_GLOBAL.pack(MAGIC_USEC, 2, 4, 0, 0, snaplen, linktype))
        if flush:
            self._file.flush()

    def write(self, frame: bytes, ts: float | None = None) -> None:
        """Append ``frame`` captured at ``ts`` (seconds since the epoch; default now)."""
        if ts is None:
            ts = time.time()
        sec = int(ts)
        usec = round((ts - sec) * 1_000_000)
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        n = len(frame)
        caplen = min(n, self.snaplen)
        self._file.write(_RECORD_LE.pack(sec, usec, caplen, n) + frame[:caplen])
        if self._flush:
            self._file.flush()

    def close(self) -> None:
        """Flush, and close the file if the writer opened it."""
        if self._closed:
            return
        self._closed = True
        self._file.flush()
        if self._owns:
            self._file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcapReader:
    """Reads a classic pcap file: iterating yields ``(ts, frame)``; see also :meth:`records`.

    ``ts`` is float seconds since the epoch; :meth:`records` also gives the exact nanoseconds and
    the original length (a record may hold fewer bytes than were on the wire). A record cut short
    by the end of the file raises :class:`PcapError`.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(source, (str, os.PathLike)):
            self.name = os.fspath(source)
            self._file: BinaryIO = open(source, "rb")
            self._owns = True
        else:
            self.name = getattr(source, "name", "<pcap>")
            self._file = source
            self._owns = False
        head = self._file.read(_GLOBAL.size)
        if len(head) < _GLOBAL.size:
            self.close()
            raise PcapError(f"{self.name}: too short for a pcap header")
        magic_le = struct.unpack_from("<I", head)[0]
        magic_be = struct.unpack_from(">I", head)[0]
        if magic_le in (MAGIC_USEC, MAGIC_NSEC):
            order, magic = "<", magic_le
        elif magic_be in (MAGIC_USEC, MAGIC_NSEC):
            order, magic = ">", magic_be
        else:
            self.close()
            hint = " (pcapng is not supported)" if magic_le == 0x0A0D0D0A else ""
            raise PcapError(f"{self.name}: not a pcap file, magic {magic_le:#010x}{hint}")
        _, self.version_major, self.version_minor, _, _, self.snaplen, self.linktype = (
            struct.unpack(order + "IHHiIII", head)
        )
        self.nanosecond = magic == MAGIC_NSEC
        self._record = _RECORD_LE if order == "<" else _RECORD_BE

    def records(self) -> Iterator[PcapRecord]:
        """Every remaining record, in file order."""
        read = self._file.read
        rec = self._record
        size = rec.size
        nano = self.nanosecond
        while True:
            head = read(size)
            if not head:
                return
            if len(head) < size:
                raise PcapError(f"{self.name}: truncated record header")
            sec, frac, caplen, orig_len = rec.unpack(head)
            data = read(caplen)
            if len(data) < caplen:
                raise PcapError(f"{self.name}: truncated record ({len(data)} of {caplen} bytes)")
            ns = sec * 1_000_000_000 + (frac if nano else frac * 1000)
            yield PcapRecord(sec + frac / (1e9 if nano else 1e6), data, ns, orig_len)

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        for r in self.records():
            yield r.ts, r.frame

    def close(self) -> None:
        """Close the file if the reader opened it."""
        if self._owns:
            self._file.close()

    def __enter__(self) -> PcapReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_pcap(path: str | os.PathLike[str]) -> list[tuple[float, bytes]]:
    """Every ``(ts, frame)`` of a pcap file."""
    with PcapReader(path) as r:
        return list(r)


def write_pcap(path: str | os.PathLike[str], frames: Iterable[bytes | tuple[float, bytes]]) -> None:
    """Write frames (bare, stamped now, or ``(ts, frame)`` pairs) to a new pcap file."""
    with PcapWriter(path, flush=False) as w:
        for item in frames:
            if isinstance(item, tuple):
                w.write(item[1], item[0])
            else:
                w.write(item)


def capture_path(directory: str | os.PathLike[str], name: str, direction: Direction) -> Path:
    """BMv2's capture file for interface ``name``: ``DIR/<name>_in.pcap`` or ``_out.pcap``."""
    return Path(directory) / f"{name}_{direction}.pcap"


class PcapCapture(Capture):
    """``--pcap DIR``: two files per port, ``<name>_in.pcap`` and ``<name>_out.pcap``.

    Files are created (truncated) when a port is added to the set, as BMv2 creates them when it
    adds the interface; every record is flushed at once.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise NotADirectoryError(f"pcap capture directory {str(self.directory)!r} not found")
        self._writers: dict[tuple[int, Direction], PcapWriter] = {}

    def port_added(self, port: Port) -> None:
        """Create the port's two files."""
        for direction in ("in", "out"):
            self._writer(port, direction)

    def _writer(self, port: Port, direction: Direction) -> PcapWriter:
        key = (port.number, direction)
        w = self._writers.get(key)
        if w is None:
            w = PcapWriter(capture_path(self.directory, port.name, direction))
            self._writers[key] = w
        return w

    def frame(self, port: Port, direction: Direction, frame: bytes, ts: float) -> None:
        """Append ``frame`` to the port's file for ``direction``."""
        w = self._writers.get((port.number, direction)) or self._writer(port, direction)
        w.write(frame, ts)

    def close(self) -> None:
        """Close every file."""
        for w in self._writers.values():
            w.close()
        self._writers.clear()
