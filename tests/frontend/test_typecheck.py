"""The type checker: name resolution, canonical types, width inference, constant folding, generic
inference, and located errors for programs P4 rejects."""

from __future__ import annotations

import json

import pytest

from softswitch.frontend import ast
from softswitch.frontend import types as T
from softswitch.frontend.constfold import EnumValue, ErrorValue, StructValue, const_value
from softswitch.frontend.errors import CompileError, CompileErrors
from softswitch.frontend.parser import parse_text
from softswitch.frontend.preprocessor import preprocess_text
from softswitch.frontend.scope import BUILTIN_METHODS, STACK_PROPERTIES
from softswitch.frontend.typecheck import (
    apply_result_fields,
    bind_arguments,
    call_target,
    check_program,
    width_of,
)

# ---------------------------------------------------------------------------------- helpers


def check(src: str, name: str = "t.p4") -> ast.Program:
    """Preprocess (with the built-in core.p4/v1model.p4), parse and check ``src``."""
    return check_program(parse_text(preprocess_text(src, name), name))


def errors(src: str, name: str = "t.p4") -> list[str]:
    """``file:line:col: message`` for every error the checker reports on ``src``."""
    prog = parse_text(preprocess_text(src, name), name)
    with pytest.raises((CompileError, CompileErrors)) as info:
        check_program(prog)
    exc = info.value
    errs = exc.errors if isinstance(exc, CompileErrors) else [exc]
    return [f"{e.loc}: {e.message}" for e in errs]


def first_error(src: str) -> str:
    return errors(src)[0]


def find(prog: ast.Node, kind: type, pred=lambda n: True) -> list:
    return [n for n in ast.walk(prog) if isinstance(n, kind) and pred(n)]


def decl(prog: ast.Program, name: str) -> ast.Node:
    for d in prog.decls:
        if getattr(d, "name", None) == name:
            return d
    raise KeyError(name)


def tstr(t: ast.Type | None) -> str:
    return T.type_str(t)


def local(ctrl: ast.ControlDecl | ast.ParserDecl, name: str) -> ast.Node:
    for d in ctrl.locals:
        if getattr(d, "name", None) == name:
            return d
    raise KeyError(name)


def stmts(ctrl: ast.ControlDecl) -> list[ast.Node]:
    return ctrl.body.stmts


V1 = """#include <core.p4>
#include <v1model.p4>
"""

# A small but complete v1model program; line numbers below refer to this text.
BASIC = (
    V1
    + """
typedef bit<48> mac_t;
type bit<9> port_t;
const bit<16> TYPE_IPV4 = 0x800;
const int TABLE_SIZE = 1 << 10;

header ethernet_t { mac_t dst; mac_t src; bit<16> etherType; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen;
                bit<8> ttl; bit<8> protocol; bit<32> src; bit<32> dst; }
struct headers { ethernet_t ethernet; ipv4_t ipv4; }
struct metadata { bit<32> hash; bit<16> count; }
struct learn_t { mac_t src; bit<9> port; }

parser MyParser(packet_in pkt, out headers hdr, inout metadata meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            TYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control MyVerify(inout headers hdr, inout metadata meta) { apply { } }

control MyIngress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    register<bit<16>>(1024) counts;
    counter(64, CounterType.packets) pkts;

    action drop() { mark_to_drop(sm); }
    action forward(bit<9> port, mac_t dmac) {
        sm.egress_spec = port;
        hdr.ethernet.dst = dmac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }
    table ipv4_lpm {
        key = { hdr.ipv4.dst : lpm; }
        actions = { forward; drop; NoAction; }
        size = TABLE_SIZE;
        default_action = drop();
    }
    apply {
        if (hdr.ipv4.isValid() && hdr.ipv4.ttl > 1) {
            switch (ipv4_lpm.apply().action_run) {
                forward: { pkts.count(32w1); }
                default: { }
            }
        }
        hash(meta.hash, HashAlgorithm.crc16, 32w0, { hdr.ipv4.src, hdr.ipv4.dst }, 32w1024);
        counts.read(meta.count, 7);
        counts.write(7, meta.count + 1);
        digest<learn_t>(1, { hdr.ethernet.src, sm.ingress_port });
    }
}

control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { }
}
control MyCompute(inout headers hdr, inout metadata meta) { apply { } }
control MyDeparser(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
"""
)


@pytest.fixture(scope="module")
def basic() -> ast.Program:
    return check(BASIC)


# ---------------------------------------------------------------------------------- resolution


def test_every_expression_is_typed_and_every_name_resolved(basic: ast.Program) -> None:
    untyped = []
    unresolved = []
    stack: list[ast.Node] = [basic]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Annotation):
            continue
        if isinstance(n, ast.Expr) and n.type is None:  # type: ignore[attr-defined]
            untyped.append(n)
        if isinstance(n, (ast.PathExpr, ast.TypeName, ast.Member)) and n.decl is None:
            unresolved.append(n)
        for name, v in ast.child_fields(n):
            if name == "type" and isinstance(n, ast.Expr):
                continue
            if isinstance(v, ast.Node):
                stack.append(v)
            elif isinstance(v, list):
                stack.extend(x for x in v if isinstance(x, ast.Node))
    assert untyped == []
    assert [(n.kind, n.loc) for n in unresolved] == []


