"""The STF parser on lines written for this project, covering every command and key form."""

from __future__ import annotations

import pytest

from softswitch.stf import StfError, parse
from softswitch.stf.parser import (
    ActionArg,
    ActionCall,
    AddEntry,
    CheckCounter,
    CounterRead,
    CounterWrite,
    Expect,
    KeyMatch,
    KeyValue,
    McMgrpCreate,
    McNodeAssociate,
    McNodeCreate,
    McNodeUpdate,
    MeterArraySetRates,
    MeterGetRates,
    MeterRate,
    MeterSetRates,
    MirroringAdd,
    MirroringAddMc,
    MirroringDelete,
    MirroringGet,
    NoPacket,
    Packet,
    RegisterRead,
    RegisterReset,
    RegisterWrite,
    RemoveAll,
    RemoveEntry,
    SetDefault,
    Wait,
    parse_file,
)

SAMPLE = """\
# Sluice: forwarding smoke test
ADD ipv4_lpm 10 hdr.ipv4.dstAddr:198.51.100.0/24 ingress.set_nhop(nhop:0xc6336401, port:3) = R1
add acl hdr.tcp.dport:1000->2000 hdr.eth.src:00:11:22:33:44:55 meta.flag:* acl_drop()
add tos_table hdr.ipv4.$valid$:1 h.stack[1].f:0b1*0* meta.vrf:0x0a&&&0xff set_tos(tos:46)
setdefault ipv4_lpm drop()

packet 0 0011 2233 4455  66778899aabb 0800   # the last comment
expect 3 0011223344** 66778899AABB 0800 $
expect 4
wait
check_counter ingress.hits($R1) packets == 1
"""


def test_sample_file_parses_into_commands_with_line_numbers():
    cmds = parse(SAMPLE, "smoke.stf")
    assert [type(c) for c in cmds] == [
        AddEntry,
        AddEntry,
        AddEntry,
        SetDefault,
        Packet,
        Expect,
        Expect,
        Wait,
        CheckCounter,
    ]
    assert [c.line for c in cmds] == [2, 3, 4, 5, 7, 8, 9, 10, 11]
    lpm = cmds[0]
    assert lpm == AddEntry(
        2,
        "ipv4_lpm",
        10,
        (
            KeyMatch(
                "hdr.ipv4.dstAddr",
                KeyValue("198.51.100.0/24", "prefix", 0xC6336400, prefix_len=24, width=32),
            ),
        ),
        ActionCall(
            "ingress.set_nhop",
            (ActionArg("nhop", 0xC6336401, "0xc6336401"), ActionArg("port", 3, "3")),
        ),
        "R1",
    )
    assert cmds[3] == SetDefault(5, "ipv4_lpm", ActionCall("drop"))
    assert cmds[4] == Packet(7, 0, "00112233445566778899AABB0800")
    assert cmds[4].payload() == bytes.fromhex("00112233445566778899aabb0800")
    assert cmds[5] == Expect(8, 3, "0011223344**66778899AABB0800", exact=True)
    assert cmds[6] == Expect(9, 4, None)
    assert cmds[8] == CheckCounter(11, "ingress.hits", None, "R1", "packets", "==", 1)


def test_key_forms():
    acl, tos = parse(SAMPLE)[1:3]
    assert acl.priority is None and acl.handle is None
    assert [k.value for k in acl.keys] == [
        KeyValue("1000->2000", "range", 1000, high=2000),
        KeyValue("00:11:22:33:44:55", "value", 0x001122334455, width=48),
        KeyValue("*", "any"),
    ]
    assert [k.field for k in tos.keys] == ["hdr.ipv4.$valid$", "h.stack[1].f", "meta.vrf"]
    assert [k.value for k in tos.keys] == [
        KeyValue("1", "value", 1),
        KeyValue("0b1*0*", "masked", 0b1000, 0b1010, width=4),
        KeyValue("0x0a&&&0xff", "masked", 0x0A, 0xFF, width=8),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x0a01****", KeyValue("0x0a01****", "masked", 0x0A010000, 0xFFFF0000, width=32)),
        ("0X1F", KeyValue("0X1F", "value", 0x1F, width=8)),
        ("0o17", KeyValue("0o17", "value", 0o17, width=6)),
        ("42", KeyValue("42", "value", 42)),
        ("0x010a/16", KeyValue("0x010a/16", "prefix", 0x010A, prefix_len=16, width=16)),
        (
            "2001:db8::1/64",
            KeyValue("2001:db8::1/64", "prefix", 0x20010DB8 << 96 | 1, prefix_len=64, width=128),
        ),
    ],
)
def test_number_forms(text, value):
    (cmd,) = parse(f"add t k:{text} a()")
    assert cmd.keys == (KeyMatch("k", value),)


