"""p4runtime-shell 0.0.6 against the embedded switch, as the issue's acceptance asks.

Two ways a user drives it: the command line (``python -m p4runtime_sh --grpc-addr ...
--config P4INFO,DEVICE_CONFIG``, an IPython shell, here fed from stdin) against a ``sluice
switch`` process, and the library API (``p4runtime_sh.shell``) against an in-process switch with
ports. Both connect, set the pipeline, insert, modify, read and delete a table entry, read an
indirect and a direct counter, send a packet-out and receive a packet-in. Neither needs root.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format

from softswitch.frontend.compiler import compile_text
from softswitch.p4runtime.server import P4RuntimeServer
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime

pytest.importorskip("p4runtime_sh")

REPO = Path(__file__).resolve().parents[1]
CPU_PORT = 255

# Packet-outs carry an egress port; 0 means "forward by the tables", as a packet from a port
# would be. Frames sent to the CPU port get a packet_in header naming their ingress port. The
# indirect counter counts every packet by ingress port (the CPU port included).
PROGRAM = r"""
#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 255;

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }
header ethernet_t { bit<48> dst_addr; bit<48> src_addr; bit<16> ether_type; }
struct headers_t { packet_out_t packet_out; packet_in_t packet_in; ethernet_t ethernet; }
struct metadata_t { }

