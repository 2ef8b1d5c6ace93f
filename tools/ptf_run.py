#!/usr/bin/env python3
"""``make ptf``: run a PTF suite over veth pairs against a switch, all inside a fresh namespace.

    tools/ptf_run.py [--target softswitch|bmv2] [--suite l3_router] [--program P4] [-- PTF ARGS]

Steps: compile the suite's program (``sluice compile``, or ``p4c-bm2-ss`` for BMv2) into
``build/ptf/TARGET/``; create a uniquely named network namespace; create the veth pairs in it
(``tools/veth.sh up N --netns NAME``); start the switch in it (``sluice switch`` or
``simple_switch_grpc``, ``--no-p4``, switch ports ``N@veth(2N)``, gRPC on 127.0.0.1); wait for
the gRPC port; run ``ptf`` in it over the odd veth ends with the P4Info and device config as test
parameters (the tests push the pipeline); stop the switch and delete the namespace, whatever
happened (exceptions, SIGINT, SIGTERM). Exit status: 0 when every test passed, 1 when a test or
a step failed, 2 when the target's tools are missing or the run cannot start (not root...).
``--program`` runs the suite against another program (a variant, or a deliberately broken one
to see the suite fail).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from softswitch.ports.netns import NetnsError, run_in_netns, temporary_netns  # noqa: E402

GRPC_ADDR = "127.0.0.1:9559"
ADMIN_ADDR = "127.0.0.1:9090"  # softswitch admin interface; BMv2's Thrift port is the same
THRIFT_PORT = 9090
DEVICE_ID = 0
CPU_PORT = 255
SWITCH_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Suite:
    """A PTF suite: its directory under ``ptf_tests/``, its program, how many ports it wires,
    and how many strict-priority queues each switch port needs (``--priority-queues``)."""

    name: str
    program: str
    ports: int
    priority_queues: int = 1


SUITES = {
    "l3_router": Suite("l3_router", "p4src/examples/l3_router.p4", 3),
    # sluice.p4 sends relayed PAUSE/RESUME through queue 7 (CTRL_QID): 8 queues per port
    "sluice": Suite("sluice", "p4src/sluice.p4", 5, priority_queues=8),
}


class RunError(Exception):
    """A step failed; ``status`` is the exit status to use."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def say(msg: str) -> None:
    print(f"[ptf_run] {msg}", flush=True)


# -- targets ---------------------------------------------------------------------------------------


@dataclass
class Artifacts:
    p4info: Path
    config: Path


def compile_softswitch(suite: Suite, out: Path) -> Artifacts:
    stem = Path(suite.program).stem
    p4info = out / f"{stem}.p4info.txtpb"
    argv = [
        sys.executable,
        "-m",
        "softswitch.cli",
        "compile",
        str(ROOT / suite.program),
        "-o",
        str(out),
        "--p4runtime-files",
        str(p4info),
    ]
    run_step("compile (sluice compile)", argv)
    return Artifacts(p4info, out / f"{stem}.json")


def compile_bmv2(suite: Suite, out: Path) -> Artifacts:
    stem = Path(suite.program).stem
    p4info = out / f"{stem}.p4info.txtpb"
    config = out / f"{stem}.json"
    argv = [
        shutil.which("p4c-bm2-ss") or "p4c-bm2-ss",
        "--arch",
        "v1model",
        "-o",
        str(config),
        "--p4runtime-files",
        str(p4info),
        str(ROOT / suite.program),
    ]
    run_step("compile (p4c-bm2-ss)", argv)
    return Artifacts(p4info, config)


def switch_argv(target: str, suite: Suite) -> list[str]:
    ifaces = [x for i in range(suite.ports) for x in ("-i", f"{i}@veth{2 * i}")]
    queues = []
    if suite.priority_queues > 1:
        queues = ["--priority-queues", str(suite.priority_queues)]
    if target == "softswitch":
        return [
            sys.executable,
            "-m",
            "softswitch.cli",
            "switch",
            "--no-p4",
            *ifaces,
            "--device-id",
            str(DEVICE_ID),
            "--cpu-port",
            str(CPU_PORT),
            "--grpc-server-addr",
            GRPC_ADDR,
            "--admin-addr",
            ADMIN_ADDR,
            *queues,
            "--log-level",
            "info",
        ]
    return [
        shutil.which("simple_switch_grpc") or "simple_switch_grpc",
        "--no-p4",
        *ifaces,
        "--device-id",
        str(DEVICE_ID),
        "--thrift-port",
        str(THRIFT_PORT),
        "--log-console",  # into switch.log with its stdout
        "--log-level",
        "info",
        "--",
        "--grpc-server-addr",
        GRPC_ADDR,
        "--cpu-port",
        str(CPU_PORT),
        *queues,
    ]


