"""The STF runner: p4c's pass rule, name resolution, key conversion, CLI commands, diffs.

The switch here is a stand-in with the engine's public surface (tables, pre, registers,
inject/run_until_idle/outputs) and a fixed pipeline written in Python, so these tests pin the
runner's semantics independently of the code generator.
"""

from __future__ import annotations

import argparse

import pytest

from softswitch.engine.pre import PacketReplicationEngine
from softswitch.engine.stateful import RegisterArray
from softswitch.engine.tables import (
    ActionCall,
    Exact,
    KeySpec,
    Lpm,
    MatchTable,
    Optional,
    Range,
    Ternary,
)
from softswitch.stf import cli as stf_cli
from softswitch.stf import parser as stf
from softswitch.stf.runner import (
    ActionSchema,
    CannotRun,
    ProgramSchema,
    StfResult,
    StfRunner,
    TableSchema,
    match_for,
    resolve_action,
    resolve_key_field,
    resolve_table,
)

# The program: ingress.fwd matches the first byte (exact), the header's validity and the
# second/third bytes (ternary); ``send(port)`` forwards, ``drop()`` drops, ``mcast(grp)``
# replicates through the PRE. egress.acl is an lpm table the tests only fill.
SCHEMA = ProgramSchema(
    tables={
        "ingress.fwd": TableSchema(
            "ingress.fwd",
            (
                KeySpec("hdr.h.a", "exact", 8),
                KeySpec("hdr.h.$valid$", "exact", 1),
                KeySpec("hdr.h.b", "ternary", 16),
            ),
            ("ingress.send", "ingress.drop", "ingress.mcast", "NoAction"),
        ),
        "egress.acl": TableSchema(
            "egress.acl", (KeySpec("meta.stack[1].dst", "lpm", 32),), ("egress.send", "NoAction")
        ),
    },
    actions={
        "ingress.send": ActionSchema("ingress.send", (("port", 9),)),
        "ingress.drop": ActionSchema("ingress.drop"),
        "ingress.mcast": ActionSchema("ingress.mcast", (("grp", 16),)),
        "egress.send": ActionSchema("egress.send", (("port", 9), ("tag", 8))),
        "NoAction": ActionSchema("NoAction"),
    },
)


class FakeSwitch:
    """The engine's Switch surface over a hand-written pipeline."""

    def __init__(self) -> None:
        self.tables = {
            name: MatchTable(name, list(t.keys), default_action=ActionCall("ingress.drop"))
            for name, t in SCHEMA.tables.items()
        }
        self.pre = PacketReplicationEngine()
        self.registers = {"ingress.reg": RegisterArray(4, 8)}
        self._queue: list[tuple[int, bytes]] = []
        self._out: list[tuple[int, bytes]] = []

    def inject(self, port: int, data: bytes) -> None:
        self._queue.append((port, data))

    def run_until_idle(self) -> None:
        while self._queue:
            _port, data = self._queue.pop(0)
            key = (data[0], 0, int.from_bytes(data[1:3], "big"))  # validity: always 0 here
            e = self.tables["ingress.fwd"].lookup(key)
            action = e.action if e is not None else self.tables["ingress.fwd"].default_action
            if action.name == "ingress.send":
                self._out.append((action.args[0], data))
            elif action.name == "ingress.mcast":
                self._out.extend((p, data) for p, _rid in self.pre.replicate(action.args[0]))

    def outputs(self) -> list[tuple[int, bytes]]:
        out, self._out = self._out, []
        return out


def run(text: str, switch: FakeSwitch | None = None) -> StfResult:
    return StfRunner(switch or FakeSwitch(), SCHEMA).run(stf.parse(text))


FWD = "add fwd 1 hdr.h.a:0x01 hdr.h.b:0x**** ingress.send(port:2)\n"


# -- pass rule ------------------------------------------------------------------------------


def test_exact_match_passes_and_wildcard_nibbles_match_anything() -> None:
    r = run(FWD + "packet 0 01 AABB CC\nexpect 2 01 **BB *C\n")
    assert r.passed, r.format()


