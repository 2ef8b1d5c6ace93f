"""P4Info generation: ids, names, aliases, annotations, tables, externs, digests, packet I/O.

Every program here is written for these tests. Expected ids are computed from the rules (prefix
byte, Jenkins one-at-a-time hash of the fully qualified name, probing, ``@id``), not copied from
any compiler's output.
"""

from __future__ import annotations

import json
import os

import pytest
from google.protobuf import json_format, text_format
from p4.config.v1 import p4info_pb2

from softswitch.frontend import compile_text
from softswitch.frontend import p4info_ids as ids
from softswitch.frontend.elaborate import elaborate
from softswitch.frontend.p4info import build_p4info, write_p4runtime_files

HEADERS = """
#include <core.p4>
#include <v1model.p4>

header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}
header ipv4_t {
    bit<8>  ttl;
    bit<8>  protocol;
    bit<32> srcAddr;
    bit<32> dstAddr;
}
struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}
struct meta_t {
    bit<16> tmp;
}
"""

PARSER = """
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta,
         inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.ethernet); } }
"""

EMPTY_EGRESS = """
control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
"""

MAIN = "V1Switch(P(), VC(), Ig(), Eg(), CC(), D()) main;\n"


def program(ingress: str, egress: str = EMPTY_EGRESS, extra: str = "") -> str:
    return HEADERS + extra + PARSER + ingress + egress + MAIN


def p4info(src: str) -> p4info_pb2.P4Info:
    res = compile_text(src, "test.p4")
    assert res.p4info is not None
    return res.p4info


def by_name(items, name):
    for x in items:
        if x.preamble.name == name:
            return x
    raise AssertionError(f"{name} not in {[x.preamble.name for x in items]}")


# --------------------------------------------------------------------------------------------
# The id scheme on its own


def test_jenkins_hash_known_values():
    assert ids.jenkins_one_at_a_time(b"") == 0
    # Bob Jenkins' published test vector for one-at-a-time: "a" -> 0xca2e9442.
    assert ids.jenkins_one_at_a_time(b"a") == 0xCA2E9442
    assert ids.jenkins_one_at_a_time(b"The quick brown fox jumps over the lazy dog") == 0x519E91F5


def test_hashed_id_has_prefix_and_24_bit_hash():
    h = ids.jenkins_one_at_a_time(b"MyIngress.t")
    assert ids.hashed_id(ids.TABLE, "MyIngress.t") == (0x02 << 24) | (h & 0xFFFFFF)


def test_collision_probes_hash_value_in_sorted_name_order():
    st = ids.SymbolTable()
    # "b" takes the id "a" would hash to, through an @id without prefix.
    ha = ids.jenkins_one_at_a_time(b"a")
    st.add(ids.ACTION, "b", ha & 0xFFFFFF)
    st.add(ids.ACTION, "a")
    st.assign_ids()
    assert st.id(ids.ACTION, "b") == (0x01 << 24) | (ha & 0xFFFFFF)
    assert st.id(ids.ACTION, "a") == (0x01 << 24) | ((ha + 1) & 0xFFFFFF)


def test_user_id_prefix_rules():
    assert ids.with_prefix(ids.TABLE, 5) == 0x02000005
    assert ids.with_prefix(ids.TABLE, 0x02000005) == 0x02000005
    with pytest.raises(ids.IdError):
        ids.with_prefix(ids.TABLE, 0x01000005)


def test_alias_is_shortest_unique_suffix():
    s = ids.SuffixSet()
    for n in ("Ig.t", "Eg.t", "Ig.u", "x.y.z", "w.y.z", "NoAction"):
        s.add(n)
    assert s.shortest_unique_suffix("Ig.t") == "Ig.t"
    assert s.shortest_unique_suffix("Ig.u") == "u"
    assert s.shortest_unique_suffix("x.y.z") == "x.y.z"
    assert s.shortest_unique_suffix("NoAction") == "NoAction"


def test_field_ids_follow_user_ids():
    assert ids.FieldIds([None, None, None]).ids == [1, 2, 3]
    assert ids.FieldIds([5, None]).ids == [5, 2]
    assert ids.FieldIds([None, 1]).ids == [2, 1]
    assert ids.FieldIds([None, 2, None]).ids == [1, 2, 3]


