"""The P4Runtime client library: a schema from P4Info, typed values, entities by name, one
connection per switch, and target drivers for what P4Runtime does not cover.

- :mod:`.schema`: :class:`P4Schema` (P4Info by name, alias and id; :class:`SchemaError`).
- :mod:`.values`: app values (MACs, addresses, prefixes, ternaries, ranges) <-> bytestrings.
- :mod:`.entities`: dataclasses with ``encode(schema)`` / ``decode(msg, schema)``.
- :mod:`.client`: :class:`SwitchConnection` (arbitration, pipeline, Write/Read, stream,
  reconnect with :class:`StateReplay`), :class:`P4RuntimeError`, :class:`SwitchUnavailable`.
- :mod:`.drivers`: :class:`TargetDriver`, :class:`SoftswitchDriver`, :class:`Bmv2Driver`.
"""

from .client import (
    ArbitrationUpdate,
    P4RuntimeError,
    PipelineConfig,
    StateReplay,
    StreamError,
    StreamQueue,
    SwitchConnection,
    SwitchUnavailable,
    UpdateError,
)
from .drivers import (
    Bmv2Driver,
    DriverError,
    NotSupported,
    SoftswitchDriver,
    TargetDriver,
    make_driver,
)
from .entities import (
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
from .schema import P4Schema, SchemaError

__all__ = [
    "ActionProfileGroup",
    "ActionProfileMember",
    "ArbitrationUpdate",
    "Bmv2Driver",
    "CloneSession",
    "CounterData",
    "CounterEntry",
    "DigestEntry",
    "DigestList",
    "DirectCounterEntry",
    "DirectMeterEntry",
    "DriverError",
    "IdleTimeoutNotification",
    "MeterConfig",
    "MeterEntry",
    "MulticastGroup",
    "NotSupported",
    "P4RuntimeError",
    "P4Schema",
    "PacketIn",
    "PacketOut",
    "PipelineConfig",
    "RegisterEntry",
    "SchemaError",
    "SoftswitchDriver",
    "StateReplay",
    "StreamError",
    "StreamQueue",
    "SwitchConnection",
    "SwitchUnavailable",
    "TableEntry",
    "TargetDriver",
    "Update",
    "UpdateError",
    "UpdateType",
    "ValueSetEntry",
    "WeightedAction",
    "decode_entity",
    "make_driver",
]