TARGETS = {
    "softswitch": (compile_softswitch, ()),
    "bmv2": (compile_bmv2, ("p4c-bm2-ss", "simple_switch_grpc")),
}


# -- steps -----------------------------------------------------------------------------------------


def run_step(what: str, argv: list[str]) -> None:
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        raise RunError(f"{what} failed (exit {proc.returncode}):\n{out}")
    say(f"{what}: ok in {time.monotonic() - t0:.2f} s")


def preflight(target: str) -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("needs root (network namespaces, veth pairs, raw sockets)")
    if shutil.which("ip") is None:
        problems.append("iproute2's 'ip' is not installed (on Debian: apt-get install iproute2)")
    missing = [tool for tool in TARGETS[target][1] if shutil.which(tool) is None]
    if missing:
        problems.append(
            f"TARGET={target} needs {' and '.join(TARGETS[target][1])} on PATH; missing: "
            + ", ".join(missing)
        )
    if ptf_script() is None:
        problems.append("ptf is not installed (pip install ptf, or 'make install')")
    if problems:
        raise RunError("cannot run PTF:\n  " + "\n  ".join(problems), status=2)


def ptf_script() -> str | None:
    local = Path(sys.executable).parent / "ptf"
    return str(local) if local.exists() else shutil.which("ptf")


def wait_for_grpc(netns: str, proc: subprocess.Popen, log_file: Path) -> float:
    host, port = GRPC_ADDR.rsplit(":", 1)

    def probe() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            return s.connect_ex((host, int(port))) == 0

    t0 = time.monotonic()
    while time.monotonic() - t0 < SWITCH_START_TIMEOUT:
        if proc.poll() is not None:
            raise RunError(
                f"the switch exited with status {proc.returncode} before serving "
                f"gRPC; its log ({log_file}):\n{tail(log_file)}"
            )
        if run_in_netns(netns, probe):
            return time.monotonic() - t0
        time.sleep(0.05)
    raise RunError(
        f"the switch did not open {GRPC_ADDR} within {SWITCH_START_TIMEOUT:.0f} s; "
        f"its log ({log_file}):\n{tail(log_file)}"
    )


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def test_params(art: Artifacts, target: str) -> str:
    """PTF's ``--test-params``: ``key=value`` pairs (Python literals) joined by ``;``. ``target``,
    ``admin_addr`` and ``thrift_port`` let a test reach the target's driver
    (``controlplane.p4rt.drivers``) for what P4Runtime does not cover (queue rates)."""
    params = {
        "target": target,
        "admin_addr": ADMIN_ADDR,
        "thrift_port": THRIFT_PORT,
        "grpcaddr": GRPC_ADDR,
        "device_id": DEVICE_ID,
        "cpu_port": CPU_PORT,
        "p4info": str(art.p4info),
        "config": str(art.config),
    }
    # strings in double quotes (still Python literals) keep the printed command easy to paste
    return ";".join(f"{k}={json.dumps(v)}" for k, v in params.items())


def summarize(output: str) -> tuple[int, int, int]:
    """``(run, failed, errors)`` from unittest's closing lines in PTF's output."""
    run = failed = errors = 0
    for line in output.splitlines():
        if line.startswith("Ran ") and " test" in line:
            run = int(line.split()[1])
        if line.startswith("FAILED ("):
            for part in line[len("FAILED (") : -1].split(","):
                key, _, val = part.strip().partition("=")
                if key == "failures":
                    failed = int(val)
                elif key == "errors":
                    errors = int(val)
    return run, failed, errors


