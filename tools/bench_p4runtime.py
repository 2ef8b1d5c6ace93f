"""The ``p4runtime`` section of ``make bench``: table-entry write rate and packet I/O round trip.

Against an in-process ``sluice switch`` (:class:`~softswitch.runtime.SwitchRuntime` and
:class:`~softswitch.p4runtime.server.P4RuntimeServer` on 127.0.0.1, an ephemeral port) running
``p4src/examples/l3_router.p4``, driven over gRPC by the project's client
(:class:`controlplane.p4rt.SwitchConnection`), so the figures include the protobuf and gRPC work
on both sides. Client and server share one Python process (and its GIL); a separate controller
process would see somewhat better figures.

- single-update Writes: one INSERT of an LPM route per Write RPC, waiting for each answer;
- batched Writes: 1000 INSERTs in one Write (and the 1000 DELETEs that undo it);
- packet-out -> packet-in: a packet-out enters ingress on the CPU port, a route sends it back to
  the CPU port, the time until the packet-in arrives on the stream.

Figures are medians over runs (and over round trips); routes and packets use the documentation
prefixes only.
"""

from __future__ import annotations

import ipaddress
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

ROUTER = os.path.join(ROOT, "p4src", "examples", "l3_router.p4")
TABLE = "RouterIngress.ipv4_route"
ACTION = "RouterIngress.set_next_hop"
CPU_PORT = 255
SINGLE_WRITES = 500
BATCH = 1000
ROUND_TRIPS = 300
WARMUP_TRIPS = 30
DOC_NETS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


def _prefixes(n: int) -> list[str]:
    """``n`` distinct LPM keys inside the documentation /24s: every /32, then every /31..."""
    out: list[str] = []
    for plen in range(32, 23, -1):
        for net in DOC_NETS:
            out += [str(s) for s in ipaddress.ip_network(net).subnets(new_prefix=plen)]
            if len(out) >= n:
                return out[:n]
    raise ValueError(f"cannot make {n} distinct prefixes")


def _ipv4_frame(dst: str) -> bytes:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    pkt = (
        Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:0a")
        / IP(src="198.51.100.1", dst=dst, ttl=64)
        / UDP(sport=4000, dport=4001)
        / (b"\x00" * 18)
    )
    return bytes(pkt)


