"""In-process ports and the PortSet receive loop."""

from __future__ import annotations

import threading
import time

import pytest

from softswitch.ports import Capture, InProcessPort, Port, PortSet, pair, parse_interface
from softswitch.ports.base import Direction


def test_inject_receive_and_sent_in_order() -> None:
    p = InProcessPort(3)
    assert (p.number, p.name, p.fileno()) == (3, "3", None)
    assert p.recv_nowait() is None
    p.inject(b"a")
    p.inject(bytearray(b"b"))
    assert (p.recv_nowait(), p.recv_nowait(), p.recv_nowait()) == (b"a", b"b", None)
    p.send(b"x")
    p.send(b"y")
    assert p.sent == [b"x", b"y"]
    assert p.take_sent() == [b"x", b"y"] and p.sent == []
    p.close()
    with pytest.raises(ValueError):
        p.inject(b"late")


def test_on_send_callback_and_no_recording() -> None:
    seen: list[bytes] = []
    p = InProcessPort(1, "cpu", on_send=seen.append, record_sent=False)
    p.send(b"f")
    assert seen == [b"f"] and p.sent == []


def test_pair_is_back_to_back() -> None:
    a, b = pair(1, 2)
    a.send(b"to-b")
    b.send(b"to-a")
    assert b.recv_nowait() == b"to-b" and a.recv_nowait() == b"to-a"
    assert a.sent == [] and b.sent == []
    c = InProcessPort(5)
    d = InProcessPort(6, record_sent=True)
    pair(c, d)
    d.send(b"z")
    assert c.recv_nowait() == b"z" and d.sent == [b"z"]
    with pytest.raises(ValueError):
        pair(c, c)


def test_portset_poll_orders_by_port_and_batches() -> None:
    ports = PortSet(batch=2)
    p2 = ports.add(InProcessPort(2))
    p1 = ports.add(InProcessPort(1))
    assert ports.numbers() == [1, 2] and 1 in ports and len(ports) == 2
    assert [p.number for p in ports] == [1, 2]
    with pytest.raises(ValueError):
        ports.add(InProcessPort(1))
    for i in range(3):
        p2.inject(b"b%d" % i)
    p1.inject(b"a0")
    first = [(p.number, f) for p, f in ports.poll(0)]
    assert first == [(1, b"a0"), (2, b"b0"), (2, b"b1")]  # at most 2 per port per poll
    assert [(p.number, f) for p, f in ports.poll(0)] == [(2, b"b2")]
    assert ports.poll(0) == []
    ports.close()


def test_portset_send_and_unknown_port() -> None:
    with PortSet() as ports:
        p = ports.add(InProcessPort(0))
        assert ports.send(0, b"out")
        assert not ports.send(9, b"nowhere")
        assert isinstance(p, InProcessPort) and p.sent == [b"out"]
        removed = ports.remove(0)
        assert removed is p and 0 not in ports
        p.inject(b"after")  # no longer in the set: no wake-up, no error
        assert ports.poll(0) == []


def test_poll_blocks_until_another_thread_injects() -> None:
    ports = PortSet()
    p = ports.add(InProcessPort(0))
    assert isinstance(p, InProcessPort)
    t0 = time.monotonic()
    assert ports.poll(0.05) == []
    assert time.monotonic() - t0 >= 0.04  # really waited

    def later() -> None:
        time.sleep(0.05)
        p.inject(b"hello")

    threading.Thread(target=later).start()
    t0 = time.monotonic()
    got = ports.poll(5.0)
    assert [f for _, f in got] == [b"hello"]
    assert time.monotonic() - t0 < 2.0  # woken, not timed out
    ports.close()


def test_wake_interrupts_a_blocking_poll() -> None:
    ports = PortSet()
    ports.add(InProcessPort(0))
    threading.Timer(0.05, ports.wake).start()
    t0 = time.monotonic()
    assert ports.poll(None) == []
    assert time.monotonic() - t0 < 2.0
    ports.close()


def test_many_injections_from_a_thread_all_arrive_in_order() -> None:
    ports = PortSet()
    p = ports.add(InProcessPort(0))
    assert isinstance(p, InProcessPort)
    n = 5000

    def producer() -> None:
        for i in range(n):
            p.inject(i.to_bytes(4, "big"))

    t = threading.Thread(target=producer)
    t.start()
    got: list[bytes] = []
    t0 = time.monotonic()
    deadline = t0 + 20
    while len(got) < n and time.monotonic() < deadline:
        got += [f for _, f in ports.poll(5.0)]
    t.join()
    assert [int.from_bytes(f, "big") for f in got] == list(range(n))
    assert time.monotonic() - t0 < 4.0  # no wake-up was lost (a lost one costs 5 s)
    ports.close()


def test_two_portsets_cabled_through_a_pair() -> None:
    a, b = pair(0, 0)
    left, right = PortSet(), PortSet()
    left.add(a)
    right.add(b)
    left.send(0, b"across")
    assert [(p is b, f) for p, f in right.poll(1.0)] == [(True, b"across")]
    left.close()
    right.close()


class Recorder(Capture):
    def __init__(self) -> None:
        self.added: list[int] = []
        self.frames: list[tuple[int, Direction, bytes]] = []
        self.closed = False

    def port_added(self, port: Port) -> None:
        self.added.append(port.number)

    def frame(self, port: Port, direction: Direction, frame: bytes, ts: float) -> None:
        assert ts > 1e9
        self.frames.append((port.number, direction, frame))

    def close(self) -> None:
        self.closed = True


def test_capture_sees_every_frame_in_both_directions() -> None:
    rec = Recorder()
    ports = PortSet(capture=rec)
    p = ports.add(InProcessPort(4))
    assert isinstance(p, InProcessPort)
    p.inject(b"i1")
    ports.poll(0)
    ports.send(4, b"o1")
    ports.send(5, b"dropped")
    ports.close()
    assert rec.added == [4]
    assert rec.frames == [(4, "in", b"i1"), (4, "out", b"o1")]
    assert rec.closed


def test_parse_interface_as_bmv2() -> None:
    assert parse_interface("0@veth0") == (0, "veth0")
    assert parse_interface("12@eth1@x") == (12, "eth1@x")
    for bad in ("veth0", "@veth0", "x@veth0", "1@"):
        with pytest.raises(ValueError, match="port-num"):
            parse_interface(bad)
