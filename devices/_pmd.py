"""Polar Measurement Data (PMD) service: frame parsing and control-point commands.

Sources: ``polarofficial/polar-ble-sdk`` (``technical_documentation/online_measurement.pdf``;
Android ``BlePMDClient.kt`` ``parseDeltaFramesAll``, ``model/AccData.kt``, ``model/EcgData.kt``,
``PmdTimeStampUtils.kt`` and their unit tests). A data frame is: byte 0 measurement type
(mask 0x3F), bytes 1-8 uint64 LE timestamp of the *last* sample in ns since
2000-01-01T00:00:00Z, byte 9 frame type (bit 7: delta-compressed), then the content. There is
no sequence counter.
"""

from __future__ import annotations

from collections.abc import Callable

from devices._codec import fields_lsb_first, int_le, uuid16
from devices.profile import CharSpec, DecodeError, Frame, GattWrite, ServiceSpec, StreamSpec

SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
POLAR_COMPANY_IDS = (0x006B, 0x00D1)
#: Polar's 16-bit SIG member service UUID (0xFEEE), seen in Polar advertisements.
POLAR_SERVICE_16_UUID = uuid16(0xFEEE)

MEAS_ECG = 0
MEAS_ACC = 2
OP_START = 0x02
OP_STOP = 0x03
RESPONSE_CODE = 0xF0
STATUS_SUCCESS = 0
STATUS_ALREADY_IN_STATE = 6

#: 2000-01-01T00:00:00Z in ns since 1970-01-01 UTC.
POLAR_EPOCH_NS = 946_684_800 * 1_000_000_000
_HEADER_SIZE = 10
_COMPRESSED = 0x80
_MAX_DELTA_BITS = 32


def frame_kind(payload: bytes) -> int | None:
    """Measurement type of a data frame (None if too short to tell)."""
    return payload[0] & 0x3F if payload else None


def parse_header(payload: bytes, measurement: int, what: str) -> tuple[int, int, bool, bytes]:
    """Split a PMD data frame.

    Returns:
        (device_time_ns since 1970 UTC of the last sample, frame type 0..127, compressed,
        content bytes).

    Raises:
        DecodeError: shorter than the header, or another measurement type.
    """
    if len(payload) <= _HEADER_SIZE:
        raise DecodeError(f"{what}: frame of {len(payload)} bytes is shorter than its header")
    kind = payload[0] & 0x3F
    if kind != measurement:
        raise DecodeError(f"{what}: measurement type {kind}, expected {measurement}")
    stamp = int_le(payload, 1, 8, signed=False)
    frame_type = payload[9]
    return (
        stamp + POLAR_EPOCH_NS,
        frame_type & 0x7F,
        bool(frame_type & _COMPRESSED),
        payload[_HEADER_SIZE:],
    )


def plain_samples(content: bytes, channels: int, width: int, what: str) -> list[list[int]]:
    """Uncompressed samples: ``channels`` signed LE integers of ``width`` bytes each.

    Raises:
        DecodeError: the content is not a whole number of samples.
    """
    step = channels * width
    if len(content) % step:
        raise DecodeError(f"{what}: {len(content)} content bytes is not a multiple of {step}")
    return [
        [int_le(content, i + c * width, width, signed=True) for c in range(channels)]
        for i in range(0, len(content), step)
    ]


