"""The base of every PTF suite: a P4Runtime connection, the pipeline, helpers by name, cleanup.

Test parameters (``ptf --test-params "k=v;k=v"``, values are Python literals):

============  =====================================================================
grpcaddr      the switch's P4Runtime address (default ``'127.0.0.1:9559'``)
device_id     P4Runtime device id (default 0)
election_id   int, ``(high, low)`` or ``'high,low'`` (default ``(0, 1)``)
p4info        P4Info file (text ``.txt``/``.txtpb`` or binary ``.bin``), required
config        device config file (the switch's own format: ``sluice compile``'s or
              ``p4c-bm2-ss``'s JSON), required
cpu_port      the switch's CPU port, for tests that route packets to it (default 255)
============  =====================================================================

The pipeline is pushed with a cookie derived from the two files, and pushed again only when the
switch reports another cookie, so a run pays for it once. Every write a test makes through
:meth:`P4RuntimeTest.write` (all the helpers use it) is undone in ``tearDown``, whether the test
passed or not: what it inserted is deleted, what it modified or deleted is put back as it was
(read before the write), for every entity kind, so tests do not see each other.
"""

from __future__ import annotations

import atexit
import time
from typing import Any

import ptf
from p4.v1 import p4runtime_pb2
from ptf import testutils
from ptf.base_tests import BaseTest

from controlplane.p4rt import (
    CounterData,
    CounterEntry,
    DirectCounterEntry,
    P4RuntimeError,
    P4Schema,
    PacketIn,
    SwitchConnection,
    SwitchUnavailable,
    TableEntry,
    Update,
    UpdateType,
)
from controlplane.p4rt.client import pipeline_cookie

__all__ = ["P4RuntimeError", "P4RuntimeTest"]

ProtoUpdate = p4runtime_pb2.Update
Entity = p4runtime_pb2.Entity

_files: dict[str, Any] = {}


def _load(path: str, kind: str) -> Any:
    key = f"{kind}:{path}"
    if key not in _files:
        if kind == "schema":
            _files[key] = P4Schema.load(path)
        else:
            with open(path, "rb") as f:
                _files[key] = f.read()
    return _files[key]


def _election_id(value: Any) -> tuple[int, int]:
    """An election id test parameter (int, ``(high, low)`` or ``"high,low"``) as a pair."""
    if isinstance(value, str):
        value = tuple(int(x, 0) for x in value.split(",")) if "," in value else int(value, 0)
    if isinstance(value, int):
        return value >> 64, value & ((1 << 64) - 1)
    high, low = value
    return int(high), int(low)


_conn: SwitchConnection | None = None


def _connect(
    addr: str, device_id: int, election: tuple[int, int], schema: P4Schema
) -> SwitchConnection:
    """The run's one connection (made on first use, closed at exit, remade if it dropped).

    One stream for the whole run keeps arbitration out of each test: a new stream with the same
    election id would race the server noticing that the previous one closed.
    """
    global _conn
    c = _conn
    eid = (election[0] << 64) | election[1]
    if (
        c is not None
        and c.ready.is_set()
        and (c.address, c.device_id, c.election_id) == (addr, device_id, eid)
    ):
        c.schema = schema
        return c
    if c is not None:
        c.close()
    _conn = None
    deadline = time.monotonic() + 5.0
    while True:
        c = SwitchConnection(
            addr, device_id, election, schema=schema, replay=False, reconnect=False
        )
        try:
            c.connect()
            # our previous stream may not be gone yet on the switch's side
            c.wait_for_primary(max(0.1, deadline - time.monotonic()))
            break
        except (P4RuntimeError, TimeoutError):
            c.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    _conn = c
    atexit.register(c.close)
    return c


