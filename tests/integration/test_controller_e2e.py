"""The controller end to end: ``sluice switch`` running ``p4src/sluice.p4`` over veth pairs,
``sluice controller`` against it and ``sluice ctl`` to look, all inside a network namespace this
module creates and removes; the hosts are raw sockets on the far ends of the veths.

Topology (every address a documentation one, and only ever inside the namespace)::

    h1 (192.0.2.1, 2001:db8:1::1, memory client)  -- port 1 --+
    h2 (198.51.100.2, 2001:db8:2::2)               -- port 2 --+-- s1
    mem1 (2001:db8:3::3, memory server 0x2001)     -- port 3 --+
    h4 (203.0.113.4, 2001:db8:4::4, a stranger)    -- port 4 --+

BlueBridge request addresses (server 0x2001, docs/protocol.md section 5.1) travel only on these
veths. Each test polls with a deadline instead of sleeping; the module takes some 30 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if os.geteuid() != 0:
    pytest.skip("needs root (network namespaces, veth pairs, raw sockets)",
                allow_module_level=True)
if shutil.which("ip") is None:
    pytest.skip("needs iproute2's 'ip' (on Debian: apt-get install iproute2)",
                allow_module_level=True)

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from controlplane.cli import ApiClient, CtlError  # noqa: E402
from controlplane.protocol import BBCommand, BlueBridge, bb_addr  # noqa: E402
from softswitch.admin import AdminClient  # noqa: E402
from softswitch.ports.netns import Netns, NetnsError, temporary_netns  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SLUICE = [sys.executable, "-m", "softswitch.cli"]
GRPC_ADDR = "127.0.0.1:9559"
ADMIN_ADDR = "127.0.0.1:9090"
API_ADDR = "127.0.0.1:9191"
SUBID = 0x2001
START_TIMEOUT_S = 30.0
ETH_P_ALL = 0x0003

S1_MAC = "00:00:5e:00:53:01"
FLOWS = "SluiceIngress.flow.flows"
MEM_ACL = "SluiceIngress.memguard.mem_acl"


@dataclass(frozen=True)
class HostSpec:
    name: str
    port: int
    mac: str
    ipv4: str | None
    ipv6: str


H1 = HostSpec("h1", 1, "02:00:00:00:00:01", "192.0.2.1", "2001:db8:1::1")
H2 = HostSpec("h2", 2, "02:00:00:00:00:02", "198.51.100.2", "2001:db8:2::2")
MEM1 = HostSpec("mem1", 3, "02:00:00:00:00:03", None, "2001:db8:3::3")
H4 = HostSpec("h4", 4, "02:00:00:00:00:04", "203.0.113.4", "2001:db8:4::4")
HOSTS = (H1, H2, MEM1, H4)

TOPOLOGY = f"""
p4info = "sluice.p4info.txtpb"
device_config = "sluice.json"

[[switches]]
name = "s1"
p4runtime = "{GRPC_ADDR}"
admin = "{ADMIN_ADDR}"
cpu_port = 255
mac = "{S1_MAC}"
ports = [1, 2, 3, 4]

[[hosts]]
name = "h1"
mac = "{H1.mac}"
ipv4 = "{H1.ipv4}"
ipv6 = "{H1.ipv6}"
switch = "s1"
port = 1
role = "memory_client"

[[hosts]]
name = "h2"
mac = "{H2.mac}"
ipv4 = "{H2.ipv4}"
ipv6 = "{H2.ipv6}"
switch = "s1"
port = 2

[[hosts]]
name = "mem1"
mac = "{MEM1.mac}"
ipv6 = "{MEM1.ipv6}"
switch = "s1"
port = 3
role = "memory_server"
subid = {SUBID}

[[hosts]]
name = "h4"
mac = "{H4.mac}"
ipv4 = "{H4.ipv4}"
ipv6 = "{H4.ipv6}"
switch = "s1"
port = 4
role = "memory_client"
"""

# latency: dport 7000-7009, its own queues, never idle during the module; scarce: dport
# 6000-6009, two queues, to run out of; bulk (the default): short idle timeout
POLICY = """
[defaults]
class = "bulk"
sharing = "flows"

