"""Stage A: band-pass, automatic mains notch and the signal-quality gate for one EMG stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from processor.config.detection import ConditioningConfig, QualityConfig
from processor.errors import ConfigError
from processor.model import Chunk
from processor.stages.filters import FloatCN, SosState, bandpass_sos, one_pole_sos
from processor.stages.hum import HumCanceller, mains_lines
from processor.stages.mains import MAINS_CANDIDATES_HZ, MainsProbe
from processor.stages.motion import MotionGate

BoolCN = NDArray[np.bool_]
_STRONG_HUM_X_NOISE = 2.0  # hum RMS over noise RMS above which the hum is predicted (hum.py)


@dataclass(frozen=True, slots=True)
class QualityFlag:
    """A signal-quality episode on one channel (absolute sample indices, end exclusive).

    ``decided_index`` is the sample at which the episode was seen to close (``blank_ms`` after
    its last bad sample), None for an opening line (decided at ``start_index``).
    """

    channel: int
    flag: str
    start_index: int
    end_index: int | None
    decided_index: int | None = None


@dataclass(frozen=True, slots=True)
class Conditioned:
    """Output of :class:`Conditioner` for one chunk (channel-major arrays ``(n_ch, n)``)."""

    y: FloatCN
    bad: BoolCN
    flags: list[QualityFlag]


def band_edges_hz(
    cond: ConditioningConfig, fs_hz: float, stream: str = "emg"
) -> tuple[float, float]:
    """The band-pass edges ``(low_hz, high_hz)`` used at ``fs_hz``, checked against the rate.

    The high edge is capped at ``high_max_fraction_of_fs`` x rate; a low edge at or above the
    capped high edge would make scipy fail (at or above Nyquist) or silently turn the band
    into a high-pass that finds nothing, so it is refused with the key, value and rate.

    Raises:
        ConfigError: ``low_hz`` is not below the capped high edge at this rate.
    """
    cap = cond.high_max_fraction_of_fs * fs_hz
    if cond.low_hz < cap:  # the config itself already keeps low_hz below high_hz
        return cond.low_hz, min(cond.high_hz, cap)
    raise ConfigError(
        f"detection.conditioning.low_hz = {cond.low_hz:g} Hz must be below "
        f"{cond.high_max_fraction_of_fs:g} x {fs_hz:g} Hz = {cap:g} Hz for stream {stream} "
        "(high_max_fraction_of_fs x its sample rate)"
    )


class Conditioner:
    """Causal band-pass + mains notch + quality gate, chunking-invariant.

    Quality flags (``nonfinite``, ``saturated``, ``step``, ``flat``, ``motion``) mark samples as
    bad; bad samples and the following ``blank_ms`` never produce twitches nor feed the noise
    floor.
    Non-finite samples are replaced by the last finite value before filtering.

    Args:
        cond: band/notch settings.
        quality: quality-gate settings.
        fs_hz: sample rate of the stream.
        n_channels: number of EMG channels.
        unit: ``"uV"`` or ``"counts"`` (selects the absolute quality limits).
        mains_hz: a mains frequency already chosen for this stream (kept across re-seeds).

    Raises:
        ConfigError: the band edges do not fit the sample rate (:func:`band_edges_hz`).
    """

    def __init__(
        self,
        cond: ConditioningConfig,
        quality: QualityConfig,
        fs_hz: float,
        n_channels: int,
        *,
        unit: str,
        mains_hz: float | None = None,
    ) -> None:
        self._fs = fs_hz
        self._n = n_channels
        counts = unit != "uV"
        self._flat_rms = quality.flat_rms_counts if counts else quality.flat_rms_uv
        self._saturation = quality.saturation_counts if counts else quality.saturation_uv
        self._step = quality.step_counts if counts else quality.step_uv
        self._flat_n = max(1, round(quality.flat_ms * fs_hz / 1000))
        self._blank_n = round(quality.blank_ms * fs_hz / 1000)
        motion_level = quality.motion_counts if counts else quality.motion_uv
        self._motion = (
            MotionGate(motion_level, fs_hz, n_channels)
            if motion_level > 0 and MotionGate.usable(fs_hz)
            else None
        )
        low, high = band_edges_hz(cond, fs_hz)
        self._band = SosState(bandpass_sos(low, high, fs_hz, cond.order), n_channels)
        flat_pole = float(np.exp(-3.0 / self._flat_n))
        self._power = SosState(one_pole_sos(flat_pole), n_channels)
        notch_top = min(cond.notch_max_hz, high)
        self._notches = {f: mains_lines(f, fs_hz, notch_top) for f in MAINS_CANDIDATES_HZ}
        self._notch_q = cond.notch_q
        self._detect_n = round(cond.mains_detect_ms * fs_hz / 1000)
        if cond.notch == "off":
            self._mains: float | None = 0.0
        elif cond.notch in ("50", "60"):
            self._mains = float(cond.notch)
        else:
            self._mains = mains_hz
        self._probe = MainsProbe(
            self._notches,
            fs_hz,
            n_channels,
            min_ratio=cond.mains_min_ratio,
            window_n=self._detect_n,
        )
        self._notch = self._build_notch()
        # the hum's strength is judged once, from the first mains_detect_ms, with a set notch too
        self._hum_judged = self._mains == 0.0
        self._ring_per_hz = fs_hz * cond.notch_q / (2.0 * np.pi)
        self._lowest_candidate_hz = min(
            (f for f in MAINS_CANDIDATES_HZ if self._notches[f]), default=0.0
        )
        self.reset()

    @property
    def mains_hz(self) -> float | None:
        """Chosen mains frequency (0.0: no notch), None while still deciding."""
        return self._mains

    @property
    def notch_lines_hz(self) -> tuple[float, ...]:
        """Mains lines notched now (one second-order section each; off nominal where measured)."""
        return self._notch.lines_hz

    def notch_ring_n(self, index: int) -> float:
        """How long the notch running at sample ``index`` rings after a burst (0: no notch).

        A notch at ``f`` Hz with quality ``q`` rejects a band ``f / q`` wide; a short burst
        leaves its energy near ``f`` ringing there, decaying as ``exp(-t / tau)`` with
        ``tau = q / (2 pi f)``. The slowest (lowest) notch sets the time constant, returned in
        samples. Ask about a sample already processed: the same answer whatever the chunking.
        """
        if self._decided_from is not None and index >= self._decided_from:
            lowest = min(self._notch.lines_hz, default=0.0)
        else:  # still deciding there: every candidate's notches ran
            lowest = self._lowest_candidate_hz
        return self._ring_per_hz / lowest if lowest else 0.0

    def _build_notch(self) -> HumCanceller:
        if self._mains is not None:
            return HumCanceller(
                self._notches.get(self._mains, []), self._notch_q, self._fs, self._n
            )
        # undecided: every candidate's lines, in the probe's order, each mains' also on its own
        lines = [f for c in MAINS_CANDIDATES_HZ for f in self._notches[c]]
        sizes = [len(self._notches[c]) for c in MAINS_CANDIDATES_HZ]
        return HumCanceller(lines, self._notch_q, self._fs, self._n, sizes)

    def reset(self) -> None:
        """Forget filter and gate state (a decided mains frequency is kept)."""
        self._band.reset()
        self._notch.reset()
        self._power.reset()
        if self._motion is not None:
            self._motion.reset()
        self._opened: list[list[int]] = [[] for _ in range(self._n)]
        # a decided notch runs from the first sample after a reset
        self._decided_from: int | None = None if self._mains is None else -(2**62)
        self._index: int | None = None
        self._first: int | None = None
        self._last_finite = np.zeros(self._n)
        self._last_raw: FloatCN | None = None
        self._last_flag = np.full(self._n, -(10**15), dtype=np.int64)
        self._open: dict[int, int] = {}
        self._last_seen: dict[str, NDArray[np.int64]] = {}
        self._was_bad = np.zeros(self._n, dtype=bool)
        self._probe.reset()

    def process(self, chunk: Chunk) -> Chunk:
        """Condition one chunk; returns the conditioned samples ``(n, n_channels)``."""
        out = self.process_cn(np.ascontiguousarray(chunk.data.T), chunk.start_index)
        return Chunk(chunk.stream, chunk.start_index, np.ascontiguousarray(out.y.T))

    def flush(self) -> list[QualityFlag]:
        """Close open quality episodes at the end of the stream."""
        end = self._index if self._index is not None else 0
        closed = [
            QualityFlag(
                ch,
                "+".join(sorted(f for f, last in self._last_seen.items() if last[ch] >= begin)),
                begin,
                end,
                end,
            )
            for ch, begin in sorted(self._open.items())
        ]
        self._open.clear()
        self._was_bad[:] = False
        return closed

    def process_cn(self, raw: FloatCN, start_index: int) -> Conditioned:
        """Condition channel-major raw samples ``(n_channels, n)`` starting at ``start_index``."""
        n = raw.shape[1]
        if self._first is None:
            self._first = start_index
        self._index = start_index + n
        flags_now: dict[str, BoolCN] = {}
        x = raw
        if not np.isfinite(raw.sum()):
            finite = np.isfinite(raw)
            flags_now["nonfinite"] = ~finite
            x = self._hold_last_finite(raw, finite)
        if n:
            self._last_finite = x[:, -1].copy()
        if self._saturation > 0 and n and np.abs(x).max() >= self._saturation:
            flags_now["saturated"] = np.abs(x) >= self._saturation
        prev = x[:, :1] if self._last_raw is None else self._last_raw
        step = np.empty_like(x)
        step[:, :1] = x[:, :1] - prev
        np.subtract(x[:, 1:], x[:, :-1], out=step[:, 1:])
        jumps = np.abs(step) >= self._step
        if jumps.any():
            flags_now["step"] = jumps
        if n:
            self._last_raw = x[:, -1:].copy()
        band = self._band.filter(x)
        y = self._apply_notch(band, start_index)
        elapsed = start_index - self._first
        if n:
            power = self._power.filter(band * band)
            self._power_flags(x, power, (start_index, elapsed), flags_now)
        if (
            not flags_now
            and not self._was_bad.any()
            and (start_index - int(self._last_flag.max()) > self._blank_n)
        ):
            bad = np.zeros(raw.shape, dtype=bool)
            flags: list[QualityFlag] = []
        else:
            bad = self._blank(flags_now, start_index, n)
            flags = self._episodes(flags_now, bad, start_index)
        if elapsed < self._blank_n:
            bad[:, : self._blank_n - elapsed] = True
        return Conditioned(y, bad, flags)

    def _power_flags(
        self, x: FloatCN, power: FloatCN, at: tuple[int, int], flags_now: dict[str, BoolCN]
    ) -> None:
        """``flat`` (no in-band power) and ``motion`` (a sudden slow lurch above in-band RMS).

        ``at`` is (absolute index of ``x[:, 0]``, samples since the stream's first).
        """
        start_index, elapsed = at
        if power.min() < self._flat_rms**2 and elapsed + x.shape[1] > self._flat_n:
            flat = power < self._flat_rms**2
            flat[:, : max(0, self._flat_n - elapsed)] = False
            if flat.any():
                flags_now["flat"] = flat
        if self._motion is not None:
            moving = self._motion.process(x, power, start_index)
            if moving is not None:
                flags_now["motion"] = moving

    def flagged_within(self, channel: int, lo_index: int, hi_index: int) -> bool:
        """Whether a quality episode of ``channel`` opened at a sample in ``[lo, hi)``.

        Only episodes opened before the last processed sample are known, so ask about samples
        already processed to get the same answer whatever the chunking.
        """
        return any(lo_index <= at < hi_index for at in self._opened[channel])

    def forget_flags_before(self, index: int) -> None:
        """Drop the openings before ``index`` (no question will be asked about them)."""
        if any(self._opened):
            self._opened = [[at for at in opened if at >= index] for opened in self._opened]

    def _hold_last_finite(self, raw: FloatCN, finite: BoolCN) -> FloatCN:
        n = raw.shape[1]
        idx = np.where(finite, np.arange(n), -1)
        np.maximum.accumulate(idx, axis=1, out=idx)
        rows = np.arange(raw.shape[0])[:, None]
        held = raw[rows, np.maximum(idx, 0)]
        return np.where(idx < 0, self._last_finite[:, None], held)

    def _apply_notch(self, band: FloatCN, start_index: int) -> FloatCN:
        if self._hum_judged or self._first is None:
            return self._notch.filter(band, start_index)
        decide_at = self._first + self._detect_n
        cut = min(band.shape[1], max(0, decide_at - start_index))
        head = band[:, :cut]
        if cut:
            self._probe.add(head, start_index - self._first)
        y_head = self._notch.filter(head, start_index)
        if cut == band.shape[1] and start_index + cut < decide_at:
            return y_head
        self._decide_mains()
        y_tail = self._notch.filter(band[:, cut:], start_index + cut)
        return np.concatenate([y_head, y_tail], axis=1)

    def _decide_mains(self) -> None:
        """Keep the notch of the mains whose line stands out, and of its harmonics that do.

        With the mains set (config or an earlier decision) only its offset from nominal and the
        hum's strength are judged.
        """
        deciding = self._mains is None
        self._mains, keep, offset_hz = self._probe.decide(self._mains)
        self._hum_judged = True
        if deciding:
            self._notch.keep(keep)
            self._decided_from = (self._first or 0) + self._detect_n
        if offset_hz:
            self._notch.retune((self._mains + offset_hz) / self._mains)
        hum_power = self._probe.hum_power(keep)
        noise_power = np.maximum(self._notch.usual_rms() ** 2 - hum_power, 0.0)
        strong = hum_power > _STRONG_HUM_X_NOISE**2 * noise_power
        self._notch.follow(self._mains + offset_hz, strong)

    def _blank(self, flags_now: dict[str, BoolCN], start_index: int, n: int) -> BoolCN:
        idx = start_index + np.arange(n, dtype=np.int64)
        if flags_now:
            any_flag = np.logical_or.reduce(list(flags_now.values()))
            marks = np.where(any_flag, idx, self._last_flag[:, None])
            np.maximum.accumulate(marks, axis=1, out=marks)
            if n:
                self._last_flag = marks[:, -1].copy()
            return np.asarray(idx - marks <= self._blank_n)
        return np.asarray(idx[np.newaxis] - self._last_flag[:, None] <= self._blank_n)

    def _episodes(
        self, flags_now: dict[str, BoolCN], bad: BoolCN, start_index: int
    ) -> list[QualityFlag]:
        """Episodes open at the first flagged sample and close once ``blank_ms`` passed clean."""
        was_bad = self._was_bad[:, None]
        edges = np.diff(np.concatenate([was_bad, bad], axis=1).astype(np.int8), axis=1).astype(
            np.int8
        )
        if bad.shape[1]:
            self._was_bad = bad[:, -1].copy()
        out: list[QualityFlag] = []
        if edges.any():
            for ch, pos in zip(*np.nonzero(edges), strict=True):
                out.append(self._edge(int(ch), int(pos), edges, flags_now, start_index))
        for flag, mask in flags_now.items():
            hits = mask.any(axis=1)
            if hits.any():
                last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
                seen = self._last_seen.setdefault(flag, np.full(self._n, -1, dtype=np.int64))
                seen[hits] = start_index + last[hits]
        return out

    def _edge(
        self, ch: int, pos: int, edges: NDArray[np.int8], flags_now: dict[str, BoolCN], start: int
    ) -> QualityFlag:
        at = start + pos
        if edges[ch, pos] > 0:
            names = sorted(f for f, m in flags_now.items() if m[ch, pos])
            self._open[ch] = at
            self._opened[ch].append(at)
            return QualityFlag(ch, "+".join(names), at, None)
        begin = self._open.pop(ch, at)
        # flags inside the episode only: [begin, at), part in this chunk, part seen before it
        seen = {f for f, m in flags_now.items() if m[ch, max(0, begin - start) : pos].any()}
        seen |= {f for f, last in self._last_seen.items() if last[ch] >= begin}
        end = at - self._blank_n
        return QualityFlag(ch, "+".join(sorted(seen)), begin, end, at)
