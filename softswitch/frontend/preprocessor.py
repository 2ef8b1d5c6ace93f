"""A C-style preprocessor for P4 source.

p4c hands every program to ``cpp -C -undef -nostdinc -x assembler-with-cpp``; this module gives the
same results without an external tool. The assembler flavour matters: ``'`` is an ordinary
character, ``#`` in a macro body need not name a parameter, and pasting may yield two tokens.
P4 string literals may span lines, so strings are recognised across newlines: comment markers
inside them are kept, and a ``# 12 "file"`` line inside one stays string content (cpp in
assembler mode passes such lines through, and p4c's lexer reads them as part of the string).

Output contract (what the lexer relies on): plain text in which a line ``# <line> "<file>"`` says the
next line is line ``<line>`` of ``<file>``. Within one file the output has exactly as many lines as
the source (directives, skipped lines and comment lines become blank lines, a multi-line macro
call is followed by the newlines it swallowed), so markers appear only at the start of a file, after
an ``#include`` returns, and for ``#line``. Comments are blanked with spaces so columns survive.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import CompileError, Loc, register_source

__all__ = ["BUILTIN_INCLUDE_DIR", "preprocess_file", "preprocess_text"]

BUILTIN_INCLUDE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "p4include")

_MAX_INCLUDE_DEPTH = 200  # GCC's limit; it also stops runaway self-inclusion.

# Token kinds. Tokens are (kind, text, hideset) tuples: cheap to build and compare.
_NL, _WS, _ID, _NUM, _STR, _OP, _PAD, _PLACE, _RNL = range(9)
_SPACE = (_WS, " ", None)
# PAD marks where a macro expansion begins or ends, so output can avoid accidental pasting.
_PADTOK = (_PAD, "", None)
# A newline swallowed by a multi-line macro call, put back after the expansion.
_RNLTOK = (_RNL, "\n", None)
_PLACETOK = (_PLACE, "", None)
_BLANK = frozenset((_WS, _NL, _RNL, _PAD))

# pp-numbers follow C (``1e+5`` is one token) so that identifiers inside ``8w0xFF`` are not macros.
_PPNUM = r"\.?[0-9](?:[eEpP][+-]|[\w.])*"
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
# cpp in assembler mode still lexes a well-formed one-line '...' as a character constant.
_CHAR = r"'(?:[^'\\\n]|\\.)*'"
_TOKEN_RE = re.compile(
    r"(\n)|([ \t\r\f\v]+)|([A-Za-z_]\w*)|(" + _PPNUM + ")|(" + _STRING + "|" + _CHAR
    + r")|(##|\.\.\.|.)",
    re.S | re.A,
)
_KIND_OF_GROUP = (None, _NL, _WS, _ID, _NUM, _STR, _OP)
_IDENT_RE = re.compile(r"[A-Za-z_]\w*", re.A)
_SPACES_RE = re.compile(r"[ \t\r\f\v\n]*")
# Strings first, so comment openers inside them are left alone; an unterminated /* is an error.
_CLEAN_RE = re.compile(_STRING + r"|//[^\n]*|/\*.*?\*/|/\*", re.S)
_SPLICE_RE = re.compile(r"\\[ \t\f\v]*\n")
_DIRECTIVE_RE = re.compile(r"[ \t\f\v]*#[ \t\f\v]*([A-Za-z_]\w*|[0-9]\w*)?", re.A)
_INCLUDE_ARG_RE = re.compile(r'\s*(?:"([^"]*)"|<([^>]*)>)\s*(.*)$', re.S)
_LINE_ARG_RE = re.compile(r'\s*([0-9]+)\s*(?:(' + _STRING + r")\s*)?(.*)$", re.S)

# The rest of a macro call's argument list after "(" (nesting one level deep), so the common call
# is read with one match; anything harder falls back to reading token by token. Each alternative
# starts with a different character, so a failing match cannot backtrack exponentially.
_ARGS_TAIL_RE = re.compile(
    r"(?:[^()\"]|" + _STRING + r"|\((?:[^()\"]|" + _STRING + r")*\))*\)", re.S
)

_PASTE_OPS = frozenset("+-*/%<>=!&|^.:#")


def preprocess_file(
    path: str,
    include_dirs: Iterable[str] = (),
    defines: Mapping[str, str | None] | None = None,
) -> str:
    """Preprocess the P4 file at ``path`` and return the text with line markers.

    ``include_dirs`` are searched in order (after the including file's directory for ``"x"``),
    then the built-in architecture directory. ``defines`` maps names to values as ``-D`` would:
    ``None`` defines the name as ``1``; ``"NAME(a)"`` keys define function-like macros.
    Raises :class:`CompileError` for every problem, located where it can be.
    """
    try:
        text = _read(path)
    except OSError as exc:
        raise CompileError(None, f"cannot read {path}: {exc.strerror or exc}") from None
    return preprocess_text(text, path, include_dirs, defines)


def preprocess_text(
    text: str,
    filename: str,
    include_dirs: Iterable[str] = (),
    defines: Mapping[str, str | None] | None = None,
) -> str:
    """Preprocess ``text`` as if it were read from ``filename``; see :func:`preprocess_file`.

    Quoted includes are looked up relative to the directory of ``filename`` first.
    """
    pp = _Preprocessor(list(include_dirs), filename)
    for name, value in (defines or {}).items():
        pp.define_from_option(name, value)
    register_source(filename, text)
    try:
        pp.run_file(_normalise_newlines(text), filename, 0)
    except RecursionError:
        # Only absurd nesting of macro arguments (hundreds deep) gets here.
        raise CompileError(pp.ref_loc(), "macro calls nest too deeply") from None
    return "".join(pp.out)


# ----------------------------------------------------------------------------------------------
# Reading and cleaning a file


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return fh.read()


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _splice(text: str) -> str:
    """Join backslash-continued lines; the newlines removed are put back after the joined line,
    so every later line keeps its number."""
    pieces = _SPLICE_RE.split(text)
    if len(pieces) == 1:
        return text
    out = [pieces[0]]
    pending = 0
    for piece in pieces[1:]:
        pending += 1
        end = piece.find("\n")
        if end < 0:
            out.append(piece)
            continue
        out.append(piece[: end + 1] + "\n" * pending + piece[end + 1 :])
        pending = 0
    if pending:
        out.append("\n" * pending)
    return "".join(out)


def _blank_comments(text: str, file: str) -> tuple[str, set[int], dict[int, int]]:
    """Replace comments by spaces (newlines kept) and find lines that start inside a string.

    Returns the new text, the 0-based indexes of lines that continue a multi-line string literal,
    and for each multi-line block comment the line where it starts mapped to the line where it
    ends (a directive continues to the comment's end).
    """
    in_string: set[int] = set()
    spans: dict[int, int] = {}

    def repl(m: re.Match[str]) -> str:
        s = m.group()
        if s[0] == '"':
            if "\n" in s:
                first = text.count("\n", 0, m.start())
                in_string.update(range(first + 1, first + 1 + s.count("\n")))
            return s
        if s[1] == "/":
            return ""
        if len(s) == 2 or not s.endswith("*/"):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - text.rfind("\n", 0, m.start())
            raise CompileError(Loc(file, line, col), "unterminated comment")
        if "\n" not in s:
            return " " * len(s)
        first = text.count("\n", 0, m.start())
        spans[first] = first + s.count("\n")
        return "\n".join(" " * len(part) for part in s.split("\n"))

    if "/" not in text and '"' not in text:
        return text, in_string, spans
    return _CLEAN_RE.sub(repl, text), in_string, spans


# ----------------------------------------------------------------------------------------------
# Macros


# Substitution plan steps, computed once per macro definition.
_P_TOKEN, _P_STRINGIZE, _P_RAW, _P_EXPANDED, _P_PASTE = range(5)


@dataclass(slots=True)
class _Macro:
    name: str
    params: tuple[str, ...] | None  # None for object-like macros
    variadic: bool = False
    body: list[tuple] = field(default_factory=list)
    builtin: bool = False
    plan: list[tuple] = field(default_factory=list)
    # For an object-like macro whose body has no identifiers and no ##: its expansion is fixed.
    fixed: str | None = None

    def __post_init__(self) -> None:
        pindex = {p: i for i, p in enumerate(self.params or ())}
        self.plan = _make_plan(self.body, pindex, self.params is not None)
        if self.params is None and not self.builtin and not any(
            t[0] == _ID or (t[0] == _OP and t[1] == "##") for t in self.body
        ):
            self.fixed = "".join(t[1] for t in self.body)


def _make_plan(body: list[tuple], pindex: dict[str, int], function_like: bool) -> list[tuple]:
    """Decide once how each body token is substituted: which parameters are stringized, pasted
    raw or macro-expanded first, and where ``##`` joins its neighbours."""
    plan: list[tuple] = []
    i, n = 0, len(body)
    while i < n:
        tok = body[i]
        kind, text, _ = tok
        if function_like and kind == _OP and text == "#":
            j = _next_nonblank(body, i + 1)
            if j < n and body[j][0] == _ID and body[j][1] in pindex:
                plan.append((_P_STRINGIZE, pindex[body[j][1]]))
                i = j + 1
                continue
        elif kind == _OP and text == "##":
            while plan and plan[-1][0] == _P_TOKEN and plan[-1][1][0] in _BLANK:
                plan.pop()
            j = _next_nonblank(body, i + 1)
            rhs = body[j]
            idx = pindex.get(rhs[1], -1) if rhs[0] == _ID else -1
            plan.append((_P_PASTE, rhs, idx))
            i = j + 1
            continue
        elif kind == _ID and text in pindex:
            j = _next_nonblank(body, i + 1)
            raw = j < n and body[j][0] == _OP and body[j][1] == "##"
            plan.append((_P_RAW if raw else _P_EXPANDED, pindex[text]))
            i += 1
            continue
        plan.append((_P_TOKEN, tok))
        i += 1
    return plan


_BUILTINS = ("__FILE__", "__LINE__", "__COUNTER__", "__INCLUDE_LEVEL__", "__BASE_FILE__")


def _tokenize(text: str) -> list[tuple]:
    return [(_KIND_OF_GROUP[m.lastindex], m.group(), None) for m in _TOKEN_RE.finditer(text)]


def _strip_blank(toks: list[tuple]) -> list[tuple]:
    a, b = 0, len(toks)
    while a < b and toks[a][0] in _BLANK:
        a += 1
    while b > a and toks[b - 1][0] in _BLANK:
        b -= 1
    return toks[a:b]


def _next_nonblank(toks: list[tuple], i: int) -> int:
    while i < len(toks) and toks[i][0] in _BLANK:
        i += 1
    return i


def _stringize(arg: list[tuple]) -> tuple:
    parts: list[str] = []
    for kind, text, _ in arg:
        if kind in _BLANK:
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif kind == _STR:
            parts.append(text.replace("\\", "\\\\").replace('"', '\\"'))
        elif kind != _PLACE:
            parts.append(text)
    return (_STR, '"' + "".join(parts).strip() + '"', None)


def _paste(lhs: tuple, rhs: tuple) -> list[tuple]:
    # In assembler mode cpp accepts a paste that does not form one token (the pieces just sit
    # side by side), so the joined text is simply re-read as tokens.
    return _tokenize(lhs[1] + rhs[1])


def _would_paste(a: str, b: str) -> bool:
    if a.isalnum() or a == "_":
        return b.isalnum() or b == "_"
    return a in _PASTE_OPS and b in _PASTE_OPS


class _Source:
    """The rest of a text chunk, read one token at a time when a macro call needs it."""

    __slots__ = ("text", "pos", "line")

    def __init__(self, text: str, pos: int, line: int):
        self.text = text
        self.pos = pos
        self.line = line

    def next(self) -> tuple | None:
        if self.pos >= len(self.text):
            return None
        m = _TOKEN_RE.match(self.text, self.pos)
        self.pos = m.end()
        kind = _KIND_OF_GROUP[m.lastindex]
        if kind == _NL:
            self.line += 1
        return (kind, m.group(), None)


# ----------------------------------------------------------------------------------------------
# The preprocessor


class _Frame:
    """Per-file state: conditional stack, presumed name and line offset, include-guard tracking."""

    __slots__ = ("path", "dir", "presumed", "delta", "conds", "mi_state", "mi_name", "mi_depth")

    def __init__(self, path: str):
        self.path = path
        self.dir = os.path.dirname(path)
        self.presumed = path
        self.delta = 0  # presumed line = physical line + delta (changed by #line)
        # Each entry: [loc, directive, active, taken, seen_else]
        self.conds: list[list] = []
        # Multiple-include optimisation, as cpp does it: 0 = nothing seen yet, 1 = inside the
        # candidate #ifndef guard, 2 = after its #endif, -1 = the file is not wholly guarded.
        self.mi_state = 0
        self.mi_name = ""
        self.mi_depth = 0

    @property
    def active(self) -> bool:
        return not self.conds or self.conds[-1][2]


class _Preprocessor:
    def __init__(self, include_dirs: list[str], base_file: str):
        self.include_dirs = include_dirs
        self.base_file = base_file
        self.macros: dict[str, _Macro] = {n: _Macro(n, None, builtin=True) for n in _BUILTINS}
        self.out: list[str] = []
        self.once: set[str] = set()
        self.guards: dict[str, str] = {}
        self.counter = 0
        self.rescan = False  # set by _substitute: does its result hold anything expandable?
        # In a #if expression "defined" is an operator, also when a macro expansion produced it.
        self.in_if = False
        self.depth = 0
        self.frame: _Frame | None = None
        self.src: _Source | None = None  # the chunk being expanded, for __LINE__
        self.dir_line = 0  # presumed line of the directive being processed, for __LINE__
        # Where the outermost macro call being expanded starts: (file, line, chunk, offset); the
        # Loc is only built when a diagnostic needs it.
        self.ref: tuple[str, int, str, int] = (base_file, 1, "", 0)
        self._run_cache: dict[frozenset[str], re.Pattern[str]] = {}

    # -- driving ------------------------------------------------------------------------------

    def define_from_option(self, name: str, value: str | None) -> None:
        """``-D``: ``NAME`` (value None) means 1; a ``NAME=VALUE`` key is split like cpp does."""
        if value is None and "=" in name:
            name, value = name.split("=", 1)
        body = "1" if value is None else str(value)
        loc = Loc("<command line>", 1, 1)
        self.define(f"{name} {body}", loc)

    def run_file(self, text: str, path: str, depth: int) -> None:
        """Preprocess one file's text (newlines already normalised) into ``self.out``."""
        frame = _Frame(path)
        saved_frame, saved_depth = self.frame, self.depth
        self.frame, self.depth = frame, depth
        try:
            self._run(text, frame)
        finally:
            self.frame, self.depth = saved_frame, saved_depth

    def _run(self, text: str, frame: _Frame) -> None:
        if "\\" in text:
            text = _splice(text)
        text, in_string, spans = _blank_comments(text, frame.path)
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        out = self.out
        out.append(_marker(1, frame.presumed))
        start = 0  # first line of the pending run of text lines
        i, n = -1, len(lines)
        while i + 1 < n:
            i += 1
            line = lines[i]
            if "#" not in line:
                continue
            m = _DIRECTIVE_RE.match(line)
            if m is None:
                continue
            if i in in_string and (m.group(1) or "")[:1].isdigit():
                # cpp in assembler mode passes "# 12 ..." lines through, so inside a multi-line
                # string (where p4c's lexer reads them as text) they stay string content.
                continue
            self._flush(lines, start, i, frame)
            last = i
            while last in spans and spans[last] < n:
                last = spans[last]
            if last > i:
                # A block comment that starts on the directive line continues the directive.
                line = " ".join(lines[i : last + 1])
                out.append("\n" * (last - i))
            start = last + 1
            self._directive(line, m, i, frame, last)
            i = last
        self._flush(lines, start, len(lines), frame)
        if frame.conds:
            loc, name = frame.conds[-1][0], frame.conds[-1][1]
            raise CompileError(loc, f"unterminated #{name}")
        if frame.mi_state == 2:
            self.guards[os.path.realpath(frame.path)] = frame.mi_name

    def _flush(self, lines: list[str], a: int, b: int, frame: _Frame) -> None:
        if a >= b:
            return
        if not frame.active:
            self.out.append("\n" * (b - a))
            return
        chunk = "\n".join(lines[a:b]) + "\n"
        if frame.mi_state in (0, 2) and not chunk.isspace():
            frame.mi_state = -1
        self.out.append(self._expand_chunk(chunk, a + 1 + frame.delta))

    # -- macro expansion of text ----------------------------------------------------------------

    def _run_re(self, names: frozenset[str]) -> re.Pattern[str]:
        """A regex matching the longest stretch of text that holds no call of ``names``."""
        pat = self._run_cache.get(names)
        if pat is None:
            alts = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
            pat = re.compile(
                r'(?:[^"\w.]+|' + _STRING + r'|"|' + _PPNUM + r"|\.|(?!(?:" + alts + r")(?!\w))"
                r"[A-Za-z_]\w*)*",
                re.A,
            )
            if len(self._run_cache) > 256:
                self._run_cache.clear()
            self._run_cache[names] = pat
        return pat

    def _expand_chunk(self, chunk: str, line: int) -> str:
        """Expand macros in a run of ordinary lines whose first line is presumed ``line``."""
        used = self.macros.keys() & set(_IDENT_RE.findall(chunk))
        if not used:
            return chunk
        run = self._run_re(frozenset(used))
        parts: list[str] = []
        pos, n = 0, len(chunk)
        while True:
            end = run.match(chunk, pos).end()
            if end > pos:
                parts.append(chunk[pos:end])
                line += chunk.count("\n", pos, end)
            if end >= n:
                break
            prev = parts[-1][-1:] if parts else ""
            ident = _IDENT_RE.match(chunk, end)
            fixed = self.macros[ident.group()].fixed
            if fixed is not None:
                # A constant-like macro: no rescanning can change it, so skip the machinery.
                nxt = ident.end()
                if fixed:
                    if prev and _would_paste(prev, fixed[0]):
                        parts.append(" ")
                    parts.append(fixed)
                    last = fixed[-1]
                else:
                    last = prev
                if last and nxt < n and _would_paste(last, chunk[nxt]):
                    parts.append(" ")
                pos = nxt
                continue
            self.ref = (self.frame.presumed, line, chunk, end)
            src = _Source(chunk, end, line)
            self.src = src
            try:
                first = src.next()
                toks = self._expand([first], src)
            finally:
                self.src = None
            text, pad_after = _render(toks, prev)
            if text:
                parts.append(text)
            last = text[-1] if text else prev
            if pad_after and src.pos < n and last and _would_paste(last, chunk[src.pos]):
                parts.append(" ")
            pos, line = src.pos, src.line
        return "".join(parts)

    def _expand(self, stack: list[tuple], src: _Source | None) -> list[tuple]:
        """Macro-expand tokens, Prosser style: the stack's top is its end; hide sets block
        recursion. With ``src``, a call may take its arguments from the text that follows."""
        out: list[tuple] = []
        macros = self.macros
        while stack:
            tok = stack.pop()
            kind, name, hs = tok
            if kind != _ID:
                out.append(tok)
                continue
            macro = macros.get(name)
            if macro is None or (hs is not None and name in hs):
                if name == "defined" and self.in_if:
                    out.append(self._defined(stack))
                    continue
                out.append(tok)
                continue
            if macro.builtin:
                out.append(self._builtin(name))
                continue
            if macro.fixed is not None:
                out.append(_PADTOK)
                out.extend(macro.body)
                out.append(_PADTOK)
                continue
            if macro.params is None:
                new_hs = hs | {name} if hs else frozenset((name,))
                repl = self._substitute(macro, None, new_hs)
                if self.rescan:
                    stack.append(_PADTOK)
                    stack.extend(reversed(repl))
                    stack.append(_PADTOK)
                else:
                    out.append(_PADTOK)
                    out.extend(repl)
                    out.append(_PADTOK)
                continue
            swallowed = self._take_lparen(stack, src)
            if swallowed < 0:
                out.append(tok)
                continue
            args, rp_hs, more = self._collect_args(macro, stack, src)
            both = hs & rp_hs if hs and rp_hs else frozenset()
            repl = self._substitute(macro, args, both | {name})
            if swallowed + more:
                stack.extend([_RNLTOK] * (swallowed + more))
            if self.rescan:
                stack.append(_PADTOK)
                stack.extend(reversed(repl))
                stack.append(_PADTOK)
            else:
                # Nothing in it can expand: rescanning would only copy it to the output.
                out.append(_PADTOK)
                out.extend(repl)
                out.append(_PADTOK)
        return out

    def ref_loc(self) -> Loc:
        """Where the macro call (or directive) being worked on starts."""
        file, line, chunk, offset = self.ref
        if not chunk:
            return Loc(file, line, 1)
        return Loc(file, line, offset - chunk.rfind("\n", 0, offset))

    def _take_lparen(self, stack: list[tuple], src: _Source | None) -> int:
        """Consume the ``(`` after a function-like macro name; -1 if there is none, else the
        number of newlines skipped on the way."""
        i = len(stack) - 1
        while i >= 0 and stack[i][0] in _BLANK:
            i -= 1
        if i >= 0:
            if stack[i][1] != "(" or stack[i][0] != _OP:
                return -1
            newlines = sum(1 for t in stack[i + 1 :] if t[0] == _RNL or t[0] == _NL)
            del stack[i:]
            return newlines
        if src is None:
            return -1
        text = src.text
        if text.startswith("(", src.pos):
            newlines = sum(1 for t in stack if t[0] == _RNL or t[0] == _NL)
            stack.clear()
            src.pos += 1
            return newlines
        end = _SPACES_RE.match(text, src.pos).end()
        if end >= len(text) or text[end] != "(":
            return -1
        skipped = text.count("\n", src.pos, end)
        newlines = skipped + sum(1 for t in stack if t[0] == _RNL or t[0] == _NL)
        stack.clear()
        src.line += skipped
        src.pos = end + 1
        return newlines

    def _collect_args(
        self, macro: _Macro, stack: list[tuple], src: _Source | None
    ) -> tuple[list[list[tuple]], frozenset[str] | None, int]:
        params = macro.params or ()
        nparams = len(params)
        args: list[list[tuple]] = [[]]
        depth = 0
        newlines = 0
        if not stack and src is not None:
            m = _ARGS_TAIL_RE.match(src.text, src.pos)
            if m is not None:
                text = m.group()
                src.pos = m.end()
                nl = text.count("\n")
                src.line += nl
                if "(" not in text and '"' not in text and "'" not in text:
                    # The usual call: no nesting, no literals; split the text directly.
                    inner = text[:-1].replace("\n", " ") if nl else text[:-1]
                    parts = inner.split(",")
                    if macro.variadic and len(parts) > nparams:
                        parts[nparams - 1 :] = [",".join(parts[nparams - 1 :])]
                    args = [_strip_blank(_tokenize(part)) for part in parts]
                    return self._check_args(macro, args), None, nl
                stack.extend(reversed(_tokenize(text)))
        while True:
            if stack:
                tok = stack.pop()
            else:
                tok = src.next() if src is not None else None
                if tok is None:
                    raise CompileError(
                        self.ref_loc(), f'unterminated argument list invoking macro "{macro.name}"'
                    )
            kind = tok[0]
            if kind == _NL or kind == _RNL:
                newlines += 1
                args[-1].append(_SPACE)
                continue
            if kind == _PAD:
                continue
            if kind == _OP:
                c = tok[1]
                if c == "(":
                    depth += 1
                elif c == ")":
                    if depth == 0:
                        rp_hs = tok[2]
                        break
                    depth -= 1
                elif c == "," and depth == 0 and not (macro.variadic and len(args) == nparams):
                    args.append([])
                    continue
            args[-1].append(tok)
        return self._check_args(macro, [_strip_blank(a) for a in args]), rp_hs, newlines

    def _check_args(self, macro: _Macro, args: list[list[tuple]]) -> list[list[tuple]]:
        nparams = len(macro.params or ())
        given = len(args)
        if nparams == 0:
            if given == 1 and not args[0]:
                return []
            raise CompileError(
                self.ref_loc(),
                f'macro "{macro.name}" passed {given} arguments, but takes just 0',
            )
        if given < nparams:
            if macro.variadic and given == nparams - 1:
                args.append([])
            else:
                raise CompileError(
                    self.ref_loc(),
                    f'macro "{macro.name}" requires {nparams} arguments, but only {given} given',
                )
        elif given > nparams:
            raise CompileError(
                self.ref_loc(),
                f'macro "{macro.name}" passed {given} arguments, but takes just {nparams}',
            )
        return args

    def _substitute(
        self, macro: _Macro, args: list[list[tuple]] | None, hs: frozenset[str]
    ) -> list[tuple]:
        """The macro body with arguments put in, ``#`` and ``##`` applied, ``hs`` added."""
        out: list[tuple] = []
        expanded: dict[int, list[tuple]] = {}
        vararg = len(macro.params) - 1 if macro.variadic else -1
        for step in macro.plan:
            code = step[0]
            if code == _P_TOKEN:
                out.append(step[1])
            elif code == _P_EXPANDED:
                idx = step[1]
                toks = expanded.get(idx)
                if toks is None:
                    toks = expanded[idx] = self._expand_arg(args[idx])
                out.extend(toks)
            elif code == _P_RAW:
                out.extend(args[step[1]] or (_PLACETOK,))
            elif code == _P_STRINGIZE:
                out.append(_stringize(args[step[1]]))
            else:
                _, rhs, idx = step
                rtoks = args[idx] if idx >= 0 else [rhs]
                lhs = out.pop() if out else _PLACETOK
                if idx >= 0 and idx == vararg and lhs[0] == _OP and lhs[1] == ",":
                    # GNU ", ## __VA_ARGS__": the comma disappears with empty variable arguments.
                    if rtoks:
                        out.append(lhs)
                        out.extend(rtoks)
                elif lhs[0] == _PLACE:
                    out.extend(rtoks or (_PLACETOK,))
                elif not rtoks:
                    out.append(lhs)
                else:
                    out.extend(_paste(lhs, rtoks[0]))
                    out.extend(rtoks[1:])
        # Only identifiers that name macros can ever expand, so only they need the hide set.
        macros = self.macros
        result = []
        rescan = False
        for tok in out:
            kind = tok[0]
            if kind == _ID and tok[1] in macros:
                new_hs = tok[2] | hs if tok[2] else hs
                tok = (_ID, tok[1], new_hs)
                rescan = rescan or tok[1] not in new_hs
            elif kind == _PLACE:
                continue
            result.append(tok)
        self.rescan = rescan or self.in_if
        return result

    def _expand_arg(self, arg: list[tuple]) -> list[tuple]:
        """Fully expand one macro argument on its own, skipping the work when nothing in it
        names a macro that may expand."""
        macros = self.macros
        for kind, text, hs in arg:
            if kind == _ID and text in macros and not (hs and text in hs):
                return self._expand(arg[::-1], None)
        return arg

    def _builtin(self, name: str) -> tuple:
        frame = self.frame
        if name == "__LINE__":
            line = self.src.line if self.src is not None else self.dir_line
            return (_NUM, str(line), None)
        if name == "__FILE__":
            return (_STR, _quote(frame.presumed if frame else self.base_file), None)
        if name == "__BASE_FILE__":
            return (_STR, _quote(self.base_file), None)
        if name == "__INCLUDE_LEVEL__":
            return (_NUM, str(self.depth), None)
        self.counter += 1
        return (_NUM, str(self.counter - 1), None)

    def _expand_line(self, text: str) -> list[tuple]:
        """Fully expand a directive operand and drop blanks."""
        toks = self._expand(_tokenize(text)[::-1], None)
        return [t for t in toks if t[0] not in _BLANK]

    # -- directives -------------------------------------------------------------------------------

    def _loc(self, frame: _Frame, index: int, col: int) -> Loc:
        return Loc(frame.presumed, index + 1 + frame.delta, col)

    def _directive(
        self, line: str, m: re.Match[str], index: int, frame: _Frame, last: int
    ) -> None:
        """Handle the directive that starts on line ``index`` and ends on line ``last``."""
        name = m.group(1) or ""
        rest = line[m.end() :]
        col = (m.start(1) if name else line.index("#")) + 1
        loc = self._loc(frame, index, col)
        self.dir_line = loc.line
        self.ref = (loc.file, loc.line, "", 0)
        if name in ("if", "ifdef", "ifndef", "elif", "else", "endif"):
            self._conditional(name, rest, loc, frame)
            self.out.append("\n")
            return
        if not frame.active:
            self.out.append("\n")
            return
        if frame.mi_state == 2 or (frame.mi_state == 0 and name):
            frame.mi_state = -1
        if name == "define":
            self.define(rest, loc)
        elif name == "undef":
            self._undef(rest, loc)
        elif name == "include":
            self._include(rest, loc, frame, last, m.end())
            return
        elif name == "line" or name[:1].isdigit():
            self._line(name if name[:1].isdigit() else "", rest, loc, frame, last)
            return
        elif name == "error":
            raise CompileError(loc, ("#error " + rest.strip()).rstrip())
        elif name == "warning":
            msg = ("#warning " + rest.strip()).rstrip()
            sys.stderr.write(CompileError(loc, msg, kind="warning").format() + "\n")
        elif name == "pragma":
            # Only ``once`` means anything to us; cpp would pass other pragmas through, but P4
            # has no use for them, so they are dropped rather than handed to the lexer.
            if rest.split()[:1] == ["once"]:
                self.once.add(os.path.realpath(frame.path))
        elif name in ("ident", "sccs") or not (name or rest.strip()):
            pass
        elif not name:
            raise CompileError(loc, f"invalid preprocessing directive {line.strip()}")
        else:
            raise CompileError(loc, f"invalid preprocessing directive #{name}")
        self.out.append("\n")

    def _conditional(self, name: str, rest: str, loc: Loc, frame: _Frame) -> None:
        conds = frame.conds
        if name in ("if", "ifdef", "ifndef"):
            parent_active = frame.active
            if frame.mi_state == 0:
                guard = _guard_name(name, rest)
                if guard:
                    frame.mi_state, frame.mi_name, frame.mi_depth = 1, guard, len(conds)
                else:
                    frame.mi_state = -1
            elif frame.mi_state == 2:
                frame.mi_state = -1
            value = False
            if parent_active:
                if name == "if":
                    value = self._eval_if(rest, loc)
                else:
                    ident = _IDENT_RE.match(rest.strip())
                    if ident is None:
                        raise CompileError(loc, f"no macro name given in #{name} directive")
                    value = (ident.group() in self.macros) == (name == "ifdef")
            conds.append([loc, name, parent_active and value, value, False])
            return
        if not conds:
            raise CompileError(loc, f"#{name} without #if")
        entry = conds[-1]
        parent_active = len(conds) == 1 or conds[-2][2]
        if name == "endif":
            conds.pop()
            if frame.mi_state == 1 and len(conds) == frame.mi_depth:
                frame.mi_state = 2
            return
        if frame.mi_state == 1 and len(conds) == frame.mi_depth + 1:
            frame.mi_state = -1  # a guard with an #else branch does not guard the whole file
        if entry[4]:
            raise CompileError(loc, f"#{name} after #else")
        if name == "else":
            entry[4] = True
            entry[2] = parent_active and not entry[3]
            entry[3] = True
            return
        # #elif is evaluated only when no earlier branch was taken, as GCC does.
        if entry[3] or not parent_active:
            entry[2] = False
            return
        value = self._eval_if(rest, loc)
        entry[2] = entry[3] = value

    def define(self, rest: str, loc: Loc) -> None:
        """Handle the operand of ``#define``."""
        m = _IDENT_RE.match(rest.lstrip(" \t\f\v"))
        if m is None:
            if not rest.strip():
                raise CompileError(loc, "no macro name given in #define directive")
            raise CompileError(loc, "macro names must be identifiers")
        name = m.group()
        if name == "defined":
            raise CompileError(loc, '"defined" cannot be used as a macro name')
        after = rest.lstrip(" \t\f\v")[m.end() :]
        params: tuple[str, ...] | None = None
        variadic = False
        if after.startswith("("):
            close = after.find(")")
            if close < 0:
                raise CompileError(loc, "missing ')' in macro parameter list")
            plist = [p.strip() for p in after[1:close].split(",")]
            if plist == [""]:
                plist = []
            names: list[str] = []
            for k, p in enumerate(plist):
                if p.endswith("...") and k == len(plist) - 1:
                    variadic = True
                    p = p[:-3].strip() or "__VA_ARGS__"
                if not p:
                    raise CompileError(loc, "parameter name missing in macro parameter list")
                if not _IDENT_RE.fullmatch(p):
                    raise CompileError(loc, f'"{p}" may not appear in macro parameter list')
                if p in names:
                    raise CompileError(loc, f'duplicate macro parameter "{p}"')
                names.append(p)
            params = tuple(names)
            after = after[close + 1 :]
        body = []
        for tok in _strip_blank(_tokenize(after)):
            if tok[0] in _BLANK:
                if body and body[-1] is _SPACE:
                    continue
                tok = _SPACE
            body.append(tok)
        if body and ((body[0][0] == _OP and body[0][1] == "##") or (
            body[-1][0] == _OP and body[-1][1] == "##"
        )):
            raise CompileError(loc, "'##' cannot appear at either end of a macro expansion")
        self.macros[name] = _Macro(name, params, variadic, body)

    def _undef(self, rest: str, loc: Loc) -> None:
        m = _IDENT_RE.match(rest.strip())
        if m is None:
            raise CompileError(loc, "no macro name given in #undef directive")
        self.macros.pop(m.group(), None)

    def _include(self, rest: str, loc: Loc, frame: _Frame, index: int, rest_at: int) -> None:
        m = _INCLUDE_ARG_RE.match(rest)
        if m is None:
            # A computed include: expand macros, then it must read "file" or <file>.
            m = _INCLUDE_ARG_RE.match("".join(t[1] for t in self._expand_line(rest)))
            if m is None:
                raise CompileError(loc, '#include expects "FILENAME" or <FILENAME>')
        angled = m.group(1) is None
        name = m.group(2) if angled else m.group(1)
        name_col = rest_at + len(rest) - len(rest.lstrip()) + 1
        name_loc = Loc(loc.file, loc.line, name_col)
        if not name:
            raise CompileError(name_loc, "empty filename in #include")
        if self.depth + 1 >= _MAX_INCLUDE_DEPTH:
            raise CompileError(loc, f"#include nested depth {self.depth + 1} exceeds maximum")
        dirs = list(self.include_dirs) + [BUILTIN_INCLUDE_DIR]
        if not angled:
            dirs.insert(0, frame.dir)
        path = _find_include(name, dirs)
        if path is None:
            shown = f"<{name}>" if angled else f'"{name}"'
            searched = ", ".join(d or "." for d in dirs)
            raise CompileError(name_loc, f"include file {shown} not found (searched: {searched})")
        real = os.path.realpath(path)
        guard = self.guards.get(real)
        if real in self.once or (guard is not None and guard in self.macros):
            self.out.append("\n")
            return
        try:
            text = _read(path)
        except OSError as exc:
            raise CompileError(name_loc, f"cannot read {path}: {exc.strerror or exc}") from None
        register_source(path, text)
        self.run_file(_normalise_newlines(text), path, self.depth + 1)
        self.out.append(_marker(index + 2 + frame.delta, frame.presumed))

    def _line(self, number: str, rest: str, loc: Loc, frame: _Frame, index: int) -> None:
        text = number + rest
        m = _LINE_ARG_RE.match(text)
        if m is None:
            m = _LINE_ARG_RE.match(" ".join(t[1] for t in self._expand_line(text)))
        if m is None:
            words = text.split()
            if not words:
                raise CompileError(loc, "#line directive requires a line number")
            raise CompileError(loc, f'"{words[0]}" after #line is not a positive integer')
        if m.group(2):
            frame.presumed = _unquote(m.group(2))
        # The line after the directive (physical index + 2) becomes line N.
        frame.delta = int(m.group(1)) - (index + 2)
        self.out.append(_marker(int(m.group(1)), frame.presumed))

    # -- #if expressions --------------------------------------------------------------------------

    def _eval_if(self, rest: str, loc: Loc) -> bool:
        toks = _tokenize(rest)
        resolved: list[tuple] = []
        i, n = 0, len(toks)
        while i < n:
            tok = toks[i]
            if tok[0] == _ID and tok[1] in ("__has_include", "__has_include__"):
                i = self._has_include(toks, i + 1, resolved, loc)
                continue
            resolved.append(tok)
            i += 1
        self.in_if = True
        try:
            expanded = self._expand(resolved[::-1], None)
        finally:
            self.in_if = False
        items = _join_operators(expanded)
        if not items:
            raise CompileError(loc, "#if with no expression")
        return _CondParser(items, loc).parse() != 0

    def _defined(self, stack: list[tuple]) -> tuple:
        """Evaluate ``defined X`` or ``defined ( X )``, taking the operand from the stack
        unexpanded."""

        def pop_nonblank() -> tuple | None:
            while stack and stack[-1][0] in _BLANK:
                stack.pop()
            return stack.pop() if stack else None

        tok = pop_nonblank()
        paren = tok is not None and tok[0] == _OP and tok[1] == "("
        if paren:
            tok = pop_nonblank()
        if tok is None or tok[0] != _ID:
            raise CompileError(self.ref_loc(), 'operator "defined" requires an identifier')
        value = tok[1] in self.macros
        if paren:
            close = pop_nonblank()
            if close is None or close[1] != ")":
                raise CompileError(self.ref_loc(), 'missing \')\' after "defined"')
        return (_NUM, "1" if value else "0", None)

    def _has_include(self, toks: list[tuple], i: int, out: list[tuple], loc: Loc) -> int:
        i = _next_nonblank(toks, i)
        if i >= len(toks) or toks[i][1] != "(":
            raise CompileError(loc, 'missing \'(\' after "__has_include"')
        depth, j = 0, i
        while j < len(toks):
            if toks[j][1] == "(":
                depth += 1
            elif toks[j][1] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        inner = "".join(t[1] for t in toks[i + 1 : j]).strip()
        m = _INCLUDE_ARG_RE.match(inner)
        if j >= len(toks) or m is None:
            raise CompileError(loc, '__has_include requires "FILENAME" or <FILENAME>')
        angled = m.group(1) is None
        dirs = list(self.include_dirs) + [BUILTIN_INCLUDE_DIR]
        if not angled and self.frame is not None:
            dirs.insert(0, self.frame.dir)
        found = _find_include(m.group(2) if angled else m.group(1), dirs) is not None
        out.append((_NUM, "1" if found else "0", None))
        return j + 1


# ----------------------------------------------------------------------------------------------
# Helpers


def _marker(line: int, file: str) -> str:
    return f"# {line} {_quote(file)}\n"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1], flags=re.S)