def test_member_and_path_declarations(basic: ast.Program) -> None:
    ing = decl(basic, "MyIngress")
    fwd = local(ing, "forward")
    assign = fwd.body.stmts[0]
    # sm.egress_spec: sm is the apply parameter, egress_spec the v1model struct field
    assert isinstance(assign.lhs.expr.decl, ast.Parameter) and assign.lhs.expr.decl.name == "sm"
    assert isinstance(assign.lhs.decl, ast.StructField)
    assert assign.lhs.decl.name == "egress_spec"
    # port: the action parameter
    assert assign.rhs.decl is fwd.params[0]
    ttl = fwd.body.stmts[2]
    assert ttl.lhs.decl is decl(basic, "ipv4_t").fields[4]


def test_enum_error_and_match_kind_resolution(basic: ast.Program) -> None:
    ing = decl(basic, "MyIngress")
    inst = local(ing, "pkts")
    member = inst.args[1].expr
    assert isinstance(member.decl, ast.EnumMember) and member.decl.name == "packets"
    assert tstr(member.type) == "CounterType"
    assert isinstance(T.type_decl(member.type), ast.EnumDecl)
    table = local(ing, "ipv4_lpm")
    key = table.properties[0].value[0]
    assert key.match_kind == "lpm"

    prog = check(
        V1
        + """
parser P(packet_in p, out bit<8> x) {
    state start { verify(true, error.PacketTooShort); transition accept; }
}"""
    )
    call = find(prog, ast.Call, lambda c: getattr(c.func, "name", "") == "verify")[0]
    err = call.args[1].expr
    assert isinstance(err.decl, ast.ErrorDecl) and "PacketTooShort" in err.decl.members
    assert isinstance(err.type, ast.TypeErrorT)
    assert const_value(err) == ErrorValue("PacketTooShort")


def test_method_table_and_apply_declarations(basic: ast.Program) -> None:
    ing = decl(basic, "MyIngress")
    body = stmts(ing)
    switch = body[0].then.stmts[0]
    apply_call = switch.expr.expr
    assert apply_call.func.decl is local(ing, "ipv4_lpm")
    assert call_target(apply_call) is local(ing, "ipv4_lpm")
    res = apply_result_fields(local(ing, "ipv4_lpm"))
    assert res is not None and [f.name for f in res.fields] == ["hit", "miss", "action_run"]
    assert switch.expr.decl is res.fields[2]
    label = switch.cases[0].label
    assert label.decl is local(ing, "forward")
    # counts.read(...) resolves to register's read method, with I bound by... v1model's register
    read = body[2].call
    assert isinstance(read.func.decl, ast.MethodDecl) and read.func.decl.name == "read"
    assert read.func.expr.decl is local(ing, "counts")
    assert tstr(read.func.expr.type) == "register<bit<16>>"
    valid = body[0].cond.left
    assert valid.func.decl is BUILTIN_METHODS["isValid"]
    assert isinstance(valid.type, ast.TypeBool)


def test_parser_states_resolve_and_builtins_are_added(basic: ast.Program) -> None:
    p = decl(basic, "MyParser")
    names = [s.name for s in p.states]
    assert names == ["start", "parse_ipv4", "accept", "reject"]
    start = p.states[0]
    sel = start.transition
    assert sel.cases[0].state.decl is p.states[1]
    assert sel.cases[1].state.decl is p.states[2]
    assert p.states[1].transition.decl is p.states[2]
    assert p.states[2].loc is None and p.states[2].transition is None
    # the select case constant took the key's type
    assert tstr(sel.cases[0].keyset.type) == "bit<16>"
    assert isinstance(sel.type, ast.TypeVoid)


def test_state_without_transition_goes_to_reject() -> None:
    prog = check(V1 + "parser P(packet_in p) { state start { } }")
    p = decl(prog, "P")
    assert p.states[0].transition.name == "reject"
    assert p.states[0].transition.decl is p.states[-1]


def test_scopes_shadowing_and_global_names() -> None:
    prog = check("""
const bit<8> x = 1;
control C(inout bit<8> y) {
    bit<8> x = 2;
    apply {
        {
            bit<8> z = x;
            y = .x + z;
        }
    }
}""")
    c = decl(prog, "C")
    inner = c.body.stmts[0]
    z = inner.stmts[0]
    assert z.init.decl is c.locals[0]  # the control's x shadows the global one
    plus = inner.stmts[1].rhs
    assert plus.left.decl is decl(prog, "x")  # .x is the global
    assert plus.right.decl is z


def test_declaration_must_precede_use() -> None:
    assert (
        first_error("""
const bit<8> a = b;
const bit<8> b = 1;""")
        == "t.p4:2:18: 'b' is not declared"
    )


def test_duplicate_declarations_and_parameter_shadowing() -> None:
    assert (
        first_error("""
const bit<8> a = 1;
const bit<4> a = 2;""")
        == "t.p4:3:14: duplicate declaration of 'a' (previous declaration at t.p4:2:14)"
    )
    assert (
        first_error("""
control C(inout bit<8> h) {
    apply { bit<8> h = 0; }
}""")
        == "t.p4:3:20: declaration of 'h' shadows a parameter 'h'"
    )


