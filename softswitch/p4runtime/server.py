"""The P4Runtime gRPC service of the embedded target (what simple_switch_grpc serves on 9559).

:class:`P4RuntimeService` implements the RPCs over a :class:`~softswitch.runtime.SwitchRuntime`;
:class:`P4RuntimeServer` binds it to an address::

    server = P4RuntimeServer(runtime, "127.0.0.1:9559")
    server.start()
    ...
    server.stop()

Behaviour, where the spec leaves a choice or BMv2 differs:

- Device id: one device, ``runtime.device_id`` (simple_switch_grpc's ``--device-id``, default
  0). Another id gets NOT_FOUND everywhere (BMv2 answers a Write with PERMISSION_DENIED).
- Write/SetForwardingPipelineConfig: device, then primary (role and election id), then pipeline
  checks, in the spec's order. Updates are applied in order under the runtime lock, so the data
  plane never sees half a batch; ``CONTINUE_ON_ERROR`` reports per-update errors in
  ``grpc-status-details-bin``; ``ROLLBACK_ON_ERROR`` and ``DATAPLANE_ATOMIC`` undo the applied
  updates of a failed batch (each update's inverse, computed by reading the entity before it is
  changed) and report the failed update.
- SetForwardingPipelineConfig: VERIFY loads the config into a throw-away engine;
  VERIFY_AND_SAVE keeps it as the *saved* pipeline, which from then on receives Read and Write
  while the data plane keeps running the old one (BMv2's config swap); COMMIT makes the saved
  one run, with everything written to it since; VERIFY_AND_COMMIT replaces the pipeline (state
  cleared); RECONCILE_AND_COMMIT replaces it and carries over what the new program accepts:
  action profile members and groups, table entries, modified default actions, multicast groups,
  clone sessions, digest configs, meter configs (by reading the old state and writing it to the
  new), and register and counter contents of arrays with the same name and size. Entities the
  new pipeline refuses are dropped and counted in the log line; the RPC still succeeds.
- Read: any client (no arbitration needed); responses are streamed in chunks.
- Stream: packet-out, digest acks and role config per the arbitration rules; errors on stream
  messages are reported as ``StreamError``; arbitration errors end the stream.
- A bug never crashes the server: any unexpected exception becomes INTERNAL with a message, and
  is logged with its traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.rpc import code_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from ..runtime import Pipeline, SwitchRuntime
from .arbitration import Arbitrator, ClientInfo
from .errors import P4RTError
from .pipeline_config import PipelineConfigRPCs
from .rpc import _BatchFailed, _err, _rpc
from .stream import DigestLists, IdleTimeouts, StreamSession

__all__ = ["P4RuntimeServer", "P4RuntimeService", "api_version"]

log = logging.getLogger("sluice.switch")

Atomicity = p4runtime_pb2.WriteRequest
Update = p4runtime_pb2.Update

READ_CHUNK = 512  # entities per ReadResponse


def api_version() -> str:
    """The P4Runtime version we implement: that of the installed ``p4runtime`` protos."""
    try:
        from importlib.metadata import version

        return version("p4runtime")
    except Exception:  # noqa: BLE001 - metadata missing in odd installs
        return "1.4.1"


class P4RuntimeService(PipelineConfigRPCs, p4runtime_pb2_grpc.P4RuntimeServicer):
    """The P4Runtime RPCs for one :class:`SwitchRuntime` (see the module docstring).

    It is also the runtime's listener: packet-in, digests and the periodic tick come here.
    ``idle_scan_interval``: seconds between idle-timeout scans.
    """

    def __init__(
        self,
        runtime: SwitchRuntime,
        *,
        promote_on_disconnect: bool = True,
        idle_scan_interval: float = 0.1,
    ) -> None:
        self.rt = runtime
        self.device_id = runtime.device_id
        self.arbitrator = Arbitrator(
            runtime.device_id,
            self._notify,
            promote_on_disconnect=promote_on_disconnect,
            on_primary_change=self._primary_changed,
        )
        self.idle_scan_interval = idle_scan_interval
        self.saved: Pipeline | None = None
        self.sessions: set[StreamSession] = set()
        self._sessions_lock = threading.Lock()
        self._digest_lists: DigestLists | None = None
        self._idle: IdleTimeouts | None = None
        self._next_idle_scan = 0.0
        self._clear_digest_cache = False
        self._set_pipeline_lock = threading.Lock()
        self.packet_ins_dropped = 0
        runtime.listener = self
        if runtime.pipeline is not None:
            self.pipeline_changed(None, runtime.pipeline)

    # -- Capabilities --------------------------------------------------------------------------

    @_rpc
    def Capabilities(self, request: Any, context: Any) -> p4runtime_pb2.CapabilitiesResponse:
        """The P4Runtime version (``p4runtime_api_version``)."""
        dev = getattr(request, "device_id", 0)  # a filter in newer protos; 0 = server-wide
        if dev and dev != self.device_id:
            raise _err(grpc.StatusCode.NOT_FOUND, f"device id {dev} is not known")
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=api_version())

    # -- Write / Read --------------------------------------------------------------------------

    @_rpc
    def Write(self, request: Any, context: Any) -> p4runtime_pb2.WriteResponse:
        """Apply a batch (see the module docstring for atomicity)."""
        self.arbitrator.check_primary(request.device_id, request)
        atomicity = request.atomicity
        if atomicity not in (
            Atomicity.CONTINUE_ON_ERROR,
            Atomicity.ROLLBACK_ON_ERROR,
            Atomicity.DATAPLANE_ATOMIC,
        ):
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, f"unknown atomicity {atomicity}")
        with self.rt.control():
            pl = self._current()
            if atomicity == Atomicity.CONTINUE_ON_ERROR:
                errors = [self._apply(pl, u) for u in request.updates]
            else:
                errors = self._apply_all_or_none(pl, list(request.updates))
        if any(e is not None for e in errors):
            raise _BatchFailed(errors)
        return p4runtime_pb2.WriteResponse()

    def _current(self) -> Pipeline:
        pl = self.saved or self.rt.pipeline
        if pl is None:
            raise _err(
                grpc.StatusCode.FAILED_PRECONDITION,
                "no forwarding pipeline is set (SetForwardingPipelineConfig first)",
            )
        return pl

    def _apply(self, pl: Pipeline, update: Any) -> P4RTError | None:
        try:
            pl.store.write(update)
        except P4RTError as err:
            return err
        except Exception as exc:  # noqa: BLE001 - one bad update must not fail the others
            log.exception("internal error applying an update")
            return P4RTError(grpc.StatusCode.INTERNAL, f"internal error: {exc!r}")
        return None

    def _apply_all_or_none(self, pl: Pipeline, updates: list[Any]) -> list[P4RTError | None]:
        undo: list[list[Any]] = []
        for i, update in enumerate(updates):
            try:
                inverse = _inverse(pl, update)
            except P4RTError:
                inverse = []  # the update itself will fail and say why
            err = self._apply(pl, update)
            if err is not None:
                for inv in reversed(undo):
                    for u in inv:
                        rerr = self._apply(pl, u)
                        if rerr is not None:
                            log.error("rollback step failed: %s", rerr)
                aborted = P4RTError(
                    grpc.StatusCode.ABORTED, "not applied: another update of the batch failed"
                )
                out: list[P4RTError | None] = [aborted] * len(updates)
                out[i] = err
                return out
            undo.append(inverse)
        return [None] * len(updates)

    @_rpc
    def Read(self, request: Any, context: Any) -> Iterator[p4runtime_pb2.ReadResponse]:
        """Stream the entities matching each request entity (wildcards allowed)."""
        self._check_device(request.device_id)
        out: list[p4runtime_pb2.ReadResponse] = []
        with self.rt.lock:
            pl = self._current()
            resp = p4runtime_pb2.ReadResponse()
            for entity in request.entities:
                for e in pl.store.read(entity):
                    resp.entities.add().CopyFrom(e)
                    if len(resp.entities) >= READ_CHUNK:
                        out.append(resp)
                        resp = p4runtime_pb2.ReadResponse()
            if resp.entities or not out:
                out.append(resp)
        return iter(out)

    def _check_device(self, device_id: int) -> None:
        if device_id != self.device_id:
            raise _err(
                grpc.StatusCode.NOT_FOUND,
                f"device id {device_id} is not known: this switch is device {self.device_id}",
            )

    # -- StreamChannel -------------------------------------------------------------------------

    def StreamChannel(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[p4runtime_pb2.StreamMessageResponse]:
        """Arbitration, packet I/O, digests and idle-timeout notifications of one client."""
        session = StreamSession(context.peer())
        with self._sessions_lock:
            self.sessions.add(session)
        context.add_callback(session.close)
        reader = threading.Thread(
            target=self._read_stream,
            args=(session, request_iterator),
            name=f"p4rt-stream-{context.peer()}",
            daemon=True,
        )
        reader.start()
        try:
            for item in session.responses():
                if isinstance(item, P4RTError):
                    context.abort(item.code, item.message)
                yield item
        finally:
            session.close()
            self.arbitrator.remove(session)
            with self._sessions_lock:
                self.sessions.discard(session)
            log.debug("stream from %s closed", session.peer)

    def _read_stream(self, session: StreamSession, requests: Iterator[Any]) -> None:
        try:
            for req in requests:
                if session.closed:
                    break
                try:
                    self._stream_request(session, req)
                except Exception:  # noqa: BLE001 - keep serving the stream
                    log.exception("internal error handling a stream message")
                    session.send_error(
                        code_pb2.INTERNAL,
                        "internal error handling the message",
                        other=p4runtime_pb2.StreamOtherError(),
                    )
        except grpc.RpcError:
            pass  # the client went away
        except Exception:  # noqa: BLE001
            log.exception("stream reader failed")
        finally:
            session.close()

    def _stream_request(self, session: StreamSession, req: Any) -> None:
        kind = req.WhichOneof("update")
        if kind == "arbitration":
            try:
                self.arbitrator.update(session, req.arbitration, session.peer)
            except P4RTError as err:
                log.info("arbitration from %s refused: %s", session.peer, err)
                session.close(err)
        elif kind == "packet":
            self._packet_out(session, req.packet)
        elif kind == "digest_ack":
            self._digest_ack(session, req.digest_ack)
        elif kind == "other":
            session.send_error(
                code_pb2.UNIMPLEMENTED,
                "'other' stream messages are not supported",
                other=p4runtime_pb2.StreamOtherError(other=req.other),
            )
        else:
            session.send_error(
                code_pb2.INVALID_ARGUMENT,
                "empty stream message",
                other=p4runtime_pb2.StreamOtherError(),
            )

    def _packet_out(self, session: StreamSession, msg: Any) -> None:
        def fail(code: int, message: str) -> None:
            log.warning("packet-out from %s dropped: %s", session.peer, message)
            session.send_error(
                code, message, packet_out=p4runtime_pb2.PacketOutError(packet_out=msg)
            )

        if not self.arbitrator.has_full_access(session):
            fail(
                code_pb2.PERMISSION_DENIED,
                "only the primary controller (of a role with full access) may send packet-out",
            )
            return
        pl = self.rt.pipeline
        if pl is None:
            fail(code_pb2.FAILED_PRECONDITION, "no forwarding pipeline is set")
            return
        try:
            frame = pl.packetio.packet_out(msg)
        except P4RTError as err:
            fail(err.canonical_code, err.message)
            return
        try:
            self.rt.packet_out(frame)
        except RuntimeError as exc:
            fail(code_pb2.FAILED_PRECONDITION, str(exc))

    def _digest_ack(self, session: StreamSession, ack: Any) -> None:
        def fail(code: int, message: str) -> None:
            session.send_error(
                code, message, digest_list_ack=p4runtime_pb2.DigestListAckError(digest_list_ack=ack)
            )

        if not self.arbitrator.has_full_access(session):
            fail(code_pb2.PERMISSION_DENIED, "only the primary controller may acknowledge digests")
            return
        with self.rt.lock:
            pl = self.rt.pipeline
            if pl is None or not any(d.preamble.id == ack.digest_id for d in pl.p4info.digests):
                fail(code_pb2.INVALID_ARGUMENT, f"digest id {ack.digest_id} is not in the P4Info")
                return
            if self._digest_lists is not None:
                self._digest_lists.ack(ack.digest_id, ack.list_id)
        self.rt.kick_timer()

    def _notify(self, client: Any, msg: p4runtime_pb2.StreamMessageResponse) -> None:
        client.send(msg)

    def _send_to_receivers(self, msg: p4runtime_pb2.StreamMessageResponse) -> bool:
        sent = False
        for s in self.arbitrator.receivers():
            sent = s.send(msg, droppable=True) or sent
        return sent

    def _primary_changed(self, role: str, info: ClientInfo | None) -> None:
        # called under the arbitrator's lock: only flag it, the timer thread clears the cache
        self._clear_digest_cache = True
        self.rt.kick_timer()

    def close_streams(self) -> None:
        """End every stream (server shutdown)."""
        with self._sessions_lock:
            sessions = list(self.sessions)
        for s in sessions:
            s.close()

    # -- runtime listener ----------------------------------------------------------------------

    def packet_in(self, pipeline: Pipeline, frame: bytes) -> None:
        """A frame for the CPU port becomes a PacketIn for the receivers."""
        if pipeline is not self.rt.pipeline:
            return
        try:
            pin = pipeline.packetio.packet_in(frame)
        except (P4RTError, ValueError) as err:
            log.warning("packet-in dropped: %s", getattr(err, "message", err))
            return
        msg = p4runtime_pb2.StreamMessageResponse()
        msg.packet.CopyFrom(pin)
        if not self._send_to_receivers(msg):
            self.packet_ins_dropped += 1

    def digests(self, pipeline: Pipeline, digests: list[Any]) -> None:
        """Digest messages of one engine batch (runtime lock held)."""
        if pipeline is self.rt.pipeline and self._digest_lists is not None:
            self._digest_lists.add(digests)

    def tick(self, pipeline: Pipeline | None) -> None:
        """Digest timeouts and idle-timeout scans (runtime lock held)."""
        dl = self._digest_lists
        if dl is not None:
            if self._clear_digest_cache:
                self._clear_digest_cache = False
                dl.clear_cache()
            dl.tick()
        now = time.monotonic()
        if self._idle is not None and pipeline is not None and now >= self._next_idle_scan:
            self._next_idle_scan = now + self.idle_scan_interval
            self._idle.scan(pipeline.switch.clock.now_ns())

    def next_deadline(self) -> float | None:
        """When :meth:`tick` is next needed (``time.monotonic()`` seconds)."""
        times = []
        if self._digest_lists is not None:
            d = self._digest_lists.next_deadline_ns()
            if d is not None:
                times.append(d / 1e9)
        if self._idle is not None:
            times.append(self._next_idle_scan)
        return min(times) if times else None

    def pipeline_changed(self, old: Pipeline | None, new: Pipeline) -> None:
        """Fresh digest and idle-timeout state bound to the new pipeline's entity store."""
        store = new.store
        self._digest_lists = DigestLists(
            store.digest_config,
            store.digest_id_for,
            store.encode_digest_data,
            self._send_to_receivers,
        )
        idle_tables = [
            t.preamble.name
            for t in new.p4info.tables
            if t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL
            and t.preamble.name in new.switch.tables
        ]
        if idle_tables:
            sw = new.switch
            self._idle = IdleTimeouts(
                lambda: [(n, sw.tables[n]) for n in idle_tables],
                lambda name, entries: store.idle_timeout_entities((name, e) for e in entries),
                self._send_to_receivers,
            )
        else:
            self._idle = None