# --------------------------------------------------------------------------------------------
# Tables, actions, names


INGRESS_BASIC = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action drop() { mark_to_drop(sm); }
    @brief("forward it") action fwd(bit<9> port, bit<48> mac) {
        sm.egress_spec = port;
        hdr.ethernet.dstAddr = mac;
    }
    action unused_action() { }
    table ipv4_lpm {
        key = {
            hdr.ipv4.dstAddr : lpm;
            hdr.ipv4.isValid() : exact;
            hdr.ethernet.srcAddr[47:40] : ternary @name("oui");
            hdr.ethernet.dstAddr & 0x0000FFFF0000 : ternary;
        }
        actions = { @tableonly fwd; drop; }
        default_action = drop();
        size = 512;
    }
    table never_applied {
        actions = { unused_action; }
    }
    apply {
        ipv4_lpm.apply();
    }
}
"""


def test_table_and_actions_basic():
    info = p4info(program(INGRESS_BASIC))
    assert info.pkg_info.arch == "v1model"
    assert [t.preamble.name for t in info.tables] == ["Ig.ipv4_lpm"]
    t = info.tables[0]
    assert t.preamble.id == ids.hashed_id(ids.TABLE, "Ig.ipv4_lpm")
    assert t.preamble.alias == "ipv4_lpm"
    assert t.size == 512
    names = [(m.id, m.name, m.bitwidth, m.match_type) for m in t.match_fields]
    mf = p4info_pb2.MatchField
    assert names == [
        (1, "hdr.ipv4.dstAddr", 32, mf.LPM),
        (2, "hdr.ipv4.$valid$", 1, mf.EXACT),
        (3, "oui", 8, mf.TERNARY),
        (4, "hdr.ethernet.dstAddr & 0xffff0000", 48, mf.TERNARY),
    ]
    drop_id = ids.hashed_id(ids.ACTION, "Ig.drop")
    fwd_id = ids.hashed_id(ids.ACTION, "Ig.fwd")
    assert [(r.id, r.scope) for r in t.action_refs] == [
        (fwd_id, p4info_pb2.ActionRef.TABLE_ONLY),
        (drop_id, p4info_pb2.ActionRef.TABLE_AND_DEFAULT),
    ]
    assert t.action_refs[0].annotations == ["@tableonly"]
    assert t.initial_default_action.action_id == drop_id
    assert not t.const_default_action_id
    # Only actions a used table refers to survive; the never-applied table is gone.
    assert [a.preamble.name for a in info.actions] == ["Ig.drop", "Ig.fwd"]
    fwd = by_name(info.actions, "Ig.fwd")
    assert fwd.preamble.doc.brief == "forward it"
    assert [(p.id, p.name, p.bitwidth) for p in fwd.params] == [(1, "port", 9), (2, "mac", 48)]
    assert info.HasField("type_info")


def test_implicit_noaction_and_const_default():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action a(bit<8> x) { meta.tmp = (bit<16>)x; }
    table t1 { key = { hdr.ethernet.etherType : exact; } actions = { a; } }
    table t2 {
        key = { hdr.ethernet.etherType : exact; }
        actions = { a; }
        const default_action = a(8w0x2A);
    }
    apply { t1.apply(); t2.apply(); }
}
"""
    info = p4info(program(ingress))
    noaction = ids.hashed_id(ids.ACTION, "NoAction")
    a_id = ids.hashed_id(ids.ACTION, "Ig.a")
    t1 = by_name(info.tables, "Ig.t1")
    assert [r.id for r in t1.action_refs] == [a_id, noaction]
    assert t1.action_refs[1].scope == p4info_pb2.ActionRef.DEFAULT_ONLY
    assert t1.action_refs[1].annotations == ["@defaultonly"]
    assert t1.initial_default_action.action_id == noaction
    assert t1.size == 1024
    t2 = by_name(info.tables, "Ig.t2")
    assert t2.const_default_action_id == a_id
    args = [(x.param_id, x.value) for x in t2.initial_default_action.arguments]
    assert args == [(1, b"\x2a")]
    # Global actions used by the control come first.
    assert [a.preamble.name for a in info.actions] == ["NoAction", "Ig.a"]
    assert by_name(info.actions, "NoAction").preamble.annotations == ['@noWarn("unused")']


