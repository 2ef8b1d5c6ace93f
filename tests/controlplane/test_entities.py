"""Entity dataclasses <-> protobuf, without a switch."""

from __future__ import annotations

from typing import Any

import pytest
from p4.v1 import p4runtime_pb2

from controlplane.p4rt.entities import (
    ActionProfileGroup,
    ActionProfileMember,
    CloneSession,
    CounterData,
    CounterEntry,
    DigestEntry,
    DigestList,
    DirectCounterEntry,
    DirectMeterEntry,
    IdleTimeoutNotification,
    MeterConfig,
    MeterEntry,
    MulticastGroup,
    PacketIn,
    PacketOut,
    RegisterEntry,
    TableEntry,
    Update,
    UpdateType,
    ValueSetEntry,
    WeightedAction,
    decode_entity,
)
from controlplane.p4rt.schema import SchemaError

from .test_schema import schema

MAC1 = "02:00:00:00:00:01"


def roundtrip(entity: Any) -> Any:
    msg = entity.encode(schema())
    assert isinstance(msg, p4runtime_pb2.Entity)
    back = decode_entity(msg, schema())
    assert type(back) is type(entity)
    assert back.encode(schema()) == msg  # decoding loses nothing
    return back


def test_exact_entry_encodes_canonically() -> None:
    e = TableEntry("dmac", {"dst": MAC1}, "forward", {"port": 3}, idle_timeout_ns=10**9)
    te = e.encode(schema()).table_entry
    assert te.table_id == schema().tables["dmac"].id
    assert te.match[0].exact.value == bytes.fromhex("020000000001")
    assert te.action.action.params[0].value == b"\x03"
    assert te.idle_timeout_ns == 10**9
    back = roundtrip(e)
    assert back.table == "I.dmac" and back.action == "I.forward"
    assert back.match == {"hdr.ethernet.dst": 0x020000000001}
    assert back.params == {"port": 3}
    assert back == e.normalized(schema())


def test_lpm_ternary_range_optional() -> None:
    e = TableEntry(
        "acl",
        {
            "hdr.ipv4.src": "198.51.100.0&&&255.255.255.0",
            "hdr.ipv4.protocol": "6..17",
            "hdr.ethernet.etherType": 0x0800,
        },
        "acl_drop",
        priority=5,
    )
    back = roundtrip(e)
    assert back.match == {
        "hdr.ipv4.src": (0xC6336400, 0xFFFFFF00),
        "hdr.ipv4.protocol": (6, 17),
        "hdr.ethernet.etherType": 0x0800,
    }
    assert back.priority == 5
    v6 = roundtrip(
        TableEntry("lpm6", {"hdr.ipv6.dst": "2001:db8::/32"}, "set_nhop", {"dmac": MAC1, "port": 2})
    )
    assert v6.match == {"hdr.ipv6.dst": (0x20010DB8 << 96, 32)}


