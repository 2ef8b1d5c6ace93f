"""The port contract and the set of ports a switch thread polls.

A :class:`Port` moves whole Ethernet frames (``bytes``, no FCS) in and out of the switch. Ports
backed by a file descriptor (raw sockets) are waited on with :mod:`selectors`; in-process ports
have no descriptor and instead tell their :class:`PortSet` when a frame arrives, which wakes the
set's selector through a self-pipe. Either way a switch thread blocks in :meth:`PortSet.poll`
until there is work, with no per-packet thread and no busy wait.

Every frame the set receives or sends goes through its optional :class:`Capture` (pcap writing,
see :class:`~softswitch.ports.pcap.PcapCapture`).
"""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Callable, Iterator
from typing import Literal

__all__ = ["Capture", "Direction", "Port", "PortError", "PortSet", "parse_interface"]

Direction = Literal["in", "out"]

# Frames taken from one port per poll: bounds the latency other ports see behind a busy one.
DEFAULT_BATCH = 64


class PortError(OSError):
    """A port could not be opened or used; the message says why and what to do."""


def parse_interface(spec: str) -> tuple[int, str]:
    """BMv2's ``-i`` argument ``<port-num>@<interface-name>`` as ``(number, name)``."""
    number, sep, name = spec.partition("@")
    if not sep or not name or not number.isdigit():
        raise ValueError(f"bad interface {spec!r}: expected <port-num>@<interface-name>")
    return int(number), name


class Port:
    """One switch port: a number (``ingress_port``/``egress_spec``) and a name.

    Subclasses implement :meth:`send` and :meth:`recv_nowait`; descriptor-backed ports return
    their descriptor from :meth:`fileno`, in-process ports return ``None`` and call
    :meth:`_notify` whenever a frame becomes available.
    """

    def __init__(self, number: int, name: str | None = None) -> None:
        if number < 0:
            raise ValueError(f"port number must be >= 0, not {number}")
        self.number = number
        self.name = name if name is not None else str(number)
        self._listener: Callable[[], None] | None = None

    def send(self, frame: bytes) -> None:
        """Transmit one frame out of the port."""
        raise NotImplementedError

    def recv_nowait(self) -> bytes | None:
        """The next received frame, or ``None`` at once when there is none."""
        raise NotImplementedError

    def fileno(self) -> int | None:
        """A descriptor that is readable when a frame may be waiting, or ``None``."""
        return None

    def close(self) -> None:
        """Release what the port holds; sending or receiving afterwards is an error."""

    def set_listener(self, listener: Callable[[], None] | None) -> None:
        """Called (from any thread) when a descriptor-less port gets a frame; set by PortSet."""
        self._listener = listener

    def _notify(self) -> None:
        listener = self._listener
        if listener is not None:
            listener()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.number}, {self.name!r})"


class Capture:
    """Receives a copy of every frame a :class:`PortSet` receives (``"in"``) or sends (``"out"``).

    The base class does nothing; subclasses override what they need.
    """

    def port_added(self, port: Port) -> None:
        """A port joined the set (BMv2 creates its capture files at this point)."""

    def frame(self, port: Port, direction: Direction, frame: bytes, ts: float) -> None:
        """One frame, with its wall-clock time in seconds since the epoch."""

    def close(self) -> None:
        """Flush and release everything."""


