"""EntityStore: P4Runtime messages in, engine state and packets out, entities back."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from softswitch.engine.switch import Switch
from softswitch.frontend.compiler import CompileResult, compile_text
from softswitch.p4runtime.entities import EntityStore
from softswitch.p4runtime.errors import (
    STATUS_DETAILS_KEY,
    P4RTError,
    abort_with_batch_errors,
    batch_status,
)
from softswitch.p4runtime.p4info_index import (
    P4InfoIndex,
    decode_bits,
    decode_signed_bits,
    encode_bits,
    encode_signed_bits,
)

Code = grpc.StatusCode
MT = p4info_pb2.MatchField
INSERT, MODIFY, DELETE = (
    p4runtime_pb2.Update.INSERT,
    p4runtime_pb2.Update.MODIFY,
    p4runtime_pb2.Update.DELETE,
)

PROGRAM = """#include <core.p4>
#include <v1model.p4>

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> pad; }
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; bit<16> tag; }
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv4_t {
  bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
  bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
  bit<32> srcAddr; bit<32> dstAddr;
}
struct learn_t { bit<48> src; bit<9> port; }
struct headers { packet_out_t pout; packet_in_t pin; ethernet_t ethernet; ipv4_t ipv4; }
struct metadata { bit<16> l4; }

parser P(packet_in pkt, out headers hdr, inout metadata meta,
         inout standard_metadata_t sm) {
  value_set<bit<16>>(4) custom_etype;
  state start {
    transition select(sm.ingress_port) { 510: parse_pout; default: parse_eth; }
  }
  state parse_pout { pkt.extract(hdr.pout); transition parse_eth; }
  state parse_eth {
    pkt.extract(hdr.ethernet);
    transition select(hdr.ethernet.etherType) {
      0x0800: parse_ipv4; custom_etype: parse_ipv4; default: accept; }
  }
  state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  counter(64, CounterType.packets_and_bytes) port_counter;
  meter(16, MeterType.packets) port_meter;
  register<bit<32>>(8) scratch;
  register<int<16>>(2) signed_reg;
  direct_counter(CounterType.packets_and_bytes) acl_counter;
  direct_meter<bit<2>>(MeterType.bytes) acl_meter;
  bit<2> color;
  action drop() { mark_to_drop(sm); }
  action fwd(bit<9> port) { sm.egress_spec = port; }
  action set_dmac(bit<48> dmac, bit<9> port) { hdr.ethernet.dst = dmac; sm.egress_spec = port; }
  action acl_fwd(bit<9> port) { sm.egress_spec = port; acl_counter.count(); acl_meter.read(color); }
  action acl_drop() { mark_to_drop(sm); acl_counter.count(); acl_meter.read(color); }
  action to_cpu() { sm.egress_spec = 510; }
  action learn() { digest<learn_t>(1, {hdr.ethernet.src, sm.ingress_port}); }
  table smac { key = { hdr.ethernet.src: exact; } actions = { learn; NoAction; }
    default_action = learn(); support_timeout = true; size = 64; }
  table ipv4_lpm {
    key = { hdr.ipv4.dstAddr: lpm @name("ipv4_dst"); }
    actions = { set_dmac; drop; NoAction; }
    default_action = drop(); size = 16;
  }
  table acl {
    key = { sm.ingress_port: ternary; hdr.ethernet.etherType: ternary;
            hdr.ipv4.srcAddr: range @name("src"); meta.l4: optional; }
    actions = { acl_fwd; acl_drop; @defaultonly NoAction; }
    counters = acl_counter; meters = acl_meter;
    const default_action = NoAction(); size = 8;
  }
  table fixed { key = { hdr.ethernet.etherType: exact; } actions = { fwd; drop; }
    const entries = { 0x9999: fwd(7); } }
  table preinit { key = { hdr.ethernet.dst: exact; } actions = { fwd; @tableonly drop; NoAction; }
    entries = { 0x0000000000aa: fwd(5); } }
  action_selector(HashAlgorithm.crc16, 32w16, 32w14) ecmp_sel;
  table ecmp { key = { hdr.ipv4.dstAddr: exact; hdr.ipv4.srcAddr: selector; }
    actions = { fwd; } implementation = ecmp_sel; size = 8; }
  apply {
    if (hdr.pout.isValid()) { sm.egress_spec = hdr.pout.egress_port; hdr.pout.setInvalid(); return; }
    if (sm.ingress_port == 9) { to_cpu(); return; }
    port_counter.count((bit<32>)sm.ingress_port);
    smac.apply();
    if (hdr.ipv4.isValid()) { ipv4_lpm.apply(); acl.apply(); ecmp.apply(); }
    fixed.apply();
    preinit.apply();
  }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  apply {
    if (sm.egress_port == 510) { hdr.pin.setValid(); hdr.pin.ingress_port = sm.ingress_port; }
  }
}
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.pin); pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


@lru_cache(maxsize=1)
def compiled() -> CompileResult:
    return compile_text(PROGRAM, "p4rt_entities.p4")


class Env:
    """A switch running PROGRAM, its EntityStore and name -> id lookups."""

    def __init__(self) -> None:
        r = compiled()
        self.p4info = r.p4info
        self.sw = Switch.from_program(r)
        self.store = EntityStore(r.p4info, self.sw, device_id=1)
        self.ix = P4InfoIndex(r.p4info)

    # -- builders --------------------------------------------------------------------------

    def action(self, name: str, *args: int | bytes) -> p4runtime_pb2.Action:
        a = self.ix.actions.named(name)
        msg = p4runtime_pb2.Action(action_id=a.id)
        for pid, v in zip(a.params, args):
            msg.params.add(param_id=pid, value=v if isinstance(v, bytes) else encode_bits(v))
        return msg

    def entry(
        self,
        table: str,
        match: dict[str, Any] | None = None,
        action: p4runtime_pb2.Action | None = None,
        priority: int = 0,
        **kw: Any,
    ) -> p4runtime_pb2.TableEntry:
        """``match``: field name -> int (exact/optional), (v, plen) lpm, ("t", v, m) ternary,
        ("r", lo, hi) range; raw FieldMatch messages pass through."""
        t = self.ix.tables.named(table)
        te = p4runtime_pb2.TableEntry(table_id=t.id, priority=priority, **kw)
        by_name = {f.name: f for f in t.fields.values()}
        for name, v in (match or {}).items():
            f = by_name[name]
            fm = te.match.add(field_id=f.id)
            mt = f.match_type
            if mt == MT.EXACT:
                fm.exact.value = v if isinstance(v, bytes) else encode_bits(v)
            elif mt == MT.LPM:
                fm.lpm.value, fm.lpm.prefix_len = encode_bits(v[0]), v[1]
            elif mt == MT.TERNARY:
                fm.ternary.value, fm.ternary.mask = encode_bits(v[1]), encode_bits(v[2])
            elif mt == MT.RANGE:
                fm.range.low, fm.range.high = encode_bits(v[1]), encode_bits(v[2])
            else:
                fm.optional.value = encode_bits(v)
        if action is not None:
            te.action.action.CopyFrom(action)
        return te

    # -- RPC-like helpers ------------------------------------------------------------------

    def write(self, utype: int, **entity: Any) -> None:
        self.store.write(p4runtime_pb2.Update(type=utype, entity=p4runtime_pb2.Entity(**entity)))

    def error(self, utype: int, **entity: Any) -> P4RTError:
        with pytest.raises(P4RTError) as info:
            self.write(utype, **entity)
        return info.value

    def read(self, **entity: Any) -> list[Any]:
        ents = list(self.store.read(p4runtime_pb2.Entity(**entity)))
        kind = next(iter(entity))
        return [getattr(e, kind) if kind != "packet_replication_engine_entry" else e for e in ents]

    def send(self, port: int, frame: bytes) -> list[tuple[int, bytes]]:
        self.sw.inject(port, frame)
        self.sw.run_until_idle()
        return self.sw.outputs()


