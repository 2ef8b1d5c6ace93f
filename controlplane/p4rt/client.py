"""One P4Runtime connection: arbitration, the pipeline, Write/Read by name, the stream, and
reconnect with state replay.

::

    with SwitchConnection("127.0.0.1:9559", device_id=0, election_id=(0, 1)) as sw:
        sw.set_pipeline(result.p4info, result.device_config_bytes())
        sw.insert(TableEntry("dmac", {"hdr.ethernet.dst": "02:00:00:00:00:01"},
                             "forward", {"port": 1}))
        for entry in sw.read(TableEntry("dmac")):
            ...
        pin = sw.packet_ins.get(timeout=1.0)

Threads: one reader per stream decodes what the switch sends and hands it to
:class:`StreamQueue`\\ s (iterate them, ``get`` from them, or register callbacks, which run on
the reader thread and must not block). When the stream ends without :meth:`close`, the
connection is *down*: a background thread reconnects with exponential backoff, arbitrates
again and, as primary, lets :class:`StateReplay` re-apply what the app declared (pipeline and
entities written through this connection) if the switch lost it.

Errors: every failed RPC raises :class:`P4RuntimeError` (gRPC code, message, per-update
``p4.v1.Error`` details) or, when the switch cannot be reached, :class:`SwitchUnavailable` (a
``ConnectionError`` naming the address); never a raw ``grpc.RpcError``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from .entities import (
    DigestList,
    IdleTimeoutNotification,
    PacketIn,
    PacketOut,
    TableEntry,
    Update,
    UpdateType,
    decode_entity,
)
from .schema import P4Schema

__all__ = [
    "ArbitrationUpdate",
    "P4RuntimeError",
    "PipelineConfig",
    "StateReplay",
    "StreamError",
    "StreamQueue",
    "SwitchConnection",
    "SwitchUnavailable",
    "UpdateError",
]

log = logging.getLogger("sluice.controller")

_CODES = {c.value[0]: c for c in grpc.StatusCode}
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_PIPELINE_ACTIONS = {
    "verify": p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY,
    "verify_and_save": p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_SAVE,
    "verify_and_commit": p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
    "commit": p4runtime_pb2.SetForwardingPipelineConfigRequest.COMMIT,
    "reconcile_and_commit": p4runtime_pb2.SetForwardingPipelineConfigRequest.RECONCILE_AND_COMMIT,
}
_RESPONSE_TYPES = {
    "all": p4runtime_pb2.GetForwardingPipelineConfigRequest.ALL,
    "cookie_only": p4runtime_pb2.GetForwardingPipelineConfigRequest.COOKIE_ONLY,
    "p4info_and_cookie": p4runtime_pb2.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE,
    "device_config_and_cookie": (
        p4runtime_pb2.GetForwardingPipelineConfigRequest.DEVICE_CONFIG_AND_COOKIE
    ),
}
_ATOMICITY = {
    "continue_on_error": p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR,
    "rollback_on_error": p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR,
    "dataplane_atomic": p4runtime_pb2.WriteRequest.DATAPLANE_ATOMIC,
}


def status_code(canonical: int) -> grpc.StatusCode:
    """The ``grpc.StatusCode`` of a numeric ``google.rpc.Code``."""
    return _CODES.get(canonical, grpc.StatusCode.UNKNOWN)


# -- errors ---------------------------------------------------------------------------------------


@dataclass
class UpdateError:
    """One failed update of a Write: its position in the list given to ``write``."""

    index: int
    code: grpc.StatusCode
    message: str
    update: p4runtime_pb2.Update | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"update {self.index}: {self.code.name}: {self.message}"


class P4RuntimeError(Exception):
    """A failed P4Runtime RPC: ``code`` (``grpc.StatusCode``), ``message`` and, for a Write,
    ``errors``: the failed updates (decoded from ``grpc-status-details-bin``; updates that were
    only ``ABORTED`` because another failed are in ``aborted``)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        errors: list[UpdateError] | None = None,
        *,
        operation: str = "",
        aborted: list[UpdateError] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []
        self.aborted = aborted or []
        self.operation = operation

    def __str__(self) -> str:
        head = f"{self.operation}: " if self.operation else ""
        if not self.errors:
            return f"{head}{self.code.name}: {self.message}"
        if len(self.errors) == 1:
            return f"{head}{self.errors[0]}"
        lines = [f"{head}{len(self.errors)} updates failed"]
        lines += [f"  {e}" for e in self.errors[:10]]
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more")
        return "\n".join(lines)


class SwitchUnavailable(ConnectionError):
    """The switch at ``address`` cannot be reached (or went away)."""

    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, address: str, message: str) -> None:
        super().__init__(f"P4Runtime switch at {address}: {message}")
        self.address = address


