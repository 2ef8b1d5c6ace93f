"""Typed values both ways: what apps write (``"02:00:00:00:00:01"``, ``"198.51.100.0/24"``,
``"10&&&0xff"``) and the canonical P4Runtime bytestrings the switch speaks.

Parsing (``parse_*``) turns an app value into integers, checking it against the field's width
with a message that names the value; encoding (``encode_*``) gives the canonical bytestring
(big-endian, shortest, at least one byte, as the spec's "Bytestrings" section asks); decoding
gives back integers (``int<W>`` values travel as two's complement: ``encode_signed`` and
``decode_signed``). A match value that matches everything (LPM prefix 0, ternary mask 0, a full
range, an optional ``None``) encodes to ``None``: the spec says such a field must be omitted.

Accepted app values for a ``bit<W>`` field:

- ``int`` and ``bool``; ``bytes`` (big-endian);
- strings: decimal or ``0x``/``0b`` integers, MACs ``"02:00:00:00:00:01"``, IPv4 ``"192.0.2.1"``,
  IPv6 ``"2001:db8::1"``;
- LPM: ``"198.51.100.0/24"``, ``"2001:db8::/32"``, ``(value, prefix_len)``, a plain value (full
  prefix); bits beyond the prefix must be zero;
- ternary: ``"value&&&mask"``, ``(value, mask)``, ``"198.51.100.0/24"`` (mask from the prefix), a
  plain value (all bits); bits outside the mask must be zero;
- range: ``"low..high"`` or ``"low->high"``, ``(low, high)``, a plain value (that one value);
- optional: a value, or ``None`` for "any".
"""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = [
    "Lpm",
    "Range",
    "Ternary",
    "decode_int",
    "decode_signed",
    "encode_int",
    "encode_signed",
    "format_mac",
    "format_value",
    "parse_int",
    "parse_lpm",
    "parse_range",
    "parse_ternary",
]

Lpm = tuple[int, int]  # (value, prefix_len)
Ternary = tuple[int, int]  # (value, mask)
Range = tuple[int, int]  # (low, high)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value) if value > 9 else str(value)
    return str(value)


def _check_width(v: int, bitwidth: int, shown: Any) -> int:
    if v < 0:
        raise ValueError(f"{_show(shown)}: negative values are not allowed")
    if v >> bitwidth:
        raise ValueError(f"{_show(shown)}: does not fit in {bitwidth} bits")
    return v


def _parse_text(text: str) -> int:
    s = text.strip()
    if not s:
        raise ValueError("empty value")
    parts = s.split(":")
    if len(parts) == 6 and all(1 <= len(p) <= 2 for p in parts):
        try:
            return int("".join(p.zfill(2) for p in parts), 16)
        except ValueError:
            pass
    if "." in s or ":" in s:
        try:
            return int(ipaddress.ip_address(s))
        except ValueError:
            raise ValueError(f"{text!r}: not a number, MAC, IPv4 or IPv6 address") from None
    try:
        return int(s, 0)
    except ValueError:
        raise ValueError(f"{text!r}: not a number, MAC, IPv4 or IPv6 address") from None


def parse_int(value: Any, bitwidth: int) -> int:
    """An app value (see the module docstring) as an unsigned integer of ``bitwidth`` bits.

    Raises ``ValueError`` naming the value when it cannot be parsed or does not fit.
    """
    if isinstance(value, bool):
        v = int(value)
    elif isinstance(value, int):
        v = value
    elif isinstance(value, (bytes, bytearray)):
        if not value:
            raise ValueError("empty bytestring")
        v = int.from_bytes(value, "big")
    elif isinstance(value, str):
        v = _parse_text(value)
    elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        v = int(value)
    else:
        raise ValueError(f"{value!r}: expected an int, bytes or a string")
    return _check_width(v, bitwidth, value)


def encode_int(value: int, bitwidth: int | None = None) -> bytes:
    """The canonical bytestring of an unsigned integer (shortest big-endian, at least one byte);
    with ``bitwidth``, ``ValueError`` if it does not fit."""
    if bitwidth is not None:
        _check_width(value, bitwidth, value)
    elif value < 0:
        raise ValueError(f"{value}: negative values are not allowed")
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def decode_int(data: bytes, bitwidth: int | None = None) -> int:
    """The integer of a bytestring (any length, leading zeros allowed); with ``bitwidth``,
    ``ValueError`` if it does not fit."""
    v = int.from_bytes(data, "big")
    if bitwidth is not None:
        _check_width(v, bitwidth, data)
    return v