@pytest.fixture
def env() -> Env:
    return Env()


def ipv4(
    dst: str = "198.51.100.7",
    src: str = "192.0.2.1",
    etype: int = 0x0800,
    smac: str = "02:00:00:00:00:01",
) -> bytes:
    return bytes(
        Ether(dst="02:00:00:00:00:02", src=smac, type=etype)
        / IP(src=src, dst=dst)
        / UDP(sport=1234, dport=5678)
        / b"payload"
    )


# -- codec ------------------------------------------------------------------------------------


def test_bytestring_codec() -> None:
    assert encode_bits(0, 16) == b"\x00"
    assert encode_bits(0x63, 16) == b"\x63"
    assert encode_bits(0x3064, 16) == b"\x30\x64"
    assert decode_bits(b"\x00\x00\x63", 12) == 0x63  # padded forms are accepted
    assert decode_bits(b"\x0f\xff", 12) == 0xFFF
    for bad, width in ((b"\x10\x63", 12), (b"\x01\x00\x63", 16), (b"", 8)):
        with pytest.raises(P4RTError) as e:
            decode_bits(bad, width)
        assert e.value.code == Code.INVALID_ARGUMENT


def test_signed_bytestring_codec() -> None:
    # the spec's examples: sign extension is accepted, reads give the shortest form
    assert decode_signed_bits(b"\xff\x9d", 8) == 0x9D
    assert decode_signed_bits(b"\xfd\x1d", 12) == (-739) & 0xFFF
    assert encode_signed_bits((-739) & 0xFFF, 12) == b"\xfd\x1d"
    assert encode_signed_bits(0, 16) == b"\x00"
    assert encode_signed_bits(0x80, 16) == b"\x00\x80"
    for bad, width in ((b"\x00\x9d", 8), (b"\x8d\x1d", 12)):
        with pytest.raises(P4RTError):
            decode_signed_bits(bad, width)


def test_index_by_id_and_name() -> None:
    ix = P4InfoIndex(compiled().p4info)
    acl = ix.tables.named("I.acl")
    assert ix.tables.named("acl") is acl
    assert acl.needs_priority and acl.direct_counter_id and acl.direct_meter_id
    assert acl.const_default_action_id == ix.actions.named("NoAction").id
    assert ix.tables.named("I.smac").supports_idle_timeout
    assert ix.tables.named("I.fixed").is_const
    assert ix.tables.named("I.ecmp").implementation_id == ix.action_profiles.named("I.ecmp_sel").id
    assert [p.name for p in ix.actions.named("I.set_dmac").params.values()] == ["dmac", "port"]
    with pytest.raises(P4RTError) as e:
        ix.tables[12345]
    assert e.value.code == Code.NOT_FOUND


# -- errors -----------------------------------------------------------------------------------


class _Ctx:
    def __init__(self) -> None:
        self.trailing: Any = None
        self.aborted: Any = None

    def set_trailing_metadata(self, md: Any) -> None:
        self.trailing = md

    def abort(self, code: grpc.StatusCode, message: str) -> None:
        self.aborted = (code, message)
        raise RuntimeError("aborted")


def test_batch_error_details() -> None:
    errs = [None, P4RTError(Code.NOT_FOUND, "no such entry"), None]
    st = batch_status(errs)
    assert st.code == code_pb2.UNKNOWN
    details = []
    for d in st.details:
        e = p4runtime_pb2.Error()
        assert d.Unpack(e)
        details.append((e.canonical_code, e.message))
    assert details == [(code_pb2.OK, ""), (code_pb2.NOT_FOUND, "no such entry"), (code_pb2.OK, "")]
    ctx = _Ctx()
    with pytest.raises(RuntimeError):
        abort_with_batch_errors(ctx, errs)
    assert ctx.aborted[0] == Code.UNKNOWN
    ((key, blob),) = ctx.trailing
    assert key == STATUS_DETAILS_KEY
    assert status_pb2.Status.FromString(blob) == st


# -- exact table, forwarding ------------------------------------------------------------------


def test_lpm_entry_forwards_and_reads_back(env: Env) -> None:
    te = env.entry(
        "I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, env.action("I.set_dmac", 0x020000000099, 3)
    )
    env.write(INSERT, table_entry=te)
    out = env.send(1, ipv4(dst="198.51.100.7"))
    assert len(out) == 1 and out[0][0] == 3
    assert Ether(out[0][1]).dst == "02:00:00:00:00:99"
    # a miss runs the default action (drop)
    assert env.send(1, ipv4(dst="203.0.113.9")) == []
    got = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    assert got == [te]
    # wildcard over all tables includes the const and initial entries
    every = env.read(table_entry=p4runtime_pb2.TableEntry())
    names = {env.ix.tables[e.table_id].name for e in every}
    assert names == {"I.ipv4_lpm", "I.fixed", "I.preinit"}


def test_modify_and_delete(env: Env) -> None:
    te = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, env.action("I.drop"))
    env.write(INSERT, table_entry=te)
    assert env.send(1, ipv4()) == []
    te2 = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, env.action("I.set_dmac", 0x1, 4))
    env.write(MODIFY, table_entry=te2)
    assert [p for p, _ in env.send(1, ipv4())] == [4]
    assert env.read(table_entry=te2) == [te2]
    env.write(DELETE, table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}))
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == []
    assert env.send(1, ipv4()) == []


