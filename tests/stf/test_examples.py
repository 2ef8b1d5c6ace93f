"""The project's example programs pass their own STF tests through ``sluice stf``."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitch.cli import main as sluice_main

EXAMPLES = Path(__file__).resolve().parents[2] / "p4src" / "examples"
ROUTER = EXAMPLES / "l3_router.p4"
ROUTER_STF = EXAMPLES / "l3_router.stf"


def test_l3_router_stf_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert sluice_main(["stf", str(ROUTER), str(ROUTER_STF)]) == 0
    assert "PASS" in capsys.readouterr().out


def test_a_wrong_expectation_fails_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the first routed packet is expected with its TTL left at 64 (0x40) instead of 63
    text = ROUTER_STF.read_text()
    good = "45000022000100003f118f8b"
    assert text.count(good) == 1
    wrong = tmp_path / "l3_router_wrong.stf"
    wrong.write_text(text.replace(good, "450000220001000040118f8b"))
    assert sluice_main(["stf", str(ROUTER), str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "port 1:" in out and "expected    0200000001010200000000010800450000220001000040" in out
    assert "received    020000000101020000000001080045000022000100003F" in out
    assert "port 2:" not in out  # only the failing port is shown
