"""OpenBCI Ganglion (firmware 3): 4-ch ExG/EMG at 200 Hz over BLE, packet counter, accelerometer.

Sources: ``OpenBCI/Documentation`` ``08-Ganglion_Data_Format.md`` (packet ids, packing),
``OpenBCI/OpenBCI_Ganglion_Library`` (``compressData18/19``), and BrainFlow
``src/board_controller/openbci/ganglion_native.cpp`` + ``custom_cast.h`` (the decode rule and
scales that OpenBCI GUI ships). Each 20-byte notification: byte 0 packet id, then eight N-bit
fields MSB-first (sample A ch1..4, sample B ch1..4); N = 18 for ids 0..99 (byte 19 is one
accelerometer axis), N = 19 for ids 100..199. Ids 201..207 carry impedance/ASCII text.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from devices._codec import expect_length, fields_msb_first, pack_msb_first, uuid16
from devices.profile import (
    CharSpec,
    DecodeError,
    DerivedStream,
    DeviceProfile,
    Frame,
    GattWrite,
    Match,
    ServiceSpec,
    StreamSpec,
)

SERVICE_UUID = uuid16(0xFE84)
RECEIVE_UUID = "2d30c082-f39f-4ce6-923f-3484ea480596"
SEND_UUID = "2d30c083-f39f-4ce6-923f-3484ea480596"
DISCONNECT_UUID = "2d30c084-f39f-4ce6-923f-3484ea480596"

CMD_START = b"b"
CMD_STOP = b"s"
CMD_ACCEL_ON = b"n"

UV_PER_COUNT = 1.2e6 / (8388607 * 1.5 * 51)  # BrainFlow ganglion_native.cpp
G_PER_ACCEL_COUNT = 0.016  # BrainFlow accel_scale (LIS2DH +-2 g, high byte)
EMG_CHANNELS = tuple(f"emg_{i}" for i in range(4))
SEQ_MODULUS = 100
_PACKET_SIZE = 20
_ID_19BIT = 100
_ID_FIRST_TEXT = 201
_ID_LAST_TEXT = 207
_MAX_COUNTS = (1 << 23) - 1


def field_to_int(field: int, bits: int) -> int:
    """BrainFlow's ``cast_ganglion_bits_to_int32``: MSB set -> ``field - 2**bits - 1``.

    Firmware 3 writes the sign into both the MSB and the LSB; BrainFlow trusts the MSB and
    rounds negatives down by one LSB.
    """
    if field >> (bits - 1):
        return field - (1 << bits) - 1
    return field


def decode_emg(payload: bytes) -> Frame:
    """Two samples of 4 channels: shape (2, 4), µV; ``seq`` = packet id mod 100.

    counts = field_to_int(field, N) << (24 - N); µV = counts * 0.0018699499. In 18-bit packets
    byte 19 (int8) is an accelerometer axis in 16 mg steps: id % 10 == 1 -> ``acc_y``,
    == 2 -> ``acc_x``, == 0 -> ``acc_z`` negated (BrainFlow's axis mapping, OpenBCI_GUI#398).
    Impedance/text packets (ids 201..207) give an empty frame.

    Raises:
        DecodeError: not 20 bytes, or a packet id that is neither data nor text (200, > 207).
    """
    expect_length(payload, _PACKET_SIZE, "ganglion emg")
    packet_id = payload[0]
    if _ID_FIRST_TEXT <= packet_id <= _ID_LAST_TEXT:
        return Frame(samples=np.zeros((0, 4)))
    if packet_id >= 2 * _ID_19BIT:
        raise DecodeError(f"ganglion emg: packet id {packet_id} is not a data packet id")
    bits = 19 if packet_id >= _ID_19BIT else 18
    fields = fields_msb_first(payload[1 : 1 + (8 * bits + 7) // 8], bits, 8)
    counts = [field_to_int(f, bits) << (24 - bits) for f in fields]
    samples = np.asarray(counts, dtype=np.float64).reshape(2, 4) * UV_PER_COUNT
    aux: tuple[tuple[str, float], ...] = ()
    if bits == 18:  # noqa: PLR2004
        axis = {1: "acc_y", 2: "acc_x", 0: "acc_z"}.get(packet_id % 10)
        if axis is not None:
            raw = int.from_bytes(payload[19:20], "big", signed=True)
            value = -raw if axis == "acc_z" else raw
            aux = ((axis, value * G_PER_ACCEL_COUNT),)
    return Frame(samples=samples, seq=packet_id % SEQ_MODULUS, aux=aux)


def _compress(counts: int, bits: int) -> int:
    """Firmware ``compressData18/19``: copy the sign into bit (24 - bits), shift it out."""
    shift = 24 - bits
    value = counts & 0xFFFFFFFF
    sign = (value >> 31) & 1
    value = (value & ~(1 << shift)) | (sign << shift)
    return (value >> shift) & ((1 << bits) - 1)


def encode_emg(
    samples_uv: NDArray[np.float64],
    *,
    first_id: int = 0,
    accel_g: tuple[float, float, float] | None = None,
) -> list[bytes]:
    """Notifications a firmware-3 Ganglion sends for ``samples_uv`` (inverse of :func:`decode_emg`).

    Args:
        samples_uv: shape (n_samples, 4), µV; an odd last sample is dropped.
        first_id: ring index (0..99) of the first packet.
        accel_g: constant accelerometer reading (x, y, z) in g: use 18-bit packets with the axis
            byte; None: 19-bit packets (accelerometer off, the firmware's default).

    Returns:
        One 20-byte payload per two samples.
    """
    data = np.asarray(samples_uv, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(EMG_CHANNELS):  # noqa: PLR2004
        raise ValueError(f"ganglion emg: expected shape (n, 4), got {data.shape}")
    counts = np.clip(np.rint(data / UV_PER_COUNT), -_MAX_COUNTS - 1, _MAX_COUNTS).astype(np.int64)
    bits = 19 if accel_g is None else 18
    packets = []
    for i in range(counts.shape[0] // 2):
        ring = (first_id + i) % SEQ_MODULUS
        fields = [_compress(int(c), bits) for c in counts[2 * i : 2 * i + 2].ravel()]
        body = pack_msb_first(fields, bits, 19)
        packet_id = ring + (_ID_19BIT if accel_g is None else 0)
        if accel_g is not None:
            axis_value = {1: accel_g[1], 2: accel_g[0], 0: -accel_g[2]}.get(ring % 10, 0.0)
            raw = int(np.clip(round(axis_value / G_PER_ACCEL_COUNT), -128, 127))
            body = body[:18] + raw.to_bytes(1, "big", signed=True)
        packets.append(bytes([packet_id]) + body)
    return packets


PROFILE = DeviceProfile(
    key="ganglion",
    version=1,
    title="OpenBCI Ganglion, firmware 3 (4-ch EMG 200 Hz + accelerometer 10 Hz)",
    match=Match(name_prefixes=("Ganglion", "Simblee"), service_uuids=(SERVICE_UUID,)),
    streams=(
        StreamSpec(
            name="emg",
            char_uuids=(RECEIVE_UUID,),
            fs_hz=200.0,
            channels=EMG_CHANNELS,
            unit="uV",
            decode=decode_emg,
            seq_modulus=SEQ_MODULUS,
            derived=(
                DerivedStream(
                    "acc",
                    ("acc_x", "acc_y", "acc_z"),
                    "g",
                    aux_emit_on="acc_z",
                    source_samples_per_sample=20,
                ),
            ),
        ),
    ),
    gatt=(
        ServiceSpec(
            SERVICE_UUID,
            (
                CharSpec(RECEIVE_UUID, ("notify",)),
                CharSpec(SEND_UUID, ("write", "write_without_response")),
                CharSpec(DISCONNECT_UUID, ("write", "write_without_response"), required=False),
            ),
        ),
    ),
    init_writes=(
        GattWrite(SEND_UUID, CMD_ACCEL_ON, response=False),
        GattWrite(SEND_UUID, CMD_START, response=False),
    ),
    stop_writes=(GattWrite(SEND_UUID, CMD_STOP, response=False),),
    notes=(
        "the board resets on every connection: init writes are re-sent, the counter restarts",
        "over BLE the Ganglion cannot stream above 200 Hz; never send '~' rate commands",
        "no Battery Service",
    ),
)
