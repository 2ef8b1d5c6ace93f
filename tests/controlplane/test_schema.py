"""P4Info -> P4Schema: objects by name, alias and id; clear errors for unknown names."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from google.protobuf import text_format

from controlplane.p4rt.schema import P4Schema, SchemaError
from softswitch.frontend.compiler import compile_text

# One program with every kind of P4Info object the client handles; the client tests use it too.
PROGRAM = r"""
#include <core.p4>
#include <v1model.p4>
const bit<9> CPU_PORT = 255;
@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> id; bit<3> flags; bit<13> frag; bit<8> ttl; bit<8> protocol; bit<16> csum; bit<32> src; bit<32> dst; }
header ipv6_t { bit<4> version; bit<8> tc; bit<20> fl; bit<16> plen; bit<8> nh; bit<8> hl; bit<128> src; bit<128> dst; }
struct headers { packet_out_t packet_out; packet_in_t packet_in; ethernet_t ethernet; ipv4_t ipv4; ipv6_t ipv6; }
struct learn_t { bit<48> src; bit<9> port; }
struct metadata { bit<8> unused; }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  value_set<bit<16>>(4) etypes;
  state start { transition select(sm.ingress_port) { CPU_PORT: parse_po; default: parse_eth; } }
  state parse_po { pkt.extract(hdr.packet_out); transition parse_eth; }
  state parse_eth { pkt.extract(hdr.ethernet); transition select(hdr.ethernet.etherType) { 0x0800: parse_ipv4; 0x86dd: parse_ipv6; etypes: accept; default: accept; } }
  state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
  state parse_ipv6 { pkt.extract(hdr.ipv6); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  register<bit<32>>(8) reg;
  counter(8, CounterType.packets_and_bytes) ctr;
  meter(4, MeterType.packets) mtr;
  direct_counter(CounterType.packets) acl_ctr;
  action drop() { mark_to_drop(sm); }
  action forward(bit<9> port) { sm.egress_spec = port; }
  action set_nhop(bit<48> dmac, bit<9> port) { hdr.ethernet.dst = dmac; sm.egress_spec = port; }
  action to_cpu() { sm.egress_spec = CPU_PORT; }
  action acl_drop() { acl_ctr.count(); mark_to_drop(sm); }
  action acl_allow() { acl_ctr.count(); }
  table dmac {
    key = { hdr.ethernet.dst: exact; }
    actions = { forward; to_cpu; drop; }
    default_action = drop();
    support_timeout = true;
  }
  table lpm4 { key = { hdr.ipv4.dst: lpm @name("ipv4_dst"); } actions = { set_nhop; drop; } }
  table lpm6 { key = { hdr.ipv6.dst: lpm; } actions = { set_nhop; drop; } }
  table acl {
    key = { hdr.ipv4.src: ternary; hdr.ipv4.protocol: range; hdr.ethernet.etherType: optional; }
    actions = { acl_drop; acl_allow; }
    counters = acl_ctr;
  }
  action_selector(HashAlgorithm.crc16, 32w16, 32w14) ecmp_sel;
  table ecmp { key = { hdr.ipv4.dst: exact; hdr.ipv4.src: selector; } actions = { set_nhop; } implementation = ecmp_sel; }
  apply {
    if (hdr.packet_out.isValid()) {
      sm.egress_spec = hdr.packet_out.egress_port;
      hdr.packet_out.setInvalid();
    } else {
      ctr.count((bit<32>)sm.ingress_port);
      reg.write(0, 32w7);
      bit<2> color; mtr.execute_meter<bit<2>>(0, color);
      digest<learn_t>(1, {hdr.ethernet.src, sm.ingress_port});
      dmac.apply(); lpm4.apply(); lpm6.apply(); acl.apply(); ecmp.apply();
      if (sm.egress_spec == CPU_PORT) { hdr.packet_in.setValid(); hdr.packet_in.ingress_port = sm.ingress_port; }
    }
  }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.packet_in); pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); pkt.emit(hdr.ipv6);} }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


@cache
def compiled() -> Any:
    """The compiled :data:`PROGRAM` (``.p4info``, ``.device_config_bytes()``)."""
    return compile_text(PROGRAM, "controlplane_test.p4")


@cache
def schema() -> P4Schema:
    return P4Schema(compiled().p4info)


