"""``make ptf``: the L3 router and Sluice PTF suites over veth in a namespace (root), and
the PTF base class.

The end-to-end test runs ``tools/ptf_run.py`` exactly as ``make ptf`` does; it needs root and
iproute2 (CI runs as root) and is skipped with the reason otherwise. The base class's bookkeeping
test needs neither.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from softswitch.frontend.compiler import compile_file

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "tools" / "ptf_run.py"
ROUTER = REPO / "p4src" / "examples" / "l3_router.p4"


def _cannot_run_ptf() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespace, veth pairs, raw sockets); CI runs as root"
    if shutil.which("ip") is None:
        return "iproute2's 'ip' is not installed"
    if not (Path(sys.executable).parent / "ptf").exists() and shutil.which("ptf") is None:
        return "ptf is not installed"
    return None


@pytest.mark.skipif(_cannot_run_ptf() is not None, reason=_cannot_run_ptf() or "")
def test_l3_router_suite_passes_on_softswitch() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--target", "softswitch", "--suite", "l3_router"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    summary = [line for line in out.splitlines() if line.startswith("[ptf_run] PASSED")]
    assert summary and " 0 failures, 0 errors" in summary[0], out
    assert "Ran 8 tests" in out, out
    name = next(x.split()[-1] for x in out.splitlines() if x.startswith("[ptf_run] namespace "))
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    assert name not in left, f"the run left its namespace {name} behind"


@pytest.mark.skipif(_cannot_run_ptf() is not None, reason=_cannot_run_ptf() or "")
def test_sluice_suite_passes_on_softswitch() -> None:
    """``make ptf PTF_SUITE=sluice``: forwarding, packet I/O, admission, backpressure (with the
    queue_pause group, which the embedded target supports), doorbells, memory guard."""
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--target", "softswitch", "--suite", "sluice"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    summary = [line for line in out.splitlines() if line.startswith("[ptf_run] PASSED")]
    assert summary and " 0 failures, 0 errors" in summary[0], out
    assert "Ran 21 tests" in out and "skipped" not in out, out


@pytest.mark.skipif(_cannot_run_ptf() is not None, reason=_cannot_run_ptf() or "")
def test_bmv2_orchestration_with_stand_in_tools(tmp_path: Path) -> None:
    """TARGET=bmv2's command lines, checked without BMv2: stand-ins named ``p4c-bm2-ss`` and
    ``simple_switch_grpc`` run ``sluice compile`` and ``sluice switch``, which take the same
    flags. This tests the orchestration (flags, paths, the namespace), not BMv2 itself."""
    for name, command in (("p4c-bm2-ss", "compile"), ("simple_switch_grpc", "switch")):
        shim = tmp_path / name
        shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m softswitch.cli {command} "$@"\n')
        shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ.get('PATH', '')}", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--target", "bmv2", "--", "router_test.ModifyRoute"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "compile (p4c-bm2-ss): ok" in out and "Ran 1 test" in out, out


@pytest.mark.skipif(
    bool(shutil.which("p4c-bm2-ss") and shutil.which("simple_switch_grpc")),
    reason="BMv2 is installed: the missing-tools message does not apply",
)
def test_bmv2_target_says_what_is_missing() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--target", "bmv2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    missing = [t for t in ("p4c-bm2-ss", "simple_switch_grpc") if not shutil.which(t)]
    line = next(x for x in proc.stdout.splitlines() if "missing:" in x)
    assert all(t in line for t in missing)
    assert "PASSED" not in proc.stdout


# -- the base class's bookkeeping (no root) -------------------------------------------------
# Names and values to messages are controlplane.p4rt's, tested in tests/controlplane.


@pytest.mark.filterwarnings("ignore:scapy.contrib.igmp is deprecated")
def test_base_test_undoes_what_a_test_wrote() -> None:
    """``P4RuntimeTest``'s bookkeeping against an in-process switch (no PTF, no root): a test
    that inserts, modifies and deletes, including an entry it did not make and a counter,
    leaves the switch as it found it."""
    from controlplane.p4rt import (
        CounterData,
        DirectCounterEntry,
        P4Schema,
        SwitchConnection,
        TableEntry,
        Update,
        UpdateType,
    )
    from ptf_tests.base_test import P4RuntimeTest
    from softswitch.p4runtime.server import P4RuntimeServer
    from softswitch.ports import PortSet
    from softswitch.runtime import SwitchRuntime

    result = compile_file(str(ROUTER))
    rt = SwitchRuntime(PortSet(), cpu_port=255)
    server = P4RuntimeServer(rt, "127.0.0.1:0")
    server.start()
    rt.start()
    schema = P4Schema(result.p4info)
    client = SwitchConnection(
        f"127.0.0.1:{server.port}", schema=schema, replay=False, reconnect=False
    )
    try:
        client.connect()
        client.set_pipeline(schema, result.device_config_bytes())
        t = P4RuntimeTest.__new__(P4RuntimeTest)
        t.client, t.schema, t._undo = client, schema, {}
        table, hop = "RouterIngress.ipv4_route", "RouterIngress.set_next_hop"

        def params(port: int) -> dict[str, object]:
            return {"port": port, "dst_mac": "02:00:00:00:01:01", "src_mac": "02:00:00:00:00:01"}

        def snapshot() -> list[TableEntry]:
            return sorted(t.read_table_entries(counters=True), key=repr)

        # an entry that was there before the test (written around the bookkeeping)
        pre = TableEntry(table, {"ipv4_dst": "192.0.2.0/24"}, hop, params(1))
        client.insert(pre)
        before = snapshot()

        t.insert_table_entry(table, {"ipv4_dst": "198.51.100.0/24"}, hop, params(2))
        t.modify_table_entry(table, {"ipv4_dst": "192.0.2.0/24"}, hop, params(2))
        t.write(Update(UpdateType.MODIFY, DirectCounterEntry(pre, CounterData(42, 0))))
        assert t.read_direct_counter(pre) == (42, 0)
        t.delete_table_entry(pre)
        t.insert_table_entry(table, {"ipv4_dst": "192.0.2.0/24"}, hop, params(3))
        with pytest.raises(Exception, match="ALREADY_EXISTS"):  # failed: nothing to undo
            t.insert_table_entry(table, {"ipv4_dst": "192.0.2.0/24"}, hop, params(3))
        assert snapshot() != before

        t.undo_writes()
        assert snapshot() == before
        assert t._undo == {}
    finally:
        client.close()
        server.stop(grace=0.2)
        rt.stop()
