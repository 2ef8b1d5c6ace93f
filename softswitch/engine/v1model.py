"""The v1model architecture as BMv2's ``simple_switch`` runs it.

One packet's life (``targets/simple_switch/simple_switch.cpp``, ``docs/simple_switch.md``):

ingress
    fresh headers and metadata (every field 0); ``ingress_port``, ``packet_length``,
    ``instance_type``, ``ingress_global_timestamp`` set (a resubmitted or recirculated packet
    gets only ``packet_length``, ``instance_type`` and its preserved fields, as BMv2 resets the
    rest: its ``ingress_port`` reads 0 unless preserved); parser (a parser error does not drop:
    ``parser_error`` is set and the unparsed bytes stay payload); VerifyChecksum (a failure sets
    ``checksum_error``); Ingress. Then, in BMv2's order: an ingress clone (the packet *as
    received*, parsed again, metadata reset except the preserved field list, instance type
    INGRESS_CLONE, to the clone session's port(s)); digests; resubmit (the packet as received goes
    back to ingress with the preserved fields, instance type RESUBMIT, nothing else happens);
    multicast when ``mcast_grp`` != 0 (one copy per replica with ``egress_rid``, instance type
    REPLICATION; the original is discarded); else drop when ``egress_spec`` is the drop port
    (511 unless the switch says otherwise, as BMv2's ``--drop-port``); else
    instance type NORMAL and into the traffic manager at ``egress_spec``, queue
    ``standard_metadata.priority``.
egress
    ``egress_port``, the queueing metadata and ``egress_global_timestamp`` set, ``egress_spec``
    one past the drop port (9 bits: 0 for 511); Egress; an egress clone (the egress-processed
    headers, metadata reset except the preserved fields, instance type EGRESS_CLONE) is made
    before the drop check; drop when ``egress_spec`` is the drop port; ComputeChecksum and
    Deparser; a recirculation goes back to ingress with the deparsed bytes (instance type
    RECIRC); else the packet leaves on ``egress_port``.

Where the engine differs from BMv2: a failed ``assert``/``assume`` aborts BMv2; here it is logged
as an error and the packet is dropped. Digest data that is a header or metadata field is read
at the end of ingress, as BMv2's learn engine does; other values (action parameters, locals)
when ``digest`` is called, as the temporaries p4c creates for them hold.

Beyond BMv2 (``sluice.p4``): ``sluice_queue_pause``/``sluice_queue_resume`` act on the traffic
manager when the action runs, at the clock's current time; a queue index the switch has no queue
for, or the drop port, is ignored. ``mark_to_drop`` sets ``egress_spec`` to the drop port, as
BMv2's does.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..frontend import constfold
from ..frontend import types as T
from ..frontend.elaborate import EnumValue
from .clock import Clock
from .codegen import GeneratedProgram, runtime_namespace
from .packet import AssertSignal, ExitSignal, PacketIn, ParserError
from .pre import PacketReplicationEngine
from .queueing import Departure, TrafficManager
from .stateful import CounterArray, MeterArray, RegisterArray

log = logging.getLogger("softswitch.engine.v1model")

#: BMv2's default drop port (``simple_switch --drop-port``); a switch may use another
DEFAULT_DROP_PORT = 511

# standard_metadata.instance_type values (simple_switch's PktInstanceType)
PKT_INSTANCE_TYPE_NORMAL = 0
PKT_INSTANCE_TYPE_INGRESS_CLONE = 1
PKT_INSTANCE_TYPE_EGRESS_CLONE = 2
PKT_INSTANCE_TYPE_COALESCED = 3
PKT_INSTANCE_TYPE_RECIRC = 4
PKT_INSTANCE_TYPE_REPLICATION = 5
PKT_INSTANCE_TYPE_RESUBMIT = 6

_MASK9 = 0x1FF
_MASK32 = 0xFFFFFFFF
_MASK48 = (1 << 48) - 1


class Digest(NamedTuple):
    """A digest message: the digest's name (its data type's name), receiver and field values."""

    name: str
    receiver: int
    values: tuple[Any, ...]


class PacketContext:
    """Per-packet state shared by the generated code (``_ctx``) and the harness."""

    __slots__ = (
        "sm",
        "now_us",
        "now_ns",
        "ingress_length",
        "payload",
        "checksum_error",
        "clone_session",
        "clone_fl",
        "resubmit_fl",
        "recirculate_fl",
        "truncate",
        "digests",
        "dmeter",
        "fx",
    )

    def __init__(self) -> None:
        self.sm: Any = None
        self.now_us = 0
        self.now_ns = 0
        self.ingress_length = 0
        self.payload = b""
        self.checksum_error = 0
        self.clone_session: int | None = None
        self.clone_fl: Any = None
        self.resubmit_fl: Any = None
        self.recirculate_fl: Any = None
        self.truncate: int | None = None
        self.digests: list[tuple[str, int, Any, tuple[Any, ...]]] = []
        self.dmeter = 0
        self.fx = False  # set by clone/resubmit/recirculate/truncate/digest: look closer


class _Item:
    """A packet between ingress and egress (held by the traffic manager)."""

    __slots__ = ("hdr", "meta", "sm", "payload", "ingress_length", "truncate", "data")

    def __init__(self, hdr: Any, meta: Any, sm: Any, payload: bytes, ingress_length: int,
                 truncate: int | None, data: bytes) -> None:
        self.hdr = hdr
        self.meta = meta
        self.sm = sm
        self.payload = payload
        self.ingress_length = ingress_length
        self.truncate = truncate
        self.data = data  # the packet as received (ingress clones, resubmit)

    def copy(self) -> _Item:
        return _Item(self.hdr._copy(), self.meta._copy(), self.sm._copy(), self.payload,
                     self.ingress_length, self.truncate, self.data)


class V1ModelPipeline:
    """Runs a generated v1model program: ingress, traffic manager, egress, outputs.

    ``tables`` maps each table's control-plane name to its table object, ``externs`` each extern
    instance's control-plane name to its runtime object (:class:`RegisterArray`,
    :class:`CounterArray`, :class:`MeterArray`), ``value_sets`` each value set's name to its
    :class:`ValueSet`. ``outputs`` collects ``(port, bytes)`` in emission order, ``digests``
    :class:`Digest` messages.
    """

    def __init__(
        self,
        gen: GeneratedProgram,
        *,
        clock: Clock,
        tm: TrafficManager,
        pre: PacketReplicationEngine,
        table_factory: Callable[..., Any],
        seed: int = 0,
        drop_port: int = DEFAULT_DROP_PORT,
    ) -> None:
        self.gen = gen
        self.drop_port = drop_port
        self.clock = clock
        self.tm = tm
        self.pre = pre
        self.rng = random.Random(seed)
        ns = runtime_namespace(self.rng)
        self.ctx = PacketContext()
        ns["_ctx"] = self.ctx
        ns["_DROP_PORT"] = drop_port  # mark_to_drop sets egress_spec to it
        ns["_queue_pause"] = self._queue_pause
        ns["_queue_resume"] = self._queue_resume
        self.tables: dict[str, Any] = {}
        for spec in gen.tables:
            table = table_factory(spec)
            ns[spec.pyname] = table
            self.tables[spec.inst.cp_name] = table
        self.externs: dict[str, Any] = {}
        for name, inst in gen.externs:
            obj = make_extern(inst, clock)
            ns[name] = obj
            if obj is not None:
                self.externs[inst.cp_name] = obj
        self.value_sets: dict[str, ValueSet] = {}
        for name, vs in gen.value_sets:
            ns[name] = self.value_sets[vs.cp_name] = ValueSet(vs.cp_name, vs.size or 0)
        exec(gen.code, ns)  # noqa: S102 - our own generated code
        self.ns = ns
        e = gen.entry
        self._parse = ns[e["parser"]]
        self._verify = ns[e["verify_checksum"]]
        self._ingress = ns[e["ingress"]]
        self._egress = ns[e["egress"]]
        self._compute = ns[e["compute_checksum"]]
        self._deparse = ns[e["deparser"]]
        self.H = ns[gen.classes["headers"]]
        self.M = ns[gen.classes["meta"]]
        self.SM = ns[gen.classes["standard_metadata"]]
        self._input: deque[tuple[int, bytes, int, Any, Any, Any]] = deque()
        self.outputs: list[tuple[int, bytes]] = []
        self.digests: list[Digest] = []
        self.dropped = 0
        self._field_list_cache: dict[Any, Callable[..., None]] = {}

    # -- entry points ------------------------------------------------------------------------

    def inject(self, port: int, data: bytes) -> None:
        """A packet arrives on ``port``; it waits for :meth:`step`."""
        self._input.append((port, bytes(data), PKT_INSTANCE_TYPE_NORMAL, None, None, None))

    def busy(self) -> bool:
        """Whether packets wait for ingress."""
        return bool(self._input)

    def process_input(self) -> None:
        """Run ingress for every waiting packet (resubmitted/recirculated ones first)."""
        inp = self._input
        while inp:
            pkt = inp.popleft()
            try:
                self._run_ingress(*pkt)
            except Exception:  # noqa: BLE001 - an engine bug must not stop the switch
                log.exception("internal error in ingress (port %d); packet dropped", pkt[0])
                self.dropped += 1

    def process_departures(self) -> int:
        """Run egress for every packet the traffic manager lets go now; returns how many."""
        deps = self.tm.dequeue_ready()
        for d in deps:
            try:
                self._run_egress(d)
            except Exception:  # noqa: BLE001 - an engine bug must not stop the switch
                log.exception("internal error in egress (port %d); packet dropped", d.port)
                self.dropped += 1
        return len(deps)

    # -- sluice.p4: data-plane queue pause and resume ----------------------------------------

    def _queue_pause(self, port: int, qid: int) -> None:
        if port != self.drop_port and qid < self.tm.priority_queues:
            self.tm.pause(port, qid)

    def _queue_resume(self, port: int, qid: int) -> None:
        if port != self.drop_port and qid < self.tm.priority_queues:
            self.tm.resume(port, qid)

    # -- ingress -----------------------------------------------------------------------------

    def _run_ingress(self, port: int, data: bytes, itype: int, preserved: Any,
                     src_meta: Any, src_sm: Any) -> None:
        ctx = self.ctx
        now = self.clock.now_us()
        hdr = self.H()
        meta = self.M()
        sm = self.SM()
        if preserved is not None:
            self._copy_fields(preserved, src_meta, src_sm, meta, sm)
        length = len(data)
        sm.packet_length = length
        sm.instance_type = itype
        if preserved is None:
            # a new packet; BMv2 resets the metadata of resubmitted and recirculated packets
            # and sets only the preserved fields, instance_type and packet_length
            sm.ingress_port = port
            sm.ingress_global_timestamp = now & _MASK48
        ctx.sm = sm
        ctx.now_us = now
        ctx.now_ns = now * 1000
        ctx.ingress_length = length
        ctx.checksum_error = 0
        if ctx.fx:
            self._reset_fx(ctx)
        pin = PacketIn(data)
        try:
            self._parse(pin, hdr, meta, sm)
        except ParserError as exc:
            sm.parser_error = exc.code
        payload = data[pin.off:]
        ctx.payload = payload
        try:
            try:
                self._verify(hdr, meta)
            except ExitSignal:
                pass
            sm.checksum_error = ctx.checksum_error
            try:
                self._ingress(hdr, meta, sm)
            except ExitSignal:
                pass
        except AssertSignal:
            log.error("assertion failed in ingress (port %d); packet dropped", port)
            self.dropped += 1
            return
        truncate = None
        if ctx.fx:
            truncate = ctx.truncate
            if ctx.clone_session is not None:
                self._ingress_clone(ctx.clone_session, ctx.clone_fl, data, port, length, meta,
                                    sm)
            if ctx.digests:  # read now, at the end of ingress, as BMv2's learn engine does
                self.digests.extend(
                    Digest(name, recv, fn(vals) if fn is not None else vals)
                    for name, recv, fn, vals in ctx.digests
                )
            if ctx.resubmit_fl is not None:
                self._input.appendleft(
                    (port, data, PKT_INSTANCE_TYPE_RESUBMIT, ctx.resubmit_fl, meta, sm))
                return
        item = _Item(hdr, meta, sm, payload, length, truncate, data)
        mgid = sm.mcast_grp
        if mgid:
            sm.instance_type = PKT_INSTANCE_TYPE_REPLICATION
            self._multicast(item, mgid)
            return
        egress_spec = sm.egress_spec
        if egress_spec == self.drop_port:
            self.dropped += 1
            return
        sm.instance_type = PKT_INSTANCE_TYPE_NORMAL
        if not self.tm.enqueue(egress_spec, sm.priority, item, length):
            self.dropped += 1

    @staticmethod
    def _reset_fx(ctx: PacketContext) -> None:
        ctx.clone_session = None
        ctx.clone_fl = None
        ctx.resubmit_fl = None
        ctx.recirculate_fl = None
        ctx.truncate = None
        ctx.digests = []
        ctx.fx = False

    def _ingress_clone(self, session: int, fl: Any, data: bytes, port: int, length: int,
                       meta: Any, sm: Any) -> None:
        copies = self.pre.clone_copies(session)
        if not copies:
            return
        cfg = self.pre.clone_session(session)
        hdr = self.H()
        cmeta = self.M()
        csm = self.SM()
        csm.ingress_port = port
        pin = PacketIn(data)
        ctx = self.ctx
        saved = (ctx.sm, ctx.payload)
        ctx.sm = csm
        try:
            self._parse(pin, hdr, cmeta, csm)
        except (ParserError, ExitSignal, AssertSignal):
            pass
        ctx.sm, ctx.payload = saved
        # BMv2 resets the copy's metadata after parsing it again, then copies the field list
        cmeta = self.M()
        csm = self.SM()
        if fl is not None:
            self._copy_fields(fl, meta, sm, cmeta, csm)
        csm.instance_type = PKT_INSTANCE_TYPE_INGRESS_CLONE
        item = _Item(hdr, cmeta, csm, data[pin.off:], length,
                     cfg.truncate_bytes or None, data)
        self._replicate(item, copies, cfg.mcast_grp is not None)

    def _replicate(self, item: _Item, copies: list[tuple[int, int]], set_rid: bool) -> None:
        for i, (port, rid) in enumerate(copies):
            c = item.copy() if i < len(copies) - 1 else item
            if set_rid:
                c.sm.egress_rid = rid
            self._enqueue(port, c)

    def _multicast(self, item: _Item, mgid: int) -> None:
        copies = self.pre.replicate(mgid)
        if not copies:
            self.dropped += 1
            return
        self._replicate(item, copies, True)

    def _enqueue(self, port: int, item: _Item) -> None:
        nbytes = item.ingress_length
        if not self.tm.enqueue(port, item.sm.priority, item, nbytes):
            self.dropped += 1

    # -- egress ------------------------------------------------------------------------------

    def _run_egress(self, d: Departure) -> None:
        item: _Item = d.item
        hdr, meta, sm = item.hdr, item.meta, item.sm
        ctx = self.ctx
        now = d.deq_timestamp
        sm.egress_global_timestamp = now & _MASK48
        sm.enq_timestamp = d.enq_timestamp & _MASK32
        sm.enq_qdepth = d.enq_qdepth
        sm.deq_timedelta = d.deq_timedelta & _MASK32
        sm.deq_qdepth = d.deq_qdepth
        sm.egress_port = d.port
        # BMv2 starts egress with egress_spec one past the drop port (9 bits: 0 for port 511)
        sm.egress_spec = (self.drop_port + 1) & _MASK9
        sm.packet_length = length = item.ingress_length
        ctx.sm = sm
        ctx.now_us = now
        ctx.now_ns = now * 1000
        ctx.ingress_length = length
        if ctx.fx:
            self._reset_fx(ctx)
        ctx.payload = item.payload
        try:
            try:
                self._egress(hdr, meta, sm)
            except ExitSignal:
                pass
        except AssertSignal:
            log.error("assertion failed in egress (port %d); packet dropped", d.port)
            self.dropped += 1
            return
        truncate = item.truncate
        recirc = None
        if ctx.fx:
            if ctx.truncate is not None:
                truncate = ctx.truncate
            if ctx.clone_session is not None:
                self._egress_clone(ctx.clone_session, ctx.clone_fl, item, meta, sm)
            recirc = ctx.recirculate_fl
        if sm.egress_spec == self.drop_port:
            self.dropped += 1
            return
        ctx.payload = item.payload
        try:
            try:
                self._compute(hdr, meta)
            except ExitSignal:
                pass
            out: list[bytes] = []
            self._deparse(out, hdr)
        except AssertSignal:
            log.error("assertion failed in deparsing (port %d); packet dropped", d.port)
            self.dropped += 1
            return
        out.append(item.payload)
        data = b"".join(out)
        if truncate is not None and truncate < len(data):
            data = data[:truncate]
        if recirc is not None:
            self._input.appendleft((0, data, PKT_INSTANCE_TYPE_RECIRC, recirc, meta, sm))
            return
        self.outputs.append((d.port, data))

    def _egress_clone(self, session: int, fl: Any, item: _Item, meta: Any, sm: Any) -> None:
        copies = self.pre.clone_copies(session)
        if not copies:
            return
        cfg = self.pre.clone_session(session)
        cmeta = self.M()
        csm = self.SM()
        if fl is not None:
            self._copy_fields(fl, meta, sm, cmeta, csm)
        csm.instance_type = PKT_INSTANCE_TYPE_EGRESS_CLONE
        c = _Item(item.hdr._copy(), cmeta, csm, item.payload, item.ingress_length,
                  cfg.truncate_bytes or None, item.data)
        self._replicate(c, copies, cfg.mcast_grp is not None)

    # -- preserved field lists ---------------------------------------------------------------

    def _copy_fields(self, fl: Any, src_meta: Any, src_sm: Any, dst_meta: Any,
                     dst_sm: Any) -> None:
        fn = self._field_list_cache.get(fl)
        if fn is None:
            fn = self._field_list_cache[fl] = self._make_copier(fl)
        fn(src_meta, src_sm, dst_meta, dst_sm)

    def _make_copier(self, fl: Any) -> Callable[..., None]:
        from .codegen_types import py_field

        if isinstance(fl, tuple) and fl and fl[0] == "data":
            paths = list(fl[1:])
        else:
            paths = self.gen.field_lists.get(int(fl), [])
        lines = ["def copy(sm_, ss_, dm_, ds_):"]
        for p in paths:
            root_src, root_dst = ("ss_", "ds_") if p[0] == "sm" else ("sm_", "dm_")
            attrs = "".join("." + py_field(x) for x in p[1:])
            if not attrs:
                lines.append(f"    {root_dst}._set({root_src})")
                continue
            lines.append(f"    v = {root_src}{attrs}")
            lines.append(f"    {root_dst}{attrs} = v._copy() if hasattr(v, '_copy') else v")
        lines.append("    pass")
        ns: dict[str, Any] = {}
        exec("\n".join(lines), ns)  # noqa: S102 - generated from the program's field lists
        return ns["copy"]


class ValueSet:
    """A parser ``value_set``: up to ``size`` (value, mask) members set by the control plane."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.members: list[tuple[Any, Any]] = []

    def add(self, value: Any, mask: Any = None) -> None:
        """Add a member; ``mask`` None means all ones (tuples for multi-field sets)."""
        if len(self.members) >= self.size > 0:
            raise ValueError(f"value set {self.name} is full ({self.size})")
        self.members.append((value, mask))

    def set_members(self, members: Iterable[tuple[Any, Any]]) -> None:
        """Replace every member at once (P4Runtime's ``ValueSetEntry`` MODIFY): ``(value,
        mask)`` pairs as :meth:`add` takes them. Raises :class:`ValueError` when they exceed
        ``size``, leaving the set unchanged; otherwise the parser sees the old or the new
        members, never a mix."""
        new = [(value, mask) for value, mask in members]
        if 0 < self.size < len(new):
            raise ValueError(
                f"value set {self.name}: {len(new)} members exceed its size {self.size}"
            )
        self.members = new

    def clear(self) -> None:
        """Remove every member."""
        self.members = []

    def match(self, key: Any) -> bool:
        for value, mask in self.members:
            if mask is None:
                if key == value:
                    return True
            elif isinstance(key, tuple):
                if all((k & m) == (v & m) for k, v, m in zip(key, value, mask)):
                    return True
            elif (key & mask) == (value & mask):
                return True
        return False


def make_extern(inst: Any, clock: Clock) -> Any:
    """The runtime object of a v1model extern instance (None for those tables own)."""
    name = inst.type_name
    args = inst.args

    def member(v: Any) -> str:
        if isinstance(v, (EnumValue, constfold.EnumValue)):
            return v.member
        return str(v)

    if name == "register":
        t = T.resolve_type(inst.type_args[0]) if inst.type_args else None
        from .codegen_types import scalar_bits

        sb = scalar_bits(t) if t is not None else None
        width, signed = sb if sb is not None else (T.width_of(t) if t is not None else 32, False)
        return RegisterArray(int(args.get("size", 0)), width, signed)
    if name == "counter":
        return CounterArray(int(args.get("size", 0)), member(args.get("type")))  # type: ignore
    if name == "meter":
        return MeterArray(int(args.get("size", 0)), member(args.get("type")),  # type: ignore
                          clock.now_us())
    return None
