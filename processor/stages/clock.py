"""Gap estimators for one stream: packet counters, device clocks, host arrival timing.

Each estimator looks at one decoded frame (its sample count, counter or device timestamp and
host arrival time) and says how many samples went missing just before it. They never join data
across a hole silently: when in doubt (a clock reset, a counter that wrapped during a long
silence) they fall back to arrival timing.
"""

from __future__ import annotations

from dataclasses import dataclass

NS_PER_S = 1_000_000_000
_MAX_DEVICE_JUMP_S = 600.0  # a device-clock step larger than this is a clock reset, not a gap
_LOSS_FRACTION = 0.5  # device-time gaps below half a frame are rate error, not loss


@dataclass(frozen=True, slots=True)
class Loss:
    """Samples missing before a frame (``n_missing`` 0: none) and why."""

    n_missing: int
    reason: str = ""
    duplicate: bool = False


class ArrivalClock:
    """Missing samples of a stream without counter or device clock, from host arrival times.

    Keeps an anchor so that ``(t - anchor) * fs`` is the number of samples the device should
    have sent by time ``t``; the anchor is pulled back whenever data arrives faster than that
    (BLE delivers in bursts), and a loss is only declared after a silence longer than
    ``silence_ns``, so ordinary connection-interval jitter never produces a gap.
    """

    def __init__(self, fs_hz: float, silence_ns: int) -> None:
        self._fs_hz = fs_hz
        self._silence_ns = silence_ns
        self._anchor_ns: int | None = None
        self._count = 0
        self._last_ns = 0
        self._interrupted = False

    def interrupt(self) -> None:
        """The link dropped: judge the next frame by arrival time whatever the silence."""
        self._interrupted = True

    def observe(self, t_ns: int, n_samples: int) -> Loss:
        """Account for a frame of ``n_samples`` arriving at ``t_ns``; returns the loss before it."""
        if self._anchor_ns is None:
            self._restart(t_ns, n_samples)
            return Loss(0)
        loss = Loss(0)
        silence = t_ns - self._last_ns
        if silence > self._silence_ns or self._interrupted:
            self._interrupted = False
            expected = (t_ns - self._anchor_ns) * self._fs_hz / NS_PER_S
            missing = round(expected) - (self._count + n_samples)
            if missing > 0:
                loss = Loss(missing, f"no data for {silence / 1e6:.0f} ms")
            self._restart(t_ns, n_samples)
            return loss
        self._count += n_samples
        self._last_ns = t_ns
        ahead_ns = round(self._count * NS_PER_S / self._fs_hz)
        if self._anchor_ns + ahead_ns > t_ns:
            self._anchor_ns = t_ns - ahead_ns
        return loss

    def _restart(self, t_ns: int, n_samples: int) -> None:
        self._count = n_samples
        self._anchor_ns = t_ns - round(n_samples * NS_PER_S / self._fs_hz)
        self._last_ns = t_ns


class CounterClock:
    """Missing samples from a wrapping packet counter, disambiguated by arrival time.

    A counter of modulus M cannot tell k lost packets from k + M; when the silence before a
    packet is long enough for that to matter, the candidate closest to the arrival-time
    estimate wins. A repeated counter value right after its predecessor is a duplicate.
    """

    def __init__(self, fs_hz: float, modulus: int, step: int) -> None:
        self._fs_hz = fs_hz
        self._modulus = modulus
        self._step = step
        self._last_seq: int | None = None
        self._last_ns = 0
        self._interrupted = False

    def interrupt(self) -> None:
        """The link dropped: the device may restart its counter, so use arrival time only."""
        self._interrupted = True

    def observe(self, t_ns: int, seq: int, n_samples: int) -> Loss:
        """Account for packet ``seq`` (``n_samples`` samples) arriving at ``t_ns``."""
        last, last_ns = self._last_seq, self._last_ns
        self._last_seq, self._last_ns = seq, t_ns
        if last is None or n_samples == 0:
            return Loss(0)
        period_s = n_samples / self._fs_hz
        silence_s = (t_ns - last_ns) / NS_PER_S
        if self._interrupted:
            self._interrupted = False
            lost = max(round(silence_s / period_s) - 1, 0)
            return Loss(lost * n_samples, f"link lost for {silence_s:.2f} s") if lost else Loss(0)
        lost_mod = ((seq - last - self._step) % self._modulus) // self._step
        if seq == last and silence_s < period_s * self._modulus / 2:
            self._last_ns = last_ns
            return Loss(0, f"duplicate packet {seq}", duplicate=True)
        cycle = self._modulus // self._step
        lost = lost_mod
        if silence_s > period_s * cycle / 2:
            by_time = max(silence_s / period_s - 1.0, 0.0)
            turns = max(round((by_time - lost_mod) / cycle), 0)
            lost = lost_mod + turns * cycle
        if lost == 0:
            return Loss(0)
        reason = f"packet counter jumped {last} -> {seq}"
        return Loss(lost * n_samples, reason)


class DeviceClock:
    """Missing samples from device timestamps of each frame's last sample (Polar PMD).

    A frame of n samples should end n/fs after the previous one; a lag of more than half a frame
    beyond that is loss (the H10 rate is only +-2 % accurate, so smaller lags are rate error).
    Clock resets and steps back fall back to :class:`ArrivalClock`.
    """

    def __init__(self, fs_hz: float, silence_ns: int) -> None:
        self._fs_hz = fs_hz
        self._last_device_ns: int | None = None
        self._arrival = ArrivalClock(fs_hz, silence_ns)

    def interrupt(self) -> None:
        """The link dropped; the device clock keeps running, so nothing changes but fallback."""
        self._arrival.interrupt()

    def observe(self, t_ns: int, device_ns: int, n_samples: int) -> Loss:
        """Account for a frame whose last sample has device time ``device_ns``."""
        by_arrival = self._arrival.observe(t_ns, n_samples)
        last, self._last_device_ns = self._last_device_ns, device_ns
        if last is None:
            return Loss(0)
        step_s = (device_ns - last) / NS_PER_S
        if step_s <= 0 or step_s > _MAX_DEVICE_JUMP_S:
            if by_arrival.n_missing:
                return Loss(by_arrival.n_missing, f"device clock stepped {step_s:+.3f} s")
            return Loss(0)
        lag = step_s * self._fs_hz - n_samples
        if lag <= max(1.5, _LOSS_FRACTION * n_samples):
            return Loss(0)
        return Loss(round(lag), f"device time jumped {step_s * 1000:.0f} ms")