def test_const_entries_flags():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(bit<16> v) { meta.tmp = v; }
    table t {
        key = { hdr.ethernet.etherType : exact; }
        actions = { set; NoAction; }
        const entries = {
            0x0800 : set(1);
            0x86dd : set(2);
        }
    }
    table u {
        key = { hdr.ethernet.etherType : ternary; }
        actions = { set; }
        entries = { 0x0800 &&& 0xffff : set(3); }
    }
    apply { t.apply(); u.apply(); }
}
"""
    info = p4info(program(ingress))
    t = by_name(info.tables, "Ig.t")
    assert t.is_const_table and t.has_initial_entries
    u = by_name(info.tables, "Ig.u")
    assert not u.is_const_table and u.has_initial_entries


def test_user_ids_and_name_annotations():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    @id(0x1234) @name("renamed") action a(@id(7) bit<8> x, bit<8> y) { meta.tmp = 0; }
    @name(".global_b") action b() { }
    @id(0x02000100) table t {
        key = { hdr.ethernet.etherType : exact @id(3); hdr.ipv4.ttl : exact; }
        actions = { a; b; }
    }
    apply { t.apply(); }
}
"""
    info = p4info(program(ingress))
    t = info.tables[0]
    assert t.preamble.id == 0x02000100
    assert [(m.id, m.name) for m in t.match_fields] == [
        (3, "hdr.ethernet.etherType"),
        (2, "hdr.ipv4.ttl"),
    ]
    a = by_name(info.actions, "Ig.renamed")
    assert a.preamble.id == 0x01001234
    assert a.preamble.alias == "renamed"
    assert [(p.id, p.name) for p in a.params] == [(7, "x"), (2, "y")]
    b = by_name(info.actions, "global_b")
    assert b.preamble.id == ids.hashed_id(ids.ACTION, "global_b")


def test_nested_controls_get_instance_prefixes():
    extra = """
control Inner(inout headers_t hdr, inout meta_t meta) {
    action set(bit<16> v) { meta.tmp = v; }
    table t { key = { hdr.ethernet.etherType : exact; } actions = { set; } }
    apply { t.apply(); }
}
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Inner() first;
    Inner() second;
    Inner() never;
    apply { first.apply(hdr, meta); second.apply(hdr, meta); }
}
"""
    info = p4info(program(ingress, extra=extra))
    assert [t.preamble.name for t in info.tables] == ["Ig.first.t", "Ig.second.t"]
    assert [t.preamble.alias for t in info.tables] == ["first.t", "second.t"]
    assert [a.preamble.name for a in info.actions] == [
        "NoAction", "Ig.first.set", "Ig.second.set"
    ]
    elab = elaborate(compile_text(program(ingress, extra=extra), "t.p4", p4info=False).program)
    ig = [b for b in elab.top_blocks() if b.decl.name == "Ig"][0]
    assert [n.name for n in ig.nested()] == ["first", "second", "never"]
    assert [n.used for n in ig.nested()] == [True, True, False]


def test_same_table_name_in_two_controls_gets_long_aliases():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    table t { key = { hdr.ethernet.etherType : exact; } actions = { NoAction; } }
    apply { t.apply(); }
}
"""
    egress = """