def encode_signed(bits: int, bitwidth: int) -> bytes:
    """The canonical bytestring of ``int<bitwidth>`` stored bits (``bitwidth`` bits, masked
    first): the shortest two's complement form of the value they stand for."""
    bits &= (1 << bitwidth) - 1
    v = bits - (1 << bitwidth) if bits >> (bitwidth - 1) else bits
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return v.to_bytes(n, "big", signed=True)


def decode_signed(data: bytes, bitwidth: int) -> int:
    """The ``int<bitwidth>`` value of a two's complement bytestring (sign extension allowed),
    returned as its ``bitwidth`` stored bits; ``ValueError`` if it does not fit."""
    v = int.from_bytes(data, "big", signed=True)
    if not -(1 << (bitwidth - 1)) <= v < (1 << (bitwidth - 1)):
        raise ValueError(f"{_show(data)}: does not fit in int<{bitwidth}>")
    return v & ((1 << bitwidth) - 1)


def _prefix_mask(plen: int, bitwidth: int) -> int:
    return ((1 << plen) - 1) << (bitwidth - plen) if plen else 0


def parse_lpm(value: Any, bitwidth: int) -> Lpm:
    """An LPM value as ``(value, prefix_len)``; bits beyond the prefix must be zero."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        value = (value.network_address, value.prefixlen)
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{value!r}: an LPM value is (value, prefix_len)")
        raw, plen = value
        shown = f"{raw}/{plen}"
    elif isinstance(value, str) and "/" in value:
        raw, _, plen_text = value.partition("/")
        shown = value
        try:
            plen = int(plen_text)
        except ValueError:
            raise ValueError(f"{value}: prefix length {plen_text!r} is not a number") from None
    else:
        raw, plen, shown = value, bitwidth, value
    if not isinstance(plen, int) or plen < 0:
        raise ValueError(f"{shown}: bad prefix length {plen!r}")
    if plen > bitwidth:
        raise ValueError(f"{shown}: prefix longer than {bitwidth} bits")
    try:
        v = parse_int(raw, bitwidth)
    except ValueError as exc:
        raise ValueError(f"{shown}: {exc}") from None
    if v & ~_prefix_mask(plen, bitwidth):
        raise ValueError(f"{shown}: bits set beyond the {plen}-bit prefix")
    return v, plen


def parse_ternary(value: Any, bitwidth: int) -> Ternary:
    """A ternary value as ``(value, mask)``; bits outside the mask must be zero."""
    full = (1 << bitwidth) - 1
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{value!r}: a ternary value is (value, mask)")
        raw, raw_mask = value
        shown: Any = f"{_show(raw)}&&&{_show(raw_mask)}"
    elif isinstance(value, str) and "&&&" in value:
        raw, _, raw_mask = (s.strip() for s in value.partition("&&&"))
        shown = value
    elif isinstance(value, str) and "/" in value:
        v, plen = parse_lpm(value, bitwidth)
        return v, _prefix_mask(plen, bitwidth)
    else:
        raw, raw_mask, shown = value, full, value
    try:
        v = parse_int(raw, bitwidth)
        m = parse_int(raw_mask, bitwidth)
    except ValueError as exc:
        raise ValueError(f"{_show(shown)}: {exc}") from None
    if v & ~m:
        raise ValueError(f"{_show(shown)}: value has bits set outside the mask")
    return v, m


def parse_range(value: Any, bitwidth: int) -> Range:
    """A range value as ``(low, high)`` with ``low <= high``."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{value!r}: a range is (low, high)")
        lo_raw, hi_raw = value
        shown: Any = f"{_show(lo_raw)}..{_show(hi_raw)}"
    elif isinstance(value, str) and ("->" in value or ".." in value):
        sep = "->" if "->" in value else ".."
        lo_raw, _, hi_raw = (s.strip() for s in value.partition(sep))
        shown = value
    else:
        lo_raw = hi_raw = shown = value
    try:
        lo, hi = parse_int(lo_raw, bitwidth), parse_int(hi_raw, bitwidth)
    except ValueError as exc:
        raise ValueError(f"{_show(shown)}: {exc}") from None
    if lo > hi:
        raise ValueError(f"{_show(shown)}: low end above high end")
    return lo, hi


def format_mac(value: int) -> str:
    """``"02:00:00:00:00:01"`` for a 48-bit integer."""
    return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))


def format_value(value: int, bitwidth: int, kind: str = "") -> str:
    """A readable form of a field value: ``kind`` ``"mac"``, ``"ipv4"``, ``"ipv6"`` or ``""``
    (a MAC for 48 bits, an address for 32 and 128 bits named like addresses, else decimal)."""
    if kind == "mac" or (not kind and bitwidth == 48):
        return format_mac(value)
    if kind == "ipv4":
        return str(ipaddress.IPv4Address(value))
    if kind == "ipv6":
        return str(ipaddress.IPv6Address(value))
    return str(value)
