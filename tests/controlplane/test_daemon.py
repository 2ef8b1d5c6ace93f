"""The controller daemon's management API (routes, errors, HTTP) and its start-up checks."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from controlplane.daemon import (
    DEFAULT_API_ADDR,
    ApiServer,
    ManagementApi,
    default_state_dir,
    parse_api_addr,
    run_controller,
)
from controlplane.p4rt import P4RuntimeError, SwitchUnavailable

FLOW = {
    "switch": "s1",
    "ip_version": 4,
    "protocol": 17,
    "src": "192.0.2.1",
    "dst": "198.51.100.2",
    "sport": 4000,
    "dport": 5001,
    "class": "bulk",
    "port": 2,
    "queue": 3,
    "slot": 1,
    "weight": 1,
    "reason": "class bulk (default class): free queue 3 on port 2",
    "age_s": 1.5,
}


class FakeController:
    """The Controller's API surface, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail: Exception | None = None
        self.grants_: list[dict[str, Any]] = []

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    def status(self) -> dict[str, Any]:
        self._check()
        return {"switches": {"s1": {"address": "127.0.0.1:9559", "connected": True}}, "flows": 1}

    def flows(self) -> list[dict[str, Any]]:
        self._check()
        return [FLOW]

    def queues(self) -> list[dict[str, Any]]:
        self._check()
        return [{"switch": "s1", "port": 2, "queue": 3, "class": "bulk", "flows": 1, "depth": None}]

    def grants(self) -> list[dict[str, Any]]:
        self._check()
        return list(self.grants_)

    def violations(self, limit: int = 100) -> list[dict[str, Any]]:
        self._check()
        self.calls.append(("violations", limit))
        return [{"time": 1.0e9, "client": "2001:db8::9", "subid": 0x2001, "cmd": "READ",
                 "paddr": 4096, "reason": "NO_READ"}][:limit]

    def grant(self, client: str, server: Any, region: Any, perms: Any) -> dict[str, Any]:
        self._check()
        self.calls.append(("grant", client, server, region, perms))
        g = {"client": client, "server": server, "region": region, "perms": perms}
        self.grants_.append(g)
        return g

    def revoke(self, client: str, server: Any, region: Any) -> dict[str, Any]:
        self._check()
        self.calls.append(("revoke", client, server, region))
        return {"client": client, "server": server, "region": region, "revoked": 1}


@pytest.fixture
def fake() -> FakeController:
    return FakeController()


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """run_controller points the "sluice" logger at this test's (captured) stderr: put it back,
    or later tests would log into a closed stream."""
    import logging

    root = logging.getLogger("sluice")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved


def test_api_get_routes(fake: FakeController) -> None:
    api = ManagementApi(fake)
    assert api.handle("GET", "/v1/flows") == (200, {"result": [FLOW]})
    assert api.handle("GET", "/v1/queues/")[1]["result"][0]["queue"] == 3
    assert api.handle("GET", "/v1/status")[1]["result"]["flows"] == 1
    assert api.handle("GET", "/v1/grants") == (200, {"result": []})
    assert api.handle("GET", "/v1/violations?limit=5")[0] == 200
    assert fake.calls[-1] == ("violations", 5)
    status, body = api.handle("GET", "/v1")
    assert status == 200 and "flows" in body["result"]["GET"] and "grant" in body["result"]["POST"]


def test_api_post_changes_and_saves(fake: FakeController) -> None:
    saved = []
    api = ManagementApi(fake, on_change=lambda: saved.append(1))
    body = {"client": "2001:db8::1", "server": 0x2001, "region": [0, 4095], "perms": "rw"}
    status, answer = api.handle("POST", "/v1/grant", json.dumps(body).encode())
    assert status == 200 and answer["result"]["perms"] == "rw"
    assert fake.calls[-1] == ("grant", "2001:db8::1", 0x2001, [0, 4095], "rw")
    status, _ = api.handle("POST", "/v1/revoke", json.dumps(body).encode())
    assert status == 200 and fake.calls[-1][0] == "revoke"
    assert saved == [1, 1]


@pytest.mark.parametrize(
    "method, path, body, status, words",
    [
        ("GET", "/v1/nothing", b"", 404, "no such resource 'nothing'"),
        ("GET", "/flows", b"", 404, "under /v1/"),
        ("POST", "/v1/flows", b"{}", 405, "POST is not allowed"),
        ("GET", "/v1/grant", b"", 405, "GET is not allowed"),
        ("POST", "/v1/grant", b"{not json", 400, "not JSON"),
        ("POST", "/v1/grant", b"[1]", 400, "JSON object"),
        ("POST", "/v1/grant", b'{"client": "2001:db8::1"}', 400, "missing field 'server'"),
        ("GET", "/v1/violations?limit=x", b"", 400, "limit must be a number"),
        ("GET", "/v1/violations?limit=0", b"", 400, "at least 1"),
    ],
)
def test_api_bad_requests(
    fake: FakeController, method: str, path: str, body: bytes, status: int, words: str
) -> None:
    saved = []
    got_status, answer = ManagementApi(fake, on_change=lambda: saved.append(1)).handle(
        method, path, body
    )
    assert got_status == status
    assert words in answer["error"]
    assert not saved