def test_non_canonical_input_reads_back_canonical(env: Env) -> None:
    te = env.entry(
        "I.smac", {"hdr.ethernet.src": b"\x00\x00\x00\x00\x00\x00\x01"}, env.action("I.learn")
    )
    env.write(INSERT, table_entry=te)
    (got,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    assert got.match[0].exact.value == b"\x01"


# -- all match kinds, priorities, direct resources --------------------------------------------


def acl_entry(env: Env, priority: int = 10, **kw: Any) -> p4runtime_pb2.TableEntry:
    return env.entry(
        "I.acl",
        {
            "sm.ingress_port": ("t", 1, 0x1FF),
            "hdr.ethernet.etherType": ("t", 0x0800, 0xFFFF),
            "src": ("r", 0xC0000200, 0xC00002FF),
            "meta.l4": 0,
        },
        env.action("I.acl_fwd", 6),
        priority,
        **kw,
    )


def test_ternary_range_optional_round_trip_and_forwarding(env: Env) -> None:
    te = acl_entry(env)
    env.write(INSERT, table_entry=te)
    (got,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    expected = p4runtime_pb2.TableEntry()
    expected.CopyFrom(te)
    assert got == expected
    # forwarding: port 1, IPv4 from 192.0.2.0/24 -> port 6 (ipv4_lpm misses and drops first,
    # but acl runs after it and sets egress_spec again)
    out = env.send(1, ipv4(src="192.0.2.55"))
    assert [p for p, _ in out] == [6]
    assert env.send(1, ipv4(src="203.0.113.55")) == []  # outside the range: lpm's drop
    assert env.send(2, ipv4(src="192.0.2.55")) == []  # other port


def test_dont_care_fields_are_omitted(env: Env) -> None:
    te = env.entry(
        "I.acl",
        {"hdr.ethernet.etherType": ("t", 0x0800, 0xFF00)},
        env.action("I.acl_drop"),
        priority=3,
    )
    env.write(INSERT, table_entry=te)
    (got,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    assert [m.field_id for m in got.match] == [2]
    assert got.priority == 3


def test_priority_distinguishes_entries_and_filters_reads(env: Env) -> None:
    env.write(INSERT, table_entry=acl_entry(env, 10))
    env.write(INSERT, table_entry=acl_entry(env, 20))
    assert (
        len(env.read(table_entry=p4runtime_pb2.TableEntry(table_id=acl_entry(env).table_id))) == 2
    )
    got = env.read(
        table_entry=p4runtime_pb2.TableEntry(table_id=acl_entry(env).table_id, priority=20)
    )
    assert [e.priority for e in got] == [20]
    # a specific key read
    assert [e.priority for e in env.read(table_entry=acl_entry(env, 10))] == [10]


@pytest.mark.parametrize(
    "match,priority,code",
    [
        ({"sm.ingress_port": ("t", 3, 1)}, 1, Code.INVALID_ARGUMENT),  # value bits outside mask
        ({"sm.ingress_port": ("t", 0, 0)}, 1, Code.INVALID_ARGUMENT),  # mask 0: omit instead
        ({"src": ("r", 9, 3)}, 1, Code.INVALID_ARGUMENT),  # empty range
        ({"src": ("r", 0, 0xFFFFFFFF)}, 1, Code.INVALID_ARGUMENT),  # full range: omit
        ({"sm.ingress_port": ("t", 1, 0x1FF)}, 0, Code.INVALID_ARGUMENT),  # priority needed
        ({"sm.ingress_port": ("t", 0x200, 0x3FF)}, 1, Code.INVALID_ARGUMENT),  # too wide
    ],
)
def test_acl_match_errors(
    env: Env, match: dict[str, Any], priority: int, code: grpc.StatusCode
) -> None:
    te = env.entry("I.acl", match, env.action("I.acl_drop"), priority)
    assert env.error(INSERT, table_entry=te).code == code


def test_lpm_errors(env: Env) -> None:
    drop = env.action("I.drop")
    e = env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336401, 24)}, drop))
    assert e.code == Code.INVALID_ARGUMENT and "prefix" in e.message
    e = env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (0, 0)}, drop))
    assert e.code == Code.INVALID_ARGUMENT
    e = env.error(
        INSERT,
        table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, drop, priority=5),
    )
    assert e.code == Code.INVALID_ARGUMENT  # no priority in an lpm table


def test_table_entry_errors(env: Env) -> None:
    lpm = env.ix.tables.named("I.ipv4_lpm")
    drop = env.action("I.drop")
    # unknown table
    assert (
        env.error(INSERT, table_entry=p4runtime_pb2.TableEntry(table_id=99)).code == Code.NOT_FOUND
    )
    # exact field missing
    e = env.error(INSERT, table_entry=env.entry("I.smac", {}, env.action("I.learn")))
    assert e.code == Code.INVALID_ARGUMENT
    # unknown field id
    te = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, drop)
    te.match[0].field_id = 7
    assert env.error(INSERT, table_entry=te).code == Code.INVALID_ARGUMENT
    # wrong kind for the field
    te = p4runtime_pb2.TableEntry(table_id=lpm.id)
    te.match.add(field_id=1).exact.value = b"\x01"
    te.action.action.CopyFrom(drop)
    assert env.error(INSERT, table_entry=te).code == Code.INVALID_ARGUMENT
    # action not in the table, missing param, unknown param
    good = {"ipv4_dst": (0xC6336400, 24)}
    assert (
        env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", good, env.action("I.fwd", 1))).code
        == Code.INVALID_ARGUMENT
    )
    a = env.action("I.set_dmac", 1, 2)
    del a.params[1]
    assert (
        env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", good, a)).code
        == Code.INVALID_ARGUMENT
    )
    a = env.action("I.set_dmac", 1, 2)
    a.params.add(param_id=9, value=b"\x01")
    assert (
        env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", good, a)).code
        == Code.INVALID_ARGUMENT
    )
    # param too wide for bit<9>
    assert (
        env.error(
            INSERT, table_entry=env.entry("I.ipv4_lpm", good, env.action("I.set_dmac", 1, 0x200))
        ).code
        == Code.INVALID_ARGUMENT
    )
    # no action on insert
    assert (
        env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", good)).code == Code.INVALID_ARGUMENT
    )
    # duplicate, missing
    env.write(INSERT, table_entry=env.entry("I.ipv4_lpm", good, drop))
    assert (
        env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", good, drop)).code
        == Code.ALREADY_EXISTS
    )
    other = {"ipv4_dst": (0xCB007100, 24)}
    assert (
        env.error(MODIFY, table_entry=env.entry("I.ipv4_lpm", other, drop)).code == Code.NOT_FOUND
    )
    assert env.error(DELETE, table_entry=env.entry("I.ipv4_lpm", other)).code == Code.NOT_FOUND
    # @defaultonly action in an entry
    e = env.error(INSERT, table_entry=env.entry("I.acl", {"meta.l4": 1}, env.action("NoAction"), 1))
    assert e.code == Code.PERMISSION_DENIED
    # idle timeout on a table without support
    e = env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", other, drop, idle_timeout_ns=10**9))
    assert e.code == Code.INVALID_ARGUMENT
    # empty update
    with pytest.raises(P4RTError) as info:
        env.store.write(p4runtime_pb2.Update(type=INSERT))
    assert info.value.code == Code.INVALID_ARGUMENT


def test_table_full(env: Env) -> None:
    drop = env.action("I.drop")
    for i in range(16):
        env.write(INSERT, table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (i << 8, 24)}, drop))
    e = env.error(INSERT, table_entry=env.entry("I.ipv4_lpm", {"ipv4_dst": (99 << 8, 24)}, drop))
    assert e.code == Code.RESOURCE_EXHAUSTED


def test_failing_update_leaves_no_trace(env: Env) -> None:
    # a valid key with a bad direct meter config (cir > pir): nothing inserted
    te = acl_entry(env)
    te.meter_config.CopyFrom(p4runtime_pb2.MeterConfig(cir=100, cburst=10, pir=50, pburst=10))
    assert env.error(INSERT, table_entry=te).code == Code.INVALID_ARGUMENT
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == []
    # a modify that fails keeps the old action
    good = acl_entry(env)
    env.write(INSERT, table_entry=good)
    bad = acl_entry(env)
    bad.action.action.params[0].value = b"\x7f\xff"
    assert env.error(MODIFY, table_entry=bad).code == Code.INVALID_ARGUMENT
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == [good]