# Fields that carry an entity's data rather than its identity, by entity kind.
_DATA_FIELDS = {
    "table_entry": ("action", "counter_data", "meter_config", "meter_counter_data",
                    "idle_timeout_ns", "time_since_last_hit", "metadata"),
    "counter_entry": ("data",),
    "direct_counter_entry": ("data",),
    "meter_entry": ("config", "counter_data"),
    "direct_meter_entry": ("config", "counter_data"),
    "register_entry": ("data",),
    "action_profile_member": ("action",),
    "action_profile_group": ("members", "max_size"),
    "digest_entry": ("config",),
    "multicast_group_entry": ("replicas", "metadata"),
    "clone_session_entry": ("replicas", "class_of_service", "packet_length_bytes"),
}  # fmt: skip


def _clear_data(msg: Any, kind: str) -> None:
    for name in _DATA_FIELDS.get(kind, ()):
        try:
            msg.ClearField(name)
        except ValueError:  # a field this version of the protos does not have
            pass


def _key_entity(entity: Entity) -> Entity:
    """``entity`` without its data: what a Read or a DELETE of it takes."""
    key = Entity()
    key.CopyFrom(entity)
    kind = key.WhichOneof("entity")
    msg = getattr(key, kind)
    if kind == "packet_replication_engine_entry":
        inner = msg.WhichOneof("type")
        _clear_data(getattr(msg, inner), inner)
    else:
        _clear_data(msg, kind)
        if kind in ("direct_counter_entry", "direct_meter_entry"):
            _clear_data(msg.table_entry, "table_entry")
    return key


def _entity_key(entity: Entity) -> tuple[Any, ...]:
    """What identifies an entity on the switch (a table entry's match in any order)."""
    key = _key_entity(entity)
    if key.WhichOneof("entity") == "table_entry":
        te = key.table_entry
        match = tuple(sorted(m.SerializeToString(deterministic=True) for m in te.match))
        te.ClearField("match")
        return ("table_entry", te.SerializeToString(deterministic=True), match)
    return (key.WhichOneof("entity"), key.SerializeToString(deterministic=True))


