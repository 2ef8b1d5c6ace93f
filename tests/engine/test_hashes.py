"""Hash and checksum outputs against published check values and BMv2's packing rules."""

from __future__ import annotations

import random

import pytest

from softswitch.engine.hashes import (
    ALGORITHMS,
    BMV2_REJECTS,
    CrcParams,
    HashCalculation,
    compute,
    compute_checksum,
    hash_fields,
    pack_fields,
    v1model_hash,
    verify_checksum,
)

CHECK = b"123456789"  # the input every CRC catalogue quotes its check value for

# An IPv4 header (20 bytes, no options) whose checksum field is 0xB861.
IPV4_FIELDS = [
    (4, 4),  # version
    (5, 4),  # ihl
    (0, 8),  # diffserv
    (0x0073, 16),  # totalLen
    (0, 16),  # identification
    (0b010, 3),  # flags (DF)
    (0, 13),  # fragOffset
    (0x40, 8),  # ttl
    (0x11, 8),  # protocol (UDP)
    (0xC0000201, 32),  # srcAddr 192.0.2.1
    (0xC63364C7, 32),  # dstAddr 198.51.100.199
]
IPV4_CHECKSUM = 0x4D7E  # what scapy's independent IPv4 checksum gives for this header


def _bitwise_crc(p: CrcParams, data: bytes) -> int:
    """A bit-at-a-time CRC in the Rocksoft model, independent of the table-driven code."""
    top = 1 << (p.width - 1)
    mask = (1 << p.width) - 1
    reg = p.init
    for byte in data:
        if p.reflect_in:
            byte = int(f"{byte:08b}"[::-1], 2)
        reg ^= byte << (p.width - 8)
        for _ in range(8):
            reg = ((reg << 1) ^ p.poly) & mask if reg & top else (reg << 1) & mask
    if p.reflect_out:
        reg = int(f"{reg:0{p.width}b}"[::-1], 2)
    return reg ^ p.xor_out


@pytest.mark.parametrize(
    ("algorithm", "check"),
    [
        ("crc32", 0xCBF43926),  # CRC-32/ISO-HDLC
        ("crc32_custom", 0xCBF43926),  # BMv2's default custom config is the same CRC
        ("crc16", 0xBB3D),  # BMv2's crc16 is CRC-16/ARC
        ("crc16_custom", 0xBB3D),
        ("crcCCITT", 0x29B1),  # CRC-16/CCITT-FALSE
        ("crc8_custom", 0xF4),  # CRC-8/SMBUS, BMv2's default crc8
    ],
)
def test_crc_check_values(algorithm, check):
    assert compute(algorithm, CHECK) == check


def test_crc64_custom_default_is_bmv2s_reflected_0x1b_with_zero_init():
    expected = _bitwise_crc(CrcParams(0x1B, 0, 0, True, True, 64), CHECK)
    assert compute("crc64_custom", CHECK) == expected


@pytest.mark.parametrize(
    ("params", "check"),
    [
        (CrcParams(0x1021, 0xFFFF, 0x0000, False, False, 16), 0x29B1),  # CCITT-FALSE
        (CrcParams(0x1021, 0x0000, 0x0000, True, True, 16), 0x2189),  # KERMIT
        (CrcParams(0x8005, 0xFFFF, 0x0000, True, True, 16), 0x4B37),  # MODBUS
        (CrcParams(0x8005, 0xFFFF, 0xFFFF, True, True, 16), 0xB4C8),  # USB
        (CrcParams(0x1021, 0x0000, 0x0000, False, False, 16), 0x31C3),  # XMODEM
    ],
)
def test_crc16_custom_with_control_plane_parameters(params, check):
    assert compute("crc16_custom", CHECK, custom=params) == check
    calc = HashCalculation("crc16_custom")
    assert calc(CHECK) == 0xBB3D
    calc.set_crc_parameters(params)  # as set_crc16_parameters does
    assert calc(CHECK) == check


