"""The traffic manager's egress queues (BMv2 ``simple_switch`` semantics, plus line rate and pause).

Model
-----
Every egress port has ``priority_queues`` strict-priority FIFO queues, indexed by
``standard_metadata.priority``; the highest index is served first (BMv2: "priority 0 is the
lowest"). A queue has a depth limit in packets (tail drop when full; BMv2's default is 64) and an
optional rate in packets/s. A port has an optional line rate in bits/s, which BMv2 lacks: a
packet of ``nbytes`` keeps the line busy for ``nbytes * 8 / rate`` seconds. A queue can be paused
(beyond BMv2, for the data-plane pause of DESIGN.md): it keeps its packets and is skipped by the
scheduler, so lower queues keep flowing; on resume it drains in order at its own rate.

All times are integer microseconds on the owner's :class:`~softswitch.engine.clock.Clock`, the
unit of BMv2's queueing metadata. Fractional intervals (1/pps, serialisation time) are carried
exactly with integer remainders, so long-run rates are exact, never rounded per packet.

Scheduling is event-driven, not polled: each port has a *next start time*, the earliest time its
line is free and some unpaused queue's head is eligible (``max(enq time, rate gate)``); at that
instant the highest-priority eligible head departs. Ports are kept in a heap keyed by that time, so
``next_departure_us()`` and each departure cost O(log ports) plus O(queues per port).

Departures are computed in *scheduled* time: a packet departs at the time the model says it does,
however late the owner calls :meth:`TrafficManager.dequeue_ready` (with a real clock the engine
may wake late; with a virtual clock it jumps exactly to ``next_departure_us()``). Any operation at
time ``now`` first settles the departures scheduled strictly before ``now`` on the ports it
touches, so state changes never rewrite the past; departures scheduled *at* ``now`` are decided
after the operation (an arrival at ``now`` competes for a slot at ``now``).

Contract
--------
``TrafficManager(clock, priority_queues=1, default_depth=64)``
``set_queue_depth(port, depth, priority=None)`` / ``set_queue_rate(port, pps, priority=None)``:
    ``priority=None`` means every queue of the port; ``port=None`` means every port, now and later
    (``simple_switch_CLI set_queue_depth <n>`` without a port). ``pps=0`` = unlimited.
``set_port_rate(port, bps)``: line rate, ``0`` = unlimited; ``port=None`` = every port.
``enqueue(port, priority, item, nbytes) -> bool``: False when the packet was dropped.
``pause(port, priority)`` / ``resume(port, priority)`` / ``is_paused(port, priority)``.
``next_departure_us() -> int | None``: earliest time anything can depart, None if nothing can.
``dequeue_ready() -> list[Departure]``: every departure scheduled at or before now, ordered by
    (departure time, port, service order within the port).
``depth(port, priority)``, ``stats() -> {(port, priority): QueueStats}``,
``invalid_priority_drops`` (packets whose priority had no queue).

Not thread-safe: the engine owns it and serialises control changes with packet events, which is
also what makes a run deterministic.

Where BMv2 differs (``queueing.h`` ``QueueingLogicPriRL``, ``simple_switch.cpp``)
------------------------------------------------------------------------------
* BMv2 keeps one queue per priority per *egress thread* (port % 4), shared by the ports that
  thread serves; here every port has its own queues, as the docs describe and hardware does.
* BMv2 stamps each packet's send time at enqueue (``max(now, last_sent + 1/pps)``). Here the
  head of a queue may start no earlier than ``previous start + 1/pps``. Without a line rate or a
  pause (everything BMv2 can express) a head always departs at its stamp, so the two coincide;
  with them, a held-back queue resumes at its rate instead of bursting its backlog. A rate change
  applies to packets already queued, where BMv2's applies only to later arrivals.
* ``enq_qdepth`` and ``deq_qdepth`` count the packet's priority queue without the packet itself,
  as BMv2 (size read before the push and after the pop).
* A priority >= ``priority_queues`` is dropped, as BMv2 does ("Priority out of range"); it is
  counted in ``invalid_priority_drops``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from heapq import heappop, heappush
from operator import itemgetter
from typing import Any, NamedTuple

from softswitch.engine.clock import Clock

MAX_PRIORITY_QUEUES = 8  # standard_metadata.priority is bit<3>
DEFAULT_QUEUE_DEPTH = 64  # simple_switch's egress buffer capacity
_US_PER_S = 1_000_000
_BITUS_PER_BYTE = 8 * _US_PER_S  # bytes * this / bps = serialisation time in us


class Departure(NamedTuple):
    """One packet leaving the traffic manager for the egress pipeline."""

    port: int
    priority: int  # the queue id; BMv2's ``qid``
    item: Any
    nbytes: int
    enq_timestamp: int  # us, when enqueued
    enq_qdepth: int  # packets in the queue at enqueue, not counting this one
    deq_timestamp: int  # us, scheduled departure (egress_global_timestamp)
    deq_timedelta: int  # us spent queued
    deq_qdepth: int  # packets left in the queue after this one left


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Counters of one (port, priority) queue."""

    enqueued: int
    dequeued: int
    dropped: int
    depth: int
    max_depth: int


