"""Rules p4c enforces after type checking (its mid end, the BMv2 back end, P4Info generation and
late front-end passes): each one rejects with a located error and leaves the legal neighbours
alone."""

from __future__ import annotations

import os

import pytest

from softswitch.frontend.compiler import compile_text
from softswitch.frontend.errors import CompileError, CompileErrors

V1_HEAD = """
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<8> c; bit<16> d; }
struct inner_t { bit<8> x; }
struct meta_t { bit<8> m; inner_t inner; }
struct headers_t { h_t h; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
"""

V1_TAIL = """
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control C(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), C(), D()) main;
"""


def v1(ingress: str, before: str = "") -> str:
    """A v1model program whose ingress control ``I`` has the body ``ingress``; ``before`` goes
    between the parser and the ingress control. The ingress starts on line 11 (+ ``before``)."""
    return (
        V1_HEAD
        + before
        + "control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {\n"
        + ingress
        + "\n}\n"
        + V1_TAIL
    )


def errors(src: str, name: str = "t.p4", **kw) -> list[str]:
    with pytest.raises((CompileError, CompileErrors)) as info:
        compile_text(src, name, **kw)
    exc = info.value
    errs = exc.errors if isinstance(exc, CompileErrors) else [exc]
    return [f"{e.loc}: {e.message}" for e in errs]


def ok(src: str, name: str = "t.p4") -> None:
    compile_text(src, name)


def line_of(src: str, needle: str, nth: int = 0) -> int:
    lines = [i + 1 for i, text in enumerate(src.splitlines()) if needle in text]
    return lines[nth]