def test_typedef_and_newtype_types(basic: ast.Program) -> None:
    eth = decl(basic, "ethernet_t")
    # a typedef'd field keeps its syntax but resolves to what it names
    assert tstr(T.resolve_type(eth.fields[0].ftype)) == "bit<48>"
    assert width_of(eth.fields[0].ftype) == 48
    assert width_of(T.named(eth)) == 112
    prog = check("""
type bit<9> port_t;
control C(in port_t p, out bit<9> q) {
    apply { q = (bit<9>)p; }
}""")
    c = decl(prog, "C")
    pt = T.resolve_type(c.params[0].ptype)
    assert isinstance(pt, ast.TypeName) and pt.decl is decl(prog, "port_t")
    assert T.is_newtype(pt) and width_of(pt) == 9
    cast = c.body.stmts[0].rhs
    assert tstr(cast.type) == "bit<9>" and cast.expr.type.decl is decl(prog, "port_t")


def test_widths_in_declarations_are_folded() -> None:
    prog = check("""
const int W = 4;
const bit<32> N = 3;
header h_t { bit<W * 2> a; int<W> b; varbit<(W * 8)> c; }
struct s_t { h_t[N + 1] stack; }
""")
    h = decl(prog, "h_t")
    assert [f.ftype.size for f in h.fields] == [8, 4, 32]
    assert h.fields[1].ftype.signed
    s = decl(prog, "s_t")
    assert s.fields[0].ftype.size == 4
    assert width_of(T.named(s)) == 4 * (8 + 4 + 32)
    assert T.min_size_in_bits(T.named(h)) == 12


# ---------------------------------------------------------------------------------- inference


def test_unsized_literals_take_the_other_operand_type(basic: ast.Program) -> None:
    ing = decl(basic, "MyIngress")
    ttl = local(ing, "forward").body.stmts[2].rhs
    assert tstr(ttl.type) == "bit<8>"
    assert isinstance(ttl.right, ast.IntLit) and tstr(ttl.right.type) == "bit<8>"
    cmp = stmts(ing)[0].cond.right
    assert tstr(cmp.right.type) == "bit<8>" and isinstance(cmp.type, ast.TypeBool)
    # arguments take the parameter type: register index (bit<32>) and value (bit<16>)
    read = stmts(ing)[2].call
    assert tstr(read.args[1].expr.type) == "bit<32>"
    write = stmts(ing)[3].call
    assert tstr(write.args[1].expr.right.type) == "bit<16>"


def test_constant_initializers_and_select_labels_take_declared_types(basic: ast.Program) -> None:
    c = decl(basic, "TYPE_IPV4")
    assert tstr(c.value.type) == "bit<16>" and const_value(c.value) == 0x800
    size = decl(basic, "TABLE_SIZE")
    assert isinstance(size.value.type, ast.TypeInfInt)


def test_generic_extern_function_type_arguments_are_inferred(basic: ast.Program) -> None:
    ing = decl(basic, "MyIngress")
    h = stmts(ing)[1].call
    assert [tstr(t) for t in h.type_args] == [
        "bit<32>",
        "bit<32>",
        "tuple<bit<32>, bit<32>>",
        "bit<32>",
    ]
    assert isinstance(h.func.decl, ast.ExternFunctionDecl) and h.func.decl.name == "hash"
    # digest<learn_t>(1, {...}): the list becomes a learn_t initializer
    d = stmts(ing)[4].call
    assert [tstr(t) for t in d.type_args] == ["learn_t"]
    data = d.args[1].expr
    assert isinstance(data, ast.ListExpr) and tstr(data.type) == "learn_t"
    assert tstr(data.ctype) == "learn_t"
    assert tstr(d.args[0].expr.type) == "bit<32>"


def test_generic_function_and_lookahead() -> None:
    prog = check(
        V1
        + """
header h_t { bit<8> a; }
T id<T>(in T x) { return x; }
parser P(packet_in p, out h_t h) {
    state start {
        bit<16> v = p.lookahead<bit<16>>();
        h.a = id(8w3) + id<bit<8>>(4);
        transition accept;
    }
}"""
    )
    p = decl(prog, "P")
    v = p.states[0].stmts[0]
    assert tstr(v.init.type) == "bit<16>" and [tstr(t) for t in v.init.type_args] == ["bit<16>"]
    add = p.states[0].stmts[1].rhs
    assert [tstr(t) for t in add.left.type_args] == ["bit<8>"]
    assert tstr(add.right.args[0].expr.type) == "bit<8>"


def test_could_not_infer_width_for_type_variable() -> None:
    src = (
        V1
        + """
control C(inout bit<32> r) {
    apply { hash(r, HashAlgorithm.crc16, 0, { r }, 32w16); }
}"""
    )
    assert first_error(src) == (
        "t.p4:5:13: could not infer a width for type parameter 'T' of 'hash'"
    )


