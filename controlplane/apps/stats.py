"""Statistics, sampled every ``stats_period_s``: direct counters of the watched tables, per-flow
occupancy (``flow_occ_pkts``/``flow_occ_bytes`` of allocated slots), queue depths from the
target driver (``queue_stats``), and the program's PAUSE/RESUME, relay, doorbell, cap-drop,
TTL counters, and the ``mem_violations`` cells of clients seen in violation reports. Only the
cells in use are read (a whole 4096-cell array costs the embedded switch seconds). The latest
sample per switch is in :attr:`StatsApp.latest`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ..p4rt import CounterEntry, DirectCounterEntry, RegisterEntry, TableEntry
from .base import App

if TYPE_CHECKING:
    from ..controller import SwitchHandle

__all__ = ["StatsApp"]

log = logging.getLogger("sluice.controller.stats")

WATCHED_TABLES = (
    "SluiceIngress.flow.flows",
    "SluiceIngress.forwarding.routes_v4",
    "SluiceIngress.forwarding.routes_v6",
    "SluiceIngress.memguard.mem_acl",
)
COUNTERS = {
    "pause_sent": ("SluiceEgress.backpressure_frame.bp_sent", 1),
    "resume_sent": ("SluiceEgress.backpressure_frame.bp_sent", 2),
    "pause_relayed": ("SluiceIngress.backpressure.bp_relayed", 1),
    "resume_relayed": ("SluiceIngress.backpressure.bp_relayed", 2),
    "pause_rejected": ("SluiceIngress.backpressure.bp_rejected", 1),
    "doorbells_sent": ("SluiceEgress.doorbell_frame.doorbells_sent", 0),
    "ttl_expired_v4": ("SluiceIngress.forwarding.ttl_expired", 0),
    "ttl_expired_v6": ("SluiceIngress.forwarding.ttl_expired", 1),
}
CAP_DROPS = "SluiceIngress.admission.flow_cap_drops"
MEM_VIOLATIONS = "SluiceIngress.memguard.mem_violations"


class StatsApp(App):
    """Samples in a background thread (see the module docstring)."""

    name = "stats"

    def __init__(self, ctl: Any) -> None:
        super().__init__(ctl)
        self.period = ctl.stats_period_s
        self.latest: dict[str, dict[str, Any]] = {}
        self.errors = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.period <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="sluice-stats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            for sw in self.ctl.switch_handles():
                if not sw.conn.ready.is_set():
                    continue
                try:
                    self.latest[sw.name] = self.sample(sw)
                except Exception as exc:  # noqa: BLE001 - a sample may fail; the next one runs
                    self.errors += 1
                    self.last_error = f"{sw.name}: {type(exc).__name__}: {exc}"
                    level = logging.WARNING if self.errors == 1 else logging.DEBUG
                    log.log(level, "stats sample failed: %s", self.last_error)

    def sample(self, sw: SwitchHandle) -> dict[str, Any]:
        """One sample of ``sw`` now."""
        conn = sw.conn
        out: dict[str, Any] = {"time": time.time()}
        counters: dict[str, tuple[int, int]] = {}
        for name in {c for c, _ in COUNTERS.values()}:
            for e in conn.read(CounterEntry(name)):
                if e.data is not None:
                    counters[(name, e.index)] = (e.data.packets, e.data.bytes)
        out["counters"] = {k: counters.get(v, (0, 0))[0] for k, v in COUNTERS.items()}
        tables: dict[str, dict[str, int]] = {}
        for t in WATCHED_TABLES:
            pkts = byts = n = 0
            for e in conn.read(DirectCounterEntry(TableEntry(t))):
                if e.data is not None:
                    pkts += e.data.packets
                    byts += e.data.bytes
                    n += 1
            tables[t] = {"entries": n, "packets": pkts, "bytes": byts}
        out["tables"] = tables
        # only the cells the controller uses: whole 4096-cell arrays cost seconds to read
        with self.ctl.allocator.core.lock:
            slots = sorted(a.slot for a in self.ctl.allocator.core.flows.values()
                           if a.switch == sw.name)
        occ_p: dict[int, int] = {}
        occ_b: dict[int, int] = {}
        drops: dict[int, int] = {}
        for i in range(0, len(slots), 500):
            chunk = slots[i:i + 500]
            queries: list[Any] = [RegisterEntry("flow_occ_pkts", n) for n in chunk]
            queries += [RegisterEntry("flow_occ_bytes", n) for n in chunk]
            queries += [CounterEntry(CAP_DROPS, n) for n in chunk]
            for e in conn.read(queries):
                if isinstance(e, CounterEntry):
                    if e.data is not None and e.data.packets:
                        drops[e.index] = e.data.packets
                elif e.register == "flow_occ_pkts":
                    occ_p[e.index] = int(e.value or 0)
                else:
                    occ_b[e.index] = int(e.value or 0)
        out["occupancy"] = {n: (occ_p.get(n, 0), occ_b.get(n, 0)) for n in slots}
        out["cap_drops"] = drops
        cells = sorted({v["client_index"] for v in self.ctl.memguard.recent_violations(1000)
                        if v["switch"] == sw.name})
        viol = {}
        if cells:
            for e in conn.read([CounterEntry(MEM_VIOLATIONS, n) for n in cells]):
                if e.data is not None:
                    viol[e.index] = e.data.packets
        out["mem_violations"] = viol
        if sw.driver is not None:
            try:
                out["queues"] = sw.driver.queue_stats()
            except Exception as exc:  # noqa: BLE001 - NotSupported, DriverError
                out["queues_error"] = str(exc)
        return out

    def occupancy(self, switch: str, slot: int) -> tuple[int, int] | None:
        s = self.latest.get(switch)
        if s is None:
            return None
        return s["occupancy"].get(slot, (0, 0))

    def cap_drops(self, switch: str, slot: int) -> int:
        s = self.latest.get(switch)
        return 0 if s is None else s["cap_drops"].get(slot, 0)

    def queue_row(self, switch: str, port: int, qid: int) -> dict[str, Any] | None:
        """The driver's latest row for a queue (depth, enqueued, dequeued, dropped, ...)."""
        s = self.latest.get(switch)
        if s is None:
            return None
        for q in s.get("queues", []):
            if q.get("port") == port and q.get("priority", q.get("qid")) == qid:
                return q
        return None
