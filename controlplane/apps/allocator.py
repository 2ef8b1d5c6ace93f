"""The queue allocator: gives each new flow a queue on its egress port, by policy, and says why.

The hardware has few queues per port (8) and many flows. On a new-flow digest the flow is
classified (policy rules, first match, on its 5-tuple and the DSCP the digest reports; else the
default class); it gets a flow slot (indexes the per-flow occupancy registers) and a queue of its
class on the port the switch will send it out of: a free queue of the class first (preferred
queues before the others), and when every queue of the class carries flows, the least-loaded
one, by flow count (``sharing = "flows"``) or by the sum of the flows' weights (``"weighted"``).
The decision and its reason are kept per flow; the idle-timeout notification of the flow's entry
gives slot and queue back.

:class:`QueueAllocator` is the pure decision (no switch); :class:`AllocatorApp` wires it to the
switch: the ``flows`` entry (with the class's idle timeout), resetting the slot's registers,
clearing the ``flow_dedup`` bit (protocol.md section 6.1), keeping each queue deeper than the
sum of its flows' caps (through the target driver), and deleting the entry on idle.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..p4rt import P4RuntimeError, RegisterEntry, SwitchUnavailable, TableEntry, Update, UpdateType
from ..policy import ClassSpec, Policy, Rule
from ..protocol import FlowKey, NewFlowDigest, flow_dedup_index
from .base import App

if TYPE_CHECKING:
    from ..controller import SwitchHandle

__all__ = ["Allocation", "AllocationError", "AllocatorApp", "QueueAllocator", "SlotPool"]

log = logging.getLogger("sluice.controller.allocator")

FLOW_SLOTS = 4096  # p4src/include/size.p4
FLOWS_TABLE = "SluiceIngress.flow.flows"
DEDUP_REGISTER = "SluiceIngress.admission.flow_dedup"
SLOT_REGISTERS = ("flow_occ_pkts", "flow_occ_bytes", "flow_paused")
DEFAULT_DEPTH = 64  # BMv2's and the embedded target's default queue depth (packets)
DEPTH_HEADROOM = 16  # room for packets of the flows' next hop decisions in flight
MAX_DEPTH = 65536
FLOW_MATCH = ("ip_version", "ip_src", "ip_dst", "ip_proto", "l4_sport", "l4_dport")


class AllocationError(RuntimeError):
    """No allocation possible (no free flow slot)."""


@dataclass
class Allocation:
    """One flow's decision on one switch."""

    switch: str
    flow: FlowKey
    cls: str
    port: int
    qid: int
    slot: int
    weight: int
    reason: str
    created: float = field(default_factory=time.time)
    installed: bool = False

    def to_dict(self) -> dict[str, Any]:
        f = self.flow
        return {
            "switch": self.switch,
            "flow": [f.ip_version, f.protocol, f.src, f.dst, f.sport, f.dport],
            "class": self.cls, "port": self.port, "queue": self.qid, "slot": self.slot,
            "weight": self.weight, "reason": self.reason, "created": self.created,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Allocation:
        return cls(d["switch"], FlowKey(*d["flow"]), d["class"], d["port"], d["queue"],
                   d["slot"], d["weight"], d["reason"], d["created"])

    def table_entry(self, idle_timeout_s: float) -> TableEntry:
        """The ``flows`` entry."""
        return TableEntry(FLOWS_TABLE, flow_match(self.flow), "SluiceIngress.flow.set_flow",
                          {"qid": self.qid, "slot": self.slot},
                          idle_timeout_ns=int(idle_timeout_s * 1e9))


def flow_match(flow: FlowKey) -> dict[str, int]:
    """The ``flows`` table match of a flow."""
    return dict(zip(FLOW_MATCH, flow.table_key()))


def flow_of_match(match: dict[str, Any]) -> FlowKey:
    """The flow a ``flows`` entry's match names (inverse of :func:`flow_match`)."""
    v = int(match["ip_version"])

    def addr(a: Any) -> str:
        a = int(a)
        return str(ipaddress.IPv4Address(a) if v == 4 else ipaddress.IPv6Address(a))

    return FlowKey(v, int(match["ip_proto"]), addr(match["ip_src"]), addr(match["ip_dst"]),
                   int(match["l4_sport"]), int(match["l4_dport"]))


class SlotPool:
    """Flow slots 1..size-1 (slot 0 means "no entry" to the data plane); lowest free first."""

    def __init__(self, size: int = FLOW_SLOTS) -> None:
        self.size = size
        self._next = 1
        self._free: list[int] = []
        self._used: set[int] = set()

    def take(self) -> int:
        if self._free:
            slot = heapq.heappop(self._free)
        elif self._next < self.size:
            slot, self._next = self._next, self._next + 1
        else:
            raise AllocationError(f"all {self.size - 1} flow slots are in use")
        self._used.add(slot)
        return slot

    def claim(self, slot: int) -> None:
        """Mark ``slot`` used (restoring state)."""
        if slot in self._used:
            raise AllocationError(f"flow slot {slot} is claimed twice")
        while self._next <= slot:
            if self._next != slot:
                heapq.heappush(self._free, self._next)
            self._next += 1
        if slot in self._free:
            self._free.remove(slot)
            heapq.heapify(self._free)
        self._used.add(slot)

    def give(self, slot: int) -> None:
        if slot in self._used:
            self._used.discard(slot)
            heapq.heappush(self._free, slot)

    def __len__(self) -> int:
        return len(self._used)


class QueueAllocator:
    """The allocation policy, without a switch (see the module docstring). Thread-safe."""

    def __init__(self, policy: Policy, slots: int = FLOW_SLOTS) -> None:
        self.policy = policy
        self.slots_per_switch = slots
        self.flows: dict[tuple[str, FlowKey], Allocation] = {}
        self._slots: dict[str, SlotPool] = {}
        self._queues: dict[tuple[str, int, int], set[FlowKey]] = {}
        self._weights: dict[tuple[str, int, int], int] = {}
        self.lock = threading.RLock()
        self.decisions = 0

    def _pool(self, switch: str) -> SlotPool:
        return self._slots.setdefault(switch, SlotPool(self.slots_per_switch))

    def load(self, switch: str, port: int, qid: int) -> tuple[int, int]:
        """(flows, weight sum) on a queue."""
        key = (switch, port, qid)
        return len(self._queues.get(key, ())), self._weights.get(key, 0)

    def get(self, switch: str, flow: FlowKey) -> Allocation | None:
        return self.flows.get((switch, flow))

    def allocate(self, switch: str, flow: FlowKey, port: int, dscp: int | None = None
                 ) -> Allocation:
        """Decide ``flow``'s queue on ``port`` of ``switch`` (the same answer if it has one);
        ``dscp``: the DSCP the new-flow digest reported (None: unknown, ``dscp`` rules skip)."""
        with self.lock:
            have = self.flows.get((switch, flow))
            if have is not None:
                return have
            cls, rule = self.policy.classify(flow, dscp)
            weight = rule.weight if rule is not None and rule.weight else cls.weight
            qid, why = self._choose(switch, port, cls, rule)
            slot = self._pool(switch).take()
            alloc = Allocation(switch, flow, cls.name, port, qid, slot, weight, why)
            self._add(alloc)
            self.decisions += 1
            return alloc

    def _choose(self, switch: str, port: int, cls: ClassSpec, rule: Rule | None
                ) -> tuple[int, str]:
        via = f"class {cls.name} ({rule.describe() if rule else 'default class'})"
        for q in cls.order():
            if not self._queues.get((switch, port, q)):
                kind = "free preferred queue" if q in cls.preferred else "free queue"
                return q, f"{via}: {kind} {q} on port {port}"
        order = cls.order()
        if self.policy.sharing == "weighted":
            q = min(order, key=lambda q: (self.load(switch, port, q)[1], order.index(q)))
            n, w = self.load(switch, port, q)
            return q, (f"{via}: queues {_span(cls.queues)} all busy, shared queue {q} on port "
                       f"{port} (least weighted load {w}, {_n(n)})")
        q = min(order, key=lambda q: (self.load(switch, port, q)[0], order.index(q)))
        n, _ = self.load(switch, port, q)
        return q, (f"{via}: queues {_span(cls.queues)} all busy, shared queue {q} on port "
                   f"{port} (least loaded, {_n(n)})")

    def _add(self, a: Allocation) -> None:
        key = (a.switch, a.port, a.qid)
        self.flows[(a.switch, a.flow)] = a
        self._queues.setdefault(key, set()).add(a.flow)
        self._weights[key] = self._weights.get(key, 0) + a.weight

    def release(self, switch: str, flow: FlowKey) -> Allocation | None:
        """Give back ``flow``'s slot and queue; its allocation, or None if it had none."""
        with self.lock:
            a = self.flows.pop((switch, flow), None)
            if a is None:
                return None
            key = (a.switch, a.port, a.qid)
            self._queues.get(key, set()).discard(flow)
            self._weights[key] = self._weights.get(key, 0) - a.weight
            if not self._queues.get(key):
                self._queues.pop(key, None)
                self._weights.pop(key, None)
            self._pool(switch).give(a.slot)
            return a

    def restore(self, a: Allocation) -> None:
        """Take back an allocation from saved state."""
        with self.lock:
            if (a.switch, a.flow) in self.flows:
                return
            self._pool(a.switch).claim(a.slot)
            self._add(a)

    def queues(self) -> list[tuple[str, int, int, int, int]]:
        """(switch, port, qid, flows, weight) of every queue that carries flows."""
        with self.lock:
            return [(s, p, q, len(f), self._weights.get((s, p, q), 0))
                    for (s, p, q), f in sorted(self._queues.items())]

    def slots_used(self, switch: str) -> int:
        return len(self._pool(switch))


def _n(n: int) -> str:
    return f"{n} flow" if n == 1 else f"{n} flows"


def _span(qs: tuple[int, ...]) -> str:
    qs = tuple(sorted(qs))
    if len(qs) > 1 and qs == tuple(range(qs[0], qs[-1] + 1)):
        return f"{qs[0]}-{qs[-1]}"
    return ",".join(map(str, qs))


# -- the app --------------------------------------------------------------------------------------


class AllocatorApp(App):
    """Drives :class:`QueueAllocator` from new-flow digests and idle-timeout notifications."""

    name = "allocator"
    tables = (FLOWS_TABLE,)
    digests = ("new_flow_digest_t",)

    def __init__(self, ctl: Any) -> None:
        super().__init__(ctl)
        self.core = QueueAllocator(ctl.policy)
        self.setup_latency_s: list[float] = []  # digest received -> entry installed
        self.unrouted = 0
        self.failures = 0
        # queue depths set through the target driver, by (switch, port, qid)
        self.depths: dict[tuple[str, int, int], int] = {}
        self.depth_errors = 0

    def _idle_s(self, a: Allocation) -> float:
        return self.ctl.policy.classes[a.cls].idle_timeout_s

    def desired(self, sw: SwitchHandle) -> list[Any]:
        with self.core.lock:
            allocs = [a for a in self.core.flows.values() if a.switch == sw.name]
        return [a.table_entry(self._idle_s(a)) for a in allocs]

    def configure(self, sw: SwitchHandle) -> None:
        # a digest sent while no controller listened left its dedup bit set, and that flow
        # would never be reported again: re-arm every bit (known flows re-report at most once)
        sw.conn.modify(RegisterEntry(DEDUP_REGISTER, None, 0))
        # a restarted switch forgot the depths: set them again for every queue with flows
        for key in [k for k in self.depths if k[0] == sw.name]:
            del self.depths[key]
        for s, port, qid, _, _ in self.core.queues():
            if s == sw.name:
                self.ensure_depth(sw, port, qid)

    def ensure_depth(self, sw: SwitchHandle, port: int, qid: int) -> None:
        """Keep the queue deeper than the sum of its flows' caps (protocol.md section 7: a
        packet tail-dropped after admission is never subtracted from its flow's occupancy).
        Depths only grow; classes without a cap are not counted."""
        if sw.driver is None:
            return
        with self.core.lock:
            caps = [self.ctl.policy.classes[a.cls].cap for a in self.core.flows.values()
                    if (a.switch, a.port, a.qid) == (sw.name, port, qid)]
        need = sum(c for c in caps if c < 0xFFFFFFFF) + DEPTH_HEADROOM
        if need <= max(self.depths.get((sw.name, port, qid), 0), DEFAULT_DEPTH):
            return
        need = min(need, MAX_DEPTH)
        try:
            sw.driver.set_queue_depth(port, qid, need)
            self.depths[(sw.name, port, qid)] = need
        except Exception as exc:  # noqa: BLE001 - DriverError, NotSupported: keep placing flows
            self.depth_errors += 1
            log.warning("%s: cannot set the depth of port %d queue %d to %d: %s", sw.name,
                        port, qid, need, exc)

    def on_digest(self, sw: SwitchHandle, digest: str, data: list[Any]) -> None:
        for item in data:
            t0 = time.perf_counter()
            d = _digest(NewFlowDigest, item)
            flow = d.flow()
            dst = self.ctl.topo.host_by_address(flow.dst)
            hop = self.ctl.topo.egress(sw.name, dst) if dst is not None else None
            if hop is None:
                # no route: the data plane drops it; keep the dedup bit so it stays quiet
                self.unrouted += 1
                log.info("%s: new flow %s has no route; not allocated", sw.name, _show(flow))
                continue
            try:
                a = self.core.allocate(sw.name, flow, hop[0], d.dscp)
            except AllocationError as exc:
                self.failures += 1
                log.warning("%s: flow %s stays on the default queue: %s", sw.name,
                            _show(flow), exc)
                continue
            if a.installed:  # a repeat (the dedup bit was shared or re-armed): just re-arm
                self._clear_dedup(sw, d.dedup_index)
                continue
            if self.install(sw, a, d.dedup_index):
                self.setup_latency_s.append(time.perf_counter() - t0)
                del self.setup_latency_s[:-10000]
                self.ensure_depth(sw, a.port, a.qid)
                log.info("%s: flow %s -> port %d queue %d slot %d: %s", sw.name, _show(flow),
                         a.port, a.qid, a.slot, a.reason)
        self.ctl.mark_dirty()

    def install(self, sw: SwitchHandle, a: Allocation, dedup_index: int | None = None) -> bool:
        """Reset the slot's registers, write the entry, clear the dedup bit."""
        if dedup_index is None:
            dedup_index = flow_dedup_index(a.flow)
        regs = [RegisterEntry(r, a.slot, 0) for r in SLOT_REGISTERS]
        entry = a.table_entry(self._idle_s(a))
        ups = [Update(UpdateType.MODIFY, r) for r in regs]
        ups.append(Update(UpdateType.INSERT, entry))
        ups.append(Update(UpdateType.MODIFY, RegisterEntry(DEDUP_REGISTER, dedup_index, 0)))
        try:
            sw.conn.write(ups)
        except P4RuntimeError as err:
            codes = {e.code.name for e in err.errors}
            if codes == {"ALREADY_EXISTS"}:
                sw.conn.modify(entry)
            else:
                self.failures += 1
                log.warning("%s: installing %s failed: %s", sw.name, _show(a.flow), err)
                self.core.release(sw.name, a.flow)
                return False
        except SwitchUnavailable as err:
            # kept: the reconnect's reconcile installs it
            log.warning("%s: switch unavailable while installing %s: %s", sw.name,
                        _show(a.flow), err)
            return False
        a.installed = True
        return True

    def _clear_dedup(self, sw: SwitchHandle, index: int) -> None:
        try:
            sw.conn.modify(RegisterEntry(DEDUP_REGISTER, index, 0))
        except (P4RuntimeError, SwitchUnavailable) as err:
            log.warning("%s: clearing dedup bit %d failed: %s", sw.name, index, err)

    def on_idle_timeout(self, sw: SwitchHandle, entries: list[Any]) -> None:
        gone = []
        for e in entries:
            if e.table != FLOWS_TABLE:
                continue
            flow = flow_of_match(e.match)
            a = self.core.get(sw.name, flow)
            if a is None:
                gone.append(e.key())  # stale: not ours any more
                continue
            self.core.release(sw.name, flow)
            gone.append(a.table_entry(0).key())
            log.info("%s: flow %s idle: gave back queue %d on port %d and slot %d", sw.name,
                     _show(flow), a.qid, a.port, a.slot)
        if gone:
            try:
                sw.conn.delete(gone)
            except P4RuntimeError as err:
                real = [x for x in err.errors if x.code.name != "NOT_FOUND"]
                if real:
                    log.warning("%s: deleting idle flows: %s", sw.name, real[0])
            except SwitchUnavailable as err:
                log.warning("%s: deleting idle flows: %s", sw.name, err)
            self.ctl.mark_dirty()

    def mark_installed(self, switch: str) -> None:
        """After a reconcile: every allocation of ``switch`` is on the switch."""
        with self.core.lock:
            for a in self.core.flows.values():
                if a.switch == switch:
                    a.installed = True

    def state(self) -> dict[str, Any]:
        with self.core.lock:
            return {"flows": [a.to_dict() for a in self.core.flows.values()]}

    def load_state(self, data: dict[str, Any]) -> None:
        for d in data.get("flows", []):
            a = Allocation.from_dict(d)
            if a.cls not in self.ctl.policy.classes or a.switch not in self.ctl.topo.switches:
                log.info("dropping saved flow %s: its class or switch is gone", d["flow"])
                continue
            self.core.restore(a)


def _digest(cls: Any, item: Any) -> Any:
    if isinstance(item, dict):
        return cls(**{k: int(v) for k, v in item.items()})
    return cls.from_values(item)


def _show(f: FlowKey) -> str:
    proto = {6: "tcp", 17: "udp"}.get(f.protocol, str(f.protocol))
    if f.ip_version == 6:
        return f"{proto} [{f.src}]:{f.sport} > [{f.dst}]:{f.dport}"
    return f"{proto} {f.src}:{f.sport} > {f.dst}:{f.dport}"
