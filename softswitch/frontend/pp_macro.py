"""The preprocessor's macro engine: macro definitions and their expansion.

Expansion follows cpp (hidesets stop recursion, ``#`` stringizes, ``##`` pastes).
:class:`_MacroExpander` is mixed into :class:`.preprocessor._Preprocessor`, whose state
(``macros``, ``frame``, ``ref``, ...) it uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import CompileError, Loc
from .pp_tokens import (
    _ARGS_TAIL_RE,
    _BLANK,
    _ID,
    _IDENT_RE,
    _NL,
    _NUM,
    _OP,
    _PAD,
    _PADTOK,
    _PLACE,
    _PLACETOK,
    _PPNUM,
    _RNL,
    _RNLTOK,
    _SPACE,
    _SPACES_RE,
    _STR,
    _STRING,
    _next_nonblank,
    _paste,
    _quote,
    _render,
    _Source,
    _stringize,
    _strip_blank,
    _tokenize,
    _would_paste,
)

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



class _MacroExpander:
    """Macro expansion of text and directive operands (a mixin for the preprocessor)."""

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
