"""``sluice switch`` as a process and ``sluice switch-cli`` against a running runtime."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.admin import AdminClient, AdminServer
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime
from softswitch.switch_cli import main as switch_main
from tests.p4runtime.test_server import MAC_A, MAC_B, PROGRAM, compiled, eth, wait_for

REPO = Path(__file__).resolve().parents[1]


def _sluice_switch() -> list[str]:
    """How to run ``sluice switch``: through ``sluice`` once the lead has wired it in, else
    through the module itself."""
    from softswitch import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    if "switch" in sub.choices:  # type: ignore[attr-defined]
        return [sys.executable, "-m", "softswitch.cli", "switch"]
    return [sys.executable, "-m", "softswitch.switch_cli", "switch"]


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], list[str], float]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.monotonic()
    p = subprocess.Popen(
        _sluice_switch() + args,
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    assert p.stderr is not None
    for line in p.stderr:
        lines.append(line)
        if "ready" in line or "ERROR" in line:
            break
    return p, lines, time.monotonic() - t0


def _stop(p: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    p.send_signal(sig)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    assert p.stderr is not None
    return rc, p.stderr.read()


def test_switch_no_p4_starts_fast_and_stops_on_sigterm(tmp_path: Path) -> None:
    p, lines, elapsed = _start(
        [
            "--no-p4",
            "--grpc-server-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--",
            "--cpu-port",
            "255",
        ],
        tmp_path,
    )
    try:
        text = "".join(lines)
        assert "ready" in text, text
        ms = int(re.search(r"ready in (\d+) ms", text).group(1))  # type: ignore[union-attr]
        assert ms < 1000
        assert elapsed < 10  # interpreter start included; generous for loaded machines
        assert "P4Runtime server listening on 127.0.0.1:" in text
    finally:
        rc, rest = _stop(p)
    assert rc == 0, rest
    assert "stopping" in rest


def test_switch_with_program_and_sigint(tmp_path: Path) -> None:
    prog = tmp_path / "prog.p4"
    prog.write_text(PROGRAM)
    p, lines, _ = _start(
        [str(prog), "--grpc-server-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"], tmp_path
    )
    try:
        text = "".join(lines)
        assert "pipeline set: 1 tables" in text, text
        port = int(
            re.search(r"admin interface listening on [\d.]+:(\d+)", text).group(1)  # type: ignore
        )
        with AdminClient(f"127.0.0.1:{port}") as c:
            resp = c.call("show_tables")
        assert resp["ok"] and resp["result"][0]["name"] == "I.dmac"
    finally:
        rc, rest = _stop(p, signal.SIGINT)
    assert rc == 0, rest


def test_switch_reports_bad_arguments(tmp_path: Path) -> None:
    r = subprocess.run(
        _sluice_switch() + ["--grpc-server-addr", "127.0.0.1:0"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1 and "--no-p4" in r.stderr
    bad = tmp_path / "bad.p4"
    bad.write_text("control oops(")
    r = subprocess.run(
        _sluice_switch()
        + [str(bad), "--admin-addr", "127.0.0.1:0", "--grpc-server-addr", "127.0.0.1:0"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1 and "bad.p4" in r.stderr


# -- switch-cli ---------------------------------------------------------------------------------


class Running:
    def __init__(self) -> None:
        self.ports = PortSet()
        self.p1 = self.ports.add(InProcessPort(1))
        self.p2 = self.ports.add(InProcessPort(2))
        self.rt = SwitchRuntime(self.ports, cpu_port=255)
        r = compiled()
        self.rt.commit(self.rt.build_pipeline(r.p4info, r.device_config_bytes(), program=r))
        self.admin = AdminServer(self.rt, "127.0.0.1:0")
        self.admin.start()
        self.rt.start()
        self.addr = f"127.0.0.1:{self.admin.port}"

    def close(self) -> None:
        self.admin.stop()
        self.rt.stop()


@pytest.fixture
def running() -> Iterator[Running]:
    r = Running()
    yield r
    r.close()


def cli(
    running: Running, capsys: Any, *words: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
    try:
        rc = switch_main(["switch-cli", "--admin-addr", running.addr, *words])
    finally:
        if stdin is not None:
            sys.stdin = old
    out, err = capsys.readouterr()
    return rc, out, err


def test_registers_counters_tables(running: Running, capsys: Any) -> None:
    with running.rt.control() as pl:
        pl.switch.add_entry("I.dmac", [MAC_B], "I.forward", [2])  # type: ignore[union-attr]
    running.p1.inject(eth(MAC_B, MAC_A))
    wait_for(lambda: running.p2.sent)
    assert cli(running, capsys, "register_read", "I.reg", "0")[1] == "I.reg[0]= 7\n"
    assert cli(running, capsys, "register_write", "reg", "3", "0x10")[0] == 0  # short name
    assert cli(running, capsys, "register_read", "reg", "3")[1] == "I.reg[3]= 16\n"
    rc, out, _ = cli(running, capsys, "counter_read", "I.ctr", "1")
    assert rc == 0 and "packets=1" in out
    assert cli(running, capsys, "table_num_entries", "I.dmac")[1] == "1\n"
    rc, out, _ = cli(running, capsys, "table_dump", "I.dmac")
    assert rc == 0 and "I.forward - 0x2" in out and "0x2000000000b" in out
    rc, out, _ = cli(running, capsys, "show_ports")
    assert rc == 0 and re.search(r"^1\s+1\s+1\s+0$", out, re.M) and "CPU" in out


def test_queues_and_tm_stats(running: Running, capsys: Any) -> None:
    with running.rt.control() as pl:
        pl.switch.add_entry("I.dmac", [MAC_B], "I.forward", [2])  # type: ignore[union-attr]
    assert cli(running, capsys, "set_queue_depth", "1", "2")[0] == 0
    assert cli(running, capsys, "set_queue_rate", "1", "2", "0")[0] == 0
    for _ in range(4):
        running.p1.inject(eth(MAC_B, MAC_A))
    wait_for(lambda: running.p2.sent)
    time.sleep(0.05)
    rc, out, _ = cli(running, capsys, "tm_stats", "2")
    assert rc == 0
    resp = AdminClient(running.addr).call("tm_stats", "2")
    row = resp["result"][0]
    assert row["port"] == 2 and row["dropped"] >= 1
    assert cli(running, capsys, "queue_pause", "2", "0")[0] == 0
    assert AdminClient(running.addr).call("tm_stats", "2")["result"][0]["paused"] is True
    assert cli(running, capsys, "queue_resume", "2", "0")[0] == 0
    assert cli(running, capsys, "set_port_rate", "1000000", "2")[0] == 0
    rc, _, err = cli(running, capsys, "set_queue_depth", "10", "2", "3")
    assert rc == 1 and "priority 3 out of range" in err
    # queue settings outlive a pipeline change
    r = compiled()
    running.rt.commit(running.rt.build_pipeline(r.p4info, r.device_config_bytes(), program=r))
    assert ("set_queue_depth", (2, 1, None)) in running.rt._tm_log


def test_mirroring_and_multicast(running: Running, capsys: Any) -> None:
    assert cli(running, capsys, "mirroring_add", "5", "2")[0] == 0
    assert cli(running, capsys, "mirroring_get", "5")[1] == "MirroringSessionConfig(port=2)\n"
    assert cli(running, capsys, "mirroring_add_mc", "6", "1")[0] == 0
    assert "mgid=1" in cli(running, capsys, "mirroring_get", "6")[1]
    assert cli(running, capsys, "mirroring_delete", "5")[0] == 0
    rc, _, err = cli(running, capsys, "mirroring_get", "5")
    assert rc == 1 and "does not exist" in err
    assert cli(running, capsys, "mc_mgrp_create", "1")[0] == 0
    rc, out, _ = cli(running, capsys, "mc_node_create", "7", "1", "2")
    assert rc == 0 and "handle 0" in out
    assert cli(running, capsys, "mc_node_associate", "1", "0")[0] == 0
    rc, out, _ = cli(running, capsys, "mc_dump")
    assert "mgrp(1) -> (rid 7: ports [1, 2])" in out
    assert running.rt.switch.pre.replicate(1) == [(1, 7), (2, 7)]


def test_stdin_commands_and_errors(running: Running, capsys: Any) -> None:
    rc, out, err = cli(
        running,
        capsys,
        stdin="# a comment\nregister_read I.reg 0\n"
        "no_such_command\nregister_read I.nope 0\nregister_read I.reg x\n",
    )
    assert rc == 1
    assert "I.reg[0]=" in out
    assert "unknown command 'no_such_command'" in err
    assert "no register named 'I.nope'" in err
    assert "index must be an integer" in err
    rc, out, _ = cli(running, capsys, "help")
    assert rc == 0 and "set_queue_depth <nb_pkts>" in out
    rc, _, err = cli(running, capsys, "register_write", "I.reg", "1")
    assert rc == 1 and "usage: register_write" in err


def test_switch_cli_without_a_switch(capsys: Any) -> None:
    rc = switch_main(["switch-cli", "--admin-addr", "127.0.0.1:1", "show_ports"])
    assert rc == 1
    assert "is 'sluice switch' running?" in capsys.readouterr().err


def test_table_writes(running: Running, capsys: Any) -> None:
    rc, out, err = cli(
        running, capsys, "table_add", "I.dmac", "forward", "02:00:00:00:00:0b", "=>", "2"
    )
    assert rc == 0, err
    handle = int(out.split()[-1])
    running.p1.inject(eth(MAC_B, MAC_A))
    wait_for(lambda: running.p2.sent)
    rc, out, _ = cli(running, capsys, "table_dump", "dmac")
    assert f"Dumping entry {handle:#x}" in out and "I.forward - 0x2" in out
    assert cli(running, capsys, "table_modify", "I.dmac", "I.forward", str(handle), "1")[0] == 0
    assert "I.forward - 0x1" in cli(running, capsys, "table_dump", "I.dmac")[1]
    rc, _, err = cli(
        running, capsys, "table_add", "I.dmac", "forward", "02:00:00:00:00:0b", "=>", "2"
    )
    assert rc == 1 and "already exists" in err
    rc, _, err = cli(running, capsys, "table_add", "I.dmac", "forward", "1", "=>")
    assert rc == 1 and "takes 1 parameter(s) (port), got 0" in err
    rc, _, err = cli(running, capsys, "table_add", "I.dmac", "forward", "1", "=>", "0x400")
    assert rc == 1 and "does not fit in 9 bits" in err
    rc, _, err = cli(running, capsys, "table_add", "I.dmac", "nosuch", "1")
    assert rc == 1 and "no action of table I.dmac named 'nosuch'" in err
    assert cli(running, capsys, "table_delete", "I.dmac", str(handle))[0] == 0
    assert cli(running, capsys, "table_num_entries", "I.dmac")[1] == "0\n"
    assert cli(running, capsys, "table_set_default", "I.dmac", "I.forward", "2")[0] == 0
    running.p2.take_sent()
    running.p1.inject(eth(MAC_A, MAC_B))
    wait_for(lambda: running.p2.sent)
    assert cli(running, capsys, "table_clear", "I.dmac")[0] == 0


def test_drop_port_reaches_the_engine() -> None:
    r = compiled()
    for kw, expected in (({"drop_port": 7}, 7), ({}, 511)):
        rt = SwitchRuntime(PortSet(), **kw)
        pipeline = rt.build_pipeline(r.p4info, r.device_config_bytes(), program=r)
        assert pipeline.switch.pipeline.drop_port == expected


@pytest.mark.parametrize(("argv", "expected"), [([], None), (["--drop-port", "7"], 7)])
def test_sluice_switch_passes_drop_port_on(
    monkeypatch: Any, argv: list[str], expected: int | None
) -> None:
    import softswitch.runtime

    seen: dict[str, Any] = {}

    def fake_runtime(ports: Any, **kw: Any) -> Any:
        seen.update(kw)
        raise ValueError("stop here")

    monkeypatch.setattr(softswitch.runtime, "SwitchRuntime", fake_runtime)
    assert switch_main(["switch", "--no-p4", *argv]) == 1
    assert seen["drop_port"] == expected  # None: SwitchRuntime takes the engine's default


def test_sluice_profile_env_dumps_the_dataplane_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pstats

    out = tmp_path / "dp.prof"
    monkeypatch.setenv("SLUICE_PROFILE", str(out))
    rt = SwitchRuntime(PortSet())
    rt.start()
    rt.stop()
    assert any("_dataplane_loop" in fn for _, _, fn in pstats.Stats(str(out)).stats)
