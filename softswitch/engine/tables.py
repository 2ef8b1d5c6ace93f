"""Match-action tables: entries, match kinds, lookup, default actions and idle-timeout bookkeeping.

One internal priority convention everywhere: **a larger ``priority`` wins** (P4Runtime's). Ties
go to the entry added first (BMv2's ternary list keeps insertion order and only a strictly better
entry replaces the current best). Edges convert: BMv2's CLI and JSON use "smaller wins", p4c's
STF runner hands BMv2 ``10000 - p`` so an STF priority is already "larger wins" and is used as is.

How a table looks entries up depends on its match kinds, as in BMv2:

- only ``exact`` (and unknown kinds, which match exactly): one dict, ``lookup`` *is* ``dict.get``;
- ``exact`` plus one ``lpm``: one dict per prefix length present, longest first; the prefix
  length is the priority and entries carry none;
- anything with ``ternary``, ``range`` or ``optional`` (or two ``lpm`` keys): entries carry a
  priority; an ``lpm`` key there is just a mask, its length does not rank entries. Without a
  ``range`` key, entries are grouped by mask (one dict get per distinct mask, best rank kept);
  with one, a scan in rank order.

Entry values are masked to the key widths (an ``lpm`` or ``ternary`` value also to its mask) so
that equal matches compare equal; lookup keys must already fit their widths (the pipeline's
fields do). The engine touches hit entries itself (:meth:`TableEntry.touch`, the direct counter
slots); the table only finds them.

Writers (the control plane) replace the structures that readers (the pipeline) walk, or mutate
dicts with single operations, so lookups need no lock.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .stateful import Meter, MeterUnit

if TYPE_CHECKING:
    from .action_profiles import ActionProfile, ProfileRef
    from .clock import Clock

__all__ = [
    "ActionCall",
    "AlreadyExists",
    "Exact",
    "KeySpec",
    "Lpm",
    "Match",
    "MatchTable",
    "NotFound",
    "Optional",
    "Range",
    "ReadOnly",
    "TableEntry",
    "TableError",
    "TableFull",
    "Ternary",
    "initial_entry_priorities",
]


# ---------------------------------------------------------------------------------------------
# Errors


class TableError(Exception):
    """Base of table errors; ``str()`` is the message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AlreadyExists(TableError, KeyError):
    """An entry with the same match (and priority) is already there."""


class NotFound(TableError, KeyError):
    """No entry with that match (and priority)."""


class TableFull(TableError):
    """The table holds ``size`` entries already."""


class ReadOnly(TableError):
    """The entry or default action is ``const``."""


# ---------------------------------------------------------------------------------------------
# Keys, matches, actions


@dataclass(frozen=True)
class KeySpec:
    """One key field: its control-plane name, match kind and width in bits."""

    name: str
    match_kind: str
    bitwidth: int


@dataclass(frozen=True)
class Exact:
    """Exact match on ``value``."""

    value: int


@dataclass(frozen=True)
class Lpm:
    """Longest-prefix match: the top ``prefix_len`` bits of ``value``."""

    value: int
    prefix_len: int


@dataclass(frozen=True)
class Ternary:
    """``key & mask == value & mask``."""

    value: int
    mask: int


@dataclass(frozen=True)
class Range:
    """``low <= key <= high``."""

    low: int
    high: int


@dataclass(frozen=True)
class Optional:
    """Exact match on ``value``, or anything when ``value`` is ``None``."""

    value: int | None = None


Match = Exact | Lpm | Ternary | Range | Optional


@dataclass(frozen=True)
class ActionCall:
    """An action by control-plane name with its argument values in parameter order."""

    name: str
    args: tuple[int, ...] = ()


