"""Admin table commands: show and dump tables, and simple_switch_CLI-style table writes.

Entry handles are the engine's insertion numbers; a ``table_add`` priority follows
simple_switch_CLI (smaller wins) and is stored as ``PRIORITY_TOP - p`` so P4Runtime, where
larger wins, reads the same order.
"""

from __future__ import annotations

from typing import Any

from .base import AdminError, _command, _int, _nargs


class TableCommands:
    """The table commands (a mixin of :class:`.commands.AdminCommands`)."""

    # -- tables ----------------------------------------------------------------------------

    @_command("show_tables", "Tables with their keys and entry counts")
    def cmd_show_tables(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 0, 0, "show_tables")
        with self.rt.lock:
            tables = self._switch().tables
            rows = [
                {
                    "name": n,
                    "entries": len(t),
                    "size": t.size,
                    "keys": [f"{k.name}({k.match_kind}, {k.bitwidth})" for k in t.keys],
                }
                for n, t in sorted(tables.items())
            ]
        lines = [
            f"{r['name']:<40} [{', '.join(r['keys'])}] {r['entries']}/{r['size']}" for r in rows
        ]
        return "\n".join(lines), rows

    @_command("table_num_entries <table name>", "Number of entries in a table")
    def cmd_table_num_entries(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "table_num_entries <table name>")
        with self.rt.lock:
            _, t = self._named("table", self._switch().tables, args[0])
            n = len(t)
        return str(n), n

    @_command("table_dump <table name>", "Entries of a table and its default action")
    def cmd_table_dump(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "table_dump <table name>")
        with self.rt.lock:
            name, t = self._named("table", self._switch().tables, args[0])
            entries = [_entry_json(t, e) for e in t.entries()]
            default = _action_json(t.default_action)
        lines = ["==========", f"TABLE ENTRIES ({name})"]
        for e in entries:
            lines.append("**********")
            lines.append(f"Dumping entry {e['handle']:#x}")
            lines.append("Match key:")
            for k in e["match"]:
                lines.append(f"* {k['field']:<30}: {k['kind'].upper():<9} {k['value']}")
            if e["priority"]:
                lines.append(f"Priority: {e['priority']}")
            lines.append(f"Action entry: {_show_action(e['action'])}")
            if e["packets"] or e["bytes"]:  # only tables with a direct counter count
                lines.append(f"Counters: {e['packets']} packets, {e['bytes']} bytes")
        lines.append("==========")
        lines.append(f"Dumping default entry\nAction entry: {_show_action(default)}")
        lines.append("==========")
        return "\n".join(lines), {"table": name, "entries": entries, "default": default}

    # -- table writes (simple_switch_CLI style; P4Runtime sees the same entries) ------------

    def _action_for(self, pl: Any, table: str, name: str, params: list[str]) -> Any:
        from ..engine.tables import ActionCall

        p4t = next((t for t in pl.p4info.tables if t.preamble.name == table), None)
        actions = {a.preamble.id: a for a in pl.p4info.actions}
        allowed = (
            {actions[r.id].preamble.name: actions[r.id] for r in p4t.action_refs if r.id in actions}
            if p4t is not None
            else {}
        )
        full, act = self._named("action of table " + table, allowed, name)
        if len(params) != len(act.params):
            names = ", ".join(p.name for p in act.params) or "none"
            raise AdminError(
                f"action {full} takes {len(act.params)} parameter(s) ({names}), got {len(params)}"
            )
        args = tuple(
            _value(text, prm.bitwidth, f"parameter {prm.name}")
            for text, prm in zip(params, act.params)
        )
        return ActionCall(full, args)

    @_command(
        "table_add <table> <action> <match fields> => <action params> [priority]",
        "Add an entry (priority: lower wins, as in simple_switch_CLI); prints its handle",
    )
    def cmd_table_add(self, args: list[str]) -> tuple[str, Any]:
        usage = "table_add <table> <action> <match fields> => <action params> [priority]"
        _nargs(args, 2, None, usage)
        with self.rt.control() as pl:
            sw = self._switch()
            name, t = self._named("table", sw.tables, args[0])
            rest = args[2:]
            if "=>" in rest:
                cut = rest.index("=>")
                keys, params = rest[:cut], rest[cut + 1 :]
            else:
                keys, params = rest, []
            prio = None
            if t.needs_priority:
                if not params and len(keys) == len(t.keys) + 1:
                    keys, prio = keys[:-1], keys[-1]
                elif params:
                    params, prio = params[:-1], params[-1] if params else None
                if prio is None:
                    raise AdminError(f"table {name} needs a priority (last argument)")
            if len(keys) != len(t.keys):
                raise AdminError(
                    f"table {name} has {len(t.keys)} key field(s) "
                    f"({', '.join(k.name for k in t.keys)}), got {len(keys)}"
                )
            match = [_match(text, k) for text, k in zip(keys, t.keys)]
            action = self._action_for(pl, name, args[1], params)
            # simple_switch_CLI: smaller numbers win; the engine and P4Runtime: larger ones
            priority = 0 if prio is None else PRIORITY_TOP - _int(prio, "priority")
            if prio is not None and not 0 <= PRIORITY_TOP - priority < PRIORITY_TOP:
                raise AdminError(f"priority must be 0..{PRIORITY_TOP - 1}")
            e = sw.add_entry(name, match, action.name, action.args, priority)
        return f"Entry has been added with handle {e.seq}", e.seq

    def _entry(self, t: Any, handle_text: str) -> Any:
        handle = _int(handle_text, "entry handle")
        for e in t.entries():
            if e.seq == handle:
                return e
        raise AdminError(f"table {t.name} has no entry with handle {handle}")

    @_command("table_delete <table> <entry handle>", "Delete an entry by handle")
    def cmd_table_delete(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "table_delete <table> <entry handle>")
        with self.rt.control():
            _, t = self._named("table", self._switch().tables, args[0])
            e = self._entry(t, args[1])
            t.delete(e.match, e.priority)
        return "", None

    @_command(
        "table_modify <table> <action> <entry handle> [action params]",
        "Change an entry's action",
    )
    def cmd_table_modify(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 3, None, "table_modify <table> <action> <entry handle> [action params]")
        with self.rt.control() as pl:
            name, t = self._named("table", self._switch().tables, args[0])
            e = self._entry(t, args[2])
            params = [a for a in args[3:] if a != "=>"]
            t.modify(e.match, self._action_for(pl, name, args[1], params), e.priority)
        return "", None

    @_command("table_set_default <table> <action> [action params]", "Set the default action")
    def cmd_table_set_default(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, None, "table_set_default <table> <action> [action params]")
        with self.rt.control() as pl:
            name, t = self._named("table", self._switch().tables, args[0])
            params = [a for a in args[2:] if a != "=>"]
            t.set_default(self._action_for(pl, name, args[1], params))
        return "", None

    @_command("table_clear <table>", "Delete every (non-const) entry of a table")
    def cmd_table_clear(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "table_clear <table>")
        with self.rt.control():
            self._named("table", self._switch().tables, args[0])[1].clear()
        return "", None


