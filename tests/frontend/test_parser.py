"""The P4_16 parser: every construct of the grammar, precedence, the type-name ambiguity, the
``>>`` generic case, annotations, located syntax errors, and print/parse round trips."""

from __future__ import annotations

import glob
import os

import pytest

from softswitch.frontend import ast
from softswitch.frontend.errors import CompileError, Loc
from softswitch.frontend.parser import parse_expression, parse_file, parse_text
from softswitch.frontend.printer import print_expr, print_program, print_type

# ---------------------------------------------------------------------------------- helpers


def parse(src: str) -> ast.Program:
    return parse_text(src, "t.p4")


def expr(src: str, types: tuple[str, ...] = ()) -> ast.Expr:
    return parse_expression(src, "e.p4", types)


def show(e: ast.Node) -> str:
    """A compact prefix form that makes grouping visible."""
    k = e.kind
    if k == "PathExpr":
        return ("." if e.global_ else "") + e.name
    if k == "IntLit":
        return e.text
    if k == "Binary":
        return f"({e.op} {show(e.left)} {show(e.right)})"
    if k == "Unary":
        return f"({e.op} {show(e.expr)})"
    if k == "Ternary":
        return f"(? {show(e.cond)} {show(e.then)} {show(e.else_)})"
    if k == "Member":
        return f"(. {show(e.expr)} {e.name})"
    if k == "Index":
        return f"([] {show(e.expr)} {show(e.index)})"
    if k == "Slice":
        return f"([:] {show(e.expr)} {show(e.hi)} {show(e.lo)})"
    if k == "PlusSlice":
        return f"([+:] {show(e.expr)} {show(e.base)} {show(e.width)})"
    if k == "Cast":
        return f"(cast {print_type(e.to)} {show(e.expr)})"
    if k == "Call":
        targs = "<" + ",".join(print_type(t) for t in e.type_args) + ">" if e.type_args else ""
        args = "".join(" " + (f"{a.name}=" if a.name else "") + show(a.expr) for a in e.args)
        return f"(call {show(e.func)}{targs}{args})"
    if k == "TypeExpr":
        return print_type(e.ctype)
    return print_expr(e)


def decl(src: str, index: int = -1) -> ast.Node:
    return parse(src).decls[index]


def control_body(stmts: str, prelude: str = "") -> list[ast.Node]:
    prog = parse(f"{prelude}\ncontrol c(inout bit<8> x, inout bit<8> y) {{ apply {{ {stmts} }} }}")
    c = prog.decls[-1]
    assert isinstance(c, ast.ControlDecl)
    return c.body.stmts


def strip_locs(node: ast.Node) -> object:
    data = ast.to_json(node)

    def rm(x: object) -> None:
        if isinstance(x, dict):
            x.pop("loc", None)
            for v in x.values():
                rm(v)
        elif isinstance(x, list):
            for v in x:
                rm(v)

    rm(data)
    return data


def syntax_error(src: str) -> CompileError:
    with pytest.raises(CompileError) as ei:
        parse(src)
    return ei.value