def test_package_instantiation_binds_type_parameters(basic: ast.Program) -> None:
    main = decl(basic, "main")
    assert isinstance(main, ast.Instantiation)
    assert all(isinstance(a.expr, ast.ConstructorCall) for a in main.args)
    assert main.args[0].expr.type.decl is decl(basic, "MyParser")
    assert call_target(main.args[0].expr) is decl(basic, "MyParser")


def test_package_argument_types_must_agree() -> None:
    src = BASIC.replace(
        "control MyCompute(inout headers hdr, inout metadata meta)",
        "control MyCompute(inout metadata hdr, inout metadata meta)",
    )
    err = first_error(src)
    assert err == (
        "t.p4:71:59: argument 'MyCompute()' of type control MyCompute does not match parameter"
        " 'ck' of type control ComputeChecksum<headers, metadata> of package 'V1Switch'"
    )


def test_named_and_default_arguments() -> None:
    prog = check("""
extern void f(in bit<8> a, in bit<16> b = 7);
control C() {
    apply {
        f(b = 2, a = 1);
        f(3);
    }
}""")
    c = decl(prog, "C")
    named = c.body.stmts[0].call
    assert tstr(named.args[0].expr.type) == "bit<16>"
    pairs = bind_arguments(named)
    assert [(p.name, const_value(e)) for p, e in pairs] == [("a", 1), ("b", 2)]
    dflt = bind_arguments(c.body.stmts[1].call)
    assert [(p.name, const_value(e)) for p, e in dflt] == [("a", 3), ("b", 7)]


def test_optional_parameters_and_overloads() -> None:
    prog = check("""
extern E {
    E();
    void m(in bit<8> a, @optional in bit<8> b);
    void m(in bit<8> a, in bit<8> b, in bit<8> c);
}
control C() {
    E() e;
    apply { e.m(1); e.m(1, 2, 3); }
}""")
    c = decl(prog, "C")
    ext = decl(prog, "E")
    assert c.body.stmts[0].call.func.decl is ext.methods[1]
    assert c.body.stmts[1].call.func.decl is ext.methods[2]
    assert bind_arguments(c.body.stmts[0].call)[1][1] is None


# ---------------------------------------------------------------------------------- constants


CONSTS = """
const bit<8> A = 250;
const bit<8> B = A + 10;
const bit<8> C = A |+| 10;
const int<8> D = -128;
const int<8> E = D |-| 1;
const bit<8> F = 8w1 << 9;
const int<8> G = -8s64 >> 2;
const bit<4> H = A[7:4];
const bit<12> I = 4w0xA ++ 8w0x5B;
const bit<8> J = (bit<8>)(16w0x1234);
const int K = (1 << 70) - 1;
const bool L = 8w3 < 8w5 && !(4w1 == 4w2);
const bit<8> M = true ? 8w1 : 8w2;
const bit<16> N = (bit<16>)(int<16>)(int<8>)-1;
const int<8> O = (int<8>)8w200;
const bit<8> P = ~A;
const bit<8> Q = 200 / 3 + 200 % 3;
header h_t { bit<4> a; varbit<12> b; bit<3> c; }
const int R = h_t.minSizeInBits() + h_t.maxSizeInBytes();
enum bit<4> Color { Red = 1, Green = Red + 1 }
const bit<4> S = (bit<4>)Color.Green;
const bit<8> U = 8w5[7:0] + 0x1_00;
"""


@pytest.mark.parametrize(
    "name,value",
    [
        ("A", 250),
        ("B", 4),  # wraps modulo 2^8
        ("C", 255),  # saturates
        ("D", -128),
        ("E", -128),  # signed saturation
        ("F", 0),  # shifted out
        ("G", -16),  # arithmetic shift
        ("H", 0xF),
        ("I", 0xA5B),
        ("J", 0x34),
        ("K", (1 << 70) - 1),
        ("L", True),
        ("M", 1),
        ("N", 0xFFFF),  # sign extension, then reinterpretation
        ("O", -56),
        ("P", 5),
        ("Q", 68),
        ("R", 7 + 3),
        ("S", 2),
        ("U", 5),  # 0x100 becomes bit<8> 0
    ],
)
def test_constant_folding(name: str, value: object) -> None:
    prog = check(CONSTS)
    assert (
        const_value(
            ast.PathExpr(name, decl=decl(prog, name), type=T.resolve_type(decl(prog, name).ctype))
        )
        == value
    )
    assert const_value(decl(prog, name).value) == value


def test_struct_enum_and_tuple_constants() -> None:
    prog = check("""
struct s_t { bit<8> a; bool b; }
enum Dir { In, Out }
const s_t X = { a = 3, b = true };
const Dir Y = Dir.Out;
const tuple<bit<4>, bool> Z = { 1, false };
const bit<8> W = X.a + 1;
""")
    x = const_value(decl(prog, "X").value)
    assert isinstance(x, StructValue) and x.fields == {"a": 3, "b": True}
    assert const_value(decl(prog, "Y").value) == EnumValue("Dir", "Out")
    assert const_value(decl(prog, "Z").value) == (1, False)
    assert const_value(decl(prog, "W").value) == 4


