"""Run p4c's STF packet tests against the embedded switch, as p4c's BMv2 STF runner does.

p4c's runner (``backends/bmv2/run-bmv2-test.py`` with ``bmv2stf.py``) turns table commands into
``simple_switch_CLI`` lines, feeds packets to pcap files and compares the output pcaps at the end.
The facts it fixes, and that this runner keeps:

- **Commands run in file order**; a packet is processed before the next command (p4c waits a
  second after CLI commands before sending; with a virtual clock we advance it by as much).
  Expectations are compared only after every command ran.
- **Observed ports** are those named by a ``packet`` or ``expect`` line (BMv2 gets an interface
  for exactly those). Packets leaving on any other port vanish unchecked.
- **Pass rule**, per observed port: exactly as many packets as ``expect`` lines for it, in order,
  each matching its expectation (hex nibbles, ``*`` any nibble, a final ``$`` forbids extra
  bytes, and a shorter packet never matches). A port with no ``expect`` must stay silent; an
  ``expect`` line without data stands for one packet of any content.
- **Names** resolve as ``bmv2stf.py`` does: a table or action by exact control-plane name, else
  by unique string suffix (an ambiguous suffix is an error); a key field by exact name, with a
  ``$`` or ``.$valid$`` suffix, ``x.valid`` for ``x.$valid$``, ``x$N`` for ``x[N]``, or as a
  dotted suffix of the field name; action arguments by parameter name, all required. Key fields
  left out match anything (``exact``: the value 0, as p4c writes ``0``).
- **Priorities**: p4c hands BMv2 ``10000 - p`` and BMv2 prefers the smaller number, so a larger
  STF priority wins, which is the engine's own convention: the number is used unchanged.
- **Key values** follow p4c's conversion: a ternary hex/binary literal masks only the digits
  written (``*`` digits are don't-care); an LPM value without ``/len`` gets the written digits as
  prefix length. Beyond p4c: ``v&&&m``, ``lo->hi``, ``*``, decimal ternary values (full mask),
  ``range`` and ``optional`` keys.
- **Failures**: a name p4c cannot resolve fails the test (p4c raises). A command that
  ``simple_switch_CLI`` would reject (duplicate entry, bad value, const default) is reported as a
  warning and the test goes on, as the CLI does. ``check_counter``, ``remove`` and ``wait`` are
  ignored, as p4c's BMv2 runner ignores them; ``no_packet`` makes p4c's runner crash, so a test
  using it cannot run here either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..engine.tables import (
    ActionCall,
    Exact,
    KeySpec,
    Lpm,
    Match,
    Optional,
    Range,
    TableEntry,
    TableError,
    Ternary,
)
from . import parser as stf

__all__ = [
    "ActionSchema",
    "CannotRun",
    "PortReport",
    "ProgramSchema",
    "StfResult",
    "StfRunner",
    "TableSchema",
    "match_for",
    "resolve_action",
    "resolve_key_field",
    "resolve_object",
    "resolve_table",
    "run_stf",
]

Status = Literal["pass", "fail", "error"]

CLI_COMMAND_DELAY_US = 1_000_000  # p4c sleeps 1 s before a packet that follows a CLI command


class CannotRun(Exception):
    """The test cannot run: a name p4c's runner would not resolve, an unsupported command, a
    program that does not compile or uses what the engine lacks."""


# ---------------------------------------------------------------------------------------------
# The program as the control plane sees it (from P4Info)


@dataclass(frozen=True)
class ActionSchema:
    """An action's control-plane name and its parameters ``(name, bitwidth)`` in order."""

    name: str
    params: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class TableSchema:
    """A table's control-plane name, key fields in order and the actions it may hold."""

    name: str
    keys: tuple[KeySpec, ...]
    actions: tuple[str, ...]


_MATCH_TYPES = {2: "exact", 3: "lpm", 4: "ternary", 5: "range", 6: "optional"}  # P4Info MatchType


@dataclass
class ProgramSchema:
    """Tables and actions by control-plane name."""

    tables: dict[str, TableSchema] = field(default_factory=dict)
    actions: dict[str, ActionSchema] = field(default_factory=dict)

    @classmethod
    def from_p4info(cls, p4info: Any) -> ProgramSchema:
        """Build from a ``p4.config.v1.P4Info`` message."""
        schema = cls()
        by_id = {}
        for a in p4info.actions:
            params = tuple((p.name, p.bitwidth) for p in a.params)
            act = ActionSchema(a.preamble.name, params)
            schema.actions[act.name] = act
            by_id[a.preamble.id] = act.name
        for t in p4info.tables:
            keys = tuple(
                KeySpec(
                    mf.name,
                    _MATCH_TYPES.get(mf.match_type, mf.other_match_type or "exact"),
                    mf.bitwidth,
                )
                for mf in t.match_fields
            )
            actions = tuple(by_id[r.id] for r in t.action_refs if r.id in by_id)
            schema.tables[t.preamble.name] = TableSchema(t.preamble.name, keys, actions)
        return schema


