"""Match tables: match kinds, priorities, defaults, const entries, profiles, idle timeouts."""

from __future__ import annotations

import pytest

from softswitch.engine.action_profiles import ActionProfile, InUse, ProfileRef
from softswitch.engine.tables import (
    ActionCall,
    AlreadyExists,
    Exact,
    KeySpec,
    Lpm,
    MatchTable,
    NotFound,
    Optional,
    Range,
    ReadOnly,
    TableEntry,
    TableFull,
    Ternary,
    initial_entry_priorities,
)

A = ActionCall("a")
B = ActionCall("b")
C = ActionCall("c")


def hit(t: MatchTable, *key: int) -> str | None:
    e = t.lookup(tuple(key))
    return None if e is None else e.action.name


def test_exact_lookup_is_the_dict_get_and_masks_values() -> None:
    t = MatchTable("t", [KeySpec("h.a", "exact", 8), KeySpec("h.b", "exact", 16)])
    t.add(TableEntry((Exact(0x1FF), Exact(2)), A))  # 0x1ff masked to 8 bits
    assert hit(t, 0xFF, 2) == "a"
    assert hit(t, 0xFF, 3) is None
    assert t.lookup.__self__ is t._exact  # a single dict get, no Python frame


def test_duplicate_full_and_bad_match_errors() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)], size=2)
    t.add(TableEntry((Exact(1),), A))
    with pytest.raises(AlreadyExists) as ei:
        t.add(TableEntry((Exact(1),), B))
    assert isinstance(ei.value, KeyError) and "already exists" in str(ei.value)
    t.add(TableEntry((Exact(2),), B))
    with pytest.raises(TableFull):
        t.add(TableEntry((Exact(3),), B))
    with pytest.raises(ValueError, match="expected an exact match"):
        t.add(TableEntry((Ternary(1, 1),), B))
    with pytest.raises(ValueError, match="1 match fields given, the key has"):
        MatchTable("u", [KeySpec("k", "exact", 8)] * 2).add(TableEntry((Exact(1),), A))


def test_modify_delete_clear_entries() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)])
    t.add(TableEntry((Exact(1),), A))
    t.add(TableEntry((Exact(2),), B))
    t.modify((Exact(1),), C)
    assert hit(t, 1) == "c"
    assert t.delete((Exact(2),)).action == B
    assert hit(t, 2) is None
    with pytest.raises(NotFound):
        t.delete((Exact(2),))
    assert [e.action for e in t.entries()] == [C]
    t.clear()
    assert len(t) == 0 and hit(t, 1) is None


def test_lpm_longest_prefix_wins_regardless_of_order() -> None:
    t = MatchTable("t", [KeySpec("dst", "lpm", 32)])
    t.add(TableEntry((Lpm(0x0A000000, 8),), A))
    t.add(TableEntry((Lpm(0x0A010203, 32),), C))
    t.add(TableEntry((Lpm(0x0A01FFFF, 16),), B))  # host bits beyond the prefix are ignored
    t.add(TableEntry((Lpm(0, 0),), ActionCall("dflt")))
    assert hit(t, 0x0A010203) == "c"
    assert hit(t, 0x0A010204) == "b"
    assert hit(t, 0x0A020000) == "a"
    assert hit(t, 0x0B000000) == "dflt"
    with pytest.raises(AlreadyExists):
        t.add(TableEntry((Lpm(0x0A010000, 16),), A))
    t.delete((Lpm(0x0A010000, 16),))
    assert hit(t, 0x0A010204) == "a"
    with pytest.raises(ValueError, match="prefix length 33"):
        t.add(TableEntry((Lpm(0, 33),), A))


def test_lpm_with_exact_fields() -> None:
    t = MatchTable("t", [KeySpec("vrf", "exact", 4), KeySpec("dst", "lpm", 8)])
    t.add(TableEntry((Exact(1), Lpm(0x80, 1)), A))
    t.add(TableEntry((Exact(2), Lpm(0xC0, 2)), B))
    assert hit(t, 1, 0xC1) == "a"
    assert hit(t, 2, 0xC1) == "b"
    assert hit(t, 2, 0x81) is None


