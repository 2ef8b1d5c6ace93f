"""Runtime pieces the generated pipeline code builds on: packets, header stacks, signals.

Headers, header unions and structs are Python classes with ``__slots__`` generated per program by
:mod:`.codegen_types`; this module holds what is the same for every program:

* :class:`PacketIn` (the parser's cursor over the received bytes) and the packet being deparsed
  (a plain ``list`` of ``bytes`` pieces);
* :class:`HeaderStack`, the one stack class (its elements are generated header objects);
* the signals generated code raises: :class:`ParserError` (a parser exception carrying the
  ``error`` code), :class:`ExitSignal` (``exit``), :class:`AssertSignal` (a failed
  ``assert``/``assume``);
* small arithmetic helpers that are not worth inlining (saturating ops, shifts by run-time amounts).

Field values are Python ``int`` (``int<W>`` holds the signed number, ``bit<W>`` the unsigned one),
``bool`` for ``bool`` fields, ``int`` codes for ``error`` and enum values. A header's validity is
its ``_valid`` slot. Fields of a header keep their values when it becomes invalid, and reading them
returns those values, which is what BMv2 does (a fresh packet starts with every field 0).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AssertSignal",
    "ExitSignal",
    "HeaderStack",
    "PacketIn",
    "ParserError",
    "sat_add_s",
    "sat_add_u",
    "sat_sub_s",
    "sat_sub_u",
    "shl",
]

# BMv2's numbering of the core errors (the order core.p4 declares them in).
NO_ERROR = 0
PACKET_TOO_SHORT = 1
NO_MATCH = 2
STACK_OUT_OF_BOUNDS = 3
HEADER_TOO_SHORT = 4
PARSER_TIMEOUT = 5
PARSER_INVALID_ARGUMENT = 6


class ParserError(Exception):
    """A parser exception: parsing stops and ``standard_metadata.parser_error`` gets ``code``."""

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code


class ExitSignal(Exception):
    """``exit``: ends the current top-level control (and every block it called)."""


class ExitOuts(ExitSignal):
    """``exit`` inside a callee with ``out``/``inout`` scalars: carries their values (``v``, in
    the callee's return layout) so the caller can copy them out before exiting."""

    def __init__(self, v: tuple) -> None:
        super().__init__()
        self.v = v


class AssertSignal(Exception):
    """A failed ``assert``/``assume``; BMv2 aborts the process, the engine drops the packet."""


class PacketIn:
    """The received bytes and the parser's cursor (in bytes; BMv2 headers are byte-sized)."""

    __slots__ = ("data", "off", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.off = 0
        self.end = len(data)

    def need(self, nbytes: int) -> int:
        """The cursor, after checking that ``nbytes`` more bytes are there (PacketTooShort)."""
        off = self.off
        if off + nbytes > self.end:
            raise ParserError(PACKET_TOO_SHORT)
        return off

    def peek_bits(self, nbits: int) -> int:
        """``lookahead<bit<nbits>>()``: the next ``nbits`` bits as an unsigned number."""
        nbytes = (nbits + 7) >> 3
        off = self.need(nbytes)
        v = int.from_bytes(self.data[off : off + nbytes], "big")
        return v >> (nbytes * 8 - nbits)

    def advance(self, nbits: int) -> None:
        """``advance(nbits)``; BMv2 raises PacketTooShort past the end."""
        if nbits % 8:
            raise ParserError(PARSER_INVALID_ARGUMENT)
        nbytes = nbits >> 3
        self.need(nbytes)
        self.off += nbytes

    def payload(self) -> bytes:
        """The bytes the parser did not consume."""
        return self.data[self.off :]


class HeaderStack:
    """``H[n]``: ``h`` holds the ``n`` header objects, ``nextIndex`` the parser's position."""

    __slots__ = ("h", "nextIndex", "size")

    def __init__(self, items: list[Any]) -> None:
        self.h = items
        self.nextIndex = 0
        self.size = len(items)

    def at(self, i: int) -> Any:
        """Element ``i``; out of range, a scratch header (reads give an invalid header, writes
        go nowhere), which is how BMv2 behaves rather than failing the packet."""
        if 0 <= i < self.size:
            return self.h[i]
        return type(self.h[0])()

    def next(self) -> Any:
        """``hs.next`` (StackOutOfBounds when full)."""
        i = self.nextIndex
        if i >= self.size:
            raise ParserError(STACK_OUT_OF_BOUNDS)
        return self.h[i]

    def last(self) -> Any:
        """``hs.last`` (StackOutOfBounds when empty)."""
        i = self.nextIndex - 1
        if i < 0 or i >= self.size:
            raise ParserError(STACK_OUT_OF_BOUNDS)
        return self.h[i]

    def last_index(self) -> int:
        """``hs.lastIndex`` (a ``bit<32>``: -1 wraps)."""
        return (self.nextIndex - 1) & 0xFFFFFFFF

    def push_front(self, count: int) -> None:
        """Shift elements up by ``count``; the first ``count`` become invalid."""
        n = self.size
        h = self.h
        for i in range(n - 1, -1, -1):
            if i >= count:
                h[i]._set(h[i - count])
            else:
                h[i]._invalidate()
        self.nextIndex = min(n, self.nextIndex + count)

    def pop_front(self, count: int) -> None:
        """Shift elements down by ``count``; the last ``count`` become invalid."""
        n = self.size
        h = self.h
        for i in range(n):
            if i + count < n:
                h[i]._set(h[i + count])
            else:
                h[i]._invalidate()
        self.nextIndex = max(0, self.nextIndex - count)

    def _copy(self) -> HeaderStack:
        s = HeaderStack([x._copy() for x in self.h])
        s.nextIndex = self.nextIndex
        return s

    def _set(self, other: HeaderStack) -> None:
        for a, b in zip(self.h, other.h):
            a._set(b)
        self.nextIndex = other.nextIndex

    def _eq(self, other: HeaderStack) -> bool:
        return all(a._eq(b) for a, b in zip(self.h, other.h))

    def _invalidate(self) -> None:
        for x in self.h:
            x._invalidate()
        self.nextIndex = 0

    def _emit(self, out: list[bytes]) -> None:
        for x in self.h:
            x._emit(out)

    def _fl(self, out: list[tuple[int, int]]) -> None:
        for x in self.h:
            x._fl(out)

    def __repr__(self) -> str:
        return f"HeaderStack({self.h!r}, nextIndex={self.nextIndex})"


# -- arithmetic helpers (the common cases are inlined by the code generator) ---------------


def shl(value: int, amount: int, mask: int) -> int:
    """``value << amount`` in a ``bit<W>`` (mask ``2**W - 1``), without building huge ints."""
    if amount >= mask.bit_length():
        return 0
    return (value << amount) & mask


def shl_s(value: int, amount: int, width: int) -> int:
    """``value << amount`` in an ``int<W>``."""
    if amount >= width:
        return 0
    return wrap_s(value << amount, width)


def wrap_s(value: int, width: int) -> int:
    """Two's-complement wrap of ``value`` into ``int<width>``."""
    half = 1 << (width - 1)
    return ((value + half) & ((1 << width) - 1)) - half


def sat_add_u(a: int, b: int, mask: int) -> int:
    """``a |+| b`` for ``bit<W>``."""
    r = a + b
    return mask if r > mask else r


def sat_sub_u(a: int, b: int, mask: int) -> int:
    """``a |-| b`` for ``bit<W>``."""
    r = a - b
    return 0 if r < 0 else r


def sat_add_s(a: int, b: int, width: int) -> int:
    """``a |+| b`` for ``int<W>``."""
    r = a + b
    hi = (1 << (width - 1)) - 1
    lo = -(1 << (width - 1))
    return hi if r > hi else lo if r < lo else r


def sat_sub_s(a: int, b: int, width: int) -> int:
    """``a |-| b`` for ``int<W>``."""
    return sat_add_s(a, -b, width)
