"""BMv2's ``--use-files`` mode: ports whose wire is a pair of pcap files.

What BMv2 does (``FilesDevMgrImp`` with ``PcapFilesReader``/``PcapFilesWriter``), and so do we:

- Interface ``X`` (the name after ``@`` in ``-i 1@X``) reads ``X_in.pcap`` and writes
  ``X_out.pcap``. Both are opened when the port is added: a missing input file is an error, the
  output file is created (truncated) even if nothing is ever sent.
- After waiting the ``--use-files`` argument in seconds, the inputs of all ports are replayed as
  one stream ordered by capture time: each step delivers the earliest pending record over all
  files, a tie going to the lowest port number (BMv2 adds ports in ascending number order and
  keeps the first minimum). Times are compared in microseconds, as libpcap presents them, so
  records of a nanosecond file that share a microsecond are ties.
- There is no pacing: a record goes as soon as the switch takes the previous one (BMv2 passes
  ``respectTiming = false``). ``respect_timing=True`` here keeps the inter-record gaps instead.
- A record shorter than its original length is an error. When every input is consumed the
  switch keeps running; it never stops by itself.
- Output records are stamped with the wall-clock time of sending and flushed one by one; a
  frame sent to a port without files is dropped.

One difference: BMv2 writes its ``X_out.pcap`` files with link type 0 (it opens a "dead" pcap
handle with link type 0); ours say Ethernet (1), so Wireshark decodes them. Frames are the same.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path

from .base import DEFAULT_BATCH, Capture, Port, PortSet
from .pcap import PcapError, PcapReader, PcapRecord, PcapWriter

__all__ = ["FilePort", "FilesPortSet", "input_path", "iter_inputs", "output_path"]

log = logging.getLogger("sluice.files")


def input_path(directory: str | os.PathLike[str], name: str) -> Path:
    """``DIR/<name>_in.pcap``: what interface ``name`` receives."""
    return Path(directory) / f"{name}_in.pcap"


def output_path(directory: str | os.PathLike[str], name: str) -> Path:
    """``DIR/<name>_out.pcap``: what interface ``name`` sends."""
    return Path(directory) / f"{name}_out.pcap"


def _port_names(ports: Iterable[int] | Mapping[int, str]) -> dict[int, str]:
    if isinstance(ports, Mapping):
        names = {int(n): str(name) for n, name in ports.items()}
    else:
        names = {int(n): str(n) for n in ports}
    return dict(sorted(names.items()))


def _records(path: Path, port: int) -> Iterator[tuple[int, int, PcapRecord]]:
    with PcapReader(path) as reader:
        for rec in reader.records():
            if len(rec.frame) != rec.orig_len:
                raise PcapError(
                    f"{path}: incompletely captured packet "
                    f"({len(rec.frame)} of {rec.orig_len} bytes)"
                )
            yield rec.ts_ns // 1000, port, rec


def iter_inputs(
    directory: str | os.PathLike[str], ports: Iterable[int] | Mapping[int, str]
) -> Generator[tuple[int, PcapRecord], None, None]:
    """Every input record of ``ports`` as ``(port number, record)``, in BMv2's replay order.

    ``ports`` are numbers (interface ``X`` is the number itself, ``1_in.pcap``) or a mapping
    from number to interface name. Useful on its own for virtual-clock runs, which schedule the
    records by their timestamps.
    """
    names = _port_names(ports)
    paths = []
    for number, name in names.items():
        path = input_path(directory, name)
        if not path.is_file():
            raise FileNotFoundError(f"--use-files: input file for port {number} not found: {path}")
        paths.append((path, number))
    # heapq.merge picks the smallest head and, on equal keys, the earlier iterable: BMv2's scan.
    streams = [_records(path, number) for path, number in paths]
    merged = heapq.merge(*streams, key=lambda item: item[0])
    return ((number, rec) for _, number, rec in merged)


class FilePort(Port):
    """A port that writes what it sends to a pcap file; its input comes from the set's replay."""

    def __init__(self, number: int, name: str, out_path: Path, *, flush: bool = True) -> None:
        super().__init__(number, name)
        self.out_path = out_path
        self._writer = PcapWriter(out_path, flush=flush)

    def send(self, frame: bytes) -> None:
        """Append ``frame`` to ``<name>_out.pcap``, stamped now."""
        self._writer.write(frame)

    def recv_nowait(self) -> bytes | None:
        """Always ``None``: :class:`FilesPortSet` delivers inputs in global order itself."""
        return None

    def close(self) -> None:
        """Close the output file."""
        self._writer.close()