def test_table_size_and_entries_fold(basic: ast.Program) -> None:
    t = local(decl(basic, "MyIngress"), "ipv4_lpm")
    size = next(p for p in t.properties if p.name == "size")
    assert const_value(size.value) == 1024
    prog = check(
        V1
        + """
control C(inout bit<8> x) {
    action a(bit<8> v) { x = v; }
    table t {
        key = { x : ternary; }
        actions = { a; }
        entries = {
            priority = 10: 0x1 &&& 0xF : a(2);
            5 : a(3);
        }
    }
    apply { t.apply(); }
}"""
    )
    t2 = local(decl(prog, "C"), "t")
    entries = next(p for p in t2.properties if p.name == "entries").value
    mask = entries[0].keyset[0]
    assert (const_value(mask.value), const_value(mask.mask)) == (1, 15)
    assert tstr(mask.value.type) == "bit<8>" and tstr(mask.type) == "bit<8>"
    assert const_value(entries[0].priority) == 10
    assert const_value(entries[1].action.args[0].expr) == 3


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "src,expected",
    [
        (
            "control C(inout bit<8> x) { apply { bit<16> y = 1; x = y; } }",
            "t.p4:1:56: cannot use 'y' of type bit<16> as bit<8> (assignment to 'x')",
        ),
        (
            "control C(inout bit<8> x, in bit<16> y) { apply { x = x + y; } }",
            "t.p4:1:55: cannot operate on values with different widths: 'x' is bit<8> and 'y'"
            " is bit<16>",
        ),
        (
            "control C(in bit<8> x) { apply { x = 1; } }",
            "t.p4:1:34: 'x' cannot be assigned: 'x' is an in parameter",
        ),
        (
            "const bit<8> K = 1; control C() { apply { K = 2; } }",
            "t.p4:1:43: 'K' cannot be assigned: 'K' is a constant",
        ),
        (
            "control C(inout bit<8> x) { apply { x = y; } }",
            "t.p4:1:41: 'y' is not declared",
        ),
        (
            "control C(inout bit<8> x) { apply { x = (bit<8>)true; } }",
            "t.p4:1:41: illegal cast from bool to bit<8>",
        ),
        (
            "control C(inout bit<8> x) { apply { x = x[8:1]; } }",
            "t.p4:1:43: bit index 8 greater than width 8",
        ),
        (
            "control C(inout bit<8> x) { apply { x = x << -1; } }",
            "t.p4:1:41: negative shift amount -1",
        ),
        (
            "header h_t { bit<8> a; } control C(in h_t a, in h_t b, out bool r) {"
            " apply { r = a < b; } }",
            "t.p4:1:82: '<' cannot be applied to 'a' of type header h_t",
        ),
        (
            "control C(inout bit<8> x) { apply { x = 3 / 0; } }",
            "t.p4:1:41: division by zero",
        ),
        (
            "extern void f(in bit<8> a); control C() { apply { f(1, 2); } }",
            "t.p4:1:51: too many arguments for 'f': expected 1, got 2",
        ),
        (
            "extern void f(in bit<8> a, in bit<8> b); control C() { apply { f(1); } }",
            "t.p4:1:64: missing argument for parameter 'b' of 'f'",
        ),
        (
            "extern void f(out bit<8> a); control C() { apply { f(8w1); } }",
            "t.p4:1:54: '8w1' cannot be passed to out parameter 'a': it is not a variable",
        ),
        (
            "control C(inout bit<8> x) { apply { if (x) { } } }",
            "t.p4:1:41: the condition of an if statement must be a bool, not bit<8>",
        ),
        (
            "bit<8> f(in bit<8> a) { if (a == 0) { return 1; } }",
            "t.p4:1:8: function 'f' does not return a value on all paths",
        ),
        (
            "bit<8> f(in bit<8> a) { exit; }",
            "t.p4:1:25: exit statements are not allowed in functions",
        ),
        (
            "control C() { action a() { return; } apply { a(); return 1; } }",
            "t.p4:1:51: return with a value is only allowed in functions",
        ),
        (
            "header h_t { bit<8> a; } struct s { h_t[2] hs; } control C(inout s v) {"
            " apply { v.hs[2].a = 1; } }",
            "t.p4:1:86: array index 2 larger or equal to array size 2",
        ),
        (
            "enum bit<2> E { A = 4 }",
            "t.p4:1:21: enum constant E.A = 4 does not fit in bit<2>",
        ),
        (
            "header h_t { bit<8> a; } control C(inout h_t h) { apply { h.b = 1; } }",
            "t.p4:1:59: field 'b' is not a member of header h_t",
        ),
        (
            "control C(inout bit<8> x) { apply { x = 1 ++ x; } }",
            "t.p4:1:41: please specify a width for the operand '1' of '++'",
        ),
        (
            "control C(inout bit<8> x) { apply { bit<8> y = x ? 1 : 2; } }",
            "t.p4:1:48: the condition of ?: must be a bool, not bit<8>",
        ),
    ],
)
def test_rejections(src: str, expected: str) -> None:
    assert first_error(src) == expected