control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    table t { key = { hdr.ethernet.etherType : exact; } actions = { NoAction; } }
    table only_here { actions = { NoAction; } }
    apply { t.apply(); only_here.apply(); }
}
"""
    info = p4info(program(ingress, egress))
    assert [(t.preamble.name, t.preamble.alias) for t in info.tables] == [
        ("Ig.t", "Ig.t"),
        ("Eg.t", "Eg.t"),
        ("Eg.only_here", "only_here"),
    ]
    # NoAction is used by both controls but appears once.
    assert [a.preamble.name for a in info.actions] == ["NoAction"]


def test_annotations_are_printed_as_written():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    @my_anno(1, "two", three) @flag @structured[k = 5, s = "x"]
    @description("long text")
    action a() { }
    @hidden action h() { }
    table t { actions = { a; h; } }
    apply { t.apply(); }
}
"""
    info = p4info(program(ingress))
    a = by_name(info.actions, "Ig.a")
    assert list(a.preamble.annotations) == ['@my_anno(1 , "two" , three)', "@flag"]
    assert a.preamble.doc.description == "long text"
    sa = a.preamble.structured_annotations[0]
    assert sa.name == "structured"
    kv = [(p.key, p.value.WhichOneof("value")) for p in sa.kv_pair_list.kv_pairs]
    assert kv == [("k", "int64_value"), ("s", "string_value")]
    # @hidden actions are not serialised but still referenced by id.
    assert [x.preamble.name for x in info.actions] == ["NoAction", "Ig.a"]
    h_id = ids.hashed_id(ids.ACTION, "Ig.h")
    assert [r.id for r in info.tables[0].action_refs][1] == h_id


# --------------------------------------------------------------------------------------------
# Externs


def test_registers_counters_meters():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<32>>(64) regs;
    register<headers_t>(2) hregs;
    counter(128, CounterType.packets_and_bytes) pkts;
    meter(32, MeterType.bytes) m;
    direct_counter(CounterType.packets) dc;
    action a() { dc.count(); }
    table t {
        key = { hdr.ethernet.etherType : exact; }
        actions = { a; }
        counters = dc;
        support_timeout = true;
    }
    apply { t.apply(); }
}
"""
    info = p4info(program(ingress))
    r = by_name(info.registers, "Ig.regs")
    assert r.preamble.id == ids.hashed_id(ids.REGISTER, "Ig.regs")
    assert r.size == 64
    assert r.type_spec.bitstring.bit.bitwidth == 32
    hr = by_name(info.registers, "Ig.hregs")
    assert hr.type_spec.struct.name == "headers_t"
    assert "headers_t" in info.type_info.structs
    assert "ethernet_t" in info.type_info.headers
    members = [m.name for m in info.type_info.headers["ethernet_t"].members]
    assert members == ["dstAddr", "srcAddr", "etherType"]
    c = by_name(info.counters, "Ig.pkts")
    assert c.size == 128 and c.spec.unit == p4info_pb2.CounterSpec.BOTH
    m = by_name(info.meters, "Ig.m")
    assert m.size == 32 and m.spec.unit == p4info_pb2.MeterSpec.BYTES
    t = info.tables[0]
    dc_id = ids.hashed_id(ids.DIRECT_COUNTER, "Ig.dc")
    assert list(t.direct_resource_ids) == [dc_id]
    assert t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL
    dc = info.direct_counters[0]
    assert dc.preamble.id == dc_id
    assert dc.direct_table_id == t.preamble.id
    assert dc.spec.unit == p4info_pb2.CounterSpec.PACKETS


def test_action_selector_in_place_and_declared_profile():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    @max_group_size(16) @selector_size_semantics("sum_of_members") @max_member_weight(4)
    action_selector(HashAlgorithm.crc16, 1024, 14) sel;
    action_profile(128) prof;
    action a() { }
    table t1 {
        key = { hdr.ethernet.etherType : exact; hdr.ipv4.srcAddr : selector; }
        actions = { a; }
        implementation = sel;
    }
    table t2 {
        key = { hdr.ethernet.etherType : exact; }
        actions = { a; }
        @name("inplace") implementation = action_profile(32);
    }
    table t3 { actions = { a; } implementation = prof; }
    apply { t1.apply(); t2.apply(); t3.apply(); }
}
"""
    info = p4info(program(ingress))
    t1 = by_name(info.tables, "Ig.t1")
    assert [m.name for m in t1.match_fields] == ["hdr.ethernet.etherType"]
    assert [p.preamble.name for p in info.action_profiles] == ["Ig.sel", "Ig.prof", "inplace"]
    sel = by_name(info.action_profiles, "Ig.sel")
    assert sel.with_selector and sel.size == 1024 and sel.max_group_size == 16
    assert sel.HasField("sum_of_members") and sel.sum_of_members.max_member_weight == 4
    assert list(sel.preamble.annotations) == []
    assert list(sel.table_ids) == [t1.preamble.id]
    assert t1.implementation_id == sel.preamble.id
    inplace = by_name(info.action_profiles, "inplace")
    assert not inplace.with_selector and inplace.size == 32
    assert inplace.preamble.id == ids.hashed_id(ids.ACTION_PROFILE, "inplace")


