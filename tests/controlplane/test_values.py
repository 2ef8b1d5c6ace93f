"""App values <-> canonical P4Runtime bytestrings, with width checks."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane.p4rt.values import (
    decode_int,
    decode_signed,
    encode_int,
    encode_signed,
    format_value,
    parse_int,
    parse_lpm,
    parse_range,
    parse_ternary,
)


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        (5, 9, 5),
        (True, 1, 1),
        (b"\x00\x01\x02", 16, 0x102),
        ("42", 8, 42),
        ("0x1ff", 9, 0x1FF),
        ("0b101", 3, 5),
        ("02:00:00:00:00:01", 48, 0x020000000001),
        ("2:0:0:0:0:a", 48, 0x02000000000A),
        ("192.0.2.1", 32, 0xC0000201),
        ("2001:db8::1", 128, int(ipaddress.IPv6Address("2001:db8::1"))),
        (ipaddress.IPv4Address("203.0.113.7"), 32, 0xCB007107),
    ],
)
def test_parse_int(value: object, width: int, expected: int) -> None:
    assert parse_int(value, width) == expected


@pytest.mark.parametrize(
    ("value", "width", "message"),
    [
        (512, 9, "0x200: does not fit in 9 bits"),
        (-1, 8, "negative"),
        ("2001:db8::1", 32, "does not fit in 32 bits"),
        ("192.0.2.256", 32, "not a number, MAC, IPv4 or IPv6 address"),
        ("zz", 8, "'zz': not a number"),
        (b"", 8, "empty bytestring"),
        (1.5, 8, "expected an int"),
    ],
)
def test_parse_int_errors(value: object, width: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_int(value, width)


def test_canonical_bytestrings() -> None:
    assert encode_int(0) == b"\x00"
    assert encode_int(1) == b"\x01"
    assert encode_int(0x100) == b"\x01\x00"
    assert encode_int(0x020000000001, 48) == b"\x02\x00\x00\x00\x00\x01"
    with pytest.raises(ValueError, match="does not fit in 8 bits"):
        encode_int(256, 8)
    assert decode_int(b"\x00\x00\x05") == 5
    with pytest.raises(ValueError, match="does not fit in 9 bits"):
        decode_int(b"\x02\x00", 9)


def test_signed_bytestrings() -> None:
    # int<W> travels as two's complement: sign extension is accepted, the shortest form is sent
    assert encode_signed((-739) & 0xFFF, 12) == b"\xfd\x1d"
    assert encode_signed(0x80, 16) == b"\x00\x80"
    assert encode_signed(0, 16) == b"\x00"
    assert decode_signed(b"\xff\x9d", 8) == 0x9D
    assert decode_signed(b"\xfd\x1d", 12) == (-739) & 0xFFF
    with pytest.raises(ValueError, match=r"0x8d1d: does not fit in int<12>"):
        decode_signed(b"\x8d\x1d", 12)


def test_lpm() -> None:
    assert parse_lpm("198.51.100.0/24", 32) == (0xC6336400, 24)
    assert parse_lpm("2001:db8::/32", 128) == (0x20010DB8 << 96, 32)
    assert parse_lpm(("203.0.113.0", 25), 32) == (0xCB007100, 25)
    assert parse_lpm(ipaddress.ip_network("192.0.2.0/24"), 32) == (0xC0000200, 24)
    assert parse_lpm("192.0.2.1", 32) == (0xC0000201, 32)  # a plain value: full prefix
    assert parse_lpm("0.0.0.0/0", 32) == (0, 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("198.51.100.1/33", "198.51.100.1/33: prefix longer than 32 bits"),
        ("198.51.100.1/24", "bits set beyond the 24-bit prefix"),
        ("198.51.100.0/x", "prefix length 'x' is not a number"),
        ("2001:db8::/32", "does not fit in 32 bits"),
        (("192.0.2.0", -1), "bad prefix length"),
    ],
)
def test_lpm_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_lpm(value, 32)


def test_ternary() -> None:
    assert parse_ternary("0x0a&&&0x0f", 8) == (0x0A, 0x0F)
    assert parse_ternary("192.0.2.0 &&& 255.255.255.0", 32) == (0xC0000200, 0xFFFFFF00)
    assert parse_ternary((6, 0xFF), 8) == (6, 0xFF)
    assert parse_ternary("198.51.100.0/24", 32) == (0xC6336400, 0xFFFFFF00)
    assert parse_ternary(7, 8) == (7, 0xFF)
    with pytest.raises(ValueError, match="bits set outside the mask"):
        parse_ternary("0x1f&&&0x0f", 8)
    with pytest.raises(ValueError, match="does not fit in 8 bits"):
        parse_ternary("0x100&&&0xff", 8)


def test_range() -> None:
    assert parse_range("10..20", 16) == (10, 20)
    assert parse_range("10->20", 16) == (10, 20)
    assert parse_range((1024, 65535), 16) == (1024, 65535)
    assert parse_range(80, 16) == (80, 80)
    with pytest.raises(ValueError, match="low end above high end"):
        parse_range("20..10", 16)
    with pytest.raises(ValueError, match="does not fit in 8 bits"):
        parse_range("0..300", 8)


def test_format_value() -> None:
    assert format_value(0x020000000001, 48) == "02:00:00:00:00:01"
    assert format_value(0xC0000201, 32, "ipv4") == "192.0.2.1"
    assert format_value(0x20010DB8 << 96, 128, "ipv6") == "2001:db8::"
    assert format_value(7, 9) == "7"