# -- the run ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def one_run_at_a_time(path: Path) -> Iterator[None]:
    """Runs share ``build/ptf/`` (outputs, logs): a second concurrent run waits its turn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another PTF run holds build/ptf/; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def run(args: argparse.Namespace) -> int:
    with one_run_at_a_time(ROOT / "build" / "ptf" / ".lock"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    suite = SUITES[args.suite]
    if args.program:
        suite = Suite(
            suite.name, str(Path(args.program).resolve()), suite.ports, suite.priority_queues
        )
    preflight(args.target)
    out = ROOT / "build" / "ptf" / args.target
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t_all = time.monotonic()

    t0 = time.monotonic()
    art = TARGETS[args.target][0](suite, out)
    timings["compile"] = time.monotonic() - t0

    switch_log = out / "switch.log"
    ptf_log = out / "ptf.log"
    try:
        ns_ctx = temporary_netns("sluice-ptf")
        ns = ns_ctx.__enter__()
    except NetnsError as exc:
        raise RunError(f"cannot create a network namespace: {exc}", status=2) from exc
    proc = None
    ptf_output = ""
    try:
        say(f"namespace {ns.name}")
        t0 = time.monotonic()
        run_step(
            f"veth pairs ({suite.ports})",
            ["sh", str(ROOT / "tools" / "veth.sh"), "up", str(suite.ports), "--netns", ns.name],
        )
        argv = switch_argv(args.target, suite)
        with open(switch_log, "wb") as log:
            proc = subprocess.Popen(
                ns.exec_argv(argv),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = wait_for_grpc(ns.name, proc, switch_log)
        timings["setup"] = time.monotonic() - t0
        say(f"{args.target} switch up (pid {proc.pid}), gRPC {GRPC_ADDR} after {started:.2f} s")

        ptf_argv = [
            sys.executable,
            ptf_script(),
            "--test-dir",
            str(ROOT / "ptf_tests" / suite.name),
            "--pypath",
            str(ROOT),
            "--log-file",
            str(ptf_log),
            "--test-params",
            test_params(art, args.target),
        ]
        for i in range(suite.ports):
            ptf_argv += ["-i", f"{i}@veth{2 * i + 1}"]
        ptf_argv += args.ptf_args
        say(f"in {ns.name}: " + shlex.join(["ptf", *ptf_argv[2:]]))
        t0 = time.monotonic()
        ptf_proc = subprocess.run(
            ns.exec_argv(ptf_argv),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        timings["ptf"] = time.monotonic() - t0
        ptf_output = ptf_proc.stdout
        print(ptf_output, end="", flush=True)
        if proc.poll() is not None:
            raise RunError(
                f"the switch died during the run (status {proc.returncode}):\n{tail(switch_log)}"
            )
        ptf_status = ptf_proc.returncode
    finally:
        t0 = time.monotonic()
        stop_process(proc)
        ns_ctx.__exit__(None, None, None)
        timings["teardown"] = time.monotonic() - t0

    ran, failed, errors = summarize(ptf_output)
    ok = ptf_status == 0 and ran > 0
    total = time.monotonic() - t_all
    verdict = "PASSED" if ok else "FAILED"
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print()
    say(
        f"{verdict}: suite {suite.name} on {args.target}: {ran} tests, {failed} failures, "
        f"{errors} errors, in {total:.1f} s ({phases})"
    )
    say(f"logs: {ptf_log}, {switch_log}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--target", default=os.environ.get("TARGET", "softswitch"), choices=sorted(TARGETS)
    )
    ap.add_argument("--suite", default="l3_router", choices=sorted(SUITES))
    ap.add_argument(
        "--program", default=None, help="run the suite against this P4 program instead of its own"
    )
    ap.add_argument(
        "ptf_args", nargs="*", help="passed to ptf (after --), e.g. a test: router_test.ModifyRoute"
    )
    args = ap.parse_args(argv)

    # SIGTERM (a CI timeout, make's children) unwinds like Ctrl-C, so the finally blocks run.
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return run(args)
    except RunError as exc:
        say(f"{'FAILED' if exc.status == 1 else 'NOT RUN'}: {exc}")
        return exc.status
    except KeyboardInterrupt:
        say("interrupted; switch stopped and namespace removed")
        return 130


if __name__ == "__main__":
    sys.exit(main())