def col_of(src: str, needle: str, nth: int = 0) -> str:
    """``line:col`` (1-based) of the ``nth`` occurrence of ``needle`` in ``src``."""
    pos = -1
    for _ in range(nth + 1):
        pos = src.index(needle, pos + 1)
    line = src.count("\n", 0, pos) + 1
    col = pos - (src.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


# ---------------------------------------------------------------- duplicate control-plane names


def test_two_actions_with_the_same_absolute_name():
    src = v1("""
    @name(".foo") action a1() { }
    @name(".foo") action a2() { }
    table t { key = { hdr.h.a : exact; } actions = { a1; a2; } }
    apply { t.apply(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'a2()')}: a2: conflicting control plane name: foo"
        f" (also the name of action a1 at t.p4:{col_of(src, 'a1()')})"
    ]


def test_local_action_named_like_a_global_one():
    src = v1("""
    @name(".g") action local_g() { }
    table t { key = { hdr.h.a : exact; } actions = { g; local_g; } }
    apply { t.apply(); }""", before="action g() { }\n")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'local_g()')}: local_g: conflicting control plane name: g"
        f" (also the name of action g at t.p4:{col_of(src, 'g()')})"
    ]


def test_same_local_name_in_two_controls_is_an_error_only_when_absolute():
    ingress = """
    @name("{n}") action drop() {{ mark_to_drop(sm); }}
    table t {{ key = {{ hdr.h.a : exact; }} actions = {{ drop; }} }}
    apply {{ t.apply(); }}"""
    egress = "control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {"
    src = v1(ingress.format(n="drop")).replace(
        egress + " apply { } }", egress + ingress.format(n="drop") + "}")
    ok(src)  # I.drop and E.drop
    src = v1(ingress.format(n=".drop")).replace(
        egress + " apply { } }", egress + ingress.format(n=".drop") + "}")
    err = errors(src)
    assert len(err) == 1
    assert err[0].startswith(f"t.p4:{col_of(src, 'drop()', 1)}: drop: conflicting control plane"
                             " name: drop")


def test_global_action_shared_by_two_tables_is_one_action():
    ok(v1("""
    table t1 { key = { hdr.h.a : exact; } actions = { g; } }
    table t2 { key = { hdr.h.b : exact; } actions = { g; } }
    apply { t1.apply(); t2.apply(); }""", before="@name(\".gg\") action g() { }\n"))


# ---------------------------------------------------------------------------------- @pkginfo


def test_pkginfo_needs_key_value_pairs():
    src = "#include <core.p4>\n@pkginfo\nconst bit<8> x = 1;\n"
    assert errors(src) == [
        't.p4:2:1: @pkginfo expects a list of key=value pairs, as in @pkginfo(name="prog",'
        ' version="1.0")'
    ]
    src = "#include <core.p4>\n@pkginfo(\"x\")\nconst bit<8> x = 1;\n"
    assert errors(src)[0].startswith("t.p4:2:1: @pkginfo expects")
    ok('#include <core.p4>\n@pkginfo(name="p", version="1")\nconst bit<8> x = 1;\n')


# ------------------------------------------------------------------------------------ @length


def test_length_cannot_use_a_later_field():
    src = """#include <core.p4>
header H {
    bit<32> len;
    @length(len) varbit<64> a;
    @length(later) varbit<64> b;
    bit<32> later;
}
"""
    assert errors(src) == [
        "t.p4:5:13: later: declaration not found (fields can only be used after their"
        " declaration)"
    ]


def test_length_names_must_exist():
    src = "#include <core.p4>\nheader H {\n    @length(nowhere) varbit<64> b;\n}\n"
    assert errors(src) == ["t.p4:3:13: nowhere: declaration not found"]


# -------------------------------------------------------------------------- entry priorities


def test_priority_overflow_going_down():
    src = v1("""
    action a(bit<8> v) { hdr.h.c = v; }
    table t {
        key = { hdr.h.a : exact; hdr.h.b : ternary; }
        actions = { a; }
        priority_delta = 10;
        entries = {
            priority=12: (1, 1 &&& 0xF) : a(1);
                         (2, 2) : a(2);
                         (3, 3) : a(3);
        }
    }
    apply { t.apply(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, '(2, 2)')}: table t: overflow in priority computation: the priority"
        " after this entry's (2) would be 2 - 10 (priority_delta) = -8, outside the range of"
        " priorities"
    ]


def test_priorities_that_fit_are_accepted():
    ok(v1("""
    action a(bit<8> v) { hdr.h.c = v; }
    table t {
        key = { hdr.h.a : exact; hdr.h.b : ternary; }
        actions = { a; }
        priority_delta = 10;
        entries = {
            priority=30: (1, 1 &&& 0xF) : a(1);
                         (2, 2) : a(2);
                         (3, 3) : a(3);
        }
    }
    table u {
        key = { hdr.h.a : ternary; }
        actions = { a; }
        largest_priority_wins = false;
        entries = { priority=0: 1 : a(1); 2 : a(2); }
    }
    apply { t.apply(); u.apply(); }"""))


# ------------------------------------------------------------------------ duplicate entries


def test_duplicate_entry_keys():
    src = v1("""
    action a(bit<8> v) { hdr.h.c = v; }
    table t {
        key = { hdr.h.a : exact; }
        actions = { a; }
        const entries = {
            0x01 : a(1);
            0x02 : a(2);
            0x01 : a(3);
        }
    }
    apply { t.apply(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, '0x01 : a(3)')}: Duplicate entry keys in table t: the same keys as"
        f" the entry at t.p4:{col_of(src, '0x01 : a(1)')}"
    ]


def test_covered_ternary_entries_and_unused_tables_are_accepted():
    ok(v1("""
    action a(bit<8> v) { hdr.h.c = v; }
    table t {
        key = { hdr.h.a : exact; hdr.h.b : ternary; }
        actions = { a; }
        const entries = {
            (1, 0 &&& 0xF0) : a(1);
            (1, 2) : a(2);
        }
    }
    table unused {
        key = { hdr.h.a : exact; }
        actions = { a; }
        const entries = { 1 : a(1); 1 : a(2); }
    }
    apply { t.apply(); }"""))


# ------------------------------------------------------------------ switch statements (BMv2)


def test_switch_in_an_action():
    src = v1("""
    action a() {
        switch (hdr.h.a) {
            1: { hdr.h.b = 1; }
        }
    }
    apply { a(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'switch')}: switch statements are not supported in actions on this"
        " target (BMv2); move the switch to the control's apply block"
    ]


def test_switch_in_an_unused_action_or_in_apply_is_accepted():
    ok(v1("""
    action unused() {
        switch (hdr.h.a) {
            1: { hdr.h.b = 1; }
        }
    }
    apply {
        switch (hdr.h.a) {
            1: { hdr.h.b = 1; }
        }
    }"""))


def test_switch_without_core_p4():
    src = """control c(in bit<4> a, inout bit<4> b) {
    apply {
        switch (a) {
            0: { b = 1; }
        }
    }
}
control ct(in bit<4> a, inout bit<4> b);
package pt(ct t);
pt(c()) main;
"""
    assert errors(src) == [
        "t.p4:3:9: switch statement needs match_kind 'exact' (it is implemented with a table);"
        " could not find 'match_kind.exact': did you include core.p4?"
    ]
    ok("#include <core.p4>\n" + src)


# ------------------------------------------------------------------------ v1model version


def _version_src(version: str) -> str:
    return v1("apply { }").replace(
        "#include <v1model.p4>", f"#define V1MODEL_VERSION {version}\n#include <v1model.p4>"
    )


def _version_loc() -> str:
    import softswitch.frontend as fe

    path = os.path.join(os.path.dirname(fe.__file__), "p4include", "v1model.p4")
    with open(path) as fh:
        text = fh.read()
    return f"{path}:{col_of(text, 'V1MODEL_VERSION;')}"


def test_negative_v1model_version():
    assert errors(_version_src("-5")) == [
        f"{_version_loc()}: -5: expected v1model version (V1MODEL_VERSION) to be a"
        " non-negative number"
    ]


def test_unknown_v1model_version():
    assert errors(_version_src("20000101")) == [
        f"{_version_loc()}: 20000101: unknown v1model version (V1MODEL_VERSION); initial"
        " supported version is 20180101, latest is 20200408"
    ]


def test_known_v1model_versions():
    ok(_version_src("20180101"))
    ok(_version_src("20200408"))


# ------------------------------------------------------------------ table apply in arguments


def test_table_apply_in_an_action_argument():
    src = v1("""
    action a(in bit<8> v) { hdr.h.c = v; }
    table t2 { key = { hdr.h.b : exact; } actions = { NoAction; } }
    table t1 {
        key = { hdr.h.a : exact; }
        actions = { a(t2.apply().hit ? 8w1 : 8w2); }
    }
    apply { t1.apply(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 't2.apply()')}: t2.apply(): table invocation in action argument is"
        " not supported"
    ]


# ---------------------------------------------------------------- struct arguments of externs


def test_extern_out_argument_of_a_nested_struct():
    src = """#include <core.p4>
header e_t { bit<8> a; }
struct hs_t { e_t e; }
extern void fill(inout hs_t v);
control c(inout hs_t h) {
    apply { hs_t tmp = h; fill(tmp); h = tmp; }
}
control ct(inout hs_t h);
package pt(ct t);
pt(c()) main;
"""
    assert errors(src) == [
        f"t.p4:{col_of(src, 'tmp);')}: fill(tmp): extern functions with 'out' nested struct argument (v) are not"
        " supported on this target (hs_t has fields of struct, header or stack type)"
    ]
    ok(src.replace("inout hs_t v", "in hs_t v"))


def test_register_read_into_a_struct_field_of_metadata():
    src = v1("""
    register<inner_t>(4) r;
    apply { r.read(meta.inner, 0); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'meta.inner')}: meta.inner: writing to a structure is not supported"
        " on this target (it is passed to 'out' parameter result); pass its fields one by one"
    ]
    ok(v1("""
    register<inner_t>(4) r;
    apply { inner_t tmp; r.read(tmp, 0); meta.inner.x = tmp.x; }"""))


