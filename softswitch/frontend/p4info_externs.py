"""P4Info for extern instances: counters, meters, registers and action profiles.

A mixin of :class:`.p4info._Gen`.
"""

from __future__ import annotations

from typing import Any

from p4.config.v1 import p4info_pb2

from . import p4info_ids as ids
from .elaborate import (
    ExternInstance,
    annotation_string,
)
from .p4info_annotations import (
    annotation_int,
    get_annotation,
    set_preamble,
)

_COUNTER_UNITS = {"packets": "PACKETS", "bytes": "BYTES", "packets_and_bytes": "BOTH"}
_METER_UNITS = {"packets": "PACKETS", "bytes": "BYTES"}


class _ExternGen:
    """Adds extern instances and action profiles/selectors to the P4Info message."""

    def add_extern(self, e: ExternInstance) -> None:
        self.type_info()
        tn = e.type_name
        if tn == "counter":
            msg = self.p4info.counters.add()
            ident = self.symbols.id(ids.COUNTER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.spec.unit = _unit(e.args.get("type"), _COUNTER_UNITS, p4info_pb2.CounterSpec)
            msg.size = _int_arg(e.args.get("size"))
        elif tn == "meter":
            msg = self.p4info.meters.add()
            ident = self.symbols.id(ids.METER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.spec.unit = _unit(e.args.get("type"), _METER_UNITS, p4info_pb2.MeterSpec)
            msg.size = _int_arg(e.args.get("size"))
        elif tn == "register":
            msg = self.p4info.registers.add()
            ident = self.symbols.id(ids.REGISTER, e.cp_name)
            set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name),
                         e.annotations)
            msg.size = _int_arg(e.args.get("size"))
            if e.type_args:
                msg.type_spec.CopyFrom(self.types.convert(e.type_args[0]))
        elif tn in ("action_profile", "action_selector"):
            self.add_action_profile(e)

    def add_action_profile(self, e: ExternInstance) -> None:
        ident = self.symbols.id(ids.ACTION_PROFILE, e.cp_name)
        msg = self.p4info.action_profiles.add()
        annos = e.annotations
        set_preamble(msg.preamble, ident, e.cp_name, self.symbols.alias(e.cp_name), annos,
                     frozenset({"max_group_size", "selector_size_semantics",
                                "max_member_weight"}))
        selector = e.type_name == "action_selector"
        msg.with_selector = selector
        msg.size = _int_arg(e.args.get("size"))
        if selector:
            a = get_annotation(annos, "max_group_size")
            if a is not None:
                v = annotation_int(a)
                if v is not None:
                    msg.max_group_size = v
            a = get_annotation(annos, "selector_size_semantics")
            if a is not None:
                s = (annotation_string(a) or "").upper()
                if s == "SUM_OF_WEIGHTS":
                    msg.sum_of_weights.SetInParent()
                elif s == "SUM_OF_MEMBERS":
                    msg.sum_of_members.SetInParent()
            a = get_annotation(annos, "max_member_weight")
            if a is not None and msg.HasField("sum_of_members"):
                v = annotation_int(a)
                if v is not None:
                    msg.sum_of_members.max_member_weight = v
        for tname in sorted(self.profile_tables.get(e.cp_name, ())):
            msg.table_ids.append(self.symbols.id(ids.TABLE, tname))



# --------------------------------------------------------------------------------------------
# Small helpers


def _extern_prefix(type_name: str) -> int | None:
    return {
        "counter": ids.COUNTER,
        "direct_counter": ids.DIRECT_COUNTER,
        "meter": ids.METER,
        "direct_meter": ids.DIRECT_METER,
        "action_profile": ids.ACTION_PROFILE,
        "action_selector": ids.ACTION_PROFILE,
        "register": ids.REGISTER,
    }.get(type_name)


def _unit(v: Any, names: dict[str, str], spec: Any) -> int:
    """The ``Unit`` enum value for a ``CounterType``/``MeterType`` member."""
    member = getattr(v, "member", None)
    n = names.get(member) if isinstance(member, str) else None
    return spec.Unit.Value(n) if n is not None else 0


def _int_arg(v: Any) -> int:
    """An integer constructor argument (0 when it is not one)."""
    if isinstance(v, bool) or not isinstance(v, int):
        return 0
    return v