def test_direct_counter_and_meter_in_entry(env: Env) -> None:
    te = acl_entry(env)
    cfg = p4runtime_pb2.MeterConfig(cir=249, cburst=1000, pir=500, pburst=2000)
    te.meter_config.CopyFrom(cfg)
    te.counter_data.CopyFrom(p4runtime_pb2.CounterData(packet_count=5, byte_count=50))
    env.write(INSERT, table_entry=te)
    frame = ipv4(src="192.0.2.9")
    env.send(1, frame)
    req = p4runtime_pb2.TableEntry(table_id=te.table_id)
    req.counter_data.SetInParent()
    req.meter_config.SetInParent()
    (got,) = env.read(table_entry=req)
    assert got.counter_data.packet_count == 6
    assert got.counter_data.byte_count == 50 + len(frame)
    assert got.meter_config == cfg  # read-write symmetric (249 survives the unit change)
    # without asking, neither is returned
    (plain,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id))
    assert not plain.HasField("counter_data") and not plain.HasField("meter_config")
    # DirectCounterEntry / DirectMeterEntry
    key = acl_entry(env)
    key.ClearField("action")
    env.write(
        MODIFY,
        direct_counter_entry=p4runtime_pb2.DirectCounterEntry(
            table_entry=key, data=p4runtime_pb2.CounterData(packet_count=1, byte_count=2)
        ),
    )
    (dc,) = env.read(
        direct_counter_entry=p4runtime_pb2.DirectCounterEntry(
            table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)
        )
    )
    assert (dc.data.packet_count, dc.data.byte_count) == (1, 2)
    assert dc.table_entry.priority == 10
    env.write(MODIFY, direct_meter_entry=p4runtime_pb2.DirectMeterEntry(table_entry=key))
    (dm,) = env.read(
        direct_meter_entry=p4runtime_pb2.DirectMeterEntry(table_entry=p4runtime_pb2.TableEntry())
    )
    assert not dm.HasField("config")
    # a MODIFY of the entry without meter_config resets the meter (spec)
    env.write(
        MODIFY, direct_meter_entry=p4runtime_pb2.DirectMeterEntry(table_entry=key, config=cfg)
    )
    env.write(MODIFY, table_entry=acl_entry(env))
    (dm,) = env.read(
        direct_meter_entry=p4runtime_pb2.DirectMeterEntry(table_entry=p4runtime_pb2.TableEntry())
    )
    assert not dm.HasField("config")
    # counter_data on a table without a direct counter
    bad = env.entry("I.smac", {"hdr.ethernet.src": 1}, env.action("I.learn"))
    bad.counter_data.SetInParent()
    assert env.error(INSERT, table_entry=bad).code == Code.INVALID_ARGUMENT


# -- default entries, const tables, initial entries -------------------------------------------


def test_default_entry(env: Env) -> None:
    t = env.ix.tables.named("I.ipv4_lpm")
    req = p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True)
    (d,) = env.read(table_entry=req)
    assert d.action.action.action_id == env.ix.actions.named("I.drop").id
    te = p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True)
    te.action.action.CopyFrom(env.action("I.set_dmac", 0x5, 2))
    env.write(MODIFY, table_entry=te)
    assert [p for p, _ in env.send(1, ipv4())] == [2]
    (d,) = env.read(table_entry=req)
    assert d == te
    # MODIFY without an action restores the program's default
    env.write(MODIFY, table_entry=p4runtime_pb2.TableEntry(table_id=t.id, is_default_action=True))
    (d,) = env.read(table_entry=req)
    assert d.action.action.action_id == env.ix.actions.named("I.drop").id
    assert env.send(1, ipv4()) == []
    # INSERT/DELETE are invalid on the default entry
    assert env.error(INSERT, table_entry=te).code == Code.INVALID_ARGUMENT
    assert env.error(DELETE, table_entry=te).code == Code.INVALID_ARGUMENT


def test_default_entry_scope_and_const(env: Env) -> None:
    pre = env.ix.tables.named("I.preinit")
    te = p4runtime_pb2.TableEntry(table_id=pre.id, is_default_action=True)
    te.action.action.CopyFrom(env.action("I.drop"))  # @tableonly there
    assert env.error(MODIFY, table_entry=te).code == Code.PERMISSION_DENIED
    acl = env.ix.tables.named("I.acl")
    te = p4runtime_pb2.TableEntry(table_id=acl.id, is_default_action=True)
    te.action.action.CopyFrom(env.action("NoAction"))
    assert env.error(MODIFY, table_entry=te).code == Code.PERMISSION_DENIED  # const default
    (d,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=acl.id, is_default_action=True))
    assert d.is_const


def test_const_table(env: Env) -> None:
    t = env.ix.tables.named("I.fixed")
    (e,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=t.id))
    assert e.match[0].exact.value == b"\x99\x99" and e.is_const
    assert e.action.action.params[0].value == b"\x07"
    fwd = env.action("I.fwd", 1)
    assert (
        env.error(INSERT, table_entry=env.entry("I.fixed", {"hdr.ethernet.etherType": 1}, fwd)).code
        == Code.PERMISSION_DENIED
    )
    assert (
        env.error(DELETE, table_entry=env.entry("I.fixed", {"hdr.ethernet.etherType": 0x9999})).code
        == Code.PERMISSION_DENIED
    )
    assert (
        env.error(
            MODIFY, table_entry=env.entry("I.fixed", {"hdr.ethernet.etherType": 0x9999}, fwd)
        ).code
        == Code.PERMISSION_DENIED
    )
    # the const entry forwards
    assert [p for p, _ in env.send(1, ipv4(etype=0x9999))] == [7]


def test_preinitialized_table(env: Env) -> None:
    t = env.ix.tables.named("I.preinit")
    (e,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=t.id))
    assert e.match[0].exact.value == b"\xaa" and not e.is_const
    env.write(
        MODIFY,
        table_entry=env.entry("I.preinit", {"hdr.ethernet.dst": 0xAA}, env.action("I.fwd", 8)),
    )
    env.write(
        INSERT,
        table_entry=env.entry("I.preinit", {"hdr.ethernet.dst": 0xBB}, env.action("I.fwd", 9)),
    )
    assert len(env.read(table_entry=p4runtime_pb2.TableEntry(table_id=t.id))) == 2
    env.write(DELETE, table_entry=env.entry("I.preinit", {"hdr.ethernet.dst": 0xAA}))


# -- idle timeout -----------------------------------------------------------------------------


def test_idle_timeout(env: Env) -> None:
    te = env.entry(
        "I.smac",
        {"hdr.ethernet.src": 0x020000000001},
        env.action("I.learn"),
        idle_timeout_ns=2_000_000,
    )
    env.write(INSERT, table_entry=te)
    assert env.store.poll_idle_timeouts() == []
    env.sw.clock.advance_to(env.sw.clock.now_us() + 1000)
    env.send(1, ipv4(smac="02:00:00:00:00:01"))  # a hit restarts the timer
    req = p4runtime_pb2.TableEntry(table_id=te.table_id)
    req.time_since_last_hit.SetInParent()
    (got,) = env.read(table_entry=req)
    assert got.idle_timeout_ns == 2_000_000
    assert got.time_since_last_hit.elapsed_ns < 1_000_000
    env.sw.clock.advance_to(env.sw.clock.now_us() + 3000)
    (expired,) = env.store.poll_idle_timeouts()
    assert expired.match == te.match and expired.idle_timeout_ns == 2_000_000
    assert env.store.poll_idle_timeouts() == []  # not again within a TTL
    env.sw.clock.advance_to(env.sw.clock.now_us() + 1999)
    assert env.store.poll_idle_timeouts() == []
    env.sw.clock.advance_to(env.sw.clock.now_us() + 1)
    (again,) = env.store.poll_idle_timeouts()  # another TTL without hits: notified again
    assert again.match == te.match
    bad = env.entry("I.smac", {"hdr.ethernet.src": 2}, env.action("I.learn"))
    bad.time_since_last_hit.SetInParent()
    assert env.error(INSERT, table_entry=bad).code == Code.INVALID_ARGUMENT


# -- action profiles --------------------------------------------------------------------------