@dataclass(eq=False)
class TableEntry:
    """One entry. ``priority`` follows the internal convention (larger wins) and is 0 in tables
    that need none. ``packets``/``bytes`` are the direct counter, ``meter`` holds the direct
    meter cell (a :class:`~softswitch.engine.stateful.Meter`, made by the table on insertion)
    when the table has one. ``metadata`` and ``controller_metadata`` are P4Runtime's opaque
    cookies, kept for the controller.
    ``timeout_ns`` 0 means no idle timeout; ``last_hit_ns`` starts at the insertion time;
    ``notified_ns`` is when :meth:`MatchTable.expired` last reported the entry (0: never)."""

    match: tuple[Match, ...]
    action: ActionCall | ProfileRef
    priority: int = 0
    timeout_ns: int = 0
    last_hit_ns: int = 0
    is_const: bool = False
    packets: int = 0
    bytes: int = 0
    meter: Any = None
    notified_ns: int = 0
    seq: int = field(default=0, repr=False)
    rank: int = field(default=0, repr=False)
    metadata: bytes = b""
    controller_metadata: int = 0

    def touch(self, now_ns: int) -> None:
        """Record a hit at ``now_ns`` (restarts the idle timer)."""
        self.last_hit_ns = now_ns

    def count(self, nbytes: int) -> None:
        """Bump the direct counter by one packet of ``nbytes``."""
        self.packets += 1
        self.bytes += nbytes


def initial_entry_priorities(
    explicit: Sequence[int | None],
    largest_priority_wins: bool = True,
    priority_delta: int = 1,
    at_priority: Sequence[int | None] | None = None,
) -> list[int]:
    """Priorities of a table's ``entries`` list, in the internal convention (larger wins), all
    positive: what P4Runtime reads back and addresses them by.

    As p4c's front end numbers them (P4_16, the ``entries`` table property): with no explicit
    ``priority =`` at all, entries get 1, 1 + delta, ... from the one that loses most (the last
    when ``largest_priority_wins``, the default), so earlier entries win (p4c gives N entries
    N, N - 1, ... 1, as the P4Runtime spec says for const tables); otherwise the first entry
    must have one and each entry without one gets the previous entry's priority moved
    ``priority_delta`` towards "loses".

    ``at_priority`` holds p4c's non-standard ``@priority(n)`` annotations. When an entry without
    ``priority =`` has one, p4c's BMv2 back end ranks in BMv2's order (smaller wins): an entry
    gets its ``priority =`` or ``@priority`` number, any other its position from 1.

    Numbers that rank "smaller wins" (``largest_priority_wins = false``, ``@priority``), and any
    below 1, are mapped onto 1, 2, ... keeping their order and ties: P4Runtime priorities are
    positive and larger wins. Numbers already positive and "larger wins" are kept as they are.
    """
    n = len(explicit)
    if at_priority is not None and any(
        a is not None and p is None for p, a in zip(explicit, at_priority)
    ):
        bmv2 = [
            p if p is not None else a if a is not None else i + 1
            for i, (p, a) in enumerate(zip(explicit, at_priority))
        ]
        return _positive([-b for b in bmv2])
    sign = 1 if largest_priority_wins else -1
    if all(p is None for p in explicit):
        if largest_priority_wins:
            return [1 + (n - 1 - i) * priority_delta for i in range(n)]
        return _positive([-(1 + i * priority_delta) for i in range(n)])
    if explicit[0] is None:
        raise ValueError("the first entry must have a priority when others have one")
    out: list[int] = []
    prev = 0
    for p in explicit:
        if p is None:
            p = prev - priority_delta if largest_priority_wins else prev + priority_delta
        prev = p
        out.append(sign * p)
    return _positive(out)


def _positive(prios: list[int]) -> list[int]:
    """``prios`` shifted so that the smallest is 1, when one is below 1 (order and ties kept)."""
    low = min(prios, default=1)
    return prios if low >= 1 else [p + 1 - low for p in prios]


# ---------------------------------------------------------------------------------------------
# The table


_PRIORITY_KINDS = frozenset({"ternary", "range", "optional"})


