"""Only for ``tools/bench_p4runtime.py``, which still calls the PTF suites' former client:
:class:`controlplane.p4rt.SwitchConnection` under its old call shapes. New code uses
``SwitchConnection`` itself; delete this module once the bench does.
"""

from __future__ import annotations

from controlplane.p4rt import PacketIn, SwitchConnection

__all__ = ["P4RuntimeClient"]


class P4RuntimeClient(SwitchConnection):
    """A connected, primary :class:`SwitchConnection` that writes each list in one Write RPC."""

    def __init__(self, addr: str, device_id: int = 0, election: tuple[int, int] = (0, 1)) -> None:
        super().__init__(
            addr, device_id, election, replay=False, reconnect=False, batch_size=1 << 30
        )
        self.connect()
        self.wait_for_primary(5.0)

    def packet_in(self, timeout: float) -> PacketIn | None:
        """The next packet-in, or None after ``timeout`` seconds."""
        try:
            return self.packet_ins.get(timeout)
        except TimeoutError:
            return None
