"""Sluice benchmarks: ``make bench`` prints figures and, where a reference exists, ratios.

Sections run in order; each prints its own table. Figures are medians over several runs.
Compile time is measured two ways: in-process (the front end alone) and as a whole
``sluice compile`` process (what a user waits for, Python start-up included), against p4c's
yardstick of about 0.25 s per sample (measured with p4c-bm2-ss when it is installed).

The engine section pushes packets through the embedded switch in-process on the virtual clock
(``p4src/examples/l3_router.p4`` with 300 LPM routes, and ``stateful_acl.p4`` with exact,
ternary and LPM tables, a register, a counter and a meter) and prints packets/s against BMv2's
yardstick of 25,000 packets/s. ``--profile`` runs cProfile on the router instead and prints the
15 functions with the most time of their own: where the engine's time goes, in one command.

The controller section starts the embedded switch in-process (``p4src/sluice.p4``, P4Runtime on
127.0.0.1) and a Controller against it, and times a thousand new flows one after another, from
the first packet entering the switch to the flow's ``flows`` entry written (digest, allocation,
Write): median and 99th percentile. Then the allocator alone: decisions per second.

The usefiles section times the embedded switch as a whole process, the way BMv2 users time
simple_switch (``tools/bench_usefiles.py``): 100,000 packets in ``0_in.pcap``, ``sluice switch
l3_router.p4 --use-files``, 100 routes installed through the admin interface during the wait,
from the first packet taken to the last output record written; every output checked, packets/s
against the 25,000 packets/s yardstick.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

P4C_YARDSTICK_S = 0.25
SAMPLES = [
    "basic_routing-bmv2.p4",
    "v1model-p4runtime-most-types1.p4",
    "action_profile-bmv2.p4",
    "issue1739-bmv2.p4",
]


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _programs(testdata: str) -> list[tuple[str, str]]:
    progs = [("l3_router (project)", os.path.join(ROOT, "p4src", "examples", "l3_router.p4"))]
    sluice = os.path.join(ROOT, "p4src", "sluice.p4")
    if os.path.exists(sluice):
        progs.append(("sluice (project)", sluice))
    for name in SAMPLES:
        path = os.path.join(testdata, "p4_16_samples", name)
        if os.path.exists(path):
            progs.append((name, path))
    return progs


def bench_compile(testdata: str, runs: int) -> None:
    """Compile time per program, in-process and whole-process, with the ratio to p4c."""
    from softswitch.frontend.compiler import compile_file

    sluice_bin = shutil.which("sluice") or os.path.join(os.path.dirname(sys.executable), "sluice")
    p4c = shutil.which("p4c-bm2-ss")
    print(f"== compile time (median of {runs} runs) ==")
    header = f"{'program':36} {'lines':>6} {'in-process':>11} {'process':>9} {'p4c':>7} {'ratio':>6}"
    print(header)
    with tempfile.TemporaryDirectory() as out:
        for label, path in _programs(testdata):
            inc = [os.path.dirname(path)]
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = sum(1 for _ in fh)
            try:
                compile_file(path, inc)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
                print(f"{label:36} {lines:6d}  does not compile: {str(exc).splitlines()[0]}")
                continue
            inproc = _median_time(lambda p=path, i=inc: compile_file(p, i), runs)
            cmd = [sluice_bin, "compile", path, "-I", inc[0], "-o", out,
                   "--p4runtime-files", os.path.join(out, "p4info.txtpb")]
            proc = _median_time(lambda c=cmd: subprocess.run(c, check=True), max(3, runs // 2))
            ref = P4C_YARDSTICK_S
            ref_label = f"{ref:.2f}*"
            if p4c:
                pc = [p4c, path, "-I", inc[0], "-o", os.path.join(out, "bmv2.json"),
                      "--p4runtime-files", os.path.join(out, "p4c.txtpb")]
                ref = _median_time(lambda c=pc: subprocess.run(c, check=True), 3)
                ref_label = f"{ref:.3f}"
            print(f"{label:36} {lines:6d} {inproc * 1000:9.1f}ms {proc * 1000:7.0f}ms "
                  f"{ref_label:>7} {ref / proc:5.2f}x")
    large = os.path.join(testdata, "p4_16_samples", "switch_p4_16.p4")
    if os.path.exists(large):
        inc = [os.path.dirname(large)]
        compile_file(large, inc)
        phases: dict[str, list[float]] = {}
        for _ in range(max(3, runs // 2)):
            for k, v in compile_file(large, inc).timings.items():
                phases.setdefault(k, []).append(v)
        parts = ", ".join(f"{k} {statistics.median(v) * 1000:.1f} ms" for k, v in phases.items())
        print(f"phases on switch_p4_16.p4 (5884 lines): {parts}")
    if not p4c:
        print("* p4c-bm2-ss is not installed here: ratio against the 0.25 s yardstick per sample;"
              " ratio > 1 means faster than p4c")


# -- engine -----------------------------------------------------------------------------------

BMV2_YARDSTICK_PPS = 25_000
ENGINE_RUNS = 5
ENGINE_PACKETS = 20_000
ENGINE_BATCH = 64  # packets injected before the switch runs (well under a queue's depth)
# documentation prefixes only (RFC 5737)
DOC_NETS = ("192.0.2.0", "198.51.100.0", "203.0.113.0")
ROUTER_MAC = 0x020000000001


def _ip(a: str) -> int:
    import ipaddress

    return int(ipaddress.IPv4Address(a))


def _routes() -> list[tuple[int, int, int]]:
    """``(prefix, length, port)``: each documentation /24 carved into nested prefixes (/24,
    /26, /28, /30 and a few /32), 300 routes over 5 prefix lengths."""
    routes = []
    for net in DOC_NETS:
        base = _ip(net)
        for plen, step in ((24, 256), (26, 64), (28, 16), (30, 4)):
            routes.extend((base + off, plen, 0) for off in range(0, 256, step))
        routes.extend((base + off, 32, 0) for off in range(1, 256, 17))
    return [(pfx, plen, 1 + i % 31) for i, (pfx, plen, _) in enumerate(routes)]


def _add_routes(sw, table: str, action: str) -> int:
    from softswitch.engine.tables import Lpm

    routes = _routes()
    for pfx, plen, port in routes:
        sw.add_entry(table, [Lpm(pfx, plen)], action, [port, 0x020000000100 + port, ROUTER_MAC])
    return len(routes)


def _traffic(n: int, seed: int = 1) -> list[bytes]:
    """``n`` distinct IPv4 TCP/UDP packets to every address of the documentation /24s."""
    import random

    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    rng = random.Random(seed)
    pkts = []
    for i in range(n):
        dst = _ip(DOC_NETS[i % 3]) + rng.randrange(256)
        src = f"192.0.2.{1 + i % 200}"
        l4 = (UDP if i % 2 else TCP)(sport=1024 + rng.randrange(60000), dport=(80, 443, 53)[i % 3])
        ip = IP(src=src, dst=_ip_str(dst), ttl=64)
        pkts.append(bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:aa") / ip / l4
                          / bytes(18)))
    return pkts


def _ip_str(v: int) -> str:
    import ipaddress

    return str(ipaddress.IPv4Address(v))


def _router_switch():
    from softswitch.engine.switch import Switch
    from softswitch.frontend.compiler import compile_file

    sw = Switch.from_program(compile_file(os.path.join(EXAMPLES, "l3_router.p4"), p4info=False))
    n = _add_routes(sw, "RouterIngress.ipv4_route", "RouterIngress.set_next_hop")
    return sw, f"l3_router ({n} LPM routes)"


def _acl_switch():
    from softswitch.engine.stateful import MeterRates
    from softswitch.engine.switch import Switch
    from softswitch.engine.tables import Exact, Ternary
    from softswitch.frontend.compiler import compile_file

    path = os.path.join(EXAMPLES, "stateful_acl.p4")
    sw = Switch.from_program(compile_file(path, p4info=False), priority_queues=8)
    n = _add_routes(sw, "AclIngress.ipv4_route", "AclIngress.set_next_hop")
    for i in range(64):
        sw.add_entry("AclIngress.l2_fwd", [Exact(0x020000001000 + i)], "AclIngress.l2_forward",
                     [1 + i % 31])
    full32, full16 = 0xFFFFFFFF, 0xFFFF
    any_ = Ternary(0, 0)
    acl = 0
    for i in range(24):  # deny a few hosts' DNS, queue HTTPS by source /30, ...
        src = Ternary(_ip("192.0.2.0") + 4 * i, 0xFFFFFFFC)
        if i % 3 == 0:
            m = [src, any_, Ternary(17, 0xFF), any_, Ternary(53, full16)]
            sw.add_entry("AclIngress.acl", m, "AclIngress.deny", [], priority=100 + i)
        else:
            m = [src, any_, Ternary(6, 0xFF), any_, Ternary(443, full16)]
            sw.add_entry("AclIngress.acl", m, "AclIngress.permit_with_queue", [1 + i % 7],
                         priority=100 + i)
        acl += 1
    m = [Ternary(_ip("203.0.113.7"), full32), any_, any_, any_, any_]
    sw.add_entry("AclIngress.acl", m, "AclIngress.deny", [], priority=1000)
    acl += 1
    rates = MeterRates.from_per_second(1_000_000, 1000, 2_000_000, 2000)  # polices nothing here
    for port in range(4):
        sw.meters["AclIngress.ingress_port_meter"].cell(port).set_rates(rates)
    return sw, f"stateful_acl ({n} LPM, {acl} ternary, 64 exact)"


EXAMPLES = os.path.join(ROOT, "p4src", "examples")


def _run_traffic(sw, pkts: list[bytes], n: int) -> tuple[float, int]:
    """Seconds to push ``n`` packets through ``sw`` (virtual clock, 1 us apart) and how many
    left it."""
    inject, advance, outputs = sw.inject, sw.advance_to, sw.outputs
    now = sw.clock.now_us()
    npk = len(pkts)
    sent = 0
    t0 = time.perf_counter()
    for start in range(0, n, ENGINE_BATCH):
        for i in range(start, min(n, start + ENGINE_BATCH)):
            inject(i & 3, pkts[i % npk])
        now += ENGINE_BATCH
        advance(now)
        sent += len(outputs())
    sw.run_until_idle()
    sent += len(outputs())
    return time.perf_counter() - t0, sent


def bench_engine(testdata: str, runs: int) -> None:
    """Packets per second of the engine, in-process on the virtual clock, against BMv2's
    yardstick."""
    del testdata, runs  # the engine section has its own, fixed protocol
    pkts = _traffic(1024)
    print(f"== engine packets/s (in-process, virtual clock, {ENGINE_PACKETS} packets, "
          f"median of {ENGINE_RUNS} runs) ==")
    print(f"{'program':44} {'out':>6} {'pps':>8} {'us/pkt':>7} {'vs BMv2':>8}")
    for make in (_router_switch, _acl_switch):
        results = []
        label = ""
        for _ in range(ENGINE_RUNS):
            sw, label = make()
            _run_traffic(sw, pkts, 512)  # warm up: first-touch allocations, caches
            results.append(_run_traffic(sw, pkts, ENGINE_PACKETS))
        secs = statistics.median(r[0] for r in results)
        sent = results[0][1]
        pps = ENGINE_PACKETS / secs
        print(f"{label:44} {sent:6d} {pps:8.0f} {1e6 / pps:7.1f} "
              f"{pps / BMV2_YARDSTICK_PPS:7.2f}x")
    print(f"BMv2 yardstick: {BMV2_YARDSTICK_PPS} pps, simple_switch on a basic IPv4 LPM router as"
          " users measure it (BMv2 is not installed here); ratio > 1 means faster than BMv2")


def profile_engine(top: int = 15) -> None:
    """cProfile of the router benchmark: the ``top`` functions by own time."""
    import cProfile
    import pstats

    pkts = _traffic(1024)
    sw, label = _router_switch()
    _run_traffic(sw, pkts, 512)
    prof = cProfile.Profile()
    prof.enable()
    _run_traffic(sw, pkts, ENGINE_PACKETS)
    prof.disable()
    print(f"== profile: {label}, {ENGINE_PACKETS} packets, top {top} by tottime ==")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def bench_p4runtime(testdata: str, runs: int) -> None:
    """P4Runtime write rate and packet-out -> packet-in round trip (``tools/bench_p4runtime.py``)."""
    from bench_p4runtime import bench_p4runtime as run  # tools/ is this script's directory

    run(testdata, runs)


def bench_usefiles(testdata: str, runs: int) -> None:
    """The whole ``sluice switch --use-files`` process, as BMv2 users time simple_switch
    (``tools/bench_usefiles.py``)."""
    from bench_usefiles import bench_usefiles as run  # tools/ is this script's directory

    run(runs)


# -- controller ------------------------------------------------------------------------------------

CONTROLLER_FLOWS = 1000
ALLOCATOR_FLOWS = 20000


def _controller_lab(stats_period_s: float = 1.0):
    """An in-process switch running sluice.p4 (ports 1 and 2, P4Runtime on 127.0.0.1) and a
    Controller against it; returns (controller, port 1, stop())."""
    from controlplane.controller import Controller
    from controlplane.policy import Policy
    from controlplane.topology import parse_topology
    from softswitch.p4runtime.server import P4RuntimeServer
    from softswitch.ports import InProcessPort, PortSet
    from softswitch.runtime import SwitchRuntime

    ports = PortSet()
    p1 = ports.add(InProcessPort(1, record_sent=False))
    ports.add(InProcessPort(2, record_sent=False))
    rt = SwitchRuntime(ports, cpu_port=255, priority_queues=8, tick_interval=0.01)
    server = P4RuntimeServer(rt, "127.0.0.1:0")
    server.start()
    rt.start()
    topo = parse_topology({
        "program": os.path.join(ROOT, "p4src", "sluice.p4"),
        "switches": [{"name": "s1", "p4runtime": f"127.0.0.1:{server.port}", "ports": [1, 2]}],
        "hosts": [
            {"name": "h1", "mac": "02:00:00:00:00:01", "ipv4": "192.0.2.1", "switch": "s1",
             "port": 1},
            {"name": "h2", "mac": "02:00:00:00:00:02", "ipv4": "198.51.100.2", "switch": "s1",
             "port": 2},
        ],
    }, "<bench>")
    ctl = Controller(topo, Policy.default(), stats_period_s=stats_period_s)
    ctl.start()

    def stop() -> None:
        ctl.stop()
        server.stop(grace=0.2)
        rt.stop()

    return ctl, p1, stop


def _udp_frame(sport: int) -> bytes:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IP(src="192.0.2.1", dst="198.51.100.2") / UDP(sport=sport, dport=9000)
                 / (b"x" * 18))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _flow_setup(stats_period_s: float) -> tuple[list[float], int]:
    """Seconds from each new flow's first packet to its entry written; and flows lost."""
    import threading

    try:
        ctl, p1, stop = _controller_lab(stats_period_s)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        print(f"cannot start the switch and controller: {exc}")
        return [], 0
    lat, lost = [], 0
    try:
        installed = threading.Event()
        real_install = ctl.allocator.install

        def install(sw, a, dedup_index=None):  # the moment the Write returned
            ok = real_install(sw, a, dedup_index)
            installed.set()
            return ok

        ctl.allocator.install = install
        for frame in [_udp_frame(20000 + i) for i in range(CONTROLLER_FLOWS)]:
            installed.clear()
            t0 = time.perf_counter()
            p1.inject(frame)
            if installed.wait(5.0):
                lat.append(time.perf_counter() - t0)
            else:
                lost += 1
    finally:
        stop()
    return lat, lost