class MatchTable:
    """A match-action table of at most ``size`` entries.

    ``default_action`` runs on a miss; ``const_default`` forbids changing it. ``profile`` is the
    action profile or selector of an indirect table (possibly shared with other tables): entries
    then hold ``ProfileRef``s that must exist in it, and the table keeps the profile's reference
    counts. ``direct_meter_unit`` (``"packets"``/``"bytes"``, None without a direct meter):
    each inserted entry without a meter cell gets one, whose token time starts at ``clock``'s
    current time (0 without a clock).
    """

    def __init__(
        self,
        name: str,
        keys: list[KeySpec],
        size: int = 1024,
        *,
        default_action: ActionCall | None = None,
        const_default: bool = False,
        profile: ActionProfile | None = None,
        direct_meter_unit: MeterUnit | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.direct_meter_unit = direct_meter_unit
        self.clock = clock
        self.keys = list(keys)
        self.size = size
        self.default_action: ActionCall = default_action or ActionCall("NoAction")
        self.initial_default_action = self.default_action
        self.const_default = const_default
        self.profile = profile
        # an action selector's hash over its ``selector`` key fields, set by the pipeline:
        # ``selector_hash([(value, bitwidth), ...]) -> int``
        self.selector_hash: Callable[[list[tuple[int, int]]], int] | None = None
        self.const_entries = False
        self._widths = [(1 << k.bitwidth) - 1 for k in self.keys]
        kinds = [k.match_kind for k in self.keys]
        lpm = [i for i, kd in enumerate(kinds) if kd == "lpm"]
        self.needs_priority = bool(_PRIORITY_KINDS.intersection(kinds)) or len(lpm) > 1
        self._by_id: dict[tuple[Any, ...], TableEntry] = {}  # (normalised match, priority)
        self._seq = 0
        if self.needs_priority:
            self._mode = "priority"
            self._has_range = "range" in kinds
            shifts = []
            total = 0
            for k in reversed(self.keys):
                shifts.append(total)
                total += k.bitwidth
            self._shifts = list(reversed(shifts))
            self._groups: list[tuple[int, dict[int, TableEntry]]] = []
            self._buckets: dict[tuple[int, int], list[TableEntry]] = {}
            self._scan: list[tuple[int, int, int, tuple[tuple[int, int, int], ...], TableEntry]]
            self._scan = []
            self.lookup = self._lookup_masks if not self._has_range else self._lookup_scan
        elif lpm:
            self._mode = "lpm"
            self._lpm_pos = lpm[0]
            self._single = len(self.keys) == 1
            width = self.keys[self._lpm_pos].bitwidth
            self._lpm_width = width
            self._levels_by_len: dict[int, dict[Any, TableEntry]] = {}
            self._levels: list[tuple[int, dict[Any, TableEntry]]] = []
            self.lookup = self._lookup_lpm_single if self._single else self._lookup_lpm
        else:
            self._mode = "exact"
            self._exact: dict[tuple[int, ...], TableEntry] = {}
            self.lookup = self._exact.get  # type: ignore[method-assign]

    # -- lookup --------------------------------------------------------------------------------

    def lookup(self, key: tuple[int, ...]) -> TableEntry | None:
        """The entry ``key`` hits, or ``None`` on a miss. (Rebound per table kind in
        ``__init__``; an exact table's lookup is its dict's ``get``.)"""
        raise NotImplementedError  # pragma: no cover

    def _lookup_lpm_single(self, key: tuple[int, ...]) -> TableEntry | None:
        v = key[0]
        for mask, d in self._levels:
            e = d.get(v & mask)
            if e is not None:
                return e
        return None

    def _lookup_lpm(self, key: tuple[int, ...]) -> TableEntry | None:
        pos = self._lpm_pos
        v = key[pos]
        rest = key[:pos] + key[pos + 1 :]
        for mask, d in self._levels:
            e = d.get((rest, v & mask))
            if e is not None:
                return e
        return None

    def _pack(self, key: tuple[int, ...]) -> int:
        k = 0
        for v, w, s in zip(key, self._widths, self._shifts):
            k |= (v & w) << s
        return k

    def _lookup_masks(self, key: tuple[int, ...]) -> TableEntry | None:
        k = 0
        for v, w, s in zip(key, self._widths, self._shifts):
            k |= (v & w) << s
        best = None
        for mask, d in self._groups:
            e = d.get(k & mask)
            if e is not None and (best is None or e.rank < best.rank):
                best = e
        return best

    def _lookup_scan(self, key: tuple[int, ...]) -> TableEntry | None:
        k = 0
        for v, w, s in zip(key, self._widths, self._shifts):
            k |= (v & w) << s
        for _rank, mask, value, ranges, entry in self._scan:
            if k & mask == value:
                for i, lo, hi in ranges:
                    if not lo <= key[i] <= hi:
                        break
                else:
                    return entry
        return None

    # -- writes --------------------------------------------------------------------------------

    def normalize(self, match: Sequence[Match]) -> tuple[Match, ...]:
        """``match`` checked against the key kinds and widths, values masked; raises
        :class:`ValueError` saying what is wrong."""
        if len(match) != len(self.keys):
            raise ValueError(
                f"table {self.name}: {len(match)} match fields given, the key has {len(self.keys)}"
            )
        return tuple(self._norm_one(k, m, w) for k, m, w in zip(self.keys, match, self._widths))

    def _norm_one(self, spec: KeySpec, m: Match, wmask: int) -> Match:
        kind = spec.match_kind
        where = f"table {self.name}, key {spec.name} ({kind}, {spec.bitwidth} bits)"
        if kind == "lpm":
            if isinstance(m, Exact):
                m = Lpm(m.value, spec.bitwidth)
            if not isinstance(m, Lpm):
                raise ValueError(f"{where}: expected an lpm match, got {m!r}")
            if not 0 <= m.prefix_len <= spec.bitwidth:
                raise ValueError(f"{where}: prefix length {m.prefix_len} out of range")
            pmask = wmask ^ (wmask >> m.prefix_len)
            return Lpm(m.value & pmask, m.prefix_len)
        if kind == "ternary":
            if isinstance(m, Exact):
                m = Ternary(m.value, wmask)
            if not isinstance(m, Ternary):
                raise ValueError(f"{where}: expected a ternary match, got {m!r}")
            mask = m.mask & wmask
            return Ternary(m.value & mask, mask)
        if kind == "range":
            if isinstance(m, Exact):
                m = Range(m.value, m.value)
            if not isinstance(m, Range):
                raise ValueError(f"{where}: expected a range match, got {m!r}")
            lo, hi = m.low & wmask, m.high & wmask
            if lo > hi:
                raise ValueError(f"{where}: empty range {lo}..{hi}")
            return Range(lo, hi)
        if kind == "optional":
            if isinstance(m, Exact):
                m = Optional(m.value)
            if not isinstance(m, Optional):
                raise ValueError(f"{where}: expected an optional match, got {m!r}")
            return m if m.value is None else Optional(m.value & wmask)
        if not isinstance(m, Exact):
            raise ValueError(f"{where}: expected an exact match, got {m!r}")
        return Exact(m.value & wmask)

    def add(self, entry: TableEntry) -> None:
        """Insert ``entry`` (its match normalised in place). Raises :class:`AlreadyExists`,
        :class:`TableFull`, :class:`ReadOnly` (the table's entries are const) or
        :class:`ValueError` (bad match or profile reference)."""
        if self.const_entries and not entry.is_const:
            raise ReadOnly(f"table {self.name} has const entries")
        self._insert(entry)

    def _insert(self, entry: TableEntry) -> None:
        entry.match = self.normalize(entry.match)
        if not self.needs_priority:
            entry.priority = 0
        ident = (entry.match, entry.priority)
        if ident in self._by_id:
            raise AlreadyExists(f"table {self.name}: entry {self._show(entry)} already exists")
        if len(self._by_id) >= self.size:
            raise TableFull(f"table {self.name} is full ({self.size} entries)")
        self._retain(entry.action)
        if self.direct_meter_unit is not None and entry.meter is None:
            now_us = self.clock.now_us() if self.clock is not None else 0
            entry.meter = Meter(self.direct_meter_unit, now_us)
        self._seq += 1
        entry.seq = self._seq
        entry.rank = (-entry.priority << 64) + entry.seq
        self._by_id[ident] = entry
        self._index(entry)

    def load_initial_entries(self, entries: Iterable[TableEntry], const: bool) -> None:
        """Install the program's ``entries`` (priorities already assigned, e.g. by
        :func:`initial_entry_priorities`). ``const`` makes the whole table read-only, as
        ``const entries`` does; otherwise each entry's own ``is_const`` flag counts. With a
        clock, the entries count as inserted now (idle time, meter token time)."""
        now_ns = self.clock.now_ns() if self.clock is not None else 0
        for e in entries:
            if const:
                e.is_const = True
            e.last_hit_ns = now_ns
            self._insert(e)
        if const:
            self.const_entries = True

    def get(self, match: Sequence[Match], priority: int = 0) -> TableEntry:
        """The entry with exactly this match (and priority); raises :class:`NotFound`."""
        ident = (self.normalize(match), priority if self.needs_priority else 0)
        e = self._by_id.get(ident)
        if e is None:
            raise NotFound(f"table {self.name}: no entry {self._show_match(ident[0])}")
        return e

    def modify(
        self, match: Sequence[Match], action: ActionCall | ProfileRef, priority: int = 0
    ) -> TableEntry:
        """Replace the action of the entry with this match (and priority)."""
        e = self.get(match, priority)
        if e.is_const:
            raise ReadOnly(f"table {self.name}: entry {self._show(e)} is const")
        self._retain(action)
        self._release(e.action)
        e.action = action
        return e

    def delete(self, match: Sequence[Match], priority: int = 0) -> TableEntry:
        """Remove and return the entry with this match (and priority)."""
        e = self.get(match, priority)
        if e.is_const:
            raise ReadOnly(f"table {self.name}: entry {self._show(e)} is const")
        del self._by_id[(e.match, e.priority)]
        self._unindex(e)
        self._release(e.action)
        return e

    def entries(self) -> list[TableEntry]:
        """Every entry, in insertion order."""
        return sorted(self._by_id.values(), key=lambda e: e.seq)

    def __len__(self) -> int:
        return len(self._by_id)

    def clear(self) -> None:
        """Remove every entry that is not const."""
        for e in list(self._by_id.values()):
            if not e.is_const:
                del self._by_id[(e.match, e.priority)]
                self._unindex(e)
                self._release(e.action)

    def set_default(self, action: ActionCall) -> None:
        """Change the default action; raises :class:`ReadOnly` if it is const."""
        if self.const_default:
            raise ReadOnly(f"table {self.name}: the default action is const")
        self.default_action = action

    def reset_default(self) -> None:
        """Back to the program's default action."""
        self.default_action = self.initial_default_action

    def expired(self, now_ns: int, *, report: bool = True) -> list[TableEntry]:
        """Entries with an idle timeout due a notification at ``now_ns``, in insertion order.

        An entry is due when neither a hit nor its last notification is as recent as its TTL:
        first one TTL after its last hit, then again after every further TTL without hits, as
        P4Runtime's idle-timeout notifications go. With ``report`` the notification time is
        recorded (the caller sends them); without, nothing changes."""
        out = []
        for e in self._by_id.values():
            if e.timeout_ns > 0 and now_ns - max(e.last_hit_ns, e.notified_ns) >= e.timeout_ns:
                out.append(e)
                if report:
                    e.notified_ns = now_ns
        out.sort(key=lambda e: e.seq)
        return out

    # -- index maintenance ---------------------------------------------------------------------

    def _index(self, e: TableEntry) -> None:
        if self._mode == "exact":
            self._exact[tuple(m.value for m in e.match)] = e  # type: ignore[union-attr]
        elif self._mode == "lpm":
            lpm = e.match[self._lpm_pos]
            assert isinstance(lpm, Lpm)
            d = self._levels_by_len.get(lpm.prefix_len)
            if d is None:
                d = self._levels_by_len[lpm.prefix_len] = {}
                self._rebuild_levels()
            d[self._lpm_key(e)] = e
        else:
            mask, value, ranges = self._compile(e)
            if self._has_range:
                scan = list(self._scan)
                insort(scan, (e.rank, mask, value, ranges, e), key=lambda t: t[0])
                self._scan = scan
            else:
                bucket = self._buckets.setdefault((mask, value), [])
                insort(bucket, e, key=lambda x: x.rank)
                self._set_best(mask, value, bucket)

    def _unindex(self, e: TableEntry) -> None:
        if self._mode == "exact":
            del self._exact[tuple(m.value for m in e.match)]  # type: ignore[union-attr]
        elif self._mode == "lpm":
            plen = e.match[self._lpm_pos].prefix_len  # type: ignore[union-attr]
            d = self._levels_by_len[plen]
            del d[self._lpm_key(e)]
            if not d:
                del self._levels_by_len[plen]
                self._rebuild_levels()
        else:
            if self._has_range:
                self._scan = [t for t in self._scan if t[4] is not e]
            else:
                mask, value, _ = self._compile(e)
                bucket = self._buckets[(mask, value)]
                bucket.remove(e)
                if not bucket:
                    del self._buckets[(mask, value)]
                self._set_best(mask, value, bucket)

    def _set_best(self, mask: int, value: int, bucket: list[TableEntry]) -> None:
        groups = {m: d for m, d in self._groups}
        d = groups.get(mask)
        if bucket:
            if d is None:
                d = {}
                groups[mask] = d
            d[value] = bucket[0]
        elif d is not None:
            d.pop(value, None)
            if not d:
                del groups[mask]
        # more specific masks first: on a tie in rank it does not matter, it only shortens
        # nothing, but a stable order keeps lookups deterministic
        self._groups = sorted(groups.items(), key=lambda t: -t[0].bit_count())

    def _rebuild_levels(self) -> None:
        w = self._lpm_width
        full = (1 << w) - 1
        self._levels = [
            (full ^ (full >> plen), d)
            for plen, d in sorted(self._levels_by_len.items(), reverse=True)
        ]

    def _lpm_key(self, e: TableEntry) -> Any:
        v = e.match[self._lpm_pos].value  # type: ignore[union-attr]
        if self._single:
            return v
        pos = self._lpm_pos
        rest = tuple(m.value for i, m in enumerate(e.match) if i != pos)  # type: ignore[union-attr]
        return (rest, v)

    def _compile(self, e: TableEntry) -> tuple[int, int, tuple[tuple[int, int, int], ...]]:
        mask = value = 0
        ranges = []
        for i, (m, s, w) in enumerate(zip(e.match, self._shifts, self._widths)):
            if isinstance(m, Exact):
                fm, fv = w, m.value
            elif isinstance(m, Ternary):
                fm, fv = m.mask, m.value
            elif isinstance(m, Lpm):
                fm = w ^ (w >> m.prefix_len)
                fv = m.value
            elif isinstance(m, Optional):
                fm, fv = (0, 0) if m.value is None else (w, m.value)
            else:  # Range
                fm = fv = 0
                if (m.low, m.high) != (0, w):
                    ranges.append((i, m.low, m.high))
            mask |= fm << s
            value |= fv << s
        return mask, value, tuple(ranges)

    # -- profiles ------------------------------------------------------------------------------

    def _retain(self, action: ActionCall | ProfileRef) -> None:
        if isinstance(action, ActionCall):
            if self.profile is not None:
                raise ValueError(f"table {self.name} is indirect: entries need a member or group")
            return
        if self.profile is None:
            raise ValueError(f"table {self.name} is direct: entries need an action")
        self.profile.retain(action)

    def _release(self, action: ActionCall | ProfileRef) -> None:
        if self.profile is not None and not isinstance(action, ActionCall):
            self.profile.release(action)

    # -- messages ------------------------------------------------------------------------------

    def _show(self, e: TableEntry) -> str:
        s = self._show_match(e.match)
        return f"{s} priority {e.priority}" if self.needs_priority else s

    def _show_match(self, match: Sequence[Match]) -> str:
        return "(" + ", ".join(_show_one(m) for m in match) + ")"


def _show_one(m: Match) -> str:
    if isinstance(m, Exact):
        return hex(m.value)
    if isinstance(m, Lpm):
        return f"{m.value:#x}/{m.prefix_len}"
    if isinstance(m, Ternary):
        return f"{m.value:#x}&&&{m.mask:#x}"
    if isinstance(m, Range):
        return f"{m.low:#x}..{m.high:#x}"
    return "*" if m.value is None else hex(m.value)