def test_ternary_larger_priority_wins_ties_go_to_first_added() -> None:
    t = MatchTable("t", [KeySpec("k", "ternary", 16)])
    t.add(TableEntry((Ternary(0x0100, 0xFF00),), A, priority=1))
    t.add(TableEntry((Ternary(0x0101, 0xFFFF),), B, priority=5))
    t.add(TableEntry((Ternary(0x0001, 0x00FF),), C, priority=5))
    assert hit(t, 0x0101) == "b"  # b and c tie at 5: b came first
    assert hit(t, 0x0102) == "a"
    assert hit(t, 0x0201) == "c"
    assert hit(t, 0x0202) is None
    # same match, other priority: a different entry; same both: a duplicate
    t.add(TableEntry((Ternary(0x0100, 0xFF00),), ActionCall("d"), priority=9))
    assert hit(t, 0x0102) == "d"
    with pytest.raises(AlreadyExists):
        t.add(TableEntry((Ternary(0x0100, 0xFF00),), A, priority=9))
    t.delete((Ternary(0x0100, 0xFF00),), priority=9)
    assert hit(t, 0x0102) == "a"


def test_ternary_value_is_masked_so_equal_entries_collide() -> None:
    t = MatchTable("t", [KeySpec("k", "ternary", 8)])
    t.add(TableEntry((Ternary(0x12, 0xF0),), A, priority=1))
    with pytest.raises(AlreadyExists):
        t.add(TableEntry((Ternary(0x1F, 0xF0),), A, priority=1))
    # an exact value in a ternary key means a full mask
    t.add(TableEntry((Exact(0x33),), B, priority=2))
    assert t.entries()[1].match == (Ternary(0x33, 0xFF),)


def test_range_and_optional_with_priorities() -> None:
    t = MatchTable(
        "t",
        [KeySpec("port", "range", 16), KeySpec("proto", "optional", 8)],
    )
    t.add(TableEntry((Range(1000, 2000), Optional(6)), A, priority=10))
    t.add(TableEntry((Range(0, 0xFFFF), Optional(None)), B, priority=1))
    t.add(TableEntry((Range(1500, 1500), Optional(None)), C, priority=20))
    assert hit(t, 1200, 6) == "a"
    assert hit(t, 1200, 17) == "b"
    assert hit(t, 1500, 6) == "c"
    assert hit(t, 3000, 6) == "b"
    with pytest.raises(ValueError, match="empty range"):
        t.add(TableEntry((Range(5, 4), Optional(None)), A, priority=3))


def test_lpm_mixed_with_ternary_is_ranked_by_priority_not_prefix() -> None:
    t = MatchTable("t", [KeySpec("dst", "lpm", 8), KeySpec("f", "ternary", 8)])
    t.add(TableEntry((Lpm(0x80, 1), Ternary(0, 0)), A, priority=10))
    t.add(TableEntry((Lpm(0xC0, 2), Ternary(0, 0)), B, priority=1))
    assert hit(t, 0xC5, 0) == "a"
    assert hit(t, 0x45, 0) is None


def test_entries_without_priority_in_exact_and_lpm_tables_have_zero() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)])
    t.add(TableEntry((Exact(1),), A, priority=7))
    assert t.entries()[0].priority == 0
    assert not t.needs_priority
    t.modify((Exact(1),), B, priority=123)  # ignored where priorities do not exist


def test_default_action_and_const_default() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)], default_action=A)
    assert t.default_action == A
    t.set_default(B)
    assert t.default_action == B
    t.reset_default()
    assert t.default_action == A
    c = MatchTable("c", [KeySpec("k", "exact", 8)], default_action=A, const_default=True)
    with pytest.raises(ReadOnly):
        c.set_default(B)
    assert MatchTable("n", []).default_action == ActionCall("NoAction")


def test_const_entries_are_read_only() -> None:
    t = MatchTable("t", [KeySpec("k", "ternary", 8)])
    prios = initial_entry_priorities([None, None, None])
    t.load_initial_entries(
        [
            TableEntry((Ternary(1, 0x0F),), A, priority=prios[0]),
            TableEntry((Ternary(0, 0),), B, priority=prios[1]),
            TableEntry((Ternary(1, 0xFF),), C, priority=prios[2]),
        ],
        const=True,
    )
    assert hit(t, 0x01) == "a"  # listed first wins
    assert hit(t, 0x02) == "b"
    with pytest.raises(ReadOnly):
        t.add(TableEntry((Ternary(5, 0xFF),), A, priority=100))
    with pytest.raises(ReadOnly):
        t.delete((Ternary(0, 0),), priority=prios[1])
    with pytest.raises(ReadOnly):
        t.modify((Ternary(0, 0),), C, priority=prios[1])
    t.clear()
    assert len(t) == 3