def test_dont_care_fields_are_omitted() -> None:
    e = TableEntry(
        "acl",
        {"hdr.ipv4.src": "0&&&0", "hdr.ipv4.protocol": (0, 255), "hdr.ethernet.etherType": None},
        "acl_allow",
        priority=1,
    )
    assert len(e.encode(schema()).table_entry.match) == 0
    lpm = TableEntry("lpm4", {"ipv4_dst": "0.0.0.0/0"}, "drop")
    assert len(lpm.encode(schema()).table_entry.match) == 0


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        (TableEntry("dmc"), SchemaError, "did you mean 'dmac'"),
        (TableEntry("dmac", {"dest": 1}), SchemaError, "no match field of table I.dmac"),
        (TableEntry("dmac", {"dst": 1}, "set_nhop"), SchemaError, "no action of table I.dmac"),
        (TableEntry("dmac", {"dst": 1}, "forward"), ValueError, "missing parameter.*port"),
        (
            TableEntry("dmac", {"dst": 1}, "forward", {"port": 512}),
            ValueError,
            "parameter port: 0x200: does not fit in 9 bits",
        ),
        (
            TableEntry("lpm4", {"ipv4_dst": "198.51.100.1/33"}, "drop"),
            ValueError,
            r"ipv4_dst \(lpm, 32 bits\): 198.51.100.1/33: prefix longer than 32 bits",
        ),
        (
            TableEntry("dmac", {"dst": "02:00:00:00:00:01:02"}, "drop"),
            ValueError,
            "not a number, MAC",
        ),
    ],
)
def test_encode_errors(entry: TableEntry, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        entry.encode(schema())


def test_default_entry_and_wildcards() -> None:
    d = roundtrip(TableEntry("lpm4", action="drop", is_default=True))
    assert d.is_default and d.match == {}
    assert TableEntry().encode(schema()).table_entry.table_id == 0
    assert decode_entity(TableEntry().encode(schema()), schema()) == TableEntry()
    key = TableEntry("dmac", {"dst": MAC1}, "forward", {"port": 1}).key()
    assert key.action is None and key.match == {"dst": MAC1}


def test_counter_and_meter_data_on_entries() -> None:
    e = TableEntry(
        "acl",
        {"hdr.ipv4.src": ("192.0.2.0", "255.255.255.0")},
        "acl_allow",
        priority=3,
        counter_data=CounterData(4, 400),
        meter_config=MeterConfig(10, 20, 30, 40),
    )
    back = roundtrip(e)
    assert back.counter_data == CounterData(4, 400)
    assert back.meter_config == MeterConfig(10, 20, 30, 40)


def test_action_profiles() -> None:
    m = roundtrip(ActionProfileMember("ecmp_sel", 7, "set_nhop", {"dmac": MAC1, "port": 1}))
    assert (m.profile, m.member_id, m.params) == (
        "I.ecmp_sel",
        7,
        {"dmac": 0x020000000001, "port": 1},
    )
    g = roundtrip(ActionProfileGroup("ecmp_sel", 1, [7, (8, 2)], max_size=4))
    assert g.members == [(7, 1), (8, 2)]
    via_member = roundtrip(TableEntry("ecmp", {"hdr.ipv4.dst": "203.0.113.1"}, member_id=7))
    assert via_member.member_id == 7
    via_group = roundtrip(TableEntry("ecmp", {"hdr.ipv4.dst": "203.0.113.1"}, group_id=1))
    assert via_group.group_id == 1
    one_shot = roundtrip(
        TableEntry(
            "ecmp",
            {"hdr.ipv4.dst": "203.0.113.2"},
            action_set=[WeightedAction("set_nhop", {"dmac": MAC1, "port": 1}, 2)],
        )
    )
    assert one_shot.action_set[0].weight == 2


def test_externs() -> None:
    c = roundtrip(CounterEntry("ctr", 3, CounterData(1, 64)))
    assert (c.counter, c.index, c.data) == ("I.ctr", 3, CounterData(1, 64))
    assert roundtrip(CounterEntry("ctr")).index is None  # all cells
    assert roundtrip(CounterEntry()).counter is None  # all counters
    m = roundtrip(MeterEntry("mtr", 0, MeterConfig(100, 10, 200, 20)))
    assert m.config.pir == 200
    r = roundtrip(RegisterEntry("reg", 2, 0xDEADBEEF))
    assert r.value == 0xDEADBEEF
    with pytest.raises(ValueError, match="register I.reg: .*does not fit in 32 bits"):
        RegisterEntry("reg", 0, 1 << 32).encode(schema())
    acl = TableEntry("acl", {"hdr.ipv4.src": "192.0.2.1"}, priority=1)
    dc = roundtrip(DirectCounterEntry(acl, CounterData(2, 3)))
    assert dc.table_entry.match == {"hdr.ipv4.src": (0xC0000201, 0xFFFFFFFF)}
    dm = DirectMeterEntry(acl, MeterConfig(1, 2, 3, 4)).encode(schema())
    assert dm.direct_meter_entry.config.cburst == 2
    vs = roundtrip(ValueSetEntry("etypes", [0x88B5, "0x88b6"]))
    assert vs.members == [0x88B5, 0x88B6]
    d = roundtrip(DigestEntry("learn_t", max_timeout_ns=0, max_list_size=1, ack_timeout_ns=10**9))
    assert d.digest == "learn_t" and d.ack_timeout_ns == 10**9


def test_packet_replication() -> None:
    mg = roundtrip(MulticastGroup(1, [1, (2, 5)]))
    assert mg.replicas == [(1, 0), (2, 5)]
    cs = roundtrip(CloneSession(100, [3], class_of_service=1, packet_length_bytes=128))
    assert (cs.session_id, cs.replicas, cs.packet_length_bytes) == (100, [(3, 0)], 128)


def test_packet_out_and_in() -> None:
    po = PacketOut(b"\x01\x02", {"egress_port": 2}).encode(schema())
    assert [(m.metadata_id, m.value) for m in po.metadata] == [(1, b"\x02")]  # _pad left out
    assert PacketOut.decode(po, schema()).metadata == {"egress_port": 2}
    with pytest.raises(ValueError, match="missing metadata egress_port"):
        PacketOut(b"x").encode(schema())
    with pytest.raises(ValueError, match="egress_port: 0x200: does not fit in 9 bits"):
        PacketOut(b"x", {"egress_port": 512}).encode(schema())
    with pytest.raises(SchemaError, match="no metadata of packet_out named 'port'"):
        PacketOut(b"x", {"port": 1}).encode(schema())
    pin = PacketIn(b"frame", {"ingress_port": 7, "_pad": 0}).encode(schema())
    assert PacketIn.decode(pin, schema()) == PacketIn(b"frame", {"ingress_port": 7, "_pad": 0})


def test_digest_list_decodes_into_dicts() -> None:
    dl = DigestList("learn_t", 4, [{"src": MAC1, "port": 1}, {"src": 0x020000000002, "port": 2}])
    msg = dl.encode(schema())
    back = DigestList.decode(msg, schema())
    assert back.digest == "learn_t" and back.list_id == 4
    assert back.data == [{"src": 0x020000000001, "port": 1}, {"src": 0x020000000002, "port": 2}]
    assert back.digest_id == schema().digests["learn_t"].id
    with pytest.raises(ValueError, match="missing member port"):
        DigestList("learn_t", 1, [{"src": 1}]).encode(schema())


def test_idle_timeout_notification() -> None:
    msg = p4runtime_pb2.IdleTimeoutNotification(timestamp=5)
    msg.table_entry.add().CopyFrom(
        TableEntry("dmac", {"dst": MAC1}, idle_timeout_ns=10**8).encode(schema()).table_entry
    )
    note = IdleTimeoutNotification.decode(msg, schema())
    assert note.timestamp == 5
    assert note.entries[0].match == {"hdr.ethernet.dst": 0x020000000001}


def test_update_and_short_repr() -> None:
    u = Update(UpdateType.DELETE, TableEntry("dmac", {"dst": MAC1})).encode(schema())
    assert u.type == p4runtime_pb2.Update.DELETE
    assert repr(TableEntry("dmac", {"dst": 1})) == "TableEntry(table='dmac', match={'dst': 1})"