def test_multicast_mirroring_and_direct_commands():
    text = """\
mirroring_add 5 4
mirroring_add_mc 10 5
mirroring_delete 5
mirroring_get 10
mc_mgrp_create 1113
mc_node_create 400 6 7 8
mc_node_update 0 9
mc_node_associate 1113 0
counter_read ingress.c 3
counter_write ingress.c 3 10 640
register_read cIngress.regfile 1
register_write cIngress.regfile 5 100
register_reset cIngress.regfile
meter_get_rates cIngress.meter0 1
meter_set_rates cIngress.meter0 2 0.000005:4 0.00002:5
meter_array_set_rates cIngress.meter0 0.5:7 1:9
remove all
remove acl 20 hdr.tcp.dport:1->2
no_packet
"""
    assert parse(text) == [
        MirroringAdd(1, 5, 4),
        MirroringAddMc(2, 10, 5),
        MirroringDelete(3, 5),
        MirroringGet(4, 10),
        McMgrpCreate(5, 1113),
        McNodeCreate(6, 400, (6, 7, 8)),
        McNodeUpdate(7, 0, (9,)),
        McNodeAssociate(8, 1113, 0),
        CounterRead(9, "ingress.c", 3),
        CounterWrite(10, "ingress.c", 3, 10, 640),
        RegisterRead(11, "cIngress.regfile", 1),
        RegisterWrite(12, "cIngress.regfile", 5, 100),
        RegisterReset(13, "cIngress.regfile"),
        MeterGetRates(14, "cIngress.meter0", 1),
        MeterSetRates(15, "cIngress.meter0", 2, (MeterRate(0.000005, 4), MeterRate(0.00002, 5))),
        MeterArraySetRates(16, "cIngress.meter0", (MeterRate(0.5, 7), MeterRate(1.0, 9))),
        RemoveAll(17),
        RemoveEntry(
            18, "acl", 20, (KeyMatch("hdr.tcp.dport", KeyValue("1->2", "range", 1, high=2)),)
        ),
        NoPacket(19),
    ]


def test_check_counter_by_index_without_condition():
    assert parse("check_counter cntDum(10)") == [CheckCounter(1, "cntDum", 10, None)]
    assert parse("check_counter c(0x2) bytes >= 128")[0].op == ">="


def test_a_command_may_continue_on_lines_that_start_with_no_command_word():
    text = 'add tbl 5 "key one" : 0x1\n   a (x : 2,\n y:3)\n  = H\npacket 1 00\n'
    add, pkt = parse(text)
    assert add == AddEntry(
        1,
        "tbl",
        5,
        (KeyMatch("key one", KeyValue("0x1", "value", 1, width=4)),),
        ActionCall("a", (ActionArg("x", 2, "2"), ActionArg("y", 3, "3"))),
        "H",
    )
    assert pkt == Packet(5, 1, "00")


def test_expect_matching_follows_p4c():
    exp = parse("expect 0 AB**cd")[0]
    assert exp.matches(bytes.fromhex("ab12cd"))
    assert exp.matches(bytes.fromhex("abffcd00"))  # longer is fine without $
    assert not exp.matches(bytes.fromhex("ab12ce"))
    assert not exp.matches(bytes.fromhex("ab12"))  # shorter never is
    exact = parse("expect 0 AB** $")[0]
    assert exact.matches(bytes.fromhex("ab00"))
    assert not exact.matches(bytes.fromhex("ab0000"))
    assert parse("expect 2 $")[0] == Expect(1, 2, "", exact=True)  # an empty packet
    assert parse("expect 2")[0].matches(b"anything")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("wait\nfrobnicate 1 2\n", 2, "unknown command 'frobnicate'"),
        ("  0101 0202\n", 1, "unknown command '0101'"),
        ("packet 0 0101\n0202\n", 2, "unknown command '0202'"),
        ("add t k:1 a()\nregster_read r 1\n", 2, "unknown command 'regster_read'"),
        ("packet x 00", 1, "packet: expected a decimal port number"),
        ("packet 0 00 1*", 1, "packet: unexpected '*' in packet data"),
        ("packet 0 abc", 1, "packet: odd number of hex digits"),
        ("packet 0", 1, "packet: no packet data"),
        ("expect 0 AB$CD", 1, "expect: unexpected '$' in packet data"),
        ("expect 0 ABZZ", 1, "expect: unexpected 'Z' in packet data"),
        ("add t k:1 a(x:1", 1, "add: expected ')', found end of command"),
        ("add t k:1\n\n  a(x:1 y:2)", 3, "add: expected ',' or ')', found 'y:2'"),
        ("add t k:0xZZ a()", 1, "add: bad number '0xZZ' in 'k:0xZZ'"),
        ("add t k a()", 1, "add: expected key:value or action call, found 'k'"),
        ("add t k:1 a(x:0x1*)", 1, "add: bad action argument 'x:0x1*'"),
        ("add t k:1&&&0x*f a()", 1, "add: '*' digits in a value&&&mask in 'k:1&&&0x*f'"),
        ("mc_node_create 1 two", 1, "mc_node_create: bad port 'two'"),
        ("meter_set_rates m 0 fast:1", 1, "meter_set_rates: bad rate:burst 'fast:1'"),
        ("check_counter c(1) octets == 1", 1, "check_counter: expected packets or bytes"),
        ("remove", 1, "remove: expected 'all' or table name, found end of command"),
        ("wait now", 1, "wait: unexpected 'now'"),
        ("add t k:1 a() !", 1, "unexpected character '!'"),
    ],
)
def test_errors_name_the_file_and_line(text, line, message):
    with pytest.raises(StfError) as info:
        parse(text, "t.stf")
    assert info.value.file == "t.stf"
    assert info.value.line == line
    assert message in info.value.message
    assert str(info.value).startswith(f"t.stf:{line}: ")


def test_parse_file(tmp_path):
    path = tmp_path / "x.stf"
    path.write_text("packet 1 0a0b\r\nexpect 1 0a0b\r\n")
    assert parse_file(str(path)) == [Packet(1, 1, "0A0B"), Expect(2, 1, "0A0B")]
