"""Run the front end over p4c's sample and error corpora and count outcomes.

Every program must either compile or get a located error; a Python exception escaping the front
end is a crash. Usage::

    python tools/frontend_corpus.py [--testdata DIR] [--jobs N] [--show-errors]

The testdata directory is p4c's ``testdata`` (from the public p4lang/p4c repository, exported
outside this checkout); it defaults to ``$P4C_TESTDATA`` or ``/tmp/p4c/testdata``.
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _run_one(path: str) -> tuple[str, str, str]:
    """Compile one program; returns (path, outcome, detail) with outcome ok/error/crash."""
    from softswitch.frontend.compiler import compile_file
    from softswitch.frontend.errors import CompileError, CompileErrors

    try:
        compile_file(path, [os.path.dirname(path)], p4info=True)
        return path, "ok", ""
    except CompileErrors as exc:
        first = exc.errors[0]
        return path, "error" if first.loc else "unlocated", first.format().splitlines()[0]
    except CompileError as exc:
        return path, "error" if exc.loc else "unlocated", exc.format().splitlines()[0]
    except RecursionError:
        return path, "crash", "RecursionError"
    except Exception:  # noqa: BLE001 - counting crashes is the point
        return path, "crash", traceback.format_exc().strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testdata", default=os.environ.get("P4C_TESTDATA", "/tmp/p4c/testdata"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--show-errors", action="store_true", help="list samples that did not compile")
    ap.add_argument("--only", choices=["samples", "errors"], default=None)
    args = ap.parse_args()
    if not os.path.isdir(args.testdata):
        print(f"no p4c testdata at {args.testdata}; set P4C_TESTDATA or pass --testdata")
        return 0
    # p4c's testdata holds a few dangling symlinks (to files of other repositories): skip them.
    sets = {
        name: sorted(p for p in glob.glob(os.path.join(args.testdata, sub, "*.p4"))
                     if os.path.exists(p))
        for name, sub in (("samples", "p4_16_samples"), ("errors", "p4_16_errors"))
    }
    crashes = 0
    for name, files in sets.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        with multiprocessing.Pool(args.jobs) as pool:
            results = pool.map(_run_one, files, chunksize=4)
        counts: dict[str, int] = {}
        for _, outcome, _ in results:
            counts[outcome] = counts.get(outcome, 0) + 1
        took = time.perf_counter() - t0
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"{name}: {len(files)} programs in {took:.1f} s: {summary}")
        if name == "errors":
            accepted = [os.path.basename(p) for p, outcome, _ in results if outcome == "ok"]
            print(f"  accepted though p4c rejects them: {len(accepted)}"
                  + (f" ({', '.join(accepted)})" if args.show_errors else ""))
        for path, outcome, detail in results:
            if outcome in ("crash", "unlocated") or (args.show_errors and outcome != "ok"
                                                     and name == "samples"):
                print(f"  {outcome}: {os.path.basename(path)}: {detail}")
        crashes += counts.get("crash", 0) + counts.get("unlocated", 0)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
