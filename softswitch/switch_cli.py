"""``sluice switch`` (the embedded target, like ``simple_switch_grpc``) and ``sluice switch-cli``
(its admin client, like ``simple_switch_CLI``).

``add_switch_commands(subparsers)`` adds both to the ``sluice`` parser. ``sluice switch``
accepts simple_switch_grpc's flags, including target options after ``--``
(``sluice switch --no-p4 -i 0@veth0 -- --cpu-port 255``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["add_switch_commands", "run_switch", "run_switch_cli"]

log = logging.getLogger("sluice.switch")

_LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "off": logging.CRITICAL + 10,
}


class _BMv2StyleParser(argparse.ArgumentParser):
    """Drops ``--``: simple_switch_grpc puts its target options after it, we parse them all
    as ordinary options."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # noqa: D102
        if args is not None:
            args = [a for a in args if a != "--"]
        return super().parse_known_args(args, namespace)


def add_switch_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``switch`` and ``switch-cli`` to the ``sluice`` sub-command parsers."""
    from .admin import DEFAULT_ADMIN_ADDR

    p = subparsers.add_parser(
        "switch",
        help="run the embedded switch (P4Runtime server, like simple_switch_grpc)",
        description="Run the embedded v1model switch with a P4Runtime server, as "
        "simple_switch_grpc does. Given PROG.p4 (compiled now) or PROG.json (a device config "
        "from 'sluice compile') it starts with that program; with --no-p4 it waits for "
        "SetForwardingPipelineConfig. Target options may follow '--' as for BMv2.",
    )
    p.__class__ = _BMv2StyleParser
    p.add_argument("program", nargs="?", help="P4_16 program (.p4) or device config (.json)")
    p.add_argument(
        "--no-p4",
        action="store_true",
        help="start without a program (wait for SetForwardingPipelineConfig)",
    )
    p.add_argument(
        "-i",
        "--interface",
        action="append",
        default=[],
        metavar="N@IFACE",
        help="attach interface IFACE as port N (repeatable)",
    )
    p.add_argument("--device-id", type=int, default=0, help="P4Runtime device id (default 0)")
    p.add_argument(
        "--cpu-port",
        type=int,
        default=None,
        help="port for packet-in/packet-out (none: no P4Runtime packet I/O)",
    )
    p.add_argument(
        "--drop-port",
        type=int,
        default=None,  # the engine's default (not imported here: the CLI starts fast)
        help="drop port: egress_spec equal to it drops, mark_to_drop sets it (default 511)",
    )
    p.add_argument(
        "--priority-queues",
        type=int,
        default=1,
        metavar="N",
        help="strict-priority queues per port, 1..8 (default 1)",
    )
    p.add_argument(
        "--grpc-server-addr",
        default="127.0.0.1:9559",
        metavar="HOST:PORT",
        help="P4Runtime server address (default 127.0.0.1:9559)",
    )
    p.add_argument(
        "--admin-addr",
        default=None,
        metavar="HOST:PORT",
        help=f"admin interface for 'sluice switch-cli' (default {DEFAULT_ADMIN_ADDR})",
    )
    p.add_argument(
        "--thrift-port",
        type=int,
        default=None,
        metavar="PORT",
        help="BMv2 spelling: admin interface port on 127.0.0.1",
    )
    p.add_argument("--no-admin", action="store_true", help="do not start the admin interface")
    p.add_argument(
        "--pcap",
        nargs="?",
        const=".",
        default=None,
        metavar="DIR",
        help="write a pcap file per interface into DIR (default .)",
    )
    p.add_argument(
        "--use-files",
        type=float,
        default=None,
        metavar="WAIT_TIME",
        help="BMv2's file mode: port IFACE reads IFACE_in.pcap and writes "
        "IFACE_out.pcap, after waiting WAIT_TIME seconds",
    )
    p.add_argument(
        "--files-dir",
        default=".",
        metavar="DIR",
        help="directory of the --use-files pcap files (default .)",
    )
    p.add_argument(
        "--disable-swap",
        action="store_true",
        help="accepted for BMv2 (pipeline swaps are always allowed)",
    )
    p.add_argument(
        "-I",
        dest="include",
        action="append",
        default=[],
        metavar="DIR",
        help="include directory when compiling PROG.p4",
    )
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="preprocessor define when compiling PROG.p4",
    )
    p.add_argument(
        "-L",
        "--log-level",
        default="info",
        choices=sorted(_LOG_LEVELS),
        help="log level (default info)",
    )
    p.add_argument(
        "--log-console", action="store_true", help="accepted for BMv2 (logs go to stderr anyway)"
    )
    p.add_argument("--log-file", default=None, metavar="FILE", help="also log to FILE")
    p.set_defaults(func=run_switch)

    c = subparsers.add_parser(
        "switch-cli",
        help="admin commands for a running 'sluice switch' (like simple_switch_CLI)",
        description="Send admin commands (queues, mirroring, multicast, registers, counters, "
        "tables) to a running 'sluice switch'. One command from the arguments, else commands "
        "from stdin (an interactive prompt on a terminal). 'help' lists the commands.",
    )
    c.add_argument(
        "--admin-addr",
        default=None,
        metavar="HOST:PORT",
        help=f"the switch's admin interface (default {DEFAULT_ADMIN_ADDR})",
    )
    c.add_argument(
        "--thrift-port", type=int, default=None, metavar="PORT", help="BMv2 spelling: admin port"
    )
    c.add_argument("--thrift-ip", default=None, metavar="IP", help="BMv2 spelling: admin host")
    c.add_argument(
        "words", nargs=argparse.REMAINDER, metavar="COMMAND ...", help="a command and its arguments"
    )
    c.set_defaults(func=run_switch_cli)


def _admin_addr(args: argparse.Namespace) -> str:
    from .admin import DEFAULT_ADMIN_ADDR

    if args.admin_addr:
        return str(args.admin_addr)
    host = getattr(args, "thrift_ip", None) or "127.0.0.1"
    if args.thrift_port is not None:
        return f"{host}:{args.thrift_port}"
    if getattr(args, "thrift_ip", None):
        return f"{host}:{DEFAULT_ADMIN_ADDR.rsplit(':', 1)[1]}"
    return DEFAULT_ADMIN_ADDR


def _setup_logging(level: str, log_file: str | None) -> None:
    fmt = logging.Formatter(
        "[%(asctime)s.%(msecs)03d] sluice-switch %(levelname)s: %(message)s", "%H:%M:%S"
    )
    root = logging.getLogger("sluice")
    root.handlers.clear()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(_LOG_LEVELS[level])
    root.propagate = False


def _fail(message: str) -> int:
    log.error("%s", message)
    return 1


def run_switch(args: argparse.Namespace) -> int:
    """``sluice switch``: run until SIGINT/SIGTERM; 0 on a clean stop."""
    t0 = time.perf_counter()
    _setup_logging(args.log_level, args.log_file)
    if args.program and args.no_p4:
        return _fail("give a program or --no-p4, not both")
    if not args.program and not args.no_p4:
        return _fail("give a program (PROG.p4 or PROG.json) or --no-p4")
    if args.cpu_port is not None and args.cpu_port <= 0:
        return _fail("--cpu-port must be > 0 (as for simple_switch_grpc)")
    if not 1 <= args.priority_queues <= 8:
        return _fail("--priority-queues must be 1..8")

    from .ports import open_ports

    try:
        ports = open_ports(
            args.interface, pcap_dir=args.pcap, use_files=args.use_files, files_dir=args.files_dir
        )
    except (OSError, ValueError) as exc:
        return _fail(f"cannot open ports: {exc}")
    stop = threading.Event()
    server = admin = runtime = None
    try:
        from .p4runtime.server import P4RuntimeServer
        from .runtime import SwitchRuntime

        try:
            runtime = SwitchRuntime(
                ports,
                device_id=args.device_id,
                cpu_port=args.cpu_port,
                drop_port=args.drop_port,
                priority_queues=args.priority_queues,
            )
        except ValueError as exc:
            ports.close()
            return _fail(str(exc))
        for port in ports:
            log.info("port %d up (%s)", port.number, port.name)
        if args.program:
            rc = _load_program(runtime, args)
            if rc:
                runtime.stop()
                return rc
        server = P4RuntimeServer(runtime, args.grpc_server_addr)
        server.start()
        if not args.no_admin:
            from .admin import AdminServer

            admin = AdminServer(runtime, _admin_addr(args))
            admin.start()
        runtime.start()
        _install_signal_handlers(stop)
        log.info(
            "switch ready in %.0f ms%s",
            (time.perf_counter() - t0) * 1000,
            ""
            if runtime.pipeline is not None
            else " (no program: waiting for SetForwardingPipelineConfig)",
        )
        while not stop.wait(0.5):
            pass
        log.info("stopping")
        return 0
    except OSError as exc:
        return _fail(str(exc))
    finally:
        if server is not None:
            server.stop(grace=0.5)
        if admin is not None:
            admin.stop()
        if runtime is not None:
            runtime.stop()
        else:
            ports.close()


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _load_program(runtime: Any, args: argparse.Namespace) -> int:
    path = args.program
    if not os.path.isfile(path):
        return _fail(f"{path}: no such file")
    from .frontend.errors import CompileError, CompileErrors

    try:
        if path.endswith(".json"):
            from .frontend.compiler import load_device_config
            from .frontend.p4info import build_p4info

            with open(path, "rb") as f:
                data = f.read()
            program = load_device_config(data)
            p4info = build_p4info(program)
            pipeline = runtime.build_pipeline(p4info, data, program=program)
        else:
            from .frontend.compiler import compile_file, parse_defines

            result = compile_file(path, args.include, parse_defines(args.define))
            pipeline = runtime.build_pipeline(
                result.p4info, result.device_config_bytes(), program=result
            )
    except (CompileError, CompileErrors) as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        return _fail(f"{path}: {exc}")
    runtime.commit(pipeline)
    return 0


# -- switch-cli -----------------------------------------------------------------------------------


def run_switch_cli(args: argparse.Namespace) -> int:
    """``sluice switch-cli``: one command from argv, or many from stdin."""
    from .admin import AdminClient, AdminError

    words = [w for w in args.words if w != "--"]
    try:
        client = AdminClient(_admin_addr(args))
    except AdminError as exc:
        print(f"sluice switch-cli: {exc}", file=sys.stderr)
        return 1
    with client:
        if words:
            return 0 if _run_one(client, words) else 1
        interactive = sys.stdin.isatty()
        failed = False
        while True:
            if interactive:
                try:
                    line = input("RuntimeCmd: ")
                except EOFError:
                    print()
                    break
            else:
                line = sys.stdin.readline()
                if not line:
                    break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in ("quit", "exit", "EOF"):
                break
            try:
                tokens = shlex.split(line)
            except ValueError as exc:
                print(f"Error: {exc}", file=sys.stderr)
                failed = True
                continue
            try:
                ok = _run_one(client, tokens)
            except AdminError as exc:
                print(f"sluice switch-cli: {exc}", file=sys.stderr)
                return 1
            failed = failed or not ok
        return 1 if failed and not interactive else 0


def _run_one(client: Any, tokens: list[str]) -> bool:
    resp = client.call(tokens[0], *tokens[1:])
    if resp.get("ok"):
        out = resp.get("output") or ""
        if out:
            print(out)
        return True
    print(f"Error: {resp.get('error')}", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    """Run ``switch`` / ``switch-cli`` without the rest of ``sluice`` (``python -m
    softswitch.switch_cli switch ...``)."""
    parser = argparse.ArgumentParser(prog="sluice")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_switch_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