def test_dollar_forbids_extra_bytes_and_short_packets_never_match() -> None:
    assert run(FWD + "packet 0 01AABBCC\nexpect 2 01AA$\n").status == "fail"
    assert run(FWD + "packet 0 01AABBCC\nexpect 2 01AABBCC$\n").passed
    assert run(FWD + "packet 0 01AABBCC\nexpect 2 01AA\n").passed  # prefix is enough
    assert run(FWD + "packet 0 01AA\nexpect 2 01AABBCC\n").status == "fail"


def test_order_per_port_matters_but_not_across_ports() -> None:
    text = (
        "add fwd 1 hdr.h.a:0x01 hdr.h.b:0x**** send(port:2)\n"
        "add fwd 1 hdr.h.a:0x02 hdr.h.b:0x**** send(port:3)\n"
        "packet 0 010000\npacket 0 020000\npacket 0 01FFFF\n"
    )
    assert run(text + "expect 3 020000\nexpect 2 010000\nexpect 2 01FFFF\n").passed
    r = run(text + "expect 2 01FFFF\nexpect 2 010000\nexpect 3 020000\n")
    assert r.status == "fail"
    assert [p.port for p in r.ports if not p.ok] == [2]


def test_extra_packet_on_an_observed_port_fails() -> None:
    r = run(FWD + "packet 0 010000\npacket 0 010001\nexpect 2 010000\n")
    assert r.status == "fail"
    assert "expected 1 packet(s), received 2" in r.diff()
    assert "#1 unexpected  010001" in r.diff()


def test_port_without_expect_must_stay_silent_once_observed() -> None:
    # port 2 is named only by a packet line: p4c's runner still gives it an output pcap
    text = FWD + "packet 2 ffff\npacket 0 010000\n"
    assert run(text).status == "fail"


def test_packets_on_unobserved_ports_are_ignored() -> None:
    assert run(FWD + "packet 0 010000\n").passed  # port 2 never named: nothing checked
    assert run(FWD + "packet 0 010000\nexpect 5 00\n").status == "fail"  # missing on 5


def test_expect_without_data_stands_for_one_packet_of_any_content() -> None:
    assert run(FWD + "packet 0 010000\nexpect 2\n").passed
    assert run(FWD + "packet 0 010000\npacket 0 010000\nexpect 2\n").status == "fail"
    assert run(FWD + "expect 2\n").status == "fail"


def test_packets_run_in_order_with_table_commands_between_them() -> None:
    text = (
        "packet 0 010000\n"  # misses: default drop
        + FWD
        + "packet 0 010001\n"
        "expect 2 010001\n"
    )
    assert run(text).passed


def test_diff_marks_differing_nibbles() -> None:
    r = run(FWD + "packet 0 01ABCD\nexpect 2 01ABCE\n")
    diff = r.diff()
    assert "expected    01ABCE (stf line 3)" in diff
    assert "received    01ABCD" in diff
    assert "                      ^" in diff.splitlines()[-1] + " "
    assert r.format().startswith("FAIL")


# -- name resolution --------------------------------------------------------------------------


def test_table_names_resolve_exactly_or_by_unique_suffix() -> None:
    names = ["ingress.fwd", "ingress.fwd2", "egress.acl"]
    assert resolve_table("ingress.fwd", names) == "ingress.fwd"
    assert resolve_table("acl", names) == "egress.acl"
    assert resolve_table("fwd2", names) == "ingress.fwd2"
    with pytest.raises(CannotRun, match="ambiguous"):
        resolve_table("wd2", ["a.fwd2", "b.fwd2"])
    with pytest.raises(CannotRun, match="no table"):
        resolve_table("nope", names)


def test_action_names_resolve_within_the_table() -> None:
    t = SCHEMA.tables["ingress.fwd"]
    assert resolve_action("send", t) == "ingress.send"
    assert resolve_action("NoAction", t) == "NoAction"
    with pytest.raises(CannotRun, match="no action egress.x in table ingress.fwd"):
        resolve_action("egress.x", t)


