"""A small P4Runtime client for the PTF suites: one connection, its stream, and the RPCs.

It speaks ids and protobuf messages; :mod:`ptf_tests.p4info_helper` supplies the names. It uses
only the ``p4runtime`` protos and gRPC, so it drives any P4Runtime server (``sluice switch``,
``simple_switch_grpc``, Stratum).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

__all__ = ["NotPrimary", "P4RuntimeClient", "P4RuntimeWriteError", "election_id"]

Update = p4runtime_pb2.Update


def election_id(value: Any) -> tuple[int, int]:
    """``(high, low)`` from an int, a ``(high, low)`` pair or a ``"high,low"`` string."""
    if isinstance(value, str):
        parts = [int(x, 0) for x in value.split(",")]
        value = tuple(parts) if len(parts) == 2 else parts[0]
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    v = int(value)
    return v >> 64, v & ((1 << 64) - 1)


class NotPrimary(RuntimeError):
    """The switch did not make this client primary (another holds the election id or a
    higher one)."""


class P4RuntimeWriteError(Exception):
    """A Write failed; ``errors`` holds one ``(update index, canonical code, message)`` per
    failed update (from the ``p4.v1.Error`` details), or the RPC's own status."""

    def __init__(self, rpc_error: grpc.RpcError) -> None:
        self.code = rpc_error.code()
        self.errors: list[tuple[int, int, str]] = []
        for key, value in rpc_error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for i, detail in enumerate(status.details):
                    err = p4runtime_pb2.Error()
                    if detail.Unpack(err) and err.canonical_code != code_pb2.OK:
                        self.errors.append((i, err.canonical_code, err.message))
        lines = [f"Write failed: {self.code.name}: {rpc_error.details()}"]
        lines += [f"  update {i}: {code_pb2.Code.Name(c)}: {m}" for i, c, m in self.errors]
        super().__init__("\n".join(lines))


