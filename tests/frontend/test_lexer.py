"""The P4_16 tokenizer: token kinds, literals, operators, locations and line markers."""

from __future__ import annotations

import pytest

from softswitch.frontend.errors import CompileError, Loc
from softswitch.frontend.lexer import KEYWORDS, int_value, tokenize


def kinds(text: str) -> list[str]:
    return [t.kind for t in tokenize(text, "t.p4")][:-1]


def texts(text: str) -> list[str]:
    return [t.text for t in tokenize(text, "t.p4")][:-1]


def test_ends_with_eof():
    toks = tokenize("", "t.p4")
    assert [t.kind for t in toks] == ["EOF"]
    assert toks[0].loc == Loc("t.p4", 1, 1)


@pytest.mark.parametrize(
    "word",
    [
        "list", "for", "in", "break", "continue", "priority", "type", "this", "abstract",
        "value_set", "header_union", "match_kind", "error", "entries", "package", "exit",
        "return", "_", "tuple", "varbit", "transition", "select", "apply", "key", "actions",
    ],
)  # fmt: skip
def test_keywords(word):
    assert word in KEYWORDS
    assert kinds(word) == [word]


def test_identifiers_are_not_keywords():
    assert kinds("listing _x x_ forx state_t") == ["ID"] * 5


@pytest.mark.parametrize(
    "text,value,width,signed",
    [
        ("0", 0, None, False),
        ("1_000", 1000, None, False),
        ("0x1F", 31, None, False),
        ("0XfF", 255, None, False),
        ("0o17", 15, None, False),
        ("0b1010", 10, None, False),
        ("0B1_1", 3, None, False),
        ("0d99", 99, None, False),
        ("8w0xFF", 255, 8, False),
        ("32w255", 255, 32, False),
        ("16w0377", 377, 16, False),  # a leading 0 is not octal
        ("16w0o377", 255, 16, False),
        ("8w0b_1010_1010", 170, 8, False),
        ("8s0b1010_1010", 170, 8, True),  # the raw value; the checker wraps it to -86
        ("4s3", 3, 4, True),
        ("2s0d1", 1, 2, True),
    ],
)
def test_integer_literals(text, value, width, signed):
    toks = tokenize(text, "t.p4")
    assert [t.kind for t in toks] == ["INT", "EOF"]
    assert toks[0].text == text
    assert toks[0].value == (value, width, signed)
    assert int_value(text) == (value, width, signed)


def test_negative_width_literal_is_minus_then_literal():
    toks = tokenize("-16s1", "t.p4")
    assert [t.kind for t in toks][:-1] == ["-", "INT"]
    assert toks[1].value == (1, 16, True)
    # ``16s-1`` is not one literal (as in p4c): it falls apart into 16, s, -, 1
    assert kinds("16s-1") == ["INT", "ID", "-", "INT"]


def test_literal_followed_by_range_and_identifier():
    assert texts("1..5") == ["1", "..", "5"]
    assert kinds("8wx") == ["INT", "ID"]


def test_string_literals_keep_escapes_verbatim():
    toks = tokenize(r'"a\"b\\" "x\ny" ""', "t.p4")
    assert [t.kind for t in toks][:-1] == ["STR", "STR", "STR"]
    assert toks[0].text == r"a\"b\\"
    assert toks[0].spelling() == r'"a\"b\\"'
    assert toks[1].text == r"x\ny"
    assert toks[2].text == ""


def test_string_with_newline_counts_lines():
    toks = tokenize('"a\nb" x', "t.p4")
    assert toks[0].text == "a\nb"
    assert toks[1].loc == Loc("t.p4", 2, 4)


@pytest.mark.parametrize(
    "op",
    [
        "&&&", "..", "...", "++", "|+|", "|-|", "<<", "&&", "||", "==", "!=", "<=", ">=",
        "+=", "-=", "*=", "/=", "%=", "<<=", "&=", "|=", "^=", "|+|=", "|-|=", "{#}", "+:",
        "@", "?", ":", ".", "~", "!",
    ],
)  # fmt: skip
def test_operators_are_single_tokens(op):
    assert texts(f"a {op} b") == ["a", op, "b"]