def bench_controller(testdata: str, runs: int) -> None:
    """Flow set-up latency (first packet of a new flow -> its ``flows`` entry written, over
    P4Runtime on 127.0.0.1: digest, allocation, Write) and allocator decisions per second."""

    print(f"== controller: flow set-up, {CONTROLLER_FLOWS} new flows one after another ==")
    print(f"{'statistics':>18} {'flows':>6} {'median':>9} {'p99':>9} {'max':>9} {'serial/s':>8}")
    # with the statistics app sampling at its default period, and with it idle: the
    # difference is what sampling costs the flows that start meanwhile
    for label, period in (("every 1 s", 1.0), ("off", 3600.0)):
        lat, lost = _flow_setup(period)
        if not lat:
            print(f"{label:>18} no flow was installed")
            continue
        print(f"{label:>18} {len(lat):6d} {statistics.median(lat) * 1e3:7.2f}ms "
              f"{_percentile(lat, 0.99) * 1e3:7.2f}ms {max(lat) * 1e3:7.2f}ms "
              f"{len(lat) / sum(lat):8.0f}" + (f"  ({lost} not installed in 5 s)" if lost else ""))

    from controlplane.apps.allocator import QueueAllocator
    from controlplane.policy import parse_policy
    from controlplane.protocol import FlowKey

    print(f"== controller: allocator decisions ({ALLOCATOR_FLOWS} flows, 4 ports, "
          f"median of {runs} runs) ==")
    policy = parse_policy({
        "defaults": {"class": "bulk"},
        "classes": {"bulk": {"queues": "1-4"}, "latency": {"queues": "5-7", "preferred": [7]}},
        "rules": [{"class": "latency", "dport": [5201, 5202]}],
    })
    flows = [FlowKey(4, 17, f"192.0.2.{i % 250 + 1}", "198.51.100.2", 10000 + i // 250,
                     5201 if i % 5 == 0 else 9000) for i in range(ALLOCATOR_FLOWS)]

    def one_run() -> None:
        alloc = QueueAllocator(policy, slots=ALLOCATOR_FLOWS + 1)
        for i, f in enumerate(flows):
            alloc.allocate("s1", f, 1 + i % 4)

    per_s = ALLOCATOR_FLOWS / _median_time(one_run, runs)
    alloc = QueueAllocator(policy, slots=ALLOCATOR_FLOWS + 1)
    for i, f in enumerate(flows):
        alloc.allocate("s1", f, 1 + i % 4)
    t0 = time.perf_counter()
    for f in flows:
        alloc.release("s1", f)
    release_s = ALLOCATOR_FLOWS / (time.perf_counter() - t0)
    print(f"{'allocate/s':>12} {'release/s':>12}")
    print(f"{per_s:12,.0f} {release_s:12,.0f}")


SECTIONS = {"compile": bench_compile, "engine": bench_engine, "p4runtime": bench_p4runtime,
            "controller": bench_controller, "usefiles": bench_usefiles}


def main() -> int:
    ap = argparse.ArgumentParser(description="Sluice benchmarks")
    ap.add_argument("sections", nargs="*", default=list(SECTIONS), help=", ".join(SECTIONS))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--testdata", default=os.environ.get("P4C_TESTDATA", "/tmp/p4c/testdata"))
    ap.add_argument("--profile", action="store_true",
                    help="profile the engine on the router (top 15 functions) and stop")
    args = ap.parse_args()
    if args.profile:
        profile_engine()
        return 0
    for name in args.sections:
        if name not in SECTIONS:
            print(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
            return 2
        SECTIONS[name](args.testdata, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
