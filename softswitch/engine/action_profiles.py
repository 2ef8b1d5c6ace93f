"""Action profiles and action selectors: members (shared actions) and groups of members.

An indirect table's entries hold a :class:`ProfileRef` to a member or, with a selector, a group;
the data path turns it into an action with :meth:`ActionProfile.resolve`, passing the selector's
hash over its ``selector`` key fields (computed by the caller with the selector's algorithm).

Member choice is BMv2's: a group's members are ordered by their member *handle* (BMv2 keeps
them in a sorted set of handles, lowest free handle from 0 given at creation), and the hash picks
``members[hash % len(members)]``. A member may carry a weight (P4Runtime's
``ActionProfileGroup.Member.weight``, BMv2 has none): a member of weight ``w`` counts ``w``
times, so the pick is ``hash % total_weight`` over the members laid out in handle order, each
``weight`` slots wide; with every weight 1 that is BMv2's choice. An empty group resolves to
``None``; the caller then runs the table's default action, as a miss. Members and groups have
control-plane ids (P4Runtime's ``member_id``/``group_id``, or the CLI's handles when ids are
not given); handles are internal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .tables import ActionCall, AlreadyExists, NotFound, TableError, TableFull

__all__ = ["ActionProfile", "InUse", "ProfileRef"]


class InUse(TableError):
    """A member or group is still referenced by a group or a table entry."""


@dataclass(frozen=True)
class ProfileRef:
    """A table entry's action in an indirect table: a member or a group (exactly one)."""

    member: int | None = None
    group: int | None = None

    def __post_init__(self) -> None:
        if (self.member is None) == (self.group is None):
            raise ValueError("a profile reference names either a member or a group")


@dataclass
class _Member:
    handle: int
    action: ActionCall
    refs: int = 0  # groups and entries using it


@dataclass
class _Group:
    members: dict[int, int] = field(default_factory=dict)  # member id -> weight
    # (actions by ascending member handle, their cumulative weights or None when every weight
    # is 1), replaced as one value so a lookup never sees half of a change
    pick: tuple[tuple[ActionCall, ...], tuple[int, ...] | None] = ((), None)
    refs: int = 0  # entries using it


GroupMembers = Iterable[int] | Mapping[int, int]
"""A group's members: member ids (weight 1 each) or a mapping of member id to weight."""


