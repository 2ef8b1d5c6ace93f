"""P4Runtime ids and aliases, assigned the way p4c assigns them.

A P4Info object id is ``[8-bit resource prefix][24-bit value]``. The value comes from an ``@id``
annotation when the program gives one (the prefix is added when the annotation leaves the top byte
clear), otherwise from Bob Jenkins' one-at-a-time hash of the object's fully qualified name. Names
are hashed in sorted order per resource kind and a collision is resolved by incrementing the 32-bit
hash value (not the id) until the resulting id is free, so the result does not depend on the order
in which objects were found. Every symbol of every kind also feeds one suffix set, from which each
object's alias (its shortest unique dot-separated suffix) is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# p4.config.v1.P4Ids.Prefix values.
ACTION = 0x01
TABLE = 0x02
VALUE_SET = 0x03
CONTROLLER_HEADER = 0x04
ACTION_PROFILE = 0x11
COUNTER = 0x12
DIRECT_COUNTER = 0x13
METER = 0x14
DIRECT_METER = 0x15
REGISTER = 0x16
DIGEST = 0x17

_MASK32 = 0xFFFFFFFF


def jenkins_one_at_a_time(data: bytes) -> int:
    """Bob Jenkins' one-at-a-time hash of ``data`` as an unsigned 32-bit value."""
    h = 0
    for byte in data:
        h = (h + byte) & _MASK32
        h = (h + (h << 10)) & _MASK32
        h ^= h >> 6
    h = (h + (h << 3)) & _MASK32
    h ^= h >> 11
    h = (h + (h << 15)) & _MASK32
    return h


def hashed_id(prefix: int, name: str) -> int:
    """The id an object called ``name`` gets when nothing collides with it."""
    return (prefix << 24) | (jenkins_one_at_a_time(name.encode()) & 0xFFFFFF)


class IdError(ValueError):
    """An ``@id`` that cannot be used (wrong prefix, zero, used twice)."""


def with_prefix(prefix: int, user_id: int) -> int:
    """Apply p4c's rule to an ``@id`` value: keep a correct prefix, add a missing one."""
    top = user_id & 0xFF000000
    if top and top != prefix << 24:
        raise IdError(f"@id {user_id:#x} has the wrong 8-bit prefix for this kind of object")
    return user_id | (prefix << 24)


class SuffixSet:
    """Dot-separated names, for computing each one's shortest unique suffix (its alias)."""

    def __init__(self) -> None:
        self._symbols: set[str] = set()
        # Each node is [count, children]; the tree runs from the last component backwards.
        self._root: list = [0, {}]

    def add(self, symbol: str) -> None:
        """Add ``symbol`` (adding the same name twice has no effect)."""
        if symbol in self._symbols:
            return
        self._symbols.add(symbol)
        node = self._root
        for comp in reversed(symbol.split(".")):
            child = node[1].get(comp)
            if child is None:
                child = [0, {}]
                node[1][comp] = child
            child[0] += 1
            node = child

    def shortest_unique_suffix(self, symbol: str) -> str:
        """The fewest trailing components of ``symbol`` that no other symbol ends with."""
        comps = symbol.split(".")
        node = self._root
        needed = 0
        for comp in reversed(comps):
            child = node[1].get(comp)
            if child is None:
                raise KeyError(f"symbol {symbol!r} is not in the suffix set")
            node = child
            needed += 1
            if node[0] < 2:
                break
        return ".".join(comps[len(comps) - needed :])


@dataclass
class SymbolTable:
    """Control-plane symbols per resource kind; ids are assigned by :meth:`assign_ids`.

    Use it in two phases as p4c does: :meth:`add` every symbol, call :meth:`assign_ids` once,
    then read ids with :meth:`id` and aliases with :meth:`alias`.
    """

    tables: dict[int, dict[str, int | None]] = field(default_factory=dict)
    assigned: set[int] = field(default_factory=set)
    suffixes: SuffixSet = field(default_factory=SuffixSet)
    errors: list[str] = field(default_factory=list)

    def add(self, prefix: int, name: str, user_id: int | None = None) -> None:
        """Record a symbol of kind ``prefix``; the first addition of a name wins."""
        table = self.tables.setdefault(prefix, {})
        if name in table:
            return
        chosen: int | None = None
        if user_id is not None:
            try:
                full = with_prefix(prefix, user_id)
            except IdError as exc:
                self.errors.append(f"{name}: {exc}")
                full = None
            if full is not None:
                if full in self.assigned:
                    self.errors.append(f"@id {full} is assigned to multiple declarations")
                else:
                    self.assigned.add(full)
                    chosen = full
        table[name] = chosen
        self.suffixes.add(name)

    def assign_ids(self) -> None:
        """Give every symbol without an ``@id`` its hashed id, kinds in prefix order."""
        for prefix in sorted(self.tables):
            table = self.tables[prefix]
            for name in sorted(n for n, v in table.items() if v is None):
                value = jenkins_one_at_a_time(name.encode())
                start = value
                while True:
                    ident = (prefix << 24) | (value & 0xFFFFFF)
                    if ident not in self.assigned:
                        break
                    value = (value + 1) & _MASK32
                    if value == start:
                        raise IdError(f"no id left for {name}")
                self.assigned.add(ident)
                table[name] = ident

    def id(self, prefix: int, name: str) -> int:
        """The id of symbol ``name`` of kind ``prefix``."""
        ident = self.tables[prefix][name]
        if ident is None:
            raise KeyError(f"id of {name} read before assign_ids()")
        return ident

    def has(self, prefix: int, name: str) -> bool:
        """Whether ``name`` was added as a symbol of kind ``prefix``."""
        return name in self.tables.get(prefix, {})

    def alias(self, name: str) -> str:
        """The shortest unique suffix of ``name`` among all symbols."""
        return self.suffixes.shortest_unique_suffix(name)


class FieldIds:
    """Ids of match fields, action parameters and packet-metadata fields (p4c's rule).

    ``user`` holds each item's ``@id`` (or None) in order. Items with an ``@id`` keep it; the
    others get a running index starting at 1 that advances past every item (with or without an
    ``@id``) and skips values already taken.
    """

    def __init__(self, user: list[int | None]):
        taken: set[int] = {u for u in user if u is not None}
        ids: list[int] = [0] * len(user)
        index = 1
        for i, u in enumerate(user):
            if u is not None:
                ids[i] = u
                index += 1
                continue
            while index in taken:
                index += 1
            ids[i] = index
            taken.add(index)
        self.ids = ids

    def __getitem__(self, i: int) -> int:
        return self.ids[i]