def test_global_extern_comes_first_and_keeps_its_name():
    extra = """
@name(".shared") register<bit<8>>(4) shared_reg;
counter(16, CounterType.bytes) global_ctr;
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<8>>(4) local_reg;
    apply { local_reg.write(0, 1); shared_reg.write(1, 2); global_ctr.count(0); }
}
"""
    info = p4info(program(ingress, extra=extra))
    assert [r.preamble.name for r in info.registers] == ["shared", "Ig.local_reg"]
    assert [c.preamble.name for c in info.counters] == ["global_ctr"]


# --------------------------------------------------------------------------------------------
# Digests, new types, controller packet metadata, value sets


def test_digest_type_info_with_newtypes_and_enums():
    extra = """
@p4runtime_translation("example.org/v1/mac", 64)
type bit<48> mac_t;
type bit<16> tag_t;
enum Color { Red, Green }
enum bit<8> Kind { A = 1, B = 0x10 }
struct learn_t {
    mac_t   mac;
    tag_t   tag;
    Color   color;
    Kind    kind;
    error   err;
    bool    flag;
}
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action learn() {
        digest<learn_t>(1, { (mac_t)hdr.ethernet.srcAddr, (tag_t)meta.tmp, Color.Red,
                             Kind.A, error.NoError, true });
    }
    action set_mac(mac_t m, tag_t tg) { hdr.ethernet.dstAddr = (bit<48>)m; }
    table t { key = { hdr.ethernet.srcAddr : exact; } actions = { learn; set_mac; } }
    apply { t.apply(); }
}
"""
    info = p4info(program(ingress, extra=extra))
    d = info.digests[0]
    assert d.preamble.name == "learn_t"
    assert d.preamble.id == ids.hashed_id(ids.DIGEST, "learn_t")
    assert d.type_spec.struct.name == "learn_t"
    st = info.type_info.structs["learn_t"]
    kinds = [(m.name, m.type_spec.WhichOneof("type_spec")) for m in st.members]
    assert kinds == [
        ("mac", "new_type"),
        ("tag", "new_type"),
        ("color", "enum"),
        ("kind", "serializable_enum"),
        ("err", "error"),
        ("flag", "bool"),
    ]
    mac = info.type_info.new_types["mac_t"]
    assert mac.translated_type.uri == "example.org/v1/mac"
    assert mac.translated_type.sdn_bitwidth == 64
    assert info.type_info.new_types["tag_t"].original_type.bitstring.bit.bitwidth == 16
    assert [m.name for m in info.type_info.enums["Color"].members] == ["Red", "Green"]
    kind = info.type_info.serializable_enums["Kind"]
    assert kind.underlying_type.bitwidth == 8
    assert [(m.name, m.value) for m in kind.members] == [("A", b"\x01"), ("B", b"\x10")]
    assert list(info.type_info.error.members)[:3] == ["NoError", "PacketTooShort", "NoMatch"]
    sm = by_name(info.actions, "Ig.set_mac")
    assert [(p.name, p.bitwidth, p.type_name.name) for p in sm.params] == [
        ("m", 64, "mac_t"),
        ("tg", 16, "tag_t"),
    ]


def test_controller_packet_metadata():
    extra = """
@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    @id(5) bit<7> pad;
}
@controller_header("packet_out")
header packet_out_t {
    bit<9> egress_port;
    bit<7> _pad;
}
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
"""
    info = p4info(program(ingress, extra=extra))
    names = [c.preamble.name for c in info.controller_packet_metadata]
    assert names == ["packet_in", "packet_out"]
    pin = info.controller_packet_metadata[0]
    assert pin.preamble.id == ids.hashed_id(ids.CONTROLLER_HEADER, "packet_in_t")
    assert pin.preamble.alias == "packet_in"
    assert list(pin.preamble.annotations) == ['@controller_header("packet_in")']
    assert [(m.id, m.name, m.bitwidth) for m in pin.metadata] == [
        (1, "ingress_port", 9),
        (5, "pad", 7),
    ]