class P4RuntimeClient:
    """One controller connection to ``device_id`` at ``addr``, primary with ``election``.

    The constructor opens the stream and arbitrates; it raises ``RuntimeError`` when the switch
    does not make this client primary within ``timeout`` seconds.
    """

    def __init__(
        self,
        addr: str,
        device_id: int,
        election: tuple[int, int] = (0, 1),
        *,
        timeout: float = 10.0,
    ) -> None:
        self.addr = addr
        self.device_id = device_id
        self.election = election
        self.channel = grpc.insecure_channel(addr)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self.channel.close()
            raise RuntimeError(f"no P4Runtime server answers at {addr}") from None
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.packet_ins: queue.Queue[p4runtime_pb2.PacketIn] = queue.Queue()
        self.digest_lists: queue.Queue[p4runtime_pb2.DigestList] = queue.Queue()
        self.stream_errors: list[Any] = []
        self._arbitration: queue.Queue[Any] = queue.Queue()
        self._requests: queue.Queue[p4runtime_pb2.StreamMessageRequest | None] = queue.Queue()
        self._stream = self.stub.StreamChannel(iter(self._requests.get, None))
        self._reader = threading.Thread(target=self._read_stream, daemon=True)
        self._reader.start()
        self._arbitrate(timeout)

    # -- stream ----------------------------------------------------------------------------------

    def _read_stream(self) -> None:
        try:
            for msg in self._stream:
                which = msg.WhichOneof("update")
                if which == "arbitration":
                    self._arbitration.put(msg.arbitration)
                elif which == "packet":
                    self.packet_ins.put(msg.packet)
                elif which == "digest":
                    self.digest_lists.put(msg.digest)
                elif which == "error":
                    self.stream_errors.append(msg.error)
        except grpc.RpcError as exc:
            self._arbitration.put(exc)

    @property
    def alive(self) -> bool:
        """Whether the stream is still open."""
        return self._reader.is_alive()

    def _arbitrate(self, timeout: float) -> None:
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id
        req.arbitration.election_id.high, req.arbitration.election_id.low = self.election
        self._requests.put(req)
        try:
            reply = self._arbitration.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise RuntimeError("no arbitration answer on the stream") from None
        if isinstance(reply, grpc.RpcError):
            self.close()
            raise RuntimeError(f"stream closed during arbitration: {reply.details()}")
        if reply.status.code != code_pb2.OK:
            self.close()
            raise NotPrimary(
                f"not primary for device {self.device_id} with election id {self.election}: "
                f"{reply.status.message}"
            )

    def packet_out(
        self, payload: bytes, metadata: Iterable[p4runtime_pb2.PacketMetadata] = ()
    ) -> None:
        """Send a packet-out on the stream."""
        req = p4runtime_pb2.StreamMessageRequest()
        req.packet.payload = bytes(payload)
        req.packet.metadata.extend(metadata)
        self._requests.put(req)

    def packet_in(self, timeout: float) -> p4runtime_pb2.PacketIn | None:
        """The next packet-in, or None after ``timeout`` seconds."""
        try:
            return self.packet_ins.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain_packet_ins(self) -> int:
        """Drop queued packet-ins; how many there were."""
        n = 0
        while True:
            try:
                self.packet_ins.get_nowait()
            except queue.Empty:
                return n
            n += 1

    def digest_list(self, timeout: float) -> p4runtime_pb2.DigestList | None:
        """The next digest list, or None after ``timeout`` seconds."""
        try:
            return self.digest_lists.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack_digest_list(self, digest_list: p4runtime_pb2.DigestList) -> None:
        """Acknowledge ``digest_list`` on the stream (the switch may then send its values
        again)."""
        req = p4runtime_pb2.StreamMessageRequest()
        req.digest_ack.digest_id = digest_list.digest_id
        req.digest_ack.list_id = digest_list.list_id
        self._requests.put(req)

    def drain_digest_lists(self) -> int:
        """Drop queued digest lists; how many there were."""
        n = 0
        while True:
            try:
                self.digest_lists.get_nowait()
            except queue.Empty:
                return n
            n += 1

    # -- RPCs ------------------------------------------------------------------------------------

    def pipeline_cookie(self) -> int | None:
        """The cookie of the switch's pipeline, or None when it has none (or no pipeline)."""
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.COOKIE_ONLY,
        )
        try:
            resp = self.stub.GetForwardingPipelineConfig(req)
        except grpc.RpcError:
            return None
        if not resp.config.HasField("cookie"):
            return None
        return int(resp.config.cookie.cookie)

    def set_pipeline(self, p4info: Any, device_config: bytes, cookie: int | None = None) -> None:
        """VERIFY_AND_COMMIT ``p4info`` and ``device_config`` (with ``cookie`` when given)."""
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        req.election_id.high, req.election_id.low = self.election
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        if cookie is not None:
            req.config.cookie.cookie = cookie
        self.stub.SetForwardingPipelineConfig(req)

    def write(
        self,
        updates: Iterable[p4runtime_pb2.Update],
        atomicity: int = p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR,
    ) -> None:
        """One Write of ``updates``; :class:`P4RuntimeWriteError` when it fails."""
        req = p4runtime_pb2.WriteRequest(device_id=self.device_id, atomicity=atomicity)
        req.election_id.high, req.election_id.low = self.election
        req.updates.extend(updates)
        try:
            self.stub.Write(req)
        except grpc.RpcError as exc:
            raise P4RuntimeWriteError(exc) from None

    def read(self, entities: Iterable[p4runtime_pb2.Entity]) -> Iterator[p4runtime_pb2.Entity]:
        """The entities a Read of ``entities`` (wildcards allowed) returns."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        for resp in self.stub.Read(req):
            yield from resp.entities

    def close(self) -> None:
        """End the stream and the channel."""
        self._requests.put(None)
        self._stream.cancel()
        self.channel.close()