# ---------------------------------------------------------------------------------------------
# Name resolution, as bmv2stf.py does it


def _by_suffix(what: str, name: str, candidates: Iterable[str], where: str = "") -> str:
    names = list(candidates)
    if name in names:
        return name
    found = [n for n in names if n.endswith(name)]
    if len(found) > 1:
        raise CannotRun(f"{what} name {name} is ambiguous{where}: {', '.join(found)}")
    if not found:
        raise CannotRun(f"no {what} {name}{where}")
    return found[0]


def resolve_table(name: str, tables: Iterable[str]) -> str:
    """The table ``name`` designates: exact, else the one name ending with it."""
    return _by_suffix("table", name, tables)


def resolve_action(name: str, table: TableSchema) -> str:
    """The action of ``table`` that ``name`` designates: exact, else the one ending with it."""
    return _by_suffix("action", name, table.actions, f" in table {table.name}")


def resolve_key_field(name: str, fields: list[str]) -> str:
    """The key field ``name`` designates among ``fields`` (control-plane names, in key order)."""
    m = re.fullmatch(r"(.*)\$([0-9]+)(.*)", name)
    if m:
        name = f"{m.group(1)}[{m.group(2)}]{m.group(3)}"
    for cand in (name, name + "$", name + ".$valid$"):
        if cand in fields:
            return cand
    if name.endswith(".valid") and name[:-5] + "$valid$" in fields:
        return name[:-5] + "$valid$"
    found = None
    for f in fields:  # p4c keeps the last match, without an ambiguity check
        if f.endswith("." + name) or f.endswith("." + name + "$"):
            found = f
        elif name == "valid" and f.endswith(".$valid$"):
            found = f
    if found is None and name == "valid" and "$valid$" in fields:
        found = "$valid$"
    if found is None:
        raise CannotRun(f"no key field {name} (the key has {', '.join(fields) or 'no fields'})")
    return found


def resolve_object(what: str, name: str, names: Iterable[str]) -> str:
    """A register, counter, meter (or table, for CLI commands) as ``simple_switch_CLI`` finds
    it: the exact name or a unique dotted suffix of one."""
    names = list(names)
    if name in names:
        return name
    found = [n for n in names if n.endswith("." + name)]
    if len(found) != 1:
        detail = "ambiguous" if found else "unknown"
        raise CannotRun(f"{detail} {what} {name}")
    return found[0]


# ---------------------------------------------------------------------------------------------
# Key values


def match_for(spec: KeySpec, kv: stf.KeyValue) -> Match:
    """The match an STF key value stands for in a field of ``spec``'s kind; :class:`ValueError`
    where ``simple_switch_CLI`` would reject the value."""
    kind, w = spec.match_kind, spec.bitwidth
    full = (1 << w) - 1
    written = kv.text
    if kind == "ternary":
        if kv.kind == "any":
            return Ternary(0, 0)
        if kv.kind == "masked":
            return Ternary(kv.value, kv.mask or 0)
        if kv.kind == "prefix":
            plen = kv.prefix_len or 0
            return Ternary(kv.value, full ^ (full >> plen) if plen <= w else full)
        if kv.kind == "value":
            return Ternary(kv.value, full if kv.width is None else (1 << kv.width) - 1)
    elif kind == "lpm":
        if kv.kind == "any":
            return Lpm(0, 0)
        if kv.kind == "prefix":
            return Lpm(kv.value, kv.prefix_len or 0)
        if kv.kind == "value" or (kv.kind == "masked" and "&&&" not in written):
            if kv.width is None:
                return Lpm(kv.value, w)
            plen = kv.width if kv.mask is None else kv.mask.bit_count()
            return Lpm(kv.value, plen)
    elif kind == "range":
        if kv.kind == "any":
            return Range(0, full)
        if kv.kind == "range":
            return Range(kv.value, kv.high if kv.high is not None else kv.value)
        if kv.kind == "value":
            return Range(kv.value, kv.value)
    elif kind == "optional":
        if kv.kind == "any":
            return Optional(None)
        if kv.kind == "value":
            return Optional(kv.value)
    elif kv.kind == "value":
        return Exact(kv.value)
    raise ValueError(f"{written!r} is not a valid value for {kind} key {spec.name}")


