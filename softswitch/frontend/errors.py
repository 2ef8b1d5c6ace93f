"""Source locations and compile errors.

Every diagnostic the front end produces names ``file:line:col``, shows the offending source line
and puts a caret under the column, the way p4c and most compilers print them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in a source file; ``line`` and ``col`` count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_line_cache: dict[str, list[str]] = {}


def register_source(file: str, text: str) -> None:
    """Remember the text of ``file`` so diagnostics can quote it without reading the disk."""
    _line_cache[file] = text.splitlines()


def source_line(loc: Loc) -> str | None:
    """The text of the line ``loc`` points into, or None if the file cannot be read."""
    lines = _line_cache.get(loc.file)
    if lines is None:
        try:
            with open(loc.file, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return None
        _line_cache[loc.file] = lines
    if 1 <= loc.line <= len(lines):
        return lines[loc.line - 1]
    return None


class CompileError(Exception):
    """A located error in a P4 program (syntax, name, type or semantic)."""

    def __init__(self, loc: Loc | None, message: str, kind: str = "error"):
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.kind = kind

    def format(self) -> str:
        """``file:line:col: error: message`` followed by the source line and a caret."""
        if self.loc is None:
            return f"{self.kind}: {self.message}"
        # The file is named as the user (or an #include) named it, as compilers print it.
        head = f"{self.loc.file}:{self.loc.line}:{self.loc.col}: {self.kind}: {self.message}"
        text = source_line(self.loc)
        if text is None:
            return head
        caret_pad = "".join("\t" if ch == "\t" else " " for ch in text[: max(self.loc.col - 1, 0)])
        return f"{head}\n{text}\n{caret_pad}^"

    def __str__(self) -> str:
        return self.format()


class CompileErrors(Exception):
    """Several errors found in one pass; the first is the most useful one."""

    def __init__(self, errors: list[CompileError]):
        super().__init__(errors[0].message if errors else "errors")
        self.errors = errors

    def format(self) -> str:
        return "\n".join(e.format() for e in self.errors)

    def __str__(self) -> str:
        return self.format()