def test_parser_rules() -> None:
    src = (
        V1
        + """
parser P(packet_in p, out bit<8> x) {
    state start { transition next; }
}"""
    )
    assert errors(src) == ["t.p4:5:30: state 'next' is not declared"]
    src = (
        V1
        + """
control C(inout bit<8> x) {
    action a() { x = 1; }
    apply { }
}
parser P(packet_in p, out bit<8> x) {
    state start { transition accept; }
    state accept { transition reject; }
}"""
    )
    assert errors(src) == ["t.p4:10:11: state 'accept' is built in and cannot be implemented"]
    no_start = V1 + "parser P(packet_in p) { state begin { transition accept; } }"
    assert errors(no_start) == ["t.p4:3:8: parser P has no 'start' state"]
    loop = V1 + "parser P(packet_in p) { state start { transition start; } }"
    assert errors(loop) == ["t.p4:3:8: parser P never reaches the accept or reject state"]
    verify_ctl = V1 + "control C() { apply { verify(true, error.NoError); } }"
    assert errors(verify_ctl) == ["t.p4:3:23: verify may only be invoked in parsers"]


def test_actions_cannot_be_called_from_parsers() -> None:
    src = (
        V1
        + """
action a() { }
parser P(packet_in p) { state start { a(); transition accept; } }"""
    )
    assert errors(src) == ["t.p4:5:39: actions cannot be called from parsers"]


def test_table_rules() -> None:
    src = (
        V1
        + """
control C(inout bit<8> x) {
    action a(bit<8> v) { x = v; }
    action b() { }
    table t {
        key = { x : exact; }
        actions = { a(x); }
        default_action = b();
    }
    table u {
        key = { x : exact; }
        actions = { a; }
        const entries = { 1 : a(); 2 : b(); }
    }
    apply {
        switch (t.apply().action_run) { b: { } }
        if (u.apply().action_run == a) { }
    }
}"""
    )
    errs = errors(src)
    assert errs == [
        "t.p4:9:23: parameter 'v' of action 'a' cannot be bound: it is set by the control plane",
        "t.p4:10:26: default action 'b' is not in the table's actions list",
        "t.p4:15:31: parameter 'v' of action 'a' must be bound",
        "t.p4:15:40: entry action 'b' is not in the table's actions list",
        "t.p4:18:41: 'b' is not an action of table t",
        "t.p4:19:13: 'u.apply().action_run' is only allowed in switch statements",
    ]


def test_switch_labels_must_be_distinct() -> None:
    src = (
        V1
        + """
control C(inout bit<8> x) {
    apply {
        switch (x) { 1: { } 2: { } 1: { } default: { } }
    }
}"""
    )
    assert errors(src) == ["t.p4:6:36: duplicate case label '1'"]


def test_instantiation_and_abstract_methods() -> None:
    src = (
        V1
        + """
extern Virtual {
    Virtual();
    abstract bit<16> f(in bit<16> ix);
}
control C(inout bit<16> v) {
    Virtual() ok = {
        bit<16> f(in bit<16> ix) { return ix + 1; }
    };
    Virtual() missing;
    register<bit<8>>(true) r;
    apply { v = ok.f(v); }
}"""
    )
    errs = errors(src)
    assert errs == [
        "t.p4:12:15: instance 'missing' must implement the abstract methods of Virtual",
        "t.p4:13:22: cannot use 'true' of type bool as bit<32> (argument 'size' of constructor"
        " of register)",
    ]


def test_errors_are_all_reported_and_ordered() -> None:
    src = """
control C(inout bit<8> x) {
    apply {
        x = y;
        x = 16w1;
        x = x + z;
    }
}"""
    assert errors(src) == [
        "t.p4:4:13: 'y' is not declared",
        "t.p4:5:13: cannot use '16w1' of type bit<16> as bit<8> (assignment to 'x')",
        "t.p4:6:17: 'z' is not declared",
    ]


def test_error_format_names_the_file_and_points_at_the_column() -> None:
    src = "control C(inout bit<8> x) { apply { x = y; } }\n"
    prog = parse_text(preprocess_text(src, "m.p4"), "m.p4")
    with pytest.raises(CompileErrors) as info:
        check_program(prog)
    text = info.value.format()
    assert text.splitlines()[0] == "m.p4:1:41: error: 'y' is not declared"
    assert text.splitlines()[2] == " " * 40 + "^"


# ---------------------------------------------------------------------------------- robustness


def test_internal_errors_become_located_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    from softswitch.frontend import tc_expr

    def boom(self, e):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    monkeypatch.setattr(tc_expr.ExprChecker, "ex_Slice", boom)
    src = "control C(inout bit<8> x) {\n apply { x = x[3:0] ++ 4w0; } }"
    prog = parse_text(src, "i.p4")
    with pytest.raises(CompileErrors) as info:
        check_program(prog)
    errs = info.value.errors
    assert [str(e.loc) for e in errs] == ["i.p4:2:14"]
    assert errs[0].message == "internal error: RuntimeError: boom"


