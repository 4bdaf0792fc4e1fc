"""Event matching and the accuracy figures (detection.md section 5.2, issue 3 targets).

* Twitches: one-to-one greedy matching by onset, |detected - true| <= 25 ms, per channel.
  Detections within 0.5 s of a true cramp, voluntary rep or motion artefact are not twitch
  false positives (they are counted apart); everything else unmatched is.
* Spasms: one-to-one greedy matching, IoU >= 0.5 or onset within 200 ms.
* The first 2 s of every recording (detector warm-up) are not scored for twitches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmarks.detectors import Detection
from processor.synth import SPASM, TWITCH_TYPES, TruthEvent

TWITCH_TOLERANCE_S = 0.025
SPASM_ONSET_TOLERANCE_S = 0.2
SPASM_MIN_IOU = 0.5
ACTIVITY_GUARD_S = 0.5
ACTIVATION = "activation"
WARMUP_S = 2.0  # every detector gets the first 2 s to learn the noise; nothing is scored there


def is_twitch(d: Detection) -> bool:
    return d.type in TWITCH_TYPES or d.type == ACTIVATION


def is_spasm(d: Detection, spasm_min_s: float) -> bool:
    if d.type == SPASM:
        return True
    return d.type == ACTIVATION and d.end_s is not None and d.end_s - d.start_s >= spasm_min_s


def greedy_match(pairs: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Pairs (cost, i, j) -> one-to-one matches, cheapest first."""
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for _, i, j in sorted(pairs):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


@dataclass
class TwitchScore:
    """Twitch counts for one group of recordings (addable)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    during_activity: int = 0
    onset_errors_s: list[float] = field(default_factory=list)
    visibility_right: int = 0
    visibility_total: int = 0

    def add(self, other: TwitchScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.during_activity += other.during_activity
        self.onset_errors_s += other.onset_errors_s
        self.visibility_right += other.visibility_right
        self.visibility_total += other.visibility_total

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else float("nan")

    @property
    def median_onset_error_ms(self) -> float:
        if not self.onset_errors_s:
            return float("nan")
        return 1e3 * float(np.median(np.abs(self.onset_errors_s)))

    @property
    def visibility_accuracy(self) -> float:
        if not self.visibility_total:
            return float("nan")
        return self.visibility_right / self.visibility_total


def score_twitches(
    truth: list[TruthEvent],
    detections: list[Detection],
    *,
    has_acc: bool,
    dont_care: Sequence[tuple[str, float, float]] = (),
) -> TwitchScore:
    score = TwitchScore()
    channels = {e.channel for e in truth} | {d.channel for d in detections}
    for ch in channels:
        true = [
            e for e in truth if e.channel == ch and e.type in TWITCH_TYPES and e.start_s >= WARMUP_S
        ]
        dets = [
            d
            for d in detections
            if d.channel == ch and is_twitch(d) and d.start_s >= WARMUP_S - TWITCH_TOLERANCE_S
        ]
        busy = [
            (e.start_s - ACTIVITY_GUARD_S, e.end_s + ACTIVITY_GUARD_S)
            for e in truth
            if e.type not in TWITCH_TYPES
        ]
        busy += [(lo, hi) for c, lo, hi in dont_care if c == ch]
        pairs = []
        onsets = np.array([d.start_s for d in dets])
        order = np.argsort(onsets)
        for i, e in enumerate(true):
            lo = np.searchsorted(onsets[order], e.start_s - TWITCH_TOLERANCE_S)
            hi = np.searchsorted(onsets[order], e.start_s + TWITCH_TOLERANCE_S, side="right")
            pairs += [(abs(onsets[j] - e.start_s), i, int(j)) for j in order[lo:hi]]
        matches = greedy_match(pairs)
        matched_dets = {j for _, j in matches}
        score.tp += len(matches)
        score.fn += len(true) - len(matches)
        for i, j in matches:
            score.onset_errors_s.append(dets[j].start_s - true[i].start_s)
            if has_acc and dets[j].type in TWITCH_TYPES:
                score.visibility_total += 1
                seen = dets[j].type == "fasciculation"
                score.visibility_right += int(seen == true[i].visible)
        for j, d in enumerate(dets):
            if j in matched_dets:
                continue
            if any(lo <= d.start_s <= hi for lo, hi in busy):
                score.during_activity += 1
            else:
                score.fp += 1
    return score


@dataclass
class SpasmScore:
    """Spasm counts for one group of recordings (addable)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    during_reps: int = 0  # false spasms overlapping (within 1 s of) a voluntary rep
    during_rest: int = 0  # other false spasms (rest, twitches, artefacts)
    latencies_s: list[float] = field(default_factory=list)

    def add(self, other: SpasmScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.during_reps += other.during_reps
        self.during_rest += other.during_rest
        self.latencies_s += other.latencies_s

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else float("nan")


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def score_spasms(
    truth: list[TruthEvent],
    detections: list[Detection],
    *,
    duration_s: float,
    spasm_min_s: float,
) -> SpasmScore:
    score = SpasmScore()
    true = [e for e in truth if e.type == SPASM]
    dets = [d for d in detections if is_spasm(d, spasm_min_s)]
    pairs = []
    for i, e in enumerate(true):
        for j, d in enumerate(dets):
            if d.channel != e.channel:
                continue
            end = d.end_s if d.end_s is not None else duration_s
            iou = _iou(e.start_s, e.end_s, d.start_s, end)
            if iou >= SPASM_MIN_IOU or abs(d.start_s - e.start_s) <= SPASM_ONSET_TOLERANCE_S:
                pairs.append((1.0 - iou, i, j))
    matches = greedy_match(pairs)
    score.tp = len(matches)
    score.fn = len(true) - len(matches)
    for i, j in matches:
        at = dets[j].detected_at_s
        if at is not None:
            score.latencies_s.append(at - true[i].start_s)
    matched = {j for _, j in matches}
    reps = [(e.start_s, e.end_s) for e in truth if e.type == "contraction"]
    for j, d in enumerate(dets):
        if j in matched:
            continue
        score.fp += 1
        end = d.end_s if d.end_s is not None else duration_s
        if any(min(end, hi) + 1.0 > max(d.start_s, lo) for lo, hi in reps):
            score.during_reps += 1
        else:
            score.during_rest += 1
    return score
