"""The StreamChannel side of the server: per-client outbound queues, digest lists, idle timeouts.

- :class:`StreamSession`: one client's stream. Anything may :meth:`~StreamSession.send` to it
  from any thread; the gRPC handler thread drains it. Packet-ins, digest lists and idle-timeout
  notifications are *droppable* (the spec lets a server drop them when a client cannot keep up):
  beyond ``max_pending`` queued messages they are counted and dropped, while arbitration
  messages and errors always go through.
- :class:`DigestLists`: the spec's digest pipeline (``DigestEntry`` section): buffer the distinct
  digest messages of each digest until ``max_list_size`` of them or ``max_timeout_ns`` after the
  first, send them as one ``DigestList`` with a fresh ``list_id``, and keep their values in a cache
  until the client acknowledges the list (``DigestListAck``) or ``ack_timeout_ns`` passes; a value
  in the buffer or the cache is not sent again.
- :class:`IdleTimeouts`: turns the entries the engine reports as expired into
  ``IdleTimeoutNotification``s (the engine re-reports an entry still not hit after another TTL,
  as the spec asks).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from p4.v1 import p4runtime_pb2

from .errors import P4RTError

__all__ = ["DigestLists", "IdleTimeouts", "StreamSession"]

log = logging.getLogger("sluice.switch")

DEFAULT_MAX_PENDING = 4096


class _Close:
    def __init__(self, error: P4RTError | None) -> None:
        self.error = error


class StreamSession:
    """One client's StreamChannel: an outbound queue drained by :meth:`responses`."""

    def __init__(self, peer: str = "", *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.peer = peer
        self.max_pending = max_pending
        self.dropped = 0
        self._q: deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False

    def __repr__(self) -> str:
        return f"StreamSession({self.peer!r})"

    def send(self, msg: p4runtime_pb2.StreamMessageResponse, *, droppable: bool = False) -> bool:
        """Queue ``msg``; False if it was dropped (session closed, or queue full and droppable)."""
        with self._cond:
            if self._closed:
                return False
            if droppable and len(self._q) >= self.max_pending:
                self.dropped += 1
                return False
            self._q.append(msg)
            self._cond.notify()
            return True

    def send_error(self, code: int, message: str, **details: Any) -> None:
        """Queue a ``StreamError`` (``details``: ``packet_out=PacketOutError(...)`` etc.)."""
        resp = p4runtime_pb2.StreamMessageResponse()
        err = resp.error
        err.canonical_code = code
        err.message = message
        for name, value in details.items():
            getattr(err, name).CopyFrom(value)
        self.send(resp, droppable=True)

    def close(self, error: P4RTError | None = None) -> None:
        """End the stream after what is queued; with ``error`` the RPC fails with it."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._q.append(_Close(error))
            self._cond.notify()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def responses(self) -> Iterator[p4runtime_pb2.StreamMessageResponse | P4RTError]:
        """Queued messages in order until the session is closed; a final :class:`P4RTError`
        item means the stream must end with that error."""
        while True:
            with self._cond:
                while not self._q:
                    self._cond.wait()
                item = self._q.popleft()
            if isinstance(item, _Close):
                if item.error is not None:
                    yield item.error
                return
            yield item


# -- digests ------------------------------------------------------------------------------------


@dataclass
class _Buffer:
    first_ns: int
    keys: list[Hashable] = field(default_factory=list)
    data: list[Any] = field(default_factory=list)


class DigestLists:
    """Digest buffering, list ids, the ack cache and timeouts (see the module docstring).

    The hooks come from the current pipeline's entity store: ``config_for(digest_id)`` returns
    the ``DigestEntry.Config`` in force or ``None`` (digest not enabled: messages are dropped),
    ``id_for(digest)`` the P4Info id of an engine digest, ``encode(digest)`` its ``P4Data``.
    ``send(msg)`` delivers a ``StreamMessageResponse`` to the receivers and returns whether
    anyone got it (an undelivered list is not cached, so its values can be sent again).
    Not thread-safe: the runtime calls it under its lock.
    """

    def __init__(
        self,
        config_for: Callable[[int], Any],
        id_for: Callable[[Any], int | None],
        encode: Callable[[Any], Any],
        send: Callable[[p4runtime_pb2.StreamMessageResponse], bool],
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._config_for = config_for
        self._id_for = id_for
        self._encode = encode
        self._send = send
        self._now = clock_ns
        self._buffers: dict[int, _Buffer] = {}
        self._cache: dict[tuple[int, int], tuple[int, list[Hashable]]] = {}
        self._cached: dict[int, dict[Hashable, int]] = {}  # digest id -> value -> list id
        self._next_list_id: dict[int, int] = {}
        self.sent_lists = 0
        self.dropped = 0

    def add(self, digests: Iterable[Any]) -> None:
        """Messages the data plane produced (engine ``Digest`` tuples)."""
        for d in digests:
            digest_id = self._id_for(d)
            config = self._config_for(digest_id) if digest_id is not None else None
            if config is None:
                self.dropped += 1
                continue
            key = _key(d)
            if key in self._cached.get(digest_id, ()):
                continue
            buf = self._buffers.get(digest_id)
            if buf is None:
                buf = self._buffers[digest_id] = _Buffer(self._now())
            elif key in buf.keys:
                continue
            buf.keys.append(key)
            buf.data.append(self._encode(d))
            size = config.max_list_size
            if (size and len(buf.keys) >= size) or config.max_timeout_ns <= 0:
                self._flush(digest_id, config)

    def ack(self, digest_id: int, list_id: int) -> bool:
        """A ``DigestListAck``: forget that list's values. False if no such list is cached."""
        entry = self._cache.pop((digest_id, list_id), None)
        if entry is None:
            return False
        self._forget(digest_id, entry[1], list_id)
        return True

    def tick(self) -> None:
        """Send buffers whose ``max_timeout_ns`` has passed, expire cache entries older than
        ``ack_timeout_ns``, drop the buffers of digests no longer enabled."""
        now = self._now()
        for digest_id in list(self._buffers):
            config = self._config_for(digest_id)
            if config is None:
                self.dropped += len(self._buffers.pop(digest_id).keys)
            elif now - self._buffers[digest_id].first_ns >= config.max_timeout_ns:
                self._flush(digest_id, config)
        for (digest_id, list_id), (sent_ns, keys) in list(self._cache.items()):
            config = self._config_for(digest_id)
            if config is None or now - sent_ns >= config.ack_timeout_ns:
                del self._cache[(digest_id, list_id)]
                self._forget(digest_id, keys, list_id)

    def next_deadline_ns(self) -> int | None:
        """The earliest time :meth:`tick` has something to do, or None."""
        times = []
        for digest_id, buf in self._buffers.items():
            config = self._config_for(digest_id)
            if config is not None:
                times.append(buf.first_ns + config.max_timeout_ns)
        for (digest_id, _), (sent_ns, _) in self._cache.items():
            config = self._config_for(digest_id)
            if config is not None:
                times.append(sent_ns + config.ack_timeout_ns)
        return min(times) if times else None

    def clear_cache(self) -> None:
        """Forget every unacknowledged list (the primary changed: the new one gets them again)."""
        self._cache.clear()
        self._cached.clear()

    def _flush(self, digest_id: int, config: Any) -> None:
        buf = self._buffers.pop(digest_id, None)
        if buf is None or not buf.keys:
            return
        list_id = self._next_list_id.get(digest_id, 0) + 1
        self._next_list_id[digest_id] = list_id
        resp = p4runtime_pb2.StreamMessageResponse()
        dl = resp.digest
        dl.digest_id = digest_id
        dl.list_id = list_id
        for data in buf.data:
            dl.data.add().CopyFrom(data)
        dl.timestamp = time.time_ns()
        if not self._send(resp):
            self.dropped += len(buf.keys)
            return
        self.sent_lists += 1
        if config.ack_timeout_ns > 0:
            self._cache[(digest_id, list_id)] = (self._now(), buf.keys)
            cached = self._cached.setdefault(digest_id, {})
            for k in buf.keys:
                cached[k] = list_id

    def _forget(self, digest_id: int, keys: list[Hashable], list_id: int) -> None:
        cached = self._cached.get(digest_id)
        if cached is None:
            return
        for k in keys:
            if cached.get(k) == list_id:
                del cached[k]


def _key(d: Any) -> Hashable:
    values = getattr(d, "values", d)
    try:
        hash(values)
        return values
    except TypeError:
        return repr(values)


# -- idle timeouts ------------------------------------------------------------------------------


class IdleTimeouts:
    """Expired entries to notifications (see the module docstring).

    ``tables()`` yields ``(table_name, table)`` for the tables that support idle timeout;
    ``encode(table_name, entries)`` turns engine entries into ``p4.v1.TableEntry`` messages
    (key, metadata and ``idle_timeout_ns``); ``send(msg)`` delivers a ``StreamMessageResponse``.
    Not thread-safe: the runtime calls :meth:`scan` under its lock.
    """

    def __init__(
        self,
        tables: Callable[[], Iterable[tuple[str, Any]]],
        encode: Callable[[str, list[Any]], Iterable[Any]],
        send: Callable[[p4runtime_pb2.StreamMessageResponse], bool],
    ) -> None:
        self._tables = tables
        self._encode = encode
        self._send = send
        self.notifications = 0

    def scan(self, now_ns: int) -> None:
        """Notify every entry due a notification at engine clock ``now_ns``: idle for its TTL
        since its last hit and since its last notification."""
        for name, table in self._tables():
            expired = table.expired(now_ns)
            if not expired:
                continue
            resp = p4runtime_pb2.StreamMessageResponse()
            note = resp.idle_timeout_notification
            for msg in self._encode(name, expired):
                note.table_entry.add().CopyFrom(msg)
            if not note.table_entry:
                continue
            note.timestamp = time.time_ns()
            self.notifications += 1
            self._send(resp)
