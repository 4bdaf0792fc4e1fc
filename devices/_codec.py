"""Shared bit twiddling for the decoders: UUIDs, sign extension, packed bit fields."""

from __future__ import annotations

from devices.profile import DecodeError

BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(short: int) -> str:
    """Expand a 16-bit SIG UUID (``0x180F``) to the lowercase 128-bit form."""
    return f"0000{short:04x}{BASE_UUID_SUFFIX}"


def sign_extend(value: int, bits: int) -> int:
    """Interpret the low ``bits`` bits of ``value`` as two's complement."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def int_le(data: bytes, offset: int, size: int, *, signed: bool) -> int:
    """Little-endian integer of ``size`` bytes at ``offset``."""
    return int.from_bytes(data[offset : offset + size], "little", signed=signed)


def fields_msb_first(data: bytes, bits: int, count: int) -> list[int]:
    """``count`` unsigned ``bits``-wide fields read MSB-first from ``data`` (Ganglion packing).

    Raises:
        DecodeError: ``data`` is too short.
    """
    if len(data) * 8 < bits * count:
        raise DecodeError(f"{bits}-bit fields: need {bits * count} bits, got {len(data) * 8}")
    whole = int.from_bytes(data, "big")
    total = len(data) * 8
    mask = (1 << bits) - 1
    return [(whole >> (total - bits * (i + 1))) & mask for i in range(count)]


def pack_msb_first(values: list[int], bits: int, size: int) -> bytes:
    """Inverse of :func:`fields_msb_first`: pack unsigned fields MSB-first into ``size`` bytes."""
    whole = 0
    for value in values:
        whole = (whole << bits) | (value & ((1 << bits) - 1))
    pad = size * 8 - bits * len(values)
    return (whole << pad).to_bytes(size, "big")


def fields_lsb_first(data: bytes, bits: int, count: int) -> list[int]:
    """``count`` signed ``bits``-wide fields read LSB-first (bit i = byte[i//8] >> i%8; Polar).

    Raises:
        DecodeError: ``data`` is too short.
    """
    if len(data) * 8 < bits * count:
        raise DecodeError(f"{bits}-bit deltas: need {bits * count} bits, got {len(data) * 8}")
    whole = int.from_bytes(data, "little")
    mask = (1 << bits) - 1
    return [sign_extend((whole >> (bits * i)) & mask, bits) for i in range(count)]


def pack_lsb_first(values: list[int], bits: int) -> bytes:
    """Inverse of :func:`fields_lsb_first` (two's complement, padded to whole bytes)."""
    whole = 0
    mask = (1 << bits) - 1
    for i, value in enumerate(values):
        whole |= (value & mask) << (bits * i)
    return whole.to_bytes((bits * len(values) + 7) // 8, "little")


def expect_length(payload: bytes, size: int, what: str) -> None:
    """Raise DecodeError unless ``payload`` has exactly ``size`` bytes."""
    if len(payload) != size:
        raise DecodeError(f"{what}: expected {size} bytes, got {len(payload)}")