def test_checking_is_idempotent_and_survives_json(basic: ast.Program) -> None:
    check_program(basic)  # a second run over an annotated tree
    again = ast.from_json(json.loads(json.dumps(ast.to_json(basic))))
    check_program(again)
    p = decl(again, "MyParser")
    assert [s.name for s in p.states] == ["start", "parse_ipv4", "accept", "reject"]
    ing = decl(again, "MyIngress")
    assert tstr(stmts(ing)[4].call.args[1].expr.type) == "learn_t"


def test_builtin_stack_members() -> None:
    prog = check(
        V1
        + """
header h_t { bit<8> a; }
struct s { h_t[3] hs; }
parser P(packet_in p, out s v) {
    state start {
        p.extract(v.hs.next);
        transition select(v.hs.last.a, v.hs.lastIndex) {
            (0, 2): accept;
            default: start;
        }
    }
}
control C(inout s v) { apply { v.hs.push_front(1); v.hs[0].setValid(); } }"""
    )
    p = decl(prog, "P")
    nxt = p.states[0].stmts[0].call.args[0].expr
    assert nxt.decl is STACK_PROPERTIES["next"] and tstr(nxt.type) == "h_t"
    keys = p.states[0].transition.keys
    assert tstr(keys[1].type) == "bit<32>"
    c = decl(prog, "C")
    assert c.body.stmts[0].call.func.decl is BUILTIN_METHODS["push_front"]


def test_checking_forty_controls_resolves_every_table() -> None:
    extra = "\n".join(
        f"""control C{i}(inout headers hdr, inout metadata meta) {{
    action a{i}(bit<48> m) {{ hdr.ethernet.dst = m; meta.count = meta.count + {i}; }}
    table t{i} {{ key = {{ hdr.ethernet.src : exact; }} actions = {{ a{i}; NoAction; }} }}
    apply {{ if (hdr.ethernet.isValid()) {{ t{i}.apply(); }} }}
}}"""
        for i in range(40)
    )
    src = BASIC + extra
    prog = parse_text(preprocess_text(src, "big.p4"), "big.p4")
    check_program(prog)
    for i in (0, 39):
        c = decl(prog, f"C{i}")
        call = c.body.stmts[0].then.stmts[0].call
        assert call.func.decl is next(d for d in c.locals if getattr(d, "name", "") == f"t{i}")


# ---------------------------------------------------------------------------------- more forms

FORMS = """#include <core.p4>
header h_t { bit<8> a; bit<8> b; }
header_union u_t { h_t x; h_t y; }
struct S<T> { T f; }
extern Virtual { Virtual(); bit<8> get(); abstract bit<8> f(in bit<8> v); }
control Inner(inout bit<8> v) { apply { v = v + 1; } }
control C(inout h_t h, inout u_t u, inout bit<32> w) {
    Virtual() virt = { bit<8> f(in bit<8> v) { return this.get() + v; } };
    apply {
        bit<8> acc = 0;
        for (bit<8> i = 0; i < 4; i = i + 1) { acc = acc + i; }
        for (bit<8> j in 1 .. 3) { acc = acc |+| j; }
        w[15 +: 8] = acc;
        h = { 1, ... };
        S<bit<4>> s = { f = 3 };
        u.x.setValid();
        if (u.isValid() && u.y == {#}) { h.b = s.f ++ 4w0; }
        Inner.apply(h.a);
        acc = virt.f(acc);
    }
}
"""


@pytest.fixture(scope="module")
def forms() -> ast.Program:
    return check(FORMS)


def test_loops_plus_slices_and_dots(forms: ast.Program) -> None:
    body = stmts(decl(forms, "C"))
    loop = body[1]
    assert isinstance(loop, ast.ForStmt) and isinstance(loop.cond.type, ast.TypeBool)
    assert tstr(loop.cond.right.type) == "bit<8>"
    forin = body[2]
    assert tstr(forin.collection.type) == "bit<8>"
    assert tstr(forin.collection.lo.type) == "bit<8>"
    use = forin.body.stmts[0].rhs.right
    assert isinstance(use.decl, ast.VarDecl) and use.decl.name == "j"
    ps = body[3].lhs
    assert isinstance(ps, ast.PlusSlice) and tstr(ps.type) == "bit<8>"
    init = body[4].rhs
    assert tstr(init.type) == "h_t" and tstr(init.items[0].type) == "bit<8>"
    assert isinstance(init.items[1], ast.Dots)


def test_generic_struct_union_and_invalid_header(forms: ast.Program) -> None:
    body = stmts(decl(forms, "C"))
    s = body[5]
    assert tstr(s.init.type) == "S<bit<4>>"
    assert tstr(s.init.fields[0].expr.type) == "bit<4>"
    cond = body[7].cond
    assert cond.left.func.decl is BUILTIN_METHODS["isValid"]
    eq = cond.right
    assert isinstance(eq.right, ast.InvalidHeader) and tstr(eq.right.type) == "h_t"
    cat = body[7].then.stmts[0].rhs
    assert tstr(cat.left.type) == "bit<4>" and tstr(cat.type) == "bit<8>"