def test_value_set():
    extra = """
struct vs_t {
    bit<16> ether;
    @match(ternary) bit<8> proto;
}
"""
    parser_src = """
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta,
         inout standard_metadata_t sm) {
    value_set<bit<16>>(4) simple;
    value_set<vs_t>(8) pairs;
    value_set<bit<8>>(2) unused_set;
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { simple: next; default: accept; }
    }
    state next {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ethernet.etherType, hdr.ipv4.protocol) {
            pairs: accept;
            default: accept;
        }
    }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.ethernet); } }
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
"""
    src = HEADERS + extra + parser_src + EMPTY_EGRESS + MAIN
    info = p4info(src)
    assert [v.preamble.name for v in info.value_sets] == ["P.simple", "P.pairs"]
    simple, pairs = info.value_sets
    assert simple.size == 4
    assert [(m.id, m.name, m.bitwidth, m.match_type) for m in simple.match] == [
        (1, "", 16, p4info_pb2.MatchField.EXACT)
    ]
    assert [(m.name, m.match_type) for m in pairs.match] == [
        ("ether", p4info_pb2.MatchField.EXACT),
        ("proto", p4info_pb2.MatchField.TERNARY),
    ]
    assert simple.preamble.id == ids.hashed_id(ids.VALUE_SET, "P.simple")


def test_pkg_info_annotations():
    src = program(INGRESS_BASIC).replace(
        "V1Switch(", '@pkginfo(name="demo", version="1.2") @brief("the demo")\nV1Switch('
    )
    info = p4info(src)
    assert info.pkg_info.name == "demo"
    assert info.pkg_info.version == "1.2"
    assert info.pkg_info.doc.brief == "the demo"
    assert info.pkg_info.arch == "v1model"


def test_program_without_main_gives_empty_p4info():
    src = HEADERS + "control C(inout meta_t m) { apply { } }\n"
    assert p4info(src) == p4info_pb2.P4Info()


# --------------------------------------------------------------------------------------------
# Output files


def test_write_p4runtime_files_formats(tmp_path):
    info = p4info(program(INGRESS_BASIC))
    paths = [str(tmp_path / n) for n in ("p.txtpb", "p.txt", "p.bin", "p.json")]
    write_p4runtime_files(info, paths)
    text = open(paths[0], encoding="utf-8").read()
    assert text.startswith("# proto-file: p4/config/v1/p4info.proto\n")
    assert text_format.Parse(text, p4info_pb2.P4Info()) == info
    assert open(paths[1]).read() == text
    binary = p4info_pb2.P4Info()
    binary.ParseFromString(open(paths[2], "rb").read())
    assert binary == info
    data = json.load(open(paths[3]))
    assert "tables" in data
    assert json_format.ParseDict(data, p4info_pb2.P4Info()) == info
    with pytest.raises(ValueError):
        write_p4runtime_files(info, [os.path.join(str(tmp_path), "p.yaml")])


def test_build_p4info_is_deterministic():
    src = program(INGRESS_BASIC)
    prog = compile_text(src, "a.p4", p4info=False).program
    assert build_p4info(prog) == build_p4info(prog)


# --------------------------------------------------------------------------------------------
# What survives p4c's front end


def test_directly_called_actions_appear_without_parameters():
    extra = """
action global_helper(bit<8> v) { }
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action called(inout bit<16> x, bit<8> y) { x = (bit<16>)y; }
    action both(bit<8> z) { meta.tmp = (bit<16>)z; }
    action only_inner() { }
    action outer() { only_inner(); }
    table t { key = { hdr.ethernet.etherType : exact; } actions = { both; outer; } }
    apply {
        called(meta.tmp, 3);
        both(4);
        global_helper(5);
        t.apply();
    }
}
"""
    info = p4info(program(ingress, extra=extra))
    # Tables' global actions first, then globals called from the body, then local actions.
    names = [a.preamble.name for a in info.actions]
    assert names == ["NoAction", "global_helper", "Ig.called", "Ig.both", "Ig.outer"]
    params = {a.preamble.name: [p.name for p in a.params] for a in info.actions}
    # A direct call's copy loses every parameter; a table's copy keeps directionless ones.
    assert params["Ig.called"] == []
    assert params["global_helper"] == []
    assert params["Ig.both"] == ["z"]