# -- rollback -----------------------------------------------------------------------------------


def _inverse(pl: Pipeline, update: Any) -> list[Any]:
    """Updates that undo ``update`` (computed before it is applied)."""
    kind = update.type
    if kind == Update.INSERT:
        return [Update(type=Update.DELETE, entity=update.entity)]
    if kind not in (Update.MODIFY, Update.DELETE):
        return []
    before = list(pl.store.read(_read_key(update.entity)))
    if not before:
        return []
    undo_type = Update.MODIFY if kind == Update.MODIFY else Update.INSERT
    return [Update(type=undo_type, entity=e) for e in before]


def _read_key(entity: Any) -> Any:
    """The entity to read to learn the current state of ``entity``'s key."""
    e = p4runtime_pb2.Entity()
    e.CopyFrom(entity)
    if e.WhichOneof("entity") == "table_entry":
        te = e.table_entry
        # ask for everything stateful the entry carries, so the undo restores it
        if te.HasField("action"):
            te.ClearField("action")
    return e


# -- server -------------------------------------------------------------------------------------


class P4RuntimeServer:
    """A gRPC server with :class:`P4RuntimeService` on ``address`` (``host:port``; port 0 picks
    a free one, see :attr:`port`)."""

    def __init__(
        self,
        runtime: SwitchRuntime,
        address: str = "127.0.0.1:9559",
        *,
        max_workers: int = 32,
        **service_options: Any,
    ) -> None:
        self.address = address
        self.service = P4RuntimeService(runtime, **service_options)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="p4rt"),
            options=[
                ("grpc.max_receive_message_length", 256 << 20),
                ("grpc.max_send_message_length", 256 << 20),
                ("grpc.so_reuseport", 0),
            ],
        )
        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(self.service, self._server)
        self.port = 0

    def start(self) -> None:
        """Bind and serve; ``OSError`` if the address cannot be bound."""
        try:
            self.port = self._server.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise OSError(f"cannot bind the P4Runtime server to {self.address}: {exc}") from None
        if not self.port:
            raise OSError(f"cannot bind the P4Runtime server to {self.address} (in use?)")
        self._server.start()
        log.info(
            "P4Runtime server listening on %s (device id %d)",
            _with_port(self.address, self.port),
            self.service.device_id,
        )

    def stop(self, grace: float = 1.0) -> None:
        """End every stream and stop serving (waits up to ``grace`` seconds for RPCs)."""
        self.service.close_streams()
        self._server.stop(grace).wait()


def _with_port(address: str, port: int) -> str:
    host = address.rsplit(":", 1)[0]
    return f"{host}:{port}"
