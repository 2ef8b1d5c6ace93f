"""Hash and checksum algorithms of v1model, with the outputs BMv2's ``simple_switch`` produces.

The names are the ones p4c writes into BMv2 JSON for ``HashAlgorithm`` (``crc32``,
``crc32_custom``, ``crc16``, ``crc16_custom``, ``random``, ``identity``, ``csum16``, ``xor16``)
plus the other BMv2 built-ins that cost nothing here (``crc8_custom``, ``crc64_custom``,
``crcCCITT``, ``cksum16``, ``xor32``).

How BMv2 feeds a hash (``BufBuilder`` in ``bm_sim/calculations.cpp``), which :func:`pack_fields`
reproduces:

- the fields are concatenated bit by bit, most significant bit first, with no per-field padding;
  the last byte is padded with zero bits on the right, so one 12-bit field ``0xABC`` hashes as
  the bytes ``AB C0`` (and ``identity`` of it is ``0xABC0``, not ``0xABC``);
- fields of invalid headers are skipped (they add no bits at all); callers must leave them out;
- ``*_with_payload`` checksums append the unparsed payload after the fields.

What the v1model externs do with the output is in :func:`v1model_hash`, :func:`compute_checksum`
and :func:`verify_checksum`.
"""

from __future__ import annotations

import random as _random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ALGORITHMS",
    "BMV2_REJECTS",
    "CrcParams",
    "HashCalculation",
    "compute",
    "compute_checksum",
    "hash_fields",
    "pack_fields",
    "v1model_hash",
    "verify_checksum",
]

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class CrcParams:
    """A CRC in the Rocksoft model, as ``set_crc16_parameters``/``set_crc32_parameters`` set it.

    ``poly`` is written without its top bit (``0x8005`` for CRC-16); ``init`` and ``xor_out`` are
    register values before reflection, which is how BMv2's ``crc_config_t`` holds them.
    ``reflect_in`` is BMv2's "reflect data", ``reflect_out`` its "reflect remainder".
    """

    poly: int
    init: int
    xor_out: int
    reflect_in: bool
    reflect_out: bool
    width: int

    def __post_init__(self) -> None:
        if not 8 <= self.width <= 64:
            raise ValueError(f"CRC width must be 8..64 bits, not {self.width}")
        top = 1 << self.width
        for name in ("poly", "init", "xor_out"):
            value = getattr(self, name)
            if not 0 <= value < top:
                raise ValueError(f"CRC {name} {value:#x} does not fit in {self.width} bits")


# The configurations BMv2 gives its custom CRCs before the control plane changes them.
CRC8_CUSTOM_DEFAULT = CrcParams(0x07, 0x00, 0x00, False, False, 8)
CRC16_CUSTOM_DEFAULT = CrcParams(0x8005, 0x0000, 0x0000, True, True, 16)
CRC32_CUSTOM_DEFAULT = CrcParams(0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True, 32)
CRC64_CUSTOM_DEFAULT = CrcParams(0x1B, 0, 0, True, True, 64)

# BMv2's fixed CRCs are these same parameters (crc16 is CRC-16/ARC, crc32 is CRC-32/ISO-HDLC);
# crcCCITT is CRC-16/CCITT-FALSE.
_CRC16 = CRC16_CUSTOM_DEFAULT
_CRC32 = CRC32_CUSTOM_DEFAULT
_CRC_CCITT = CrcParams(0x1021, 0xFFFF, 0x0000, False, False, 16)

_CUSTOM_DEFAULTS = {
    "crc8_custom": CRC8_CUSTOM_DEFAULT,
    "crc16_custom": CRC16_CUSTOM_DEFAULT,
    "crc32_custom": CRC32_CUSTOM_DEFAULT,
    "crc64_custom": CRC64_CUSTOM_DEFAULT,
}

ALGORITHMS = frozenset(
    {"crc16", "crc32", "crcCCITT", "identity", "csum16", "cksum16", "xor16", "xor32", "random"}
    | set(_CUSTOM_DEFAULTS)
)
"""Every algorithm name :func:`compute` accepts."""

BMV2_REJECTS = frozenset({"random"})
"""Names p4c emits but BMv2 has no hash for: ``simple_switch`` refuses to load such a JSON
("Unknown hash algorithm: random"). We implement them anyway; a loader that wants BMv2's
strictness can check this set."""


def _reflect(value: int, nbits: int) -> int:
    out = 0
    for _ in range(nbits):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