def test_applying_a_control_type_instantiates_it_at_the_end():
    extra = """
control Sub(inout headers_t hdr) {
    table st { key = { hdr.ethernet.etherType : exact; } actions = { NoAction; } }
    apply { st.apply(); }
}
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    table first { actions = { NoAction; } }
    apply {
        Sub.apply(hdr);
        first.apply();
    }
}
"""
    info = p4info(program(ingress, extra=extra))
    assert [t.preamble.name for t in info.tables] == ["Ig.first", "Ig.Sub.st"]


def test_dead_branches_and_key_applied_tables():
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action a() { }
    table dead { actions = { a; } }
    table sub { key = { hdr.ethernet.etherType : exact; } actions = { NoAction; } }
    table main_t {
        key = { sub.apply().hit : exact @name("sub_hit"); }
        actions = { NoAction; }
    }
    apply {
        if (false) { dead.apply(); }
        main_t.apply();
    }
}
"""
    info = p4info(program(ingress))
    assert [t.preamble.name for t in info.tables] == ["Ig.sub", "Ig.main_t"]
    assert [m.name for m in info.tables[1].match_fields] == ["sub_hit"]
    assert "Ig.a" not in [a.preamble.name for a in info.actions]


def test_elaboration_api():
    extra = """
control Inner(inout headers_t hdr)(bit<32> n) {
    register<bit<8>>(n) r;
    apply { r.write(0, 1); }
}
"""
    ingress = """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Inner(16) small;
    Inner(32) big;
    apply { small.apply(hdr); big.apply(hdr); }
}
"""
    prog = compile_text(program(ingress, extra=extra), "e.p4", p4info=False).program
    elab = elaborate(prog)
    ig = elab.block("ig")
    assert ig is not None and ig.decl.name == "Ig" and ig.cp_name == "Ig"
    assert [b.decl.name for b in elab.top_blocks()] == ["P", "VC", "Ig", "Eg", "CC", "D"]
    regs = ig.externs()
    assert [(r.cp_name, r.type_name, r.args["size"]) for r in regs] == [
        ("Ig.small.r", "register", 16),
        ("Ig.big.r", "register", 32),
    ]
    assert [b.cp_name for b in elab.all_blocks()][2:5] == ["Ig", "Ig.small", "Ig.big"]
    small = ig.nested()[0]
    assert small.args == {"n": 16}
    assert small.instance_of(small.decl.locals[0]) is regs[0]
    info = build_p4info(prog, elab)
    assert [(r.preamble.name, r.size) for r in info.registers] == [
        ("Ig.small.r", 16),
        ("Ig.big.r", 32),
    ]


def test_two_tables_with_one_control_plane_name_is_a_located_error():
    from softswitch.frontend.errors import CompileErrors

    src = program(
        """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action a() { }
    @name("shared") table t1 { actions = { a; } }
    @name("shared") table t2 { actions = { a; } }
    apply { t1.apply(); t2.apply(); }
}
"""
    )
    with pytest.raises(CompileErrors) as info:
        p4info(src)
    err = info.value.errors[0]
    assert "used for multiple table objects" in err.message
    assert err.loc is not None
    line = src.splitlines()[err.loc.line - 1]
    assert "t2" in line


def test_unnamed_in_place_action_profile_takes_the_property_name():
    src = program(
        """
control Ig(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action fwd(bit<9> p) { sm.egress_spec = p; }
    table t {
        key = { hdr.ethernet.dstAddr : exact; }
        actions = { fwd; NoAction; }
        implementation = action_profile(4);
    }
    apply { t.apply(); }
}
"""
    )
    info = p4info(src)
    prof = by_name(info.action_profiles, "implementation")
    assert prof.size == 4
    assert prof.preamble.id >> 24 == ids.ACTION_PROFILE
    assert info.tables[0].implementation_id == prof.preamble.id
    assert list(prof.table_ids) == [info.tables[0].preamble.id]
