"""Tests for the P4 preprocessor (softswitch/frontend/preprocessor.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from softswitch.frontend.errors import CompileError, Loc, source_line
from softswitch.frontend.preprocessor import (
    BUILTIN_INCLUDE_DIR,
    preprocess_file,
    preprocess_text,
)

_MARKER = re.compile(r'# (\d+) "((?:[^"\\]|\\.)*)"')


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def located_lines(out: str) -> list[tuple[str, int, str]]:
    """(file, line, text) for every non-blank output line, as the lexer would number it."""
    result = []
    file, line = "?", 0
    for text in out.split("\n"):
        m = _MARKER.fullmatch(text)
        if m:
            file, line = _unescape(m.group(2)), int(m.group(1))
            continue
        if text.strip():
            result.append((file, line, text.strip()))
        line += 1
    return result


def where(out: str, needle: str) -> tuple[str, int]:
    """The (file, line) the lexer would give to the output line containing ``needle``."""
    hits = [(f, n) for f, n, text in located_lines(out) if needle in text]
    assert len(hits) == 1, f"{needle!r} found {len(hits)} times in:\n{out}"
    return hits[0]


def code(out: str) -> str:
    """Output without markers, whitespace collapsed: what the parser sees, for comparisons."""
    return " ".join(_MARKER.sub("", out).split())


def pp(text: str, **kw) -> str:
    return preprocess_text(text, "t.p4", **kw)


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def error_of(fn, *args, **kw) -> CompileError:
    with pytest.raises(CompileError) as info:
        fn(*args, **kw)
    return info.value


# ---------------------------------------------------------------------------------------------
# Includes


def test_quoted_include_is_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "defs.p4", "const bit<8> FROM_LIB_DIR = 1;\n")
    write(tmp_path / "lib" / "top.p4", '#include "defs.p4"\n')
    # A same-named file in an include directory must lose to the including file's directory.
    write(tmp_path / "inc" / "defs.p4", "const bit<8> FROM_INCLUDE_DIR = 1;\n")
    main = write(tmp_path / "main.p4", '#include "lib/top.p4"\n')
    out = preprocess_file(main, [str(tmp_path / "inc")])
    assert "FROM_LIB_DIR" in out
    assert "FROM_INCLUDE_DIR" not in out


def test_angled_include_searches_include_dirs_in_order_not_the_current_dir(tmp_path: Path) -> None:
    write(tmp_path / "a" / "x.p4", "const bit<8> IN_A = 1;\n")
    write(tmp_path / "b" / "x.p4", "const bit<8> IN_B = 1;\n")
    write(tmp_path / "x.p4", "const bit<8> BESIDE_MAIN = 1;\n")
    main = write(tmp_path / "main.p4", "#include <x.p4>\n")
    out = preprocess_file(main, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert "IN_A" in out and "IN_B" not in out and "BESIDE_MAIN" not in out
    # Without include dirs the angled form does not look next to the including file.
    err = error_of(preprocess_file, main)
    assert err.loc == Loc(main, 1, 10)
    assert "<x.p4>" in err.message


def test_builtin_architecture_dir_is_searched_last(tmp_path: Path) -> None:
    write(tmp_path / "inc" / "core.p4", "const bit<8> SHADOW_CORE = 1;\n")
    main = write(tmp_path / "main.p4", "#include <core.p4>\n")
    assert "SHADOW_CORE" in preprocess_file(main, [str(tmp_path / "inc")])
    out = preprocess_file(main)
    assert where(out, "action NoAction")[0] == os.path.join(BUILTIN_INCLUDE_DIR, "core.p4")


def test_quoted_include_falls_back_to_builtin_dir(tmp_path: Path) -> None:
    main = write(tmp_path / "main.p4", '#include "v1model.p4"\n')
    assert "package V1Switch" in code(preprocess_file(main))


def test_include_guard_and_pragma_once_include_a_file_once(tmp_path: Path) -> None:
    g = write(tmp_path / "g.p4", "#ifndef G_P4\n#define G_P4\nconst bit<8> GUARDED = 1;\n#endif\n")
    write(tmp_path / "o.p4", "#pragma once\nconst bit<8> ONCE = 1;\n")
    write(tmp_path / "plain.p4", "const bit<8> PLAIN = 1;\n")
    main = write(
        tmp_path / "main.p4",
        '#include "g.p4"\n#include "o.p4"\n#include "plain.p4"\n'
        '#include "g.p4"\n#include "o.p4"\n#include "plain.p4"\nconst bit<8> END = 0;\n',
    )
    out = preprocess_file(main)
    assert out.count("GUARDED") == 1
    # Like cpp, a wholly guarded file is not even re-read: no second marker for it.
    assert out.count(f'# 1 "{g}"') == 1
    assert out.count("ONCE") == 1
    assert out.count("PLAIN") == 2  # no guard: included twice, as cpp does
    assert where(out, "END") == (main, 7)


def test_missing_include_is_a_located_error(tmp_path: Path) -> None:
    main = write(tmp_path / "main.p4", '\n  #include "nowhere.p4"\n')
    err = error_of(preprocess_file, main)
    assert err.loc == Loc(main, 2, 12)
    assert '"nowhere.p4"' in err.message and "not found" in err.message
    assert "nowhere.p4" in err.format()  # the source line is quoted under the message


def test_computed_include(tmp_path: Path) -> None:
    write(tmp_path / "arch.p4", "const bit<8> ARCH = 1;\n")
    main = write(tmp_path / "main.p4", '#define ARCH_FILE "arch.p4"\n#include ARCH_FILE\n')
    assert "const bit<8> ARCH = 1;" in preprocess_file(main)


def test_every_file_read_is_registered_for_diagnostics(tmp_path: Path) -> None:
    inc = write(tmp_path / "sub.p4", "// first\nheader h_t { bit<8> f; }\n")
    main = write(tmp_path / "main.p4", '#include "sub.p4"\n')
    # Rewrite the files after preprocessing: the quoted text must come from what was read.
    preprocess_file(main)
    Path(inc).write_text("changed\nchanged\n")
    Path(main).write_text("changed\n")
    assert source_line(Loc(inc, 2, 1)) == "header h_t { bit<8> f; }"
    assert source_line(Loc(main, 1, 1)) == '#include "sub.p4"'


# ---------------------------------------------------------------------------------------------
# Line markers and line numbering


def test_markers_restore_line_numbers_after_an_include(tmp_path: Path) -> None:
    inc = write(tmp_path / "inc.p4", "header a_t {\n  bit<8> x;\n}\n")
    main = write(
        tmp_path / "main.p4",
        'const bit<8> BEFORE = 0;\n#include "inc.p4"\nconst bit<8> AFTER = 1;\n',
    )
    out = preprocess_file(main)
    assert out.startswith(f'# 1 "{main}"\n')
    assert where(out, "BEFORE") == (main, 1)
    assert where(out, "bit<8> x;") == (inc, 2)
    assert where(out, "AFTER") == (main, 3)


def test_line_numbers_survive_comments_continuations_and_skipped_blocks() -> None:
    src = (
        "/* a comment\n"
        "   over three lines */ const bit<8> A = 1;\n"
        "// #define NOT_A_DIRECTIVE\n"
        "#define LONG(x) \\\n"
        "    (x + 1)\n"
        "#if 0\n"
        "skipped\n"
        "#endif\n"
        "const bit<8> B = LONG(2);\n"
        "const bit<8> C = LONG(\n"
        "   3);\n"
        "const bit<8> D = 4;\n"
    )
    out = pp(src)
    assert where(out, "A = 1") == ("t.p4", 2)
    assert where(out, "B = (2 + 1)") == ("t.p4", 9)
    assert where(out, "C = (3 + 1)") == ("t.p4", 10)
    assert where(out, "D = 4") == ("t.p4", 12)
    assert "skipped" not in out and "NOT_A_DIRECTIVE" not in out
    # One marker at the start, then exactly one output line per source line.
    assert out.count("\n") == 1 + src.count("\n")


def test_columns_survive_a_comment_inside_a_line() -> None:
    out = pp("const /* c */ bit<8> X = 1;\n")
    line = out.split("\n")[1]
    assert line.index("bit<8>") == "const /* c */ bit<8>".index("bit<8>")


def test_line_directive_renumbers_and_renames() -> None:
    out = pp('const bit<8> A = 1;\n#line 40 "gen.p4"\nconst bit<8> B = 2;\n')
    assert where(out, "B = 2") == ("gen.p4", 40)
    err = error_of(pp, '#line 40 "gen.p4"\n\n#error stop here\n')
    assert err.loc == Loc("gen.p4", 41, 2)


def test_marker_file_names_are_escaped(tmp_path: Path) -> None:
    weird = tmp_path / 'we"ird\\dir'
    inc = write(weird / "inc.p4", "const bit<8> W = 1;\n")
    main = write(tmp_path / "main.p4", "#include <inc.p4>\n")
    out = preprocess_file(main, [str(weird)])
    escaped = inc.replace("\\", "\\\\").replace('"', '\\"')
    assert f'# 1 "{escaped}"' in out.split("\n")
    assert where(out, "W = 1") == (inc, 1)


# ---------------------------------------------------------------------------------------------
# Macros


def test_object_and_function_like_macros() -> None:
    out = pp(
        "#define SIZE 1024\n"
        "#define TWICE(x) ((x) * 2)\n"
        "#define ADD(a, b) (a + b)\n"
        "const bit<32> s = TWICE(SIZE);\n"
        "const bit<32> t = ADD(TWICE(1), SIZE);\n"
        "const bit<32> u = TWICE ;\n"  # a function-like name without ( is left alone
    )
    assert "s = ((1024) * 2);" in code(out)
    assert "t = (((1) * 2) + 1024);" in code(out)
    assert "u = TWICE ;" in code(out)


def test_stringize_paste_and_variadic_macros() -> None:
    out = pp(
        "#define STR(x) #x\n"
        "#define XSTR(x) STR(x)\n"
        "#define NAME tbl\n"
        "#define CAT(a, b) a ## b\n"
        "#define LOG(fmt, ...) log_msg(fmt, __VA_ARGS__)\n"
        "#define LOG2(fmt, ...) log_msg(fmt, ## __VA_ARGS__)\n"
        '@name(STR(NAME)) @name(XSTR(NAME)) @name(STR( a  "q\\n" b ))\n'
        "CAT(ing, ress) CAT(x, ) CAT(8w, 5)\n"
        'LOG("{} {}", a, b) LOG2("none") LOG2("one {}", c)\n'
    )
    assert '@name("NAME") @name("tbl") @name("a \\"q\\\\n\\" b")' in code(out)
    assert "ingress x 8w5" in code(out)
    assert 'log_msg("{} {}", a, b) log_msg("none") log_msg("one {}",c)' in code(out)


def test_recursive_expansion_is_blocked_as_cpp_does() -> None:
    out = pp(
        "#define foo foo + 1\n"
        "#define a b\n"
        "#define b a\n"
        "#define f(x) x + f\n"
        "foo; a; b; f(f)(2);\n"
    )
    assert "foo + 1; a; b; f + f(2);" in code(out)


def test_c_standard_rescanning_example() -> None:
    # The example from C11 6.10.3.5 (3), reduced to what P4 tokens can say.
    out = pp(
        "#define x 3\n"
        "#define f(a) f(x * (a))\n"
        "#undef x\n"
        "#define x 2\n"
        "#define g f\n"
        "#define z z[0]\n"
        "#define t(a) a\n"
        "f(y+1) + f(f(z)) % t(t(g)(0) + t)(1);\n"
    )
    expected = "f(2 * (y+1)) + f(2 * (f(2 * (z[0])))) % f(2 * (0)) + t(1);"
    assert code(out).replace(" ", "") == expected.replace(" ", "")


def test_expansions_never_paste_with_neighbours() -> None:
    out = pp("#define NEG -1\n#define ID(x) x\nconst int<8> a = -NEG;\nID(a)b\n")
    assert "a = - -1;" in code(out)
    assert "a b" in code(out)


def test_comments_and_macros_leave_string_literals_alone() -> None:
    out = pp(
        "#define X expanded\n"
        '@name("X // not a comment /* nor this */") const bit<8> c = 1; // gone\n'
        "/* gone too */ const bit<8> d = X;\n"
    )
    assert '@name("X // not a comment /* nor this */")' in out
    assert "gone" not in out
    assert "d = expanded;" in out


def test_multi_line_string_keeps_its_content() -> None:
    src = '@entry_restriction("\n    // kept\n# 12 "not a marker"\n  ") table t {}\nfinal\n'
    out = pp(src)
    assert '@entry_restriction("\n    // kept\n# 12 "not a marker"\n  ") table t {}' in out
    # Still one output line per source line after the marker (source line 5 is output line 6).
    assert out.split("\n")[5] == "final"


def test_builtin_line_and_file_macros() -> None:
    out = pp("\nconst bit<8> L = __LINE__;\nconst string F = __FILE__;\n")
    assert "L = 2;" in out and 'F = "t.p4";' in out


def test_command_line_defines() -> None:
    src = "A B C D E F(4)\n#ifdef A\nhas_A\n#endif\n"
    out = pp(src, defines={"A": None, "B": "7", "C=9": None, "D": "", "F(x)": "[x]"})
    assert "1 7 9 E [4]" in code(out)
    assert "has_A" in out
    # Defines given on the command line can be undefined by the program.
    assert "A" in code(pp("#undef A\nA\n", defines={"A": None}))


# ---------------------------------------------------------------------------------------------
# Conditionals


def test_if_elif_else_chains() -> None:
    src = (
        "#if V == 1\none\n#elif V == 2\ntwo\n#elif defined(V)\nother\n#else\nnone\n#endif\n"
    )
    assert code(pp(src, defines={"V": "1"})) == "one"
    assert code(pp(src, defines={"V": "2"})) == "two"
    assert code(pp(src, defines={"V": "5"})) == "other"
    assert code(pp(src)) == "none"


def test_if_expressions() -> None:
    cases = {
        "1 + 2 * 3 == 7": True,
        "(1 + 2) * 3 == 9": True,
        "UNKNOWN_NAME": False,
        "UNKNOWN_NAME == 0": True,
        "defined X && !defined(Y) && defined ( X )": True,
        "X > 5 ? 1 : 0": True,
        "-1 < 0": True,
        "-1 < 0u": False,  # unsigned comparison, as in C
        "0x10 == 16 && 010 == 8 && 0b11 == 3": True,
        "1 << 4 == 16 && 256 >> 4 == 16": True,
        "(7 / 2 == 3) && (-7 % 2 == -1)": True,
        "0 && 1 / 0": False,  # the division is never evaluated
        "3 & 6 | 8 ^ 1": True,
        "ONE_MORE(X) == 11": True,
        "V1MODEL_VERSION >= 20200408": False,
    }
    for expr, expected in cases.items():
        out = pp(f"#define X 10\n#define ONE_MORE(v) ((v) + 1)\n#if {expr}\nyes\n#endif\n")
        assert ("yes" in out) is expected, expr


def test_defined_produced_by_a_macro() -> None:
    out = pp("#define HAVE_X defined(X)\n#define X\n#if HAVE_X\nyes\n#endif\n")
    assert code(out) == "yes"


def test_skipped_blocks_ignore_everything_but_conditionals() -> None:
    src = (
        "#if 0\n"
        "#error not reached\n"
        "#include <nothing_here.p4>\n"
        "#bogus directive\n"
        "#if garbage ((\n"
        "#endif\n"
        "#else\n"
        "taken\n"
        "#endif\n"
        "#if 1\n"
        "first\n"
        "#elif 1 / 0\n"  # not evaluated: an earlier branch was taken
        "#endif\n"
    )
    assert code(pp(src)) == "taken first"


# ---------------------------------------------------------------------------------------------
# Errors


def test_error_directive_is_located_at_the_directive() -> None:
    err = error_of(pp, "const bit<8> a = 1;\n  #  error Unsupported target /* why */\n")
    assert err.loc == Loc("t.p4", 2, 6)
    assert err.message == "#error Unsupported target"


def test_error_directive_in_an_included_file(tmp_path: Path) -> None:
    inc = write(tmp_path / "inc.p4", "\n\n#error from the include\n")
    main = write(tmp_path / "main.p4", '#include "inc.p4"\n')
    err = error_of(preprocess_file, main)
    assert err.loc == Loc(inc, 3, 2)


def test_warning_directive_does_not_stop(capsys: pytest.CaptureFixture[str]) -> None:
    out = pp("#warning careful\nafter\n")
    assert code(out) == "after"
    assert "t.p4:1:2: warning: #warning careful" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("src", "loc", "message"),
    [
        ("x\n#if 1\ny\n", Loc("t.p4", 2, 2), "unterminated #if"),
        ("#ifndef G\n#if 0\n#endif\n", Loc("t.p4", 1, 2), "unterminated #ifndef"),
        ("#else\n", Loc("t.p4", 1, 2), "#else without #if"),
        ("\n#endif\n", Loc("t.p4", 2, 2), "#endif without #if"),
        ("#if 1\n#else\n#elif 1\n#endif\n", Loc("t.p4", 3, 2), "#elif after #else"),
        ("#define\n", Loc("t.p4", 1, 2), "no macro name given in #define directive"),
        ("#define 3x\n", Loc("t.p4", 1, 2), "macro names must be identifiers"),
        ("#define F(a, a) a\n", Loc("t.p4", 1, 2), 'duplicate macro parameter "a"'),
        ("#define F(a b\n", Loc("t.p4", 1, 2), "missing ')' in macro parameter list"),
        ("#define F(a) ## a\n", Loc("t.p4", 1, 2), "'##' cannot appear at either end"),
        ("#ifdef\n#endif\n", Loc("t.p4", 1, 2), "no macro name given in #ifdef directive"),
        ("#frobnicate\n", Loc("t.p4", 1, 2), "invalid preprocessing directive #frobnicate"),
        ("#include\n", Loc("t.p4", 1, 2), '#include expects "FILENAME" or <FILENAME>'),
        ("#if\n#endif\n", Loc("t.p4", 1, 2), "#if with no expression"),
        ("#if 1 +\n#endif\n", Loc("t.p4", 1, 2), "#if expression ends unexpectedly"),
        ("#if 2 / 0\n#endif\n", Loc("t.p4", 1, 2), "division by zero in #if"),
        ("#if 8w5\n#endif\n", Loc("t.p4", 1, 2), 'invalid suffix "w5" on integer constant'),
        ("#if (1\n#endif\n", Loc("t.p4", 1, 2), "missing ')' in expression"),
        ("#if 1 2\n#endif\n", Loc("t.p4", 1, 2), "missing binary operator before token"),
        ("#line x\n", Loc("t.p4", 1, 2), '"x" after #line is not a positive integer'),
        ("a\n  b /* open\n\n", Loc("t.p4", 2, 5), "unterminated comment"),
    ],
)
def test_malformed_input_gives_located_errors(src: str, loc: Loc, message: str) -> None:
    err = error_of(pp, src)
    assert err.loc == loc
    assert message in err.message


def test_macro_argument_count_errors_name_the_call() -> None:
    defs = "#define TWO(a, b) a b\n#define NONE() x\n#define VAR(a, ...) a\n"
    err = error_of(pp, defs + "const bit<8> v =\n    TWO(1);\n")
    assert err.loc == Loc("t.p4", 5, 5)
    assert err.message == 'macro "TWO" requires 2 arguments, but only 1 given'
    err = error_of(pp, defs + "x TWO(1, 2, 3)\n")
    assert err.loc == Loc("t.p4", 4, 3)
    assert err.message == 'macro "TWO" passed 3 arguments, but takes just 2'
    assert "passed 1 arguments" in error_of(pp, defs + "NONE(1)\n").message
    assert code(pp(defs + "NONE() VAR(1) VAR(1, 2, 3) TWO(, )\n")).endswith("x 1 1")
    err = error_of(pp, defs + "\nTWO(1,\n 2\n")
    assert err.loc == Loc("t.p4", 5, 1)
    assert err.message == 'unterminated argument list invoking macro "TWO"'


def test_include_errors_in_nested_files_point_into_them(tmp_path: Path) -> None:
    inc = write(tmp_path / "inc.p4", "#if 1\n")
    main = write(tmp_path / "main.p4", '#include "inc.p4"\n#endif\n')
    err = error_of(preprocess_file, main)
    assert err.loc == Loc(inc, 1, 2)  # a conditional may not span files
    assert err.message == "unterminated #if"


def test_runaway_recursion_is_a_compile_error(tmp_path: Path) -> None:
    main = write(tmp_path / "self.p4", '#include "self.p4"\n')
    assert "nested depth" in error_of(preprocess_file, main).message
    deep = "#define F(x) [x]\n" + "F(" * 400 + "1" + ")" * 400 + "\n"
    assert error_of(pp, deep).loc.file == "t.p4"


def test_unreadable_main_file_is_a_compile_error(tmp_path: Path) -> None:
    err = error_of(preprocess_file, str(tmp_path / "absent.p4"))
    assert "absent.p4" in err.message


# ---------------------------------------------------------------------------------------------
# The architecture files


def test_core_and_v1model_preprocess(tmp_path: Path) -> None:
    main = write(
        tmp_path / "prog.p4",
        "#include <core.p4>\n#include <v1model.p4>\nconst bit<32> v = __v1model_version;\n",
    )
    out = preprocess_file(main)
    text = code(out)
    assert where(out, "const bit<32> v =") == (main, 3)
    assert "const bit<32> __v1model_version = 20180101;" in text
    assert '@noWarn("unused") action NoAction() {}' in text
    assert (
        "error { NoError, PacketTooShort, NoMatch, StackOutOfBounds, HeaderTooShort, "
        "ParserTimeout, ParserInvalidArgument }"
    ) in text
    assert "match_kind { exact, ternary, lpm }" in text
    assert "match_kind { range, optional, selector }" in text
    assert (
        '@metadata @name("standard_metadata") struct standard_metadata_t { '
        "bit<9> ingress_port; bit<9> egress_spec; bit<9> egress_port; "
        "bit<32> instance_type; bit<32> packet_length;"
    ) in text
    assert "PortId_t" not in text
    assert "extern register<T> {" in text
    assert out.count("action NoAction") == 1  # core.p4 is guarded against v1model's include


def test_v1model_2020_revision(tmp_path: Path) -> None:
    main = write(tmp_path / "prog.p4", "#include <v1model.p4>\n")
    text = code(preprocess_file(main, defines={"V1MODEL_VERSION": "20200408"}))
    assert "const bit<32> __v1model_version = 20200408;" in text
    assert "typedef bit<9> PortId_t;" in text
    assert "PortId_t ingress_port; PortId_t egress_spec; PortId_t egress_port;" in text
    assert (
        "extern register<T, I> { register(bit<32> size); @noSideEffects "
        "void read(out T result, in I index);"
    ) in text
    assert "extern counter <I> {" in text
    assert "@alias(\"intrinsic_metadata.priority\") bit<3> priority; }" in text


def test_v1model_version_selected_in_the_program(tmp_path: Path) -> None:
    main = write(tmp_path / "prog.p4", "#define V1MODEL_VERSION 20200408\n#include <v1model.p4>\n")
    assert "typedef bit<9> PortId_t;" in code(preprocess_file(main))


def test_architecture_macros_are_visible_to_programs(tmp_path: Path) -> None:
    main = write(
        tmp_path / "prog.p4",
        "#include <v1model.p4>\n#if defined(_V1_MODEL_P4_) && defined(_CORE_P4_)\n"
        "const bit<2> red = V1MODEL_METER_COLOR_RED;\n#endif\n",
    )
    assert "const bit<2> red = 2;" in code(preprocess_file(main))


# ---------------------------------------------------------------------------------------------
# Speed


def test_a_6000_line_program_keeps_every_line(tmp_path: Path) -> None:
    part = ["#define W 16\n#define F(h, i) h.f ## i\n"]
    for i in range(1000):
        part.append(
            f"header h{i}_t {{\n  bit<W> a; // field\n  bit<8> F(x, {i});\n}}\n/* gap */\n\n"
        )
    write(tmp_path / "part.p4", "".join(part))
    main = write(tmp_path / "main.p4", '#include <core.p4>\n#include <v1model.p4>\n'
                 '#include "part.p4"\n')
    out = preprocess_file(main)
    assert "bit<8> x.f999;" in out
    assert out.count("bit<16> a;") == 1000