def test_longest_operator_wins():
    assert texts("a&&&b") == ["a", "&&&", "b"]
    assert texts("a&&b") == ["a", "&&", "b"]
    assert texts("a|+|=b") == ["a", "|+|=", "b"]
    assert texts("a<<=b") == ["a", "<<=", "b"]
    assert texts("x[0+:8]") == ["x", "[", "0", "+:", "8", "]"]
    assert texts("{...}") == ["{", "...", "}"]


def test_shift_right_is_two_tokens_with_adjacency():
    toks = tokenize("a >> b > > c", "t.p4")
    assert [t.text for t in toks][:-1] == ["a", ">", ">", "b", ">", ">", "c"]
    assert [t.adj for t in toks if t.kind == ">"] == [True, False, False, False]


def test_shift_assign_is_gt_then_ge():
    toks = tokenize("a >>= 1", "t.p4")
    assert [t.kind for t in toks][:-1] == ["ID", ">", ">=", "INT"]
    assert toks[1].adj


def test_generic_closing_angles():
    toks = tokenize("bit<bit<8>>", "t.p4")
    gts = [t for t in toks if t.kind == ">"]
    assert len(gts) == 2 and gts[0].adj and not gts[1].adj


def test_comments_are_skipped_and_lines_counted():
    text = "a // one\n/* two\n three */ b\n  c"
    toks = tokenize(text, "t.p4")
    assert [(t.text, t.loc.line, t.loc.col) for t in toks][:-1] == [
        ("a", 1, 1),
        ("b", 3, 11),
        ("c", 4, 3),
    ]


def test_columns_are_one_based():
    toks = tokenize("\tx  yy", "t.p4")
    assert [t.loc.col for t in toks][:-1] == [2, 5]


def test_gcc_line_markers():
    text = '# 1 "main.p4"\na\n# 10 "inc/core.p4" 1 3\nb\nc\n# 3 "main.p4" 2\nd\n'
    toks = tokenize(text, "pre.i")
    assert [(t.text, t.loc.file, t.loc.line) for t in toks][:-1] == [
        ("a", "main.p4", 1),
        ("b", "inc/core.p4", 10),
        ("c", "inc/core.p4", 11),
        ("d", "main.p4", 3),
    ]


def test_hash_line_directive_and_other_hash_lines():
    text = '#line 7 "x.p4"\na\n  #pragma once\nb\n# 20\nc'
    toks = tokenize(text, "pre.i")
    assert [(t.text, t.loc.file, t.loc.line) for t in toks][:-1] == [
        ("a", "x.p4", 7),
        ("b", "x.p4", 9),
        ("c", "x.p4", 20),
    ]


def test_newline_flag_marks_line_starts():
    toks = tokenize("a b\nc /* \n */ d e", "t.p4")
    assert [t.nl for t in toks][:-1] == [False, False, True, True, False]


def test_stray_characters_become_err_tokens():
    toks = tokenize("a $ # b", "t.p4")
    assert [(t.kind, t.text) for t in toks][:-1] == [
        ("ID", "a"),
        ("ERR", "$"),
        ("ERR", "#"),
        ("ID", "b"),
    ]
    assert toks[2].loc == Loc("t.p4", 1, 5)


def test_unterminated_comment_is_located():
    with pytest.raises(CompileError) as ei:
        tokenize("a\n  /* never closed", "t.p4")
    assert ei.value.loc == Loc("t.p4", 2, 3)
    assert "unterminated comment" in ei.value.message


def test_unterminated_string_is_located():
    with pytest.raises(CompileError) as ei:
        tokenize('x = "abc', "t.p4")
    assert ei.value.loc == Loc("t.p4", 1, 5)
    assert "unterminated string" in ei.value.message