def member(env: Env, mid: int, port: int) -> p4runtime_pb2.ActionProfileMember:
    prof = env.ix.action_profiles.named("I.ecmp_sel")
    return p4runtime_pb2.ActionProfileMember(
        action_profile_id=prof.id, member_id=mid, action=env.action("I.fwd", port)
    )


def group(
    env: Env, gid: int, mids: Sequence[int], max_size: int = 0
) -> p4runtime_pb2.ActionProfileGroup:
    prof = env.ix.action_profiles.named("I.ecmp_sel")
    g = p4runtime_pb2.ActionProfileGroup(action_profile_id=prof.id, group_id=gid, max_size=max_size)
    for m in mids:
        g.members.add(member_id=m, weight=1)
    return g


def test_members_groups_and_indirect_entries(env: Env) -> None:
    env.write(INSERT, action_profile_member=member(env, 1, 11))
    env.write(INSERT, action_profile_member=member(env, 2, 12))
    assert env.error(INSERT, action_profile_member=member(env, 1, 13)).code == Code.ALREADY_EXISTS
    env.write(INSERT, action_profile_group=group(env, 7, [1, 2], max_size=4))
    te = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336407})
    te.action.action_profile_group_id = 7
    env.write(INSERT, table_entry=te)
    out = env.send(1, ipv4(dst="198.51.100.7", src="192.0.2.1"))
    assert out and out[0][0] in (11, 12)
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == [te]
    assert env.read(action_profile_group=p4runtime_pb2.ActionProfileGroup()) == [
        group(env, 7, [1, 2], max_size=4)
    ]
    assert env.read(action_profile_member=p4runtime_pb2.ActionProfileMember()) == [
        member(env, 1, 11),
        member(env, 2, 12),
    ]
    # in use: FAILED_PRECONDITION
    assert (
        env.error(DELETE, action_profile_member=member(env, 1, 0)).code == Code.FAILED_PRECONDITION
    )
    assert (
        env.error(DELETE, action_profile_group=group(env, 7, [])).code == Code.FAILED_PRECONDITION
    )
    # a member entry; a missing member/group
    te2 = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336408})
    te2.action.action_profile_member_id = 2
    env.write(INSERT, table_entry=te2)
    assert [p for p, _ in env.send(1, ipv4(dst="198.51.100.8"))] == [12]
    te3 = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336409})
    te3.action.action_profile_member_id = 99
    assert env.error(INSERT, table_entry=te3).code == Code.NOT_FOUND
    te3.action.action_profile_group_id = 99
    assert env.error(INSERT, table_entry=te3).code == Code.NOT_FOUND
    # a direct action in an indirect table
    te3.action.action.CopyFrom(env.action("I.fwd", 1))
    assert env.error(INSERT, table_entry=te3).code == Code.INVALID_ARGUMENT
    # member modify is seen through the group
    env.write(MODIFY, action_profile_member=member(env, 2, 14))
    assert [p for p, _ in env.send(1, ipv4(dst="198.51.100.8"))] == [14]
    # group errors
    assert (
        env.error(MODIFY, action_profile_group=group(env, 7, [1], max_size=5)).code
        == Code.INVALID_ARGUMENT
    )  # max_size cannot change
    assert env.error(INSERT, action_profile_group=group(env, 8, [1, 3])).code == Code.NOT_FOUND
    assert (
        env.error(INSERT, action_profile_group=group(env, 8, [1, 2], max_size=1)).code
        == Code.RESOURCE_EXHAUSTED
    )
    # weights: the engine's group holds them (no hidden copies); max_size counts the weights
    g = group(env, 8, [1, 2], max_size=3)
    g.members[0].weight = 3
    assert env.error(INSERT, action_profile_group=g).code == Code.RESOURCE_EXHAUSTED
    g.max_size = 4
    env.write(INSERT, action_profile_group=g)
    assert env.read(action_profile_group=group(env, 8, [])) == [g]
    prof = env.sw.action_profiles["I.ecmp_sel"]
    assert prof.group_weights(8) == {1: 3, 2: 1} and sorted(prof.members()) == [1, 2]
    env.write(DELETE, action_profile_group=group(env, 8, []))
    env.write(MODIFY, action_profile_group=group(env, 7, [1], max_size=4))
    assert env.read(action_profile_group=group(env, 7, []))[0].members[0].member_id == 1
    # clean up in order
    env.write(DELETE, table_entry=env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336407}))
    env.write(DELETE, action_profile_group=group(env, 7, []))
    assert env.error(DELETE, action_profile_group=group(env, 7, [])).code == Code.NOT_FOUND


def test_one_shot_action_set(env: Env) -> None:
    te = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336407})
    aset = te.action.action_profile_action_set
    aset.action_profile_actions.add(action=env.action("I.fwd", 21), weight=1)
    aset.action_profile_actions.add(action=env.action("I.fwd", 22), weight=2)
    env.write(INSERT, table_entry=te)
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == [te]
    seen = set()
    for i in range(40):
        out = env.send(1, ipv4(dst="198.51.100.7", src=f"192.0.2.{i + 1}"))
        seen.add(out[0][0])
    assert seen == {21, 22}
    # one hidden member per action, the weight on the engine's group
    prof = env.sw.action_profiles["I.ecmp_sel"]
    (weights,) = [prof.group_weights(g) for g in prof.groups()]
    assert sorted(weights.values()) == [1, 2]
    assert sorted(prof.member(m).args[0] for m in weights) == [21, 22]
    # hidden members and groups are not visible
    assert env.read(action_profile_member=p4runtime_pb2.ActionProfileMember()) == []
    assert env.read(action_profile_group=p4runtime_pb2.ActionProfileGroup()) == []
    # replace by another set, then delete: the profile is empty again
    te2 = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336407})
    te2.action.action_profile_action_set.action_profile_actions.add(
        action=env.action("I.fwd", 23), weight=1
    )
    env.write(MODIFY, table_entry=te2)
    assert [p for p, _ in env.send(1, ipv4(dst="198.51.100.7"))] == [23]
    env.write(DELETE, table_entry=te2)
    prof = env.sw.tables["I.ecmp"].profile
    assert prof.members() == {} and prof.groups() == {}


# -- counters, meters, registers --------------------------------------------------------------


def test_counter_entries(env: Env) -> None:
    c = env.ix.counters.named("I.port_counter")
    frame = ipv4()
    env.send(3, frame)
    one = p4runtime_pb2.CounterEntry(counter_id=c.id)
    one.index.index = 3
    (got,) = env.read(counter_entry=one)
    assert (got.data.packet_count, got.data.byte_count) == (1, len(frame))
    assert len(env.read(counter_entry=p4runtime_pb2.CounterEntry(counter_id=c.id))) == 64
    assert len(env.read(counter_entry=p4runtime_pb2.CounterEntry())) == 64
    w = p4runtime_pb2.CounterEntry(
        counter_id=c.id, data=p4runtime_pb2.CounterData(packet_count=7, byte_count=70)
    )
    w.index.index = 5
    env.write(MODIFY, counter_entry=w)
    one.index.index = 5
    assert env.read(counter_entry=one)[0].data == w.data
    assert env.error(INSERT, counter_entry=w).code == Code.INVALID_ARGUMENT
    w.index.index = 64
    assert env.error(MODIFY, counter_entry=w).code == Code.OUT_OF_RANGE
    w.index.index = -1
    assert env.error(MODIFY, counter_entry=w).code == Code.INVALID_ARGUMENT
    w.counter_id = 1
    assert env.error(MODIFY, counter_entry=w).code == Code.NOT_FOUND


