"""The embedded target's public Python API: one v1model switch.

The STF runner, the tests and the P4Runtime server drive a :class:`Switch`::

    sw = Switch.from_program(compile_file("prog.p4"))      # or a program / device config bytes
    sw.tables["MyIngress.ipv4_lpm"].add(TableEntry(...))    # control-plane names, as in P4Info
    sw.inject(1, packet_bytes)
    sw.run_until_idle()                                     # virtual clock: jumps to departures
    for port, data in sw.outputs(): ...

State is reachable by control-plane name: ``tables``, ``action_profiles`` (one object per
``action_profile``/``action_selector`` instance, shared by the tables it implements),
``registers``, ``counters``, ``meters``, ``value_sets``; multicast groups and clone sessions
through ``pre`` (:class:`~.pre.PacketReplicationEngine`), queues through ``tm``
(:class:`~.queueing.TrafficManager`). Not thread-safe: one caller at a time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..frontend import ast, constfold
from .action_profiles import ActionProfile
from .clock import Clock, VirtualClock
from .codegen import GeneratedProgram, TableSpec, generate
from .codegen_types import CodegenError
from .pre import PacketReplicationEngine
from .queueing import TrafficManager
from .stateful import CounterArray, MeterArray, RegisterArray
from .tables import (
    ActionCall,
    Exact,
    KeySpec,
    Lpm,
    MatchTable,
    Optional,
    Range,
    TableEntry,
    Ternary,
    initial_entry_priorities,
)
from .v1model import DEFAULT_DROP_PORT, Digest, V1ModelPipeline, ValueSet

__all__ = ["CodegenError", "Digest", "Switch", "build_table"]


class Switch:
    """A v1model switch running one program (see the module docstring)."""

    def __init__(
        self,
        gen: GeneratedProgram,
        *,
        clock: Clock | None = None,
        priority_queues: int = 1,
        table_factory: Callable[[TableSpec], Any] | None = None,
        seed: int = 0,
        drop_port: int = DEFAULT_DROP_PORT,
    ) -> None:
        self.generated = gen
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.pre = PacketReplicationEngine()
        self.tm = TrafficManager(self.clock, priority_queues=priority_queues)
        #: action profiles and selectors by control-plane name (filled as the tables are built)
        self.action_profiles: dict[str, ActionProfile] = {}
        if table_factory is None:
            table_factory = functools.partial(
                build_table, action_profiles=self.action_profiles, clock=self.clock
            )
        self.pipeline = V1ModelPipeline(
            gen,
            clock=self.clock,
            tm=self.tm,
            pre=self.pre,
            table_factory=table_factory,
            seed=seed,
            drop_port=drop_port,
        )
        self.tables: dict[str, Any] = self.pipeline.tables
        #: what the program says about each table (keys, actions, defaults), by name
        self.table_specs: dict[str, TableSpec] = {t.inst.cp_name: t for t in gen.tables}
        self.value_sets: dict[str, ValueSet] = self.pipeline.value_sets
        ex = self.pipeline.externs
        self.registers: dict[str, RegisterArray] = {
            k: v for k, v in ex.items() if isinstance(v, RegisterArray)
        }
        self.counters: dict[str, CounterArray] = {
            k: v for k, v in ex.items() if isinstance(v, CounterArray)
        }
        self.meters: dict[str, MeterArray] = {
            k: v for k, v in ex.items() if isinstance(v, MeterArray)
        }

    @classmethod
    def from_program(
        cls,
        program: Any,
        clock: Clock | None = None,
        priority_queues: int = 1,
        **kw: Any,
    ) -> Switch:
        """A switch for a checked ``ast.Program``, a ``CompileResult`` or device-config bytes.

        ``clock`` defaults to a fresh :class:`~.clock.VirtualClock`; ``priority_queues`` is the
        number of strict-priority queues per port (BMv2's ``--priority-queues``). Keyword
        arguments go to the constructor (``table_factory``, ``seed`` of ``random``,
        ``drop_port``: where ``egress_spec`` drops and what ``mark_to_drop`` sets, 511 by
        default, as BMv2's ``--drop-port``).
        """
        if isinstance(program, (bytes, bytearray, str, dict)):
            from ..frontend.compiler import load_device_config

            program = load_device_config(program)
        elif not isinstance(program, ast.Program):
            program = program.program
        return cls(generate(program), clock=clock, priority_queues=priority_queues, **kw)

    # -- packets -----------------------------------------------------------------------------

    def inject(self, port: int, data: bytes) -> None:
        """A packet arrives on ``port`` now (it is processed by :meth:`run_until_idle`)."""
        self.pipeline.inject(port, data)

    def process(self) -> None:
        """Run everything that can run at the current time, without advancing the clock."""
        p = self.pipeline
        while True:
            p.process_input()
            if not p.process_departures() and not p.busy():
                return

    def run_until_idle(self, max_time_us: int | None = None) -> None:
        """Process every packet to completion. A virtual clock jumps to each next departure;
        a real clock sleeps until it. ``max_time_us`` stops at that clock time."""
        clock = self.clock
        while True:
            self.process()
            nxt = self.tm.next_departure_us()
            if nxt is None:
                return
            if max_time_us is not None and nxt > max_time_us:
                return
            if isinstance(clock, VirtualClock):
                if nxt > clock.now_us():
                    clock.advance_to(nxt)
            else:
                delay = nxt - clock.now_us()
                if delay > 0:
                    time.sleep(delay / 1e6)

    def advance_to(self, t_us: int) -> None:
        """Virtual clock: process everything due up to ``t_us`` in time order, then stand at
        ``t_us`` (a scenario injects its next packets there)."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("advance_to needs a VirtualClock")
        self.run_until_idle(max_time_us=t_us)
        if t_us > clock.now_us():
            clock.advance_to(t_us)
        self.process()

    def outputs(self) -> list[tuple[int, bytes]]:
        """Packets sent since the last call, as ``(port, bytes)`` in emission order."""
        out = self.pipeline.outputs
        self.pipeline.outputs = []
        return out

    def digests(self) -> list[Digest]:
        """Digest messages generated since the last call."""
        d = self.pipeline.digests
        self.pipeline.digests = []
        return d

    @property
    def dropped(self) -> int:
        """Packets dropped so far (program drops, tail drops, assertion failures)."""
        return self.pipeline.dropped

    # -- control plane helpers ---------------------------------------------------------------

    def set_default_action(self, table: str, action: str, args: Sequence[int] = ()) -> None:
        """Set a table's default action by control-plane names."""
        self.tables[table].set_default(ActionCall(action, tuple(args)))

    def add_entry(
        self,
        table: str,
        match: Sequence[Any],
        action: str,
        args: Sequence[int] = (),
        priority: int = 0,
        idle_timeout_ns: int = 0,
    ) -> TableEntry:
        """Add an entry; ``match`` holds match objects (``Exact``, ``Lpm``...) or plain ints
        (exact values). ``idle_timeout_ns`` > 0 makes :meth:`MatchTable.expired` report it
        after that long without hits (in a table with ``support_timeout``)."""
        t = self.tables[table]
        m = tuple(Exact(x) if isinstance(x, int) else x for x in match)
        e = TableEntry(match=m, action=ActionCall(action, tuple(args)), priority=priority,
                       timeout_ns=idle_timeout_ns, last_hit_ns=self.clock.now_ns())
        t.add(e)
        return e

    def register(self, name: str) -> RegisterArray:
        """The register array with control-plane name ``name``."""
        return self.registers[name]


# -- tables ---------------------------------------------------------------------------------


def build_table(
    spec: TableSpec,
    *,
    action_profiles: dict[str, ActionProfile] | None = None,
    clock: Clock | None = None,
) -> MatchTable:
    """The default table factory: a :class:`MatchTable` with the program's default action and
    ``entries``, and its action profile or selector when the table has an implementation.

    ``action_profiles`` maps control-plane names to the profiles built so far: a table whose
    implementation is already there shares that object (P4Info lists one profile for all its
    tables), a new one is added. ``clock`` stamps the direct meter cells of entries (the
    initial entries' at load time)."""
    inst = spec.inst
    keys = [KeySpec(n, k, w) for n, k, w in zip(spec.key_names, spec.key_kinds, spec.key_widths)]
    profile = None
    impl = inst.implementation
    if impl is not None:
        name = impl.cp_name or inst.cp_name
        profile = action_profiles.get(name) if action_profiles is not None else None
        if profile is None:
            sel = impl.type_name == "action_selector"
            profile = ActionProfile(name, int(impl.args.get("size") or 1024), with_selector=sel)
            if action_profiles is not None:
                action_profiles[name] = profile
    # the unit of the table's direct meter ("packets"/"bytes"), None without one
    dm = inst.meters
    unit = None
    if dm is not None:
        v = dm.args.get("type")
        unit = getattr(v, "member", None) or str(v)
    table = MatchTable(
        inst.cp_name,
        keys,
        size=int(inst.size) if isinstance(inst.size, int) else 1024,
        default_action=ActionCall(*spec.default),
        const_default=spec.const_default,
        profile=profile,
        direct_meter_unit=unit,  # type: ignore[arg-type]
        clock=clock,
    )
    if impl is not None and impl.type_name == "action_selector":
        from . import hashes

        algo = impl.args.get("algorithm")
        algo_name = getattr(algo, "member", None) or str(algo)

        # BMv2 picks a member with the whole hash (p4c does not pass outputWidth on)
        def selector_hash(fields: list[tuple[int, int]]) -> int:
            return hashes.hash_fields(algo_name, fields)

        table.selector_hash = selector_hash
    if inst.entries:
        table.load_initial_entries(_initial_entries(spec, keys), inst.entries_const)
    return table


def _initial_entries(spec: TableSpec, keys: list[KeySpec]) -> list[TableEntry]:
    inst = spec.inst
    entries = inst.entries or []
    explicit: list[int | None] = []
    at_priority: list[int | None] = []
    for e in entries:
        explicit.append(int(constfold.const_value(e.priority)) if e.priority is not None else None)
        a = ast.annotation(e, "priority")
        at_priority.append(int(constfold.const_value(a.exprs[0])) if a and a.exprs else None)
    largest = True
    delta = 1
    p = inst.properties.get("largest_priority_wins")
    if p is not None:
        largest = bool(constfold.const_value(p.value))
    p = inst.properties.get("priority_delta")
    if p is not None:
        delta = int(constfold.const_value(p.value))
    needs_priority = any(k.match_kind in ("ternary", "range", "optional") for k in keys) or (
        sum(k.match_kind == "lpm" for k in keys) > 1
    )
    if needs_priority or any(a is not None for a in at_priority):
        prios = initial_entry_priorities(explicit, largest, delta, at_priority)
    else:
        prios = [0] * len(entries)
    by_decl = {id(a.decl): name for name, a in spec.actions.items()}
    out = []
    for e, prio in zip(entries, prios):
        ks = e.keyset
        if len(keys) == 1 and len(ks) != 1:
            ks = [ast.ListExpr(items=ks)]
        if len(keys) > 1 and len(ks) == 1 and isinstance(ks[0], ast.ListExpr):
            ks = ks[0].items
        if len(keys) > 1 and len(ks) == 1 and isinstance(ks[0], (ast.DontCare, ast.Default)):
            ks = ks * len(keys)
        match = tuple(_match(k, x, spec.error_codes) for k, x in zip(keys, ks))
        act = e.action
        func = act.func if isinstance(act, ast.Call) else act
        name = by_decl.get(id(getattr(func, "decl", None)))
        if name is None:
            raise CodegenError(f"table {inst.cp_name}: entry action is not one of its actions")
        args = []
        nbound = next((len(r.args) for r in inst.actions if r.action.cp_name == name), 0)
        if isinstance(act, ast.Call):
            for a in act.args[nbound:]:
                v = constfold.const_value(a.expr)
                args.append(int(v))
        out.append(TableEntry(match=match, action=ActionCall(name, tuple(args)), priority=prio,
                              is_const=e.const or inst.entries_const))
    return out


def _cint(e: ast.Expr, errors: dict[str, int] | None = None) -> int:
    v = constfold.const_value(e)
    if isinstance(v, constfold.ErrorValue):
        return (errors or {}).get(v.name, 0)
    if isinstance(v, constfold.EnumValue):
        d = getattr(e.type, "decl", None)
        members = [m.name for m in getattr(d, "members", [])]
        if v.member in members:
            return members.index(v.member)
        raise CodegenError(f"enum value {v.member} in a table entry")
    return int(v)


def _match(k: KeySpec, e: ast.Expr, errors: dict[str, int] | None = None) -> Any:
    full = (1 << k.bitwidth) - 1
    kind = k.match_kind
    if isinstance(e, (ast.DontCare, ast.Default)):
        if kind == "lpm":
            return Lpm(0, 0)
        if kind == "range":
            return Range(0, full)
        if kind == "optional":
            return Optional(None)
        return Ternary(0, 0)
    if isinstance(e, ast.Mask):
        v, m = _cint(e.value, errors) & full, _cint(e.mask, errors) & full
        if kind == "lpm":
            return Lpm(v, bin(m).count("1"))
        return Ternary(v, m)
    if isinstance(e, ast.Range):
        return Range(_cint(e.lo, errors) & full, _cint(e.hi, errors) & full)
    v = _cint(e, errors) & full
    if kind == "lpm":
        return Lpm(v, k.bitwidth)
    if kind == "ternary":
        return Ternary(v, full)
    if kind == "range":
        return Range(v, v)
    if kind == "optional":
        return Optional(v)
    return Exact(v)
