"""The ``usefiles`` bench section: the embedded switch as a whole process, BMv2's way.

How BMv2 users measure simple_switch: write the packets into ``0_in.pcap``, start the switch
with ``--use-files WAIT_TIME``, install the routes during the wait, and time until every output
record is written. This does the same with ``sluice switch`` on ``p4src/examples/l3_router.p4``:
100,000 IPv4/UDP packets (64-100 bytes, 192.0.2.0/24 to 198.51.100.0/24 and 203.0.113.0/24)
over 100 LPM routes to ports 1-3, routes installed through the admin interface (127.0.0.1,
free ports), time from the switch's ``use-files: input started`` log line to the last output
record on disk (output file sizes polled). Every packet must come out on its route's port with
the MACs rewritten and the TTL decremented; the figure is compared with BMv2's yardstick of
25,000 packets/s (BMv2 is not installed here, so it is the brief's figure, not a measurement).

``SLUICE_PROFILE=FILE`` in the switch's environment dumps a cProfile of its data-plane thread;
``tools/bench_usefiles.py --profile`` runs once that way and prints the top functions.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

BMV2_YARDSTICK_PPS = 25_000
TARGET_PPS = 2 * BMV2_YARDSTICK_PPS
PACKETS = 100_000
ROUTES = 100
OUT_PORTS = (1, 2, 3)
WAIT_TIME_S = 2.0
SRC_MAC = bytes.fromhex("020000000001")
IN_DST_MAC = bytes.fromhex("020000000000")
TABLE = "RouterIngress.ipv4_route"
ACTION = "RouterIngress.set_next_hop"


def _route(i: int) -> tuple[str, int, int, bytes, bytes]:
    """Route ``i``: (prefix, prefix length, port, next-hop MAC, router MAC).

    Routes 0-49 are /30s of 198.51.100.0/24 (host bytes 4i..4i+3), 50-99 /30s of 203.0.113.0/24.
    """
    net = "198.51.100" if i < 50 else "203.0.113"
    base = (i % 50) * 4
    port = OUT_PORTS[i % len(OUT_PORTS)]
    dst_mac = bytes([0x02, 0x00, 0x00, 0x00, 0x10, i])
    src_mac = bytes([0x02, 0x00, 0x00, 0x00, 0x20, port])
    return f"{net}.{base}", 30, port, dst_mac, src_mac


def _csum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _packet(rng: random.Random, i: int) -> tuple[bytes, int]:
    """One Ethernet/IPv4/UDP frame of 64-100 bytes to a host of a random route; (frame, route)."""
    r = rng.randrange(ROUTES)
    net, _, _, _, _ = _route(r)
    a, b, c, d = (int(x) for x in net.split("."))
    dst = bytes([a, b, c, d + rng.randrange(4)])
    src = bytes([192, 0, 2, 1 + rng.randrange(254)])
    size = rng.randint(64, 100)
    payload = bytes(size - 14 - 20 - 8)
    udp = struct.pack("!HHHH", 1024 + i % 50000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return IN_DST_MAC + SRC_MAC + b"\x08\x00" + ip + udp, r


def make_traffic(directory: str, packets: int = PACKETS, seed: int = 1):
    """Write ``directory/0_in.pcap``; returns (frames, route of each frame)."""
    from softswitch.ports.pcap import PcapWriter

    rng = random.Random(seed)
    frames, routes = [], []
    with PcapWriter(os.path.join(directory, "0_in.pcap"), flush=False) as w:
        t = 1_700_000_000.0
        for i in range(packets):
            frame, r = _packet(rng, i)
            w.write(frame, t + i * 1e-6)
            frames.append(frame)
            routes.append(r)
    for port in OUT_PORTS:  # the switch opens an input for every port, as BMv2 does
        with PcapWriter(os.path.join(directory, f"{port}_in.pcap"), flush=False):
            pass
    return frames, routes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sluice() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "sluice")
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, "-m", "softswitch.cli"]


def _install_routes(admin_addr: str, deadline: float, proc, log: list[str]) -> None:
    from softswitch.admin import AdminClient, AdminError

    while True:
        try:
            client = AdminClient(admin_addr, timeout=10)
            break
        except AdminError:
            if proc.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                msg = f"the switch exited ({proc.returncode}):\n" + "\n".join(log)
                raise RuntimeError(msg) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    with client:
        for i in range(ROUTES):
            net, plen, port, dst_mac, src_mac = _route(i)
            resp = client.call(
                "table_add",
                TABLE,
                ACTION,
                f"{net}/{plen}",
                "=>",
                port,
                dst_mac.hex(":"),
                src_mac.hex(":"),
            )
            if not resp.get("ok"):
                raise RuntimeError(f"table_add failed: {resp.get('error')}")


def _read_stderr(proc: subprocess.Popen, lines: queue.Queue, log: list[str]) -> None:
    for raw in proc.stderr:
        line = raw.decode(errors="replace").rstrip()
        log.append(line)
        lines.put((time.monotonic(), line))


def run_once(frames, routes, *, profile: str | None = None, timeout: float = 120.0) -> dict:
    """Start the switch on a fresh copy of the traffic, time it, check the outputs."""
    from softswitch.ports.pcap import PcapReader

    tmp = tempfile.mkdtemp(prefix="sluice-usefiles-")
    try:
        src_dir = _traffic_dir
        for name in os.listdir(src_dir):
            shutil.copy(os.path.join(src_dir, name), tmp)
        admin_addr = f"127.0.0.1:{_free_port()}"
        cmd = _sluice() + [
            "switch",
            os.path.join(ROOT, "p4src", "examples", "l3_router.p4"),
            "--use-files",
            str(WAIT_TIME_S),
            "--files-dir",
            tmp,
            "-i",
            "0@0",
            *[a for p in OUT_PORTS for a in ("-i", f"{p}@{p}")],
            "--grpc-server-addr",
            f"127.0.0.1:{_free_port()}",
            "--admin-addr",
            admin_addr,
        ]
        env = dict(os.environ)
        if profile:
            env["SLUICE_PROFILE"] = profile
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        lines: queue.Queue = queue.Queue()
        log: list[str] = []
        threading.Thread(target=_read_stderr, args=(proc, lines, log), daemon=True).start()
        try:
            # the wait starts when the ports open, before the program is compiled: the routes
            # must be in before it ends, or early packets meet an empty table
            _install_routes(admin_addr, started + 30, proc, log)
            routes_done = time.monotonic()
            t_first = None
            deadline = time.monotonic() + timeout
            while t_first is None:
                try:
                    ts, line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    msg = "the switch never started its input:\n" + "\n".join(log)
                    raise RuntimeError(msg) from None
                if "use-files: input started" in line:
                    t_first = ts
            if routes_done > t_first:
                raise RuntimeError("routes were installed after the input started; raise the wait")
            per_port: dict[int, int] = {p: 24 for p in OUT_PORTS}
            for f, r in zip(frames, routes):
                per_port[_route(r)[2]] += 16 + len(f)
            paths = {p: os.path.join(tmp, f"{p}_out.pcap") for p in OUT_PORTS}
            t_last = None
            while time.monotonic() < deadline:
                if all(os.path.getsize(paths[p]) >= per_port[p] for p in OUT_PORTS):
                    t_last = time.monotonic()
                    break
                time.sleep(0.002)
            if t_last is None:
                sizes = {p: os.path.getsize(paths[p]) for p in OUT_PORTS}
                raise RuntimeError(f"outputs incomplete after {timeout} s: {sizes} of {per_port}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # check: every packet came out on its route's port, MACs rewritten, TTL 63
        expected: dict[int, list[tuple[bytes, int]]] = {p: [] for p in OUT_PORTS}
        for f, r in zip(frames, routes):
            expected[_route(r)[2]].append((f, r))
        for p in OUT_PORTS:
            got = [rec.frame for rec in PcapReader(paths[p]).records()]
            exp = expected[p]
            if len(got) != len(exp):
                raise RuntimeError(f"port {p}: {len(got)} packets out, {len(exp)} expected")
            step = max(1, len(exp) // 200)
            for k in range(0, len(exp), step):
                f, r = exp[k]
                g = got[k]
                _, _, _, dst_mac, src_mac = _route(r)
                if (
                    g[:6] != dst_mac
                    or g[6:12] != src_mac
                    or g[22] != 63
                    or g[26:] != f[26:]
                    or g[14:22] != f[14:22]
                    or _csum(g[14:34])
                ):
                    raise RuntimeError(f"port {p} packet {k}: wrong rewrite {g[:34].hex()}")
        return {"seconds": t_last - t_first, "log": log}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_traffic_dir = ""


def bench_usefiles(runs: int = 3, *, packets: int = PACKETS) -> float:
    """Run the section (``runs`` switch processes); returns the median packets/s."""
    global _traffic_dir
    runs = max(1, min(runs, 3))  # each run is a whole process and 100k packets
    print(
        f"\n== usefiles: sluice switch --use-files, l3_router.p4, {packets:,} packets, "
        f"{ROUTES} LPM routes =="
    )
    _traffic_dir = tempfile.mkdtemp(prefix="sluice-usefiles-in-")
    try:
        frames, routes = make_traffic(_traffic_dir, packets)
        times, logs = [], []
        for _ in range(runs):
            res = run_once(frames, routes)
            times.append(res["seconds"])
            logs = res["log"]
    finally:
        shutil.rmtree(_traffic_dir, ignore_errors=True)
    t = statistics.median(times)
    pps = packets / t
    print(
        f"  all {packets:,} packets out (ports {', '.join(map(str, OUT_PORTS))}), "
        "MACs, TTL and checksum checked"
    )
    for line in logs:
        if "switch ready in" in line or "input exhausted" in line:
            print("  switch log:", line.split(": ", 1)[-1])
    print(f"  first packet in -> last record written: {t:.3f} s (median of {runs})")
    print(f"  {pps:,.0f} packets/s, {1e6 / pps:.1f} us/packet")
    print(
        f"  vs BMv2 yardstick {BMV2_YARDSTICK_PPS:,} pps (the brief's figure; BMv2 not "
        f"installed here): x{pps / BMV2_YARDSTICK_PPS:.2f} (target x2)"
    )
    return pps


def profile_usefiles(packets: int = PACKETS, top: int = 25) -> None:
    """One run with cProfile on the switch's data-plane thread; print the top functions."""
    import pstats

    global _traffic_dir
    _traffic_dir = tempfile.mkdtemp(prefix="sluice-usefiles-in-")
    out = os.path.join(tempfile.gettempdir(), f"sluice-usefiles-{os.getpid()}.prof")
    try:
        frames, routes = make_traffic(_traffic_dir, packets)
        res = run_once(frames, routes, profile=out)
    finally:
        shutil.rmtree(_traffic_dir, ignore_errors=True)
    print(f"{packets / res['seconds']:,.0f} packets/s under the profiler")
    for _ in range(100):
        if os.path.exists(out):
            break
        time.sleep(0.05)
    st = pstats.Stats(out)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    os.unlink(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=PACKETS)
    ap.add_argument("--profile", action="store_true", help="profile the data-plane thread")
    args = ap.parse_args()
    if args.profile:
        profile_usefiles(args.packets)
    else:
        bench_usefiles(args.runs, packets=args.packets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
