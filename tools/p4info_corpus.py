#!/usr/bin/env python3
"""Compare our P4Info with p4c's reference P4Info for p4c's v1model sample programs.

For every program in ``<testdata>/p4_16_samples`` that includes ``v1model.p4`` and has a reference
``<testdata>/p4_16_samples_outputs/<name>.p4info.txtpb``, compile it with Sluice's front end,
build the P4Info and compare it with the reference message. Prints the match rate and, per
differing program, a one-line reason (the first differing field path, or the error).

    python tools/p4info_corpus.py [--testdata DIR] [-k SUBSTRING] [-v] [-j N] [--fail-under PCT]

The testdata directory comes from ``--testdata``, else ``$P4C_TESTDATA``, else /tmp/p4c/testdata.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_TESTDATA = "/tmp/p4c/testdata"


def find_programs(testdata: str) -> list[tuple[str, str]]:
    """``(program path, reference path)`` for each v1model sample with a reference P4Info."""
    samples = os.path.join(testdata, "p4_16_samples")
    outputs = os.path.join(testdata, "p4_16_samples_outputs")
    out = []
    for name in sorted(os.listdir(samples)):
        if not name.endswith(".p4"):
            continue
        path = os.path.join(samples, name)
        ref = os.path.join(outputs, name + ".p4info.txtpb")
        if not os.path.isfile(ref):
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if not re.search(r"#\s*include\s*[<\"]v1model\.p4[>\"]", text):
            continue
        out.append((path, ref))
    return out


def first_difference(a, b, path: str = "") -> str | None:
    """The path of the first field where messages ``a`` (ours) and ``b`` (reference) differ."""
    from google.protobuf.descriptor import FieldDescriptor

    desc = a.DESCRIPTOR
    for f in desc.fields:
        name = f.name
        p = f"{path}.{name}" if path else name
        va = getattr(a, name)
        vb = getattr(b, name)
        if f.label == FieldDescriptor.LABEL_REPEATED:
            is_map = (
                f.message_type is not None and f.message_type.GetOptions().map_entry
            )
            if is_map:
                ka, kb = set(va.keys()), set(vb.keys())
                if ka != kb:
                    extra = sorted(ka - kb)
                    missing = sorted(kb - ka)
                    return f"{p} keys: extra {extra} missing {missing}"
                for k in sorted(ka):
                    x, y = va[k], vb[k]
                    if hasattr(x, "DESCRIPTOR"):
                        d = first_difference(x, y, f"{p}[{k!r}]")
                        if d:
                            return d
                    elif x != y:
                        return f"{p}[{k!r}]: {x!r} != {y!r}"
                continue
            if len(va) != len(vb):
                names_a = _names(va)
                names_b = _names(vb)
                return f"{p}: {len(va)} entries != {len(vb)} ({names_a} vs {names_b})"
            for i, (x, y) in enumerate(zip(va, vb)):
                if f.type == FieldDescriptor.TYPE_MESSAGE:
                    d = first_difference(x, y, f"{p}[{i}]")
                    if d:
                        return d
                elif x != y:
                    return f"{p}[{i}]: {x!r} != {y!r}"
            continue
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            ha, hb = a.HasField(name), b.HasField(name)
            if ha != hb:
                return f"{p}: {'present' if ha else 'absent'} != {'present' if hb else 'absent'}"
            if ha:
                d = first_difference(va, vb, p)
                if d:
                    return d
            continue
        if va != vb:
            return f"{p}: {va!r} != {vb!r}"
    return None


def _names(items) -> str:
    out = []
    for x in items:
        pre = getattr(x, "preamble", None)
        if pre is not None:
            out.append(pre.name)
        elif hasattr(x, "name"):
            out.append(x.name)
        elif hasattr(x, "id"):
            out.append(str(x.id))
    s = ",".join(out)
    return s if len(s) < 200 else s[:200] + "..."


def run_one(item: tuple[str, str]) -> tuple[str, str, str | None, float, float]:
    """Compile one program and compare; returns (name, status, reason, compile s, p4info s)."""
    path, ref = item
    name = os.path.basename(path)
    from google.protobuf import text_format
    from p4.config.v1 import p4info_pb2

    from softswitch.frontend.compiler import compile_file
    from softswitch.frontend.errors import CompileError, CompileErrors
    from softswitch.frontend.p4info import build_p4info

    t0 = time.perf_counter()
    try:
        res = compile_file(path, [os.path.dirname(path)], {}, p4info=False)
    except (CompileError, CompileErrors) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return name, "compile-error", msg, time.perf_counter() - t0, 0.0
    except RecursionError:
        return name, "crash", "RecursionError in front end", time.perf_counter() - t0, 0.0
    except Exception as exc:  # noqa: BLE001 - report and continue with the next program
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(tb.filename)}:{tb.lineno}"
        msg = f"{type(exc).__name__}: {exc} [{where}]"
        return name, "crash", msg[:300], time.perf_counter() - t0, 0.0
    t1 = time.perf_counter()
    try:
        ours = build_p4info(res.program)
    except (CompileError, CompileErrors) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return name, "p4info-error", msg, t1 - t0, time.perf_counter() - t1
    except Exception as exc:  # noqa: BLE001
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(tb.filename)}:{tb.lineno}"
        msg = f"{type(exc).__name__}: {exc} [{where}]"
        return name, "p4info-crash", msg[:300], t1 - t0, time.perf_counter() - t1
    t2 = time.perf_counter()
    expected = p4info_pb2.P4Info()
    with open(ref, encoding="utf-8") as fh:
        text_format.Parse(fh.read(), expected)
    if ours == expected:
        return name, "equal", None, t1 - t0, t2 - t1
    diff = first_difference(ours, expected) or "messages differ"
    return name, "differ", diff, t1 - t0, t2 - t1


def _classify(status: str, reason: str | None) -> str:
    """A coarse class for a difference, for the summary."""
    if reason is None:
        return status
    if status != "differ":
        r = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
        r = re.sub(r"\d+", "N", r)
        return f"{status}: {r[:90]}"
    field = reason.split(":")[0]
    field = re.sub(r"\[\d+\]", "[]", field)
    field = re.sub(r"\['[^']*'\]", "[k]", field)
    return f"differ: {field}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testdata", default=os.environ.get("P4C_TESTDATA", DEFAULT_TESTDATA),
                    help="p4c testdata directory (default: $P4C_TESTDATA or %(default)s)")
    ap.add_argument("-k", dest="filter", default=None, help="only programs whose name contains")
    ap.add_argument("-v", "--verbose", action="store_true", help="also list equal programs")
    ap.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: CPUs)")
    ap.add_argument("--fail-under", type=float, default=None, metavar="PCT",
                    help="exit with status 1 when the match rate is below PCT percent")
    args = ap.parse_args(argv)

    samples = os.path.join(args.testdata, "p4_16_samples")
    if not os.path.isdir(samples) or not os.path.isdir(
        os.path.join(args.testdata, "p4_16_samples_outputs")
    ):
        print(f"p4c testdata not found at {args.testdata} (set --testdata or P4C_TESTDATA); "
              "nothing to compare")
        return 0
    items = find_programs(args.testdata)
    if args.filter:
        items = [it for it in items if args.filter in os.path.basename(it[0])]
    if not items:
        print("no v1model programs with reference P4Info found")
        return 0

    t0 = time.perf_counter()
    jobs = args.jobs or min(os.cpu_count() or 1, 8)
    if jobs > 1 and len(items) > 1:
        with multiprocessing.Pool(jobs) as pool:
            results = pool.map(run_one, items, chunksize=4)
    else:
        results = [run_one(it) for it in items]
    wall = time.perf_counter() - t0

    equal = 0
    classes: collections.Counter[str] = collections.Counter()
    for name, status, reason, _tc, _tp in results:
        if status == "equal":
            equal += 1
            if args.verbose:
                print(f"EQUAL  {name}")
            continue
        classes[_classify(status, reason)] += 1
        print(f"{status.upper():13s} {name}: {reason}")
    total = len(results)
    compile_s = sum(r[3] for r in results)
    p4info_s = sum(r[4] for r in results)
    if classes:
        print("\ndifference classes:")
        for cls, n in classes.most_common():
            print(f"  {n:4d}  {cls}")
    print(
        f"\nP4Info equal: {equal}/{total} ({100.0 * equal / total:.1f}%)  "
        f"wall {wall:.1f}s, compile {compile_s:.1f}s, p4info {p4info_s:.1f}s (CPU, {jobs} jobs)"
    )
    if args.fail_under is not None and 100.0 * equal / total < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