def test_meter_entries(env: Env) -> None:
    m = env.ix.meters.named("I.port_meter")
    cfg = p4runtime_pb2.MeterConfig(cir=1000, cburst=2, pir=2000, pburst=3)
    w = p4runtime_pb2.MeterEntry(meter_id=m.id, config=cfg)
    w.index.index = 2
    env.write(MODIFY, meter_entry=w)
    got = env.read(meter_entry=p4runtime_pb2.MeterEntry(meter_id=m.id))
    assert len(got) == 16
    assert [g.index.index for g in got if g.HasField("config")] == [2]
    assert got[2].config == cfg
    assert env.sw.meters["I.port_meter"].get_rates(2) is not None
    w.ClearField("config")
    env.write(MODIFY, meter_entry=w)  # no config: back to unconfigured
    assert env.sw.meters["I.port_meter"].get_rates(2) is None
    w.config.CopyFrom(p4runtime_pb2.MeterConfig(cir=10, cburst=1, pir=5, pburst=1))
    assert env.error(MODIFY, meter_entry=w).code == Code.INVALID_ARGUMENT
    w.index.index = 16
    assert env.error(MODIFY, meter_entry=w).code == Code.OUT_OF_RANGE


def test_register_entries(env: Env) -> None:
    r = env.ix.registers.named("I.scratch")
    w = p4runtime_pb2.RegisterEntry(register_id=r.id)
    w.index.index = 4
    w.data.bitstring = b"\x00\x01\x02"
    env.write(MODIFY, register_entry=w)
    assert env.sw.registers["I.scratch"].get(4) == 0x102
    got = env.read(register_entry=p4runtime_pb2.RegisterEntry(register_id=r.id))
    assert [g.data.bitstring for g in got] == [b"\x00"] * 4 + [b"\x01\x02"] + [b"\x00"] * 3
    w.data.bitstring = b"\x01\x00\x00\x00\x00"
    assert env.error(MODIFY, register_entry=w).code == Code.INVALID_ARGUMENT
    w.index.index = 8
    w.data.bitstring = b"\x01"
    assert env.error(MODIFY, register_entry=w).code == Code.OUT_OF_RANGE
    # no index: every cell
    w.ClearField("index")
    env.write(MODIFY, register_entry=w)
    assert env.sw.registers["I.scratch"].values() == [1] * 8


def test_signed_register(env: Env) -> None:
    r = env.ix.registers.named("I.signed_reg")
    w = p4runtime_pb2.RegisterEntry(register_id=r.id)
    w.index.index = 1
    w.data.bitstring = b"\xff\xff\xfe"  # -2, sign-extended
    env.write(MODIFY, register_entry=w)
    assert env.sw.registers["I.signed_reg"].read(1) == -2
    got = env.read(register_entry=p4runtime_pb2.RegisterEntry(register_id=r.id))
    assert [g.data.bitstring for g in got] == [b"\x00", b"\xfe"]


# -- value sets -------------------------------------------------------------------------------


def test_value_set(env: Env) -> None:
    vs = env.ix.value_sets.named("P.custom_etype")
    v = p4runtime_pb2.ValueSetEntry(value_set_id=vs.id)
    v.members.add().match.add(field_id=1).exact.value = b"\x88\xb5"
    # 0x88b5 is not IPv4: without the value set the lpm table is not applied
    lpm = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, env.action("I.set_dmac", 1, 5))
    env.write(INSERT, table_entry=lpm)
    # not parsed as IPv4: only `fixed`/`preinit` run, egress_spec stays 0
    assert [p for p, _ in env.send(1, ipv4(etype=0x88B5))] == [0]
    env.write(MODIFY, value_set_entry=v)
    assert [p for p, _ in env.send(1, ipv4(etype=0x88B5))] == [5]
    assert env.read(value_set_entry=p4runtime_pb2.ValueSetEntry(value_set_id=vs.id)) == [v]
    dup = p4runtime_pb2.ValueSetEntry(value_set_id=vs.id)
    dup.members.add().CopyFrom(v.members[0])
    dup.members.add().CopyFrom(v.members[0])
    assert env.error(MODIFY, value_set_entry=dup).code == Code.ALREADY_EXISTS
    big = p4runtime_pb2.ValueSetEntry(value_set_id=vs.id)
    for i in range(5):
        big.members.add().match.add(field_id=1).exact.value = bytes([1, i])
    assert env.error(MODIFY, value_set_entry=big).code == Code.RESOURCE_EXHAUSTED
    assert env.error(INSERT, value_set_entry=v).code == Code.INVALID_ARGUMENT
    env.write(MODIFY, value_set_entry=p4runtime_pb2.ValueSetEntry(value_set_id=vs.id))
    assert env.sw.value_sets["P.custom_etype"].members == []


# -- PRE --------------------------------------------------------------------------------------


def mcast(
    gid: int, replicas: Sequence[tuple[int, int]], metadata: bytes = b""
) -> p4runtime_pb2.PacketReplicationEngineEntry:
    pre = p4runtime_pb2.PacketReplicationEngineEntry()
    g = pre.multicast_group_entry
    g.multicast_group_id = gid
    g.metadata = metadata
    for port, inst in replicas:
        g.replicas.add(egress_port=port, instance=inst)
    return pre


def test_multicast_groups(env: Env) -> None:
    env.write(INSERT, packet_replication_engine_entry=mcast(5, [(3, 1), (1, 1), (2, 2)], b"m"))
    assert env.sw.pre.replicate(5) == [(1, 1), (3, 1), (2, 2)]
    got = env.read(packet_replication_engine_entry=mcast(0, []))
    assert [e.packet_replication_engine_entry for e in got] == [
        mcast(5, [(3, 1), (1, 1), (2, 2)], b"m")
    ]
    assert (
        env.error(INSERT, packet_replication_engine_entry=mcast(5, [])).code == Code.ALREADY_EXISTS
    )
    assert env.error(MODIFY, packet_replication_engine_entry=mcast(6, [])).code == Code.NOT_FOUND
    assert (
        env.error(INSERT, packet_replication_engine_entry=mcast(0, [])).code
        == Code.INVALID_ARGUMENT
    )
    assert (
        env.error(INSERT, packet_replication_engine_entry=mcast(6, [(1, 0), (1, 0)])).code
        == Code.INVALID_ARGUMENT
    )
    env.write(MODIFY, packet_replication_engine_entry=mcast(5, [(4, 0)]))
    assert env.sw.pre.replicate(5) == [(4, 0)]
    # port as bytes (P4Runtime 1.4) reads back as written, canonical
    pre = mcast(6, [])
    pre.multicast_group_entry.replicas.add(port=b"\x00\x07", instance=0)
    env.write(INSERT, packet_replication_engine_entry=pre)
    (e,) = env.read(packet_replication_engine_entry=mcast(6, []))
    assert e.packet_replication_engine_entry.multicast_group_entry.replicas[0].port == b"\x07"
    env.write(DELETE, packet_replication_engine_entry=mcast(5, []))
    assert not env.sw.pre.has_group(5)
    assert env.error(DELETE, packet_replication_engine_entry=mcast(5, [])).code == Code.NOT_FOUND