def _find_include(name: str, dirs: list[str]) -> str | None:
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for d in dirs:
        path = os.path.join(d, name) if d else name
        if os.path.isfile(path):
            return path
    return None


def _guard_name(directive: str, rest: str) -> str:
    """The macro of an include guard opening (``#ifndef X`` or ``#if !defined X``), or ''."""
    if directive == "ifndef":
        m = _IDENT_RE.match(rest.strip())
        return m.group() if m else ""
    if directive == "if":
        m = re.fullmatch(r"\s*!\s*defined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))\s*", rest)
        if m:
            return m.group(1) or m.group(2)
    return ""


def _render(toks: list[tuple], prev: str) -> tuple[str, bool]:
    """Token texts joined, with a space where an expansion boundary would paste two tokens.

    Returns the text and whether it ends at an expansion boundary."""
    if len(toks) > 1 and toks[0] is _PADTOK and toks[-1] is _PADTOK:
        inner = toks[1:-1]
        if _PADTOK not in inner:
            # One expansion with no boundaries inside: the common case.
            text = "".join([t[1] for t in inner])
            if text and prev and _would_paste(prev, text[0]):
                text = " " + text
            return text, True
    parts: list[str] = []
    pad = False
    for kind, text, _ in toks:
        if kind == _PAD:
            pad = True
            continue
        if not text:
            continue
        if pad and kind != _WS and kind != _NL and kind != _RNL and prev and _would_paste(
            prev, text[0]
        ):
            parts.append(" ")
        pad = False
        parts.append(text)
        prev = text[-1]
    return "".join(parts), pad