@pytest.mark.parametrize(
    "exc, status, words",
    [
        (ValueError("no memory server 'x'"), 400, "no memory server 'x'"),
        (KeyError("unknown table 'foo'"), 400, "unknown table 'foo'"),
        (SwitchUnavailable("127.0.0.1:9559", "no answer"), 503, "127.0.0.1:9559"),
        (P4RuntimeError(grpc.StatusCode.INVALID_ARGUMENT, "field too wide", operation="Write"), 502, "field too wide"),
        (RuntimeError("boom"), 500, "internal error: RuntimeError: boom"),
    ],
)
def test_api_controller_errors_become_answers(
    fake: FakeController, exc: Exception, status: int, words: str
) -> None:
    fake.fail = exc
    got_status, answer = ManagementApi(fake).handle("GET", "/v1/flows")
    assert got_status == status
    assert words in answer["error"]
    assert "Traceback" not in answer["error"]


def test_parse_api_addr() -> None:
    assert parse_api_addr(DEFAULT_API_ADDR) == ("127.0.0.1", 9191)
    assert parse_api_addr("localhost:0") == ("127.0.0.1", 0)
    assert parse_api_addr("[::1]:9000") == ("::1", 9000)
    for bad, words in [
        ("0.0.0.0:9191", "loopback only"),
        ("192.0.2.1:9191", "loopback only"),
        ("9191", "expected HOST:PORT"),
        ("127.0.0.1:http", "not a number"),
        ("127.0.0.1:70000", "out of range"),
        ("example:1", "not an IP address"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_api_addr(bad)


def test_default_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir("topo/example.toml") == str(tmp_path / "sluice" / "example")


def _http(addr: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_api_server_over_http(fake: FakeController) -> None:
    with ApiServer(ManagementApi(fake), "127.0.0.1:0") as server:
        host, port = server.address.split(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert _http(server.address, "/v1/flows") == (200, {"result": [FLOW]})
        status, answer = _http(
            server.address,
            "/v1/grant",
            {"client": "2001:db8::1", "server": "mem1", "region": [0, 1], "perms": "r"},
        )
        assert status == 200 and answer["result"]["server"] == "mem1"
        assert _http(server.address, "/v1/nope")[0] == 404
        fake.fail = SwitchUnavailable("127.0.0.1:9559", "no answer within 1 s")
        status, answer = _http(server.address, "/v1/status")
        assert status == 503 and "no answer" in answer["error"]


def test_api_server_refuses_other_addresses(fake: FakeController) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        ApiServer(ManagementApi(fake), "0.0.0.0:0")


def _daemon_args(tmp_path: Path, **kw: Any) -> argparse.Namespace:
    args = dict(
        topo=str(tmp_path / "topo.toml"),
        policy=None,
        state_dir=str(tmp_path / "state"),
        api_addr="127.0.0.1:0",
        stats_period=1.0,
        connect_timeout=0.5,
        log_level="info",
    )
    args.update(kw)
    return argparse.Namespace(**args)


def test_daemon_input_errors_are_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_controller(_daemon_args(tmp_path)) == 2
    assert "topo.toml: no such topology file" in capsys.readouterr().err
    (tmp_path / "topo.toml").write_text("[[switches]]\nname = 's1'\n")
    assert run_controller(_daemon_args(tmp_path, api_addr="0.0.0.0:9191")) == 2
    assert "loopback only" in capsys.readouterr().err
    assert run_controller(_daemon_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "topo.toml" in err and "p4runtime" in err and "Traceback" not in err
    (tmp_path / "bad.toml").write_text("switches = [")
    assert run_controller(_daemon_args(tmp_path, topo=str(tmp_path / "bad.toml"))) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_controller_help_is_fast_and_lazy() -> None:
    """``sluice compile`` must not pay for the controller: its modules load only on demand."""
    import subprocess

    code = (
        "import sys; from softswitch import cli; cli.build_parser('compile'); "
        "print(any(m.startswith('controlplane') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_controller_error_is_unavailable(fake: FakeController) -> None:
    from controlplane.controller import ControllerError

    fake.fail = ControllerError("switch s1 at 127.0.0.1:9559 (device 0) is not reachable")
    status, answer = ManagementApi(fake).handle("GET", "/v1/status")
    assert status == 503 and "s1" in answer["error"]


def test_unreachable_switch_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "topo.toml").write_text(
        f'[[switches]]\nname = "s1"\np4runtime = "127.0.0.1:{port}"\nports = [1, 2]\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "softswitch.cli", "controller", "--topo", str(tmp_path / "topo.toml"),
         "--state-dir", str(tmp_path / "state"), "--api-addr", "127.0.0.1:0",
         "--connect-timeout", "0.3"],
        capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 1
    assert f"connecting to s1 (127.0.0.1:{port})..." in proc.stderr
    assert "cannot start" in proc.stderr and "s1" in proc.stderr and "not reachable" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_api_port_in_use_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    (tmp_path / "topo.toml").write_text(
        '[[switches]]\nname = "s1"\np4runtime = "127.0.0.1:9559"\nports = [1, 2]\n'
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        addr = f"127.0.0.1:{busy.getsockname()[1]}"
        assert run_controller(_daemon_args(tmp_path, api_addr=addr)) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on {addr}" in err and "Traceback" not in err