def delta_samples(
    content: bytes, channels: int, resolution_bits: int, what: str
) -> list[list[int]]:
    """Delta-compressed samples (``BlePMDClient.parseDeltaFramesAll``).

    Layout: a reference sample (``channels`` signed LE values of ceil(resolution/8) bytes), then
    blocks of ``delta_bits u8, count u8`` followed by ceil(delta_bits*channels*count/8) bytes of
    deltas packed LSB-first; each sample is the previous one plus its deltas. The reference is
    the first sample returned.

    Raises:
        DecodeError: truncated reference or block, zero-sample or over-wide blocks.
    """
    width = (resolution_bits + 7) // 8
    if len(content) < channels * width:
        raise DecodeError(f"{what}: compressed frame shorter than its reference sample")
    current = [int_le(content, c * width, width, signed=True) for c in range(channels)]
    samples = [list(current)]
    pos = channels * width
    while pos < len(content):
        if pos + 2 > len(content):
            raise DecodeError(f"{what}: truncated delta block header at byte {pos}")
        bits, count = content[pos], content[pos + 1]
        if count == 0 or bits == 0 or bits > _MAX_DELTA_BITS:
            raise DecodeError(f"{what}: impossible delta block ({bits} bits x {count} samples)")
        size = (bits * channels * count + 7) // 8
        block = content[pos + 2 : pos + 2 + size]
        if len(block) < size:
            raise DecodeError(f"{what}: delta block needs {size} bytes, has {len(block)}")
        deltas = fields_lsb_first(block, bits, channels * count)
        for i in range(count):
            current = [
                v + d
                for v, d in zip(current, deltas[i * channels : (i + 1) * channels], strict=True)
            ]
            samples.append(list(current))
        pos += 2 + size
    return samples


def start_command(measurement: int, settings: tuple[tuple[int, int, int], ...]) -> bytes:
    """REQUEST_MEASUREMENT_START: ``02, type`` then TLV settings ``(type, size, value)``.

    Setting types: 0 sample rate (2 B), 1 resolution (2 B), 2 range (2 B), 4 channels (1 B).
    """
    out = bytearray([OP_START, measurement])
    for kind, size, value in settings:
        out += bytes([kind, 1]) + value.to_bytes(size, "little")
    return bytes(out)


def stop_command(measurement: int) -> bytes:
    """STOP_MEASUREMENT for one measurement type."""
    return bytes([OP_STOP, measurement])


def reply_prefix(opcode: int, measurement: int) -> bytes:
    """The first bytes of the control-point answer to ``opcode`` for ``measurement``."""
    return bytes([RESPONSE_CODE, opcode, measurement])


def feature_bitmap(*measurements: int) -> bytes:
    """Control-point read value: ``0F`` then the measurement bitmask (17 bytes as on an H10)."""
    mask = 0
    for m in measurements:
        mask |= 1 << m
    return bytes([0x0F]) + mask.to_bytes(2, "little") + bytes(14)


# Answers to START that mean "streaming": already streaming happens after a reconnect.
START_OK = (STATUS_SUCCESS, STATUS_ALREADY_IN_STATE)


def pmd_service(*measurements: int) -> ServiceSpec:
    """The PMD service as the GATT table shows it, advertising ``measurements``."""
    return ServiceSpec(
        SERVICE_UUID,
        (
            CharSpec(
                CONTROL_POINT_UUID, ("read", "write", "indicate"), feature_bitmap(*measurements)
            ),
            CharSpec(DATA_UUID, ("notify",)),
        ),
    )


def start_write(command: bytes, measurement: int) -> GattWrite:
    """Write START ``command`` to the control point and wait for its positive answer."""
    return GattWrite(
        CONTROL_POINT_UUID,
        command,
        reply_uuid=CONTROL_POINT_UUID,
        reply_prefix=reply_prefix(OP_START, measurement),
        ok_status=START_OK,
    )


def stop_write(measurement: int) -> GattWrite:
    """Write STOP for ``measurement`` to the control point."""
    return GattWrite(CONTROL_POINT_UUID, stop_command(measurement))


def data_stream(
    name: str,
    measurement: int,
    *,
    fs_hz: float,
    channels: tuple[str, ...],
    unit: str,
    decode: Callable[[bytes], Frame],
) -> StreamSpec:
    """A stream carried on the shared PMD data characteristic, told apart by the frame's type."""
    return StreamSpec(
        name=name,
        char_uuids=(DATA_UUID,),
        fs_hz=fs_hz,
        channels=channels,
        unit=unit,
        decode=decode,
        accepts=lambda payload: frame_kind(payload) == measurement,
        has_device_time=True,
    )
