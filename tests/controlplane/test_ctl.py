"""``sluice ctl`` against a management API serving a fake controller: tables, JSON, input
checks, unreachable daemons and ``watch``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from controlplane.cli import (
    InputError,
    format_table,
    parse_client,
    parse_perms,
    parse_region,
    parse_server,
)
from controlplane.daemon import ApiServer, ManagementApi
from softswitch.cli import main as sluice

from .test_daemon import FLOW, FakeController


@pytest.fixture
def fake() -> FakeController:
    return FakeController()


@pytest.fixture
def api(fake: FakeController) -> Iterator[str]:
    with ApiServer(ManagementApi(fake), "127.0.0.1:0") as server:
        yield server.address


def ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = sluice(["ctl", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_flows_table_shows_class_queue_and_reason(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = ctl(capsys, "--api-addr", api, "flows")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split()[:5] == ["SWITCH", "FLOW", "PORT", "QUEUE", "CLASS"]
    assert header.split()[-1] == "REASON"
    assert "udp 192.0.2.1:4000 > 198.51.100.2:5001" in row
    assert "bulk" in row and row.endswith("free queue 3 on port 2")


def test_json_output_is_the_api_result(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    # --json and --api-addr are accepted before or after the command's name
    for argv in (("--json", "--api-addr", api, "flows"), ("flows", "--api-addr", api, "--json")):
        rc, out, _ = ctl(capsys, *argv)
        assert rc == 0
        assert json.loads(out) == [FLOW]


def test_status_queues_grants_violations(
    api: str, fake: FakeController, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = ctl(capsys, "--api-addr", api, "status")
    assert rc == 0 and "switches:" in out and "127.0.0.1:9559" in out and "flows:" in out
    rc, out, _ = ctl(capsys, "--api-addr", api, "queues")
    assert rc == 0 and out.splitlines()[0].split()[:4] == ["SWITCH", "PORT", "QUEUE", "CLASS"]
    rc, out, _ = ctl(capsys, "--api-addr", api, "grants")
    assert rc == 0 and out.strip() == "(none)"
    rc, out, _ = ctl(capsys, "--api-addr", api, "violations", "--limit", "3", "--json")
    assert rc == 0 and json.loads(out)[0]["reason"] == "NO_READ"
    assert fake.calls[-1] == ("violations", 3)
    rc, out, _ = ctl(capsys, "--api-addr", api, "violations")
    assert rc == 0 and "0x2001" in out and "0x1000" in out and "NO_READ" in out


def test_grant_and_revoke_send_parsed_values(
    api: str, fake: FakeController, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = ctl(capsys, "--api-addr", api, "grant", "2001:db8:c::1", "0x2001",
                       "0x1000+4096", "wr")
    assert rc == 0, err
    assert fake.calls[-1] == ("grant", "2001:db8:c::1", 0x2001, [0x1000, 0x1FFF], "rw")
    assert "2001:db8:c::1" in out
    rc, out, err = ctl(capsys, "--api-addr", api, "revoke", "2001:db8:c::1", "mem1", "0-4095")
    assert rc == 0, err
    assert fake.calls[-1] == ("revoke", "2001:db8:c::1", "mem1", [0, 4095])


@pytest.mark.parametrize(
    "argv, words",
    [
        (("grant", "2001:db8::zz", "1", "0-1", "r"), "malformed client address"),
        (("grant", "192.0.2.1", "1", "0-1", "r"), "malformed client address"),
        (("grant", "2001:db8::/48", "1", "0-1", "r"), "not a prefix"),
        (("grant", "2001:db8::1", "0x10000", "0-1", "r"), "does not fit in 16 bits"),
        (("grant", "2001:db8::1", "1", "0x10-0x1", "r"), "ends before it starts"),
        (("grant", "2001:db8::1", "1", "4096", "r"), "LO-HI"),
        (("grant", "2001:db8::1", "1", "0-0x10000000000000000", "r"), "64 bits"),
        (("grant", "2001:db8::1", "1", "0-1", "rx"), "malformed permissions"),
        (("revoke", "2001:db8::1", "-3", "0-1"), "does not fit in 16 bits"),
        (("revoke", "2001:db8::1", "3x", "0-1"), "malformed server"),
    ],
)
def test_bad_input_is_a_message_and_exit_2(
    api: str, fake: FakeController, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
    words: str,
) -> None:
    rc, out, err = ctl(capsys, "--api-addr", api, *argv)
    assert rc == 2
    assert words in err and err.startswith("sluice ctl ")
    assert "Traceback" not in err and not out
    assert not fake.calls


def test_controller_refusal_is_a_message(
    api: str, fake: FakeController, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail = ValueError("no memory server 'mem9' (known: mem1 (subid 0x2001))")
    rc, _, err = ctl(capsys, "--api-addr", api, "grant", "2001:db8::1", "mem9", "0-1", "r")
    assert rc == 2 and "no memory server 'mem9'" in err
    from controlplane.p4rt import SwitchUnavailable

    fake.fail = SwitchUnavailable("127.0.0.1:9559", "no answer within 5 s")
    rc, _, err = ctl(capsys, "--api-addr", api, "flows")
    assert rc == 1 and "127.0.0.1:9559" in err and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_or_malformed_api(capsys: pytest.CaptureFixture[str]) -> None:
    addr = f"127.0.0.1:{_free_port()}"
    rc, _, err = ctl(capsys, "--api-addr", addr, "status")
    assert rc == 1
    assert f"cannot reach the controller at {addr}" in err and "Traceback" not in err
    rc, _, err = ctl(capsys, "--api-addr", "nowhere", "status")
    assert rc == 2 and "malformed API address" in err


def test_api_addr_from_environment(
    api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLUICE_API_ADDR", api)
    rc, out, _ = ctl(capsys, "flows", "--json")
    assert rc == 0 and json.loads(out) == [FLOW]


def test_watch_redraws_count_times(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = ctl(capsys, "--api-addr", api, "watch", "--count", "3", "--interval", "0.01")
    assert rc == 0
    assert out.count("sluice ctl watch") == 3
    assert out.count("queues (1 of 1 carry flows)") == 3 and out.count("flows (1)") == 3
    rc, out, _ = ctl(capsys, "--api-addr", api, "watch", "--count", "2", "--interval", "0",
                     "--json")
    frames = [json.loads(line) for line in out.splitlines()]
    assert len(frames) == 2 and frames[0]["flows"] == [FLOW]


def test_watch_unreachable_fails_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = ctl(capsys, "--api-addr", f"127.0.0.1:{_free_port()}", "watch", "--count", "5")
    assert rc == 1 and "cannot reach the controller" in err


def test_parsers() -> None:
    assert parse_client("2001:DB8::1") == "2001:db8::1"
    with pytest.raises(InputError, match="not a prefix"):
        parse_client("2001:db8:c::/48")
    assert parse_server("8193") == 0x2001 and parse_server("mem1") == "mem1"
    assert parse_region("0x1000-0x1fff") == [0x1000, 0x1FFF]
    assert parse_region("0+1") == [0, 0]
    with pytest.raises(InputError, match="empty"):
        parse_region("5+0")
    assert parse_perms("OWR") == "owner" and parse_perms("owner") == "owner"
    assert parse_perms("wr") == "rw" and parse_perms("r") == "r"


def test_format_table() -> None:
    rows = [{"b": 1, "a": "x", "c": None}, {"a": "longer", "b": 22, "d": [1, 2]}]
    lines = format_table(rows, ("a", "zz", "b")).splitlines()
    assert lines[0].split() == ["A", "B", "C", "D"]
    assert lines[1].split() == ["x", "1", "-", "-"]
    assert lines[2].split() == ["longer", "22", "-", "1,2"]
    assert lines[1].index("1") == lines[2].index("22") + 1  # numbers right-aligned
    assert format_table([]) == "(none)"