parser P(packet_in pkt, out headers_t hdr, inout metadata_t meta,
         inout standard_metadata_t sm) {
    state start {
        transition select(sm.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out { pkt.extract(hdr.packet_out); transition parse_ethernet; }
    state parse_ethernet { pkt.extract(hdr.ethernet); transition accept; }
}
control VC(inout headers_t hdr, inout metadata_t meta) { apply { } }
control I(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) {
    counter(256, CounterType.packets_and_bytes) port_counter;
    direct_counter(CounterType.packets_and_bytes) dmac_counter;
    action drop() { mark_to_drop(sm); }
    action forward(bit<9> port) { sm.egress_spec = port; }
    action to_cpu() { sm.egress_spec = CPU_PORT; }
    table dmac {
        key = { hdr.ethernet.dst_addr : exact @name("dst_addr"); }
        actions = { forward; to_cpu; drop; }
        const default_action = drop();
        counters = dmac_counter;
    }
    apply {
        port_counter.count((bit<32>)sm.ingress_port);
        if (hdr.packet_out.isValid() && hdr.packet_out.egress_port != 0) {
            sm.egress_spec = hdr.packet_out.egress_port;
        } else {
            dmac.apply();
        }
        hdr.packet_out.setInvalid();
        if (sm.egress_spec == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = sm.ingress_port;
        }
    }
}
control E(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout metadata_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.packet_in); pkt.emit(hdr.ethernet); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def frame(dst: str, src: str) -> bytes:
    mac = bytes.fromhex
    # a local-experimental EtherType and filler: nothing here is a real address
    return mac(dst.replace(":", "")) + mac(src.replace(":", "")) + b"\x88\xb5" + b"\x00" * 46


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The program's P4Info (text) and device config, as ``sluice compile`` writes them."""
    d = tmp_path_factory.mktemp("p4rt_shell")
    result = compile_text(PROGRAM, "shell_test.p4")
    p4info = d / "shell_test.p4info.txtpb"
    p4info.write_text(text_format.MessageToString(result.p4info))
    config = d / "shell_test.json"
    config.write_bytes(result.device_config_bytes())
    return str(p4info), str(config)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the command line against `sluice switch` ----------------------------------------------------

SHELL_SCRIPT = f"""
import threading
te = table_entry["I.dmac"](action="I.forward")
te.match["dst_addr"] = "{MAC_B}"
te.action["port"] = "2"
te.insert()
print("RESULT inserted", [e.action["port"].value.hex() for e in table_entry["I.dmac"].read()])
te.action["port"] = "3"
te.modify()
print("RESULT modified", [e.action["port"].value.hex() for e in table_entry["I.dmac"].read()])
cpu = table_entry["I.dmac"](action="I.to_cpu")
cpu.match["dst_addr"] = "{MAC_A}"
cpu.insert()
pkt = {frame(MAC_A, MAC_B)!r}
po = packet_out(payload=pkt, egress_port="0", _pad="0")
threading.Timer(0.3, po.send).start()
got = list(packet_in.sniff(timeout=3))
print("RESULT packet_in", len(got), got[0].packet.payload == pkt if got else None, \
got[0].packet.metadata[0].value.hex() if got else None)
c = counter_entry["I.port_counter"]
c.index = {CPU_PORT}
print("RESULT counter", [(x.data.packet_count, x.data.byte_count) for x in c.read()])
dc = direct_counter_entry["I.dmac_counter"]
dc.table_entry = cpu
print("RESULT direct_counter", [x.data.packet_count for x in dc.read()])
te.delete()
cpu.delete()
print("RESULT deleted", len(list(table_entry["I.dmac"].read())))
"""


def _start_switch(log: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """``sluice switch --no-p4`` on a free port; None if it exited (the port got taken)."""
    port = _free_port()
    addr = f"127.0.0.1:{port}"
    argv = [sys.executable, "-m", "softswitch.cli", "switch", "--no-p4", "--cpu-port",
            str(CPU_PORT), "--grpc-server-addr", addr, "--no-admin"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, addr
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail(f"sluice switch did not open {addr} in 30 s: {log.read_text()}")


@pytest.fixture
def sluice_switch(tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "switch.log"
    for _ in range(3):
        started = _start_switch(log)
        if started is not None:
            break
    else:
        pytest.fail(f"sluice switch exited at start: {log.read_text()}")
    proc, addr = started
    try:
        yield addr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_p4runtime_shell_command_line(sluice_switch: str, files: tuple[str, str]) -> None:
    p4info, config = files
    argv = [
        sys.executable,
        "-m",
        "p4runtime_sh",
        "--grpc-addr",
        sluice_switch,
        "--device-id",
        "0",
        "--election-id",
        "0,1",
        "--config",
        f"{p4info},{config}",
    ]
    proc = subprocess.run(
        argv,
        input=SHELL_SCRIPT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TERM="dumb"),
    )
    out = proc.stdout + proc.stderr
    results = {}
    for line in proc.stdout.splitlines():
        _, sep, rest = line.partition("RESULT ")
        if sep:
            key, _, value = rest.partition(" ")
            results[key] = value
    assert results.get("inserted") == "['02']", out
    assert results.get("modified") == "['03']", out
    assert results.get("packet_in") == "1 True ff", out  # ingress port 255: the CPU port
    assert results.get("counter") == f"[(1, {len(frame(MAC_A, MAC_B)) + 2})]", out
    assert results.get("direct_counter") == "[1]", out
    assert results.get("deleted") == "0", out
    assert "Traceback" not in out, out


# -- the library API against an in-process switch with ports ------------------------------------


class _Switch:
    def __init__(self) -> None:
        self.ports = PortSet()
        self.p1 = self.ports.add(InProcessPort(1))
        self.p2 = self.ports.add(InProcessPort(2))
        self.p3 = self.ports.add(InProcessPort(3))
        self.rt = SwitchRuntime(self.ports, device_id=0, cpu_port=CPU_PORT, tick_interval=0.01)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0")
        self.server.start()
        self.rt.start()
        self.addr = f"127.0.0.1:{self.server.port}"

    def close(self) -> None:
        self.server.stop(grace=0.2)
        self.rt.stop()


def _wait_sent(port: Any, timeout: float = 3.0) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while not port.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(port.take_sent())


def test_p4runtime_shell_library(files: tuple[str, str]) -> None:
    import p4runtime_sh.shell as sh

    p4info, config = files
    sw = _Switch()
    try:
        sh.setup(
            device_id=0,
            grpc_addr=sw.addr,
            election_id=(0, 1),
            config=sh.FwdPipeConfig(p4info, config),
        )
        try:
            _library_session(sh, sw)
        finally:
            sh.teardown()
    finally:
        sw.close()


def _library_session(sh: Any, sw: _Switch) -> None:
    # insert, read
    te = sh.TableEntry("I.dmac")(action="I.forward")
    te.match["dst_addr"] = MAC_B
    te.action["port"] = "2"
    te.insert()
    (got,) = list(sh.TableEntry("I.dmac").read())
    assert got.action["port"].value == b"\x02"
    with pytest.raises(Exception, match="ALREADY_EXISTS"):
        te.insert()
    sw.p1.inject(frame(MAC_B, MAC_A))
    assert _wait_sent(sw.p2) == [frame(MAC_B, MAC_A)]

    # modify: traffic follows
    te.action["port"] = "3"
    te.modify()
    (got,) = list(sh.TableEntry("I.dmac").read())
    assert got.action["port"].value == b"\x03"
    sw.p1.inject(frame(MAC_B, MAC_A))
    assert _wait_sent(sw.p3) == [frame(MAC_B, MAC_A)]

    # counters: indirect by ingress port, direct by entry
    c = sh.CounterEntry("I.port_counter")
    c.index = 1
    (cell,) = list(c.read())
    assert (cell.data.packet_count, cell.data.byte_count) == (2, 2 * len(frame(MAC_B, MAC_A)))
    dc = sh.DirectCounterEntry("I.dmac_counter")
    dc.table_entry = te
    (dcell,) = list(dc.read())
    assert dcell.data.packet_count == 2

    # packet-in: a frame for MAC_A goes to the CPU with its ingress port
    cpu = sh.TableEntry("I.dmac")(action="I.to_cpu")
    cpu.match["dst_addr"] = MAC_A
    cpu.insert()
    # one PacketIn for the session, as the shell's own ``packet_in``: each instance starts a
    # thread that takes packet-ins from the client for good
    packet_in = sh.PacketIn()
    threading.Timer(0.2, lambda: sw.p2.inject(frame(MAC_A, MAC_B))).start()
    pins = list(packet_in.sniff(timeout=2))
    assert len(pins) == 1
    assert pins[0].packet.payload == frame(MAC_A, MAC_B)
    assert pins[0].packet.metadata[0].value == b"\x02"

    # packet-out: straight to a port, and through the tables back to the CPU
    sh.PacketOut(payload=frame(MAC_B, MAC_A), egress_port="1", _pad="0").send()
    assert _wait_sent(sw.p1) == [frame(MAC_B, MAC_A)]
    po = sh.PacketOut(payload=frame(MAC_A, MAC_B), egress_port="0", _pad="0")
    threading.Timer(0.2, po.send).start()
    pins = list(packet_in.sniff(timeout=2))
    assert len(pins) == 1 and pins[0].packet.metadata[0].value == bytes([CPU_PORT])

    # delete
    te.delete()
    cpu.delete()
    assert list(sh.TableEntry("I.dmac").read()) == []
    sw.p1.inject(frame(MAC_B, MAC_A))
    time.sleep(0.2)
    assert not any(p.sent for p in (sw.p1, sw.p2, sw.p3))