class _Queue:
    __slots__ = (
        "prio",
        "pkts",
        "capacity",
        "pps",
        "next_ok",
        "ok_rem",
        "last_start",
        "paused",
        "enqueued",
        "dequeued",
        "dropped",
        "max_depth",
    )

    def __init__(self, prio: int, capacity: int, pps: int) -> None:
        self.prio = prio
        self.pkts: deque[tuple[Any, int, int, int]] = deque()  # item, nbytes, enq_ts, enq_qdepth
        self.capacity = capacity
        self.pps = pps
        self.next_ok = 0  # earliest start the rate allows for the head
        self.ok_rem = 0  # fractional part of next_ok, in 1/pps us
        self.last_start: int | None = None
        self.paused = False
        self.enqueued = 0
        self.dequeued = 0
        self.dropped = 0
        self.max_depth = 0


class _Port:
    __slots__ = ("port", "queues", "bps", "free_at", "free_rem", "heap_time")

    def __init__(self, port: int, queues: list[_Queue], bps: int) -> None:
        self.port = port
        self.queues = queues
        self.bps = bps
        self.free_at = 0  # when the line can start the next packet
        self.free_rem = 0  # fractional part of free_at, in 1/bps us
        # Lower bound on this port's next start time held in the heap (None: no entry). Kept a
        # lower bound, not exact, so changes that only delay a port cost no heap work.
        self.heap_time: int | None = None


def _pick(p: _Port) -> tuple[int, _Queue] | None:
    """The port's next (start time, queue), or None when no unpaused queue holds a packet."""
    queues = p.queues
    if len(queues) == 1:  # the common case (no --priority-queues): no priorities to weigh
        q = queues[0]
        if not q.pkts or q.paused:
            return None
        enq = q.pkts[0][2]
        due = enq if enq > q.next_ok else q.next_ok
        return (p.free_at if p.free_at > due else due), q
    first = None
    for q in queues:
        if q.pkts and not q.paused:
            enq = q.pkts[0][2]
            due = enq if enq > q.next_ok else q.next_ok
            if first is None or due < first:
                first = due
    if first is None:
        return None
    start = p.free_at if p.free_at > first else first
    for q in reversed(p.queues):  # strict priority: highest index first
        if q.pkts and not q.paused:
            enq = q.pkts[0][2]
            if enq <= start and q.next_ok <= start:
                return start, q
    raise AssertionError("unreachable: the earliest eligible head is eligible at start")