@pytest.mark.parametrize(
    ("params", "check"),
    [
        (CrcParams(0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, True, True, 32), 0xE3069283),  # CRC-32C
        (CrcParams(0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, False, False, 32), 0xFC891918),  # BZIP2
        (CrcParams(0x04C11DB7, 0xFFFFFFFF, 0x00000000, False, False, 32), 0x0376E6E7),  # MPEG-2
        (CrcParams(0x04C11DB7, 0x00000000, 0xFFFFFFFF, False, False, 32), 0x765E7680),  # CKSUM
    ],
)
def test_crc32_custom_with_control_plane_parameters(params, check):
    assert compute("crc32_custom", CHECK, custom=params) == check


def test_table_driven_crc_matches_bitwise_for_every_reflection_combination():
    rng = random.Random(7)
    for width, algorithm in (
        (8, "crc8_custom"),
        (16, "crc16_custom"),
        (32, "crc32_custom"),
        (64, "crc64_custom"),
    ):
        for reflect_in in (False, True):
            for reflect_out in (False, True):
                for _ in range(20):
                    p = CrcParams(
                        rng.getrandbits(width),
                        rng.getrandbits(width),
                        rng.getrandbits(width),
                        reflect_in,
                        reflect_out,
                        width,
                    )
                    data = rng.randbytes(rng.randrange(0, 24))
                    assert compute(algorithm, data, custom=p) == _bitwise_crc(p, data)


def test_crc_of_empty_input():
    assert compute("crc32", b"") == 0
    assert compute("crc16", b"") == 0


def test_custom_params_are_checked():
    with pytest.raises(ValueError, match="16-bit"):
        compute("crc16_custom", CHECK, custom=CrcParams(0x04C11DB7, 0, 0, True, True, 32))
    with pytest.raises(ValueError, match="takes no CRC parameters"):
        compute("crc32", CHECK, custom=CrcParams(0x8005, 0, 0, True, True, 16))
    with pytest.raises(ValueError, match="not a custom CRC"):
        HashCalculation("crc16").set_crc_parameters(CrcParams(0x8005, 0, 0, True, True, 16))
    with pytest.raises(ValueError, match="does not fit"):
        CrcParams(0x18005, 0, 0, True, True, 16)
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        compute("md5", CHECK)


def test_csum16_of_an_ipv4_header_is_its_checksum_field():
    header = bytes.fromhex("450000730000400040110000c0000201c63364c7")
    assert compute("csum16", header) == IPV4_CHECKSUM
    with_checksum = header[:10] + IPV4_CHECKSUM.to_bytes(2, "big") + header[12:]
    assert compute("csum16", with_checksum) == 0  # a correct header sums to all ones
    assert compute("cksum16", header) == IPV4_CHECKSUM


def test_csum16_pads_an_odd_byte_on_the_right_and_empty_input_is_ffff():
    assert compute("csum16", b"\x01") == 0xFEFF
    assert compute("csum16", b"") == 0xFFFF


def test_update_and_verify_checksum_over_ipv4_fields():
    # the field list leaves out hdrChecksum, as P4 programs write it
    assert pack_fields(IPV4_FIELDS) == bytes.fromhex("45000073000040004011c0000201c63364c7")
    assert compute_checksum("csum16", IPV4_FIELDS, 16) == IPV4_CHECKSUM
    assert verify_checksum("csum16", IPV4_FIELDS, IPV4_CHECKSUM)
    assert not verify_checksum("csum16", IPV4_FIELDS, IPV4_CHECKSUM ^ 1)


def test_checksum_with_payload_appends_the_payload_bytes():
    fields = [(0x1234, 16), (0x56, 8)]
    payload = b"\x78\x9a\xbc"
    expected = compute("csum16", b"\x12\x34\x56\x78\x9a\xbc")
    assert compute_checksum("csum16", fields, 16, payload=payload) == expected
    assert verify_checksum("csum16", fields, expected, payload=payload)