[classes.bulk]
queues = "1-2"
idle_timeout_s = 0.5

[classes.scarce]
queues = "3-4"
idle_timeout_s = 60.0

[classes.latency]
queues = "5-6"
preferred = [6]
idle_timeout_s = 60.0

[[rules]]
class = "latency"
dport = "7000-7009"

[[rules]]
class = "scarce"
dport = "6000-6009"

[memory]
report_us = 1000
[[memory.allow_alloc]]
client = "2001:db8:1::/48"
server = "mem1"
"""


# -- hosts ----------------------------------------------------------------------------------------


def _packet_socket(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.settimeout(0.1)
    return s


class Host:
    """A host on the far end of a switch port's veth: sends frames, keeps what it receives."""

    def __init__(self, ns: Netns, spec: HostSpec, ifname: str) -> None:
        self.spec = spec
        self.sock = ns.run(_packet_socket, ifname)
        self.frames: deque[bytes] = deque(maxlen=10000)
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._receive, name=f"host-{spec.name}",
                                        daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed:
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            with self._cond:
                self.frames.append(data)
                self._cond.notify_all()

    def send(self, frame: Any) -> None:
        self.sock.send(bytes(frame))

    def expect(self, match: Callable[[Ether], bool], timeout: float = 3.0) -> Ether | None:
        """The first received frame (from now on or already kept) that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                items = list(self.frames)
                for data in items[seen:]:
                    pkt = Ether(data)
                    if match(pkt):
                        return pkt
                seen = len(items)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.1))

    def clear(self) -> None:
        with self._cond:
            self.frames.clear()

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=2)
        self.sock.close()


def udp4(src: HostSpec, dst: HostSpec, sport: int, dport: int, payload: bytes = b"x" * 32
         ) -> Ether:
    """A UDP/IPv4 frame from ``src`` to ``dst`` (switched by L2 on the destination MAC)."""
    return (Ether(src=src.mac, dst=dst.mac) / IP(src=src.ipv4, dst=dst.ipv4, ttl=64)
            / UDP(sport=sport, dport=dport) / payload)


def is_udp4(sport: int, dport: int) -> Callable[[Ether], bool]:
    return lambda p: UDP in p and IP in p and p[UDP].sport == sport and p[UDP].dport == dport


def bb_request(client: HostSpec, cmd: int, args: int = 0, paddr: int = 0, seq: int = 1
               ) -> Ether:
    """A BlueBridge request from ``client`` to mem1 (sent to the router MAC: it is routed)."""
    return (Ether(src=client.mac, dst=S1_MAC)
            / IPv6(src=client.ipv6, dst=bb_addr(SUBID, cmd, args, paddr), hlim=64)
            / UDP(sport=40000 + seq % 1000, dport=5000) / BlueBridge(seq=seq))


def bb_reply(client: HostSpec, cmd: int, args: int = 0, paddr: int = 0, seq: int = 1) -> Ether:
    """mem1's reply to ``client`` (its source address names the server, command and result)."""
    return (Ether(src=MEM1.mac, dst=S1_MAC)
            / IPv6(src=bb_addr(SUBID, cmd, args, paddr), dst=client.ipv6, hlim=64)
            / UDP(sport=5000, dport=40000 + seq % 1000) / BlueBridge(seq=seq))


def is_bb(cmd: int, paddr: int, seq: int, args: int = 0) -> Callable[[Ether], bool]:
    """A BlueBridge request or reply with this command, address and sequence number."""
    want = bb_addr(SUBID, cmd, args, paddr)

    def match(p: Ether) -> bool:
        return (IPv6 in p and UDP in p and BlueBridge in p and p[BlueBridge].seq == seq
                and want in (p[IPv6].dst, p[IPv6].src))

    return match


# -- processes ------------------------------------------------------------------------------------