PRIORITY_TOP = 1 << 24  # simple_switch_CLI priority p is stored as PRIORITY_TOP - p


def _value(text: str, bitwidth: int, what: str) -> int:
    """A CLI value: an integer (decimal, 0x...), a MAC (aa:bb:...), an IPv4 or IPv6 address."""
    import ipaddress

    v: int | None = None
    parts = text.split(":")
    if len(parts) == 6 and all(1 <= len(p) <= 2 for p in parts):
        try:
            v = int("".join(p.zfill(2) for p in parts), 16)
        except ValueError:
            v = None
    if v is None and ("." in text or ":" in text):
        try:
            v = int(ipaddress.ip_address(text))
        except ValueError:
            raise AdminError(f"{what}: cannot parse {text!r}") from None
    if v is None:
        v = _int(text, what)
    if v < 0 or v >> bitwidth:
        raise AdminError(f"{what}: {text} does not fit in {bitwidth} bits")
    return v


def _match(text: str, key: Any) -> Any:
    from ..engine.tables import Exact, Lpm, Optional, Range, Ternary

    kind, width, what = key.match_kind, key.bitwidth, f"key {key.name}"
    try:
        if kind == "lpm":
            value, _, plen = text.partition("/")
            n = _int(plen, f"{what} prefix length") if plen else width
            if not 0 <= n <= width:
                raise AdminError(f"{what}: prefix length {n} out of 0..{width}")
            return Lpm(_value(value, width, what), n)
        if kind == "ternary":
            value, sep, mask = text.partition("&&&")
            m = _value(mask, width, what) if sep else (1 << width) - 1
            return Ternary(_value(value, width, what), m)
        if kind == "range":
            lo, sep, hi = text.partition("->")
            if not sep:
                raise AdminError(f"{what}: a range is LOW->HIGH")
            return Range(_value(lo, width, what), _value(hi, width, what))
        if kind == "optional":
            return Optional(None if text == "*" else _value(text, width, what))
    except ValueError as exc:
        raise AdminError(f"{what}: {exc}") from None
    return Exact(_value(text, width, what))


def _action_json(a: Any) -> dict[str, Any]:
    name = getattr(a, "name", None)
    if name is not None:
        return {"action": name, "args": list(getattr(a, "args", ()))}
    return {"ref": repr(a)}


def _show_action(a: dict[str, Any]) -> str:
    if "action" in a:
        return f"{a['action']} - " + ", ".join(hex(v) for v in a["args"])
    return a["ref"]


def _entry_json(t: Any, e: Any) -> dict[str, Any]:
    from ..engine.tables import Exact, Lpm, Range, Ternary

    match = []
    for k, m in zip(t.keys, e.match):
        if isinstance(m, Exact):
            v = f"{m.value:#x}"
        elif isinstance(m, Lpm):
            v = f"{m.value:#x}/{m.prefix_len}"
        elif isinstance(m, Ternary):
            v = f"{m.value:#x} &&& {m.mask:#x}"
        elif isinstance(m, Range):
            v = f"{m.low:#x} -> {m.high:#x}"
        else:
            v = "*" if m.value is None else f"{m.value:#x}"
        match.append({"field": k.name, "kind": k.match_kind, "value": v})
    return {
        "handle": e.seq,
        "match": match,
        "priority": e.priority,
        "action": _action_json(e.action),
        "packets": e.packets,
        "bytes": e.bytes,
        "timeout_ns": e.timeout_ns,
    }
