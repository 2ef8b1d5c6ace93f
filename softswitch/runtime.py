"""The running switch: engine, ports, a real clock, one lock and the data-plane thread.

:class:`SwitchRuntime` is what ``sluice switch`` runs and what the P4Runtime server and the admin
interface act on::

    rt = SwitchRuntime(open_ports(["0@veth0", "1@veth1"]), cpu_port=255)
    rt.commit(rt.build_pipeline(p4info, device_config))
    rt.start()
    ...
    with rt.control() as pipeline:      # every control-plane operation holds the lock
        pipeline.switch.tables[...]
    rt.stop()

Threads: the data-plane thread polls the ports, injects what arrived, runs the engine and sends
what it emits (to ports; frames for the CPU port go to the listener as packet-in; frames for the
drop port or a port without an interface are dropped). It sleeps in ``PortSet.poll`` until a
frame arrives, a control operation wakes it, or the traffic manager's next departure is due, so
an idle switch uses no CPU. The timer thread calls the listener's ``tick`` (digest timeouts, idle
timeouts) at the deadlines the listener gives (and at least every ``tick_interval`` seconds, or
when kicked), so it too sleeps while there is nothing to time. Both
take :attr:`SwitchRuntime.lock` (an ``RLock``) around each engine batch; every control-plane
operation takes it too, because the engine is not thread-safe.

Queue settings made through :meth:`SwitchRuntime.tm_config` (the admin interface) outlive
pipeline changes, as BMv2's do: they are replayed on each new switch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .engine.clock import RealClock
from .ports.base import PortSet

__all__ = ["Pipeline", "RuntimeListener", "SwitchRuntime"]

log = logging.getLogger("sluice.switch")

_TM_OPS = ("set_queue_depth", "set_queue_rate", "set_port_rate", "pause", "resume")


@dataclass
class Pipeline:
    """One forwarding pipeline: what SetForwardingPipelineConfig installs.

    ``device_config`` is kept as received (raw or wrapped in PI's ``P4DeviceConfig``) so
    GetForwardingPipelineConfig returns the same bytes; ``cookie`` is the request's
    ``ForwardingPipelineConfig.Cookie`` or None.
    """

    p4info: Any
    device_config: bytes
    switch: Any
    store: Any = None
    packetio: Any = None
    cookie: Any = None
    created: float = field(default_factory=time.time)


class RuntimeListener(Protocol):
    """What the runtime tells the P4Runtime service (all optional to act on)."""

    def packet_in(self, pipeline: Pipeline, frame: bytes) -> None:
        """A frame the engine sent to the CPU port (data-plane thread, lock not held)."""

    def digests(self, pipeline: Pipeline, digests: list[Any]) -> None:
        """Digest messages of one engine batch (lock held)."""

    def tick(self, pipeline: Pipeline | None) -> None:
        """Periodic work: digest and idle timeouts (timer thread, lock held)."""

    def next_deadline(self) -> float | None:
        """``time.monotonic()`` time of the next :meth:`tick` needed, or None (lock held)."""

    def pipeline_changed(self, old: Pipeline | None, new: Pipeline) -> None:
        """A new pipeline was committed (lock held)."""


class SwitchRuntime:
    """A live switch (see the module docstring).

    ``ports``: the port set the data-plane thread owns. ``cpu_port``: the port whose output
    becomes packet-in and where packet-out enters (None: no packet I/O, as simple_switch_grpc
    without ``--cpu-port``). ``drop_port``: the engine's drop port (BMv2's ``--drop-port``:
    ``egress_spec`` equal to it drops, ``mark_to_drop`` sets it; None: the engine's default,
    511); output there is discarded.
    """

    def __init__(
        self,
        ports: PortSet,
        *,
        device_id: int = 0,
        cpu_port: int | None = None,
        drop_port: int | None = None,
        priority_queues: int = 1,
        tick_interval: float = 1.0,
    ) -> None:
        if cpu_port is not None and cpu_port in ports:
            raise ValueError(f"CPU port {cpu_port} also has an interface; pick another number")
        self.ports = ports
        self.device_id = device_id
        self.cpu_port = cpu_port
        if drop_port is None:
            # imported here: the engine is heavy, and the admin client imports this module
            from .engine.v1model import DEFAULT_DROP_PORT

            drop_port = DEFAULT_DROP_PORT
        self.drop_port = drop_port
        self.priority_queues = priority_queues
        self.tick_interval = tick_interval
        self.clock = RealClock()
        self.lock = threading.RLock()
        self.pipeline: Pipeline | None = None
        self.listener: RuntimeListener | None = None
        self.rx: Counter[int] = Counter()
        self.tx: Counter[int] = Counter()
        self.dropped_no_pipeline = 0
        self.dropped_no_port = 0
        self.packet_outs = 0
        self.packet_ins = 0
        self.engine_errors = 0
        self._tm_log: list[tuple[str, tuple[Any, ...]]] = []
        self._stop = threading.Event()
        self._timer_wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- pipelines -----------------------------------------------------------------------------

    @property
    def switch(self) -> Any:
        """The engine of the committed pipeline, or None."""
        pl = self.pipeline
        return pl.switch if pl is not None else None

    def build_pipeline(
        self, p4info: Any, device_config: bytes, cookie: Any = None, *, program: Any = None
    ) -> Pipeline:
        """Load a device config into a new engine (not yet running): what VERIFY does.

        ``device_config`` is our JSON, raw or wrapped in PI's ``P4DeviceConfig``; ``program``
        (a ``CompileResult`` or checked program) skips loading it. Raises ``ValueError`` with
        a message when the config cannot be realised or does not match the P4Info.
        """
        from .engine.switch import Switch

        source = program if program is not None else unwrap_device_config(device_config)
        try:
            sw = Switch.from_program(
                source,
                clock=self.clock,
                priority_queues=self.priority_queues,
                drop_port=self.drop_port,
            )
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot realise"
            raise ValueError(f"cannot load the device config: {exc}") from exc
        _check_p4info(p4info, sw)
        from .p4runtime.entities import EntityStore
        from .p4runtime.packetio import PacketIO

        try:
            store = EntityStore(p4info, sw, self.device_id)
            packetio = PacketIO(p4info)
        except Exception as exc:  # noqa: BLE001 - a P4Info we cannot serve
            raise ValueError(f"cannot use the P4Info: {exc}") from exc
        return Pipeline(p4info, bytes(device_config), sw, store, packetio, cookie)

    def commit(self, pipeline: Pipeline) -> None:
        """Make ``pipeline`` the running one (queue settings are replayed onto it)."""
        with self.lock:
            old = self.pipeline
            self._replay_tm(pipeline.switch)
            self.pipeline = pipeline
            if self.listener is not None:
                self.listener.pipeline_changed(old, pipeline)
        self.ports.wake()
        self._timer_wake.set()
        p4i = pipeline.p4info
        cookie = getattr(pipeline.cookie, "cookie", None)
        log.info(
            "pipeline set: %d tables, %d actions%s",
            len(p4i.tables),
            len(p4i.actions),
            f", cookie {cookie}" if cookie is not None else "",
        )

    @contextmanager
    def control(self) -> Iterator[Pipeline | None]:
        """Hold the lock for a control-plane operation; wake the data plane afterwards (the
        operation may have changed what it should do next)."""
        with self.lock:
            yield self.pipeline
        self.ports.wake()

    # -- traffic manager settings --------------------------------------------------------------

    def tm_config(self, op: str, *args: Any) -> None:
        """Apply a traffic-manager setting now and to every later pipeline.

        ``op``: ``set_queue_depth(port, depth, priority)``, ``set_queue_rate(port, pps,
        priority)``, ``set_port_rate(port, bps)``, ``pause(port, priority)``, ``resume(port,
        priority)`` (the :class:`~softswitch.engine.queueing.TrafficManager` methods).
        """
        if op not in _TM_OPS:
            raise ValueError(f"unknown traffic-manager operation {op!r}")
        with self.control() as pl:
            if pl is not None:
                getattr(pl.switch.tm, op)(*args)
            self._tm_log.append((op, args))

    def _replay_tm(self, sw: Any) -> None:
        for op, args in self._tm_log:
            try:
                getattr(sw.tm, op)(*args)
            except (ValueError, KeyError, IndexError) as exc:
                log.warning("queue setting %s%s not applied to the new pipeline: %s", op, args, exc)

    # -- packet I/O ----------------------------------------------------------------------------

    def packet_out(self, frame: bytes) -> None:
        """A packet-out: ``frame`` (packet_out header included) enters ingress on the CPU port.

        Raises ``RuntimeError`` without a CPU port or a pipeline.
        """
        if self.cpu_port is None:
            raise RuntimeError("packet-out needs a CPU port (start the switch with --cpu-port)")
        with self.lock:
            pl = self.pipeline
            if pl is None:
                raise RuntimeError("no forwarding pipeline is set")
            pl.switch.inject(self.cpu_port, frame)
            self.packet_outs += 1
        self.ports.wake()

    # -- threads -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the data-plane and timer threads."""
        if self._threads:
            return
        self._stop.clear()
        for name, target in (
            ("sluice-dataplane", self._run_dataplane),
            ("sluice-timer", self._run_timer),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, *, close_ports: bool = True) -> None:
        """Stop and join the threads; close the ports unless told not to."""
        self._stop.set()
        self.ports.wake()
        self._timer_wake.set()
        for t in self._threads:
            t.join(timeout=5)
            if t.is_alive():
                log.warning("thread %s did not stop", t.name)
        self._threads.clear()
        if close_ports:
            self.ports.close()

    def kick_timer(self) -> None:
        """Make the timer thread recompute its deadline (e.g. a digest buffer started)."""
        self._timer_wake.set()

    def _poll_timeout(self) -> float | None:
        with self.lock:
            sw = self.switch
            if sw is None:
                return None
            nxt = sw.tm.next_departure_us()
            if nxt is None:
                return None
            return max(0.0, (nxt - self.clock.now_us()) / 1e6)

    def _run_dataplane(self) -> None:
        profile = os.environ.get("SLUICE_PROFILE")
        if not profile:
            self._dataplane_loop()
            return
        # a debugging aid: cProfile of the data-plane thread, dumped to FILE when it stops
        import cProfile

        prof = cProfile.Profile()
        try:
            prof.runcall(self._dataplane_loop)
        finally:
            prof.dump_stats(profile)
            log.info("data-plane profile written to %s", profile)

    def _dataplane_loop(self) -> None:
        ports = self.ports
        while not self._stop.is_set():
            try:
                frames = ports.poll(self._poll_timeout())
            except (OSError, ValueError) as exc:
                if self._stop.is_set():
                    return
                log.error("port error: %s", exc)
                time.sleep(0.1)
                continue
            if self._stop.is_set():
                return
            self._step(frames)

    def _step(self, frames: list[tuple[Any, bytes]]) -> None:
        with self.lock:
            pl = self.pipeline
            if pl is None:
                self.dropped_no_pipeline += len(frames)
                return
            sw = pl.switch
            for port, frame in frames:
                self.rx[port.number] += 1
                sw.inject(port.number, frame)
            try:
                sw.process()
            except Exception:  # noqa: BLE001 - an engine bug must not stop the switch
                self.engine_errors += 1
                if self.engine_errors <= 10:
                    log.exception("engine error while processing packets")
            outs = sw.outputs()
            digests = sw.digests()
            listener = self.listener
            if digests and listener is not None:
                try:
                    listener.digests(pl, digests)
                except Exception:  # noqa: BLE001
                    log.exception("digest handling failed")
                self._timer_wake.set()
        for port, frame in outs:
            if port == self.cpu_port:
                self.packet_ins += 1
                if listener is not None:
                    try:
                        listener.packet_in(pl, frame)
                    except Exception as exc:  # noqa: BLE001
                        log.error("packet-in dropped: %s", exc)
            elif port == self.drop_port:
                continue
            else:
                try:
                    sent = self.ports.send(port, frame)
                except (OSError, ValueError) as exc:
                    log.error("cannot send on port %d: %s", port, exc)
                    sent = False
                if sent:
                    self.tx[port] += 1
                else:
                    self.dropped_no_port += 1

    def _run_timer(self) -> None:
        while not self._stop.is_set():
            wait = self.tick_interval
            with self.lock:
                listener = self.listener
                if listener is not None:
                    try:
                        listener.tick(self.pipeline)
                        nxt = listener.next_deadline()
                    except Exception:  # noqa: BLE001
                        log.exception("periodic stream work failed")
                        nxt = None
                    if nxt is not None:
                        wait = min(wait, max(0.001, nxt - time.monotonic()))
            self._timer_wake.wait(wait)
            self._timer_wake.clear()

    # -- inspection ----------------------------------------------------------------------------

    def port_info(self) -> list[dict[str, Any]]:
        """Ports with their names and counters (``show_ports``)."""
        out = [
            {
                "port": p.number,
                "name": p.name,
                "kind": type(p).__name__,
                "rx": self.rx[p.number],
                "tx": self.tx[p.number],
            }
            for p in self.ports
        ]
        if self.cpu_port is not None:
            out.append(
                {
                    "port": self.cpu_port,
                    "name": "CPU (P4Runtime packet I/O)",
                    "kind": "cpu",
                    "rx": self.packet_outs,
                    "tx": self.packet_ins,
                }
            )
        return out


