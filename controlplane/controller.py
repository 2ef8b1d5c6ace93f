"""The Sluice controller core: connections to every switch, the apps, desired state on disk.

Contract (the daemon, management API and ``sluice ctl`` are built on it)::

    class Controller:
        def __init__(self, topo: Topology, policy: Policy, state_dir: str | None = None, *,
                     stats_period_s: float = 1.0, connect_timeout_s: float = 5.0)
        def start(self) -> None     # connect every switch (election id, pipeline from the
                                    # topology's program or P4Info + device config), reconcile,
                                    # run the apps; streams are handled in background threads;
                                    # raises ControllerError naming an unreachable switch
        def stop(self) -> None
        def status(self) -> dict    # per switch: connected, primary, pipeline cookie, ports;
                                    # counts of flows, grants, violations
        def flows(self) -> list[dict]    # switch, 5-tuple, class, port, queue, slot, reason,
                                         # age_s, installed, occupancy (packets, bytes)
        def queues(self) -> list[dict]   # switch, port, queue, class, flows, weight, depth
        def violations(self, limit: int = 100) -> list[dict]
        def grants(self) -> list[dict]
        def grant(self, client, server, region, perms) -> dict   # perms "r", "rw", "owner";
                                                                # ValueError on bad input
        def revoke(self, client, server, region) -> dict
        def save_state(self) -> None / load_state(self) -> None

State: ``<state_dir>/controller.json`` holds the desired state (flow allocations, grants,
ALLOC allow-lists); it is written shortly after every change (a background saver coalesces
bursts; :meth:`stop` writes it once more). :meth:`start` loads it, and *reconciles* each switch:
it reads the tables the apps own and the clone sessions, then inserts what is missing, modifies
what differs and deletes what is stale, so traffic on entries that are right is never touched.
A switch whose pipeline is gone (it restarted) gets the pipeline pushed again and everything
re-written, from the connection's on-ready callback; a controller restart with a switch that
kept its state writes nothing that is already there.

Threads: each connection's reader thread queues digest lists and idle-timeout notifications;
a worker per switch and stream hands them to the apps in order, under the switch's lock, and
acknowledges digests.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apps import AllocatorApp, App, MemGuardApp, RouterApp, StatsApp
from .p4rt import (
    CloneSession,
    DigestList,
    IdleTimeoutNotification,
    P4RuntimeError,
    StreamQueue,
    SwitchConnection,
    SwitchUnavailable,
    TableEntry,
    TargetDriver,
    Update,
    UpdateType,
    make_driver,
)
from .p4rt.client import pipeline_cookie
from .p4rt.schema import P4Schema
from .policy import Policy
from .protocol import CTRL_SESSION_BASE
from .topology import SwitchSpec, Topology

__all__ = ["Controller", "ControllerError", "SwitchHandle"]

log = logging.getLogger("sluice.controller")

STATE_FILE = "controller.json"
STATE_VERSION = 1
ELECTION_ID = (0, 1 << 32)
DEFAULT_PROGRAM = Path(__file__).resolve().parents[1] / "p4src" / "sluice.p4"


class ControllerError(RuntimeError):
    """The controller cannot do what was asked (unreachable switch, bad program, ...)."""


@dataclass
class SwitchHandle:
    """One switch as the controller holds it."""

    spec: SwitchSpec
    conn: SwitchConnection
    driver: TargetDriver | None = None
    workers: list[threading.Thread] = field(default_factory=list)
    syncs: int = 0
    last_sync: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def name(self) -> str:
        return self.spec.name

    def upsert(self, entities: list[Any]) -> None:
        """INSERT each entity; those that exist already are modified."""
        try:
            self.conn.insert(entities)
        except P4RuntimeError as err:
            again = [entities[e.index] for e in err.errors if e.code.name == "ALREADY_EXISTS"]
            if len(again) != len(err.errors):
                raise
            self.conn.modify(again)


def _key(e: Any) -> tuple[Any, ...]:
    if isinstance(e, CloneSession):
        return ("clone", e.session_id)
    return ("table", e.table, tuple(sorted((k, repr(v)) for k, v in e.match.items())),
            e.priority)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, CloneSession):
        return (sorted(a.replicas), a.class_of_service, a.packet_length_bytes) == (
            sorted(b.replicas), b.class_of_service, b.packet_length_bytes)
    return (a.action, a.params, a.idle_timeout_ns) == (b.action, b.params, b.idle_timeout_ns)


class Controller:
    """See the module docstring."""

    def __init__(
        self,
        topo: Topology,
        policy: Policy,
        state_dir: str | None = None,
        *,
        stats_period_s: float = 1.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.topo = topo
        self.policy = policy
        self.state_dir = Path(state_dir) if state_dir else None
        self.stats_period_s = stats_period_s
        self.connect_timeout_s = connect_timeout_s
        self.switches: dict[str, SwitchHandle] = {}
        self.router = RouterApp(self)
        self.allocator = AllocatorApp(self)
        try:
            self.memguard = MemGuardApp(self)
        except ValueError as exc:  # the policy names a server the topology lacks
            raise ControllerError(str(exc)) from None
        self.stats = StatsApp(self)
        self.apps: list[App] = [self.router, self.allocator, self.memguard, self.stats]
        self.schema: P4Schema | None = None
        self.device_config = b""
        self.cookie = 0
        self.started_at: float | None = None
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._saver: threading.Thread | None = None
        self._state_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------

    def _load_program(self) -> None:
        if self.topo.p4info is not None:
            from google.protobuf import text_format
            from p4.config.v1 import p4info_pb2

            try:
                text = Path(self.topo.p4info).read_text()
                p4info = p4info_pb2.P4Info()
                text_format.Parse(text, p4info)
                self.device_config = Path(self.topo.device_config or "").read_bytes()
            except (OSError, text_format.ParseError) as exc:
                raise ControllerError(f"cannot read the pipeline: {exc}") from None
        else:
            from softswitch.frontend.compiler import compile_file

            program = self.topo.program or str(DEFAULT_PROGRAM)
            try:
                result = compile_file(program)
            except Exception as exc:  # noqa: BLE001 - the compiler's errors name file:line
                raise ControllerError(f"cannot compile {program}: {exc}") from None
            p4info = result.p4info
            self.device_config = result.device_config_bytes()
        self.schema = P4Schema(p4info)
        self.cookie = pipeline_cookie(self.schema.p4info, self.device_config)

    def start(self) -> None:
        """Connect, push or keep the pipeline, reconcile, start the apps (module docstring)."""
        self._stop.clear()
        if self.schema is None:
            self._load_program()
        self.load_state()
        try:
            for spec in self.topo.switches.values():
                self.switches[spec.name] = self._connect(spec)
            for sw in self.switches.values():
                self._bring_up(sw)
        except BaseException:
            self._close_all()
            raise
        for sw in self.switches.values():
            for q in (sw.conn.digest_lists, sw.conn.idle_timeouts):
                t = threading.Thread(target=self._work, args=(sw, q), daemon=True,
                                     name=f"sluice-ctl-{sw.name}-{q.name}")
                t.start()
                sw.workers.append(t)
            sw.conn.on_ready(lambda conn, sw=sw: self._on_reconnect(sw))
        for app in self.apps:
            app.start()
        self._saver = threading.Thread(target=self._save_loop, daemon=True, name="sluice-saver")
        self._saver.start()
        self.started_at = time.time()
        self.save_state()

    def _connect(self, spec: SwitchSpec) -> SwitchHandle:
        conn = SwitchConnection(spec.p4runtime, spec.device_id, ELECTION_ID, replay=False,
                                schema=self.schema)
        try:
            conn.connect(timeout=self.connect_timeout_s)
            conn.wait_for_primary(timeout=self.connect_timeout_s)
        except (SwitchUnavailable, P4RuntimeError, TimeoutError) as exc:
            conn.close()
            raise ControllerError(
                f"switch {spec.name} at {spec.p4runtime} (device {spec.device_id}) is not "
                f"reachable: {exc}") from None
        driver = None
        if spec.admin is not None:
            try:
                driver = make_driver(spec.target, **(
                    {"address": spec.admin} if spec.target == "softswitch" else {}))
            except Exception as exc:  # noqa: BLE001 - optional: no queue stats without it
                log.warning("%s: no target driver (%s): queue depths unavailable", spec.name, exc)
        return SwitchHandle(spec, conn, driver)

    def _bring_up(self, sw: SwitchHandle) -> None:
        """Pipeline (pushed only if the switch runs another one), then reconcile and configure."""
        with sw.lock:
            assert self.schema is not None
            current = sw.conn.get_pipeline("cookie_only")
            if current is None or current.cookie != self.cookie:
                log.info("%s: pushing the pipeline", sw.name)
                sw.conn.set_pipeline(self.schema, self.device_config, cookie=self.cookie)
            else:
                sw.conn.schema = self.schema
                log.info("%s: pipeline already running: reconciling", sw.name)
            for app in self.apps:
                app.configure(sw)
            self.reconcile(sw)

    def _on_reconnect(self, sw: SwitchHandle) -> None:
        if self._stop.is_set() or not sw.conn.reconnects:
            return
        log.info("%s: reconnected: checking pipeline and state", sw.name)
        try:
            self._bring_up(sw)
        except (P4RuntimeError, SwitchUnavailable) as exc:
            log.error("%s: re-pushing state after reconnect failed: %s", sw.name, exc)

    def stop(self) -> None:
        """Stop the apps and workers, save the state, close the connections."""
        self._stop.set()
        for app in self.apps:
            app.stop()
        for sw in self.switches.values():
            for t in sw.workers:
                t.join(timeout=5)
        if self._saver is not None:
            self._saver.join(timeout=5)
        if self.started_at is not None:
            self.save_state()
        self._close_all()
        self.started_at = None

    def _close_all(self) -> None:
        for sw in self.switches.values():
            sw.conn.close()
            if sw.driver is not None:
                try:
                    sw.driver.close()
                except Exception:  # noqa: BLE001
                    pass
        self.switches.clear()

    def __enter__(self) -> Controller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def switch_handles(self) -> list[SwitchHandle]:
        return list(self.switches.values())

    # -- events -------------------------------------------------------------------------------

    def _work(self, sw: SwitchHandle, stream: StreamQueue[Any]) -> None:
        """Hand one stream's messages to the apps, in order, under the switch's lock (so a
        reconcile never runs in the middle of an allocation)."""
        by_digest = {d: app for app in self.apps for d in app.digests}
        while not self._stop.is_set():
            try:
                ev = stream.get(timeout=0.2)
            except TimeoutError:
                continue
            except EOFError:
                return
            try:
                with sw.lock:
                    if isinstance(ev, DigestList):
                        app = by_digest.get(ev.digest)
                        if app is not None:
                            app.on_digest(sw, ev.digest, ev.data)
                    elif isinstance(ev, IdleTimeoutNotification):
                        for app in self.apps:
                            app.on_idle_timeout(sw, ev.entries)
                if isinstance(ev, DigestList):
                    try:
                        sw.conn.ack_digest(ev)
                    except SwitchUnavailable:
                        pass
            except Exception:  # noqa: BLE001 - one bad event must not stop the worker
                log.exception("%s: handling %s failed", sw.name, type(ev).__name__)

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(self, sw: SwitchHandle) -> dict[str, int]:
        """Make ``sw`` hold exactly what the apps want in their tables and clone sessions;
        returns counts of inserted, modified, deleted and unchanged entities."""
        assert self.schema is not None
        with sw.lock:
            want: dict[tuple[Any, ...], Any] = {}
            for app in self.apps:
                for e in app.desired(sw):
                    e = e.normalized(self.schema) if isinstance(e, TableEntry) else e
                    want[_key(e)] = e
            owned = [t for app in self.apps for t in app.tables]
            have: dict[tuple[Any, ...], Any] = {}
            for t in owned:
                for e in sw.conn.read(TableEntry(t)):
                    if not e.is_default:
                        have[_key(e)] = e
            for e in self._clone_sessions(sw):
                if CTRL_SESSION_BASE <= e.session_id < CTRL_SESSION_BASE + 512:
                    have[_key(e)] = e
            ups: list[Update] = []
            counts = {"inserted": 0, "modified": 0, "deleted": 0, "unchanged": 0}
            for k, e in have.items():
                if k not in want:
                    ups.append(Update(UpdateType.DELETE,
                                      e.key() if isinstance(e, TableEntry) else e))
                    counts["deleted"] += 1
            for k, e in want.items():
                old = have.get(k)
                if old is None:
                    ups.append(Update(UpdateType.INSERT, e))
                    counts["inserted"] += 1
                elif not _same(e, old):
                    ups.append(Update(UpdateType.MODIFY, e))
                    counts["modified"] += 1
                else:
                    counts["unchanged"] += 1
            if ups:
                sw.conn.write(ups)
            self.allocator.mark_installed(sw.name)
            sw.syncs += 1
            sw.last_sync = counts
            log.info("%s: reconciled: %s", sw.name, counts)
            return counts

    def _clone_sessions(self, sw: SwitchHandle) -> Iterable[CloneSession]:
        from p4.v1 import p4runtime_pb2

        q = p4runtime_pb2.Entity(
            packet_replication_engine_entry=p4runtime_pb2.PacketReplicationEngineEntry(
                clone_session_entry=p4runtime_pb2.CloneSessionEntry()))
        for e in sw.conn.read_raw([q]):
            yield CloneSession.decode(e)

    def resync(self) -> None:
        """Reconcile every connected switch now."""
        for sw in self.switch_handles():
            try:
                self.reconcile(sw)
            except (P4RuntimeError, SwitchUnavailable) as exc:
                log.warning("%s: reconcile failed: %s", sw.name, exc)

    # -- queries ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Per switch and overall counts (see the module docstring)."""
        sws = {}
        for name, sw in self.switches.items():
            c = sw.conn
            sws[name] = {
                "address": sw.spec.p4runtime, "device_id": sw.spec.device_id,
                "target": sw.spec.target, "connected": c.ready.is_set(),
                "primary": c.is_primary, "pipeline_cookie": self.cookie,
                "ports": list(sw.spec.ports), "cpu_port": sw.spec.cpu_port,
                "reconnects": c.reconnects, "syncs": sw.syncs, "last_sync": sw.last_sync,
                "flows": sum(1 for a in self.allocator.core.flows.values() if a.switch == name),
            }
        lat = sorted(self.allocator.setup_latency_s)
        return {
            "switches": sws,
            "flows": len(self.allocator.core.flows),
            "grants": len(self.memguard.grants),
            "violations": self.memguard.violation_count,
            "decisions": self.allocator.core.decisions,
            "flow_setup_ms": {
                "count": len(lat),
                "median": round(lat[len(lat) // 2] * 1e3, 3) if lat else None,
                "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3, 3)
                if lat else None,
            },
            "state_dir": str(self.state_dir) if self.state_dir else None,
            "uptime_s": round(time.time() - self.started_at, 1) if self.started_at else None,
        }

    def flows(self) -> list[dict[str, Any]]:
        """Every allocated flow with its class, queue, slot and reason."""
        now = time.time()
        with self.allocator.core.lock:
            allocs = list(self.allocator.core.flows.values())
        out = []
        for a in sorted(allocs, key=lambda a: (a.switch, a.port, a.qid, a.slot)):
            f = a.flow
            occ = self.stats.occupancy(a.switch, a.slot)
            out.append({
                "switch": a.switch, "ip_version": f.ip_version, "protocol": f.protocol,
                "src": f.src, "dst": f.dst, "sport": f.sport, "dport": f.dport,
                "class": a.cls, "port": a.port, "queue": a.qid, "slot": a.slot,
                "weight": a.weight, "reason": a.reason, "age_s": round(now - a.created, 3),
                "installed": a.installed,
                "occupancy_packets": None if occ is None else occ[0],
                "occupancy_bytes": None if occ is None else occ[1],
                "cap_drops": self.stats.cap_drops(a.switch, a.slot),
            })
        return out

    def queues(self) -> list[dict[str, Any]]:
        """Queue 0 (flows not placed yet) and every class queue of every port: class, flows,
        weight, and the driver's depth / enqueued / dropped when it gives them."""
        load = {(s, p, q): (n, w) for s, p, q, n, w in self.allocator.core.queues()}
        classes = [(0, "(default)")] + sorted(
            (q, c.name) for c in self.policy.classes.values() for q in c.queues)
        out = []
        for sw in self.topo.switches.values():
            for port in sw.ports:
                for q, cls in classes:
                    n, w = load.get((sw.name, port, q), (0, 0))
                    row = self.stats.queue_row(sw.name, port, q) or {}
                    out.append({"switch": sw.name, "port": port, "queue": q, "class": cls,
                                "flows": n, "weight": w, "depth": row.get("depth"),
                                "enqueued": row.get("enqueued"), "dropped": row.get("dropped")})
        return out

    def violations(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest memory-access refusals, oldest first."""
        return self.memguard.recent_violations(limit)

    def grants(self) -> list[dict[str, Any]]:
        """Every memory grant."""
        return self.memguard.list_grants()

    def grant(self, client: str, server: str | int, region: str | tuple[int, int],
              perms: str) -> dict[str, Any]:
        """Grant ``client`` (IPv6) ``perms`` ("r", "rw", "owner") on ``region`` of ``server``
        (name or subid); ``ValueError`` with a clear message on bad input."""
        return self.memguard.grant(client, server, region, perms)

    def revoke(self, client: str, server: str | int, region: str | tuple[int, int]
               ) -> dict[str, Any]:
        """Remove ``client``'s grants overlapping ``region`` of ``server``."""
        return self.memguard.revoke(client, server, region)

    def allow_alloc(self, client: str, server: str | int | None = None) -> dict[str, Any]:
        """Add ``client`` (address or prefix) to the ALLOC allow-list of ``server``."""
        return self.memguard.allow_alloc(client, server)

    # -- state --------------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        """Apps call this after changing desired state; the saver writes it soon."""
        self._dirty.set()

    def _save_loop(self) -> None:
        while not self._stop.is_set():
            if self._dirty.wait(0.2) and not self._stop.is_set():
                time.sleep(0.05)  # coalesce a burst
                self.save_state()

    def save_state(self) -> None:
        """Write the desired state to ``<state_dir>/controller.json`` (atomically)."""
        self._dirty.clear()
        if self.state_dir is None:
            return
        data = {"version": STATE_VERSION, "saved": time.time(),
                "apps": {app.name: app.state() for app in self.apps}}
        with self._state_lock:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path = self.state_dir / STATE_FILE
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, path)

    def load_state(self) -> None:
        """Read the saved desired state, if any (before :meth:`start` connects)."""
        if self.state_dir is None:
            return
        path = self.state_dir / STATE_FILE
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ControllerError(f"{path}: cannot read the saved state: {exc}") from None
        if data.get("version") != STATE_VERSION:
            raise ControllerError(f"{path}: state version {data.get('version')} is not "
                                  f"{STATE_VERSION}")
        for app in self.apps:
            app.load_state(data.get("apps", {}).get(app.name, {}))
        log.info("loaded state from %s: %d flows, %d grants", path,
                 len(self.allocator.core.flows), len(self.memguard.grants))