def test_clone_sessions(env: Env) -> None:
    pre = p4runtime_pb2.PacketReplicationEngineEntry()
    cs = pre.clone_session_entry
    cs.session_id, cs.class_of_service, cs.packet_length_bytes = 100, 2, 64
    cs.replicas.add(egress_port=4, instance=1)
    env.write(INSERT, packet_replication_engine_entry=pre)
    s = env.sw.pre.clone_session(100)
    assert (s.replicas, s.truncate_bytes, s.class_of_service) == (((4, 1),), 64, 2)
    q = p4runtime_pb2.PacketReplicationEngineEntry()
    q.clone_session_entry.SetInParent()
    assert [
        e.packet_replication_engine_entry for e in env.read(packet_replication_engine_entry=q)
    ] == [pre]
    assert env.error(INSERT, packet_replication_engine_entry=pre).code == Code.ALREADY_EXISTS
    cs.session_id = 0
    assert env.error(INSERT, packet_replication_engine_entry=pre).code == Code.INVALID_ARGUMENT
    cs.session_id = 100
    env.write(DELETE, packet_replication_engine_entry=pre)
    assert env.sw.pre.clone_session_ids() == []


# -- digests ----------------------------------------------------------------------------------


def test_digest_config_and_data(env: Env) -> None:
    d = env.ix.digests.named("learn_t")
    de = p4runtime_pb2.DigestEntry(digest_id=d.id)
    de.config.max_timeout_ns, de.config.max_list_size, de.config.ack_timeout_ns = 1000, 10, 5000
    assert env.store.digest_config(d.id) is None
    env.write(INSERT, digest_entry=de)
    assert env.store.digest_config(d.id).max_list_size == 10
    assert env.read(digest_entry=p4runtime_pb2.DigestEntry()) == [de]
    assert env.error(INSERT, digest_entry=de).code == Code.ALREADY_EXISTS
    de.config.max_list_size = 1
    env.write(MODIFY, digest_entry=de)
    assert env.store.digest_config(d.id).max_list_size == 1
    # smac misses -> learn() sends a digest
    env.send(1, ipv4(smac="02:00:00:00:00:42"))
    (dg,) = env.sw.digests()
    assert env.store.digest_id_for(dg) == d.id
    data = env.store.encode_digest_data(dg)
    assert [m.bitstring for m in data.struct.members] == [bytes.fromhex("020000000042"), b"\x01"]
    env.write(DELETE, digest_entry=de)
    assert env.error(DELETE, digest_entry=de).code == Code.NOT_FOUND
    assert env.store.digest_config(d.id) is None


def test_unsupported_entity(env: Env) -> None:
    e = env.error(MODIFY, extern_entry=p4runtime_pb2.ExternEntry(extern_type_id=1))
    assert e.code == Code.UNIMPLEMENTED


def test_metadata_and_read_filters(env: Env) -> None:
    a = env.entry(
        "I.ipv4_lpm",
        {"ipv4_dst": (0xC6336400, 24)},
        env.action("I.drop"),
        controller_metadata=7,
        metadata=b"cookie",
    )
    b = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xCB007100, 24)}, env.action("I.set_dmac", 1, 2))
    env.write(INSERT, table_entry=a)
    env.write(INSERT, table_entry=b)
    tid = a.table_id
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=tid, controller_metadata=7)) == [
        a
    ]
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=tid, metadata=b"cookie")) == [a]
    # both cookies live on the engine's entry
    (engine_a,) = [e for e in env.sw.tables["I.ipv4_lpm"].entries() if e.metadata]
    assert (engine_a.controller_metadata, engine_a.metadata) == (7, b"cookie")
    a.controller_metadata = 9
    env.write(MODIFY, table_entry=a)
    assert engine_a.controller_metadata == 9
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=tid, controller_metadata=9)) == [
        a
    ]
    by_action = p4runtime_pb2.TableEntry(table_id=tid)
    by_action.action.action.action_id = env.ix.actions.named("I.set_dmac").id
    assert env.read(table_entry=by_action) == [b]
    # a key that is not there reads as nothing
    missing = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC0000200, 24)})
    assert env.read(table_entry=missing) == []


def test_const_entry_direct_resources_only(env: Env) -> None:
    # `fixed` has no direct resources: a MODIFY without action is accepted and changes nothing
    key = env.entry("I.fixed", {"hdr.ethernet.etherType": 0x9999})
    env.write(MODIFY, table_entry=key)
    (e,) = env.read(table_entry=p4runtime_pb2.TableEntry(table_id=key.table_id))
    assert e.action.action.params[0].value == b"\x07"


def test_sdn_string_translation_is_unimplemented() -> None:
    p4info = p4info_pb2.P4Info()
    p4info.CopyFrom(compiled().p4info)
    nt = p4info.type_info.new_types["port_name_t"]
    nt.translated_type.uri = "test.port"
    nt.translated_type.sdn_string.SetInParent()
    p4info.actions[2].params[0].type_name.name = "port_name_t"  # I.fwd's port
    ix = P4InfoIndex(p4info)
    f = ix.actions.named("I.fwd").params[1]
    assert f.translation == "sdn_string"
    with pytest.raises(P4RTError) as e:
        f.decode(b"eth0", "fwd.port")
    assert e.value.code == Code.UNIMPLEMENTED
    nt.translated_type.sdn_bitwidth = 32
    ix = P4InfoIndex(p4info)
    f = ix.actions.named("I.fwd").params[1]
    assert f.translation == "sdn_bitwidth" and f.decode(b"\x00\x00\x00\x05", "p") == 5


def test_batch_of_updates_reports_each(env: Env) -> None:
    """What the server does with a WriteRequest: every update tried, errors collected."""
    good = env.entry("I.ipv4_lpm", {"ipv4_dst": (0xC6336400, 24)}, env.action("I.drop"))
    updates = [
        p4runtime_pb2.Update(type=INSERT, entity=p4runtime_pb2.Entity(table_entry=good)),
        p4runtime_pb2.Update(type=INSERT, entity=p4runtime_pb2.Entity(table_entry=good)),
    ]
    errors: list[P4RTError | None] = []
    for u in updates:
        try:
            env.store.write(u)
            errors.append(None)
        except P4RTError as e:
            errors.append(e)
    st = batch_status(errors)
    codes = []
    for d in st.details:
        err = p4runtime_pb2.Error()
        d.Unpack(err)
        codes.append(err.canonical_code)
    assert codes == [code_pb2.OK, code_pb2.ALREADY_EXISTS]