def test_initial_entry_priorities_follow_the_spec() -> None:
    assert initial_entry_priorities([None, None, None]) == [3, 2, 1]
    # largest_priority_wins = false, priority_delta = 10: 10, 20, 30, 40, 40, 50 in the spec's
    # numbers (smaller wins), turned into positive "larger wins" numbers, order and ties kept
    got = initial_entry_priorities([10, None, None, None, 40, None], False, 10)
    assert got == [41, 31, 21, 11, 11, 1]
    assert initial_entry_priorities([None, None, None], True, 10) == [21, 11, 1]
    assert initial_entry_priorities([None, None], False, 10) == [11, 1]
    assert initial_entry_priorities([100, None, 7, None], True, 5) == [100, 95, 7, 2]
    # a priority below 1 (allowed by the language, not by P4Runtime) shifts them all
    assert initial_entry_priorities([2, None, None], True, 1) == [3, 2, 1]
    assert initial_entry_priorities([1, None, None], True, 1) == [3, 2, 1]
    assert initial_entry_priorities([0, None], False, 1) == [2, 1]
    with pytest.raises(ValueError, match="first entry must have a priority"):
        initial_entry_priorities([None, 100, None])


def test_non_const_initial_entries_can_be_changed() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)])
    t.load_initial_entries([TableEntry((Exact(1),), A)], const=False)
    t.modify((Exact(1),), B)
    t.add(TableEntry((Exact(2),), C))
    assert hit(t, 1) == "b" and hit(t, 2) == "c"


def test_idle_timeout_expiry_is_reported_again_after_every_further_ttl() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)])
    t.add(TableEntry((Exact(1),), A, timeout_ns=1000, last_hit_ns=0))
    t.add(TableEntry((Exact(2),), B, timeout_ns=5000, last_hit_ns=0))
    t.add(TableEntry((Exact(3),), C))  # no timeout
    assert t.expired(999) == []
    assert [e.action for e in t.expired(1000)] == [A]
    assert t.expired(1500) == []  # reported at 1000: not again within a TTL
    assert t.expired(1999, report=False) == []
    assert [e.action for e in t.expired(2000, report=False)] == [A]  # due, not recorded
    assert [e.action for e in t.expired(2100)] == [A]  # a TTL after the last notification
    t.lookup((1,)).touch(2500)
    assert t.expired(3000) == []
    assert [e.action for e in t.expired(3500)] == [A]  # a TTL after the hit
    assert [e.action for e in t.expired(6000)] == [A, B]
    assert t.lookup((1,)).last_hit_ns == 2500  # notifications are not hits


def test_direct_counter_slots() -> None:
    t = MatchTable("t", [KeySpec("k", "exact", 8)])
    t.add(TableEntry((Exact(1),), A))
    e = t.lookup((1,))
    e.count(64)
    e.count(100)
    assert (e.packets, e.bytes) == (2, 164)


def test_action_profile_members_and_selector_choice() -> None:
    sel = ActionProfile("sel", with_selector=True)
    m_a = sel.add_member(10, A)
    m_b = sel.add_member(20, B)
    m_c = sel.add_member(5, C)  # created last: highest handle, so last in selection order
    g = sel.create_group(1, [m_c, m_a, m_b])
    assert sel.group_members(g) == [10, 20, 5]
    assert [sel.select(g, h).name for h in range(6)] == ["a", "b", "c", "a", "b", "c"]
    sel.remove_from_group(g, 20)
    assert sel.select(g, 1) == C
    sel.create_group(2)
    assert sel.select(2, 7) is None  # empty group: the caller runs the default action
    with pytest.raises(InUse):
        sel.delete_member(10)