def unwrap_device_config(data: bytes) -> bytes:
    """Our device config from ``p4_device_config``: the bytes themselves (raw JSON, what
    p4runtime-shell sends) or the ``device_data`` of PI's legacy ``P4DeviceConfig`` message
    (``reassign`` = 1, ``extras`` = 2, ``device_data`` = 3), decoded from the wire format."""
    data = bytes(data)
    if data.lstrip()[:1] in (b"{", b""):
        return data
    fields = _decode_fields(data)
    if fields is None or 3 not in fields:
        return data
    return fields[3]


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _decode_fields(data: bytes) -> dict[int, Any] | None:
    """The fields of a P4DeviceConfig, or None if ``data`` is not one."""
    out: dict[int, Any] = {}
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _varint(data, i)
            elif wire == 2:
                n, i = _varint(data, i)
                if i + n > len(data):
                    return None
                value, i = data[i : i + n], i + n
            elif wire == 1:
                value, i = data[i : i + 8], i + 8
            elif wire == 5:
                value, i = data[i : i + 4], i + 4
            else:
                return None
            if number == 0 or i > len(data):
                return None
            if number in (1, 2, 3):
                expected = 0 if number == 1 else 2
                if wire != expected:
                    return None
                out[number] = value
    except ValueError:
        return None
    return out


def _check_p4info(p4info: Any, sw: Any) -> None:
    """The P4Info must describe the loaded program: its tables exist in the engine."""
    if p4info is None:
        raise ValueError("the forwarding pipeline config has no P4Info")
    missing = [t.preamble.name for t in p4info.tables if t.preamble.name not in sw.tables]
    if missing:
        raise ValueError(
            "the P4Info does not match the device config: "
            f"table(s) {', '.join(missing[:5])} not in the program"
        )