def test_tables_by_name_alias_and_id() -> None:
    s = schema()
    t = s.tables["dmac"]
    assert s.tables["I.dmac"] is t
    assert s.tables[t.id] is t
    assert "dmac" in s.tables and "nope" not in s.tables
    f = t.match_fields["hdr.ethernet.dst"]
    assert (f.id, f.bitwidth, f.kind) == (1, 48, "exact")
    assert t.match_fields["dst"] is f  # the last name component works as an alias
    assert t.idle_timeout and not t.needs_priority
    assert t.initial_default_action == "I.drop"
    assert sorted(a.name for a in t.actions) == ["I.drop", "I.forward", "I.to_cpu"]
    assert s.tables["lpm4"].match_fields["ipv4_dst"].kind == "lpm"
    assert "NoAction" in s.tables["lpm4"].default_only


def test_acl_kinds_and_direct_counter() -> None:
    acl = schema().tables["acl"]
    assert [(f.name, f.kind, f.bitwidth) for f in acl.match_fields] == [
        ("hdr.ipv4.src", "ternary", 32),
        ("hdr.ipv4.protocol", "range", 8),
        ("hdr.ethernet.etherType", "optional", 16),
    ]
    assert acl.needs_priority
    assert acl.direct_counter == "I.acl_ctr"
    assert schema().direct_counters["acl_ctr"].table == "I.acl"


def test_actions_and_params() -> None:
    a = schema().actions["set_nhop"]
    assert a.name == "I.set_nhop"
    assert [(p.name, p.bitwidth) for p in a.params] == [("dmac", 48), ("port", 9)]
    assert a.params["port"].id == 2


def test_externs() -> None:
    s = schema()
    assert (s.counters["ctr"].unit, s.counters["ctr"].size) == ("both", 8)
    assert (s.meters["mtr"].unit, s.meters["mtr"].size) == ("packets", 4)
    assert (s.registers["reg"].bitwidth, s.registers["reg"].size) == (32, 8)
    ap = s.action_profiles["ecmp_sel"]
    assert ap.with_selector and ap.tables == ("I.ecmp",)
    assert s.tables["ecmp"].implementation == "I.ecmp_sel"
    vs = s.value_sets["etypes"]
    assert vs.size == 4 and [(f.id, f.bitwidth) for f in vs.match] == [(1, 16)]


def test_digest_layout_from_type_info() -> None:
    d = schema().digests["learn_t"]
    assert d.type.kind == "struct"
    assert d.fields == [("src", 48), ("port", 9)]


def test_controller_packet_metadata() -> None:
    s = schema()
    assert [(m.name, m.bitwidth) for m in s.packet_in.metadata] == [
        ("ingress_port", 9),
        ("_pad", 7),
    ]
    assert s.packet_out.metadata["egress_port"].id == 1


def test_unknown_names_list_close_matches() -> None:
    s = schema()
    with pytest.raises(SchemaError, match=r"no table named 'dmc' \(did you mean 'dmac'"):
        s.tables["dmc"]
    with pytest.raises(SchemaError, match="no match field of table I.dmac named 'dest'"):
        s.tables["dmac"].match_fields["dest"]
    with pytest.raises(
        SchemaError, match=r"no parameter of action I.forward named 'prot' .*'port'"
    ):
        s.actions["forward"].params["prot"]
    with pytest.raises(SchemaError, match=r"no counter named 'zzz' \(known: I.ctr\)"):
        s.counters["zzz"]
    with pytest.raises(SchemaError, match="no table with id 7"):
        s.tables[7]
    assert s.name_of(s.tables["dmac"].id) == "I.dmac"


def test_load_text_and_binary(tmp_path: Any) -> None:
    p4info = compiled().p4info
    txt = tmp_path / "p.p4info.txtpb"
    txt.write_text(text_format.MessageToString(p4info))
    binary = tmp_path / "p.p4info.bin"
    binary.write_bytes(p4info.SerializeToString())
    for path in (txt, binary):
        assert P4Schema.load(path).tables.names() == schema().tables.names()
    assert "5 tables" in repr(schema())


def test_records_keep_their_p4info_message_and_translation() -> None:
    s = schema()
    assert s.tables["dmac"].proto is s.p4info.tables[0]
    assert s.action_profiles["ecmp_sel"].proto.with_selector
    assert s.actions["forward"].params["port"].translation is None
    p4info = type(s.p4info)()
    p4info.CopyFrom(s.p4info)
    nt = p4info.type_info.new_types["port_t"]
    nt.translated_type.uri = "test.port"
    nt.translated_type.sdn_bitwidth = 32
    forward = next(a for a in p4info.actions if a.preamble.name == "I.forward")
    forward.params[0].type_name.name = "port_t"
    assert P4Schema(p4info).actions["forward"].params["port"].translation == "sdn_bitwidth"
    nt.translated_type.sdn_string.SetInParent()
    assert P4Schema(p4info).actions["forward"].params["port"].translation == "sdn_string"
