"""``sluice stf``: run one STF test, or every test of a directory (p4c's ``p4_16_samples``).

``sluice stf PROG.p4 [TEST.stf] [-I DIR]`` exits 0 when the test passes, 1 when it fails (the
expected/received diff is printed), 2 when it cannot run (compile error, unsupported feature,
unresolvable name; the reason is printed).

``sluice stf --corpus DIR [-j N]`` runs every ``X.stf`` that has an ``X.p4`` beside it, skipping
programs of other architectures than v1model, prints a line per failing or erroring test and a
summary ``N passed, N failed, N errors (N skipped)``; it exits 0 only if nothing failed or erred.
Each test runs in a worker process with a time limit, so a hung test costs only its own result.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from queue import Empty
from typing import Any

__all__ = ["add_stf_command", "find_tests"]


def add_stf_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``stf`` sub-command to ``sluice``'s sub-parsers."""
    p = subparsers.add_parser(
        "stf",
        help="run p4c STF packet tests against the embedded switch",
        description="Run a p4c STF test (packets, expects, table entries) against the embedded "
        "v1model switch with the semantics of p4c's BMv2 runner. Exit 0 pass, 1 fail, "
        "2 cannot run.",
    )
    p.add_argument("program", nargs="?", help="the P4_16 program")
    p.add_argument("test", nargs="?", help="the .stf file (default: PROGRAM with .stf)")
    p.add_argument(
        "-I",
        dest="include",
        action="append",
        default=[],
        metavar="DIR",
        help="add DIR to the include search path",
    )
    p.add_argument("--corpus", metavar="DIR", help="run every X.stf with its X.p4 under DIR")
    p.add_argument(
        "-j",
        dest="jobs",
        type=int,
        default=0,
        metavar="N",
        help="parallel workers for --corpus (default: CPU count)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds a corpus test may take (default 60)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print passing tests and warnings too"
    )
    p.set_defaults(func=_cmd_stf)
    return p


def _cmd_stf(args: argparse.Namespace) -> int:
    if args.corpus:
        if args.program:
            print("sluice stf: give either PROGRAM [TEST] or --corpus DIR", file=sys.stderr)
            return 2
        return _run_corpus(args)
    if not args.program:
        print("sluice stf: a PROGRAM (or --corpus DIR) is required", file=sys.stderr)
        return 2
    from .runner import run_stf

    test = args.test or str(Path(args.program).with_suffix(".stf"))
    result = run_stf(args.program, test, args.include)
    if result.status == "pass":
        print(f"PASS {test}")
        if args.verbose:
            for w in result.warnings:
                print(f"warning: {w}")
        return 0
    if result.status == "fail":
        print(f"FAIL {test}")
        print(result.diff())
        for w in result.warnings:
            print(f"warning: {w}")
        return 1
    print(f"ERROR {test}: {result.reason}", file=sys.stderr)
    return 2


def find_tests(directory: str) -> list[tuple[str, str]]:
    """``(program, test)`` pairs: every ``X.stf`` under ``directory`` with an ``X.p4``."""
    out = []
    for root, _dirs, files in os.walk(directory):
        for f in sorted(files):
            if f.endswith(".stf"):
                p4 = os.path.join(root, f[:-4] + ".p4")
                if os.path.isfile(p4):
                    out.append((p4, os.path.join(root, f)))
    return sorted(out)


def _worker(tasks: Any, results: Any, include: list[str]) -> None:
    from .runner import run_stf

    while True:
        item = tasks.get()
        if item is None:
            return
        idx, p4, test = item
        results.put(("start", idx, os.getpid()))
        try:
            r = run_stf(p4, test, include, require_v1model=True)
            payload = (r.status, r.reason, r.diff() if r.status == "fail" else "")
        except BaseException as exc:  # noqa: BLE001 - report, keep the worker alive
            payload = ("error", f"runner crashed: {type(exc).__name__}: {exc}", "")
        results.put(("done", idx, payload))


def _run_corpus(args: argparse.Namespace) -> int:
    tests = find_tests(args.corpus)
    if not tests:
        print(f"sluice stf: no X.stf with X.p4 under {args.corpus}", file=sys.stderr)
        return 2
    jobs = args.jobs or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(tests)))
    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    tasks = ctx.Queue()
    results = ctx.Queue()
    for i, (p4, test) in enumerate(tests):
        tasks.put((i, p4, test))
    workers: dict[int, Any] = {}

    def spawn() -> None:
        w = ctx.Process(target=_worker, args=(tasks, results, args.include), daemon=True)
        w.start()
        workers[w.pid] = w

    for _ in range(jobs):
        spawn()
    outcome: dict[int, tuple[str, str, str]] = {}
    running: dict[int, tuple[int, float]] = {}  # pid -> (test index, start time)
    t0 = time.monotonic()
    while len(outcome) < len(tests):
        try:
            msg = results.get(timeout=0.5)
        except Empty:
            msg = None
        if msg is not None:
            if msg[0] == "start":
                running[msg[2]] = (msg[1], time.monotonic())
            else:
                outcome[msg[1]] = msg[2]
                for pid, (idx, _) in list(running.items()):
                    if idx == msg[1]:
                        del running[pid]
        now = time.monotonic()
        for pid, (idx, start) in list(running.items()):
            dead = not workers[pid].is_alive()
            if now - start > args.timeout or dead:
                if not dead:
                    workers[pid].kill()
                workers[pid].join()
                del workers[pid]
                del running[pid]
                if idx not in outcome:
                    why = f"timeout after {args.timeout:g} s" if not dead else "worker died"
                    outcome[idx] = ("error", why, "")
                if len(outcome) < len(tests):
                    spawn()
        if msg is None and not running and not any(w.is_alive() for w in workers.values()):
            for i in range(len(tests)):  # every worker gone: nothing left will report
                outcome.setdefault(i, ("error", "not run", ""))
    for _ in workers:
        tasks.put(None)
    for w in workers.values():
        w.join(timeout=1)
        if w.is_alive():
            w.kill()

    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for i, (_p4, test) in enumerate(tests):
        status, reason, diff = outcome[i]
        name = os.path.relpath(test, args.corpus)
        if status == "error" and reason.startswith("skip:"):
            counts["skipped"] += 1
            continue
        counts[status] += 1
        if status == "pass":
            if args.verbose:
                print(f"PASS  {name}")
            continue
        if status == "fail":
            print(f"FAIL  {name}")
            if args.verbose and diff:
                print("      " + diff.replace("\n", "\n      "))
        else:
            print(f"ERROR {name}: {reason}")
            reasons[_reason_class(reason)] += 1
    elapsed = time.monotonic() - t0
    print(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors "
        f"({counts['skipped']} skipped, not v1model) in {elapsed:.1f} s"
    )
    if args.verbose and reasons:
        for why, n in reasons.most_common():
            print(f"  {n:4d}  {why}")
    return 0 if counts["fail"] == 0 and counts["error"] == 0 else 1


_LOCATION_RE = re.compile(r"\S+\.p4:\d+(?::\d+)?:\s*")


def _reason_class(reason: str) -> str:
    """A short class for an error reason, for the summary: file locations and the names after
    the last colon dropped (``engine crashed: TypeError``, ``compile error: error``)."""
    text = _LOCATION_RE.sub("", reason)
    parts = [p.strip() for p in text.split(":")]
    return ": ".join(parts[:2]) if len(parts) > 1 else text


def main(argv: list[str] | None = None) -> int:
    """``python -m softswitch.stf.cli ...``: the ``stf`` sub-command on its own."""
    parser = argparse.ArgumentParser(prog="sluice")
    add_stf_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["stf", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