class FilesPortSet(PortSet):
    """The ports of ``--use-files``: :meth:`poll` replays the inputs, :meth:`send` writes.

    ``ports``: numbers (file names ``<number>_in.pcap``) or a number-to-interface-name mapping.
    ``wait_time``: seconds before the first input is delivered (BMv2's ``--use-files`` value).
    ``flush=False`` stops flushing output records one by one (BMv2 flushes each).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        ports: Iterable[int] | Mapping[int, str],
        *,
        wait_time: float = 0.0,
        respect_timing: bool = False,
        flush: bool = True,
        capture: Capture | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        super().__init__(capture, batch=batch)
        self.directory = Path(directory)
        names = _port_names(ports)
        try:
            self._inputs = iter_inputs(self.directory, names)
            for number, name in names.items():
                self.add(FilePort(number, name, output_path(self.directory, name), flush=flush))
        except BaseException:
            self.close()
            raise
        self.respect_timing = respect_timing
        self._start = time.monotonic() + wait_time
        self._next: tuple[int, PcapRecord] | None = None
        self._first_ns: int | None = None
        self._done = False
        self._replay_t0: float | None = None
        self._reported = False
        self.delivered = 0

    def close(self) -> None:
        """Close the input files and every port's output file."""
        inputs = getattr(self, "_inputs", None)
        if inputs is not None:
            inputs.close()
        super().close()

    @property
    def done(self) -> bool:
        """Every input record has been delivered by :meth:`poll`."""
        return self._done

    def _peek(self) -> tuple[int, PcapRecord] | None:
        if self._next is None and not self._done:
            self._next = next(self._inputs, None)
            if self._next is None:
                self._done = True
            elif self._first_ns is None:
                self._first_ns = self._next[1].ts_ns
        return self._next

    def _wait(self, timeout: float | None) -> None:
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                self._clear_wake()

    def poll(self, timeout: float | None = None) -> list[tuple[Port, bytes]]:
        """The next input frames in replay order (up to ``batch``), or wait like PortSet.poll.

        Before ``wait_time`` has passed, and after the last input, this only waits (up to
        ``timeout``, or until :meth:`wake`) and returns an empty list.
        """
        now = time.monotonic()
        if now < self._start:
            delay = self._start - now
            self._wait(delay if timeout is None else min(timeout, delay))
            return []
        if self._peek() is None:
            self._report_done()
            return super().poll(timeout)
        out: list[tuple[Port, bytes]] = []
        ports = self._ports
        while len(out) < self.batch:
            head = self._peek()
            if head is None:
                break
            number, rec = head
            if self.respect_timing:
                assert self._first_ns is not None
                due = self._start + (rec.ts_ns - self._first_ns) / 1e9
                now = time.monotonic()
                if due > now:
                    if not out:
                        delay = due - now
                        self._wait(delay if timeout is None else min(timeout, delay))
                    break
            self._next = None
            out.append((ports[number], rec.frame))
        if out and self._replay_t0 is None:
            self._replay_t0 = time.monotonic()
            log.info("use-files: input started")
        self.delivered += len(out)
        if self._done:
            self._report_done()
        if out and self.capture is not None:
            ts = time.time()
            for port, frame in out:
                self.capture.frame(port, "in", frame, ts)
        return out

    def _report_done(self) -> None:
        """Log once that every input record has been delivered (what a benchmark waits for)."""
        if self._reported or not self._done:
            return
        self._reported = True
        took = time.monotonic() - self._replay_t0 if self._replay_t0 is not None else 0.0
        log.info("use-files: input exhausted after %d packets (%.3f s)", self.delivered, took)
