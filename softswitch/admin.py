"""The admin interface: what BMv2 offers over Thrift to ``simple_switch_CLI``, as JSON over TCP.

Protocol: one JSON object per line each way. A request ``{"command": "set_queue_depth",
"args": ["64", "1"]}`` gets ``{"ok": true, "output": "<text>", "result": <data>}`` or
``{"ok": false, "error": "<message>"}``. Arguments are strings, as typed at the CLI, so the
server does all parsing and ``sluice switch-cli`` stays thin. Default address 127.0.0.1:9090
(BMv2's Thrift port).

Commands take simple_switch_CLI's names and argument order (``help`` lists them):
queues (``set_queue_depth``, ``set_queue_rate``, plus ``set_port_rate``, ``queue_pause``,
``queue_resume``, ``tm_stats``), mirroring (``mirroring_add``, ``mirroring_add_mc``,
``mirroring_delete``, ``mirroring_get``), multicast (``mc_mgrp_create``, ``mc_mgrp_destroy``,
``mc_node_create``, ``mc_node_update``, ``mc_node_associate``, ``mc_node_dissociate``,
``mc_node_destroy``, ``mc_dump``), state (``register_read``, ``register_write``,
``register_reset``, ``counter_read``, ``counter_reset``, ``table_num_entries``, ``table_dump``,
``show_tables``), table writes (``table_add``, ``table_modify``, ``table_delete``,
``table_set_default``, ``table_clear``: entry handles are the engine's insertion numbers, a
``table_add`` priority follows simple_switch_CLI, smaller wins, and is stored as
``PRIORITY_TOP - p`` so P4Runtime, where larger wins, reads the same order), and
``show_ports``, ``switch_info``.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .runtime import SwitchRuntime

__all__ = [
    "DEFAULT_ADMIN_ADDR",
    "AdminClient",
    "AdminCommands",
    "AdminError",
    "AdminServer",
    "parse_address",
]

log = logging.getLogger("sluice.switch")

DEFAULT_ADMIN_ADDR = "127.0.0.1:9090"
MAX_LINE = 1 << 20


class AdminError(Exception):
    """A command failed; the message says why (shown to the user as is)."""


def parse_address(addr: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``host:port`` (or just ``port``) as a ``(host, port)`` pair."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = default_host, addr
    host = host.strip("[]") or default_host
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad address {addr!r}: expected HOST:PORT")
    return host, int(port)


# -- commands -----------------------------------------------------------------------------------

_COMMANDS: dict[str, tuple[str, str, Callable[..., tuple[str, Any]]]] = {}


def _command(usage: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__.removeprefix("cmd_")
        _COMMANDS[name] = (usage, help_text, fn)
        return fn

    return deco


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise AdminError(f"{what} must be an integer, not {text!r}") from None


def _nargs(args: list[str], lo: int, hi: int | None, usage: str) -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise AdminError(f"usage: {usage}")


class AdminCommands:
    """The commands, run against a :class:`SwitchRuntime` under its lock."""

    def __init__(self, runtime: SwitchRuntime) -> None:
        self.rt = runtime

    @staticmethod
    def names() -> list[str]:
        """Every command name."""
        return sorted(_COMMANDS)

    def run(self, command: str, args: list[str]) -> dict[str, Any]:
        """Run one command; the response object of the protocol."""
        entry = _COMMANDS.get(command)
        if entry is None:
            return {"ok": False, "error": f"unknown command {command!r} (try 'help')"}
        fn = entry[2]
        try:
            output, result = fn(self, [str(a) for a in args])
        except AdminError as exc:
            return {"ok": False, "error": str(exc)}
        except (KeyError, ValueError, IndexError) as exc:
            msg = exc.args[0] if exc.args else repr(exc)
            return {"ok": False, "error": f"{command}: {msg}"}
        except Exception as exc:  # noqa: BLE001 - the admin server must keep answering
            log.exception("admin command %s failed", command)
            return {"ok": False, "error": f"{command}: internal error: {exc!r}"}
        return {"ok": True, "output": output, "result": result}

    def _switch(self) -> Any:
        pl = self.rt.pipeline
        if pl is None:
            raise AdminError("no P4 program is loaded (start with PROG.p4 or push a pipeline)")
        return pl.switch

    def _named(self, kind: str, objs: dict[str, Any], name: str) -> tuple[str, Any]:
        if name in objs:
            return name, objs[name]
        matches = [n for n in objs if n.endswith("." + name)]
        if len(matches) == 1:
            return matches[0], objs[matches[0]]
        if matches:
            raise AdminError(f"{kind} name {name!r} is ambiguous: {', '.join(sorted(matches))}")
        known = ", ".join(sorted(objs)) or "none"
        raise AdminError(f"no {kind} named {name!r} (known: {known})")

    # -- general ---------------------------------------------------------------------------

    @_command("help [<command>]", "List commands, or show one command's usage")
    def cmd_help(self, args: list[str]) -> tuple[str, Any]:
        if args:
            entry = _COMMANDS.get(args[0])
            if entry is None:
                raise AdminError(f"unknown command {args[0]!r}")
            return f"{entry[0]}\n  {entry[1]}", {"usage": entry[0], "help": entry[1]}
        lines = [f"{u:<58} {h}" for u, h, _ in (_COMMANDS[n] for n in sorted(_COMMANDS))]
        return "\n".join(lines), sorted(_COMMANDS)

    @_command("show_ports", "Ports with their interfaces and packet counts")
    def cmd_show_ports(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 0, 0, "show_ports")
        with self.rt.lock:
            info = self.rt.port_info()
        lines = [f"{'port #':<8}{'iface name':<30}{'rx':>10}{'tx':>10}"]
        lines += [f"{p['port']:<8}{p['name']:<30}{p['rx']:>10}{p['tx']:>10}" for p in info]
        return "\n".join(lines), info

    @_command("switch_info", "Device id, CPU and drop ports, queues, pipeline")
    def cmd_switch_info(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 0, 0, "switch_info")
        rt = self.rt
        with rt.lock:
            pl = rt.pipeline
            info = {
                "device_id": rt.device_id,
                "cpu_port": rt.cpu_port,
                "drop_port": rt.drop_port,
                "priority_queues": rt.priority_queues,
                "pipeline": None
                if pl is None
                else {
                    "tables": len(pl.p4info.tables),
                    "actions": len(pl.p4info.actions),
                    "arch": pl.p4info.pkg_info.arch,
                },
                "packet_ins": rt.packet_ins,
                "packet_outs": rt.packet_outs,
                "dropped_no_pipeline": rt.dropped_no_pipeline,
                "dropped_no_port": rt.dropped_no_port,
                "engine_dropped": pl.switch.dropped if pl is not None else 0,
            }
        return "\n".join(f"{k}: {v}" for k, v in info.items()), info

    # -- queues ----------------------------------------------------------------------------

    def _queue_target(self, args: list[str], usage: str) -> tuple[int, int | None, int | None]:
        _nargs(args, 1, 3, usage)
        value = _int(args[0], "value")
        port = _int(args[1], "egress_port") if len(args) > 1 else None
        prio = _int(args[2], "priority") if len(args) > 2 else None
        if prio is not None and not 0 <= prio < self.rt.priority_queues:
            raise AdminError(
                f"priority {prio} out of range: the switch has {self.rt.priority_queues} "
                "queue(s) per port (--priority-queues)"
            )
        return value, port, prio

    @_command(
        "set_queue_depth <nb_pkts> [<egress_port> [<priority>]]",
        "Set the depth of one queue, a port's queues, or all queues",
    )
    def cmd_set_queue_depth(self, args: list[str]) -> tuple[str, Any]:
        depth, port, prio = self._queue_target(
            args, "set_queue_depth <nb_pkts> [<egress_port> [<priority>]]"
        )
        self.rt.tm_config("set_queue_depth", port, depth, prio)
        return "", None

    @_command(
        "set_queue_rate <rate_pps> [<egress_port> [<priority>]]",
        "Set the rate (packets/s, 0 = unlimited) of one queue, a port's, or all",
    )
    def cmd_set_queue_rate(self, args: list[str]) -> tuple[str, Any]:
        pps, port, prio = self._queue_target(
            args, "set_queue_rate <rate_pps> [<egress_port> [<priority>]]"
        )
        self.rt.tm_config("set_queue_rate", port, pps, prio)
        return "", None

    @_command(
        "set_port_rate <rate_bps> [<egress_port>]",
        "Set a port's line rate (bits/s, 0 = unlimited), or every port's",
    )
    def cmd_set_port_rate(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 2, "set_port_rate <rate_bps> [<egress_port>]")
        bps = _int(args[0], "rate_bps")
        port = _int(args[1], "egress_port") if len(args) > 1 else None
        self.rt.tm_config("set_port_rate", port, bps)
        return "", None

    def _pause(self, args: list[str], op: str) -> tuple[str, Any]:
        _nargs(args, 2, 2, f"queue_{op} <egress_port> <priority>")
        port, prio = _int(args[0], "egress_port"), _int(args[1], "priority")
        if not 0 <= prio < self.rt.priority_queues:
            raise AdminError(f"priority {prio} out of range (0..{self.rt.priority_queues - 1})")
        self.rt.tm_config(op, port, prio)
        return "", None

    @_command("queue_pause <egress_port> <priority>", "Hold a queue (it keeps its packets)")
    def cmd_queue_pause(self, args: list[str]) -> tuple[str, Any]:
        return self._pause(args, "pause")

    @_command("queue_resume <egress_port> <priority>", "Release a paused queue")
    def cmd_queue_resume(self, args: list[str]) -> tuple[str, Any]:
        return self._pause(args, "resume")

    @_command("tm_stats [<egress_port>]", "Queue counters: enqueued, dequeued, dropped, depth")
    def cmd_tm_stats(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 0, 1, "tm_stats [<egress_port>]")
        only = _int(args[0], "egress_port") if args else None
        with self.rt.lock:
            sw = self._switch()
            stats = sw.tm.stats()
            paused = {k: sw.tm.is_paused(*k) for k in stats}
        rows = []
        for (port, prio), s in sorted(stats.items()):
            if only is not None and port != only:
                continue
            rows.append(
                {
                    "port": port,
                    "priority": prio,
                    "enqueued": s.enqueued,
                    "dequeued": s.dequeued,
                    "dropped": s.dropped,
                    "depth": s.depth,
                    "max_depth": s.max_depth,
                    "paused": paused[(port, prio)],
                }
            )
        head = (
            f"{'port':>5} {'prio':>4} {'enq':>10} {'deq':>10} {'drop':>8} {'depth':>6} "
            f"{'max':>6} paused"
        )
        lines = [head] + [
            f"{r['port']:>5} {r['priority']:>4} {r['enqueued']:>10} {r['dequeued']:>10} "
            f"{r['dropped']:>8} {r['depth']:>6} {r['max_depth']:>6} {'yes' if r['paused'] else ''}"
            for r in rows
        ]
        return "\n".join(lines), rows

    # -- mirroring -------------------------------------------------------------------------

    @_command("mirroring_add <mirror_id> <egress_port>", "Clone session to one port")
    def cmd_mirroring_add(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "mirroring_add <mirror_id> <egress_port>")
        sid, port = _int(args[0], "mirror_id"), _int(args[1], "egress_port")
        with self.rt.control():
            self._switch().pre.set_clone_session(sid, [port])
        return "", None

    @_command("mirroring_add_mc <mirror_id> <mgrp>", "Clone session to a multicast group")
    def cmd_mirroring_add_mc(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "mirroring_add_mc <mirror_id> <mgrp>")
        sid, mgrp = _int(args[0], "mirror_id"), _int(args[1], "mgrp")
        with self.rt.control():
            self._switch().pre.set_clone_session(sid, mcast_grp=mgrp)
        return "", None

    @_command("mirroring_delete <mirror_id>", "Delete a clone session")
    def cmd_mirroring_delete(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "mirroring_delete <mirror_id>")
        with self.rt.control():
            self._switch().pre.delete_clone_session(_int(args[0], "mirror_id"))
        return "", None

    @_command("mirroring_get <mirror_id>", "Show a clone session")
    def cmd_mirroring_get(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "mirroring_get <mirror_id>")
        with self.rt.lock:
            s = self._switch().pre.clone_session(_int(args[0], "mirror_id"))
        result = {
            "session_id": s.session_id,
            "replicas": [list(r) for r in s.replicas],
            "mcast_grp": s.mcast_grp,
            "truncate_bytes": s.truncate_bytes,
            "class_of_service": s.class_of_service,
        }
        if s.mcast_grp is not None:
            text = f"MirroringSessionConfig(mgid={s.mcast_grp})"
        else:
            ports = ", ".join(str(p) for p, _ in s.replicas)
            text = f"MirroringSessionConfig(port={ports})"
        return text, result

    # -- multicast -------------------------------------------------------------------------

    @_command("mc_mgrp_create <group id>", "Create a multicast group")
    def cmd_mc_mgrp_create(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "mc_mgrp_create <group id>")
        mgrp = _int(args[0], "group id")
        with self.rt.control():
            self._switch().pre.mgrp_create(mgrp)
        return f"Creating multicast group {mgrp}", mgrp

    @_command("mc_mgrp_destroy <group id>", "Destroy a multicast group")
    def cmd_mc_mgrp_destroy(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "mc_mgrp_destroy <group id>")
        with self.rt.control():
            self._switch().pre.mgrp_destroy(_int(args[0], "group id"))
        return "", None

    @_command("mc_node_create <rid> <port> ...", "Create a node (rid and ports); prints its handle")
    def cmd_mc_node_create(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, None, "mc_node_create <rid> <port> ...")
        rid = _int(args[0], "rid")
        ports = [_int(p, "port") for p in args[1:] if p != "|"]
        with self.rt.control():
            handle = self._switch().pre.node_create(rid, ports)
        return (
            f"Creating node with rid {rid} , port map {ports}\nnode was created with "
            f"handle {handle}",
            handle,
        )

    @_command("mc_node_update <node handle> <port> ...", "Replace a node's ports")
    def cmd_mc_node_update(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, None, "mc_node_update <node handle> <port> ...")
        handle = _int(args[0], "node handle")
        ports = [_int(p, "port") for p in args[1:] if p != "|"]
        with self.rt.control():
            self._switch().pre.node_update(handle, ports)
        return "", None

    @_command("mc_node_associate <group id> <node handle>", "Add a node to a group")
    def cmd_mc_node_associate(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "mc_node_associate <group id> <node handle>")
        with self.rt.control():
            self._switch().pre.node_associate(
                _int(args[0], "group id"), _int(args[1], "node handle")
            )
        return "", None

    @_command("mc_node_dissociate <group id> <node handle>", "Remove a node from a group")
    def cmd_mc_node_dissociate(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "mc_node_dissociate <group id> <node handle>")
        with self.rt.control():
            self._switch().pre.node_dissociate(
                _int(args[0], "group id"), _int(args[1], "node handle")
            )
        return "", None

    @_command("mc_node_destroy <node handle>", "Destroy a node")
    def cmd_mc_node_destroy(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "mc_node_destroy <node handle>")
        with self.rt.control():
            self._switch().pre.node_destroy(_int(args[0], "node handle"))
        return "", None

    @_command("mc_dump", "Multicast groups and their (port, rid) copies")
    def cmd_mc_dump(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 0, 0, "mc_dump")
        with self.rt.lock:
            pre = self._switch().pre
            groups = {g: pre.group_replicas(g) for g in pre.group_ids()}
        lines = ["==========", "MC ENTRIES"]
        for g, copies in groups.items():
            by_rid: dict[int, list[int]] = {}
            for port, rid in copies:
                by_rid.setdefault(rid, []).append(port)
            nodes = ", ".join(f"(rid {rid}: ports {ports})" for rid, ports in by_rid.items())
            lines.append(f"mgrp({g}) -> {nodes or 'no copies'}")
        lines.append("==========")
        return "\n".join(lines), {str(g): [list(c) for c in cs] for g, cs in groups.items()}

    # -- registers and counters ------------------------------------------------------------

    @_command("register_read <name> [<index>]", "Read one register cell, or all of them")
    def cmd_register_read(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 2, "register_read <name> [<index>]")
        with self.rt.lock:
            name, reg = self._named("register", self._switch().registers, args[0])
            if len(args) == 2:
                i = _int(args[1], "index")
                v = reg.get(i)
                return f"{name}[{i}]= {v}", v
            values = reg.values()
        return f"{name}= " + ", ".join(str(v) for v in values), values

    @_command("register_write <name> <index> <value>", "Write one register cell")
    def cmd_register_write(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 3, 3, "register_write <name> <index> <value>")
        with self.rt.control():
            _, reg = self._named("register", self._switch().registers, args[0])
            reg.set(_int(args[1], "index"), _int(args[2], "value"))
        return "", None

    @_command("register_reset <name>", "Set every cell of a register to 0")
    def cmd_register_reset(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "register_reset <name>")
        with self.rt.control():
            self._named("register", self._switch().registers, args[0])[1].reset()
        return "", None

    @_command("counter_read <name> <index>", "Read an indirect counter cell")
    def cmd_counter_read(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 2, 2, "counter_read <name> <index>")
        with self.rt.lock:
            name, ctr = self._named("counter", self._switch().counters, args[0])
            i = _int(args[1], "index")
            packets, nbytes = ctr.read(i)
        return f"{name}[{i}]=  BmCounterValue(packets={packets}, bytes={nbytes})", {
            "packets": packets,
            "bytes": nbytes,
        }

    @_command("counter_reset <name>", "Reset every cell of an indirect counter")
    def cmd_counter_reset(self, args: list[str]) -> tuple[str, Any]:
        _nargs(args, 1, 1, "counter_reset <name>")
        with self.rt.control():
            self._named("counter", self._switch().counters, args[0])[1].reset()
        return "", None

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
        from .engine.tables import ActionCall

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
    from .engine.tables import Exact, Lpm, Optional, Range, Ternary

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
    from .engine.tables import Exact, Lpm, Range, Ternary

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


# -- server and client ----------------------------------------------------------------------------


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        for raw in self._lines():
            try:
                req = json.loads(raw)
                if not isinstance(req, dict) or not isinstance(req.get("command"), str):
                    raise ValueError('expected {"command": NAME, "args": [...]}')
                args = req.get("args") or []
                if not isinstance(args, list):
                    raise ValueError("args must be a list")
                resp = self.server.commands.run(req["command"], args)
            except ValueError as exc:
                resp = {"ok": False, "error": f"bad request: {exc}"}
            try:
                self.wfile.write(json.dumps(resp).encode() + b"\n")
                self.wfile.flush()
            except OSError:
                return

    def _lines(self) -> Iterator[bytes]:
        while True:
            try:
                line = self.rfile.readline(MAX_LINE)
            except OSError:
                return
            if not line:
                return
            if line.strip():
                yield line


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    commands: AdminCommands


class AdminServer:
    """The admin interface on ``address`` (``host:port``; port 0 picks a free one)."""

    def __init__(self, runtime: SwitchRuntime, address: str = DEFAULT_ADMIN_ADDR) -> None:
        host, port = parse_address(address)
        try:
            self._server = _TCPServer((host, port), _Handler)
        except OSError as exc:
            raise OSError(f"cannot bind the admin interface to {address}: {exc.strerror}") from None
        self._server.commands = AdminCommands(runtime)
        self.address = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sluice-admin",
            daemon=True,
        )
        self._thread.start()
        log.info("admin interface listening on %s:%d", *self.address)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()


class AdminClient:
    """A connection to an :class:`AdminServer`: :meth:`call` sends one command."""

    def __init__(self, address: str = DEFAULT_ADMIN_ADDR, timeout: float = 10.0) -> None:
        host, port = parse_address(address)
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise AdminError(
                f"cannot reach the switch's admin interface at {host}:{port}: "
                f"{exc.strerror or exc} (is 'sluice switch' running?)"
            ) from None
        self._file = self._sock.makefile("rwb")

    def call(self, command: str, *args: Any) -> dict[str, Any]:
        """Send a command; the response object (``ok``, ``output``/``result`` or ``error``)."""
        req = {"command": command, "args": [str(a) for a in args]}
        try:
            self._file.write(json.dumps(req).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as exc:
            raise AdminError(f"admin connection failed: {exc}") from None
        if not line:
            raise AdminError("the switch closed the admin connection")
        return json.loads(line)

    def close(self) -> None:
        """Close the connection."""
        try:
            self._file.close()
        finally:
            self._sock.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
