"""controlplane/protocol.py against docs/protocol.md and p4src/include/header.p4.

The layout tables of the doc are parsed and checked three ways: against the scapy layers (field
names, widths, and the bits each field really occupies on the wire), against the P4 headers
(widths in order) and, for the digests, against the compiled program's P4Info.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from controlplane import protocol
from controlplane.protocol import (
    BBAddress,
    BBCommand,
    BlueBridge,
    FlowKey,
    MemEventDigest,
    MemViolationDigest,
    MsgType,
    NewFlowDigest,
    PacketIn,
    PacketOut,
    Sluice,
    SluiceDoorbell,
    SluiceFlow,
    bb_addr,
    control_session,
    parse_bb_addr,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text()
P4_INCLUDE = ROOT / "p4src" / "include"

LAYERS = {c.__name__: c for c in (Sluice, SluiceFlow, SluiceDoorbell, PacketIn, PacketOut,
                                   BlueBridge)}
DIGESTS = {"new_flow_digest_t": NewFlowDigest, "mem_event_digest_t": MemEventDigest,
           "mem_violation_digest_t": MemViolationDigest}

# -- reading the doc --------------------------------------------------------------------------

HEADING = re.compile(r"^#+ .*\(`(\w+)`, P4 (`(\w+)`|none), (\d+) bytes\)\s*$", re.M)
DIGEST_HEADING = re.compile(r"^#+ [\d.]+ `(\w+_digest_t)` \(`(\w+)`\)\s*$", re.M)
LAYOUT_ROW = re.compile(r"^\| (\d+) \| (\d+) \| `(\w+)` \|", re.M)
DIGEST_ROW = re.compile(r"^\| `(\w+)` \| (\d+) \|", re.M)


def section_after(match: re.Match[str]) -> str:
    """The text from a heading to the next heading."""
    rest = DOC[match.end():]
    nxt = re.search(r"^#", rest, re.M)
    return rest[: nxt.start()] if nxt else rest


def doc_layouts() -> dict[str, tuple[str | None, int, list[tuple[int, int, str]]]]:
    out = {}
    for m in HEADING.finditer(DOC):
        rows = [(int(o), int(w), n) for o, w, n in LAYOUT_ROW.findall(section_after(m))]
        out[m.group(1)] = (m.group(3), int(m.group(4)), rows)
    return out


def doc_digests() -> dict[str, tuple[str, list[tuple[str, int]]]]:
    out = {}
    for m in DIGEST_HEADING.finditer(DOC):
        rows = [(n, int(w)) for n, w in DIGEST_ROW.findall(section_after(m))]
        out[m.group(1)] = (m.group(2), rows)
    return out


# -- reading the P4 headers -----------------------------------------------------------------


def p4_headers() -> dict[str, list[tuple[str, int]]]:
    text = ""
    for name in ("define.p4", "header.p4"):
        text += re.sub(r"/\*.*?\*/", "", (P4_INCLUDE / name).read_text(), flags=re.S)
    widths = {name: int(w) for w, name in re.findall(r"typedef bit<(\d+)>\s+(\w+);", text)}
    headers = {}
    for name, body in re.findall(r"header (\w+) \{(.*?)\}", text, re.S):
        fields = []
        for typ, field in re.findall(r"(bit<\d+>|\w+)\s+(\w+);", body):
            w = re.fullmatch(r"bit<(\d+)>", typ)
            fields.append((field, int(w.group(1)) if w else widths[typ]))
        headers[name] = fields
    return headers


def width(field: object) -> int:
    return round(field.sz * 8)  # type: ignore[attr-defined]


# -- the doc and the layers agree -----------------------------------------------------------


def test_doc_has_a_layout_for_every_layer_and_digest() -> None:
    assert set(doc_layouts()) == set(LAYERS)
    assert set(doc_digests()) == set(DIGESTS)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_fields_widths_and_offsets_match_the_doc(name: str) -> None:
    cls = LAYERS[name]
    _, size, rows = doc_layouts()[name]
    assert [n for _, _, n in rows] == [f.name for f in cls.fields_desc]
    offset = 0
    for (doc_off, doc_width, fname), f in zip(rows, cls.fields_desc):
        assert (doc_off, doc_width) == (offset, width(f)), fname
        offset += doc_width
    assert offset == 8 * size
    assert len(bytes(cls())) == size


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_field_occupies_exactly_the_documented_bits(name: str) -> None:
    cls = LAYERS[name]
    _, size, rows = doc_layouts()[name]
    zero = {f.name: ("::" if width(f) == 128 else 0) for f in cls.fields_desc}
    for off, w, fname in rows:
        ones = "ffff:" * 7 + "ffff" if w == 128 else (1 << w) - 1
        wire = int.from_bytes(bytes(cls(**{**zero, fname: ones})), "big")
        mask = ((1 << w) - 1) << (8 * size - off - w)
        assert wire == mask, fname


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_p4_headers_have_the_documented_widths(name: str) -> None:
    p4_name, size, rows = doc_layouts()[name]
    if p4_name is None:
        return
    fields = p4_headers()[p4_name]
    assert [w for _, w in fields] == [w for _, w, _ in rows]
    assert sum(w for _, w in fields) == 8 * size


def test_digest_tables_match_the_dataclasses_and_the_p4info() -> None:
    from softswitch.frontend.compiler import compile_file

    info = compile_file(str(ROOT / "p4src" / "sluice.p4")).p4info
    structs = info.type_info.structs
    assert {d.preamble.name for d in info.digests} == set(DIGESTS)
    for struct, (cls_name, rows) in doc_digests().items():
        cls = DIGESTS[struct]
        assert cls.__name__ == cls_name
        assert [n for n, _ in rows] == cls.field_names()
        p4 = [(m.name, m.type_spec.bitstring.bit.bitwidth) for m in structs[struct].members]
        assert p4 == rows, struct


def test_bluebridge_address_table_matches_bbaddress() -> None:
    m = re.search(r"^### 5\.1 Addresses$", DOC, re.M)
    assert m
    rows = LAYOUT_ROW.findall(section_after(m))
    assert [(int(o), int(w), n) for o, w, n in rows] == [
        (0, 16, "subid"), (16, 16, "cmd"), (32, 32, "args"), (64, 64, "paddr")]
    for off, w, name in ((int(o), int(w), n) for o, w, n in rows):
        kw = {"subid": 0, "cmd": 0, "args": 0, "paddr": 0, name: (1 << w) - 1}
        assert BBAddress(**kw).to_int() == ((1 << w) - 1) << (128 - off - w)


def test_doc_constants_match_the_module_and_the_p4_defines() -> None:
    define = (P4_INCLUDE / "define.p4").read_text()

    def p4_define(name: str) -> int:
        return int(re.search(rf"#define {name} (\w+)", define).group(1), 0)

    assert p4_define("CPU_PORT") == protocol.CPU_PORT == 255
    assert p4_define("CTRL_SESSION_BASE") == protocol.CTRL_SESSION_BASE
    assert p4_define("BB_UDP_PORT") == protocol.BB_UDP_PORT == 5000
    assert p4_define("BB_PAGE_SHIFT") == protocol.BB_PAGE_SHIFT
    for cmd in BBCommand:
        assert re.search(rf"const bit<16> BB_{cmd.name}\s+= {cmd.value};", define), cmd
    for reason in protocol.MemReason:
        assert re.search(rf"const bit<8> MEM_{reason.name}\s+= {reason.value};", define), reason
    assert f"EtherType 0x{protocol.ETHERTYPE_SLUICE:04X}" in DOC
    sizes = (P4_INCLUDE / "size.p4").read_text()
    for name in ("FLOW_DEDUP_SLOTS", "MEM_CLIENT_SLOTS", "MEM_LEASE_SLOTS"):
        assert int(re.search(rf"#define {name} (\d+)", sizes).group(1)) == getattr(protocol, name)


# -- round trips ------------------------------------------------------------------------------


def round_trip(pkt: Packet) -> Packet:
    wire = bytes(pkt)
    parsed = pkt.__class__(wire)
    assert bytes(parsed) == wire
    return parsed


def test_pause_and_resume_round_trip_v4_and_v6() -> None:
    v4 = FlowKey(4, 17, "192.0.2.1", "198.51.100.7", 4000, 80)
    v6 = FlowKey(6, 6, "2001:db8:1::1", "2001:db8:2::7", 4000, 443)
    for kind in (MsgType.PAUSE, MsgType.RESUME):
        for key in (v4, v6):
            pkt = (Ether(dst="02:00:00:00:00:0a", src="00:00:5e:00:53:ff")
                   / Sluice(msg_type=kind, hops=2) / key.sluice_flow(qid=3))
            parsed = round_trip(pkt)
            assert parsed.type == 0x88B5 and len(parsed) == 60
            assert parsed[Sluice].msg_type == kind and parsed[Sluice].length == 40
            assert parsed[Sluice].version == 1 and parsed[Sluice].hops == 2
            assert parsed[SluiceFlow].flow() == key and parsed[SluiceFlow].qid == 3
    wire = bytes(Sluice() / v4.sluice_flow())
    # IPv4 addresses: zero-extended in the low 32 bits of the 128-bit fields
    assert wire[6 + 8: 6 + 24] == bytes(12) + bytes([192, 0, 2, 1])


def test_doorbell_round_trip_and_trailing_padding_is_not_the_body() -> None:
    pkt = Ether() / Sluice(msg_type=MsgType.DOORBELL) / SluiceDoorbell(port=2, qid=5, count=77)
    parsed = round_trip(pkt)
    assert parsed[Sluice].length == 8 and len(parsed) == 28
    assert (parsed[SluiceDoorbell].port, parsed[SluiceDoorbell].qid,
            parsed[SluiceDoorbell].count) == (2, 5, 77)
    padded = Ether(bytes(pkt) + bytes(32))
    assert padded[SluiceDoorbell].count == 77 and Raw not in padded[SluiceDoorbell].payload


def test_controller_headers_round_trip() -> None:
    frame = Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:0a", type=0x9000) / b"x"
    out = round_trip(PacketOut(egress_port=300) / frame)
    assert out.egress_port == 300 and bytes(out[Ether]) == bytes(frame)
    assert bytes(PacketOut(egress_port=300))[:2] == (300 << 7).to_bytes(2, "big")
    pin = round_trip(PacketIn(ingress_port=511, reason=1) / frame)
    assert pin.ingress_port == 511 and pin.reason == 1 and pin[Ether].type == 0x9000


def test_bluebridge_binds_to_udp_5000_both_ways() -> None:
    req = (IPv6(src="2001:db8:c::a", dst=bb_addr(0x2001, BBCommand.WRITE, 64, 0x10040))
           / UDP(sport=40000) / BlueBridge(seq=9) / b"data")
    assert req[UDP].dport == 5000  # the binding fills the server port in
    parsed = round_trip(req)
    assert parsed[BlueBridge].seq == 9 and parsed[BlueBridge].length == 4
    assert bytes(parsed[BlueBridge].payload) == b"data"
    rep = IPv6(bytes(IPv6(dst="2001:db8:c::a") / UDP(sport=5000, dport=40000)
                     / BlueBridge(status=1)))
    assert rep[BlueBridge].status == 1
    other = IP(bytes(IP() / UDP(sport=1, dport=2) / (b"\x00" * 8)))
    assert BlueBridge not in other


def test_bluebridge_addresses() -> None:
    a = bb_addr(0x2001, BBCommand.READ, 64, 0x10040)
    assert a == "2001:3:0:40::1:40"
    assert parse_bb_addr(a) == BBAddress(0x2001, 3, 64, 0x10040)
    assert parse_bb_addr(BBAddress(0xFFFF, 8, 2**32 - 1, 2**64 - 1).to_ipv6()) == BBAddress(
        0xFFFF, 8, 2**32 - 1, 2**64 - 1)
    with pytest.raises(ValueError):
        BBAddress(0x10000, 1)
    with pytest.raises(ValueError):
        BBAddress(1, 1, paddr=2**64)


def test_flow_key_and_digest_decoding() -> None:
    pkt = Ether() / IP(src="192.0.2.1", dst="198.51.100.7") / UDP(sport=5, dport=6)
    key = FlowKey.of(pkt)
    assert key == FlowKey(4, 17, "192.0.2.1", "198.51.100.7", 5, 6)
    assert key.table_key() == (4, 0xC0000201, 0xC6336407, 17, 5, 6)
    d = NewFlowDigest.from_values((4, 17, 0xC0000201, 0xC6336407, 5, 6, 1, 99, 46))
    assert d.flow() == key and (d.dedup_index, d.dscp) == (99, 46) and d.values()[-1] == 46
    with pytest.raises(ValueError):
        FlowKey.of(Ether() / b"x")


def test_control_sessions() -> None:
    assert control_session(0) == protocol.CTRL_SESSION_BASE
    assert control_session(7) == protocol.CTRL_SESSION_BASE + 7


# -- the controller's view (section 7) against the P4Info --------------------------------------


def doc_objects() -> list[tuple[list[str], str, str]]:
    """Rows of section 7: (full names, kind, description)."""
    m = re.search(r"^## 7\. .*$", DOC, re.M)
    assert m
    rows = []
    for line in DOC[m.end():].split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names, prefix = [], ""
        for token in re.findall(r"`([\w.]+)`", cells[0]):
            if "." in token:
                prefix = token.rsplit(".", 1)[0] + "."
                names.append(token)
            else:
                names.append(prefix + token)
        rows.append((names, cells[1], cells[2]))
    return rows


def test_section_7_names_every_table_register_and_counter_with_its_keys_and_actions() -> None:
    from softswitch.frontend.compiler import compile_file

    info = compile_file(str(ROOT / "p4src" / "sluice.p4")).p4info
    tables = {t.preamble.name: t for t in info.tables}
    actions = {a.preamble.id: a for a in info.actions}
    program = {
        "table": set(tables),
        "register": {r.preamble.name for r in info.registers},
        "counter": {c.preamble.name for c in info.counters},
    }
    documented: dict[str, set[str]] = {k: set() for k in program}
    for names, kind, desc in doc_objects():
        kind = kind.split()[0].rstrip("s")
        documented[kind].update(names)
        if kind != "table":
            continue
        (name,) = names
        keys_text, _, actions_text = desc.partition("→")
        keys = [k.strip() for t in re.findall(r"`([^`]+)`", keys_text) for k in t.split(",")]
        assert keys == [f.name for f in tables[name].match_fields], name
        table_actions = {actions[r.id].preamble.alias: actions[r.id]
                         for r in tables[name].action_refs}
        for call in re.findall(r"`(\w+)(?:\(([^)]*)\))?`", actions_text):
            action, params = call
            assert action in table_actions, (name, action)
            if params:
                assert [p.strip() for p in params.split(",")] == [
                    p.name for p in table_actions[action].params], (name, action)
    assert documented == program