class PortSet:
    """Ports by number, one blocking receive loop over all of them, and an optional capture.

    Meant for one switch thread calling :meth:`poll` and :meth:`send`; other threads may inject
    into in-process ports and call :meth:`wake`. Sending to a number without a port drops the
    frame silently, as BMv2 does.
    """

    def __init__(self, capture: Capture | None = None, *, batch: int = DEFAULT_BATCH) -> None:
        self.capture = capture
        self.batch = batch
        self._ports: dict[int, Port] = {}
        self._fd_ports: list[Port] = []
        self._queue_ports: list[Port] = []
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._wake_pending = False
        self._closed = False

    # -- membership --------------------------------------------------------------------------

    def add(self, port: Port) -> Port:
        """Add ``port`` (its number must be free); returns it."""
        if port.number in self._ports:
            raise ValueError(f"port {port.number} is already in the set")
        self._ports[port.number] = port
        fd = port.fileno()
        if fd is None:
            self._queue_ports.append(port)
            self._queue_ports.sort(key=lambda p: p.number)
            port.set_listener(self.wake)
        else:
            self._fd_ports.append(port)
            self._selector.register(fd, selectors.EVENT_READ, port)
        if self.capture is not None:
            self.capture.port_added(port)
        return port

    def remove(self, number: int) -> Port:
        """Take port ``number`` out of the set (it is not closed) and return it."""
        port = self._ports.pop(number)
        if port in self._fd_ports:
            self._fd_ports.remove(port)
            fd = port.fileno()
            if fd is not None:
                self._selector.unregister(fd)
        else:
            self._queue_ports.remove(port)
            port.set_listener(None)
        return port

    def __getitem__(self, number: int) -> Port:
        return self._ports[number]

    def __contains__(self, number: object) -> bool:
        return number in self._ports

    def __iter__(self) -> Iterator[Port]:
        return iter(sorted(self._ports.values(), key=lambda p: p.number))

    def __len__(self) -> int:
        return len(self._ports)

    def numbers(self) -> list[int]:
        """Port numbers, ascending."""
        return sorted(self._ports)

    # -- packets -----------------------------------------------------------------------------

    def send(self, number: int, frame: bytes) -> bool:
        """Send ``frame`` out of port ``number``; ``False`` (frame dropped) if there is none."""
        port = self._ports.get(number)
        if port is None:
            return False
        if self.capture is not None:
            self.capture.frame(port, "out", frame, time.time())
        port.send(frame)
        return True

    def wake(self) -> None:
        """Make a blocked (or the next) :meth:`poll` return; safe from any thread."""
        if not self._wake_pending:
            self._wake_pending = True
            try:
                os.write(self._wake_w, b"\0")
            except (BlockingIOError, OSError):
                pass  # pipe full (already awake) or closed (shutting down)

    def poll(self, timeout: float | None = None) -> list[tuple[Port, bytes]]:
        """Frames received since the last call, waiting up to ``timeout`` seconds for the first.

        ``timeout=None`` waits until a frame arrives or :meth:`wake` is called; ``0`` never
        waits. At most ``batch`` frames are taken from each port per call, in-process ports
        first, then descriptor-backed ones, each group in ascending port number; frames of one
        port keep their order. An empty list means the wait ended without frames.
        """
        # Queues are drained first on every call, so a frame whose wake-up was absorbed by an
        # earlier call is still taken now.
        out = self._drain_queues()
        ready = self._selector.select(0 if out else timeout)
        if not out and not ready:
            return out
        woke = False
        for key, _ in ready:
            if key.data is None:
                self._clear_wake()
                woke = True
        if woke and not out and self._queue_ports:
            out.extend(self._drain_queues())
        if self._fd_ports:
            ready_ports = sorted(
                (key.data for key, _ in ready if key.data is not None), key=lambda p: p.number
            )
            for port in ready_ports:
                self._drain(port, out)
        if out and self.capture is not None:
            now = time.time()
            cap = self.capture
            for port, frame in out:
                cap.frame(port, "in", frame, now)
        return out

    def _drain_queues(self) -> list[tuple[Port, bytes]]:
        out: list[tuple[Port, bytes]] = []
        for port in self._queue_ports:
            self._drain(port, out)
        return out

    def _drain(self, port: Port, out: list[tuple[Port, bytes]]) -> None:
        recv = port.recv_nowait
        for _ in range(self.batch):
            frame = recv()
            if frame is None:
                return
            out.append((port, frame))

    def _clear_wake(self) -> None:
        # Empty the pipe, then clear the flag. The other order could swallow the byte of a
        # wake() that ran in between and leave the flag set over an empty pipe, silencing every
        # later wake(). This order risks only a spurious early return; a frame whose wake() saw
        # the flag still set is taken by the queue drain that follows or starts the next poll.
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self._wake_pending = False

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every port, the capture and the selector."""
        if self._closed:
            return
        self._closed = True
        for port in list(self._ports.values()):
            port.set_listener(None)
            port.close()
        self._ports.clear()
        self._fd_ports.clear()
        self._queue_ports.clear()
        if self.capture is not None:
            self.capture.close()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> PortSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