def _wildcard(spec: KeySpec) -> Match:
    kind = spec.match_kind
    if kind == "ternary":
        return Ternary(0, 0)
    if kind == "lpm":
        return Lpm(0, 0)
    if kind == "range":
        return Range(0, (1 << spec.bitwidth) - 1)
    if kind == "optional":
        return Optional(None)
    return Exact(0)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class PortReport:
    """What one observed port expected and received."""

    port: int
    expected: list[stf.Expect]
    received: list[bytes]

    @property
    def ok(self) -> bool:
        return len(self.expected) == len(self.received) and all(
            e.matches(r) for e, r in zip(self.expected, self.received)
        )

    def lines(self) -> list[str]:
        """A readable account of a failing port."""
        out = []
        ne, nr = len(self.expected), len(self.received)
        if ne != nr:
            out.append(f"port {self.port}: expected {ne} packet(s), received {nr}")
        else:
            out.append(f"port {self.port}:")
        for i in range(max(ne, nr)):
            exp = self.expected[i] if i < ne else None
            got = self.received[i] if i < nr else None
            out.extend(_packet_diff(i, exp, got))
        return out


def _packet_diff(i: int, exp: stf.Expect | None, got: bytes | None) -> list[str]:
    got_hex = got.hex().upper() if got is not None else None
    if exp is None:
        return [f"  #{i} unexpected  {got_hex}"]
    want = "(any packet)" if exp.data is None else exp.data + ("$" if exp.exact else "")
    where = f" (stf line {exp.line})"
    if got_hex is None:
        return [f"  #{i} missing     {want}{where}"]
    if exp.matches(got):  # type: ignore[arg-type]
        return [f"  #{i} ok{where}"]
    marks = "".join(
        " " if e == "*" or (k < len(got_hex) and e == got_hex[k]) else "^"
        for k, e in enumerate(exp.data or "")
    )
    note = ""
    if exp.data is not None and len(got_hex) < len(exp.data):
        note = f"  (received {len(got_hex) // 2} bytes, too short)"
    elif exp.exact and exp.data is not None and len(got_hex) > len(exp.data):
        note = f"  (received {len(got_hex) // 2} bytes, '$' allows {len(exp.data) // 2})"
    return [
        f"  #{i} expected    {want}{where}",
        f"     received    {got_hex}{note}",
        f"                 {marks.rstrip()}" if marks.strip() else "",
    ]