class ActionProfile:
    """An ``action_profile`` (``with_selector`` False) or ``action_selector`` instance."""

    def __init__(
        self, name: str, size: int = 1024, *, with_selector: bool = False, max_group_size: int = 0
    ) -> None:
        """``size`` members at most; ``max_group_size`` (0: no limit) bounds the sum of the
        weights in one group."""
        self.name = name
        self.size = size
        self.with_selector = with_selector
        self.max_group_size = max_group_size  # 0: no limit
        self._members: dict[int, _Member] = {}
        self._groups: dict[int, _Group] = {}
        self._free_handles: list[int] = []
        self._next_handle = 0

    # -- members -------------------------------------------------------------------------------

    def add_member(self, member_id: int | None, action: ActionCall) -> int:
        """Create a member; ``None`` picks the lowest free id (what the CLI prints). Returns it."""
        if member_id is None:
            member_id = 0
            while member_id in self._members:
                member_id += 1
        if member_id in self._members:
            raise AlreadyExists(f"action profile {self.name}: member {member_id} exists")
        if len(self._members) >= self.size:
            raise TableFull(f"action profile {self.name} is full ({self.size} members)")
        if self._free_handles:
            self._free_handles.sort()
            handle = self._free_handles.pop(0)
        else:
            handle = self._next_handle
            self._next_handle += 1
        self._members[member_id] = _Member(handle, action)
        return member_id

    def modify_member(self, member_id: int, action: ActionCall) -> None:
        """Change a member's action (groups holding it see the change)."""
        self._member(member_id).action = action
        for g in self._groups.values():
            if member_id in g.members:
                self._reorder(g)

    def delete_member(self, member_id: int) -> None:
        """Delete a member no group or entry uses."""
        m = self._member(member_id)
        if m.refs:
            raise InUse(f"action profile {self.name}: member {member_id} is in use")
        del self._members[member_id]
        self._free_handles.append(m.handle)

    def member(self, member_id: int) -> ActionCall:
        """A member's action."""
        return self._member(member_id).action

    def members(self) -> dict[int, ActionCall]:
        """Every member's action by id, ascending id."""
        return {i: self._members[i].action for i in sorted(self._members)}

    # -- groups --------------------------------------------------------------------------------

    def create_group(self, group_id: int | None = None, members: GroupMembers = ()) -> int:
        """Create a group (selectors only), optionally with members (ids, or id -> weight);
        returns its id."""
        if not self.with_selector:
            raise ValueError(f"action profile {self.name} has no selector: no groups")
        if group_id is None:
            group_id = 0
            while group_id in self._groups:
                group_id += 1
        if group_id in self._groups:
            raise AlreadyExists(f"action profile {self.name}: group {group_id} exists")
        self._groups[group_id] = _Group()
        try:
            self.set_group_members(group_id, members)
        except Exception:
            del self._groups[group_id]
            raise
        return group_id

    def set_group_members(self, group_id: int, members: GroupMembers) -> None:
        """Replace a group's members (P4Runtime's group MODIFY): member ids, each of weight 1,
        or a mapping of member id to weight (an integer >= 1)."""
        g = self._group(group_id)
        where = f"action profile {self.name}: group {group_id}"
        if isinstance(members, Mapping):
            new = dict(members)
        else:
            ids = list(members)
            new = dict.fromkeys(ids, 1)
            if len(new) != len(ids):
                raise ValueError(f"{where}: duplicate member")
        for mid, weight in new.items():
            self._member(mid)
            if not isinstance(weight, int) or weight < 1:
                raise ValueError(f"{where}: member {mid}: weight must be >= 1, got {weight!r}")
        if self.max_group_size and sum(new.values()) > self.max_group_size:
            raise TableFull(f"{where} may hold a total weight of {self.max_group_size}")
        for mid in g.members:
            self._members[mid].refs -= 1
        g.members = new
        for mid in new:
            self._members[mid].refs += 1
        self._reorder(g)

    def add_to_group(self, group_id: int, member_id: int, weight: int = 1) -> None:
        """Add a member (of ``weight``) to a group."""
        g = self._group(group_id)
        if member_id in g.members:
            raise AlreadyExists(f"member {member_id} is already in group {group_id}")
        self.set_group_members(group_id, {**g.members, member_id: weight})

    def remove_from_group(self, group_id: int, member_id: int) -> None:
        """Remove a member from a group."""
        g = self._group(group_id)
        if member_id not in g.members:
            raise NotFound(f"member {member_id} is not in group {group_id}")
        self.set_group_members(group_id, {m: w for m, w in g.members.items() if m != member_id})

    def delete_group(self, group_id: int) -> None:
        """Delete a group no entry uses (its members stay)."""
        g = self._group(group_id)
        if g.refs:
            raise InUse(f"action profile {self.name}: group {group_id} is in use")
        for mid in g.members:
            self._members[mid].refs -= 1
        del self._groups[group_id]

    def group_members(self, group_id: int) -> list[int]:
        """A group's member ids in selection order (ascending handle)."""
        g = self._group(group_id)
        return sorted(g.members, key=lambda m: self._members[m].handle)

    def group_weights(self, group_id: int) -> dict[int, int]:
        """A group's members with their weights, in selection order."""
        g = self._group(group_id)
        return {m: g.members[m] for m in self.group_members(group_id)}

    def groups(self) -> dict[int, list[int]]:
        """Every group's members by group id."""
        return {i: self.group_members(i) for i in sorted(self._groups)}

    # -- data path -----------------------------------------------------------------------------

    def select(self, group_id: int, hash_value: int) -> ActionCall | None:
        """The action of the member ``hash_value`` picks (BMv2: ``hash % size``; with weights
        ``hash % total_weight``, a member ``weight`` slots wide), ``None`` if the group is
        empty."""
        ordered, bounds = self._groups[group_id].pick
        if not ordered:
            return None
        if bounds is None:
            return ordered[hash_value % len(ordered)]
        return ordered[bisect_right(bounds, hash_value % bounds[-1])]

    def resolve(self, ref: ProfileRef, hash_value: int = 0) -> ActionCall | None:
        """The action a table entry's reference stands for."""
        if ref.member is not None:
            return self._members[ref.member].action
        return self.select(ref.group, hash_value)  # type: ignore[arg-type]

    # -- reference counting by tables ----------------------------------------------------------

    def retain(self, ref: ProfileRef) -> None:
        """A table entry starts using ``ref``; raises :class:`ValueError` if it does not exist."""
        if ref.member is not None:
            if ref.member not in self._members:
                raise ValueError(f"action profile {self.name}: no member {ref.member}")
            self._members[ref.member].refs += 1
        else:
            if ref.group not in self._groups:
                raise ValueError(f"action profile {self.name}: no group {ref.group}")
            self._groups[ref.group].refs += 1  # type: ignore[index]

    def release(self, ref: ProfileRef) -> None:
        """A table entry stops using ``ref``."""
        if ref.member is not None:
            if ref.member in self._members:
                self._members[ref.member].refs -= 1
        elif ref.group in self._groups:
            self._groups[ref.group].refs -= 1  # type: ignore[index]

    # -- internals -----------------------------------------------------------------------------

    def _member(self, member_id: int) -> _Member:
        m = self._members.get(member_id)
        if m is None:
            raise NotFound(f"action profile {self.name}: no member {member_id}")
        return m

    def _group(self, group_id: int) -> _Group:
        g = self._groups.get(group_id)
        if g is None:
            raise NotFound(f"action profile {self.name}: no group {group_id}")
        return g

    def _reorder(self, g: _Group) -> None:
        ids = sorted(g.members, key=lambda i: self._members[i].handle)
        ordered = tuple(self._members[i].action for i in ids)
        bounds = None
        if any(g.members[i] != 1 for i in ids):
            total = 0
            cumulative = []
            for i in ids:
                total += g.members[i]
                cumulative.append(total)
            bounds = tuple(cumulative)
        g.pick = (ordered, bounds)
