"""A P4_16 compiler front end: preprocessor, parser, type checker, P4Info and device config.

The public surface is small: :func:`compile_file` / :func:`compile_text` and the AST.
"""

from .compiler import CompileResult, compile_file, compile_text, load_device_config
from .errors import CompileError, CompileErrors, Loc

__all__ = [
    "CompileError",
    "CompileErrors",
    "CompileResult",
    "Loc",
    "compile_file",
    "compile_text",
    "load_device_config",
]
