"""``make demo``: the most complete end-to-end path Sluice has, run and explained.

Today that path is the front end: compile the example IPv4 router with ``sluice compile`` as a
user would, show the P4Info a P4Runtime controller will see, reload the device config the
embedded target will be given, and show what a mistake in a program looks like.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, ROOT)
PROGRAM = os.path.join(ROOT, "p4src", "examples", "l3_router.p4")
OUT = os.path.join(ROOT, "out", "demo")


def step(text: str) -> None:
    print(f"\n== {text}")


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    print("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd))
    return subprocess.run(cmd, capture_output=True, text=True)


def main() -> int:
    from google.protobuf import text_format
    from p4.config.v1 import p4info_pb2

    sluice = os.path.join(os.path.dirname(sys.executable), "sluice")
    p4info_path = os.path.join(OUT, "l3_router.p4info.txtpb")

    step("1. compile the example router with the project's own P4_16 front end")
    res = run([sluice, "compile", PROGRAM, "-o", OUT, "--p4runtime-files", p4info_path, "-v"])
    sys.stdout.write(res.stdout + res.stderr)
    if res.returncode != 0:
        print("demo: compile failed")
        return 1

    step("2. the P4Info a P4Runtime controller sees (names and ids follow p4c's scheme)")
    info = p4info_pb2.P4Info()
    with open(p4info_path) as fh:
        text_format.Parse(fh.read(), info)
    actions = {a.preamble.id: a.preamble.name for a in info.actions}
    for t in info.tables:
        keys = ", ".join(f"{m.name}:{p4info_pb2.MatchField.MatchType.Name(m.match_type).lower()}"
                         f"/{m.bitwidth}" for m in t.match_fields)
        acts = ", ".join(actions[r.id] for r in t.action_refs)
        print(f"table  {t.preamble.name} (id {t.preamble.id:#x}, size {t.size}) key [{keys}]"
              f" actions [{acts}]")
    for a in info.actions:
        params = ", ".join(f"{p.name}/{p.bitwidth}" for p in a.params)
        print(f"action {a.preamble.name} (id {a.preamble.id:#x}) params [{params}]")
    for c in info.direct_counters:
        print(f"direct counter {c.preamble.name} (id {c.preamble.id:#x}) on table "
              f"{c.direct_table_id:#x}")

    step("3. reload the device config the embedded target will be given")
    from softswitch.frontend.compiler import load_device_config

    config = os.path.join(OUT, "l3_router.json")
    with open(config, "rb") as fh:
        data = fh.read()
    program = load_device_config(data)
    print(f"{os.path.relpath(config, ROOT)}: {len(data)} bytes, {len(program.decls)} top-level "
          "declarations, re-checked")

    step("4. a mistake in a program gets file:line:col, the line and a caret")
    with tempfile.TemporaryDirectory() as tmp:
        broken = os.path.join(tmp, "broken_router.p4")
        with open(PROGRAM) as fh:
            text = fh.read()
        with open(broken, "w") as fh:
            fh.write(text.replace("hdr.ipv4.ttl = hdr.ipv4.ttl - 1;",
                                  "hdr.ipv4.ttl = hdr.ethernet.src_addr;"))
        res = run([sluice, "compile", broken, "-o", tmp])
        sys.stdout.write(res.stderr.replace(tmp + "/", ""))
        print(f"(exit status {res.returncode})")

    step("done")
    print("The engine, the P4Runtime server and the Sluice data plane come with the next issues;"
          " this demo grows with them.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