def test_member_weights_count_in_the_selection() -> None:
    sel = ActionProfile("sel", with_selector=True, max_group_size=6)
    for mid, action in ((10, A), (20, B), (5, C)):
        sel.add_member(mid, action)
    sel.create_group(1, {5: 2, 10: 1, 20: 3})  # selection order: handles 10, 20, 5
    assert sel.group_weights(1) == {10: 1, 20: 3, 5: 2}
    assert sel.groups() == {1: [10, 20, 5]}
    # hash % 6: slot 0 is a, 1..3 are b, 4..5 are c
    assert "".join(sel.select(1, h).name for h in range(12)) == "abbbccabbbcc"
    with pytest.raises(TableFull):
        sel.set_group_members(1, {5: 2, 10: 2, 20: 3})  # total weight 7 > 6
    with pytest.raises(ValueError, match="weight must be >= 1"):
        sel.set_group_members(1, {10: 0})
    assert "".join(sel.select(1, h).name for h in range(6)) == "abbbcc"  # unchanged
    sel.set_group_members(1, [10, 20])  # plain ids: weight 1 each, BMv2's choice
    assert sel.group_weights(1) == {10: 1, 20: 1}
    assert [sel.select(1, h) for h in range(3)] == [A, B, A]
    sel.remove_from_group(1, 10)
    sel.add_to_group(1, 5, weight=2)
    assert "".join(sel.select(1, h).name for h in range(3)) == "bcc"
    with pytest.raises(InUse):
        sel.delete_member(5)


def test_indirect_table_entries_reference_members_and_groups() -> None:
    prof = ActionProfile("ap", with_selector=True)
    prof.add_member(1, A)
    prof.add_member(2, B)
    prof.create_group(7, [1, 2])
    t = MatchTable("t", [KeySpec("k", "exact", 8)], profile=prof)
    t.add(TableEntry((Exact(1),), ProfileRef(member=2)))
    t.add(TableEntry((Exact(2),), ProfileRef(group=7)))
    with pytest.raises(ValueError, match="no member 9"):
        t.add(TableEntry((Exact(3),), ProfileRef(member=9)))
    with pytest.raises(ValueError, match="indirect"):
        t.add(TableEntry((Exact(3),), A))
    assert prof.resolve(t.lookup((1,)).action) == B
    assert prof.resolve(t.lookup((2,)).action, hash_value=3) == B
    with pytest.raises(InUse):
        prof.delete_group(7)
    t.delete((Exact(2),))
    prof.delete_group(7)
    prof.delete_member(1)
    with pytest.raises(InUse):
        prof.delete_member(2)  # the entry for key 1 still uses it


def test_member_handles_are_reused_lowest_first() -> None:
    sel = ActionProfile("sel", with_selector=True)
    for i in range(3):
        sel.add_member(i, ActionCall(f"m{i}"))
    sel.delete_member(0)
    sel.add_member(9, ActionCall("m9"))  # takes handle 0: first in selection order
    sel.create_group(0, [1, 2, 9])
    assert sel.group_members(0) == [9, 1, 2]


def test_many_ternary_entries_with_few_masks() -> None:
    t = MatchTable("t", [KeySpec("a", "ternary", 16), KeySpec("b", "exact", 8)])
    for i in range(500):
        t.add(TableEntry((Ternary(i, 0xFFFF), Exact(i & 0xFF)), ActionCall(f"x{i}"), priority=2))
    t.add(TableEntry((Ternary(0, 0), Exact(7)), ActionCall("wild"), priority=1))
    assert hit(t, 300, 300 & 0xFF) == "x300"
    assert hit(t, 301, 7) == "wild"
    assert len(t._groups) == 2


def test_at_priority_annotations_rank_smaller_first_as_p4c_bmv2() -> None:
    # three const entries, @priority(3), none, @priority(1): the third wins, then the second
    got = initial_entry_priorities([None, None, None], at_priority=[3, None, 1])
    assert got == [1, 2, 3]  # positive, larger wins, as P4Runtime reads them
    t = MatchTable("t", [KeySpec("k", "ternary", 16)])
    t.load_initial_entries(
        [
            TableEntry((Ternary(0x1111, 0xF),), A, priority=got[0]),
            TableEntry((Ternary(0x1181, 0xFFFF),), B, priority=got[1]),
            TableEntry((Ternary(0x1181, 0xF00F),), C, priority=got[2]),
        ],
        const=True,
    )
    assert hit(t, 0x1001) == "c"
    assert hit(t, 0x1181) == "c"
    assert hit(t, 0x0001) == "a"