def wait_until(what: str, fn: Callable[[], Any], timeout: float = 10.0, every: float = 0.05
               ) -> Any:
    """Poll ``fn`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (CtlError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


class Lab:
    """The namespace, its veths and hosts, and the switch and controller processes."""

    def __init__(self, ns: Netns, work: Path) -> None:
        self.ns = ns
        self.work = work
        self.switch: subprocess.Popen[bytes] | None = None
        self.controller: subprocess.Popen[bytes] | None = None
        self.hosts: dict[str, Host] = {}
        self.api = ApiClient(API_ADDR, timeout=5.0)
        self._starts = 0

    # processes

    def _popen(self, argv: list[str], log_name: str) -> subprocess.Popen[bytes]:
        self._starts += 1
        log = open(self.work / f"{log_name}.{self._starts}.log", "wb")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        try:
            return subprocess.Popen(self.ns.exec_argv(argv), cwd=self.work, env=env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            log.close()

    def logs(self, name: str) -> str:
        out = []
        for path in sorted(self.work.glob(f"{name}.*.log")):
            out.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(out)

    def start_switch(self) -> None:
        ifaces = [x for h in HOSTS for x in ("-i", f"{h.port}@veth{2 * (h.port - 1)}")]
        self.switch = self._popen(
            SLUICE + ["switch", str(self.work / "sluice.json"), *ifaces, "--cpu-port", "255",
                      "--priority-queues", "8", "--grpc-server-addr", GRPC_ADDR,
                      "--admin-addr", ADMIN_ADDR],
            "switch",
        )
        self._wait_port(self.switch, GRPC_ADDR, "switch")

    def start_controller(self) -> None:
        self.controller = self._popen(
            SLUICE + ["controller", "--topo", str(self.work / "topo.toml"),
                      "--policy", str(self.work / "policy.toml"),
                      "--state-dir", str(self.work / "state"), "--api-addr", API_ADDR],
            "controller",
        )
        self._wait_port(self.controller, API_ADDR, "controller")
        wait_until("the controller's API", lambda: self.call("get", "status"), START_TIMEOUT_S)

    def _wait_port(self, proc: subprocess.Popen[bytes], addr: str, name: str) -> None:
        host, port = addr.rsplit(":", 1)

        def probe() -> bool:
            with socket.socket() as s:
                s.settimeout(0.2)
                return s.connect_ex((host, int(port))) == 0

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.logs(name)}")
            if self.ns.run(probe):
                return
            time.sleep(0.05)
        pytest.fail(f"{name} did not listen on {addr}:\n{self.logs(name)}")

    @staticmethod
    def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> int | None:
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout=5)

    # the management API and the CLI, from inside the namespace

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.ns.run(getattr(self.api, method), *args, **kwargs)

    def ctl(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return subprocess.run(self.ns.exec_argv(SLUICE + ["ctl", "--api-addr", API_ADDR, *argv]),
                              cwd=self.work, env=env, capture_output=True, text=True,
                              timeout=30)

    def ctl_json(self, *argv: str) -> Any:
        proc = self.ctl(*argv, "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    # state

    def flows(self) -> list[dict[str, Any]]:
        return self.call("get", "flows")

    def flow(self, sport: int, dport: int) -> dict[str, Any] | None:
        for f in self.flows():
            if flow_ports(f) == (sport, dport):
                return f
        return None

    def grants(self) -> list[dict[str, Any]]:
        return self.call("get", "grants")

    def status(self) -> dict[str, Any]:
        return self.call("get", "status")

    def grant_of(self, client: HostSpec, lo: int, hi: int) -> dict[str, Any] | None:
        for g in self.grants():
            if g["client"] == client.ipv6 and g["region"] == [lo, hi]:
                return g
        return None

    def violations_of(self, client: HostSpec, reason: str) -> list[dict[str, Any]]:
        return [v for v in self.call("get", "violations", limit=1000)
                if v["client"] == client.ipv6 and v["reason"] == reason]

    def table_entries(self, table: str) -> int:
        """Entries the switch holds in ``table`` (asked through its admin interface)."""

        def ask() -> int:
            with AdminClient(ADMIN_ADDR, timeout=5.0) as admin:
                resp = admin.call("table_num_entries", table)
            assert resp.get("ok"), resp
            return int(str(resp.get("output", resp.get("result"))).strip())

        return self.ns.run(ask)

    def saved_state(self) -> dict[str, Any]:
        path = self.work / "state" / "controller.json"
        return json.loads(path.read_text()) if path.exists() else {}


def flow_ports(f: dict[str, Any]) -> tuple[int, int]:
    """(sport, dport) of a flow as ``sluice ctl flows --json`` shows it."""
    return int(f["sport"]), int(f["dport"])


def flow_queue(f: dict[str, Any]) -> int:
    return int(f["queue"])


def compile_program(out: Path) -> None:
    argv = SLUICE + ["compile", str(REPO / "p4src" / "sluice.p4"), "-o", str(out),
                     "--p4runtime-files", str(out / "sluice.p4info.txtpb")]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("controller-e2e")
    compile_program(work)
    (work / "topo.toml").write_text(TOPOLOGY)
    (work / "policy.toml").write_text(POLICY)
    try:
        ns_ctx = temporary_netns("sluice-ctl")
        ns = ns_ctx.__enter__()
    except NetnsError as exc:
        pytest.skip(f"cannot create a network namespace: {exc}")
    lab = Lab(ns, work)
    try:
        ns.veth_up(len(HOSTS))
        for h in HOSTS:
            lab.hosts[h.name] = Host(ns, h, f"veth{2 * (h.port - 1) + 1}")
        lab.start_switch()
        lab.start_controller()
        yield lab
    finally:
        for proc in (lab.controller, lab.switch):
            Lab.stop(proc)
        for host in lab.hosts.values():
            host.close()
        ns_ctx.__exit__(None, None, None)


def send_until(host: Host, frame: Ether, done: Callable[[], Any], what: str,
               timeout: float = 5.0) -> Any:
    """Send ``frame`` every 50 ms until ``done()`` holds."""

    def step() -> Any:
        host.send(frame)
        return done()

    return wait_until(what, step, timeout, every=0.05)


# -- the tests ------------------------------------------------------------------------------------


def test_new_flow_gets_its_own_queue_and_the_reason(lab: Lab) -> None:
    h1, h2 = lab.hosts["h1"], lab.hosts["h2"]
    frame = udp4(H1, H2, 41000, 7000)
    h1.send(frame)
    # the first packet is forwarded at once on the default queue while the controller decides
    assert h2.expect(is_udp4(41000, 7000)) is not None, lab.logs("switch")
    flow = wait_until("the flow's entry", lambda: lab.flow(41000, 7000))

    shown = [f for f in lab.ctl_json("flows") if flow_ports(f) == (41000, 7000)]
    assert len(shown) == 1
    f = shown[0]
    assert f["class"] == "latency" and f["port"] == H2.port
    assert flow_queue(f) == 6  # the class's preferred queue, free
    assert "free preferred queue 6" in f["reason"] and "latency" in f["reason"]
    assert (f["queue"], f["slot"]) == (flow["queue"], flow["slot"])
    wait_until("the flow's entry on the switch", lambda: lab.table_entries(FLOWS) >= 1)

    table = lab.ctl("flows")
    assert table.returncode == 0 and "REASON" in table.stdout.splitlines()[0]
    assert "free preferred queue 6" in table.stdout

    # a second latency flow takes the class's other queue, free too
    frame2 = udp4(H1, H2, 41001, 7001)
    h1.send(frame2)
    f2 = wait_until("the second flow's entry", lambda: lab.flow(41001, 7001))
    assert flow_queue(f2) == 5 and "free queue 5" in f2["reason"]
    # later packets of the flow go on being forwarded
    h2.clear()
    h1.send(frame)
    assert h2.expect(is_udp4(41000, 7000)) is not None


def test_when_queues_run_out_flows_share_by_policy(lab: Lab) -> None:
    """Class scarce has queues 3 and 4: two flows take them free, the third shares the least
    loaded (ties: the class's order), and the reason says so."""
    h1 = lab.hosts["h1"]
    got = []
    for i in range(3):
        frame = udp4(H1, H2, 42000 + i, 6000 + i)
        got.append(send_until(h1, frame, lambda i=i: lab.flow(42000 + i, 6000 + i),
                              f"scarce flow {i}"))
    assert [f["class"] for f in got] == ["scarce"] * 3
    assert [flow_queue(f) for f in got] == [3, 4, 3]
    assert "free queue 3" in got[0]["reason"] and "free queue 4" in got[1]["reason"]
    assert "all busy" in got[2]["reason"] and "shared queue 3" in got[2]["reason"]
    assert "least loaded" in got[2]["reason"]
    assert len({f["slot"] for f in got}) == 3  # sharing a queue, each keeps its own slot

    queues = {(q["port"], q["queue"]): q for q in lab.ctl_json("queues") if q["switch"] == "s1"}
    assert queues[(H2.port, 3)]["flows"] == 2 and queues[(H2.port, 4)]["flows"] == 1
    assert queues[(H2.port, 3)]["class"] == "scarce"
    watch = lab.ctl("watch", "--count", "1", "--no-clear")
    assert watch.returncode == 0, watch.stderr
    assert "shared queue 3" in watch.stdout and "flows (" in watch.stdout


def test_idle_flows_give_their_queues_back(lab: Lab) -> None:
    """Class bulk (the default) times out after 0.5 s without packets: the entry goes, the
    queue and slot come back, and the next flow gets the queue free again."""
    h1 = lab.hosts["h1"]
    flow = send_until(h1, udp4(H1, H2, 43000, 8000), lambda: lab.flow(43000, 8000),
                      "the bulk flow's entry")
    assert flow["class"] == "bulk" and flow_queue(flow) == 1
    busy = {(q["port"], q["queue"]): q["flows"] for q in lab.call("get", "queues")}
    assert busy[(H2.port, 1)] == 1
    wait_until("the idle flow to go", lambda: lab.flow(43000, 8000) is None, timeout=10)
    free = {(q["port"], q["queue"]): q["flows"] for q in lab.call("get", "queues")}
    assert free[(H2.port, 1)] == 0
    again = send_until(h1, udp4(H1, H2, 43001, 8001), lambda: lab.flow(43001, 8001),
                       "the next bulk flow's entry")
    assert flow_queue(again) == 1 and "free queue 1" in again["reason"]
    wait_until("the next flow to go idle too", lambda: lab.flow(43001, 8001) is None, 10)


REGION = 0x100000
REGION_LEN = 8192


def test_alloc_reply_grants_its_owner_and_free_revokes(lab: Lab) -> None:
    h1, mem1 = lab.hosts["h1"], lab.hosts["mem1"]
    lo, hi = REGION, REGION + REGION_LEN - 1
    # before the ALLOC, h1 may not read the region
    h1.send(bb_request(H1, BBCommand.READ, 64, lo, seq=10))
    assert mem1.expect(is_bb(BBCommand.READ, lo, 10, 64), timeout=0.5) is None

    acl_entries = lab.table_entries(MEM_ACL)
    # ALLOC: allowed for 2001:db8:1::/48 by the policy, so forwarded to mem1
    h1.send(bb_request(H1, BBCommand.ALLOC, REGION_LEN, 0, seq=11))
    assert mem1.expect(is_bb(BBCommand.ALLOC, 0, 11, REGION_LEN)) is not None
    # mem1's reply goes back to h1, and the switch tells the controller: h1 owns the region
    mem1.send(bb_reply(H1, BBCommand.ALLOC, REGION_LEN, lo, seq=11))
    assert h1.expect(is_bb(BBCommand.ALLOC, lo, 11, REGION_LEN)) is not None
    g = wait_until("the ALLOC grant", lambda: lab.grant_of(H1, lo, hi))
    assert g["perms"] == "owner" and g["origin"] == "alloc" and g["server"] == "mem1"
    # the API shows the desired state; the switch has it once the Write is through
    wait_until("the grant on the switch", lambda: lab.table_entries(MEM_ACL) == acl_entries + 1)
    shown = lab.ctl("grants")
    assert shown.returncode == 0 and f"{lo:#x}-{hi:#x}" in shown.stdout

    # the owner reads, writes and frees
    for cmd, seq in ((BBCommand.READ, 12), (BBCommand.WRITE, 13), (BBCommand.FREE, 14)):
        h1.send(bb_request(H1, cmd, 64 if cmd != BBCommand.FREE else 0, lo, seq=seq))
        assert mem1.expect(is_bb(cmd, lo, seq, 64 if cmd != BBCommand.FREE else 0)) is not None

    # mem1's FREE reply revokes every grant on the region
    mem1.send(bb_reply(H1, BBCommand.FREE, 0, lo, seq=14))
    wait_until("the FREE revocation", lambda: lab.grant_of(H1, lo, hi) is None)
    wait_until("the revocation on the switch", lambda: lab.table_entries(MEM_ACL) == acl_entries)
    h1.send(bb_request(H1, BBCommand.READ, 64, lo, seq=15))
    assert mem1.expect(is_bb(BBCommand.READ, lo, 15, 64), timeout=0.5) is None
    wait_until("h1's refused READ in the log", lambda: lab.violations_of(H1, "NO_READ"))


def test_strangers_access_is_denied_and_logged(lab: Lab) -> None:
    h1, h4, mem1 = lab.hosts["h1"], lab.hosts["h4"], lab.hosts["mem1"]
    lo = 0x200000
    grant = lab.ctl("grant", H1.ipv6, "mem1", f"{lo:#x}+4096", "rw")
    assert grant.returncode == 0, grant.stderr
    h1.send(bb_request(H1, BBCommand.READ, 64, lo, seq=20))
    assert mem1.expect(is_bb(BBCommand.READ, lo, 20, 64)) is not None

    # h4 was granted nothing and is not on the ALLOC allow-list
    h4.send(bb_request(H4, BBCommand.READ, 64, lo, seq=21))
    assert mem1.expect(is_bb(BBCommand.READ, lo, 21, 64), timeout=0.5) is None
    wait_until("h4's READ in the log", lambda: lab.violations_of(H4, "NO_READ"))
    h4.send(bb_request(H4, BBCommand.ALLOC, 4096, 0, seq=22))
    assert mem1.expect(is_bb(BBCommand.ALLOC, 0, 22, 4096), timeout=0.5) is None
    wait_until("h4's ALLOC in the log", lambda: lab.violations_of(H4, "NO_ALLOC"))
    # a forged reply from a host that is not the server's port
    h4.send(bb_reply(H4, BBCommand.ALLOC, 4096, lo, seq=23))
    wait_until("h4's forged reply in the log", lambda: lab.violations_of(H4, "SPOOFED_REPLY"))
    assert lab.grant_of(H4, lo, lo + 4095) is None

    log = lab.ctl_json("violations")
    mine = [v for v in log if v["client"] == H4.ipv6]
    assert {v["reason"] for v in mine} >= {"NO_READ", "NO_ALLOC", "SPOOFED_REPLY"}
    assert all(v["subid"] == SUBID and v["ingress_port"] == H4.port for v in mine)
    table = lab.ctl("violations")
    assert table.returncode == 0 and H4.ipv6 in table.stdout and "NO_ALLOC" in table.stdout

    revoke = lab.ctl("revoke", H1.ipv6, "mem1", f"{lo:#x}+4096")
    assert revoke.returncode == 0, revoke.stderr
    h1.send(bb_request(H1, BBCommand.READ, 64, lo, seq=24))
    assert mem1.expect(is_bb(BBCommand.READ, lo, 24, 64), timeout=0.5) is None


def _steady_state(lab: Lab) -> tuple[dict[Any, Any], list[Any]]:
    """A latency flow and an explicit grant, both in place; returns what the API shows."""
    h1 = lab.hosts["h1"]
    send_until(h1, udp4(H1, H2, 44000, 7005), lambda: lab.flow(44000, 7005), "a latency flow")
    if lab.grant_of(H1, 0x300000, 0x300FFF) is None:
        lab.call("post", "grant", {"client": H1.ipv6, "server": "mem1",
                                   "region": [0x300000, 0x300FFF], "perms": "rw"})
    flows = {(f["sport"], f["dport"]): (f["class"], f["queue"], f["slot"])
             for f in lab.flows()}
    grants = sorted((g["client"], g["subid"], tuple(g["region"]), g["perms"])
                    for g in lab.grants())
    # the API shows desired state at once; wait for the switch to hold it too
    wait_until("the switch to hold every flow and grant", lambda: (
        lab.table_entries(FLOWS) == len(flows) and lab.table_entries(MEM_ACL) == len(grants)))
    return flows, grants


def _traffic_works(lab: Lab, seq: int) -> None:
    """The latency flow is forwarded and h1's granted READ reaches mem1."""
    h1, h2, mem1 = lab.hosts["h1"], lab.hosts["h2"], lab.hosts["mem1"]
    h2.clear()
    send_until(h1, udp4(H1, H2, 44000, 7005), lambda: h2.expect(is_udp4(44000, 7005), 0.05),
               "the latency flow's packets at h2")
    send_until(h1, bb_request(H1, BBCommand.READ, 64, 0x300000, seq=seq),
               lambda: mem1.expect(is_bb(BBCommand.READ, 0x300000, seq, 64), 0.05),
               "h1's granted READ at mem1")


def test_switch_restart_loses_nothing(lab: Lab) -> None:
    flows, grants = _steady_state(lab)
    entries = {t: lab.table_entries(t) for t in (FLOWS, MEM_ACL)}
    assert entries[FLOWS] == len(flows) and entries[MEM_ACL] == len(grants)
    reconnects = lab.status()["switches"]["s1"]["reconnects"]

    assert Lab.stop(lab.switch, signal.SIGKILL) == -signal.SIGKILL
    lab.start_switch()  # a fresh process: no entries, until the controller re-pushes them
    wait_until("the controller to reconnect and re-push",
               lambda: lab.status()["switches"]["s1"]["reconnects"] > reconnects
               and lab.table_entries(FLOWS) == entries[FLOWS], timeout=20)
    assert lab.status()["switches"]["s1"]["connected"]
    assert {t: lab.table_entries(t) for t in (FLOWS, MEM_ACL)} == entries
    again_flows, again_grants = _steady_state(lab)
    assert again_flows == flows and again_grants == grants
    _traffic_works(lab, seq=30)


def test_controller_restart_loses_nothing(lab: Lab) -> None:
    flows, grants = _steady_state(lab)
    # the desired state is on disk (the controller writes it shortly after each change)
    wait_until("the flows and grants on disk", lambda: (
        len(lab.saved_state().get("apps", {}).get("allocator", {}).get("flows", []))
        == len(flows)
        and len(lab.saved_state()["apps"]["memguard"]["grants"]) == len(grants)))
    entries = {t: lab.table_entries(t) for t in (FLOWS, MEM_ACL)}

    assert Lab.stop(lab.controller, signal.SIGKILL) == -signal.SIGKILL
    lab.start_controller()
    status = lab.status()
    # reconciled by Read: everything the switch held was right, so nothing was written
    assert status["switches"]["s1"]["last_sync"]["inserted"] == 0
    assert status["switches"]["s1"]["last_sync"]["deleted"] == 0
    assert status["switches"]["s1"]["last_sync"]["modified"] == 0
    again_flows, again_grants = _steady_state(lab)
    assert again_flows == flows and again_grants == grants
    assert {t: lab.table_entries(t) for t in (FLOWS, MEM_ACL)} == entries
    _traffic_works(lab, seq=40)

    # a clean stop (SIGTERM) saves and exits 0; the next start loads the same state
    assert Lab.stop(lab.controller) == 0
    lab.start_controller()
    assert _steady_state(lab) == (flows, grants)