def _update_errors(
    err: grpc.RpcError, updates: list[p4runtime_pb2.Update], offset: int
) -> tuple[list[UpdateError], list[UpdateError], list[int]]:
    """(failed, aborted, indices that succeeded) from a Write's status details."""
    raw = None
    for key, value in err.trailing_metadata() or ():
        if key == _STATUS_DETAILS_KEY:
            raw = value
    if raw is None:
        return [], [], []
    status = status_pb2.Status.FromString(raw)
    failed, aborted, ok = [], [], []
    for i, detail in enumerate(status.details):
        e = p4runtime_pb2.Error()
        if not detail.Unpack(e):
            continue
        if e.canonical_code == code_pb2.OK:
            ok.append(i)
            continue
        ue = UpdateError(
            offset + i,
            status_code(e.canonical_code),
            e.message,
            updates[i] if i < len(updates) else None,
        )
        (aborted if e.canonical_code == code_pb2.ABORTED else failed).append(ue)
    return failed, aborted, ok


# -- stream plumbing ------------------------------------------------------------------------------

T = TypeVar("T")


class StreamQueue(Generic[T]):
    """Messages of one kind from the stream: ``get``, iterate, or ``add_callback``.

    Holds at most ``maxlen`` unread messages (the oldest are dropped and counted in
    :attr:`dropped`), so an app that only uses callbacks does not grow memory.
    """

    def __init__(self, name: str, maxlen: int = 10000) -> None:
        self.name = name
        self.dropped = 0
        self._q: deque[T] = deque()
        self._maxlen = maxlen
        self._cond = threading.Condition()
        self._callbacks: list[Callable[[T], None]] = []
        self._closed = False

    def put(self, item: T) -> None:
        """Deliver ``item`` to the callbacks and the queue (the reader thread calls this)."""
        for cb in list(self._callbacks):
            try:
                cb(item)
            except Exception:  # noqa: BLE001 - an app bug must not stop the stream
                log.exception("%s callback failed", self.name)
        with self._cond:
            if len(self._q) >= self._maxlen:
                self._q.popleft()
                self.dropped += 1
            self._q.append(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T:
        """The next message; ``TimeoutError`` after ``timeout`` seconds, ``EOFError`` once
        the connection is closed and the queue empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._q:
                if self._closed:
                    raise EOFError(f"{self.name}: the connection is closed")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no {self.name} within {timeout} s")
                self._cond.wait(left)
            return self._q.popleft()

    def iter(self, timeout: float | None = None) -> Iterator[T]:
        """Messages as they come; stops when none arrives within ``timeout`` (or at close)."""
        while True:
            try:
                yield self.get(timeout)
            except (TimeoutError, EOFError):
                return

    def __iter__(self) -> Iterator[T]:
        return self.iter(None)

    def add_callback(self, fn: Callable[[T], None]) -> None:
        """Call ``fn(message)`` for every message (on the reader thread; keep it short)."""
        self._callbacks.append(fn)

    def remove_callback(self, fn: Callable[[T], None]) -> None:
        """Stop calling ``fn``."""
        self._callbacks.remove(fn)

    def clear(self) -> None:
        """Forget unread messages."""
        with self._cond:
            self._q.clear()

    def close(self) -> None:
        """Wake readers: no more messages will come."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        """Accept messages again (the connection was opened again)."""
        with self._cond:
            self._closed = False

    def __len__(self) -> int:
        return len(self._q)


@dataclass
class ArbitrationUpdate:
    """What the switch said about arbitration: ``is_primary``, the primary's election id
    (None if there is none) and the status."""

    is_primary: bool
    primary_election_id: int | None
    code: grpc.StatusCode
    message: str


@dataclass
class StreamError:
    """A ``StreamError`` the switch sent about one of our stream messages; ``kind`` is
    ``packet_out``, ``digest_list_ack`` or ``other``."""

    code: grpc.StatusCode
    message: str
    kind: str


@dataclass
class PipelineConfig:
    """What GetForwardingPipelineConfig returned (fields per the response type)."""

    p4info: p4info_pb2.P4Info | None
    device_config: bytes
    cookie: int | None


class _Stream:
    """One StreamChannel call: the request queue, the call and its reader thread."""

    def __init__(self) -> None:
        self.requests: queue.Queue[Any] = queue.Queue()
        self.call: Any = None
        self.first_arbitration = threading.Event()
        self.ended = threading.Event()
        self.error: grpc.RpcError | None = None
        self.closing = False
        self.established = False  # arbitrated: from now on its end means "down"

    def request_iter(self) -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while True:
            msg = self.requests.get()
            if msg is None:
                return
            yield msg

    def send(self, msg: p4runtime_pb2.StreamMessageRequest) -> None:
        self.requests.put(msg)

    def close(self) -> None:
        self.closing = True
        self.requests.put(None)
        if self.call is not None:
            self.call.cancel()


# -- state replay ---------------------------------------------------------------------------------


def _entity_key(entity: p4runtime_pb2.Entity) -> tuple[Any, ...]:
    """The identity of an entity (what a later write of the same thing replaces)."""
    kind = entity.WhichOneof("entity")
    if kind == "table_entry":
        te = entity.table_entry
        return (
            kind,
            te.table_id,
            tuple(sorted(m.SerializeToString(deterministic=True) for m in te.match)),
            te.priority,
            te.is_default_action,
        )
    if kind in ("direct_counter_entry", "direct_meter_entry"):
        inner = getattr(entity, kind)
        return (kind,) + _entity_key(p4runtime_pb2.Entity(table_entry=inner.table_entry))[1:]
    if kind == "action_profile_member":
        m = entity.action_profile_member
        return kind, m.action_profile_id, m.member_id
    if kind == "action_profile_group":
        g = entity.action_profile_group
        return kind, g.action_profile_id, g.group_id
    if kind == "packet_replication_engine_entry":
        pre = entity.packet_replication_engine_entry
        if pre.WhichOneof("type") == "multicast_group_entry":
            return "multicast_group", pre.multicast_group_entry.multicast_group_id
        return "clone_session", pre.clone_session_entry.session_id
    if kind in ("counter_entry", "meter_entry", "register_entry"):
        inner = getattr(entity, kind)
        obj_id = getattr(inner, kind.replace("_entry", "_id"))
        return kind, obj_id, inner.index.index if inner.HasField("index") else -1
    if kind == "value_set_entry":
        return kind, entity.value_set_entry.value_set_id
    if kind == "digest_entry":
        return kind, entity.digest_entry.digest_id
    return kind, entity.SerializeToString(deterministic=True)


_INSERTABLE = {
    "table_entry",
    "action_profile_member",
    "action_profile_group",
    "multicast_group",
    "clone_session",
    "digest_entry",
}


class StateReplay:
    """The desired state a connection re-applies after a reconnect.

    It keeps the last committed pipeline and, in write order, the latest version of every
    entity written through the connection (a DELETE forgets it). After a reconnect as primary,
    :meth:`apply` pushes the pipeline again when the switch has none or another one (told by
    the cookie), and re-writes the entities when the pipeline was pushed or a table entry,
    member, group or replication entry it should hold is missing. Subclass to change the
    policy; pass ``replay=False`` to :class:`SwitchConnection` to opt out.
    """

    def __init__(self) -> None:
        self.p4info: p4info_pb2.P4Info | None = None
        self.device_config: bytes = b""
        self.cookie: int | None = None
        self._entities: dict[tuple[Any, ...], p4runtime_pb2.Entity] = {}
        self._lock = threading.Lock()
        self.replays = 0

    def record_pipeline(
        self,
        p4info: p4info_pb2.P4Info,
        device_config: bytes,
        cookie: int,
        *,
        keep_entities: bool = False,
    ) -> None:
        """A pipeline was committed; without ``keep_entities`` the switch state starts empty."""
        with self._lock:
            self.p4info, self.device_config, self.cookie = p4info, device_config, cookie
            if not keep_entities:
                self._entities.clear()

    def record(self, update: p4runtime_pb2.Update) -> None:
        """An update the switch accepted."""
        key = _entity_key(update.entity)
        with self._lock:
            if update.type == p4runtime_pb2.Update.DELETE:
                self._entities.pop(key, None)
            else:
                self._entities[key] = update.entity

    def clear(self) -> None:
        """Forget everything (nothing will be replayed)."""
        with self._lock:
            self.p4info, self.device_config, self.cookie = None, b"", None
            self._entities.clear()

    def updates(self) -> list[p4runtime_pb2.Update]:
        """The updates that recreate the recorded entities, in write order."""
        with self._lock:
            items = list(self._entities.items())
        out = []
        for key, entity in items:
            insert = key[0] in _INSERTABLE and not (key[0] == "table_entry" and key[-1])
            utype = p4runtime_pb2.Update.INSERT if insert else p4runtime_pb2.Update.MODIFY
            out.append(p4runtime_pb2.Update(type=utype, entity=entity))
        return out

    def apply(self, conn: SwitchConnection) -> bool:
        """Re-apply the state if the switch lost it; True if anything was written."""
        pushed = False
        if self.p4info is not None:
            current = conn.get_pipeline("cookie_only")
            if current is None or current.cookie != self.cookie:
                log.info("switch %s lost its pipeline: pushing it again", conn.address)
                conn.set_pipeline(
                    self.p4info, self.device_config, cookie=self.cookie, _record=False
                )
                pushed = True
        ups = self.updates()
        if not ups or not (pushed or self._missing(conn, ups)):
            return pushed
        log.info("replaying %d entities to %s", len(ups), conn.address)
        try:
            conn.write(ups, _record=False)
        except P4RuntimeError as err:
            real = [e for e in err.errors if e.code != grpc.StatusCode.ALREADY_EXISTS]
            if real:
                log.warning(
                    "replay to %s: %d updates failed, first: %s", conn.address, len(real), real[0]
                )
        self.replays += 1
        return True

    def _missing(self, conn: SwitchConnection, ups: list[p4runtime_pb2.Update]) -> bool:
        wanted = {
            _entity_key(u.entity)
            for u in ups
            if u.type == p4runtime_pb2.Update.INSERT
            and u.entity.WhichOneof("entity") != "digest_entry"
        }
        if not wanted:
            return False
        E, pre = p4runtime_pb2.Entity, p4runtime_pb2.PacketReplicationEngineEntry
        queries = [
            E(table_entry=p4runtime_pb2.TableEntry()),
            E(action_profile_member=p4runtime_pb2.ActionProfileMember()),
            E(action_profile_group=p4runtime_pb2.ActionProfileGroup()),
            E(
                packet_replication_engine_entry=pre(
                    multicast_group_entry=p4runtime_pb2.MulticastGroupEntry()
                )
            ),
            E(
                packet_replication_engine_entry=pre(
                    clone_session_entry=p4runtime_pb2.CloneSessionEntry()
                )
            ),
        ]
        have = set()
        for q in queries:
            try:
                have.update(_entity_key(e) for e in conn.read_raw([q]))
            except P4RuntimeError:
                continue
        return not wanted <= have


# -- the connection -------------------------------------------------------------------------------


def _election_id(value: int | tuple[int, int]) -> int:
    if isinstance(value, tuple):
        high, low = value
        return (high << 64) | low
    return int(value)


def pipeline_cookie(p4info: p4info_pb2.P4Info, device_config: bytes) -> int:
    """A 64-bit cookie that identifies a pipeline (hash of P4Info and device config)."""
    h = hashlib.sha256(p4info.SerializeToString(deterministic=True))
    h.update(device_config)
    return int.from_bytes(h.digest()[:8], "big") or 1


class SwitchConnection:
    """One P4Runtime connection (see the module docstring).

    ``address``: ``host:port``. ``election_id``: an int or ``(high, low)``. ``role``: a role
    name or None for the default role. ``replay``: True (a fresh :class:`StateReplay`), False
    (no replay) or your own instance. ``reconnect``: reconnect when the stream ends.
    ``batch_size``: updates per Write RPC. ``timeout``: seconds per unary RPC.
    """

    def __init__(
        self,
        address: str,
        device_id: int = 0,
        election_id: int | tuple[int, int] = (0, 1),
        role: str | None = None,
        *,
        schema: P4Schema | None = None,
        replay: bool | StateReplay = True,
        reconnect: bool = True,
        batch_size: int = 500,
        timeout: float = 10.0,
        backoff: tuple[float, float] = (0.1, 2.0),
    ) -> None:
        self.address = address
        self.device_id = device_id
        self.election_id = _election_id(election_id)
        self.role = role
        self.schema = schema
        if replay is True:
            self.replay: StateReplay | None = StateReplay()
        else:
            self.replay = replay or None
        self.reconnect = reconnect
        self.batch_size = batch_size
        self.timeout = timeout
        self.backoff = backoff

        self.packet_ins: StreamQueue[PacketIn] = StreamQueue("packet-in")
        self.digest_lists: StreamQueue[DigestList] = StreamQueue("digest list")
        self.idle_timeouts: StreamQueue[IdleTimeoutNotification] = StreamQueue(
            "idle-timeout notification"
        )
        self.arbitration_updates: StreamQueue[ArbitrationUpdate] = StreamQueue("arbitration update")
        self.stream_errors: StreamQueue[StreamError] = StreamQueue("stream error")

        self.ready = threading.Event()  # connected and arbitrated
        self.reconnects = 0
        self.last_arbitration: ArbitrationUpdate | None = None
        self._primary = False
        self._primary_cond = threading.Condition()
        self._on_ready: list[Callable[[SwitchConnection], None]] = []
        self._on_down: list[Callable[[SwitchConnection], None]] = []
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._stream: _Stream | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._reconnect_thread: threading.Thread | None = None
        self._replay_pending = False

    # -- lifecycle ----------------------------------------------------------------------------

    def connect(self, timeout: float = 5.0) -> SwitchConnection:
        """Reach the switch, open the stream and arbitrate (wait up to ``timeout`` s).

        Raises :class:`SwitchUnavailable` when the switch does not answer and
        :class:`P4RuntimeError` when arbitration is refused (unknown device id, election id in
        use). Returns ``self``. Being a backup is not an error: see :attr:`is_primary`.
        """
        self._closed = False
        for q in self._queues():
            q.reopen()
        self._open(timeout)
        self._after_connect(replay=False)
        return self

    def close(self) -> None:
        """End the stream and the channel; no reconnect. Stream queues stop blocking."""
        self._closed = True
        self.ready.clear()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        with self._primary_cond:
            self._primary = False
            self._primary_cond.notify_all()
        for q in self._queues():
            q.close()

    def __enter__(self) -> SwitchConnection:
        if self._stream is None:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_ready(self, fn: Callable[[SwitchConnection], None]) -> None:
        """Call ``fn(conn)`` each time the connection is (re)established and arbitrated."""
        self._on_ready.append(fn)

    def on_down(self, fn: Callable[[SwitchConnection], None]) -> None:
        """Call ``fn(conn)`` each time the stream to the switch is lost."""
        self._on_down.append(fn)

    def _queues(self) -> list[StreamQueue[Any]]:
        return [
            self.packet_ins,
            self.digest_lists,
            self.idle_timeouts,
            self.arbitration_updates,
            self.stream_errors,
        ]

    def _ensure_channel(self) -> None:
        if self._closed:
            raise SwitchUnavailable(self.address, "the connection is closed")
        if self._channel is None:
            self._channel = grpc.insecure_channel(
                self.address,
                options=[
                    ("grpc.max_receive_message_length", 256 << 20),
                    ("grpc.max_send_message_length", 256 << 20),
                    ("grpc.initial_reconnect_backoff_ms", 100),
                    ("grpc.min_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", 1000),
                ],
            )
            self._stub = p4runtime_pb2_grpc.P4RuntimeStub(self._channel)

    def _open(self, timeout: float) -> None:
        self._ensure_channel()
        # a Capabilities call that waits for the channel: channel_ready_future would poll the
        # channel from a grpc thread that fails noisily when close() races with it
        try:
            self._stub.Capabilities(
                p4runtime_pb2.CapabilitiesRequest(), timeout=timeout, wait_for_ready=True
            )
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                raise SwitchUnavailable(
                    self.address, f"no answer within {timeout:g} s (is the switch running?)"
                ) from None
            if err.code() == grpc.StatusCode.CANCELLED:
                raise SwitchUnavailable(self.address, "the connection is closed") from None
            # anything else (UNIMPLEMENTED on an old server...) means the switch is there
        except ValueError:  # the channel was closed under us
            raise SwitchUnavailable(self.address, "the connection is closed") from None
        stream = _Stream()
        stream.call = self._stub.StreamChannel(stream.request_iter())
        threading.Thread(
            target=self._read_stream, args=(stream,), name="p4rt-client-stream", daemon=True
        ).start()
        with self._lock:
            old, self._stream = self._stream, stream
        if old is not None:
            old.close()
        stream.send(self._arbitration_request())
        deadline = time.monotonic() + timeout
        while not stream.first_arbitration.is_set():
            if stream.ended.is_set():
                break
            if time.monotonic() > deadline:
                self._drop(stream)
                raise SwitchUnavailable(self.address, f"no arbitration answer within {timeout:g} s")
            stream.first_arbitration.wait(0.05)
        stream.established = True
        if not stream.first_arbitration.is_set() or stream.ended.is_set():
            self._drop(stream)
            err = stream.error
            if err is None or err.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.CANCELLED,
            ):
                detail = err.details() if err is not None else "the stream closed"
                raise SwitchUnavailable(self.address, f"arbitration failed: {detail}")
            raise P4RuntimeError(err.code(), err.details() or "", operation="arbitration")

    def _drop(self, stream: _Stream) -> None:
        with self._lock:
            if self._stream is stream:
                self._stream = None
        stream.close()

    def _after_connect(self, replay: bool) -> None:
        if self.schema is None:
            try:
                cfg = self.get_pipeline("p4info_and_cookie")
            except (P4RuntimeError, SwitchUnavailable):
                cfg = None
            if cfg is not None and cfg.p4info is not None and len(cfg.p4info.tables):
                self.schema = P4Schema(cfg.p4info)
        if replay and self.replay is not None:
            if self.is_primary:
                try:
                    self.replay.apply(self)
                except P4RuntimeError as exc:  # the switch refuses: retrying will not help
                    log.error("state replay to %s failed: %s", self.address, exc)
            else:
                self._replay_pending = True  # replay once the switch makes us primary
        self.ready.set()
        for fn in list(self._on_ready):
            try:
                fn(self)
            except Exception:  # noqa: BLE001
                log.exception("on_ready callback failed")

    def _arbitration_request(self) -> p4runtime_pb2.StreamMessageRequest:
        req = p4runtime_pb2.StreamMessageRequest()
        arb = req.arbitration
        arb.device_id = self.device_id
        if self.role:
            arb.role.name = self.role
        arb.election_id.high = self.election_id >> 64
        arb.election_id.low = self.election_id & ((1 << 64) - 1)
        return req

    # -- stream reading -----------------------------------------------------------------------

    def _read_stream(self, stream: _Stream) -> None:
        try:
            for msg in stream.call:
                try:
                    self._dispatch(stream, msg)
                except Exception:  # noqa: BLE001 - keep reading
                    log.exception("cannot handle a stream message from %s", self.address)
        except grpc.RpcError as err:
            stream.error = err
        stream.ended.set()
        if stream.closing or self._closed or not stream.established:
            return
        with self._lock:
            current = self._stream is stream
            if current:
                self._stream = None
        if current:
            self._went_down(stream.error)

    def _dispatch(self, stream: _Stream, msg: p4runtime_pb2.StreamMessageResponse) -> None:
        kind = msg.WhichOneof("update")
        if kind == "arbitration":
            arb = msg.arbitration
            primary_eid = None
            if arb.HasField("election_id"):
                primary_eid = (arb.election_id.high << 64) | arb.election_id.low
            upd = ArbitrationUpdate(
                arb.status.code == code_pb2.OK,
                primary_eid,
                status_code(arb.status.code),
                arb.status.message,
            )
            with self._primary_cond:
                was = self._primary
                self._primary = upd.is_primary
                self._primary_cond.notify_all()
            self.last_arbitration = upd
            stream.first_arbitration.set()
            if upd.is_primary and not was and self._replay_pending:
                self._replay_pending = False
                threading.Thread(target=self._replay_now, name="p4rt-replay", daemon=True).start()
            if upd.is_primary != was:
                log.info(
                    "%s: %s (election id %d)",
                    self.address,
                    "primary" if upd.is_primary else "backup",
                    self.election_id,
                )
            self.arbitration_updates.put(upd)
        elif kind == "packet":
            self.packet_ins.put(PacketIn.decode(msg.packet, self._need_schema()))
        elif kind == "digest":
            self.digest_lists.put(DigestList.decode(msg.digest, self._need_schema()))
        elif kind == "idle_timeout_notification":
            self.idle_timeouts.put(
                IdleTimeoutNotification.decode(msg.idle_timeout_notification, self._need_schema())
            )
        elif kind == "error":
            e = msg.error
            err = StreamError(
                status_code(e.canonical_code), e.message, e.WhichOneof("details") or ""
            )
            log.warning("%s: stream error: %s: %s", self.address, err.code.name, err.message)
            self.stream_errors.put(err)

    def _replay_now(self) -> None:
        try:
            if self.replay is not None:
                self.replay.apply(self)
        except (P4RuntimeError, SwitchUnavailable) as exc:
            log.warning("state replay to %s failed: %s", self.address, exc)

    def _went_down(self, err: grpc.RpcError | None) -> None:
        self.ready.clear()
        with self._primary_cond:
            self._primary = False
            self._primary_cond.notify_all()
        why = f"{err.code().name}: {err.details()}" if err is not None else "stream closed"
        log.warning("lost the P4Runtime stream to %s (%s)", self.address, why)
        for fn in list(self._on_down):
            try:
                fn(self)
            except Exception:  # noqa: BLE001
                log.exception("on_down callback failed")
        if self.reconnect and not self._closed:
            t = threading.Thread(target=self._reconnect_loop, name="p4rt-reconnect", daemon=True)
            self._reconnect_thread = t
            t.start()

    def _reconnect_loop(self) -> None:
        delay = self.backoff[0]
        while not self._closed:
            try:
                self._open(timeout=max(1.0, delay))
                if self._closed:
                    return
                self.reconnects += 1
                log.info("reconnected to %s", self.address)
                self._after_connect(replay=True)
                return
            except (SwitchUnavailable, P4RuntimeError) as exc:
                log.debug("reconnect to %s failed: %s", self.address, exc)
            except Exception:  # noqa: BLE001 - keep trying
                if self._closed:
                    return
                log.exception("reconnect to %s failed", self.address)
            time.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    # -- arbitration --------------------------------------------------------------------------

    @property
    def is_primary(self) -> bool:
        """Whether the switch last said this connection is the primary."""
        return self._primary

    def wait_for_primary(self, timeout: float | None = None) -> None:
        """Block until this connection is primary; ``TimeoutError`` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._primary_cond:
            while not self._primary:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(
                        f"{self.address}: not primary within {timeout} s (election id "
                        f"{self.election_id})"
                    )
                self._primary_cond.wait(left)

    def set_election_id(self, election_id: int | tuple[int, int]) -> None:
        """Arbitrate again with a new election id (the answer arrives on the stream)."""
        self.election_id = _election_id(election_id)
        self._send(self._arbitration_request())

    def _send(self, msg: p4runtime_pb2.StreamMessageRequest) -> None:
        stream = self._stream
        if stream is None or stream.ended.is_set():
            raise SwitchUnavailable(self.address, "not connected (the stream is down)")
        stream.send(msg)

    # -- requests -----------------------------------------------------------------------------

    def _stamp(self, req: Any) -> Any:
        req.device_id = self.device_id
        if hasattr(req, "election_id"):
            req.election_id.high = self.election_id >> 64
            req.election_id.low = self.election_id & ((1 << 64) - 1)
        if self.role:
            req.role = self.role
        return req

    def _rpc_error(self, err: grpc.RpcError, operation: str) -> Exception:
        code = err.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            return SwitchUnavailable(self.address, f"{operation}: {err.details()}")
        return P4RuntimeError(code, err.details() or "", operation=operation)

    def _call(self, method: str, req: Any, operation: str, timeout: float | None = None) -> Any:
        self._ensure_channel()
        try:
            return getattr(self._stub, method)(req, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise self._rpc_error(err, operation) from None

    def _need_schema(self) -> P4Schema:
        if self.schema is None:
            cfg = self.get_pipeline("p4info_and_cookie")
            if cfg is None or cfg.p4info is None:
                raise P4RuntimeError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "the switch has no pipeline (set_pipeline first)",
                )
            self.schema = P4Schema(cfg.p4info)
        return self.schema

    # -- pipeline -----------------------------------------------------------------------------

    def set_pipeline(
        self,
        p4info: p4info_pb2.P4Info | P4Schema,
        device_config: bytes,
        *,
        action: str = "verify_and_commit",
        cookie: int | None = None,
        _record: bool = True,
    ) -> None:
        """SetForwardingPipelineConfig. ``action``: ``verify_and_commit`` (default),
        ``reconcile_and_commit`` (keep state the new program accepts), ``verify``,
        ``verify_and_save``, ``commit``. ``cookie`` defaults to a hash of the config."""
        schema = p4info if isinstance(p4info, P4Schema) else P4Schema(p4info)
        try:
            act = _PIPELINE_ACTIONS[action]
        except KeyError:
            raise ValueError(
                f"unknown pipeline action {action!r} (one of {', '.join(_PIPELINE_ACTIONS)})"
            ) from None
        if cookie is None:
            cookie = pipeline_cookie(schema.p4info, device_config)
        req = self._stamp(p4runtime_pb2.SetForwardingPipelineConfigRequest(action=act))
        if action != "commit":
            req.config.p4info.CopyFrom(schema.p4info)
            req.config.p4_device_config = device_config
            req.config.cookie.cookie = cookie
        self._call(
            "SetForwardingPipelineConfig",
            req,
            "SetForwardingPipelineConfig",
            timeout=max(self.timeout, 60.0),
        )
        if action in ("verify_and_commit", "reconcile_and_commit", "commit"):
            self.schema = schema
            if _record and self.replay is not None:
                self.replay.record_pipeline(
                    schema.p4info,
                    device_config,
                    cookie,
                    keep_entities=action == "reconcile_and_commit",
                )

    def get_pipeline(self, response_type: str = "all") -> PipelineConfig | None:
        """GetForwardingPipelineConfig; None when the switch has no pipeline (no config, or
        ``FAILED_PRECONDITION``).
        ``response_type``: ``all``, ``cookie_only``, ``p4info_and_cookie``,
        ``device_config_and_cookie``."""
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id, response_type=_RESPONSE_TYPES[response_type]
        )
        try:
            resp = self._call("GetForwardingPipelineConfig", req, "GetForwardingPipelineConfig")
        except P4RuntimeError as err:
            if err.code == grpc.StatusCode.FAILED_PRECONDITION:  # BMv2's "no pipeline"
                return None
            raise
        if not resp.HasField("config"):
            return None
        cfg = resp.config
        return PipelineConfig(
            cfg.p4info if cfg.HasField("p4info") else None,
            cfg.p4_device_config,
            cfg.cookie.cookie if cfg.HasField("cookie") else None,
        )

    # -- write --------------------------------------------------------------------------------

    def _update_proto(self, u: Any) -> p4runtime_pb2.Update:
        if isinstance(u, p4runtime_pb2.Update):
            return u
        if isinstance(u, tuple):
            u = Update(UpdateType(u[0]), u[1])
        if isinstance(u, Update):
            return u.encode(self._need_schema())
        raise TypeError(f"not an update: {u!r} (use Update(UpdateType.INSERT, entity))")

    def write(
        self,
        updates: Iterable[Any],
        *,
        atomicity: str = "continue_on_error",
        batch_size: int | None = None,
        _record: bool = True,
    ) -> None:
        """Write updates (:class:`~.entities.Update`, ``(UpdateType, entity)`` or
        ``p4.v1.Update``) in batches of ``batch_size`` (default :attr:`batch_size`).

        ``atomicity``: ``continue_on_error`` (every batch is sent; failures are collected),
        ``rollback_on_error`` or ``dataplane_atomic`` (each batch all or nothing; stops at the
        first failed batch; earlier batches stay applied). Raises :class:`P4RuntimeError`
        whose ``errors`` give the failed updates by index in ``updates``.
        """
        try:
            atom = _ATOMICITY[atomicity]
        except KeyError:
            raise ValueError(
                f"unknown atomicity {atomicity!r} (one of {', '.join(_ATOMICITY)})"
            ) from None
        ups = [self._update_proto(u) for u in updates]
        size = batch_size or self.batch_size
        failed: list[UpdateError] = []
        aborted: list[UpdateError] = []
        for start in range(0, len(ups), size):
            batch = ups[start : start + size]
            req = self._stamp(p4runtime_pb2.WriteRequest(atomicity=atom))
            req.updates.extend(batch)
            self._ensure_channel()
            try:
                self._stub.Write(req, timeout=self.timeout)
                ok = range(len(batch))
            except grpc.RpcError as err:
                bad, abo, ok = _update_errors(err, batch, start)
                if not bad and not abo:
                    exc = self._rpc_error(err, "Write")
                    if isinstance(exc, P4RuntimeError) and start:
                        exc.message += f" (the first {start} updates were applied)"
                    raise exc from None
                failed += bad
                aborted += abo
            if _record and self.replay is not None:
                for i in ok:
                    self.replay.record(batch[i])
            if failed and atom != p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR:
                break
        if failed:
            raise P4RuntimeError(
                grpc.StatusCode.UNKNOWN,
                f"{len(failed)} of {len(ups)} updates failed",
                failed,
                operation="Write",
                aborted=aborted,
            )

    def _write_one_type(self, utype: UpdateType, entities: Any, **kw: Any) -> None:
        if not isinstance(entities, (list, tuple)):
            entities = [entities]
        self.write([Update(utype, e) for e in entities], **kw)

    def insert(self, entities: Any, **kw: Any) -> None:
        """INSERT one entity or a list (``write`` options apply)."""
        self._write_one_type(UpdateType.INSERT, entities, **kw)

    def modify(self, entities: Any, **kw: Any) -> None:
        """MODIFY one entity or a list."""
        self._write_one_type(UpdateType.MODIFY, entities, **kw)

    def delete(self, entities: Any, **kw: Any) -> None:
        """DELETE one entity or a list (table entries need only their key)."""
        ents = entities if isinstance(entities, (list, tuple)) else [entities]
        ents = [e.key() if isinstance(e, TableEntry) else e for e in ents]
        self._write_one_type(UpdateType.DELETE, ents, **kw)

    # -- read ---------------------------------------------------------------------------------

    def read_raw(self, entities: list[p4runtime_pb2.Entity]) -> Iterator[p4runtime_pb2.Entity]:
        """Read with ``p4.v1.Entity`` queries; the raw entities."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        if self.role:
            req.role = self.role
        req.entities.extend(entities)
        self._ensure_channel()
        try:
            for resp in self._stub.Read(req, timeout=self.timeout):
                yield from resp.entities
        except grpc.RpcError as err:
            raise self._rpc_error(err, "Read") from None

    def read(self, query: Any) -> Iterator[Any]:
        """Entities matching ``query`` (one entity dataclass or a list; unset fields are
        wildcards: ``TableEntry()`` reads every table, ``TableEntry("dmac")`` one table,
        ``CounterEntry("ctr")`` every cell), decoded to dataclasses."""
        schema = self._need_schema()
        queries = query if isinstance(query, (list, tuple)) else [query]
        msgs = [q if isinstance(q, p4runtime_pb2.Entity) else q.encode(schema) for q in queries]
        for e in self.read_raw(msgs):
            yield decode_entity(e, schema)

    # -- stream out ---------------------------------------------------------------------------

    def packet_out(self, packet: PacketOut | bytes, **metadata: Any) -> None:
        """Send a packet-out: a :class:`~.entities.PacketOut`, or a payload and metadata by
        name (``packet_out(frame, egress_port=1)``)."""
        if not isinstance(packet, PacketOut):
            packet = PacketOut(bytes(packet), metadata)
        req = p4runtime_pb2.StreamMessageRequest()
        req.packet.CopyFrom(packet.encode(self._need_schema()))
        self._send(req)

    def ack_digest(self, digest_list: DigestList) -> None:
        """Acknowledge a digest list (its values may then be reported again)."""
        req = p4runtime_pb2.StreamMessageRequest()
        req.digest_ack.digest_id = digest_list.digest_id
        req.digest_ack.list_id = digest_list.list_id
        self._send(req)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("ready" if self.ready.is_set() else "down")
        role = "primary" if self.is_primary else "backup"
        return f"SwitchConnection({self.address}, device {self.device_id}, {state}, {role})"