# --------------------------------------------------------------------- division and modulo


def test_division_by_a_non_constant():
    src = v1("apply { hdr.h.a = hdr.h.b / hdr.h.c; }")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'hdr.h.b /')}: hdr.h.b / hdr.h.c: could not evaluate expression at"
        " compilation time: this target has no run-time division; only constants and divisors"
        " that are powers of two are supported"
    ]


def test_modulo_by_a_local_constant_that_is_not_a_power_of_two():
    src = v1("""
    bit<8> k = 3;
    apply { hdr.h.a = hdr.h.b % k; }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'hdr.h.b %')}: hdr.h.b % k: could not evaluate expression at"
        " compilation time: this target has no run-time modulo; only constants and divisors"
        " that are powers of two are supported"
    ]


def test_compound_division_by_action_data():
    src = v1("""
    action a(bit<8> d) { hdr.h.a /= d; }
    table t { key = { hdr.h.b : exact; } actions = { a; } }
    apply { t.apply(); }""")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'hdr.h.a /=')}: hdr.h.a / d: could not evaluate expression at"
        " compilation time: this target has no run-time division; only constants and divisors"
        " that are powers of two are supported"
    ]


def test_divisions_p4c_removes_are_accepted():
    ok(v1("""
    bit<8> four = 4;
    action unused() { hdr.h.a = hdr.h.b / hdr.h.c; }
    action called(bit<8> d) { hdr.h.a = hdr.h.b / d; }
    apply {
        hdr.h.a = hdr.h.b / 8;          // a shift
        hdr.h.a = hdr.h.b % 16;         // a mask
        hdr.h.a = hdr.h.b / four;       // a constant after copy propagation
        hdr.h.a = 8w10 / 8w3;           // folded
        called(2);                      // the argument is propagated into the action
        if (false) { hdr.h.a = hdr.h.b / hdr.h.c; }
        hdr.h.c = 5;
        hdr.h.a = hdr.h.b / hdr.h.c;    // p4c may propagate hdr.h.c: not refused
    }"""))


# ------------------------------------------------------------ options from @command_line


UNION_STACK = """#include <core.p4>
@command_line("--loopsUnroll")
header h1 { bit<8> a; }
header h2 { bit<16> b; }
header_union HU { h1 x; h2 y; }
struct headers_t { HU[4] hus; }
struct meta_t { bit<8> idx; }
parser P(packet_in pkt, out headers_t hdrs, inout meta_t m);
package top(P p);
parser myp(packet_in pkt, out headers_t hdrs, inout meta_t m) {
    state start {
        pkt.extract(hdrs.hus[INDEX].x);
        transition accept;
    }
}
top(myp()) main;
"""


def test_run_time_index_into_a_header_union_stack_with_loops_unrolled():
    src = UNION_STACK.replace("INDEX", "m.idx")
    assert errors(src) == [
        f"t.p4:{col_of(src, 'm.idx]')}: Target expects constant array indices for accessing"
        " header union stack elements, m.idx is not a constant (with --loopsUnroll, header"
        " union stacks are flattened)"
    ]
    ok(UNION_STACK.replace("INDEX", "1"))
    ok(src.replace('@command_line("--loopsUnroll")\n', ""))


def test_prefer_switch_keeps_switch_statements_in_actions():
    src = v1("""
    action a() {
        switch (hdr.h.a) {
            1: { hdr.h.b = 1; }
        }
    }
    apply { a(); }""")
    ok(src.replace("struct inner_t", '@command_line("--preferSwitch")\nstruct inner_t'))


def test_division_by_a_local_constant_zero():
    src = v1("""
    bit<8> z = 0;
    apply { hdr.h.a = hdr.h.b / z; }""")
    assert errors(src) == [f"t.p4:{col_of(src, 'hdr.h.b /')}: hdr.h.b / z: division by zero"]