class TrafficManager:
    """Per-port strict-priority egress queues with depth limits, rates, line rate and pause."""

    def __init__(
        self, clock: Clock, priority_queues: int = 1, default_depth: int = DEFAULT_QUEUE_DEPTH
    ) -> None:
        if not isinstance(priority_queues, int) or not (
            1 <= priority_queues <= MAX_PRIORITY_QUEUES
        ):
            raise ValueError(
                f"priority_queues must be 1..{MAX_PRIORITY_QUEUES}, got {priority_queues!r}"
            )
        _check_count("default_depth", default_depth)
        self._clock = clock
        self._nq = priority_queues
        self._default_depth = [default_depth] * priority_queues
        self._default_pps = [0] * priority_queues
        self._default_bps = 0
        self._ports: dict[int, _Port] = {}
        self._heap: list[tuple[int, int]] = []  # (time lower bound, port)
        self._ready: list[Departure] = []  # settled early by an operation, not yet returned
        self.invalid_priority_drops = 0

    @property
    def priority_queues(self) -> int:
        """Number of strict-priority queues per port."""
        return self._nq

    # -- configuration ---------------------------------------------------------------------

    def set_queue_depth(self, port: int | None, depth: int, priority: int | None = None) -> None:
        """Set the depth limit (packets) of one queue, or all queues of a port, or of all ports.

        Packets already queued beyond a lowered limit stay; only new arrivals are refused.
        """
        _check_count("depth", depth)
        for q in self._targets(port, priority, self._default_depth, depth):
            q.capacity = depth

    def set_queue_rate(self, port: int | None, pps: int, priority: int | None = None) -> None:
        """Set the rate (packets/s, 0 = unlimited) of one queue, all queues of a port, or all."""
        _check_count("rate (pps)", pps)
        now = self._clock.now_us()
        for q in self._targets(port, priority, self._default_pps, pps):
            q.pps = pps
            # Re-gate from the last departure with the new rate, never into the past.
            nxt, rem = now, 0
            if pps and q.last_start is not None:
                step, rem = divmod(_US_PER_S, pps)
                nxt = q.last_start + step
                if nxt < now:
                    nxt, rem = now, 0
            q.next_ok, q.ok_rem = nxt, rem
        self._reschedule_all(port)

    def set_port_rate(self, port: int | None, bps: int) -> None:
        """Set a port's line rate in bits/s (0 = unlimited); ``port=None`` sets every port.

        A packet already on the wire finishes at the rate it started with.
        """
        _check_count("line rate (bps)", bps)
        if port is None:
            self._default_bps = bps
            ports = list(self._ports.values())
        else:
            ports = [self._port(port)]
        now = self._clock.now_us()
        for p in ports:
            self._settle_before(p, now)
            p.bps = bps
            p.free_rem = 0
        self._reschedule_all(port)

    # -- data path -------------------------------------------------------------------------

    def enqueue(self, port: int, priority: int, item: Any, nbytes: int) -> bool:
        """Queue ``item`` (``nbytes`` long) on ``port``'s queue ``priority``; False if dropped."""
        p = self._ports.get(port)
        if p is None:
            p = self._port(port)
        if priority >= self._nq:
            self.invalid_priority_drops += 1
            return False
        if priority < 0:
            raise ValueError(f"priority must be >= 0, got {priority}")
        q = p.queues[priority]
        now = self._clock.now_us()
        ht = p.heap_time
        if ht is not None and ht < now:
            self._settle_before(p, now)
            ht = p.heap_time
        depth = len(q.pkts)
        if depth >= q.capacity:
            q.dropped += 1
            return False
        q.pkts.append((item, nbytes, now, depth))
        q.enqueued += 1
        if depth >= q.max_depth:
            q.max_depth = depth + 1
        # After settling, every start is >= now, so an entry at or before now still bounds it.
        if ht is None or ht > now:
            self._reschedule(p)
        return True

    def pause(self, port: int, priority: int) -> None:
        """Hold queue ``priority`` of ``port``: it keeps (and still accepts) its packets."""
        p = self._port(port)
        q = p.queues[self._check_priority(priority)]
        self._settle_before(p, self._clock.now_us())
        q.paused = True  # can only delay the port, so its heap entry stays a valid lower bound

    def resume(self, port: int, priority: int) -> None:
        """Release a paused queue; its packets leave in order, at its rate, from now on."""
        p = self._port(port)
        q = p.queues[self._check_priority(priority)]
        now = self._clock.now_us()
        self._settle_before(p, now)
        if q.paused:
            q.paused = False
            if q.next_ok < now:
                q.next_ok, q.ok_rem = now, 0
            self._reschedule(p)

    def is_paused(self, port: int, priority: int) -> bool:
        """Whether queue ``priority`` of ``port`` is paused."""
        p = self._ports.get(port)
        return p is not None and p.queues[self._check_priority(priority)].paused

    def next_departure_us(self) -> int | None:
        """Earliest time (us) any packet can depart, or None if none can (empty or paused)."""
        if self._ready:
            return min(d.deq_timestamp for d in self._ready)
        heap = self._heap
        ports = self._ports
        while heap:
            t, port = heap[0]
            p = ports[port]
            if p.heap_time != t:
                heappop(heap)  # superseded entry
                continue
            nxt = _pick(p)
            if nxt is not None and nxt[0] == t:
                return t
            # The entry was only a lower bound: replace it with the exact time.
            heappop(heap)
            if nxt is None:
                p.heap_time = None
            else:
                p.heap_time = nxt[0]
                heappush(heap, (nxt[0], port))
        return None

    def dequeue_ready(self) -> list[Departure]:
        """Every departure scheduled at or before now, by (time, port, service order)."""
        now = self._clock.now_us()
        out = self._ready
        self._ready = []
        heap = self._heap
        ports = self._ports
        # Sources of departures; the early-settled list may mix ports, so two of them need a sort.
        n_ports = min(len(out), 2)
        while heap and heap[0][0] <= now:
            t, port = heappop(heap)
            p = ports[port]
            if p.heap_time != t:
                continue
            p.heap_time = None
            nxt = self._settle(p, now, out)
            n_ports += 1
            if nxt is not None:
                p.heap_time = nxt
                heappush(heap, (nxt, port))
        if n_ports > 1:
            # Each port's departures are already in order; a stable sort merges the ports.
            out.sort(key=_departure_order)
        return out

    # -- inspection ------------------------------------------------------------------------

    def depth(self, port: int, priority: int) -> int:
        """Packets currently held in queue ``priority`` of ``port`` (0 for an unused port)."""
        prio = self._check_priority(priority)
        p = self._ports.get(port)
        return 0 if p is None else len(p.queues[prio].pkts)

    def stats(self) -> dict[tuple[int, int], QueueStats]:
        """Counters of every queue of every port used or configured so far."""
        return {
            (port, prio): QueueStats(q.enqueued, q.dequeued, q.dropped, len(q.pkts), q.max_depth)
            for port, p in sorted(self._ports.items())
            for prio, q in enumerate(p.queues)
        }

    # -- internals -------------------------------------------------------------------------

    def _port(self, port: int) -> _Port:
        p = self._ports.get(port)
        if p is None:
            if not isinstance(port, int) or port < 0:
                raise ValueError(f"port must be an integer >= 0, got {port!r}")
            queues = [
                _Queue(prio, depth, pps)
                for prio, (depth, pps) in enumerate(zip(self._default_depth, self._default_pps))
            ]
            p = self._ports[port] = _Port(port, queues, self._default_bps)
        return p

    def _check_priority(self, priority: int) -> int:
        if not isinstance(priority, int) or not (0 <= priority < self._nq):
            raise ValueError(
                f"priority must be 0..{self._nq - 1} (priority_queues={self._nq}), got {priority!r}"
            )
        return priority

    def _targets(
        self, port: int | None, priority: int | None, defaults: list[int], value: int
    ) -> list[_Queue]:
        """Queues a configuration call addresses; ``port=None`` also updates the defaults."""
        prios = range(self._nq) if priority is None else (self._check_priority(priority),)
        if port is None:
            for prio in prios:
                defaults[prio] = value
            ports = list(self._ports.values())
        else:
            ports = [self._port(port)]
        now = self._clock.now_us()
        for p in ports:
            self._settle_before(p, now)
        return [p.queues[prio] for p in ports for prio in prios]

    def _reschedule_all(self, port: int | None) -> None:
        if port is None:
            for p in self._ports.values():
                self._reschedule(p)
        else:
            self._reschedule(self._ports[port])

    def _reschedule(self, p: _Port) -> None:
        """Make sure the heap holds a lower bound of the port's next start time."""
        nxt = _pick(p)
        if nxt is not None and (p.heap_time is None or nxt[0] < p.heap_time):
            p.heap_time = nxt[0]
            heappush(self._heap, (nxt[0], p.port))

    def _settle_before(self, p: _Port, now: int) -> None:
        """Move the port's departures scheduled strictly before ``now`` to the ready list."""
        if p.heap_time is not None and p.heap_time < now:
            nxt = self._settle(p, now - 1, self._ready)
            # Tighten the bound so later operations at this time skip the settle; the old heap
            # entry no longer matches heap_time and is dropped when it surfaces.
            p.heap_time = nxt
            if nxt is not None:
                heappush(self._heap, (nxt, p.port))

    def _settle(self, p: _Port, limit: int, out: list[Departure]) -> int | None:
        """Emit the port's departures scheduled at or before ``limit``; return its next start."""
        port = p.port
        while True:
            nxt = _pick(p)
            if nxt is None:
                return None
            start, q = nxt
            if start > limit:
                return start
            item, nbytes, enq_ts, enq_qdepth = q.pkts.popleft()
            q.dequeued += 1
            q.last_start = start
            if q.pps:
                # Carry the fraction only when the queue ran exactly at its rate; a late start
                # (held by the line, a higher queue, an arrival gap) restarts the gate from it.
                total = _US_PER_S + (q.ok_rem if start == q.next_ok else 0)
                q.next_ok = start + total // q.pps
                q.ok_rem = total % q.pps
            if p.bps:
                total = nbytes * _BITUS_PER_BYTE + (p.free_rem if start == p.free_at else 0)
                p.free_at = start + total // p.bps
                p.free_rem = total % p.bps
            else:
                p.free_at = start  # keeps a port's starts non-decreasing
            # tuple.__new__ directly: a NamedTuple's own __new__ is a Python-level function
            out.append(
                _new_tuple(
                    Departure,
                    (port, q.prio, item, nbytes, enq_ts, enq_qdepth, start, start - enq_ts,
                     len(q.pkts)),
                )
            )


_new_tuple = tuple.__new__

# (deq_timestamp, port) of a Departure, in C: the sort key of every multi-port batch
_departure_order = itemgetter(Departure._fields.index("deq_timestamp"), 0)


def _check_count(what: str, value: int) -> None:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0, got {value!r}")
