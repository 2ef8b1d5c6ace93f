"""The P4Runtime server end to end: a SwitchRuntime with in-process ports, gRPC on 127.0.0.1."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from softswitch.frontend.compiler import compile_text
from softswitch.p4runtime.server import P4RuntimeServer, api_version
from softswitch.ports import InProcessPort, PortSet
from softswitch.runtime import SwitchRuntime, unwrap_device_config

CPU_PORT = 255
DEVICE_ID = 1

PROGRAM = r"""
#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 255;

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }
@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
struct headers { packet_out_t packet_out; packet_in_t packet_in; ethernet_t ethernet; }
struct learn_t { bit<48> src; bit<9> port; }
struct metadata { bit<8> unused; }

parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  state start {
    transition select(sm.ingress_port) { CPU_PORT: parse_po; default: parse_eth; }
  }
  state parse_po { pkt.extract(hdr.packet_out); transition parse_eth; }
  state parse_eth { pkt.extract(hdr.ethernet); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  register<bit<32>>(8) reg;
  counter(8, CounterType.packets_and_bytes) ctr;
  action drop() { mark_to_drop(sm); }
  action forward(bit<9> port) { sm.egress_spec = port; }
  action to_cpu() { sm.egress_spec = CPU_PORT; }
  table dmac {
    key = { hdr.ethernet.dst: exact; }
    actions = { forward; to_cpu; drop; }
    default_action = drop();
    support_timeout = true;
  }
  apply {
    if (hdr.packet_out.isValid()) {
      sm.egress_spec = hdr.packet_out.egress_port;
      hdr.packet_out.setInvalid();
    } else {
      ctr.count((bit<32>)sm.ingress_port);
      reg.write(0, 32w7);
      digest<learn_t>(1, {hdr.ethernet.src, sm.ingress_port});
      dmac.apply();
      if (sm.egress_spec == CPU_PORT) {
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = sm.ingress_port;
      }
    }
  }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) {
  apply { pkt.emit(hdr.packet_in); pkt.emit(hdr.ethernet); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""

# the same program with one more table: what RECONCILE_AND_COMMIT moves to
PROGRAM_V2 = PROGRAM.replace(
    "  apply {\n    if (hdr.packet_out",
    "  table extra { key = { hdr.ethernet.src: exact; } actions = { drop; NoAction; } }\n"
    "  apply {\n    extra.apply();\n    if (hdr.packet_out",
)

_COMPILED: dict[str, Any] = {}


def compiled(text: str = PROGRAM) -> Any:
    if text not in _COMPILED:
        _COMPILED[text] = compile_text(text, "test_server.p4")
    return _COMPILED[text]


def eth(dst: int, src: int, etype: int = 0x0800, payload: bytes = b"") -> bytes:
    body = payload or bytes([192, 0, 2, 1]) * 4  # filler from 192.0.2.0/24
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + etype.to_bytes(2, "big") + body


MAC_A = 0x02_00_00_00_00_0A
MAC_B = 0x02_00_00_00_00_0B


# -- fixtures and a small client ------------------------------------------------------------


class Switch:
    """A running runtime + server with ports 1 and 2."""

    def __init__(self, **service: Any) -> None:
        self.ports = PortSet()
        self.p1 = self.ports.add(InProcessPort(1))
        self.p2 = self.ports.add(InProcessPort(2))
        self.rt = SwitchRuntime(
            self.ports, device_id=DEVICE_ID, cpu_port=CPU_PORT, tick_interval=0.01
        )
        service.setdefault("idle_scan_interval", 0.01)
        self.server = P4RuntimeServer(self.rt, "127.0.0.1:0", **service)
        self.server.start()
        self.rt.start()
        self.addr = f"127.0.0.1:{self.server.port}"
        self.channels: list[grpc.Channel] = []

    def stub(self) -> p4runtime_pb2_grpc.P4RuntimeStub:
        ch = grpc.insecure_channel(self.addr)
        self.channels.append(ch)
        return p4runtime_pb2_grpc.P4RuntimeStub(ch)

    def close(self) -> None:
        for ch in self.channels:
            ch.close()
        self.server.stop(grace=0.2)
        self.rt.stop()


@pytest.fixture
def sw() -> Iterator[Switch]:
    s = Switch()
    yield s
    s.close()


class Client:
    """One controller: a stub and (after :meth:`connect`) a StreamChannel."""

    def __init__(
        self,
        sw: Switch,
        election_id: int | None = 1,
        role: str | None = None,
        device_id: int = DEVICE_ID,
    ) -> None:
        self.stub = sw.stub()
        self.election_id = election_id
        self.role = role
        self.device_id = device_id
        self.out: queue.Queue[Any] = queue.Queue()
        self.inq: queue.Queue[Any] = queue.Queue()
        self.error: grpc.RpcError | None = None
        self.stream: Any = None

    def _requests(self) -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while True:
            m = self.out.get()
            if m is None:
                return
            yield m

    def _recv(self) -> None:
        try:
            for m in self.stream:
                self.inq.put(m)
        except grpc.RpcError as e:
            self.error = e
        self.inq.put(None)

    def connect(self, wait: bool = True) -> p4runtime_pb2.StreamMessageResponse | None:
        self.stream = self.stub.StreamChannel(self._requests())
        threading.Thread(target=self._recv, daemon=True).start()
        self.arbitrate()
        return self.expect("arbitration") if wait else None

    def arbitrate(self, election_id: int | None | str = "same") -> None:
        if election_id != "same":
            self.election_id = election_id  # type: ignore[assignment]
        req = p4runtime_pb2.StreamMessageRequest()
        arb = req.arbitration
        arb.device_id = self.device_id
        if self.role is not None:
            arb.role.name = self.role
        if self.election_id is not None:
            arb.election_id.high = self.election_id >> 64
            arb.election_id.low = self.election_id & ((1 << 64) - 1)
        self.out.put(req)

    def send(self, **kw: Any) -> None:
        self.out.put(p4runtime_pb2.StreamMessageRequest(**kw))

    def expect(self, kind: str, timeout: float = 3.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} message within {timeout} s")
            try:
                m = self.inq.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError(f"stream ended while waiting for {kind}: {self.error}")
            if m.WhichOneof("update") == kind:
                return m

    def nothing(self, kind: str, wait: float = 0.3) -> None:
        try:
            m = self.expect(kind, wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {kind}: {m}")

    def ended(self, timeout: float = 3.0) -> grpc.RpcError | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.inq.get(timeout=0.1)
            except queue.Empty:
                continue
            if m is None:
                return self.error
        raise AssertionError("stream did not end")

    def close(self) -> None:
        self.out.put(None)

    def _eid(self, msg: Any) -> None:
        if self.election_id is not None:
            msg.election_id.high = self.election_id >> 64
            msg.election_id.low = self.election_id & ((1 << 64) - 1)
        if self.role is not None:
            msg.role = self.role

    def set_pipeline(
        self,
        action: int = p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        program: str = PROGRAM,
        device_config: bytes | None = None,
        cookie: int | None = None,
        config: bool = True,
    ) -> Any:
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, action=action
        )
        self._eid(req)
        if config:
            r = compiled(program)
            req.config.p4info.CopyFrom(r.p4info)
            req.config.p4_device_config = (
                device_config if device_config is not None else r.device_config_bytes()
            )
            if cookie is not None:
                req.config.cookie.cookie = cookie
        return self.stub.SetForwardingPipelineConfig(req)

    def write(self, *updates: p4runtime_pb2.Update, atomicity: int = 0) -> Any:
        req = p4runtime_pb2.WriteRequest(device_id=self.device_id, atomicity=atomicity)
        self._eid(req)
        req.updates.extend(updates)
        return self.stub.Write(req)

    def read(self, *entities: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        return [e for resp in self.stub.Read(req) for e in resp.entities]


def p4info_id(kind: str, name: str, program: str = PROGRAM) -> int:
    for obj in getattr(compiled(program).p4info, kind):
        if obj.preamble.name == name:
            return int(obj.preamble.id)
    raise KeyError(name)


def dmac_entry(mac: int, action: str, *params: bytes, idle_ns: int = 0) -> p4runtime_pb2.Entity:
    te = p4runtime_pb2.TableEntry(table_id=p4info_id("tables", "I.dmac"))
    te.match.add(field_id=1).exact.value = mac.to_bytes(6, "big")
    te.action.action.action_id = p4info_id("actions", action)
    for i, p in enumerate(params, 1):
        te.action.action.params.add(param_id=i, value=p)
    te.idle_timeout_ns = idle_ns
    return p4runtime_pb2.Entity(table_entry=te)


def insert(entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Update:
    return p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT, entity=entity)


def batch_errors(err: grpc.RpcError) -> list[p4runtime_pb2.Error]:
    """The per-update errors of a failed Write, from ``grpc-status-details-bin``."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            out = []
            for d in st.details:
                e = p4runtime_pb2.Error()
                assert d.Unpack(e)
                out.append(e)
            return out
    raise AssertionError("no grpc-status-details-bin")


def wait_for(cond: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


Action = p4runtime_pb2.SetForwardingPipelineConfigRequest
GetType = p4runtime_pb2.GetForwardingPipelineConfigRequest


# -- Capabilities, pipeline config ----------------------------------------------------------


def test_capabilities(sw: Switch) -> None:
    resp = sw.stub().Capabilities(p4runtime_pb2.CapabilitiesRequest())
    assert resp.p4runtime_api_version == api_version() == "1.4.1"


def test_get_without_pipeline_has_no_config(sw: Switch) -> None:
    resp = sw.stub().GetForwardingPipelineConfig(
        p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=DEVICE_ID)
    )
    assert not resp.HasField("config")


def test_write_and_read_without_pipeline_fail_precondition(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    with pytest.raises(grpc.RpcError) as ei:
        c.write(insert(dmac_entry(MAC_A, "I.to_cpu")))
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as ei:
        c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    c.close()


def test_unknown_device_id_is_not_found(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    other = Client(sw, device_id=7)
    with pytest.raises(grpc.RpcError) as ei:
        other.write(insert(dmac_entry(MAC_A, "I.to_cpu")))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as ei:
        other.set_pipeline()
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as ei:
        other.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as ei:
        other.stub.GetForwardingPipelineConfig(GetType(device_id=7))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    # and on the stream, the arbitration is refused and the stream ends with NOT_FOUND
    other.connect(wait=False)
    err = other.ended()
    assert err is not None and err.code() == grpc.StatusCode.NOT_FOUND
    c.close()


def test_pipeline_actions(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    get = c.stub.GetForwardingPipelineConfig
    # VERIFY: checked, not installed
    c.set_pipeline(Action.VERIFY)
    assert sw.rt.pipeline is None
    # VERIFY of something that cannot be realised
    with pytest.raises(grpc.RpcError) as ei:
        c.set_pipeline(Action.VERIFY, device_config=b'{"format": "nonsense"}')
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as ei:
        c.set_pipeline(Action.VERIFY_AND_COMMIT, config=False)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # COMMIT without a saved config, COMMIT with a config
    with pytest.raises(grpc.RpcError) as ei:
        c.set_pipeline(Action.COMMIT, config=False)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as ei:
        c.set_pipeline(Action.COMMIT)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # VERIFY_AND_SAVE keeps it aside; writes go to it; COMMIT runs it with those writes
    c.set_pipeline(Action.VERIFY_AND_SAVE, cookie=7)
    assert sw.rt.pipeline is None
    c.write(insert(dmac_entry(MAC_B, "I.forward", b"\x02")))
    c.set_pipeline(Action.COMMIT, config=False)
    assert sw.rt.pipeline is not None
    assert len(c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))) == 1
    sw.p1.inject(eth(MAC_B, MAC_A))
    wait_for(lambda: sw.p2.sent)
    # GetForwardingPipelineConfig by response type
    r = compiled()
    full = get(GetType(device_id=DEVICE_ID, response_type=GetType.ALL)).config
    assert full.p4info == r.p4info and full.cookie.cookie == 7
    assert full.p4_device_config == r.device_config_bytes()
    only = get(GetType(device_id=DEVICE_ID, response_type=GetType.COOKIE_ONLY)).config
    assert only.cookie.cookie == 7 and not only.HasField("p4info") and not only.p4_device_config
    pc = get(GetType(device_id=DEVICE_ID, response_type=GetType.P4INFO_AND_COOKIE)).config
    assert pc.p4info == r.p4info and not pc.p4_device_config
    dc = get(GetType(device_id=DEVICE_ID, response_type=GetType.DEVICE_CONFIG_AND_COOKIE)).config
    assert dc.p4_device_config == r.device_config_bytes() and not dc.HasField("p4info")
    # VERIFY_AND_COMMIT clears the forwarding state
    c.set_pipeline(Action.VERIFY_AND_COMMIT)
    assert c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry())) == []
    assert not get(GetType(device_id=DEVICE_ID)).config.HasField("cookie")
    c.close()


def test_reconcile_keeps_entries(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    c.write(insert(dmac_entry(MAC_B, "I.forward", b"\x02")))
    c.set_pipeline(Action.RECONCILE_AND_COMMIT, program=PROGRAM_V2)
    entries = c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    assert len(entries) == 1
    assert entries[0].table_entry.match[0].exact.value == MAC_B.to_bytes(6, "big")
    assert "I.extra" in sw.rt.pipeline.switch.tables  # type: ignore[union-attr]
    sw.p1.inject(eth(MAC_B, MAC_A))
    wait_for(lambda: sw.p2.sent)
    c.close()


def test_wrapped_device_config_is_accepted(sw: Switch) -> None:
    raw = compiled().device_config_bytes()
    # PI's P4DeviceConfig: reassign (1, varint), extras (2, message), device_data (3, bytes)
    wrapped = b"\x08\x01" + b"\x12\x00" + b"\x1a" + _varint(len(raw)) + raw
    assert unwrap_device_config(wrapped) == raw
    assert unwrap_device_config(raw) == raw
    c = Client(sw)
    c.connect()
    c.set_pipeline(device_config=wrapped)
    assert sw.rt.pipeline is not None
    got = c.stub.GetForwardingPipelineConfig(GetType(device_id=DEVICE_ID)).config
    assert got.p4_device_config == wrapped  # read-write symmetry
    c.close()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


# -- arbitration ----------------------------------------------------------------------------


def test_primary_and_backup_with_promotion(sw: Switch) -> None:
    a = Client(sw, election_id=1)
    m = a.connect()
    assert m.arbitration.status.code == code_pb2.OK
    assert m.arbitration.election_id.low == 1
    b = Client(sw, election_id=2)
    m = b.connect()
    assert m.arbitration.status.code == code_pb2.OK
    m = a.expect("arbitration")
    assert m.arbitration.status.code == code_pb2.ALREADY_EXISTS
    assert m.arbitration.election_id.low == 2
    # the backup may not write or set the pipeline; it may read
    with pytest.raises(grpc.RpcError) as ei:
        a.set_pipeline()
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    b.set_pipeline()
    with pytest.raises(grpc.RpcError) as ei:
        a.write(insert(dmac_entry(MAC_A, "I.to_cpu")))
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    b.write(insert(dmac_entry(MAC_A, "I.to_cpu")))
    assert len(a.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))) == 1
    # a third client with a taken election id is refused
    c = Client(sw, election_id=2)
    c.connect(wait=False)
    err = c.ended()
    assert err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT
    # the primary leaves: the backup is promoted and told
    b.close()
    m = a.expect("arbitration")
    assert m.arbitration.status.code == code_pb2.OK
    assert m.arbitration.election_id.low == 1
    a.write(insert(dmac_entry(MAC_B, "I.to_cpu")))
    a.close()


def test_roles_arbitrate_separately(sw: Switch) -> None:
    a = Client(sw, election_id=5)
    a.connect()
    r = Client(sw, election_id=1, role="acl")
    m = r.connect()
    assert m.arbitration.status.code == code_pb2.OK
    assert m.arbitration.role.name == "acl"
    a.set_pipeline()
    r.write(insert(dmac_entry(MAC_A, "I.to_cpu")))  # primary of its own role
    a.nothing("arbitration", 0.2)
    # a write naming an unknown role is NOT_FOUND
    other = Client(sw, election_id=1, role="nobody")
    with pytest.raises(grpc.RpcError) as ei:
        other.write(insert(dmac_entry(MAC_B, "I.to_cpu")))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    # a later update changing the role ends the stream
    r.role = "other"
    r.arbitrate()
    err = r.ended()
    assert err is not None and err.code() == grpc.StatusCode.FAILED_PRECONDITION
    a.close()


# -- write / read ---------------------------------------------------------------------------


def test_write_batch_errors_and_read(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    good = insert(dmac_entry(MAC_A, "I.forward", b"\x01"))
    c.write(good)
    bad_action = insert(dmac_entry(MAC_B, "I.forward"))  # missing its parameter
    other = insert(dmac_entry(MAC_B, "I.to_cpu"))
    with pytest.raises(grpc.RpcError) as ei:
        c.write(good, other, bad_action)
    assert ei.value.code() == grpc.StatusCode.UNKNOWN
    errs = batch_errors(ei.value)
    assert [e.canonical_code for e in errs] == [
        code_pb2.ALREADY_EXISTS,
        code_pb2.OK,
        code_pb2.INVALID_ARGUMENT,
    ]
    assert errs[0].message
    entries = c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    macs = sorted(int.from_bytes(e.table_entry.match[0].exact.value, "big") for e in entries)
    assert macs == [MAC_A, MAC_B]
    c.close()


def test_rollback_on_error_undoes_the_batch(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    c.write(insert(dmac_entry(MAC_A, "I.forward", b"\x01")))
    modify = p4runtime_pb2.Update(
        type=p4runtime_pb2.Update.MODIFY, entity=dmac_entry(MAC_A, "I.forward", b"\x02")
    )
    new = insert(dmac_entry(MAC_B, "I.to_cpu"))
    dup = insert(dmac_entry(MAC_A, "I.to_cpu"))
    for atomicity in (
        p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR,
        p4runtime_pb2.WriteRequest.DATAPLANE_ATOMIC,
    ):
        with pytest.raises(grpc.RpcError) as ei:
            c.write(modify, new, dup, atomicity=atomicity)
        codes = [e.canonical_code for e in batch_errors(ei.value)]
        assert codes == [code_pb2.ABORTED, code_pb2.ABORTED, code_pb2.ALREADY_EXISTS]
        entries = c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
        assert len(entries) == 1
        assert entries[0].table_entry.action.action.params[0].value == b"\x01"
    c.close()


# -- packet I/O -----------------------------------------------------------------------------


def test_packet_out_and_packet_in(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    frame = eth(MAC_B, MAC_A)
    po = p4runtime_pb2.PacketOut(payload=frame)
    po.metadata.add(metadata_id=1, value=b"\x02")
    po.metadata.add(metadata_id=2, value=b"\x00")
    c.send(packet=po)
    wait_for(lambda: sw.p2.sent)
    assert sw.p2.take_sent() == [frame]
    # packet-in: an entry sends MAC_A to the CPU port
    c.write(insert(dmac_entry(MAC_A, "I.to_cpu")))
    frame_in = eth(MAC_A, MAC_B)
    sw.p1.inject(frame_in)
    m = c.expect("packet")
    assert m.packet.payload == frame_in
    md = {x.metadata_id: x.value for x in m.packet.metadata}
    assert md[1] == b"\x01"
    # a backup's packet-out is refused with a StreamError, and it gets no packet-in
    b = Client(sw, election_id=0)
    b.connect()
    b.send(packet=po)
    err = b.expect("error")
    assert err.error.canonical_code == code_pb2.PERMISSION_DENIED
    assert err.error.packet_out.packet_out.payload == frame
    # malformed metadata: INVALID_ARGUMENT StreamError to the primary
    bad = p4runtime_pb2.PacketOut(payload=frame)
    bad.metadata.add(metadata_id=9, value=b"\x01")
    c.send(packet=bad)
    assert c.expect("error").error.canonical_code == code_pb2.INVALID_ARGUMENT
    sw.p1.inject(frame_in)
    c.expect("packet")
    b.nothing("packet")
    c.close()
    b.close()


# -- digests and idle timeouts --------------------------------------------------------------


def _digest_config(
    c: Client, *, max_list_size: int = 1, max_timeout_ns: int = 0, ack_timeout_ns: int = 10**10
) -> int:
    did = next(d.preamble.id for d in compiled().p4info.digests)
    de = p4runtime_pb2.DigestEntry(digest_id=did)
    de.config.max_list_size = max_list_size
    de.config.max_timeout_ns = max_timeout_ns
    de.config.ack_timeout_ns = ack_timeout_ns
    c.write(insert(p4runtime_pb2.Entity(digest_entry=de)))
    return int(did)


def test_digest_lists_wait_for_ack(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    did = _digest_config(c, max_list_size=2, max_timeout_ns=50_000_000)
    sw.p1.inject(eth(MAC_B, MAC_A))
    sw.p1.inject(eth(MAC_B, MAC_A))  # a duplicate: the list holds it once
    m = c.expect("digest")
    assert m.digest.digest_id == did and m.digest.list_id >= 1
    assert len(m.digest.data) == 1  # sent after max_timeout_ns, not max_list_size
    members = m.digest.data[0].struct.members
    assert members[0].bitstring == MAC_A.to_bytes(6, "big").lstrip(b"\x00")
    assert members[1].bitstring == b"\x01"
    # not acknowledged: the same value is not sent again
    sw.p1.inject(eth(MAC_B, MAC_A))
    c.nothing("digest", 0.3)
    # a different value is
    sw.p2.inject(eth(MAC_B, MAC_A))
    sw.p1.inject(eth(MAC_B, MAC_B))
    m2 = c.expect("digest")
    assert len(m2.digest.data) == 2 and m2.digest.list_id != m.digest.list_id
    # after the ack, the first value can be reported again
    c.send(digest_ack=p4runtime_pb2.DigestListAck(digest_id=did, list_id=m.digest.list_id))
    time.sleep(0.05)
    sw.p1.inject(eth(MAC_B, MAC_A))
    m3 = c.expect("digest")
    assert len(m3.digest.data) == 1
    # an ack for an unknown digest id is an INVALID_ARGUMENT StreamError
    c.send(digest_ack=p4runtime_pb2.DigestListAck(digest_id=12345, list_id=1))
    assert c.expect("error").error.canonical_code == code_pb2.INVALID_ARGUMENT
    c.close()


def test_digest_resent_after_ack_timeout(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    _digest_config(c, max_list_size=1, ack_timeout_ns=150_000_000)
    sw.p1.inject(eth(MAC_B, MAC_A))
    c.expect("digest")
    sw.p1.inject(eth(MAC_B, MAC_A))
    c.nothing("digest", 0.05)
    time.sleep(0.2)
    sw.p1.inject(eth(MAC_B, MAC_A))
    c.expect("digest")
    c.close()


def test_idle_timeout_notification(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    c.write(insert(dmac_entry(MAC_B, "I.forward", b"\x02", idle_ns=100_000_000)))
    t0 = time.monotonic()
    m = c.expect("idle_timeout_notification")
    assert time.monotonic() - t0 >= 0.08
    te = m.idle_timeout_notification.table_entry
    assert len(te) == 1 and te[0].idle_timeout_ns == 100_000_000
    assert te[0].match[0].exact.value == MAC_B.to_bytes(6, "big")
    assert m.idle_timeout_notification.timestamp > 0
    # the spec re-arms the timer: another TTL without hits gives another notification
    c.expect("idle_timeout_notification")
    c.close()


# -- over veth (root; inside a namespace the test creates) ------------------------------------


def _no_netns() -> str | None:
    import os
    import shutil

    if os.geteuid() != 0:
        return "needs root (raw sockets, network namespaces)"
    if shutil.which("ip") is None:
        return "iproute2's 'ip' is not installed"
    return None


@pytest.mark.skipif(_no_netns() is not None, reason=_no_netns() or "")
def test_runtime_over_veth_with_packet_in() -> None:
    from softswitch.ports import RawSocketPort, open_ports
    from softswitch.ports.netns import NetnsError, temporary_netns

    try:
        ctx = temporary_netns("sluice-p4rt")
        ns = ctx.__enter__()
    except NetnsError as e:
        pytest.skip(f"cannot create a network namespace here: {e}")
    try:
        ns.veth_up(2)  # veth0<->veth1, veth2<->veth3; the switch takes the even ends
        ports = open_ports(["1@veth0", "2@veth2"], netns=ns.name)
        rt = SwitchRuntime(ports, device_id=DEVICE_ID, cpu_port=CPU_PORT)
        server = P4RuntimeServer(rt, "127.0.0.1:0")
        server.start()
        rt.start()
        wire = PortSet()
        wire.add(ns.run(RawSocketPort, 1, "veth1"))
        wire.add(ns.run(RawSocketPort, 2, "veth3"))
        try:
            sw = Switch.__new__(Switch)
            sw.addr, sw.channels = f"127.0.0.1:{server.port}", []
            c = Client(sw)
            c.connect()
            c.set_pipeline()
            c.write(
                insert(dmac_entry(MAC_B, "I.forward", b"\x02")),
                insert(dmac_entry(MAC_A, "I.to_cpu")),
            )
            frame = eth(MAC_B, MAC_A)
            wire.send(1, frame)
            got: list[tuple[int, bytes]] = []
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                got += [(p.number, f) for p, f in wire.poll(0.2)]
            assert (2, frame) in got
            wire.send(2, eth(MAC_A, MAC_B))
            m = c.expect("packet")
            assert {x.metadata_id: x.value for x in m.packet.metadata}[1] == b"\x02"
            c.close()
            for ch in sw.channels:
                ch.close()
        finally:
            wire.close()
            server.stop(grace=0.2)
            rt.stop()
    finally:
        ctx.__exit__(None, None, None)


def test_rollback_restores_deleted_entries_and_digest_configs(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    c.write(insert(dmac_entry(MAC_A, "I.forward", b"\x01", idle_ns=10**12)))
    delete = p4runtime_pb2.Update(
        type=p4runtime_pb2.Update.DELETE, entity=dmac_entry(MAC_A, "I.forward", b"\x01")
    )
    did = next(d.preamble.id for d in compiled().p4info.digests)
    de = p4runtime_pb2.DigestEntry(digest_id=did)
    de.config.max_list_size = 1
    bad = insert(dmac_entry(MAC_B, "I.forward"))  # missing its param: INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as ei:
        c.write(
            delete,
            insert(p4runtime_pb2.Entity(digest_entry=de)),
            bad,
            atomicity=p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR,
        )
    codes = [e.canonical_code for e in batch_errors(ei.value)]
    assert codes == [code_pb2.ABORTED, code_pb2.ABORTED, code_pb2.INVALID_ARGUMENT]
    entries = c.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    assert len(entries) == 1 and entries[0].table_entry.idle_timeout_ns == 10**12
    assert c.read(p4runtime_pb2.Entity(digest_entry=p4runtime_pb2.DigestEntry())) == []
    c.close()


def test_read_is_chunked(sw: Switch) -> None:
    c = Client(sw)
    c.connect()
    c.set_pipeline()
    c.write(*(insert(dmac_entry(0x02_00_00_00_10_00 + i, "I.to_cpu")) for i in range(600)))
    req = p4runtime_pb2.ReadRequest(device_id=DEVICE_ID)
    req.entities.add().table_entry.SetInParent()
    sizes = [len(r.entities) for r in c.stub.Read(req)]
    assert sum(sizes) == 600 and len(sizes) >= 2
    c.close()


def test_p4runtime_shell_drives_the_switch(sw: Switch, tmp_path: Any) -> None:
    """p4runtime-shell 0.0.6, as a user would run it against simple_switch_grpc."""
    from google.protobuf import text_format

    sh = pytest.importorskip("p4runtime_sh.shell")
    r = compiled()
    p4info_path = tmp_path / "p4info.txt"
    p4info_path.write_text(text_format.MessageToString(r.p4info))
    config_path = tmp_path / "prog.json"
    config_path.write_bytes(r.device_config_bytes())
    sh.setup(
        device_id=DEVICE_ID,
        grpc_addr=sw.addr,
        election_id=(0, 1),
        config=sh.FwdPipeConfig(str(p4info_path), str(config_path)),
    )
    try:
        te = sh.TableEntry("I.dmac")(action="I.forward")
        te.match["hdr.ethernet.dst"] = "02:00:00:00:00:0b"
        te.action["port"] = "2"
        te.insert()
        te2 = sh.TableEntry("I.dmac")(action="I.to_cpu")
        te2.match["hdr.ethernet.dst"] = "02:00:00:00:00:0a"
        te2.insert()
        assert len(list(sh.TableEntry("I.dmac").read())) == 2
        with pytest.raises(Exception, match="ALREADY_EXISTS"):
            te.insert()
        sw.p1.inject(eth(MAC_B, MAC_A))
        wait_for(lambda: sw.p2.sent)
        sw.p2.take_sent()
        threading.Timer(0.2, lambda: sw.p1.inject(eth(MAC_A, MAC_B))).start()
        got = list(sh.PacketIn().sniff(timeout=1.5))
        assert got and got[0].packet.metadata[0].value == b"\x01"
        sh.PacketOut(payload=eth(MAC_B, MAC_A), egress_port="2", _pad="0").send()
        wait_for(lambda: sw.p2.sent)
    finally:
        sh.teardown()
