"""The admin commands, run against a :class:`~softswitch.runtime.SwitchRuntime`."""

from __future__ import annotations

import logging
from typing import Any

from ..runtime import SwitchRuntime
from .base import _COMMANDS, AdminError, _command, _int, _nargs
from .tables import TableCommands

log = logging.getLogger("sluice.switch")


class AdminCommands(TableCommands):
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