def test_direct_invocation_and_abstract_methods(forms: ast.Program) -> None:
    c = decl(forms, "C")
    body = stmts(c)
    direct = body[8].call
    assert direct.func.decl is decl(forms, "Inner")
    assert direct.func.expr.ctype.decl is decl(forms, "Inner")
    virt = local(c, "virt")
    impl = virt.initializer[0]
    this_call = impl.body.stmts[0].expr.left
    assert isinstance(this_call.func.expr, ast.This)
    assert this_call.func.expr.type.decl is decl(forms, "Virtual")
    assert this_call.func.decl is decl(forms, "Virtual").methods[1]
    call = body[9].rhs
    assert call.func.decl is decl(forms, "Virtual").methods[2]  # the abstract method


def test_noaction_is_an_action_run_label_of_tables_without_default() -> None:
    prog = check(
        V1
        + """
control C(inout bit<8> x) {
    action a() { x = 1; }
    table t { key = { x : exact; } actions = { a; } }
    apply { switch (t.apply().action_run) { NoAction: { } a: { } } }
}"""
    )
    sw = stmts(decl(prog, "C"))[0]
    assert sw.cases[0].label.decl is decl(prog, "NoAction")


def test_value_sets_in_select() -> None:
    prog = check(
        V1
        + """
header h_t { bit<16> t; bit<8> p; }
struct k_t { bit<16> t; bit<8> p; }
parser P(packet_in pk, out h_t h) {
    value_set<bit<16>>(4) one;
    value_set<k_t>(4) two;
    state start {
        pk.extract(h);
        transition select(h.t) { one: next; default: accept; }
    }
    state next { transition select(h.t, h.p) { two: accept; (1, 2): reject; } }
}"""
    )
    p = decl(prog, "P")
    case = p.states[0].transition.cases[0]
    assert case.keyset.decl is local(p, "one") and tstr(case.keyset.type) == "bit<16>"
    assert p.states[1].transition.cases[0].keyset.decl is local(p, "two")


@pytest.mark.parametrize(
    "src,expected",
    [
        (
            "bit<8> f(@optional in bit<8> a) { return 1; }",
            "t.p4:1:30: optional parameter 'a' not allowed here",
        ),
        (
            "extern void f(out bit<8> a = 1);",
            "t.p4:1:26: out parameter 'a' cannot have a default value",
        ),
        (
            "extern void f(in bit<8> a); control C() { apply { f(_); } }",
            "t.p4:1:53: '_' can only be passed to out parameters, not to 'a'",
        ),
        (
            "header h { varbit<8> v; } struct s { h x; } parser P(packet_in p, out s v) {"
            " state start { p.extract(v.x); transition accept; } }",
            "t.p4:1:102: 'v.x': a header with varbit fields needs the two-argument extract",
        ),
        (
            "struct s { bit<8> a; } control D(packet_out p, in s v) { apply { p.emit(v.a); } }",
            "t.p4:1:73: 'v.a': the argument of emit must be a header, stack or union, or a"
            " struct or tuple of such types",
        ),
        (
            'const bool ok = static_assert(1 == 2, "one is not two");',
            "t.p4:1:17: static assertion failed: one is not two",
        ),
        (
            "struct s { string x; }",
            "t.p4:1:19: field 'x' of struct s cannot have type string",
        ),
        (
            "header h { bit<8> a; } header_union u { bit<8> a; }",
            "t.p4:1:48: field 'a' of header_union u cannot have type bit<8>",
        ),
        (
            "control C(inout bit<8> x) { apply { x = (bit<8>)(int<16>)x; } }",
            "t.p4:1:49: illegal cast from bit<8> to int<16>",
        ),
        (
            "extern E { E(); } E() main;",
            "t.p4:1:23: main must be an instance of a package, not of extern E",
        ),
        (
            "const bit<8> x = 1; const bit<8> y = x[8:0];",
            "t.p4:1:40: bit index 8 greater than width 8",
        ),
        (
            "control C(inout bit<8> x) { apply { x = {#}; } }",
            "t.p4:1:41: {#} cannot be converted to bit<8>",
        ),
        (
            "control C(inout bit<8> x) { apply { x = -...; } }",
            "t.p4:1:42: '...' can only be used as an initializer",
        ),
    ],
)
def test_more_rejections(src: str, expected: str) -> None:
    assert first_error("#include <core.p4>\n" + src) == expected.replace("t.p4:1:", "t.p4:2:")


def test_entry_priority_and_mask_rules() -> None:
    src = (
        V1
        + """
control C(inout bit<8> x) {
    action a() { }
    table exact_only {
        key = { x : exact; }
        actions = { a; }
        entries = { priority = 1: 1 : a(); }
    }
    table lpm {
        key = { x : lpm; }
        actions = { a; }
        const entries = { 0x10 &&& 0xF0 : a(); 0x10 &&& 0x0F : a(); }
    }
    table first {
        key = { x : ternary; }
        actions = { a; }
        entries = { 1 &&& 1 : a(); priority = 3: 2 &&& 2 : a(); }
    }
    apply { }
}"""
    )
    assert errors(src) == [
        "t.p4:9:35: the key match kinds of table 'exact_only' do not use priorities, but an"
        " entry has one",
        "t.p4:14:48: '0x10 &&& 0x0F': invalid mask for an lpm key",
        "t.p4:19:21: the first entry must have a priority when others do",
    ]