def test_key_field_forms() -> None:
    fields = ["hdr.h.a", "hdr.h.$valid$", "meta.stack[1].dst", "ip$", "$valid$"]
    assert resolve_key_field("hdr.h.a", fields) == "hdr.h.a"
    assert resolve_key_field("h.a", fields) == "hdr.h.a"
    assert resolve_key_field("a", fields) == "hdr.h.a"
    assert resolve_key_field("hdr.h", fields) == "hdr.h.$valid$"
    assert resolve_key_field("hdr.h.valid", fields) == "hdr.h.$valid$"
    assert resolve_key_field("stack$1.dst", fields) == "meta.stack[1].dst"
    assert resolve_key_field("ip", fields) == "ip$"
    assert resolve_key_field("valid", fields) == "hdr.h.$valid$"
    with pytest.raises(CannotRun, match="no key field zz"):
        resolve_key_field("zz", fields)
    with pytest.raises(CannotRun):  # p4c maps x.valid to x.$valid$ only for the full name
        resolve_key_field("h.valid", fields)


def test_unknown_names_make_the_test_unrunnable_not_failed() -> None:
    with pytest.raises(CannotRun, match="line 1: add: no table nosuch"):
        run("add nosuch a:1 send(port:1)\n")
    with pytest.raises(CannotRun, match="no key field c"):
        run("add fwd c:1 send(port:1)\n")
    with pytest.raises(CannotRun, match="no value for port"):
        run("add fwd a:1 send()\n")
    with pytest.raises(CannotRun, match="no parameter prt"):
        run("add fwd a:1 send(port:1, prt:2)\n")


def test_no_packet_cannot_run() -> None:
    with pytest.raises(CannotRun, match="no_packet"):
        run("packet 0 00\nno_packet\n")


# -- entries ----------------------------------------------------------------------------------


def test_key_values_as_p4c_converts_them() -> None:
    tern = KeySpec("k", "ternary", 16)
    assert match_for(tern, stf._key_value("0x0a**")) == Ternary(0x0A00, 0xFF00)
    assert match_for(tern, stf._key_value("0x0a")) == Ternary(0x0A, 0xFF)  # written digits only
    assert match_for(tern, stf._key_value("10")) == Ternary(10, 0xFFFF)  # beyond p4c
    assert match_for(tern, stf._key_value("0x1&&&0xf")) == Ternary(1, 0xF)
    lpm = KeySpec("k", "lpm", 32)
    assert match_for(lpm, stf._key_value("0x0a000000")) == Lpm(0x0A000000, 32)
    assert match_for(lpm, stf._key_value("0x0a******")) == Lpm(0x0A000000, 8)
    assert match_for(lpm, stf._key_value("198.51.100.0/24")) == Lpm(0xC6336400, 24)
    assert match_for(KeySpec("k", "range", 8), stf._key_value("3->7")) == Range(3, 7)
    assert match_for(KeySpec("k", "optional", 8), stf._key_value("*")) == Optional(None)
    assert match_for(KeySpec("k", "exact", 8), stf._key_value("0b101")) == Exact(5)
    with pytest.raises(ValueError, match="not a valid value for exact key k"):
        match_for(KeySpec("k", "exact", 8), stf._key_value("0x0*"))


def test_larger_stf_priority_wins() -> None:
    text = (
        "add fwd 10 hdr.h.a:0x01 hdr.h.b:0x00** send(port:1)\n"
        "add fwd 20 hdr.h.a:0x01 hdr.h.b:0x0*** send(port:2)\n"
        "add fwd 5 hdr.h.a:0x01 hdr.h.b:0x0001 send(port:3)\n"
        "packet 0 010001\nexpect 2 010001\n"
    )
    assert run(text).passed


def test_omitted_keys_match_anything_ternary_and_value_zero_exact() -> None:
    sw = FakeSwitch()
    run("add fwd 1 send(port:4)\n", sw)
    (entry,) = sw.tables["ingress.fwd"].entries()
    assert entry.match == (Exact(0), Exact(0), Ternary(0, 0))
    assert entry.priority == 1


