"""The ``sluice`` command line.

Each sub-command lives in a small function; heavy modules are imported inside them so that
``sluice compile`` starts fast.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_compile(args: argparse.Namespace) -> int:
    import time

    from .frontend.compiler import compile_file, internal_error, parse_defines, write_outputs
    from .frontend.errors import CompileError, CompileErrors

    t0 = time.perf_counter()
    if args.arch not in (None, "v1model"):
        print(f"sluice compile: architecture {args.arch!r} is not supported (v1model)",
              file=sys.stderr)
        return 2
    try:
        defines = parse_defines(args.define)
    except ValueError as exc:
        print(f"sluice compile: {exc}", file=sys.stderr)
        return 2
    p4rt_files = [p for p in (args.p4runtime_files or "").split(",") if p]
    for p in p4rt_files:
        if not p.endswith((".txtpb", ".txt", ".bin", ".json")):
            print(f"sluice compile: {p}: P4Runtime file must end in .txtpb, .txt, .bin or .json",
                  file=sys.stderr)
            return 2
    try:
        result = compile_file(args.program, args.include, defines)
        written = write_outputs(result, args.output, p4rt_files)
    except (CompileError, CompileErrors) as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"sluice compile: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print(f"{args.program}: error: program is nested too deeply to compile", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a front-end bug must not print a traceback
        print(internal_error(exc).format(), file=sys.stderr)
        return 2
    if args.verbose:
        total = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in result.timings.items())
        print(f"compiled {args.program} in {total * 1000:.1f} ms ({parts})", file=sys.stderr)
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _add_compile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile",
        help="compile a P4_16 program (P4Info and the embedded target's device config)",
        description="Compile a P4_16 v1model program. Flags follow p4c-bm2-ss: -I, -D, -o, "
        "--p4runtime-files. Writes OUTDIR/PROG.json, the device config the embedded target "
        "loads (pass it as p4_device_config).",
    )
    p.add_argument("program", help="the P4_16 source file")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="add DIR to the include search path")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VALUE]",
                   help="define a preprocessor macro")
    p.add_argument("-o", dest="output", metavar="OUTDIR",
                   help="output directory (or a .json file name) for the device config")
    p.add_argument("--p4runtime-files", metavar="FILES",
                   help="comma-separated P4Info outputs; format by extension: "
                   ".txtpb/.txt text, .bin binary, .json JSON")
    p.add_argument("--arch", default=None, help="architecture (only v1model)")
    p.add_argument("--target", default=None, help="accepted for p4c compatibility (bmv2)")
    p.add_argument("--std", default=None, help="accepted for p4c compatibility (p4-16)")
    p.add_argument("-v", "--verbose", action="store_true", help="print timings and outputs")
    p.set_defaults(func=_cmd_compile)


# Sub-commands registered by other modules, imported only when needed so that a command starts
# without loading the others (``sluice compile`` must start fast).
_LAZY_COMMANDS = {
    "stf": ("softswitch.stf.cli", "add_stf_command"),
    "switch": ("softswitch.switch_cli", "add_switch_commands"),
    "switch-cli": ("softswitch.switch_cli", "add_switch_commands"),
    "controller": ("controlplane.cli", "add_controller_commands"),
    "ctl": ("controlplane.cli", "add_controller_commands"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``sluice``; with ``command``, only what that sub-command needs."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="sluice",
        description="Sluice: lossless, per-flow-fair, memory-safe switching for P4 switches.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_compile(sub)
    if command == "compile":
        return parser
    adders = []
    for name, (module, func) in _LAZY_COMMANDS.items():
        if command in (None, name) and (module, func) not in adders:
            adders.append((module, func))
    if command is not None and not adders:
        adders = list(dict.fromkeys(_LAZY_COMMANDS.values()))
    for module, func in adders:
        getattr(importlib.import_module(module), func)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sluice`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in ("compile", *_LAZY_COMMANDS) else None)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
