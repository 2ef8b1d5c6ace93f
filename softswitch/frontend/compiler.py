"""The front end's driver: preprocess, parse, check, build P4Info and the device config.

``compile_file`` is what ``sluice compile`` and every in-process user (tests, the STF runner, the
engine) call. It raises :class:`~softswitch.frontend.errors.CompileError` or
:class:`~softswitch.frontend.errors.CompileErrors` for problems in the program; anything else that
escapes is a bug in the front end and is reported as an internal error with the location the
failing pass was looking at.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from . import ast
from .errors import CompileError

DEVICE_CONFIG_FORMAT = "sluice-device-config"

# Predefined for every program, as p4c-bm2-ss predefines __TARGET_BMV2__: code that only the
# embedded target supports (the queue pause extern of <sluice_target.p4>) sits under
# ``#ifdef __TARGET_SLUICE__`` so the same program still compiles with p4c.
TARGET_DEFINES: dict[str, str | None] = {"__TARGET_SLUICE__": "1"}
DEVICE_CONFIG_VERSION = 1


@dataclass
class CompileResult:
    """What one compilation produced. ``p4info`` is a ``p4.config.v1.P4Info`` message."""

    source: str
    program: ast.Program
    p4info: Any = None
    timings: dict[str, float] = field(default_factory=dict)

    def device_config(self) -> dict[str, Any]:
        """The embedded target's device config: the checked program in its JSON form."""
        return {
            "format": DEVICE_CONFIG_FORMAT,
            "version": DEVICE_CONFIG_VERSION,
            "source": self.source,
            "arch": self.p4info.pkg_info.arch if self.p4info is not None else "",
            "program": ast.to_json(self.program),
        }

    def device_config_bytes(self) -> bytes:
        """The device config serialised as controllers pass it in ``p4_device_config``."""
        return json.dumps(self.device_config(), separators=(",", ":")).encode()


def parse_defines(items: list[str] | None) -> dict[str, str | None]:
    """Turn ``-D NAME`` / ``-D NAME=VALUE`` arguments into a define table (``NAME`` means 1)."""
    defines: dict[str, str | None] = {}
    for item in items or ():
        name, eq, value = item.partition("=")
        if not name:
            raise ValueError(f"bad -D argument {item!r}")
        defines[name] = value if eq else "1"
    return defines


def compile_file(
    path: str,
    include_dirs: list[str] | tuple[str, ...] = (),
    defines: dict[str, str | None] | None = None,
    *,
    p4info: bool = True,
) -> CompileResult:
    """Compile the P4_16 program at ``path`` and return the checked program and its P4Info."""
    from .preprocessor import preprocess_file

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    text = preprocess_file(path, list(include_dirs), {**TARGET_DEFINES, **(defines or {})})
    t1 = time.perf_counter()
    timings["preprocess"] = t1 - t0
    return _compile_preprocessed(path, text, timings, p4info=p4info)


def compile_text(
    text: str,
    filename: str = "<string>",
    include_dirs: list[str] | tuple[str, ...] = (),
    defines: dict[str, str | None] | None = None,
    *,
    p4info: bool = True,
) -> CompileResult:
    """Compile P4 source given as a string (tests and tools); ``filename`` names it in errors."""
    from .errors import register_source
    from .preprocessor import preprocess_text

    register_source(filename, text)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pre = preprocess_text(text, filename, list(include_dirs), {**TARGET_DEFINES, **(defines or {})})
    timings["preprocess"] = time.perf_counter() - t0
    return _compile_preprocessed(filename, pre, timings, p4info=p4info)


def _compile_preprocessed(
    source: str, text: str, timings: dict[str, float], *, p4info: bool
) -> CompileResult:
    from .parser import parse_text
    from .typecheck import check_program

    t0 = time.perf_counter()
    program = parse_text(text, source)
    t1 = time.perf_counter()
    timings["parse"] = t1 - t0
    program = check_program(program)
    t2 = time.perf_counter()
    timings["check"] = t2 - t1
    # What p4c's mid end and BMv2 back end refuse (the target ``sluice compile`` emulates).
    from .elaborate import elaborate
    from .target_checks import check_target

    elab = elaborate(program)
    check_target(program, elab)
    t3 = time.perf_counter()
    timings["target"] = t3 - t2
    t2 = t3
    result = CompileResult(source=source, program=program, timings=timings)
    if p4info:
        from .p4info import build_p4info

        result.p4info = build_p4info(program, elab)
        timings["p4info"] = time.perf_counter() - t2
    return result


def write_outputs(
    result: CompileResult, out: str | None, p4runtime_files: list[str] | None
) -> list[str]:
    """Write the device config and any requested P4Runtime files; return the paths written.

    ``out`` is a directory (the config goes to ``OUT/PROG.json``, where p4c-bm2-ss puts its BMv2
    JSON) or, when it ends in ``.json``, the config file itself, as p4c-bm2-ss's ``-o`` takes it.
    """
    written: list[str] = []
    stem = os.path.splitext(os.path.basename(result.source))[0]
    if out is None:
        out = "."
    if out.endswith(".json"):
        config_path = out
    else:
        config_path = os.path.join(out, stem + ".json")
    parent = os.path.dirname(config_path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(config_path, "wb") as fh:
        fh.write(result.device_config_bytes())
    written.append(config_path)
    if p4runtime_files:
        from .p4info import write_p4runtime_files

        for p in p4runtime_files:
            d = os.path.dirname(p)
            if d:
                os.makedirs(d, exist_ok=True)
        write_p4runtime_files(result.p4info, p4runtime_files)
        written.extend(p4runtime_files)
    return written


def load_device_config(data: bytes | str | dict[str, Any]) -> ast.Program:
    """Rebuild the checked program from a device config (bytes, text or parsed JSON).

    Raises ``ValueError`` with a reason when the data is not a Sluice device config.
    """
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"device config is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != DEVICE_CONFIG_FORMAT:
        raise ValueError("device config is not a Sluice device config (compile with sluice compile)")
    if data.get("version") != DEVICE_CONFIG_VERSION:
        raise ValueError(f"device config version {data.get('version')} is not supported")
    program = ast.from_json(data["program"])
    if not isinstance(program, ast.Program):
        raise ValueError("device config holds no program")
    from .typecheck import check_program

    return check_program(program)


def internal_error(exc: BaseException) -> CompileError:
    """Wrap an unexpected exception as a located error so no traceback reaches a user."""
    loc = getattr(exc, "loc", None)
    return CompileError(loc, f"internal compiler error: {type(exc).__name__}: {exc}")
