"""The command registry and argument helpers shared by the admin command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AdminError(Exception):
    """A command failed; the message says why (shown to the user as is)."""


_COMMANDS: dict[str, tuple[str, str, Callable[..., tuple[str, Any]]]] = {}


def _command(usage: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__.removeprefix("cmd_")
        _COMMANDS[name] = (usage, help_text, fn)
        return fn

    return deco


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise AdminError(f"{what} must be an integer, not {text!r}") from None


def _nargs(args: list[str], lo: int, hi: int | None, usage: str) -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise AdminError(f"usage: {usage}")