@dataclass
class StfResult:
    """The outcome of one STF test. ``reason`` says why it could not run (``error``)."""

    status: Status
    reason: str = ""
    ports: list[PortReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def diff(self) -> str:
        """The failing ports, expected against received."""
        lines: list[str] = []
        for p in self.ports:
            if not p.ok:
                lines.extend(x for x in p.lines() if x)
        return "\n".join(lines)

    def format(self) -> str:
        """Status, reason or diff, and the warnings."""
        parts = [self.status.upper() + (f": {self.reason}" if self.reason else "")]
        if self.status == "fail":
            parts.append(self.diff())
        parts.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------
# Running


def _outputs(switch: Any) -> list[tuple[int, bytes]]:
    out = []
    for item in switch.outputs():
        if isinstance(item, tuple):
            port, data = item[0], item[1]
        else:
            port = item.port
            data = next(getattr(item, a) for a in ("data", "payload", "packet") if hasattr(item, a))
        out.append((int(port), bytes(data)))
    return out


class StfRunner:
    """Runs parsed STF commands on a switch (the :class:`~softswitch.engine.switch.Switch`
    API: ``tables``, ``pre``, ``registers``/``counters``/``meters``, ``inject``,
    ``run_until_idle``, ``outputs``)."""

    def __init__(self, switch: Any, schema: ProgramSchema) -> None:
        self.switch = switch
        self.schema = schema
        self.warnings: list[str] = []
        self.handles: dict[str, tuple[str, TableEntry]] = {}
        self._cli_since_packet = False
        self._handlers: dict[type, Callable[[Any], None]] = {
            stf.AddEntry: self._add,
            stf.SetDefault: self._setdefault,
            stf.MirroringAdd: lambda c: self.switch.pre.set_clone_session(c.session, [c.port]),
            stf.MirroringAddMc: lambda c: self.switch.pre.set_clone_session(
                c.session, mcast_grp=c.mgrp
            ),
            stf.MirroringDelete: lambda c: self.switch.pre.delete_clone_session(c.session),
            stf.McMgrpCreate: lambda c: self.switch.pre.mgrp_create(c.mgrp),
            stf.McNodeCreate: lambda c: self.switch.pre.node_create(c.rid, c.ports),
            stf.McNodeUpdate: lambda c: self.switch.pre.node_update(c.node, c.ports),
            stf.McNodeAssociate: lambda c: self.switch.pre.node_associate(c.mgrp, c.node),
            stf.CounterWrite: lambda c: self._extern("counters", "counter", c.counter).write(
                c.index, c.packets, c.bytes
            ),
            stf.RegisterWrite: lambda c: self._extern("registers", "register", c.register).set(
                c.index, c.value
            ),
            stf.RegisterReset: lambda c: self._extern("registers", "register", c.register).reset(),
            stf.MeterSetRates: lambda c: self._extern("meters", "meter", c.meter).set_rates(
                c.index, _rates(c.rates)
            ),
            stf.MeterArraySetRates: lambda c: self._extern(
                "meters", "meter", c.meter
            ).set_all_rates(_rates(c.rates)),
            stf.CounterRead: lambda c: self._extern("counters", "counter", c.counter),
            stf.RegisterRead: lambda c: self._extern("registers", "register", c.register),
            stf.MeterGetRates: lambda c: self._extern("meters", "meter", c.meter),
            stf.MirroringGet: lambda c: None,
        }

    def run(self, commands: list[stf.Command]) -> StfResult:
        """Run ``commands`` in order, then compare every observed port."""
        expected: dict[int, list[stf.Expect]] = {}
        observed: set[int] = set()
        for cmd in commands:
            if isinstance(cmd, stf.NoPacket):
                raise CannotRun(f"line {cmd.line}: no_packet (p4c's BMv2 runner cannot run it)")
            if isinstance(cmd, stf.Packet):
                observed.add(cmd.port)
            elif isinstance(cmd, stf.Expect):
                observed.add(cmd.port)
        for cmd in commands:
            if isinstance(cmd, stf.Packet):
                self._packet(cmd)
            elif isinstance(cmd, stf.Expect):
                expected.setdefault(cmd.port, []).append(cmd)
            elif isinstance(cmd, (stf.CheckCounter, stf.RemoveAll, stf.RemoveEntry, stf.Wait)):
                continue  # p4c's BMv2 runner ignores these
            else:
                self._cli(cmd)
        received: dict[int, list[bytes]] = {}
        for port, data in _outputs(self.switch):
            received.setdefault(port, []).append(data)
        ports = [PortReport(p, expected.get(p, []), received.get(p, [])) for p in sorted(observed)]
        status: Status = "pass" if all(p.ok for p in ports) else "fail"
        return StfResult(status, ports=ports, warnings=self.warnings)

    # -- commands ------------------------------------------------------------------------------

    def _packet(self, cmd: stf.Packet) -> None:
        clock = getattr(self.switch, "clock", None)
        if self._cli_since_packet and clock is not None and hasattr(clock, "advance"):
            clock.advance(CLI_COMMAND_DELAY_US)
        self._cli_since_packet = False
        self.switch.inject(cmd.port, cmd.payload())
        self.switch.run_until_idle()

    def _cli(self, cmd: stf.Command) -> None:
        self._cli_since_packet = True
        handler = self._handlers.get(type(cmd))
        if handler is None:
            raise CannotRun(f"line {cmd.line}: unsupported command {cmd.keyword}")
        try:
            handler(cmd)
        except CannotRun as exc:
            raise CannotRun(f"line {cmd.line}: {cmd.keyword}: {exc}") from None
        except (TableError, ValueError, KeyError, IndexError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            self.warnings.append(f"line {cmd.line}: {cmd.keyword} rejected: {msg}")

    def _table(self, name: str) -> TableSchema:
        return self.schema.tables[resolve_table(name, self.schema.tables)]

    def _action(self, table: TableSchema, call: stf.ActionCall) -> ActionCall:
        name = resolve_action(call.name, table)
        act = self.schema.actions[name]
        given = {a.name: a.value for a in call.args}
        for a in call.args:
            if a.name not in dict(act.params):
                raise CannotRun(f"action {name} has no parameter {a.name}")
        missing = [p for p, _ in act.params if p not in given]
        if missing:
            raise CannotRun(f"action {name}: no value for {', '.join(missing)}")
        return ActionCall(name, tuple(given[p] & ((1 << w) - 1) for p, w in act.params))

    def _add(self, cmd: stf.AddEntry) -> None:
        table = self._table(cmd.table)
        fields = [k.name for k in table.keys]
        match: list[Match] = [_wildcard(k) for k in table.keys]
        values: list[tuple[int, stf.KeyValue]] = []
        for km in cmd.keys:
            values.append((fields.index(resolve_key_field(km.field, fields)), km.value))
        action = self._action(table, cmd.action)
        for i, kv in values:
            match[i] = match_for(table.keys[i], kv)
        entry = TableEntry(tuple(match), action, priority=cmd.priority or 0)
        self.switch.tables[table.name].add(entry)
        if cmd.handle:
            self.handles[cmd.handle] = (table.name, entry)

    def _setdefault(self, cmd: stf.SetDefault) -> None:
        table = self._table(cmd.table)
        self.switch.tables[table.name].set_default(self._action(table, cmd.action))

    def _extern(self, attr: str, what: str, name: str) -> Any:
        # p4c passes these commands to simple_switch_CLI untouched: an unknown name is the
        # CLI's error message, not the test's failure
        objects: Mapping[str, Any] = getattr(self.switch, attr, None) or {}
        try:
            return objects[resolve_object(what, name, objects)]
        except CannotRun as exc:
            raise KeyError(str(exc)) from None


def _rates(rates: tuple[stf.MeterRate, ...]) -> Any:
    from ..engine.stateful import MeterRates

    if len(rates) != 2:
        raise ValueError(f"a two-rate meter takes 2 rate:burst pairs, got {len(rates)}")
    c, p = rates
    return MeterRates(c.rate, c.burst, p.rate, p.burst)


# ---------------------------------------------------------------------------------------------
# One test from files


def build_switch(compiled: Any) -> Any:
    """The engine's switch for a compiled program (``CompileResult``)."""
    from ..engine.switch import Switch

    return Switch.from_program(compiled)


_INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)


def includes_v1model(p4_path: str, depth: int = 4) -> bool:
    """Whether the program includes ``v1model.p4``, directly or through local includes (to tell
    programs of other architectures, which our front end cannot compile, from broken ones)."""
    import os

    try:
        with open(p4_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    for inc in _INCLUDE_RE.findall(text):
        if os.path.basename(inc) == "v1model.p4":
            return True
        local = os.path.join(os.path.dirname(p4_path), inc)
        if depth > 0 and os.path.isfile(local) and includes_v1model(local, depth - 1):
            return True
    return False


def run_stf(
    p4_path: str,
    stf_path: str,
    include_dirs: list[str] | tuple[str, ...] = (),
    *,
    require_v1model: bool = False,
) -> StfResult:
    """Compile ``p4_path``, run ``stf_path`` on it, return the result (never raises for test
    problems: they become ``error`` results with a reason). With ``require_v1model`` a program
    of another architecture is an error whose reason starts with ``skip:``."""
    from ..frontend.compiler import compile_file
    from ..frontend.errors import CompileError, CompileErrors

    try:
        commands = stf.parse_file(stf_path)
    except stf.StfError as exc:
        return StfResult("error", f"stf: {exc}")
    except OSError as exc:
        return StfResult("error", f"{stf_path}: {exc.strerror or exc}")
    try:
        compiled = compile_file(p4_path, list(include_dirs))
    except (CompileError, CompileErrors) as exc:
        if require_v1model and not includes_v1model(p4_path):
            return StfResult("error", "skip: not a v1model program")
        first = exc.format().strip().splitlines()
        return StfResult("error", "compile error: " + (first[0] if first else str(exc)))
    except OSError as exc:
        return StfResult("error", f"{p4_path}: {exc.strerror or exc}")
    except RecursionError:
        return StfResult("error", "compile error: program nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a front-end bug is this test's error
        return StfResult("error", f"front end crashed: {type(exc).__name__}: {_first_line(exc)}")
    arch = compiled.p4info.pkg_info.arch if compiled.p4info is not None else ""
    if require_v1model and arch != "v1model":
        return StfResult("error", f"skip: architecture {arch or 'unknown'}")
    try:
        schema = ProgramSchema.from_p4info(compiled.p4info)
        switch = build_switch(compiled)
    except NotImplementedError as exc:
        return StfResult("error", f"unsupported: {_first_line(exc)}")
    except Exception as exc:  # noqa: BLE001
        return StfResult("error", f"engine load failed: {type(exc).__name__}: {_first_line(exc)}")
    try:
        return StfRunner(switch, schema).run(commands)
    except CannotRun as exc:
        return StfResult("error", str(exc))
    except NotImplementedError as exc:
        return StfResult("error", f"unsupported: {_first_line(exc)}")
    except Exception as exc:  # noqa: BLE001
        return StfResult("error", f"engine crashed: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