def test_update_truncates_to_the_field_but_verify_compares_the_whole_output():
    fields = [(0xDEADBEEF, 32)]
    full = compute("crc32", pack_fields(fields))
    assert full > 0xFFFF
    assert compute_checksum("crc32", fields, 16) == full & 0xFFFF
    assert not verify_checksum("crc32", fields, full & 0xFFFF)
    assert verify_checksum("crc32", fields, full)


def test_pack_fields_concatenates_msb_first_and_pads_the_last_byte_with_zeros():
    assert pack_fields([(0xA, 4), (0xB, 4)]) == b"\xab"
    assert pack_fields([(0xABC, 12)]) == b"\xab\xc0"
    # 1 | 00 | 11111 | 011 -> 1001 1111 011 + five zero bits
    assert pack_fields([(1, 1), (0, 2), (0x1F, 5), (0b011, 3)]) == b"\x9f\x60"
    assert pack_fields([(-1, 4)]) == b"\xf0"  # int<4> -1 as two's complement
    assert pack_fields([(0x1FF, 8)]) == b"\xff"  # extra high bits are dropped
    assert pack_fields([(0, 0), (0x7, 3)]) == b"\xe0"  # an empty varbit adds nothing
    assert pack_fields([]) == b""


def test_identity_sees_the_padded_buffer_and_only_its_first_eight_bytes():
    assert hash_fields("identity", [(0xABC, 12)]) == 0xABC0
    assert hash_fields("identity", [(0x0A000001, 32)]) == 0x0A000001
    assert compute("identity", CHECK) == 0x3132333435363738
    assert compute("identity", b"") == 0


def test_xor16_folds_big_endian_words_with_a_zero_padded_tail():
    # 3132 ^ 3334 ^ 3536 ^ 3738 ^ 3900
    assert compute("xor16", CHECK) == 0x3908
    assert hash_fields("xor16", [(0x1234, 16), (0xAB, 8)]) == 0x1234 ^ 0xAB00
    assert compute("xor32", b"\x01\x02\x03\x04\x05") == 0x01020304 ^ 0x05000000


def test_v1model_hash_is_base_plus_h_mod_max_truncated_to_the_result():
    fields = [(0x0A000001, 32), (0x0A000002, 32), (6, 8)]
    h = hash_fields("crc16", fields)
    assert v1model_hash("crc16", 5, fields, 1024, 16) == 5 + h % 1024
    assert v1model_hash("crc16", 0, fields, 1 << 16, 16) == h
    # the sum wraps into the result's width
    assert v1model_hash("crc16", 0xFFFF, fields, 1024, 16) == (0xFFFF + h % 1024) & 0xFFFF
    assert v1model_hash("crc32", 0, fields, 1 << 32, 8) == hash_fields("crc32", fields) & 0xFF


def test_v1model_hash_with_max_zero_gives_base():
    fields = [(0x0A000001, 32)]
    assert v1model_hash("crc32", 7, fields, 0, 16) == 7


def test_random_needs_an_rng_and_is_reproducible_with_one():
    assert "random" in BMV2_REJECTS and "random" in ALGORITHMS
    with pytest.raises(ValueError, match="rng"):
        compute("random", b"")
    a = [v1model_hash("random", 0, [], 100, 8, rng=random.Random(3)) for _ in range(3)]
    b = [v1model_hash("random", 0, [], 100, 8, rng=random.Random(3)) for _ in range(3)]
    assert a == b and all(0 <= v < 100 for v in a)


def test_hash_calculation_over_fields():
    calc = HashCalculation("crc32")
    fields = [(0xABC, 12), (0x5, 4)]
    assert calc.fields(fields) == compute("crc32", b"\xab\xc5")
    assert calc.fields(fields, b"\x01") == compute("crc32", b"\xab\xc5\x01")