def test_rejected_commands_are_warnings_as_with_the_cli() -> None:
    r = run(FWD + FWD + "add fwd 1 hdr.h.a:0x0* send(port:1)\npacket 0 010000\nexpect 2 01\n")
    assert r.passed
    assert len(r.warnings) == 2
    assert "line 2: add rejected" in r.warnings[0] and "already exists" in r.warnings[0]


def test_setdefault_changes_the_miss_action() -> None:
    assert run("setdefault fwd send(port:7)\npacket 0 990000\nexpect 7 99\n").passed


def test_multicast_commands_drive_the_pre() -> None:
    text = (
        "mc_mgrp_create 1\n"
        "mc_node_create 0 3 4\n"
        "mc_node_create 1 6\n"
        "mc_node_associate 1 0\n"
        "mc_node_associate 1 1\n"
        "add fwd 1 a:0x05 b:0x**** mcast(grp:1)\n"
        "packet 0 050000\n"
        "expect 3 05\nexpect 4 05\nexpect 6 05\n"
    )
    assert run(text).passed


def test_register_and_mirroring_commands() -> None:
    sw = FakeSwitch()
    r = run(
        "register_write reg 2 17\nregister_read reg 2\n"
        "mirroring_add 5 9\nregister_write nope 0 1\n",
        sw,
    )
    assert sw.registers["ingress.reg"].get(2) == 17
    assert sw.pre.clone_copies(5) == [(9, 0)]
    assert r.passed and "unknown register nope" in r.warnings[0]
    run("register_reset ingress.reg\n", sw)
    assert sw.registers["ingress.reg"].get(2) == 0


def test_check_counter_remove_and_wait_are_ignored_like_p4c() -> None:
    r = run(FWD + "wait\ncheck_counter c(1) packets == 9\nremove all\npacket 0 010000\nexpect 2\n")
    assert r.passed


# -- command line -----------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    stf_cli.add_stf_command(sub)
    args = p.parse_args(["stf", *argv])
    return args.func(args)


@pytest.mark.parametrize(("status", "code"), [("pass", 0), ("fail", 1), ("error", 2)])
def test_exit_codes(monkeypatch: pytest.MonkeyPatch, status: str, code: int, capsys) -> None:
    import softswitch.stf.runner as runner

    fake = lambda *a, **k: StfResult(status, "why")  # type: ignore[arg-type]  # noqa: E731
    monkeypatch.setattr(runner, "run_stf", fake)
    assert _cli(["prog.p4", "prog.stf"]) == code
    out = capsys.readouterr()
    assert ("why" in out.err) == (status == "error")


def test_find_tests_pairs_stf_with_p4(tmp_path) -> None:
    (tmp_path / "a.p4").write_text("")
    (tmp_path / "a.stf").write_text("")
    (tmp_path / "b.stf").write_text("")  # no b.p4: not a test
    assert stf_cli.find_tests(str(tmp_path)) == [(str(tmp_path / "a.p4"), str(tmp_path / "a.stf"))]


def _fake_run_stf(p4: str, test: str, include: list[str], **kw: object) -> StfResult:
    import time

    name = test.rsplit("/", 1)[-1]
    if name.startswith("hang"):
        time.sleep(60)
    if name.startswith("psa"):
        return StfResult("error", "skip: architecture psa")
    return StfResult({"ok": "pass", "bad": "fail"}.get(name[:-4], "error"), "no engine")