SHARED_PROFILE = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers { ethernet_t ethernet; }
struct metadata { bit<8> x; }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  state start { pkt.extract(hdr.ethernet); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  action fwd(bit<9> port) { sm.egress_spec = port; }
  action_profile(32w8) ap;
  table t1 { key = { hdr.ethernet.dst: exact; } actions = { fwd; } implementation = ap; }
  table t2 { key = { hdr.ethernet.src: exact; } actions = { fwd; } implementation = ap; }
  apply { if (hdr.ethernet.etherType == 1) { t1.apply(); } else { t2.apply(); } }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_action_profile_shared_by_two_tables() -> None:
    """One engine profile object serves both tables; a member written once reaches both."""
    r = compile_text(SHARED_PROFILE, "p4rt_shared.p4")
    sw = Switch.from_program(r)
    prof = sw.action_profiles["I.ap"]
    assert sw.tables["I.t1"].profile is prof and sw.tables["I.t2"].profile is prof
    store = EntityStore(r.p4info, sw)
    ix = P4InfoIndex(r.p4info)
    assert len(ix.action_profiles.named("I.ap").proto.table_ids) == 2
    m = p4runtime_pb2.ActionProfileMember(
        action_profile_id=ix.action_profiles.named("I.ap").id, member_id=1
    )
    m.action.action_id = ix.actions.named("I.fwd").id
    m.action.params.add(param_id=1, value=b"\x04")
    store.write(
        p4runtime_pb2.Update(type=INSERT, entity=p4runtime_pb2.Entity(action_profile_member=m))
    )
    mac = bytes.fromhex("020000000001")
    for name in ("I.t1", "I.t2"):
        te = p4runtime_pb2.TableEntry(table_id=ix.tables.named(name).id)
        te.match.add(field_id=1).exact.value = mac
        te.action.action_profile_member_id = 1
        store.write(p4runtime_pb2.Update(type=INSERT, entity=p4runtime_pb2.Entity(table_entry=te)))
    for etype, frame in ((1, mac + bytes(6)), (2, bytes(6) + mac)):
        sw.inject(0, frame + etype.to_bytes(2, "big") + bytes(50))
        sw.run_until_idle()
        assert [p for p, _ in sw.outputs()] == [4]
    # delete: refused while either table uses it
    upd = p4runtime_pb2.Update(type=DELETE, entity=p4runtime_pb2.Entity(action_profile_member=m))
    with pytest.raises(P4RTError) as e:
        store.write(upd)
    assert e.value.code == Code.FAILED_PRECONDITION
    # only t2 uses it now: still refused, and neither engine copy lost the member
    te1 = p4runtime_pb2.TableEntry(table_id=ix.tables.named("I.t1").id)
    te1.match.add(field_id=1).exact.value = mac
    store.write(p4runtime_pb2.Update(type=DELETE, entity=p4runtime_pb2.Entity(table_entry=te1)))
    with pytest.raises(P4RTError) as e:
        store.write(upd)
    assert e.value.code == Code.FAILED_PRECONDITION
    assert 1 in prof.members()
    (got,) = store.read(
        p4runtime_pb2.Entity(action_profile_member=p4runtime_pb2.ActionProfileMember())
    )
    assert got.action_profile_member == m


PAIR_VALUE_SET = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers { ethernet_t ethernet; }
struct metadata { bit<8> x; }
struct pair_t { bit<8> a; bit<16> b; }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  value_set<pair_t>(4) pairs;
  state start { pkt.extract(hdr.ethernet);
    transition select(hdr.ethernet.dst[7:0], hdr.ethernet.etherType) { pairs: hit; default: accept; } }
  state hit { meta.x = 1; transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  apply { sm.egress_spec = meta.x == 1 ? 9w3 : 9w2; }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_value_set_of_two_fields() -> None:
    r = compile_text(PAIR_VALUE_SET, "p4rt_vs.p4")
    sw = Switch.from_program(r)
    store = EntityStore(r.p4info, sw)
    vs = P4InfoIndex(r.p4info).value_sets.named("P.pairs")
    v = p4runtime_pb2.ValueSetEntry(value_set_id=vs.id)
    m = v.members.add()
    m.match.add(field_id=1).exact.value = b"\x09"
    m.match.add(field_id=2).exact.value = b"\x12\x34"
    store.write(p4runtime_pb2.Update(type=MODIFY, entity=p4runtime_pb2.Entity(value_set_entry=v)))
    ports = []
    for low, etype in ((9, 0x1234), (9, 0x1235), (8, 0x1234)):
        sw.inject(0, bytes(5) + bytes([low]) + bytes(6) + etype.to_bytes(2, "big") + bytes(50))
        sw.run_until_idle()
        ports += [p for p, _ in sw.outputs()]
    assert ports == [3, 2, 2]
    (got,) = store.read(p4runtime_pb2.Entity(value_set_entry=p4runtime_pb2.ValueSetEntry()))
    assert got.value_set_entry == v


def test_one_shot_that_does_not_fit_leaves_no_trace(env: Env) -> None:
    for mid in range(1, 16):
        env.write(INSERT, action_profile_member=member(env, mid, 1))
    te = env.entry("I.ecmp", {"hdr.ipv4.dstAddr": 0xC6336407})
    actions = te.action.action_profile_action_set.action_profile_actions
    actions.add(action=env.action("I.fwd", 21), weight=2)
    actions.add(action=env.action("I.fwd", 22), weight=1)
    assert env.error(INSERT, table_entry=te).code == Code.RESOURCE_EXHAUSTED  # 2 members, room 1
    prof = env.sw.tables["I.ecmp"].profile
    assert sorted(prof.members()) == list(range(1, 16)) and prof.groups() == {}
    assert env.read(table_entry=p4runtime_pb2.TableEntry(table_id=te.table_id)) == []
    # one action of weight 2 is one hidden member
    del actions[1]
    env.write(INSERT, table_entry=te)
    assert len(prof.members()) == 16
    # a duplicate key is refused before any hidden member is made
    env.write(DELETE, action_profile_member=member(env, 15, 1))
    assert env.error(INSERT, table_entry=te).code == Code.ALREADY_EXISTS
    assert len(prof.members()) == 15  # 14 visible + 1 hidden



# -- initial entries' priorities ---------------------------------------------------------------

INITIAL_PRIORITIES = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers { ethernet_t ethernet; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  state start { pkt.extract(hdr.ethernet); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  action fwd(bit<9> port) { sm.egress_spec = port; }
  table annotated {
    key = { hdr.ethernet.etherType: ternary; } actions = { fwd; }
    const entries = {
      0x1111 &&& 0x000F : fwd(1) @priority(3);
      0x1181 &&& 0xFFFF : fwd(2);
      0x1181 &&& 0xF00F : fwd(3) @priority(1);
    }
  }
  table smaller_wins {
    key = { hdr.ethernet.dst: ternary; } actions = { fwd; }
    largest_priority_wins = false;
    entries = { priority = 10: 0x1 &&& 0xF : fwd(4); 0x2 &&& 0xF : fwd(5); }
  }
  apply { annotated.apply(); smaller_wins.apply(); }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def test_initial_entry_priorities_are_positive_ordered_and_addressable() -> None:
    r = compile_text(INITIAL_PRIORITIES, "p4rt_prios.p4")
    sw = Switch.from_program(r)
    store = EntityStore(r.p4info, sw)
    ix = P4InfoIndex(r.p4info)

    def read(te: p4runtime_pb2.TableEntry) -> list[p4runtime_pb2.TableEntry]:
        return [e.table_entry for e in store.read(p4runtime_pb2.Entity(table_entry=te))]

    def port(entry: p4runtime_pb2.TableEntry) -> int:
        return decode_bits(entry.action.action.params[0].value, 9)

    # @priority: BMv2's numbers (3, 2 by position, 1; smaller wins) read back as 1, 2, 3
    annotated = ix.tables.named("I.annotated").id
    got = read(p4runtime_pb2.TableEntry(table_id=annotated))
    assert [(port(e), e.priority, e.is_const) for e in got] == [
        (1, 1, True), (2, 2, True), (3, 3, True)
    ]
    # each is addressable by its match and priority
    for e in got:
        key = p4runtime_pb2.TableEntry(table_id=annotated, priority=e.priority)
        key.match.extend(e.match)
        assert read(key) == [e]
    sw.inject(0, bytes(12) + b"\x11\x81")
    sw.run_until_idle()
    assert [p for p, _ in sw.outputs()] == [3]  # @priority(1) wins in BMv2
    # largest_priority_wins = false: 10 and 11 (smaller wins) read back as 2 and 1
    got = read(p4runtime_pb2.TableEntry(table_id=ix.tables.named("I.smaller_wins").id))
    assert [(port(e), e.priority) for e in got] == [(4, 2), (5, 1)]
    assert all(e.priority > 0 for e in got)
