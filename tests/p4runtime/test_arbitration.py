"""Primary election rules, without gRPC: clients are names, notifications are collected."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2

from softswitch.p4runtime.arbitration import Arbitrator, election_id_of
from softswitch.p4runtime.errors import P4RTError

DEV = 3


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, client: Any, msg: p4runtime_pb2.StreamMessageResponse) -> None:
        self.sent.append((client, msg.arbitration))

    def take(self) -> dict[str, tuple[int, int | None]]:
        """What each client was told last: (status code, election id or None)."""
        out = {}
        for client, arb in self.sent:
            eid = election_id_of(arb)
            out[client] = (arb.status.code, eid)
        self.sent.clear()
        return out


def update(
    eid: int | None, role: str = "", device: int = DEV, config: bool = False
) -> p4runtime_pb2.MasterArbitrationUpdate:
    m = p4runtime_pb2.MasterArbitrationUpdate(device_id=device)
    if eid is not None:
        m.election_id.high = eid >> 64
        m.election_id.low = eid & ((1 << 64) - 1)
    if role or config:
        m.role.name = role
        if config:
            m.role.config.CopyFrom(any_pb2.Any(type_url="example.org/RoleConfig"))
    return m


def write_req(eid: int | None, role: str = "") -> p4runtime_pb2.WriteRequest:
    w = p4runtime_pb2.WriteRequest(device_id=DEV, role=role)
    if eid is not None:
        w.election_id.low = eid
    return w


OK, BACKUP, NONE = code_pb2.OK, code_pb2.ALREADY_EXISTS, code_pb2.NOT_FOUND


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_highest_election_id_is_primary(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    arb.update("a", update(10))
    assert rec.take() == {"a": (OK, 10)}
    arb.update("b", update(5))  # a backup joins: only it is told
    assert rec.take() == {"b": (BACKUP, 10)}
    arb.update("c", update(20))  # a new primary: everyone is told
    assert rec.take() == {"a": (BACKUP, 20), "b": (BACKUP, 20), "c": (OK, 20)}
    assert arb.is_primary("c") and not arb.is_primary("a")
    arb.check_primary(DEV, write_req(20))
    with pytest.raises(P4RTError) as ei:
        arb.check_primary(DEV, write_req(10))
    assert ei.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_primary_leaving_promotes_the_next_highest(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    for name, eid in (("a", 1), ("b", 3), ("c", 2)):
        arb.update(name, update(eid))
    rec.take()
    arb.remove("b")
    assert rec.take() == {"a": (BACKUP, 2), "c": (OK, 2)}
    arb.remove("a")  # a backup leaving changes nothing
    assert rec.take() == {}
    arb.remove("c")
    assert arb.receivers() == []


def test_spec_strict_mode_keeps_the_highest_ever(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec, promote_on_disconnect=False)
    arb.update("a", update(1))
    arb.update("b", update(3))
    rec.take()
    arb.remove("b")
    assert rec.take() == {"a": (NONE, 3)}  # no primary until someone reaches 3
    arb.update("a", update(3))
    assert rec.take() == {"a": (OK, 3)}


def test_duplicate_election_id_is_invalid_argument(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    arb.update("a", update(7))
    with pytest.raises(P4RTError) as ei:
        arb.update("b", update(7))
    assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert not arb.is_registered("b")
    arb.update("b", update(7, role="other"))  # the same id in another role is fine


def test_device_and_role_changes(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    with pytest.raises(P4RTError) as ei:
        arb.update("a", update(1, device=DEV + 1))
    assert ei.value.code == grpc.StatusCode.NOT_FOUND
    arb.update("a", update(1))
    with pytest.raises(P4RTError) as ei:
        arb.update("a", update(1, device=DEV + 1))
    assert ei.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(P4RTError) as ei:
        arb.update("a", update(1, role="x"))
    assert ei.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_stepping_down_and_unset_election_id(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    arb.update("a", update(5))
    arb.update("b", update(None))  # unset: never primary
    assert rec.take() == {"a": (OK, 5), "b": (BACKUP, 5)}
    arb.update("a", update(2))  # still the highest live id: stays primary, all told
    assert rec.take() == {"a": (OK, 2), "b": (BACKUP, 2)}
    arb.remove("a")
    assert rec.take() == {"b": (NONE, 5)}
    with pytest.raises(P4RTError) as ei:
        arb.check_primary(DEV, write_req(None))
    assert ei.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_roles_are_separate_and_configs_limit_notifications(rec: Recorder) -> None:
    arb = Arbitrator(DEV, rec)
    arb.update("a", update(1))
    arb.update("r", update(1, role="acl", config=True))
    m = [arb_msg for client, arb_msg in rec.sent if client == "r"][-1]
    assert m.role.name == "acl" and m.role.config.type_url == "example.org/RoleConfig"
    assert arb.is_primary("a") and arb.is_primary("r")
    assert arb.receivers() == ["a"]  # a role with a config gets no packet-in / digests
    assert arb.has_full_access("a") and not arb.has_full_access("r")
    arb.check_primary(DEV, write_req(1, "acl"))
    with pytest.raises(P4RTError) as ei:
        arb.check_primary(DEV, write_req(1, "nobody"))
    assert ei.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(P4RTError) as ei:
        arb.check_primary(DEV + 1, write_req(1))
    assert ei.value.code == grpc.StatusCode.NOT_FOUND


def test_large_election_ids() -> None:
    rec = Recorder()
    arb = Arbitrator(DEV, rec)
    big = (5 << 64) | 1
    arb.update("a", update(big))
    arb.update("b", update(1 << 64))
    assert arb.is_primary("a")
    assert rec.take()["b"] == (BACKUP, big)
    assert arb.snapshot()["<default>"]["primary"] == "5,1"