@lru_cache(maxsize=64)
def _reflect_cached(value: int, nbits: int) -> int:
    return _reflect(value, nbits)


@lru_cache(maxsize=64)
def _table(poly: int, width: int, reflected: bool) -> tuple[int, ...]:
    """The 256-entry table of a CRC, MSB-first, or LSB-first (reflected) for reflected input."""
    table = []
    if reflected:
        rpoly = _reflect(poly, width)
        for byte in range(256):
            reg = byte
            for _ in range(8):
                reg = (reg >> 1) ^ rpoly if reg & 1 else reg >> 1
            table.append(reg)
    else:
        top = 1 << (width - 1)
        mask = (1 << width) - 1
        for byte in range(256):
            reg = byte << (width - 8)
            for _ in range(8):
                reg = ((reg << 1) ^ poly) & mask if reg & top else (reg << 1) & mask
            table.append(reg)
    return tuple(table)


def crc(params: CrcParams, data: bytes) -> int:
    """The CRC of ``data`` under ``params``, bit-exact with BMv2's ``crc_custom<T>``.

    BMv2 reflects each input byte and runs an MSB-first register; running the reflected register
    LSB-first instead is the same function and saves the per-byte reflection, so reflected input
    takes that path and only the final reflection (when ``reflect_in != reflect_out``) differs.
    """
    if params is _CRC32 or (params.poly == 0x04C11DB7 and params == _CRC32):
        return zlib.crc32(data)  # the same function; C speed on the hottest path
    width = params.width
    if params.reflect_in:
        table = _table(params.poly, width, True)
        reg = _reflect_cached(params.init, width)
        for byte in data:
            reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
        # reg holds the MSB-first register reflected, which is already the reflected output
        out = reg if params.reflect_out else _reflect(reg, width)
    else:
        table = _table(params.poly, width, False)
        mask = (1 << width) - 1
        shift = width - 8
        reg = params.init
        for byte in data:
            reg = table[((reg >> shift) ^ byte) & 0xFF] ^ ((reg << 8) & mask)
        out = _reflect(reg, width) if params.reflect_out else reg
    return out ^ params.xor_out


def _csum16(data: bytes) -> int:
    # RFC 1071 one's-complement sum, odd byte padded with a zero on the right; BMv2 sums 64-bit
    # native words and byte-swaps at the end, which is the same number on a little-endian host.
    if len(data) & 1:
        data = data + b"\x00"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _xor_words(data: bytes, nbytes: int) -> int:
    # A short last word is padded with zero bytes on the right (BMv2's emitAsInteger).
    out = 0
    for i in range(0, len(data), nbytes):
        out ^= int.from_bytes(data[i : i + nbytes].ljust(nbytes, b"\x00"), "big")
    return out


def _identity(data: bytes) -> int:
    # Only the first 8 bytes count: BMv2's hash output is a uint64_t.
    return int.from_bytes(data[:8], "big")


def compute(
    algorithm: str,
    data: bytes,
    *,
    custom: CrcParams | None = None,
    rng: _random.Random | None = None,
) -> int:
    """The raw output of ``algorithm`` over ``data``, before any ``% max`` or truncation.

    ``custom`` replaces the parameters of a ``*_custom`` CRC (its width must match);
    ``random`` ignores ``data`` and draws 64 bits from ``rng``, which it requires so that runs
    stay reproducible.
    """
    if custom is not None and algorithm not in _CUSTOM_DEFAULTS:
        raise ValueError(f"{algorithm} takes no CRC parameters")
    if algorithm in _CUSTOM_DEFAULTS:
        params = custom if custom is not None else _CUSTOM_DEFAULTS[algorithm]
        expected = _CUSTOM_DEFAULTS[algorithm].width
        if params.width != expected:
            raise ValueError(f"{algorithm} needs {expected}-bit CRC parameters, not {params.width}")
        return crc(params, data)
    if algorithm == "crc32":
        return zlib.crc32(data)
    if algorithm == "crc16":
        return crc(_CRC16, data)
    if algorithm == "crcCCITT":
        return crc(_CRC_CCITT, data)
    if algorithm in ("csum16", "cksum16"):
        return _csum16(data)
    if algorithm == "xor16":
        return _xor_words(data, 2)
    if algorithm == "xor32":
        return _xor_words(data, 4)
    if algorithm == "identity":
        return _identity(data)
    if algorithm == "random":
        if rng is None:
            raise ValueError("the random algorithm needs an rng")
        return rng.getrandbits(64)
    raise ValueError(f"unknown hash algorithm {algorithm!r}")


