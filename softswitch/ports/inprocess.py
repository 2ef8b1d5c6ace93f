"""Ports that live inside the process: for tests, the STF runner and virtual-clock runs.

The test plays the wire: :meth:`InProcessPort.inject` puts a frame on the port's receive queue
(a :class:`collections.deque`, safe to append from another thread), and every frame the switch
sends is kept in :attr:`InProcessPort.sent`, in order, and/or handed to an ``on_send`` callback.
:func:`pair` cables two ports back to back, so what one sends the other receives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from .base import Port

__all__ = ["InProcessPort", "pair"]


class InProcessPort(Port):
    """A port whose wire is the calling code.

    ``on_send`` (if given) is called with each sent frame; ``record_sent=False`` stops keeping
    them in :attr:`sent` (a long run through a callback should not grow a list).
    """

    def __init__(
        self,
        number: int,
        name: str | None = None,
        *,
        on_send: Callable[[bytes], None] | None = None,
        record_sent: bool = True,
    ) -> None:
        super().__init__(number, name)
        self.rx: deque[bytes] = deque()
        self.sent: list[bytes] = []
        self.on_send = on_send
        self.record_sent = record_sent
        self._closed = False

    def inject(self, frame: bytes) -> None:
        """A frame arrives from the wire (any thread)."""
        if self._closed:
            raise ValueError(f"{self!r} is closed")
        self.rx.append(bytes(frame))
        self._notify()

    def recv_nowait(self) -> bytes | None:
        """The oldest injected frame not yet received, or ``None``."""
        try:
            return self.rx.popleft()
        except IndexError:
            return None

    def send(self, frame: bytes) -> None:
        """Record ``frame`` in :attr:`sent` and pass it to ``on_send``."""
        if self._closed:
            raise ValueError(f"{self!r} is closed")
        frame = bytes(frame)
        if self.record_sent:
            self.sent.append(frame)
        if self.on_send is not None:
            self.on_send(frame)

    def take_sent(self) -> list[bytes]:
        """The frames sent since the last call (and forget them)."""
        out, self.sent = self.sent, []
        return out

    def close(self) -> None:
        """Refuse further frames; queued ones are dropped."""
        self._closed = True
        self.rx.clear()


def pair(
    a: int | InProcessPort, b: int | InProcessPort, *, record_sent: bool = False
) -> tuple[InProcessPort, InProcessPort]:
    """Two ports cabled back to back: a frame sent on one is injected into the other.

    ``a`` and ``b`` are port numbers (new ports are made, keeping sent frames only if
    ``record_sent``) or existing ports, whose ``on_send`` is replaced.
    """
    pa = a if isinstance(a, InProcessPort) else InProcessPort(a, record_sent=record_sent)
    pb = b if isinstance(b, InProcessPort) else InProcessPort(b, record_sent=record_sent)
    if pa is pb:
        raise ValueError("cannot pair a port with itself")
    pa.on_send = pb.inject
    pb.on_send = pa.inject
    return pa, pb