class _Bench:
    def __init__(self) -> None:
        from p4.v1 import p4runtime_pb2

        from controlplane.p4rt import P4Schema, SwitchConnection
        from softswitch.frontend.compiler import compile_file
        from softswitch.p4runtime.server import P4RuntimeServer
        from softswitch.ports import PortSet
        from softswitch.runtime import SwitchRuntime

        self.pb = p4runtime_pb2
        result = compile_file(ROUTER)
        self.rt = SwitchRuntime(PortSet(), device_id=0, cpu_port=CPU_PORT)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0")
        self.server.start()
        self.rt.start()
        # One Write RPC per list (no client-side batching), no replay: the server's rate is measured.
        self.client = SwitchConnection(f"127.0.0.1:{self.server.port}", 0, (0, 1), replay=False,
                                       reconnect=False, batch_size=1 << 30)
        self.client.connect()
        self.client.wait_for_primary(5.0)
        self.client.set_pipeline(result.p4info, result.device_config_bytes())
        self.schema = P4Schema(result.p4info)

    def close(self) -> None:
        self.client.close()
        self.server.stop(grace=0.2)
        self.rt.stop()

    def update(self, kind: int, prefix: str, port: int = 1) -> object:
        pb = self.pb
        params = {"port": port, "dst_mac": "02:00:00:00:01:01", "src_mac": "02:00:00:00:00:01"}
        from controlplane.p4rt import TableEntry

        te = TableEntry(TABLE, {"ipv4_dst": prefix}, ACTION, params).encode_inner(self.schema)
        if kind == pb.Update.DELETE:
            te.ClearField("action")
        return pb.Update(type=kind, entity=pb.Entity(table_entry=te))

    def single_writes(self, prefixes: list[str]) -> float:
        """Entries/s of one-INSERT Writes (the entries are deleted again, untimed)."""
        ins = [self.update(self.pb.Update.INSERT, p) for p in prefixes]
        t0 = time.perf_counter()
        for u in ins:
            self.client.write([u])
        secs = time.perf_counter() - t0
        self.client.write([self.update(self.pb.Update.DELETE, p) for p in prefixes])
        return len(prefixes) / secs

    def batch_writes(self, prefixes: list[str]) -> tuple[float, float]:
        """Entries/s of one Write of INSERTs, and of the Write of DELETEs undoing it."""
        ins = [self.update(self.pb.Update.INSERT, p) for p in prefixes]
        dels = [self.update(self.pb.Update.DELETE, p) for p in prefixes]
        t0 = time.perf_counter()
        self.client.write(ins)
        t1 = time.perf_counter()
        self.client.write(dels)
        t2 = time.perf_counter()
        return len(prefixes) / (t1 - t0), len(prefixes) / (t2 - t1)

    def round_trips(self, n: int, warmup: int) -> list[float]:
        """Seconds from packet-out to packet-in, ``n`` times (after ``warmup`` untimed)."""
        self.client.write([self.update(self.pb.Update.INSERT, "192.0.2.0/24", CPU_PORT)])
        frame = _ipv4_frame("192.0.2.77")
        times = []
        try:
            for i in range(warmup + n):
                t0 = time.perf_counter()
                self.client.packet_out(frame)
                try:
                    self.client.packet_ins.get(5.0)
                except TimeoutError:
                    raise RuntimeError("no packet-in within 5 s of a packet-out") from None
                dt = time.perf_counter() - t0
                if i >= warmup:
                    times.append(dt)
        finally:
            self.client.write([self.update(self.pb.Update.DELETE, "192.0.2.0/24")])
        return times


def bench_p4runtime(testdata: str, runs: int) -> None:
    """P4Runtime write rate (single updates, batches of 1000) and packet-out -> packet-in
    round trip, against an in-process ``sluice switch``."""
    del testdata
    runs = max(1, min(runs, 5))
    b = _Bench()
    try:
        single_keys = _prefixes(SINGLE_WRITES)
        batch_keys = _prefixes(BATCH)
        b.single_writes(single_keys[:50])  # warm up: first-use imports and allocations
        single = statistics.median(b.single_writes(single_keys) for _ in range(runs))
        batches = [b.batch_writes(batch_keys) for _ in range(runs)]
        ins = statistics.median(x[0] for x in batches)
        dels = statistics.median(x[1] for x in batches)
        rtt = b.round_trips(ROUND_TRIPS, WARMUP_TRIPS)
    finally:
        b.close()
    rtt_us = sorted(t * 1e6 for t in rtt)
    p99 = rtt_us[min(len(rtt_us) - 1, int(len(rtt_us) * 0.99))]
    print(
        f"== p4runtime (in-process sluice switch, gRPC on 127.0.0.1, l3_router LPM routes, "
        f"median of {runs} runs) =="
    )
    print(f"{'measure':52} {'median':>12}")
    print(f"{'table-entry writes, 1 update per Write (entries/s)':52} {single:12.0f}")
    print(f"{f'table-entry writes, batch of {BATCH} INSERTs (entries/s)':52} {ins:12.0f}")
    print(f"{f'table-entry writes, batch of {BATCH} DELETEs (entries/s)':52} {dels:12.0f}")
    print(
        f"{'packet-out -> packet-in round trip (us)':52} {statistics.median(rtt_us):12.0f}"
        f"   (p99 {p99:.0f} us over {len(rtt_us)} trips)"
    )
    print(
        "client and server share one process; BMv2 (simple_switch_grpc) is not measured here, "
        "so no ratio is printed"
    )


if __name__ == "__main__":
    bench_p4runtime("", 5)