_TWO_CHAR_OPS = frozenset(("<<", ">>", "<=", ">=", "==", "!=", "&&", "||"))


def _join_operators(toks: list[tuple]) -> list[tuple[int, str]]:
    """Drop blanks and glue adjacent characters that form one C operator."""
    items: list[tuple[int, str]] = []
    glue = False
    for kind, text, _ in toks:
        if kind in _BLANK:
            glue = False
            continue
        if (
            glue
            and kind == _OP
            and items
            and items[-1][0] == _OP
            and items[-1][1] + text in _TWO_CHAR_OPS
        ):
            items[-1] = (_OP, items[-1][1] + text)
            glue = False
            continue
        items.append((kind, text))
        glue = kind == _OP
    return items


_MASK64 = (1 << 64) - 1
_INT_SUFFIXES = frozenset(("", "u", "l", "ul", "lu", "ll", "ull", "llu"))
_INT_RE = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)")
_BINARY_PREC = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8,
    "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}  # fmt: skip


def _signed(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


class _CondParser:
    """Evaluates a ``#if`` expression in 64-bit intmax_t/uintmax_t arithmetic, like cpp.

    Values are (int, unsigned) pairs. ``live`` is False in branches that short-circuiting skips,
    where division by zero is not an error."""

    def __init__(self, items: list[tuple[int, str]], loc: Loc):
        self.items = items
        self.i = 0
        self.loc = loc

    def error(self, message: str) -> CompileError:
        return CompileError(self.loc, message)

    def peek(self) -> str | None:
        return self.items[self.i][1] if self.i < len(self.items) else None

    def parse(self) -> int:
        value = self.comma(True)
        if self.i < len(self.items):
            raise self.error(f'missing binary operator before token "{self.items[self.i][1]}"')
        return value[0]

    def comma(self, live: bool) -> tuple[int, bool]:
        value = self.ternary(live)
        while self.peek() == ",":
            self.i += 1
            value = self.ternary(live)
        return value

    def ternary(self, live: bool) -> tuple[int, bool]:
        cond = self.binary(1, live)
        if self.peek() != "?":
            return cond
        self.i += 1
        yes = self.comma(live and cond[0] != 0)
        if self.peek() != ":":
            raise self.error("'?' without following ':'")
        self.i += 1
        no = self.ternary(live and cond[0] == 0)
        unsigned = yes[1] or no[1]
        chosen = yes if cond[0] else no
        return (chosen[0] & _MASK64 if unsigned else chosen[0], unsigned)

    def binary(self, min_prec: int, live: bool) -> tuple[int, bool]:
        left = self.unary(live)
        while True:
            op = self.peek()
            prec = _BINARY_PREC.get(op) if op is not None and self.items[self.i][0] == _OP else None
            if prec is None or prec < min_prec:
                return left
            self.i += 1
            if op == "&&":
                right = self.binary(prec + 1, live and left[0] != 0)
                left = (int(left[0] != 0 and right[0] != 0), False)
            elif op == "||":
                right = self.binary(prec + 1, live and left[0] == 0)
                left = (int(left[0] != 0 or right[0] != 0), False)
            else:
                right = self.binary(prec + 1, live)
                left = self.apply(op, left, right, live)

    def apply(self, op: str, a: tuple[int, bool], b: tuple[int, bool], live: bool):
        unsigned = a[1] or b[1]
        x, y = (a[0] & _MASK64, b[0] & _MASK64) if unsigned else (a[0], b[0])
        if op in ("<", "<=", ">", ">=", "==", "!="):
            result = {
                "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y
            }[op]  # fmt: skip
            return (int(result), False)
        if op in ("<<", ">>"):
            unsigned = a[1]
            x = a[0] & _MASK64 if unsigned else a[0]
            shift = b[0] if not b[1] else b[0] & _MASK64
            if shift < 0:
                op, shift = ("<<" if op == ">>" else ">>"), -shift
            if op == "<<":
                r = x << shift if shift < 64 else 0
            else:
                r = x >> min(shift, 64)
            return (r & _MASK64 if unsigned else _signed(r), unsigned)
        if op in ("/", "%"):
            if y == 0:
                if live:
                    raise self.error("division by zero in #if")
                return (0, unsigned)
            q = abs(x) // abs(y)
            if (x < 0) != (y < 0):
                q = -q
            r = q if op == "/" else x - q * y
        elif op == "*":
            r = x * y
        elif op == "+":
            r = x + y
        elif op == "-":
            r = x - y
        elif op == "&":
            r = x & y
        elif op == "|":
            r = x | y
        else:
            r = x ^ y
        return (r & _MASK64 if unsigned else _signed(r), unsigned)

    def unary(self, live: bool) -> tuple[int, bool]:
        if self.i >= len(self.items):
            raise self.error("#if expression ends unexpectedly")
        kind, text = self.items[self.i]
        if kind == _OP and text in ("!", "~", "-", "+"):
            self.i += 1
            v, u = self.unary(live)
            if text == "!":
                return (int(v == 0), False)
            if text == "~":
                return ((~v) & _MASK64 if u else _signed(~v), u)
            if text == "-":
                return ((-v) & _MASK64 if u else _signed(-v), u)
            return (v, u)
        if kind == _OP and text == "(":
            self.i += 1
            value = self.comma(live)
            if self.peek() != ")":
                raise self.error("missing ')' in expression")
            self.i += 1
            return value
        self.i += 1
        if kind == _NUM:
            return self.number(text)
        if kind == _ID:
            return (0, False)  # what remains after expansion is not a macro: it counts as 0
        raise self.error(f'token "{text}" is not valid in preprocessor expressions')

    def number(self, text: str) -> tuple[int, bool]:
        m = _INT_RE.fullmatch(text)
        if m is None:
            digits = re.match(r"(0[xX][0-9a-fA-F]*|0[bB][01]*|[0-9]*)", text).group()
            suffix = text[len(digits) :]
            if suffix and digits:
                raise self.error(f'invalid suffix "{suffix}" on integer constant')
            raise self.error(f'invalid integer constant "{text}" in #if')
        digits, suffix = m.groups()
        low = suffix.lower()
        if low not in _INT_SUFFIXES or "lL" in suffix or "Ll" in suffix:
            raise self.error(f'invalid suffix "{suffix}" on integer constant')
        if digits[:2] in ("0x", "0X"):
            value = int(digits[2:], 16)
        elif digits[:2] in ("0b", "0B"):
            value = int(digits[2:], 2)
        elif digits.startswith("0"):
            value = int(digits, 8)
        else:
            value = int(digits)
        if value > _MASK64:
            raise self.error("integer constant is too large for its type")
        unsigned = "u" in low or value >> 63 != 0
        return (value, unsigned)
