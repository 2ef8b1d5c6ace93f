"""Sluice benchmarks: ``make bench`` prints figures and, where a reference exists, ratios.

Sections run in order; each prints its own table. Figures are medians over several runs.
Compile time is measured two ways: in-process (the front end alone) and as a whole
``sluice compile`` process (what a user waits for, Python start-up included), against p4c's
yardstick of about 0.25 s per sample (measured with p4c-bm2-ss when it is installed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

P4C_YARDSTICK_S = 0.25
SAMPLES = [
    "basic_routing-bmv2.p4",
    "v1model-p4runtime-most-types1.p4",
    "action_profile-bmv2.p4",
    "issue1739-bmv2.p4",
]


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _programs(testdata: str) -> list[tuple[str, str]]:
    progs = [("l3_router (project)", os.path.join(ROOT, "p4src", "examples", "l3_router.p4"))]
    sluice = os.path.join(ROOT, "p4src", "sluice.p4")
    if os.path.exists(sluice):
        progs.append(("sluice (project)", sluice))
    for name in SAMPLES:
        path = os.path.join(testdata, "p4_16_samples", name)
        if os.path.exists(path):
            progs.append((name, path))
    return progs


def bench_compile(testdata: str, runs: int) -> None:
    """Compile time per program, in-process and whole-process, with the ratio to p4c."""
    from softswitch.frontend.compiler import compile_file

    sluice_bin = shutil.which("sluice") or os.path.join(os.path.dirname(sys.executable), "sluice")
    p4c = shutil.which("p4c-bm2-ss")
    print(f"== compile time (median of {runs} runs) ==")
    header = f"{'program':36} {'lines':>6} {'in-process':>11} {'process':>9} {'p4c':>7} {'ratio':>6}"
    print(header)
    with tempfile.TemporaryDirectory() as out:
        for label, path in _programs(testdata):
            inc = [os.path.dirname(path)]
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = sum(1 for _ in fh)
            try:
                compile_file(path, inc)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
                print(f"{label:36} {lines:6d}  does not compile: {str(exc).splitlines()[0]}")
                continue
            inproc = _median_time(lambda p=path, i=inc: compile_file(p, i), runs)
            cmd = [sluice_bin, "compile", path, "-I", inc[0], "-o", out,
                   "--p4runtime-files", os.path.join(out, "p4info.txtpb")]
            proc = _median_time(lambda c=cmd: subprocess.run(c, check=True), max(3, runs // 2))
            ref = P4C_YARDSTICK_S
            ref_label = f"{ref:.2f}*"
            if p4c:
                pc = [p4c, path, "-I", inc[0], "-o", os.path.join(out, "bmv2.json"),
                      "--p4runtime-files", os.path.join(out, "p4c.txtpb")]
                ref = _median_time(lambda c=pc: subprocess.run(c, check=True), 3)
                ref_label = f"{ref:.3f}"
            print(f"{label:36} {lines:6d} {inproc * 1000:9.1f}ms {proc * 1000:7.0f}ms "
                  f"{ref_label:>7} {ref / proc:5.2f}x")
    large = os.path.join(testdata, "p4_16_samples", "switch_p4_16.p4")
    if os.path.exists(large):
        inc = [os.path.dirname(large)]
        compile_file(large, inc)
        phases: dict[str, list[float]] = {}
        for _ in range(max(3, runs // 2)):
            for k, v in compile_file(large, inc).timings.items():
                phases.setdefault(k, []).append(v)
        parts = ", ".join(f"{k} {statistics.median(v) * 1000:.1f} ms" for k, v in phases.items())
        print(f"phases on switch_p4_16.p4 (5884 lines): {parts}")
    if not p4c:
        print("* p4c-bm2-ss is not installed here: ratio against the 0.25 s yardstick per sample;"
              " ratio > 1 means faster than p4c")


SECTIONS = {"compile": bench_compile}


def main() -> int:
    ap = argparse.ArgumentParser(description="Sluice benchmarks")
    ap.add_argument("sections", nargs="*", default=list(SECTIONS), help=", ".join(SECTIONS))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--testdata", default=os.environ.get("P4C_TESTDATA", "/tmp/p4c/testdata"))
    args = ap.parse_args()
    for name in args.sections:
        if name not in SECTIONS:
            print(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
            return 2
        SECTIONS[name](args.testdata, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
