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

from .errors import CompileError, Loc, register_source
from .pp_expr import _CondParser, _join_operators
from .pp_macro import _BUILTINS, _Macro, _MacroExpander
from .pp_tokens import (
    _BLANK,
    _ID,
    _IDENT_RE,
    _NUM,
    _OP,
    _SPACE,
    _STRING,
    _next_nonblank,
    _quote,
    _Source,
    _strip_blank,
    _tokenize,
)

__all__ = ["BUILTIN_INCLUDE_DIR", "preprocess_file", "preprocess_text"]

BUILTIN_INCLUDE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "p4include")

_MAX_INCLUDE_DEPTH = 200  # GCC's limit; it also stops runaway self-inclusion.

# Strings first, so comment openers inside them are left alone; an unterminated /* is an error.
_CLEAN_RE = re.compile(_STRING + r"|//[^\n]*|/\*.*?\*/|/\*", re.S)
_SPLICE_RE = re.compile(r"\\[ \t\f\v]*\n")
_DIRECTIVE_RE = re.compile(r"[ \t\f\v]*#[ \t\f\v]*([A-Za-z_]\w*|[0-9]\w*)?", re.A)
_INCLUDE_ARG_RE = re.compile(r'\s*(?:"([^"]*)"|<([^>]*)>)\s*(.*)$', re.S)
_LINE_ARG_RE = re.compile(r'\s*([0-9]+)\s*(?:(' + _STRING + r")\s*)?(.*)$", re.S)



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


class _Preprocessor(_MacroExpander):
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
