"""The server's P4Info index: the shared schema underneath, the server's status codes on top."""

from __future__ import annotations

import grpc
import pytest

from softswitch.p4runtime.errors import P4RTError
from softswitch.p4runtime.p4info_index import P4InfoIndex, decode_bits, encode_bits
from tests.p4runtime.test_entities import compiled


def test_index_is_the_shared_schema() -> None:
    ix = P4InfoIndex(compiled().p4info)
    s = ix.schema
    # the kinds the server reads as they are share the schema's records
    assert ix.counters.named("I.port_counter") is s.counters["I.port_counter"]
    assert ix.registers[s.registers["scratch"].id] is s.registers["scratch"]
    # tables and actions are id-keyed views of the schema's records
    acl = ix.tables.named("I.acl")
    assert [f.name for f in acl.fields.values()] == s.tables["acl"].match_fields.names()
    assert acl.direct_counter_id == s.direct_counters[s.tables["acl"].direct_counter].id
    assert list(ix.actions.named("I.set_dmac").params) == [
        p.id for p in s.actions["set_dmac"].params
    ]


def test_lookups_fail_with_not_found() -> None:
    ix = P4InfoIndex(compiled().p4info)
    with pytest.raises(P4RTError) as e:
        ix.actions.named("I.fwdd")
    assert e.value.code == grpc.StatusCode.NOT_FOUND and "I.fwd" in e.value.message
    with pytest.raises(P4RTError) as e:
        ix.counters[4242]
    assert e.value.message == "no counter with id 4242"
    assert ix.tables.get(4242) is None


def test_codec_keeps_the_server_messages() -> None:
    with pytest.raises(P4RTError, match=r"port: 0x0200 does not fit in 9 bits"):
        decode_bits(b"\x02\x00", 9, "port")
    with pytest.raises(P4RTError, match="port: empty bytestring"):
        decode_bits(b"", 9, "port")
    assert encode_bits(0x3FF, 9) == b"\x01\xff"  # masked, as bit<9> stores it