class P4RuntimeTest(BaseTest):
    """Connects (primary; one connection per run), pushes the pipeline when the switch runs
    another, and undoes the test's writes after it.

    Subclasses add the program's vocabulary on top of :meth:`insert_table_entry` and friends,
    and tests compose those and send and verify packets with :mod:`ptf.testutils`. Entities
    are :mod:`controlplane.p4rt`'s, by name; ``self.schema`` is the program's
    :class:`~controlplane.p4rt.P4Schema` and ``self.client`` the
    :class:`~controlplane.p4rt.SwitchConnection`.
    """

    def setUp(self) -> None:
        super().setUp()
        self.dataplane = ptf.dataplane_instance
        self.dataplane.flush()
        param = testutils.test_param_get
        self.grpc_addr = str(param("grpcaddr", "127.0.0.1:9559"))
        self.device_id = int(param("device_id", 0))
        self.cpu_port = int(param("cpu_port", 255))
        p4info_path, config_path = param("p4info"), param("config")
        if not p4info_path or not config_path:
            self.fail("test params 'p4info' and 'config' are required (see ptf_tests/base_test.py)")
        self.schema: P4Schema = _load(str(p4info_path), "schema")
        self.device_config: bytes = _load(str(config_path), "config")
        self._undo: dict[tuple[Any, ...], list[ProtoUpdate]] = {}
        self.client = _connect(
            self.grpc_addr,
            self.device_id,
            _election_id(param("election_id", (0, 1))),
            self.schema,
        )
        self._push_pipeline()
        self.client.packet_ins.clear()

    def tearDown(self) -> None:
        try:
            self.undo_writes()
        finally:
            super().tearDown()

    def _push_pipeline(self) -> None:
        cookie = pipeline_cookie(self.schema.p4info, self.device_config)
        current = self.client.get_pipeline("cookie_only")
        if current is None or current.cookie != cookie:
            self.client.set_pipeline(self.schema, self.device_config, cookie=cookie)

    # -- writes, remembered for cleanup ----------------------------------------------------------

    def write(self, *updates: Update | ProtoUpdate) -> None:
        """Write ``updates`` (:class:`~controlplane.p4rt.Update` or ``p4.v1.Update``) in one
        batch (CONTINUE_ON_ERROR) and remember how to undo each one that succeeded; a failure
        raises :class:`~controlplane.p4rt.P4RuntimeError` after the bookkeeping."""
        protos = [u if isinstance(u, ProtoUpdate) else u.encode(self.schema) for u in updates]
        before = [self._current(u) if u.type != ProtoUpdate.INSERT else None for u in protos]
        failed: set[int] = set()
        error: P4RuntimeError | None = None
        try:
            self.client.write(protos, batch_size=max(1, len(protos)))
        except P4RuntimeError as exc:
            error = exc
            failed = {e.index for e in exc.errors + exc.aborted} or set(range(len(protos)))
        for i, u in enumerate(protos):
            if i not in failed:
                self._remember(u, before[i])
        if error is not None:
            raise error

    def _current(self, update: ProtoUpdate) -> list[Entity]:
        """What the switch holds now where ``update`` will write (to restore it later)."""
        try:
            return list(self.client.read_raw([_key_entity(update.entity)]))
        except (P4RuntimeError, SwitchUnavailable):
            return []

    def _remember(self, u: ProtoUpdate, before: list[Entity] | None) -> None:
        """Keep, per entity, the updates that bring back what was there before the test."""
        key = _entity_key(u.entity)
        undo = self._undo.get(key)
        if undo is None:
            if u.type == ProtoUpdate.INSERT:
                self._undo[key] = [
                    ProtoUpdate(type=ProtoUpdate.DELETE, entity=_key_entity(u.entity))
                ]
            else:  # MODIFY restores, DELETE re-inserts what was there
                kind = ProtoUpdate.MODIFY if u.type == ProtoUpdate.MODIFY else ProtoUpdate.INSERT
                self._undo[key] = [ProtoUpdate(type=kind, entity=e) for e in before or []]
        elif undo and undo[0].type == ProtoUpdate.DELETE:  # the test's own entity
            if u.type == ProtoUpdate.DELETE:
                del self._undo[key]
        elif u.type == ProtoUpdate.DELETE:  # an original entity the test changed, now deleted
            for x in undo:
                x.type = ProtoUpdate.INSERT
        elif u.type == ProtoUpdate.INSERT:  # an original entity deleted, now there again
            for x in undo:
                x.type = ProtoUpdate.MODIFY

    def undo_writes(self) -> None:
        """Undo what this test wrote, newest first: delete what it inserted, restore what it
        modified or deleted. Each update alone, so one failure does not keep the others."""
        errors = []
        for updates in reversed(list(self._undo.values())):
            for update in updates:
                try:
                    self.client.write([update])
                except P4RuntimeError as exc:
                    errors.append(str(exc))
        self._undo.clear()
        if errors:
            raise AssertionError("cleanup failed:\n" + "\n".join(errors))

    # -- tables ----------------------------------------------------------------------------------

    def insert_table_entry(
        self,
        table: str,
        match: dict[str, Any],
        action: str,
        params: dict[str, Any] | None = None,
        *,
        priority: int = 0,
    ) -> TableEntry:
        """Insert an entry of ``table``; returns it (for reads and deletes)."""
        te = TableEntry(table, dict(match), action, dict(params or {}), priority=priority)
        self.write(Update(UpdateType.INSERT, te))
        return te

    def modify_table_entry(
        self,
        table: str,
        match: dict[str, Any],
        action: str,
        params: dict[str, Any] | None = None,
        *,
        priority: int = 0,
    ) -> TableEntry:
        """Change the action of an existing entry of ``table``."""
        te = TableEntry(table, dict(match), action, dict(params or {}), priority=priority)
        self.write(Update(UpdateType.MODIFY, te))
        return te

    def delete_table_entry(self, te: TableEntry) -> None:
        """Delete entry ``te`` (its match and priority identify it)."""
        self.write(Update(UpdateType.DELETE, te.key()))

    def set_default_action(
        self, table: str, action: str, params: dict[str, Any] | None = None
    ) -> None:
        """Change the default action of ``table`` (restored after the test)."""
        te = TableEntry(table, action=action, params=dict(params or {}), is_default=True)
        self.write(Update(UpdateType.MODIFY, te))

    def read_table_entries(
        self, table: str | None = None, *, counters: bool = False
    ) -> list[TableEntry]:
        """Entries of ``table`` (all tables when None), with direct counter data if asked."""
        query = TableEntry(table, counter_data=CounterData() if counters else None)
        return list(self.client.read(query))

    # -- counters --------------------------------------------------------------------------------

    def read_direct_counter(self, te: TableEntry) -> tuple[int, int]:
        """``(packets, bytes)`` of the direct counter of entry ``te``."""
        got = list(self.client.read(DirectCounterEntry(te)))
        if len(got) != 1 or got[0].data is None:
            self.fail(f"direct counter read returned {got}, expected one entry with data")
        return got[0].data.packets, got[0].data.bytes

    def read_counter(self, name: str, index: int) -> tuple[int, int]:
        """``(packets, bytes)`` of cell ``index`` of indirect counter ``name``."""
        got = list(self.client.read(CounterEntry(name, index)))
        if len(got) != 1 or got[0].data is None:
            self.fail(f"counter read returned {got}, expected one cell with data")
        return got[0].data.packets, got[0].data.bytes

    def wait_for_counter(
        self, read: Any, expected: tuple[int, int], timeout: float = 2.0
    ) -> tuple[int, int]:
        """Poll ``read()`` until it returns ``expected`` or ``timeout`` passes; the last value.

        Counters are updated before a packet leaves, but a target may publish them a little
        later (BMv2 syncs its counters to PI asynchronously on some builds)."""
        deadline = time.monotonic() + timeout
        value = read()
        while value != expected and time.monotonic() < deadline:
            time.sleep(0.05)
            value = read()
        return value

    # -- packet I/O ------------------------------------------------------------------------------

    def send_packet_out(self, pkt: Any, **metadata: Any) -> None:
        """Send ``pkt`` (scapy packet or bytes) as a packet-out with ``packet_out`` metadata by
        name (none: the payload enters the pipeline on the CPU port as it is)."""
        self.client.packet_out(bytes(pkt), **metadata)

    def _next_packet_in(self, timeout: float) -> PacketIn | None:
        try:
            return self.client.packet_ins.get(timeout=max(0.0, timeout))
        except TimeoutError:
            return None

    def verify_packet_in(self, exp_pkt: Any, timeout: float = 2.0, **metadata: Any) -> PacketIn:
        """Wait for a packet-in whose payload is ``exp_pkt`` (bytes, scapy packet or
        ``ptf.mask.Mask``) and whose ``packet_in`` metadata has the given values."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            pin = self._next_packet_in(deadline - time.monotonic())
            if pin is None:
                self.fail(f"no matching packet-in within {timeout} s ({len(seen)} others seen)")
            if _matches(exp_pkt, pin.payload) and all(
                pin.metadata.get(k) == v for k, v in metadata.items()
            ):
                return pin
            seen.append(pin)

    def verify_no_packet_in(self, timeout: float = 0.3) -> None:
        """No packet-in arrives within ``timeout`` seconds."""
        pin = self._next_packet_in(timeout)
        if pin is not None:
            self.fail(f"unexpected packet-in of {len(pin.payload)} bytes")


def _matches(exp: Any, data: bytes) -> bool:
    if hasattr(exp, "pkt_match"):  # ptf.mask.Mask
        return bool(exp.pkt_match(data))
    return bytes(exp) == bytes(data)
