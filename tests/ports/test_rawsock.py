"""Raw-socket ports over veth pairs, inside namespaces these tests create and delete.

Network safety: every interface lives in a namespace made by ``temporary_netns`` (removed with
everything in it, even on failure); frames use documentation addresses only (192.0.2.0/24,
198.51.100.0/24, locally administered MACs). Skipped when not root or ``ip`` is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether

from softswitch.ports import PortError, PortSet, RawSocketPort, open_ports, read_pcap
from softswitch.ports import netns as nsmod
from softswitch.ports.netns import Netns, NetnsError, ToolMissing, temporary_netns

VETH_SH = Path(__file__).resolve().parents[2] / "tools" / "veth.sh"

SRC_MAC, DST_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
DST_BYTES = bytes.fromhex(DST_MAC.replace(":", ""))


def udp_frame(payload: bytes = b"sluice") -> bytes:
    return bytes(
        Ether(src=SRC_MAC, dst=DST_MAC)
        / IP(src="192.0.2.1", dst="198.51.100.1")
        / UDP(sport=1234, dport=5678)
        / payload
    )


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root (raw sockets, network namespaces)"
    if shutil.which("ip") is None:
        return "iproute2's 'ip' is not installed (apt-get install iproute2)"
    return None


needs_root = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


@pytest.fixture
def ns() -> Iterator[Netns]:
    try:
        ctx = temporary_netns("sluice-test")
        netns = ctx.__enter__()
    except NetnsError as e:  # root without CAP_SYS_ADMIN, e.g. an unprivileged container
        pytest.skip(f"cannot create a network namespace here: {e}")
    try:
        yield netns
    finally:
        ctx.__exit__(None, None, None)


def collect(ports: PortSet, want: int, settle: float = 0.2, limit: float = 5.0) -> list:
    """Poll until ``want`` frames arrived, then ``settle`` seconds more for strays."""
    got: list = []
    deadline = time.monotonic() + limit
    while len(got) < want and time.monotonic() < deadline:
        got += [(p.number, f) for p, f in ports.poll(0.5)]
    end = time.monotonic() + settle
    while (left := end - time.monotonic()) > 0:
        got += [(p.number, f) for p, f in ports.poll(left)]
    return got


def open_pair(ns: Netns, a: str = "sw0", b: str = "sw1") -> PortSet:
    ports = PortSet()
    ports.add(ns.run(RawSocketPort, 0, a))
    ports.add(ns.run(RawSocketPort, 1, b))
    return ports


# -- without root ----------------------------------------------------------------------------


def test_permission_error_says_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> socket.socket:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", refuse)
    with pytest.raises(PortError, match="needs root"):
        RawSocketPort(0, "lo")


def test_missing_interface_is_named() -> None:
    with pytest.raises(PortError, match="'nosuch-if0'.*no such interface"):
        RawSocketPort(0, "nosuch-if0")


def test_missing_ip_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nsmod.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissing, match="apt-get install iproute2"):
        with temporary_netns():
            pass


# -- over veth -------------------------------------------------------------------------------


@needs_root
def test_frame_crosses_the_pair_and_the_sender_hears_nothing(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")
    with open_pair(ns) as ports:
        assert ports.poll(0.1) == []  # a quiet link: IPv6 chatter is off
        frame = udp_frame()
        assert ports.send(0, frame)
        assert collect(ports, 1) == [(1, frame)]  # exactly it, on the peer only
        back = udp_frame(b"reply")
        ports.send(1, back)
        assert collect(ports, 1) == [(0, back)]


@needs_root
def test_blocking_poll_wakes_on_a_frame(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")
    with open_pair(ns) as ports:
        sender = ns.run(socket.socket, socket.AF_PACKET, socket.SOCK_RAW, 0)
        ns.run(sender.bind, ("sw0", 0))
        # Another thread can't reach the PortSet; a raw sender in the namespace stands in for
        # the wire, started just before the blocking poll.
        frame = udp_frame(b"wake")
        t0 = time.monotonic()
        sender.send(frame)
        got = ports.poll(5.0)
        assert [(p.number, f) for p, f in got] == [(1, frame)]
        assert time.monotonic() - t0 < 2.0
        sender.close()


@needs_root
def test_short_jumbo_and_many_frames(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")
    with open_pair(ns) as ports:
        arp = bytes(Ether(src=SRC_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="192.0.2.1"))
        assert len(arp) == 42
        ports.send(0, arp)
        assert collect(ports, 1, settle=0.05) == [(1, arp)]  # not padded to 60 on veth
        jumbo = udp_frame(bytes(9000))
        ports.send(0, jumbo)
        assert collect(ports, 1, settle=0.05) == [(1, jumbo)]
        frames = [udp_frame(i.to_bytes(4, "big")) for i in range(500)]
        for f in frames:
            ports.send(0, f)
        assert collect(ports, 500, settle=0.05) == [(1, f) for f in frames]
        port1 = ports[1]
        assert isinstance(port1, RawSocketPort) and port1.rx_dropped == 0
        ports.send(0, b"\x01" * 5)  # shorter than an Ethernet header: the kernel refuses it
        port0 = ports[0]
        assert isinstance(port0, RawSocketPort) and port0.tx_dropped == 1


@needs_root
def test_vlan_tag_restored_when_the_kernel_strips_it(ns: Netns) -> None:
    # A bare pair, VLAN offloads left on: the receive path strips the tag into metadata.
    ns.ip("link", "add", "sw0", "type", "veth", "peer", "name", "sw1")
    for name in ("sw0", "sw1"):
        ns.ip("link", "set", name, "up")
    with open_pair(ns) as ports:
        tagged = bytes(
            Ether(src=SRC_MAC, dst=DST_MAC)
            / Dot1Q(vlan=42, prio=5)
            / IP(src="192.0.2.1", dst="198.51.100.1")
            / UDP(sport=1, dport=2)
            / b"tagged"
        )
        ports.send(0, tagged)
        # IPv6 is left on here too, so skip the kernel's own multicast chatter.
        got = [(n, f) for n, f in collect(ports, 1, settle=0.1) if f.startswith(DST_BYTES)]
        assert got == [(1, tagged)]


@needs_root
def test_promiscuous_while_open(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")

    def flags() -> str:
        return ns.ip("-d", "link", "show", "sw1")

    with open_pair(ns):
        assert "promiscuity 1" in flags()
    assert "promiscuity 0" in flags()  # the membership went with the socket


@needs_root
def test_missing_interface_inside_namespace(ns: Netns) -> None:
    with pytest.raises(PortError, match="no such interface"):
        ns.run(RawSocketPort, 0, "veth0")


# -- namespaces and veth set-up --------------------------------------------------------------


@needs_root
def test_run_in_netns_is_isolated_and_returns_or_raises(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")
    assert ns.run(socket.if_nametoindex, "sw0") > 0
    with pytest.raises(OSError):
        socket.if_nametoindex("sw0")  # the calling thread is still in its own namespace
    with pytest.raises(ZeroDivisionError):
        ns.run(lambda: 1 / 0)


@needs_root
def test_temporary_netns_removes_everything_even_on_failure() -> None:
    name = ""
    with pytest.raises(RuntimeError, match="boom"):
        with temporary_netns("sluice-test") as ns:
            name = ns.name
            ns.veth_pair("sw0", "sw1")
            port = ns.run(RawSocketPort, 0, "sw0")  # an open socket keeps a namespace alive
            raise RuntimeError("boom")
    assert name and not nsmod.netns_exists(name)
    assert name not in nsmod.list_netns()
    port.close()


@needs_root
def test_veth_up_and_down_in_python(ns: Netns) -> None:
    assert ns.veth_up(2) == [("veth0", "veth1"), ("veth2", "veth3")]
    assert sorted(nsmod.list_links(netns=ns.name, kind="veth")) == [
        "veth0",
        "veth1",
        "veth2",
        "veth3",
    ]
    info = ns.ip("-d", "link", "show", "veth3")
    assert "mtu 9500" in info and "state UP" in info
    if Path("/proc/sys/net/ipv6").is_dir():
        conf = Path("/proc/sys/net/ipv6/conf/veth0")
        assert ns.run((conf / "disable_ipv6").read_text).strip() == "1"
        assert ns.run((conf / "accept_dad").read_text).strip() == "0"
    ns.veth_up(2)  # again: kept as they are
    assert sorted(nsmod.veth_down(1, netns=ns.name)) == ["veth0", "veth1"]
    assert sorted(nsmod.list_links(netns=ns.name, kind="veth")) == ["veth2", "veth3"]
    nsmod.veth_down(netns=ns.name)
    assert nsmod.list_links(netns=ns.name, kind="veth") == []


@needs_root
def test_veth_sh_up_down(ns: Netns) -> None:
    def run(*args: str) -> None:
        subprocess.run(["sh", str(VETH_SH), *args, "--netns", ns.name], check=True)

    run("up", "2")
    links = sorted(nsmod.list_links(netns=ns.name, kind="veth"))
    assert links == ["veth0", "veth1", "veth2", "veth3"]
    assert "veth0@veth1" in ns.ip("-o", "link", "show", "veth0")
    assert "mtu 9500" in ns.ip("link", "show", "veth2")
    if shutil.which("ethtool"):
        out = subprocess.run(
            ns.exec_argv(["ethtool", "-k", "veth1"]), capture_output=True, text=True
        ).stdout
        assert "tx-checksumming: off" in out and "rx-checksumming: off" in out
    run("down")
    assert nsmod.list_links(netns=ns.name, kind="veth") == []


@needs_root
def test_open_ports_in_a_namespace_with_pcap_capture(ns: Netns, tmp_path: Path) -> None:
    ns.veth_up(1)
    ports = open_ports(["0@veth0", "1@veth1"], pcap_dir=tmp_path, netns=ns.name)
    frame = udp_frame(b"captured")
    ports.send(0, frame)
    assert collect(ports, 1) == [(1, frame)]
    ports.close()
    assert [f for _, f in read_pcap(tmp_path / "veth0_out.pcap")] == [frame]
    assert [f for _, f in read_pcap(tmp_path / "veth1_in.pcap")] == [frame]
    assert read_pcap(tmp_path / "veth0_in.pcap") == read_pcap(tmp_path / "veth1_out.pcap") == []


@needs_root
def test_receive_overflow_is_counted(ns: Netns) -> None:
    ns.veth_pair("sw0", "sw1")
    tx = ns.run(RawSocketPort, 0, "sw0")
    rx = ns.run(RawSocketPort, 1, "sw1", rcvbuf=4096)  # room for a few frames only
    n = 200
    for i in range(n):
        tx.send(udp_frame(i.to_bytes(4, "big")))
    time.sleep(0.1)
    received = 0
    while rx.recv_nowait() is not None:
        received += 1
    assert rx.rx_dropped > 0
    assert received + rx.rx_dropped + tx.tx_dropped == n
    tx.close()
    rx.close()