def test_corpus_counts_and_timeouts(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:
    import softswitch.stf.runner as runner

    for n in ("ok", "bad", "err", "psa", "hang"):
        (tmp_path / f"{n}.p4").write_text("")
        (tmp_path / f"{n}.stf").write_text("")
    monkeypatch.setattr(runner, "run_stf", _fake_run_stf)
    assert _cli(["--corpus", str(tmp_path), "-j", "2", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  bad.stf" in out
    assert "ERROR err.stf: no engine" in out
    assert "ERROR hang.stf: timeout after 1 s" in out
    assert "1 passed, 1 failed, 2 errors (1 skipped, not v1model)" in out


# -- end to end, on the engine ----------------------------------------------------------------

E2E_P4 = """
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<16> b; bit<32> dst; }
struct headers { h_t h; }
struct meta_t {}
parser P(packet_in pk, out headers hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t m) { apply {} }
control ingress(inout headers hdr, inout meta_t m, inout standard_metadata_t sm) {
    action send(bit<9> port) { sm.egress_spec = port; }
    action mark(bit<16> tag) { hdr.h.b = tag; }
    action mcast(bit<16> grp) { sm.mcast_grp = grp; }
    action drop() { mark_to_drop(sm); }
    table fwd {
        key = { hdr.h.a: exact; hdr.h.isValid(): exact; }
        actions = { send; mcast; drop; }
        default_action = drop();
    }
    table acl {
        key = { hdr.h.b: ternary @name("bee"); }
        actions = { mark; NoAction; }
        default_action = NoAction();
    }
    table route {
        key = { hdr.h.dst: lpm; }
        actions = { send; NoAction; }
        default_action = NoAction();
    }
    apply { fwd.apply(); acl.apply(); route.apply(); }
}
control egress(inout headers hdr, inout meta_t m, inout standard_metadata_t sm) { apply {} }
control CC(inout headers hdr, inout meta_t m) { apply {} }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
V1Switch(P(), VC(), ingress(), egress(), CC(), D()) main;
"""

E2E_STF = """
# fwd by the first byte; acl rewrites b by priority; route overrides the port by prefix
add fwd h.a:0x01 hdr.h.valid:1 ingress.send(port:2)
add fwd a:0x02 hdr.h.valid:1 mcast(grp:5)
add acl 10 bee:0x12** mark(tag:0xAAAA)
add acl 20 bee:0x1234 mark(tag:0xBBBB)
add route dst:0x0a000000/8 send(port:7)
add route dst:0x0a010000/16 send(port:8)
mc_mgrp_create 5
mc_node_create 0 3 4
mc_node_associate 5 0

packet 0 01 1234 0b000000
expect 2 01 BBBB 0b000000 $
packet 0 01 1299 0a020000
expect 7 01 AAAA 0a020000 $
packet 0 01 0000 0a010101
expect 8 01 0000 0a010101 $
packet 0 02 0000 00000000
expect 3 02 0000 ********
expect 4 02 0000 ********
packet 0 09 0000 00000000
"""


def test_end_to_end_on_the_engine(tmp_path) -> None:
    from softswitch.stf.runner import run_stf

    (tmp_path / "e2e.p4").write_text(E2E_P4)
    (tmp_path / "e2e.stf").write_text(E2E_STF)
    r = run_stf(str(tmp_path / "e2e.p4"), str(tmp_path / "e2e.stf"))
    assert r.passed, r.format()
    (tmp_path / "bad.stf").write_text(E2E_STF.replace("expect 8 01 0000", "expect 8 01 0001"))
    r = run_stf(str(tmp_path / "e2e.p4"), str(tmp_path / "bad.stf"))
    assert r.status == "fail"
    assert "port 8:" in r.diff() and "^" in r.diff()


def test_compile_errors_cannot_run(tmp_path) -> None:
    from softswitch.stf.runner import run_stf

    (tmp_path / "x.p4").write_text("#include <v1model.p4>\ncontrol c( { }\n")
    (tmp_path / "x.stf").write_text("packet 0 00\n")
    r = run_stf(str(tmp_path / "x.p4"), str(tmp_path / "x.stf"), require_v1model=True)
    assert r.status == "error" and r.reason.startswith("compile error")
    (tmp_path / "y.p4").write_text("#include <psa.p4>\n")
    r = run_stf(str(tmp_path / "y.p4"), str(tmp_path / "x.stf"), require_v1model=True)
    assert r.reason == "skip: not a v1model program"
