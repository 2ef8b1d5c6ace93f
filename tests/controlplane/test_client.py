"""SwitchConnection against the embedded target's P4Runtime server (in-process, 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from controlplane.p4rt import (
    Bmv2Driver,
    CounterEntry,
    DigestEntry,
    DriverError,
    MulticastGroup,
    NotSupported,
    P4RuntimeError,
    RegisterEntry,
    SoftswitchDriver,
    StateReplay,
    SwitchConnection,
    SwitchUnavailable,
    TableEntry,
    Update,
    UpdateType,
)
from controlplane.p4rt.client import pipeline_cookie
from softswitch.admin import AdminServer
from softswitch.p4runtime.server import P4RuntimeServer
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime

from .test_schema import compiled, schema

DEVICE_ID = 1
CPU_PORT = 255
MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def eth(dst: str, src: str) -> bytes:
    """An Ethernet frame with an IPv4 header from 192.0.2.1 to 198.51.100.1."""
    ip = bytes.fromhex("450000140000000040110000") + bytes([192, 0, 2, 1, 198, 51, 100, 1])
    return (
        bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + b"\x08\x00" + ip
    )


class Switch:
    """A runtime + P4Runtime server (+ admin interface); port 1 is wired back into port 2."""

    def __init__(self, port: int = 0) -> None:
        self.ports = PortSet()
        self.p2 = self.ports.add(InProcessPort(2))
        self.p1 = self.ports.add(InProcessPort(1, on_send=self.p2.inject))
        self.rt = SwitchRuntime(
            self.ports, device_id=DEVICE_ID, cpu_port=CPU_PORT, tick_interval=0.01
        )
        self.server = P4RuntimeServer(self.rt, f"127.0.0.1:{port}", idle_scan_interval=0.01)
        self.server.start()
        self.rt.start()
        self.addr = f"127.0.0.1:{self.server.port}"
        self.admin: AdminServer | None = None

    def start_admin(self) -> str:
        self.admin = AdminServer(self.rt, "127.0.0.1:0")
        self.admin.start()
        return f"127.0.0.1:{self.admin.port}"

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.stop()
        self.server.stop(grace=0.2)
        self.rt.stop()


@pytest.fixture
def sw() -> Iterator[Switch]:
    s = Switch()
    yield s
    s.stop()


@pytest.fixture
def connect(sw: Switch) -> Iterator[Callable[..., SwitchConnection]]:
    conns: list[SwitchConnection] = []

    def make(election_id: Any = 1, **kw: Any) -> SwitchConnection:
        c = SwitchConnection(sw.addr, DEVICE_ID, election_id, **kw)
        conns.append(c)
        return c.connect(timeout=3)

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def conn(connect: Callable[..., SwitchConnection]) -> SwitchConnection:
    c = connect(election_id=10)
    c.set_pipeline(compiled().p4info, compiled().device_config_bytes())
    return c


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def dmac(mac: str, action: str = "forward", **params: Any) -> TableEntry:
    return TableEntry("dmac", {"hdr.ethernet.dst": mac}, action, params)


# -- connecting and arbitration -------------------------------------------------------------------


def test_unreachable_switch_names_the_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nobody listens there
    c = SwitchConnection(f"127.0.0.1:{port}", DEVICE_ID)
    with pytest.raises(SwitchUnavailable, match=f"127.0.0.1:{port}") as info:
        c.connect(timeout=0.5)
    assert isinstance(info.value, ConnectionError)
    with pytest.raises(SwitchUnavailable, match=f"127.0.0.1:{port}"):
        c.get_pipeline()
    c.close()


def test_unknown_device_id_is_a_p4runtime_error(sw: Switch) -> None:
    c = SwitchConnection(sw.addr, device_id=7)
    with pytest.raises(P4RuntimeError) as info:
        c.connect(timeout=3)
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert "arbitration: NOT_FOUND" in str(info.value)
    c.close()


def test_arbitration_with_two_connections(connect: Callable[..., SwitchConnection]) -> None:
    a = connect(election_id=(0, 1))
    assert a.is_primary
    b = connect(election_id=(0, 2))
    assert b.is_primary
    wait_for(lambda: not a.is_primary)
    assert a.last_arbitration.primary_election_id == 2
    with pytest.raises(P4RuntimeError) as info:  # a backup may not write
        a.set_pipeline(compiled().p4info, compiled().device_config_bytes())
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(TimeoutError, match="not primary"):
        a.wait_for_primary(timeout=0.1)
    b.close()  # the server promotes the best backup
    a.wait_for_primary(timeout=3)
    assert a.is_primary
    a.set_election_id(5)
    wait_for(lambda: a.last_arbitration.primary_election_id == 5)


def test_roles_have_their_own_primary(connect: Callable[..., SwitchConnection]) -> None:
    default = connect(election_id=3)
    apps = connect(election_id=1, role="apps")
    assert default.is_primary and apps.is_primary
    apps.set_pipeline(compiled().p4info, compiled().device_config_bytes())
    apps.insert(dmac(MAC_A, port=1))
    assert len(list(default.read(TableEntry("dmac")))) == 1


# -- pipeline and entities ------------------------------------------------------------------------


def test_set_and_get_pipeline(conn: SwitchConnection) -> None:
    p4info, cfg = compiled().p4info, compiled().device_config_bytes()
    got = conn.get_pipeline()
    assert got.p4info == p4info
    assert got.cookie == pipeline_cookie(p4info, cfg)
    assert conn.get_pipeline("cookie_only").p4info is None
    assert conn.schema.tables["dmac"].name == "I.dmac"
    conn.insert(dmac(MAC_A, port=1))
    conn.set_pipeline(p4info, cfg, action="reconcile_and_commit", cookie=99)
    assert conn.get_pipeline("cookie_only").cookie == 99
    assert len(list(conn.read(TableEntry("dmac")))) == 1  # kept by the reconcile
    conn.set_pipeline(p4info, cfg)
    assert list(conn.read(TableEntry("dmac"))) == []
    with pytest.raises(ValueError, match="unknown pipeline action"):
        conn.set_pipeline(p4info, cfg, action="commit_now")


def test_schema_comes_from_the_switch(sw: Switch, conn: SwitchConnection) -> None:
    other = SwitchConnection(sw.addr, DEVICE_ID, 9).connect(timeout=3)
    try:
        assert other.schema is not None and "acl" in other.schema.tables
    finally:
        other.close()


def test_insert_read_modify_delete_by_name(conn: SwitchConnection) -> None:
    conn.insert(
        [
            dmac(MAC_A, port=1),
            TableEntry(
                "lpm4", {"ipv4_dst": "198.51.100.0/24"}, "set_nhop", {"dmac": MAC_B, "port": 2}
            ),
            TableEntry("lpm6", {"hdr.ipv6.dst": "2001:db8::/32"}, "drop"),
            TableEntry(
                "acl",
                {"hdr.ipv4.src": "192.0.2.0&&&255.255.255.0", "hdr.ipv4.protocol": "6..17"},
                "acl_drop",
                priority=10,
            ),
        ]
    )
    entries = {e.table: e for e in conn.read(TableEntry())}
    assert set(entries) == {"I.dmac", "I.lpm4", "I.lpm6", "I.acl"}
    assert entries["I.dmac"].params == {"port": 1}
    assert entries["I.lpm4"].match == {"ipv4_dst": (0xC6336400, 24)}
    assert entries["I.acl"].match["hdr.ipv4.protocol"] == (6, 17)

    conn.modify(dmac(MAC_A, "to_cpu"))
    (e,) = conn.read(TableEntry("dmac"))
    assert e.action == "I.to_cpu" and e.params == {}
    conn.modify(TableEntry("lpm4", action="drop", is_default=True))
    (d,) = conn.read(TableEntry("lpm4", is_default=True))
    assert d.action == "I.drop"

    conn.delete(dmac(MAC_A, "to_cpu"))
    assert list(conn.read(TableEntry("dmac"))) == []

    conn.modify(RegisterEntry("reg", 3, 0x1234))
    assert [r.value for r in conn.read(RegisterEntry("reg", 3))] == [0x1234]
    assert len(list(conn.read(CounterEntry("ctr")))) == 8
    conn.insert(MulticastGroup(1, [1, 2]))
    assert list(conn.read(MulticastGroup(1))) == [MulticastGroup(1, [(1, 0), (2, 0)])]


def test_batched_writes_of_1000_entries(conn: SwitchConnection) -> None:
    calls = []
    real = conn._stub.Write

    def counting(req: Any, **kw: Any) -> Any:
        calls.append(len(req.updates))
        return real(req, **kw)

    conn._stub.Write = counting
    entries = [dmac(f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}", port=1) for i in range(1000)]
    conn.insert(entries, batch_size=300)
    assert calls == [300, 300, 300, 100]
    assert len(list(conn.read(TableEntry("dmac")))) == 1000
    conn.delete(entries)  # default batch size 500
    assert calls[4:] == [500, 500]
    assert list(conn.read(TableEntry("dmac"))) == []


def test_duplicate_insert_error_details(conn: SwitchConnection) -> None:
    conn.insert([dmac(MAC_A, port=1), dmac(MAC_B, port=2)])
    with pytest.raises(P4RuntimeError) as info:
        conn.insert(
            [dmac("02:00:00:00:00:01", port=1), dmac(MAC_A, port=1), dmac(MAC_B, port=1)],
            batch_size=2,
        )
    err = info.value
    assert err.code == grpc.StatusCode.UNKNOWN
    assert [(e.index, e.code) for e in err.errors] == [
        (1, grpc.StatusCode.ALREADY_EXISTS),
        (2, grpc.StatusCode.ALREADY_EXISTS),
    ]
    text = str(err)
    assert "2 updates failed" in text
    assert "update 1: ALREADY_EXISTS: " in text and "update 2: ALREADY_EXISTS: " in text
    assert err.errors[0].update.entity.table_entry.match[0].exact.value == bytes.fromhex(
        "02000000000a"
    )
    assert len(list(conn.read(TableEntry("dmac")))) == 3  # the new one went in

    with pytest.raises(P4RuntimeError) as info:
        conn.insert(
            [dmac("02:00:00:00:00:02", port=1), dmac(MAC_A, port=1)], atomicity="rollback_on_error"
        )
    assert str(info.value).startswith("Write: update 1: ALREADY_EXISTS: ")
    assert [e.index for e in info.value.aborted] == [0]
    assert len(list(conn.read(TableEntry("dmac")))) == 3  # rolled back


def test_bad_input_never_reaches_the_switch(conn: SwitchConnection) -> None:
    with pytest.raises(ValueError, match="198.51.100.1/33: prefix longer than 32 bits"):
        conn.insert(TableEntry("lpm4", {"ipv4_dst": "198.51.100.1/33"}, "drop"))
    with pytest.raises(LookupError, match="did you mean 'dmac'"):
        conn.insert(TableEntry("dmacc", {}, "drop"))


# -- the stream -----------------------------------------------------------------------------------


def test_packet_out_to_packet_in_round_trip(sw: Switch, conn: SwitchConnection) -> None:
    conn.insert(dmac(MAC_A, "to_cpu"))
    seen: list[Any] = []
    conn.packet_ins.add_callback(seen.append)
    frame = eth(MAC_A, MAC_B)
    # out of port 1, which is wired into port 2, where dmac sends it to the CPU
    conn.packet_out(frame, egress_port=1)
    pin = conn.packet_ins.get(timeout=3)
    assert pin.metadata == {"ingress_port": 2, "_pad": 0}
    assert pin.payload == frame
    assert seen == [pin]
    assert sw.p1.sent == [frame]


def test_stream_errors_come_back_on_the_stream(
    conn: SwitchConnection, connect: Callable[..., SwitchConnection]
) -> None:
    backup = connect(election_id=5)
    assert not backup.is_primary
    backup.packet_out(eth(MAC_A, MAC_B), egress_port=1)  # only the primary may send packets
    err = backup.stream_errors.get(timeout=3)
    assert err.code == grpc.StatusCode.PERMISSION_DENIED and err.kind == "packet_out"


def test_packet_out_on_a_closed_connection(conn: SwitchConnection) -> None:
    conn.close()
    with pytest.raises(SwitchUnavailable, match="not connected"):
        conn.packet_out(b"\x00" * 14, egress_port=1)
    with pytest.raises(EOFError):
        conn.packet_ins.get(timeout=1)


def test_digest_stream_with_ack(sw: Switch, conn: SwitchConnection) -> None:
    conn.insert(
        DigestEntry("learn_t", max_timeout_ns=0, max_list_size=1, ack_timeout_ns=10 * 10**9)
    )
    sw.p1.inject(eth(MAC_B, MAC_A))
    dl = conn.digest_lists.get(timeout=3)
    assert dl.digest == "learn_t"
    assert dl.data == [{"src": 0x02000000000A, "port": 1}]
    sw.p1.inject(eth(MAC_B, MAC_A))  # same value, not acked: the switch holds it back
    with pytest.raises(TimeoutError):
        conn.digest_lists.get(timeout=0.3)
    conn.ack_digest(dl)
    time.sleep(0.05)
    sw.p1.inject(eth(MAC_B, MAC_A))
    again = conn.digest_lists.get(timeout=3)
    assert again.data == dl.data and again.list_id != dl.list_id


def test_idle_timeout_notification(conn: SwitchConnection) -> None:
    entry = TableEntry(
        "dmac", {"hdr.ethernet.dst": MAC_A}, "forward", {"port": 1}, idle_timeout_ns=50_000_000
    )
    conn.insert(entry)
    note = conn.idle_timeouts.get(timeout=5)
    assert [e.match for e in note.entries] == [{"hdr.ethernet.dst": 0x02000000000A}]
    assert note.entries[0].idle_timeout_ns == 50_000_000


# -- reconnect and replay -------------------------------------------------------------------------


def test_reconnect_replays_state_after_the_switch_restarts(sw: Switch) -> None:
    c = SwitchConnection(sw.addr, DEVICE_ID, 1, backoff=(0.05, 0.5)).connect(timeout=3)
    downs, readies = threading.Event(), threading.Event()
    c.on_down(lambda _c: downs.set())
    c.on_ready(lambda _c: readies.set())
    try:
        c.set_pipeline(compiled().p4info, compiled().device_config_bytes())
        c.insert([dmac(MAC_A, port=1), dmac(MAC_B, port=2)])
        c.delete(dmac(MAC_B))
        c.modify(dmac(MAC_A, port=3))
        c.insert(MulticastGroup(5, [1, 2]))
        c.modify(RegisterEntry("reg", 1, 77))

        port = sw.server.port
        sw.stop()
        assert downs.wait(5)
        assert not c.ready.is_set()
        new = Switch(port)  # a fresh switch: no pipeline, no entries
        try:
            assert readies.wait(10)
            assert c.reconnects == 1 and c.is_primary
            assert c.replay.replays == 1
            assert new.rt.pipeline is not None
            assert [(e.match, e.params) for e in c.read(TableEntry("dmac"))] == [
                ({"hdr.ethernet.dst": 0x02000000000A}, {"port": 3})
            ]
            assert [g.group_id for g in c.read(MulticastGroup())] == [5]
            assert [r.value for r in c.read(RegisterEntry("reg", 1))] == [77]
        finally:
            new.stop()
    finally:
        c.close()


def test_no_replay_when_the_switch_kept_its_state(sw: Switch) -> None:
    c = SwitchConnection(sw.addr, DEVICE_ID, 1, backoff=(0.05, 0.5)).connect(timeout=3)
    try:
        c.set_pipeline(compiled().p4info, compiled().device_config_bytes())
        c.insert(dmac(MAC_A, port=1))
        port = sw.server.port
        sw.server.stop(grace=0.2)  # the server restarts; the runtime keeps its state
        sw.server = P4RuntimeServer(sw.rt, f"127.0.0.1:{port}", idle_scan_interval=0.01)
        sw.server.start()
        wait_for(lambda: c.reconnects == 1 and c.ready.is_set(), 10)
        assert c.replay.replays == 0
        assert len(list(c.read(TableEntry("dmac")))) == 1
    finally:
        c.close()


def test_replay_waits_until_the_connection_is_primary(sw: Switch) -> None:
    c = SwitchConnection(sw.addr, DEVICE_ID, 1, backoff=(0.05, 0.5)).connect(timeout=3)
    gate = threading.Event()
    real_open = c._open

    def gated_open(timeout: float) -> None:  # let another controller in first
        gate.wait(5)
        real_open(timeout)

    c._open = gated_open  # type: ignore[method-assign]
    try:
        c.set_pipeline(compiled().p4info, compiled().device_config_bytes())
        c.insert(dmac(MAC_A, port=1))
        port = sw.server.port
        sw.stop()
        new = Switch(port)
        other = SwitchConnection(new.addr, DEVICE_ID, 20, replay=False).connect(timeout=3)
        try:
            gate.set()
            wait_for(lambda: c.reconnects == 1 and c.ready.is_set(), 10)
            assert not c.is_primary and c.replay.replays == 0
            assert new.rt.pipeline is None
            other.close()  # c is promoted, and replays
            wait_for(lambda: c.replay.replays == 1, 10)
            assert len(list(c.read(TableEntry("dmac")))) == 1
        finally:
            other.close()
            new.stop()
    finally:
        c.close()


def test_state_replay_keeps_the_latest_version_of_each_entity() -> None:
    s = schema()
    replay = StateReplay()
    a1, a2 = dmac(MAC_A, port=1), dmac(MAC_A, port=2)
    for utype, entity in [
        (UpdateType.INSERT, a1),
        (UpdateType.INSERT, dmac(MAC_B, port=1)),
        (UpdateType.MODIFY, TableEntry("lpm4", action="drop", is_default=True)),
        (UpdateType.MODIFY, a2),
        (UpdateType.DELETE, dmac(MAC_B).key()),
        (UpdateType.MODIFY, RegisterEntry("reg", 1, 5)),
    ]:
        replay.record(Update(utype, entity).encode(s))
    ups = replay.updates()
    assert [u.type for u in ups] == [UpdateType.INSERT, UpdateType.MODIFY, UpdateType.MODIFY]
    assert ups[0].entity == a2.encode(s)
    replay.record_pipeline(compiled().p4info, b"{}", 1)
    assert replay.updates() == []


def test_replay_opt_out(sw: Switch) -> None:
    c = SwitchConnection(sw.addr, DEVICE_ID, 1, replay=False, backoff=(0.05, 0.5))
    c.connect(timeout=3)
    try:
        c.set_pipeline(compiled().p4info, compiled().device_config_bytes())
        c.insert(dmac(MAC_A, port=1))
        port = sw.server.port
        sw.stop()
        new = Switch(port)
        try:
            wait_for(lambda: c.reconnects == 1 and c.ready.is_set(), 10)
            assert new.rt.pipeline is None
        finally:
            new.stop()
    finally:
        c.close()


# -- target drivers -------------------------------------------------------------------------------


def test_softswitch_driver(sw: Switch, conn: SwitchConnection) -> None:
    with SoftswitchDriver(sw.start_admin()) as drv:
        drv.set_queue_rate(1, 0, 1000)
        drv.set_queue_depth(1, 0, 64)
        drv.set_port_rate(1, 10_000_000)
        drv.pause(1, 0)
        assert sw.rt.switch.tm.is_paused(1, 0)
        drv.resume(1, 0)
        assert not sw.rt.switch.tm.is_paused(1, 0)
        q = sw.rt.switch.tm._port(1).queues[0]
        assert (q.pps, q.capacity) == (1000, 64)
        stats = drv.queue_stats(1)
        assert stats and stats[0]["port"] == 1
        with pytest.raises(DriverError, match="priority 3 out of range"):
            drv.set_queue_rate(1, 3, 10)


def test_softswitch_driver_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DriverError, match=f"127.0.0.1:{port}"):
        SoftswitchDriver(f"127.0.0.1:{port}")


def test_bmv2_driver(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DriverError, match="simple_switch_CLI not found on PATH"):
        Bmv2Driver(9090)
    log = tmp_path / "commands.log"
    cli = tmp_path / "simple_switch_CLI"
    cli.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        f'while read -r line; do echo "$line" >> {log}; '
        'case "$line" in *999*) echo "Error: Invalid port";; esac; done\n'
    )
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)
    drv = Bmv2Driver(9091)
    drv.set_queue_rate(1, 2, 1000)
    drv.set_queue_depth(1, None, 64)
    assert log.read_text().splitlines() == [
        "--thrift-port 9091 --thrift-ip 127.0.0.1",
        "set_queue_rate 1000 1 2",
        "--thrift-port 9091 --thrift-ip 127.0.0.1",
        "set_queue_depth 64 1",
    ]
    with pytest.raises(DriverError, match="Error: Invalid port"):
        drv.set_queue_rate(999, 0, 1)
    with pytest.raises(NotSupported, match="port rates"):
        drv.set_port_rate(1, 10**9)
    with pytest.raises(NotSupported):
        drv.pause(1, 0)
    assert os.environ["PATH"] == str(tmp_path)
