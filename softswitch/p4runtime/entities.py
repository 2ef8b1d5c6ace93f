"""P4Runtime entities on the engine: :class:`EntityStore` turns Write updates into engine calls
and Read requests into entities.

The gRPC server owns one store per forwarding pipeline and calls, one at a time::

    store = EntityStore(p4info, switch, device_id)
    for i, update in enumerate(request.updates):
        try:
            store.write(update)                 # P4RTError: code and message for update i
        except P4RTError as e:
            errors[i] = e
    for entity in request.entities:
        yield from store.read(entity)           # P4RTError for a malformed request

Each update is atomic: it is validated completely before the engine changes, so a failing one
leaves nothing behind (the batch as a whole is not atomic; the spec's default
``CONTINUE_ON_ERROR`` is what the caller gets by going on after an error).

The work is split by entity family: :mod:`.entities_tables` (table entries and their direct
resources), :mod:`.entities_profiles` (action profile members and groups, one-shot sets, and the
action/meter/counter codecs), :mod:`.entities_externs` (counters, meters, registers, value sets,
digests) and :mod:`.entities_pre` (multicast groups, clone sessions).
The stream side uses :meth:`EntityStore.digest_config`, :meth:`EntityStore.digest_id_for`,
:meth:`EntityStore.encode_digest_data`, :meth:`EntityStore.poll_idle_timeouts` and
:meth:`EntityStore.idle_timeout_entities`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from .entities_externs import DigestConfig, ExternEntities
from .entities_pre import PreEntities
from .entities_tables import TableEntities
from .errors import P4RTError, invalid, unimplemented
from .p4info_index import P4InfoIndex

__all__ = ["DigestConfig", "EntityStore"]

Update = p4runtime_pb2.Update


class EntityStore(TableEntities, ExternEntities, PreEntities):
    """The P4Runtime view of one running :class:`~softswitch.engine.switch.Switch`.

    Not thread-safe: the server serialises writes and reads (as it does for the engine).
    """

    def __init__(self, p4info: p4info_pb2.P4Info, switch: Any, device_id: int = 0) -> None:
        self.p4info = p4info
        self.index = P4InfoIndex(p4info)
        self.switch = switch
        self.device_id = device_id
        self._init_tables()
        self._init_externs()
        self._init_pre()

    def write(self, update: p4runtime_pb2.Update) -> None:
        """Apply one update, all or nothing; raises :class:`~.errors.P4RTError`."""
        utype = update.type
        if utype not in (Update.INSERT, Update.MODIFY, Update.DELETE):
            raise invalid(f"update type {utype} is not INSERT, MODIFY or DELETE")
        ent = update.entity
        which = ent.WhichOneof("entity")
        handler = {
            "table_entry": self.write_table_entry,
            "action_profile_member": self.write_member,
            "action_profile_group": self.write_group,
            "counter_entry": self.write_counter,
            "direct_counter_entry": self.write_direct_counter,
            "meter_entry": self.write_meter,
            "direct_meter_entry": self.write_direct_meter,
            "register_entry": self.write_register,
            "value_set_entry": self.write_value_set,
            "digest_entry": self.write_digest,
            "packet_replication_engine_entry": self.write_pre,
        }.get(which or "")
        if handler is None:
            if which is None:
                raise invalid("the update has no entity")
            raise unimplemented(f"{which} is not supported")
        try:
            handler(utype, getattr(ent, which))
        except P4RTError:
            raise
        except (ValueError, KeyError, IndexError) as e:  # the engine refused after all
            raise P4RTError(grpc.StatusCode.INTERNAL, f"{which}: {e}") from e

    def read(self, entity: p4runtime_pb2.Entity) -> Iterator[p4runtime_pb2.Entity]:
        """The entities one (possibly wildcard) read entity selects; raises
        :class:`~.errors.P4RTError` when the request is malformed or names unknown ids.

        The checks run before the first entity is yielded, so a caller that lists the result
        gets either every entity or an error."""
        which = entity.WhichOneof("entity")
        reader = {
            "table_entry": self.read_table_entries,
            "action_profile_member": self.read_members,
            "action_profile_group": self.read_groups,
            "counter_entry": self.read_counters,
            "direct_counter_entry": self.read_direct_counters,
            "meter_entry": self.read_meters,
            "direct_meter_entry": self.read_direct_meters,
            "register_entry": self.read_registers,
            "value_set_entry": self.read_value_sets,
            "digest_entry": self.read_digests,
        }.get(which or "")
        if which == "packet_replication_engine_entry":
            pre = entity.packet_replication_engine_entry
            kind = pre.WhichOneof("type")
            if kind == "multicast_group_entry":
                return iter(list(self.read_multicast_groups(pre.multicast_group_entry)))
            if kind == "clone_session_entry":
                return iter(list(self.read_clone_sessions(pre.clone_session_entry)))
            raise invalid(
                "packet replication engine read: give a multicast group or a clone session entry"
            )
        if reader is None:
            if which is None:
                raise invalid("the read entity is empty")
            raise unimplemented(f"reading {which} is not supported")
        return iter(list(reader(getattr(entity, which))))