def pack_fields(fields: Iterable[tuple[int, int]]) -> bytes:
    """Concatenate ``(value, bitwidth)`` fields into the byte buffer BMv2 hashes.

    MSB first, no padding between fields, zero bits after the last one up to a byte boundary.
    Values are taken modulo ``2**bitwidth``, so a negative ``int<W>`` packs as two's complement.
    Zero-width fields (empty varbits) add nothing.
    """
    acc = 0
    nbits = 0
    for value, width in fields:
        if width < 0:
            raise ValueError(f"negative field width {width}")
        acc = (acc << width) | (value & ((1 << width) - 1))
        nbits += width
    pad = -nbits % 8
    return (acc << pad).to_bytes((nbits + pad) // 8, "big")


def hash_fields(
    algorithm: str,
    fields: Iterable[tuple[int, int]],
    *,
    payload: bytes = b"",
    custom: CrcParams | None = None,
    rng: _random.Random | None = None,
) -> int:
    """:func:`compute` over :func:`pack_fields` of ``fields``, then ``payload``."""
    return compute(algorithm, pack_fields(fields) + payload, custom=custom, rng=rng)


def v1model_hash(
    algorithm: str,
    base: int,
    fields: Iterable[tuple[int, int]],
    max_value: int,
    result_width: int,
    *,
    custom: CrcParams | None = None,
    rng: _random.Random | None = None,
) -> int:
    """What ``hash(out result, algo, base, data, max)`` writes into ``result``.

    ``base + (h % max)`` in 64-bit unsigned arithmetic (BMv2 reads base and max as uint64),
    truncated to the width of ``result``. ``max == 0`` is treated as 1, so the result is
    ``base``: BMv2 warns and does that, and v1model.p4 documents it.
    """
    h = hash_fields(algorithm, fields, custom=custom, rng=rng)
    modulus = max_value & _MASK64 or 1
    value = ((h % modulus) + (base & _MASK64)) & _MASK64
    return value & ((1 << result_width) - 1)


def compute_checksum(
    algorithm: str,
    fields: Iterable[tuple[int, int]],
    width: int,
    *,
    payload: bytes = b"",
    custom: CrcParams | None = None,
) -> int:
    """The value ``update_checksum(_with_payload)`` stores in a ``width``-bit checksum field.

    The caller skips the update when the condition is false (BMv2 leaves the field untouched).
    """
    return hash_fields(algorithm, fields, payload=payload, custom=custom) & ((1 << width) - 1)


def verify_checksum(
    algorithm: str,
    fields: Iterable[tuple[int, int]],
    checksum: int,
    *,
    payload: bytes = b"",
    custom: CrcParams | None = None,
) -> bool:
    """Whether ``verify_checksum(_with_payload)`` passes for the field value ``checksum``.

    BMv2 compares the untruncated output with the field, so a 32-bit CRC checked against a
    16-bit field fails unless the CRC happens to fit. The caller treats a false condition or an
    invalid checksum header as a pass, as BMv2 does, and sets ``checksum_error`` on failure.
    """
    return hash_fields(algorithm, fields, payload=payload, custom=custom) == checksum


class HashCalculation:
    """One named calculation of a pipeline: an algorithm with its own custom CRC settings.

    BMv2 keeps custom CRC parameters per calculation (``set_crc16_parameters <calc> ...``), so
    the engine holds one of these per calculation in the program.
    """

    def __init__(
        self,
        algorithm: str,
        *,
        custom: CrcParams | None = None,
        rng: _random.Random | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown hash algorithm {algorithm!r}")
        self.algorithm = algorithm
        self.custom = custom
        self.rng = rng
        if custom is not None:
            self.set_crc_parameters(custom)

    def set_crc_parameters(self, params: CrcParams) -> None:
        """Replace the CRC parameters; only ``*_custom`` algorithms of the same width take them."""
        default = _CUSTOM_DEFAULTS.get(self.algorithm)
        if default is None:
            raise ValueError(f"{self.algorithm} is not a custom CRC")
        if params.width != default.width:
            raise ValueError(
                f"{self.algorithm} needs {default.width}-bit CRC parameters, not {params.width}"
            )
        self.custom = params

    def __call__(self, data: bytes) -> int:
        return compute(self.algorithm, data, custom=self.custom, rng=self.rng)

    def fields(self, fields: Iterable[tuple[int, int]], payload: bytes = b"") -> int:
        """The output over packed ``fields`` followed by ``payload``."""
        return self(pack_fields(fields) + payload)