# ---------------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    "src,tree",
    [
        ("a + b * c", "(+ a (* b c))"),
        ("a * b + c", "(+ (* a b) c)"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b % c", "(% (/ a b) c)"),
        ("a |+| b |-| c", "(|-| (|+| a b) c)"),
        ("a ++ b + c", "(+ (++ a b) c)"),
        ("a + b ++ c", "(++ (+ a b) c)"),
        ("a << 1 + 2", "(<< a (+ 1 2))"),
        ("a >> 2 << 1", "(<< (>> a 2) 1)"),
        ("a & b << 1", "(& a (<< b 1))"),
        ("a | b ^ c & d", "(| a (^ b (& c d)))"),
        # p4c: the bitwise operators bind tighter than the comparisons (unlike C)
        ("a & b == c", "(== (& a b) c)"),
        ("a | b < c", "(< (| a b) c)"),
        ("a < b == c > d", "(== (< a b) (> c d))"),
        ("a <= b != c >= d", "(!= (<= a b) (>= c d))"),
        ("a && b || c && d", "(|| (&& a b) (&& c d))"),
        ("a == b && c != d", "(&& (== a b) (!= c d))"),
        ("a || b ? c : d", "(? (|| a b) c d)"),
        ("a ? b : c ? d : e", "(? a b (? c d e))"),
        ("a ? b ? c : d : e", "(? a (? b c d) e)"),
        ("!a && b", "(&& (! a) b)"),
        ("-a.b[1]", "(- ([] (. a b) 1))"),
        ("~a & b", "(& (~ a) b)"),
        ("a * -b", "(* a (- b))"),
        ("- -a", "(- (- a))"),
        ("+a - +b", "(- (+ a) (+ b))"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("a.b.c(d)[1:0]", "([:] (call (. (. a b) c) d) 1 0)"),
        ("x[i +: 8]", "([+:] x i 8)"),
        ("x[a & 0xff +: 32]", "([+:] x (& a 0xff) 32)"),
        ("(bit<8>) a + b", "(+ (cast bit<8> a) b)"),
        ("(bit<8>) -a", "(cast bit<8> (- a))"),
        ("(bit<8>) a.b", "(cast bit<8> (. a b))"),
        ("(T) a", "(cast T a)"),
        ("(a) - b", "(- a b)"),
        ("a >> b", "(>> a b)"),
    ],
)
def test_precedence(src, tree):
    assert show(expr(src, types=("T",))) == tree


def test_binary_locations_start_at_the_left_operand():
    e = expr("  a + b * c")
    assert isinstance(e, ast.Binary)
    assert e.loc == Loc("e.p4", 1, 3)
    assert e.right.loc == Loc("e.p4", 1, 7)


def test_shift_needs_adjacent_angles():
    with pytest.raises(CompileError) as ei:
        expr("a > > 2")
    assert ei.value.loc == Loc("e.p4", 1, 5)
    assert 'unexpected ">"' in ei.value.message


# ---------------------------------------------------------------------------------- literals


def test_integer_literal_fields():
    e = expr("8w0xFF")
    assert isinstance(e, ast.IntLit)
    assert (e.value, e.width, e.signed, e.text) == (255, 8, False, "8w0xFF")
    e = expr("-16s1")
    assert isinstance(e, ast.Unary) and e.op == "-"
    assert isinstance(e.expr, ast.IntLit)
    assert (e.expr.value, e.expr.width, e.expr.signed) == (1, 16, True)
    e = expr("1_000")
    assert (e.value, e.width) == (1000, None)


def test_other_literals():
    assert isinstance(expr("true"), ast.BoolLit) and expr("true").value is True
    assert expr("false").value is False
    s = expr(r'"a\"b"')
    assert isinstance(s, ast.StringLit) and s.value == r"a\"b"


# ---------------------------------------------------------------------------------- the >> case


def test_generic_closing_angles_are_not_a_shift():
    prog = parse(
        """
        extern Register<T, I> { Register(bit<32> size); T read(in I i); }
        typedef tuple<bit<8>, tuple<bit<4>>> Nested;
        control c() {
            Register<bit<32>, bit<8>>(16) r;
            apply {
                bit<8> s = 8w1 >> 2;
                bit<(8 >> 1)> w = 0;
                s >>= 1;
            }
        }
        """
    )
    ext, td, c = prog.decls
    assert isinstance(td, ast.TypedefDecl) and isinstance(td.target, ast.TypeTuple)
    inner = td.target.args[1]
    assert isinstance(inner, ast.TypeTuple) and isinstance(inner.args[0], ast.TypeBits)
    inst = c.locals[0]
    assert isinstance(inst, ast.Instantiation)
    assert isinstance(inst.itype, ast.TypeSpecialized)
    assert [print_type(a) for a in inst.itype.args] == ["bit<32>", "bit<8>"]
    assert [show(a.expr) for a in inst.args] == ["16"]
    s, w, shift = c.body.stmts
    assert show(s.init) == "(>> 8w1 2)"
    assert isinstance(w.vtype, ast.TypeBits) and show(w.vtype.width) == "(>> 8 1)"
    assert isinstance(shift, ast.AssignStmt) and shift.op == ">>="


def test_generic_call_versus_less_than():
    stmts = control_body(
        "f<bit<8>>(x); y = g<bit<4>, _>(x); bool b = x < y; b = x < E.A;",
        prelude="enum E { A } extern void f<T>(in T a); extern T g<T, U>(in T a);",
    )
    call = stmts[0].call
    assert isinstance(call, ast.Call) and [print_type(t) for t in call.type_args] == ["bit<8>"]
    g = stmts[1].rhs
    assert isinstance(g, ast.Call)
    assert isinstance(g.type_args[0], ast.TypeBits)
    assert isinstance(g.type_args[1], ast.TypeDontCare)
    assert show(stmts[2].init) == "(< x y)"
    assert show(stmts[3].rhs) == "(< x (. E A))"


# ---------------------------------------------------------------------------------- types


def test_types():
    prog = parse(
        """
        header H { bit<8> a; }
        typedef bit<32> B32;
        struct S<T> {
            bit b1; int i; int<4> i4; varbit<(2 * 8)> v; bool f; error e; string s;
            match_kind m; H[4] stack; bit<8>[2] arr; tuple<bit<8>, bool> t; list<bit<8>> l;
            T gen; B32 named; .B32 global_named; S<bit<8>> spec;
        }
        """
    )
    s = prog.decls[2]
    assert isinstance(s, ast.StructDecl) and s.flavor == "struct"
    assert [tp.name for tp in s.type_params] == ["T"]
    got = {f.name: f.ftype for f in s.fields}
    assert isinstance(got["b1"], ast.TypeBits) and got["b1"].width is None and got["b1"].size == 1
    assert isinstance(got["i"], ast.TypeInfInt)
    assert got["i4"].signed and show(got["i4"].width) == "4"
    assert isinstance(got["v"], ast.TypeVarbit) and show(got["v"].width) == "(* 2 8)"
    assert isinstance(got["f"], ast.TypeBool)
    assert isinstance(got["e"], ast.TypeErrorT)
    assert isinstance(got["s"], ast.TypeString)
    assert isinstance(got["m"], ast.TypeMatchKind)
    assert isinstance(got["stack"], ast.TypeStack) and show(got["stack"].size_expr) == "4"
    assert got["stack"].elem.name == "H"
    assert isinstance(got["arr"], ast.TypeStack) and isinstance(got["arr"].elem, ast.TypeBits)
    assert isinstance(got["t"], ast.TypeTuple) and len(got["t"].args) == 2
    assert isinstance(got["l"], ast.TypeList) and isinstance(got["l"].elem, ast.TypeBits)
    assert got["gen"].name == "T"
    assert got["named"].name == "B32" and not got["named"].global_
    assert got["global_named"].global_
    assert isinstance(got["spec"], ast.TypeSpecialized) and got["spec"].base.name == "S"


# ---------------------------------------------------------------------------------- declarations


def test_top_level_declarations():
    prog = parse(
        """
        error { NoError, PacketTooShort }
        match_kind { exact, ternary, lpm, }
        const bit<16> ETH = 0x800;
        typedef bit<48> mac_t;
        type bit<9> port_t;
        enum Color { Red, Green, }
        enum bit<8> Op { Add = 1, Sub = 2 }
        header_union U { mac_t a; port_t b; }
        typedef header Anon { bit<8> x; } AnonT;
        """
    )
    kinds = [d.kind for d in prog.decls]
    assert kinds == [
        "ErrorDecl", "MatchKindDecl", "ConstDecl", "TypedefDecl", "TypedefDecl", "EnumDecl",
        "EnumDecl", "StructDecl", "StructDecl", "TypedefDecl",
    ]  # fmt: skip
    err, mk, const, td, nt, color, op, union, anon, anon_td = prog.decls
    assert err.members == ["NoError", "PacketTooShort"]
    assert mk.members == ["exact", "ternary", "lpm"]
    assert const.name == "ETH" and show(const.value) == "0x800"
    assert isinstance(const.ctype, ast.TypeBits)
    assert td.name == "mac_t" and not td.newtype
    assert nt.name == "port_t" and nt.newtype
    assert [m.name for m in color.members] == ["Red", "Green"] and color.underlying is None
    assert [(m.name, show(m.value)) for m in op.members] == [("Add", "1"), ("Sub", "2")]
    assert print_type(op.underlying) == "bit<8>"
    assert union.flavor == "header_union" and [f.name for f in union.fields] == ["a", "b"]
    assert anon.flavor == "header" and anon_td.target.name == "Anon" and anon_td.name == "AnonT"


def test_declaration_locations_name_the_declared_name():
    prog = parse("header H {\n  bit<8> f;\n}\ncontrol   C() { apply {} }")
    h, c = prog.decls
    assert h.loc == Loc("t.p4", 1, 8)
    assert h.fields[0].loc == Loc("t.p4", 2, 10)
    assert c.loc == Loc("t.p4", 4, 11)


def test_externs():
    prog = parse(
        """
        extern packet_in;
        extern Checksum<W> {
            Checksum();
            @pure W get();
            void add<T>(in T data);
            abstract bit<16> hash(in bit<32> x);
        }
        extern void mark_to_drop(inout bit<9> port);
        extern T pick<T>(in T a, in T b);
        extern void uses(packet_in p);
        """
    )
    ck, mtd, pick, uses = prog.decls  # the forward declaration leaves no node
    assert isinstance(ck, ast.ExternDecl) and [t.name for t in ck.type_params] == ["W"]
    ctor, get, add, hash_ = ck.methods
    assert ctor.rtype is None and ctor.name == "Checksum" and ctor.params == []
    assert get.rtype.name == "W" and get.annotations[0].name == "pure"
    assert [t.name for t in add.type_params] == ["T"] and add.params[0].direction == "in"
    assert hash_.abstract and print_type(hash_.rtype) == "bit<16>"
    assert isinstance(mtd, ast.ExternFunctionDecl) and isinstance(mtd.rtype, ast.TypeVoid)
    assert mtd.params[0].direction == "inout"
    assert pick.rtype.name == "T" and [t.name for t in pick.type_params] == ["T"]
    assert uses.params[0].ptype.name == "packet_in"  # forward-declared name is a type


def test_parser_control_package_types_and_instantiation():
    prog = parse(
        """
        extern packet_in { }
        parser P<H>(packet_in b, out H h);
        control C<H>(inout H h);
        package Pipe<H>(P<H> p, C<H> c);
        struct hdr_t { }
        parser MyP(packet_in b, out hdr_t h) { state start { transition accept; } }
        control MyC(inout hdr_t h)(bit<8> ctor_arg) { apply { } }
        Pipe(MyP(), MyC(8w1)) main;
        """
    )
    _, pt, ct, pk, _, myp, myc, main = prog.decls
    assert isinstance(pt, ast.ParserTypeDecl) and [t.name for t in pt.type_params] == ["H"]
    assert [p.direction for p in pt.params] == ["", "out"]
    assert isinstance(ct, ast.ControlTypeDecl)
    assert isinstance(pk, ast.PackageTypeDecl)
    assert isinstance(pk.params[0].ptype, ast.TypeSpecialized)
    assert isinstance(myp, ast.ParserDecl) and myp.states[0].name == "start"
    assert isinstance(myc, ast.ControlDecl) and [p.name for p in myc.ctor_params] == ["ctor_arg"]
    assert isinstance(main, ast.Instantiation) and main.name == "main"
    assert main.itype.name == "Pipe"
    a0, a1 = main.args
    assert isinstance(a0.expr, ast.ConstructorCall) and a0.expr.ctype.name == "MyP"
    assert show(a1.expr.args[0].expr) == "8w1"


def test_instantiation_initializer_block_and_this():
    prog = parse(
        """
        extern Virtual { Virtual(); abstract bit<16> f(in bit<16> ix); void run(); }
        extern Gen<T> { Gen(T x); }
        control c(inout bit<16> r) {
            Virtual() cntr = {
                bit<16> f(in bit<16> ix) { return ix + this.g(); }
                Gen<bit<8>>(8w0) inner;
            };
            Gen<bit<8>>(8w1) arr[4];
            apply { cntr.run(); }
        }
        """
    )
    c = prog.decls[-1]
    inst, arr = c.locals
    assert isinstance(inst, ast.Instantiation) and inst.itype.name == "Virtual"
    f, inner = inst.initializer
    assert isinstance(f, ast.FunctionDecl) and f.name == "f"
    ret = f.body.stmts[0]
    assert show(ret.expr) == "(+ ix (call (. this g)))"
    assert isinstance(inner, ast.Instantiation) and isinstance(inner.itype, ast.TypeSpecialized)
    assert isinstance(arr.itype, ast.TypeStack) and show(arr.itype.size_expr) == "4"


def test_functions_and_actions():
    prog = parse(
        """
        bit<8> max(in bit<8> a, in bit<8> b) { return a > b ? a : b; }
        T id<T>(in T x) { return x; }
        void nothing() { }
        action drop() { exit; }
        action set(bit<9> port, @optional bit<8> tag) { }
        """
    )
    mx, ident, nothing, drop, set_ = prog.decls
    assert isinstance(mx, ast.FunctionDecl) and show(mx.body.stmts[0].expr) == "(? (> a b) a b)"
    assert ident.rtype.name == "T" and ident.type_params[0].name == "T"
    assert isinstance(nothing.rtype, ast.TypeVoid) and nothing.body.stmts == []
    assert isinstance(drop, ast.ActionDecl) and isinstance(drop.body.stmts[0], ast.ExitStmt)
    assert [p.direction for p in set_.params] == ["", ""]
    assert set_.params[1].annotations[0].name == "optional"


def test_parameters_with_defaults():
    d = decl("extern void f(in bit<8> a, in bit<8> b = 8w3, out bool c);")
    assert [(p.name, p.default is not None) for p in d.params] == [
        ("a", False),
        ("b", True),
        ("c", False),
    ]


def test_contextual_keywords_as_names():
    prog = parse(
        """
        header H { bit<8> type; bit<8> key; bit<8> priority; bit<8> state; bit<8> list; }
        control c(inout H h) {
            action a(bit<8> entries) { h.type = entries; h.key = h.priority; }
            apply { bit<8> state = h.state; h.list = state; }
        }
        """
    )
    h, c = prog.decls
    assert [f.name for f in h.fields] == ["type", "key", "priority", "state", "list"]
    a = c.locals[0]
    assert show(a.body.stmts[0].lhs) == "(. h type)"
    assert show(a.body.stmts[1].rhs) == "(. h priority)"


# ---------------------------------------------------------------------------------- scopes


def test_type_names_decide_declaration_versus_expression():
    stmts = control_body(
        "T a; T[2] b; x = y; z(x); T.minSizeInBits(); a.f();",
        prelude="typedef bit<8> T; extern void z(in bit<8> v);",
    )
    assert [s.kind for s in stmts] == [
        "VarDecl", "VarDecl", "AssignStmt", "CallStmt", "CallStmt", "CallStmt",
    ]  # fmt: skip
    assert isinstance(stmts[1].vtype, ast.TypeStack)
    m = stmts[4].call.func
    assert isinstance(m, ast.Member) and isinstance(m.expr, ast.TypeExpr)


def test_type_parameters_are_scoped():
    prog = parse(
        """
        control G<H>(in H h) { apply { H copy = h; } }
        action a() { H(); }
        """
    )
    g, a = prog.decls
    assert isinstance(g.body.stmts[0], ast.VarDecl)
    # outside the control H is no type: ``H();`` is a plain call
    call = a.body.stmts[0]
    assert isinstance(call, ast.CallStmt) and isinstance(call.call.func, ast.PathExpr)


def test_declarations_shadow_type_names():
    prog = parse(
        """
        typedef bit<8> T;
        control c(inout bit<8> T) { apply { T = 1; } }
        control d() { apply { T v; } }
        """
    )
    _, c, d = prog.decls
    assert isinstance(c.body.stmts[0], ast.AssignStmt)
    assert isinstance(d.body.stmts[0], ast.VarDecl)


def test_global_dot_prefix_names_the_top_level():
    prog = parse(
        """
        const bit X = 1;
        bit f<X>() { return .X; }
        action a() { .f(); }
        """
    )
    f, a = prog.decls[1:]
    r = f.body.stmts[0].expr
    assert isinstance(r, ast.PathExpr) and r.global_ and r.name == "X"
    assert show(a.body.stmts[0].call) == "(call .f)"


def test_specialized_type_member_call_statement():
    prog = parse(
        """
        parser MyParser<T>(in T x) { state start { transition accept; } }
        parser P() { state start { MyParser<bit>.apply(1); transition accept; } }
        """
    )
    st = prog.decls[1].states[0].stmts[0]
    assert isinstance(st, ast.CallStmt)
    te = st.call.func.expr
    assert isinstance(te, ast.TypeExpr) and isinstance(te.ctype, ast.TypeSpecialized)


# ---------------------------------------------------------------------------------- expressions


def test_structured_expressions():
    stmts = control_body(
        """
        s = {a = 1, b = 2};
        s = {a = 1, ...};
        l = {1, x + 1, {2, 3}};
        l = {};
        l = {2, ...};
        h = {#};
        s = ...;
        s = (S){a = 1};
        s = (S){1, 2};
        e = error.NoError;
        n = S.minSizeInBits();
        m = bit<8>.minSizeInBits();
        """,
        prelude="struct S { bit<8> a; bit<8> b; }",
    )
    rhs = [s.rhs for s in stmts]
    st = rhs[0]
    assert isinstance(st, ast.StructExpr) and [f.name for f in st.fields] == ["a", "b"]
    assert not st.dots and rhs[1].dots
    lst = rhs[2]
    assert isinstance(lst, ast.ListExpr) and isinstance(lst.items[2], ast.ListExpr)
    assert rhs[3].items == []
    assert isinstance(rhs[4].items[1], ast.Dots)
    assert isinstance(rhs[5], ast.InvalidHeader)
    assert isinstance(rhs[6], ast.Dots)
    assert isinstance(rhs[7], ast.Cast) and isinstance(rhs[7].expr, ast.StructExpr)
    assert isinstance(rhs[8], ast.Cast) and isinstance(rhs[8].expr, ast.ListExpr)
    err = rhs[9]
    assert isinstance(err, ast.Member) and err.name == "NoError"
    assert isinstance(err.expr, ast.TypeExpr) and isinstance(err.expr.ctype, ast.TypeErrorT)
    assert show(rhs[10]) == "(call (. S minSizeInBits))"
    assert show(rhs[11]) == "(call (. bit<8> minSizeInBits))"


def test_arguments_named_and_dont_care():
    stmts = control_body("f(a = 1, b = _); g(_, x);")
    a, b = stmts[0].call.args
    assert (a.name, show(a.expr)) == ("a", "1")
    assert b.name == "b" and isinstance(b.expr, ast.DontCare)
    c, d = stmts[1].call.args
    assert c.name is None and isinstance(c.expr, ast.DontCare)


def test_cast_versus_parenthesised_expression():
    stmts = control_body(
        "x = (T)y; x = (y); x = (E.A == E.B) ? 1 : 0; x = (error)e;",
        prelude="typedef bit<8> T; enum E { A, B }",
    )
    assert isinstance(stmts[0].rhs, ast.Cast) and stmts[0].rhs.to.name == "T"
    assert isinstance(stmts[1].rhs, ast.PathExpr)
    assert show(stmts[2].rhs) == "(? (== (. E A) (. E B)) 1 0)"
    assert isinstance(stmts[3].rhs.to, ast.TypeErrorT)


# ---------------------------------------------------------------------------------- statements


def test_statements():
    stmts = control_body(
        """
        bit<8> v = 1;
        const bit<8> K = 2;
        x = 1; x += 1; x -= 1; x *= 2; x /= 2; x %= 3; x <<= 1; x >>= 1;
        x &= 1; x |= 1; x ^= 1; x |+|= 1; x |-|= 1;
        if (x == 1) { y = 1; } else if (x == 2) y = 2; else { y = 3; }
        ;
        { y = 4; }
        @atomic { y = 5; }
        return;
        """
    )
    assert isinstance(stmts[0], ast.VarDecl) and show(stmts[0].init) == "1"
    assert isinstance(stmts[1], ast.ConstDecl)
    ops = [s.op for s in stmts[2:15]]
    assert ops == [
        "=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^=", "|+|=", "|-|=",
    ]  # fmt: skip
    if_ = stmts[15]
    assert isinstance(if_, ast.IfStmt) and isinstance(if_.then, ast.BlockStmt)
    assert isinstance(if_.else_, ast.IfStmt) and isinstance(if_.else_.then, ast.AssignStmt)
    assert isinstance(if_.else_.else_, ast.BlockStmt)
    assert isinstance(stmts[16], ast.EmptyStmt)
    assert isinstance(stmts[17], ast.BlockStmt) and stmts[17].annotations == []
    assert stmts[18].annotations[0].name == "atomic"
    assert isinstance(stmts[19], ast.ReturnStmt) and stmts[19].expr is None


def test_dangling_else_binds_to_the_inner_if():
    (s,) = control_body("if (x == 1) if (y == 1) x = 2; else x = 3;")
    assert s.else_ is None and s.then.else_ is not None


def test_switch_with_fall_through_labels():
    (sw,) = control_body(
        """
        switch (t.apply().action_run) {
            a1:
            a2: { x = 1; }
            a3: {}
            default: { x = 2; }
        }
        """
    )
    assert isinstance(sw, ast.SwitchStmt)
    assert show(sw.expr) == "(. (call (. t apply)) action_run)"
    labels = [print_expr(c.label) for c in sw.cases]
    assert labels == ["a1", "a2", "a3", "default"]
    assert sw.cases[0].body is None
    assert isinstance(sw.cases[1].body, ast.BlockStmt)
    assert isinstance(sw.cases[3].label, ast.Default)


def test_switch_on_values():
    (sw,) = control_body("switch (x) { 1: { } 2 + 2: { } }")
    assert [show(c.label) for c in sw.cases] == ["1", "(+ 2 2)"]


def test_for_loops():
    stmts = control_body(
        """
        for (bit<8> i = 0, bit<8> j = 1; i < 4; i = i + 1, j = j << 1) { if (i == j) break; }
        for (; ; ) { continue; }
        for (x = 0; x < 2; x += 1) ;
        for (bit<8> k in 1 .. 4) { y = y + k; }
        @unroll for (bit<8> e in list_var) { }
        """
    )
    c, empty, plain, forin, annotated = stmts
    assert isinstance(c, ast.ForStmt)
    assert [type(i).__name__ for i in c.init] == ["VarDecl", "VarDecl"]
    assert show(c.cond) == "(< i 4)" and [u.op for u in c.updates] == ["=", "="]
    assert isinstance(c.body.stmts[0].then, ast.BreakStmt)
    assert empty.init == [] and empty.cond is None and empty.updates == []
    assert isinstance(empty.body.stmts[0], ast.ContinueStmt)
    assert isinstance(plain.init[0], ast.AssignStmt) and isinstance(plain.body, ast.EmptyStmt)
    assert isinstance(forin, ast.ForInStmt) and forin.var == "k"
    assert isinstance(forin.collection, ast.Range) and show(forin.collection.hi) == "4"
    assert annotated.annotations[0].name == "unroll"
    assert isinstance(annotated.collection, ast.PathExpr)


def test_method_calls_with_type_arguments_and_exit():
    stmts = control_body("h.extract<bit<8>>(x); exit;")
    c = stmts[0].call
    assert show(c) == "(call (. h extract)<bit<8>> x)"
    assert isinstance(stmts[1], ast.ExitStmt)


# ---------------------------------------------------------------------------------- parsers


PARSER_SRC = """
header eth_t { bit<48> dst; bit<16> type; }
struct hdrs { eth_t eth; eth_t[2] stack; }
parser p(packet_in pkt, out hdrs h) {
    value_set<bit<16>>(4) pvs;
    bit<8> counter;
    @name("start_state") state start {
        pkt.extract(h.eth);
        transition select(h.eth.type, counter) {
            (0x800, 0): parse_ipv4;
            (0x86dd &&& 0xffff, _): accept;
            (0x0 .. 0x5ff, default): reject;
            (pvs, 1): accept;
            default: accept;
        }
    }
    state parse_ipv4 {
        h.stack.push_front(1);
        { bit<8> tmp = 1; }
        if (counter == 0) { counter = 1; }
        transition select(counter) {
            0 &&& 1: accept;
            (2 .. 3): accept;
            _: reject;
        }
    }
    state noop { transition accept; }
    state last { }
}
"""


def test_parser_states_and_select():
    prog = parse("extern packet_in { void extract<T>(out T h); }" + PARSER_SRC)
    p = prog.decls[-1]
    assert isinstance(p, ast.ParserDecl)
    vs, counter = p.locals
    assert isinstance(vs, ast.ValueSetDecl) and show(vs.size) == "4" and vs.name == "pvs"
    assert isinstance(counter, ast.VarDecl)
    start, ipv4, noop, last = p.states
    assert start.annotations[0].name == "name"
    sel = start.transition
    assert isinstance(sel, ast.SelectExpr) and [show(k) for k in sel.keys] == [
        "(. (. h eth) type)",
        "counter",
    ]
    ks = [c.keyset for c in sel.cases]
    assert all(isinstance(k, ast.ListExpr) for k in ks[:4])
    assert isinstance(ks[1].items[0], ast.Mask) and isinstance(ks[1].items[1], ast.DontCare)
    assert isinstance(ks[2].items[0], ast.Range) and isinstance(ks[2].items[1], ast.Default)
    assert isinstance(ks[4], ast.Default)
    assert [c.state.name for c in sel.cases] == [
        "parse_ipv4", "accept", "reject", "accept", "accept",
    ]  # fmt: skip
    assert [s.kind for s in ipv4.stmts] == ["CallStmt", "BlockStmt", "IfStmt"]
    ks2 = [c.keyset for c in ipv4.transition.cases]
    assert isinstance(ks2[0], ast.Mask)
    assert isinstance(ks2[1], ast.ListExpr) and isinstance(ks2[1].items[0], ast.Range)
    assert isinstance(ks2[2], ast.DontCare)
    assert isinstance(noop.transition, ast.PathExpr) and noop.transition.name == "accept"
    assert last.transition is None


# ---------------------------------------------------------------------------------- tables


TABLE_SRC = """
extern counter { counter(bit<32> n); }
extern action_profile { action_profile(bit<32> size); }
control c(inout bit<8> x, inout bit<16> y) {
    action a(bit<8> v) { x = v; }
    action b() { }
    @name(".t") table t {
        key = {
            x: exact @name("x_key");
            y & 0xff: ternary;
            y: range;
        }
        actions = {
            a;
            @tableonly b();
            @defaultonly .a(8w1);
        }
        const default_action = a(1);
        size = 1024;
        implementation = action_profile(32w128);
        counters = counter(16);
        support_timeout = true;
        my_custom = {1, 2};
        const entries = {
            (1, 0x10 &&& 0xf0, 1 .. 5): a(1);
            priority = 10: (2, _, default): b() @prio("x");
            const (3, 0, 0): a(3);
            (4, 0, 0): a(4) @entry_anno @two(2);
        }
        largest_priority_wins = false;
        priority_delta = 10;
    }
    table t2 { key = { } actions = { } entries = { 5: a(5); } }
    apply { t.apply(); }
}
"""


def test_tables():
    c = parse(TABLE_SRC).decls[-1]
    t = c.locals[2]
    assert isinstance(t, ast.TableDecl) and t.annotations[0].body == '".t"'
    props = {p.name: p for p in t.properties}
    assert list(props) == [
        "key", "actions", "default_action", "size", "implementation", "counters",
        "support_timeout", "my_custom", "entries", "largest_priority_wins", "priority_delta",
    ]  # fmt: skip
    keys = props["key"].value
    assert [(show(k.expr), k.match_kind) for k in keys] == [
        ("x", "exact"),
        ("(& y 0xff)", "ternary"),
        ("y", "range"),
    ]
    assert keys[0].annotations[0].exprs[0].value == "x_key"
    acts = props["actions"].value
    assert [show(r.expr) for r in acts] == ["a", "(call b)", "(call .a 8w1)"]
    assert [[a.name for a in r.annotations] for r in acts] == [[], ["tableonly"], ["defaultonly"]]
    da = props["default_action"]
    assert da.const and show(da.value) == "(call a 1)"
    assert show(props["size"].value) == "1024"
    assert isinstance(props["implementation"].value, ast.ConstructorCall)
    assert isinstance(props["my_custom"].value, ast.ListExpr)
    ents = props["entries"]
    assert ents.const
    e0, e1, e2, e3 = ents.value
    assert [show(k) for k in e0.keyset] == ["1", "0x10 &&& 0xf0", "1 .. 5"]
    assert show(e0.action) == "(call a 1)" and e0.priority is None and not e0.const
    assert show(e1.priority) == "10"
    assert isinstance(e1.keyset[1], ast.DontCare) and isinstance(e1.keyset[2], ast.Default)
    assert e1.annotations[0].name == "prio"
    assert e2.const
    assert [a.name for a in e3.annotations] == ["entry_anno", "two"]
    t2 = c.locals[3]
    p2 = {p.name: p for p in t2.properties}
    assert p2["key"].value == [] and p2["actions"].value == []
    assert not p2["entries"].const and [show(k) for k in p2["entries"].value[0].keyset] == ["5"]


# ---------------------------------------------------------------------------------- annotations


def annos_of(src: str) -> list[ast.Annotation]:
    return parse(src + "\nconst bit<8> annotated = 1;").decls[-1].annotations


def test_annotation_forms():
    a = annos_of(
        """
        @hidden
        @name(".foo")
        @id(0x10)
        @brief("Some text")
        @p4runtime_translation("p4.org/psa/v1/PortId_t", 32)
        @empty()
        @odd(bar baz 1 +)
        @nested((a, b) c)
        @pkginfo(name="x", version="1.0")
        @Mixed[1, "two", true]
        @KV[k1=1, k2="v"]
        """
    )
    by = {x.name: x for x in a}
    assert by["hidden"].body is None and by["hidden"].exprs is None
    assert by["name"].body == '".foo"' and by["name"].exprs[0].value == ".foo"
    assert by["id"].body == "0x10" and by["id"].exprs[0].value == 16
    assert by["brief"].body == '"Some text"'
    tr = by["p4runtime_translation"]
    assert tr.body == '"p4.org/psa/v1/PortId_t" , 32'
    assert [show(e) for e in tr.exprs] == ['"p4.org/psa/v1/PortId_t"', "32"]
    assert by["empty"].body == "" and by["empty"].exprs == []
    assert by["odd"].body == "bar baz 1 +" and by["odd"].exprs is None
    assert by["nested"].body == "( a , b ) c" and by["nested"].exprs is None
    pk = by["pkginfo"]
    assert [(kv.key, kv.value.value) for kv in pk.kvs] == [("name", "x"), ("version", "1.0")]
    m = by["Mixed"]
    assert m.structured and m.body is None
    assert [show(e) for e in m.exprs] == ["1", '"two"', "true"]
    kv = by["KV"]
    assert kv.structured and [k.key for k in kv.kvs] == ["k1", "k2"]
    assert all(not x.pragma for x in a)


def test_annotation_names_may_be_keywords():
    a = annos_of("@priority(3) @optional @entries")
    assert [x.name for x in a] == ["priority", "optional", "entries"]


def test_pragma_annotations():
    a = annos_of('@pragma deprecated "use x"\n@pragma tableOnly\n@pragma foo bar (1) $')
    assert [(x.name, x.body, x.pragma) for x in a] == [
        ("deprecated", '"use x"', True),
        ("tableOnly", "", True),
        ("foo", "bar ( 1 ) $", True),
    ]
    assert a[0].exprs[0].value == "use x"
    assert a[2].exprs is None


def test_pragma_ends_at_end_of_line_even_after_multiline_string():
    prog = parse('@pragma name "two\nlines" \nconst bit<8> x = 1;')
    a = prog.decls[0].annotations[0]
    assert a.pragma and a.body == '"two\nlines"'


def test_annotations_on_statements_params_fields_and_apply():
    prog = parse(
        """
        struct S { @match(exact) bit<8> f; }
        control c(@optional in bit<8> p) {
            @name("v") bit<8> v;
            apply @noWarn("unused") {
                @name("local") bit<8> w = 1;
                @atomic { v = w; }
            }
        }
        """
    )
    s, c = prog.decls
    assert s.fields[0].annotations[0].name == "match"
    assert c.params[0].annotations[0].name == "optional"
    assert c.locals[0].annotations[0].body == '"v"'
    assert c.body.annotations[0].name == "noWarn"
    w, blk = c.body.stmts
    assert w.annotations[0].exprs[0].value == "local"
    assert blk.annotations[0].name == "atomic"


# ---------------------------------------------------------------------------------- errors


def test_missing_semicolon_is_reported_at_the_next_token():
    e = syntax_error("const bit<8> x = 1\nconst bit<8> y = 2;")
    assert e.loc == Loc("t.p4", 2, 1)
    assert e.message == 'syntax error, unexpected keyword "const", expecting ";"'


def test_unexpected_token_in_expression():
    e = syntax_error("control c(inout bit<8> x) {\n  apply {\n    x = 1 + ;\n  }\n}")
    assert e.loc == Loc("t.p4", 3, 13)
    assert 'unexpected ";"' in e.message


def test_unexpected_end_of_file():
    e = syntax_error("control c() {\n  apply {\n")
    assert e.loc.line == 3
    assert "end of file" in e.message


def test_stray_character():
    e = syntax_error("const bit<8> x = 1 $ 2;")
    assert e.loc == Loc("t.p4", 1, 20)
    assert 'character "$"' in e.message


def test_dont_care_is_not_a_name():
    e = syntax_error("header h {\n    bit<8> _;\n}")
    assert e.loc == Loc("t.p4", 2, 12)
    assert 'unexpected keyword "_"' in e.message


def test_return_is_not_a_parser_statement():
    e = syntax_error("parser p() {\n  state start {\n    return;\n  }\n}")
    assert e.loc == Loc("t.p4", 3, 5)


def test_nothing_may_follow_a_call_statement():
    e = syntax_error("control c() { apply { t.apply()(); } }")
    assert e.loc == Loc("t.p4", 1, 32)
    assert 'expecting ";"' in e.message


def test_for_in_needs_a_typed_variable():
    e = syntax_error("control c() { apply { for (i in 1 .. 6) { } } }")
    assert e.loc == Loc("t.p4", 1, 30)


def test_type_in_expression_must_be_called_or_selected():
    e = syntax_error("typedef bit<8> H;\nconst bool b = H > 3;")
    assert e.loc == Loc("t.p4", 2, 18)
    assert 'expecting "("' in e.message


def test_unterminated_annotation_body():
    e = syntax_error('@name("x"\nconst bit<8> x = 1;')
    assert e.loc == Loc("t.p4", 1, 6)


def test_error_locations_follow_line_markers():
    text = '# 1 "main.p4"\nconst bit<8> a = 1;\n# 40 "lib/inc.p4" 1\nconst bit<8> b = ;\n'
    with pytest.raises(CompileError) as ei:
        parse_text(text, "pre.i")
    assert ei.value.loc == Loc("lib/inc.p4", 40, 18)


def test_deep_nesting_is_a_compile_error():
    depth = 50000
    src = "const bit<8> x = " + "(" * depth + "1" + ")" * depth + ";"
    e = syntax_error(src)
    assert "nested too deeply" in e.message
    # moderately deep programs still parse
    ok = "const bit<8> x = " + "(" * 500 + "1" + ")" * 500 + ";"
    assert isinstance(parse(ok).decls[0].value, ast.IntLit)


def test_error_message_quotes_the_source_line():
    e = syntax_error("const bit<8> x = 1\nconst bit<8> y = 2;")
    text = e.format()
    assert text.splitlines()[1:] == ["const bit<8> y = 2;", "^"]


# ---------------------------------------------------------------------------------- round trip


ROUND_TRIP_SRC = (
    "extern packet_in { void extract<T>(out T h); }\nextern void f<T>(in T x);\n"
    + PARSER_SRC
    + TABLE_SRC
    + """
error { Oops }
match_kind { special }
enum bit<8> Op { Add = 1, Sub = 2 }
typedef struct Pt { int<32> x; } PtT;
@pragma foo bar
const bit<32> K = (bit<32>)(8w1 ++ 8w2) << 3 + 1;
struct S<T> { T a; bit<8> b; }
control d(inout bit<8> x, inout bit<8> y) {
    apply {
        if (x == 1) if (y == 2) x = 1; else x = 2;
        if (x == 1) { if (y == 2) { x = 1; } } else { x = 3; }
        switch (x) { 1: 2: { y = 1; } default: { } }
        for (bit<8> i = 0; i < 4; i = i + 1) { x = x |+| i; }
        for (bit<8> e in 1 .. 3) { y = (bit<8>)(-(int<8>)e); }
        x = y > 1 ? x : y >> 1;
        x = {#} == {#} ? x : -(- -x);
        f<bit<8>>(x[7:0] ++ x[3 +: 4]);
        S<bit<8>> s = {a = 1, b = 2};
        s = (S<bit<8>>){a = 1, ...};
        tuple<bit<8>, bool> t = {1, true};
        x = x >> 1 >> 1;
        y = ~(x & 3) + +x;
    }
}
"""
)


def test_round_trip_is_stable_and_preserves_structure():
    p1 = parse(ROUND_TRIP_SRC)
    s1 = print_program(p1)
    p2 = parse_text(s1, "rt.p4")
    s2 = print_program(p2)
    assert s1 == s2
    assert strip_locs(p1) == strip_locs(p2)


def test_printer_output_shape():
    prog = parse("control c(inout bit<8> x) { apply { if (x == 1) { x = 2; } else x = 3; } }")
    assert print_program(prog) == (
        "control c(inout bit<8> x) {\n"
        "    apply {\n"
        "        if (x == 1) {\n"
        "            x = 2;\n"
        "        } else\n"
        "            x = 3;\n"
        "    }\n"
        "}\n"
    )


@pytest.mark.parametrize(
    "src",
    ["a - (b - c)", "(a + b) * c", "-(-a)", "(a ? b : c) ? d : e", "a ? b : (c ? d : e)",
     "((bit<8>)a).b", "(a & b) == c", "a & (b == c)", "x[(a + 1):0]"],
)  # fmt: skip
def test_printer_parenthesises_only_where_needed(src):
    e = expr(src)
    again = expr(print_expr(e))
    assert strip_locs(again) == strip_locs(e)
    assert print_expr(again) == print_expr(e)


def test_parse_file(tmp_path):
    path = tmp_path / "prog.p4"
    path.write_text("const bit<8> x = 1;\n")
    prog = parse_file(str(path))
    assert prog.decls[0].loc == Loc(str(path), 1, 14)
    with pytest.raises(CompileError):
        parse_file(str(tmp_path / "missing.p4"))


# ---------------------------------------------------------------------------------- p4c corpus


TESTDATA = os.environ.get("P4C_TESTDATA", "/tmp/p4c/testdata")


@pytest.mark.corpus
@pytest.mark.skipif(not os.path.isdir(TESTDATA), reason="p4c testdata not available")
def test_p4c_corpus_parses_and_fails_only_with_compile_errors():
    """Every p4_16 sample parses; errors are CompileErrors, never other exceptions."""
    from softswitch.frontend.preprocessor import preprocess_file

    include = os.path.join(TESTDATA, "..", "p4include")
    failures = []
    for sub in ("p4_16_samples", "p4_16_errors"):
        for path in sorted(glob.glob(os.path.join(TESTDATA, sub, "*.p4"))):
            if not os.path.exists(path):
                continue  # dangling symlinks in p4c's tree
            try:
                text = preprocess_file(path, [os.path.dirname(path), include], {})
            except Exception:
                continue  # not the parser's business
            try:
                parse_text(text, path)
            except CompileError as exc:
                if sub == "p4_16_samples":
                    failures.append(str(exc).splitlines()[0])
    assert failures == []
