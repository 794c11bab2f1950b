"""Stream selectors: one final read per vehicle from the frames of its track."""

from collections import Counter, defaultdict

from alprkit.types import PlateStream, Recognition, StreamResult

_EMPTY = Recognition(text="", confidence=0.0)


class _SingleFrame:
    """Recognize exactly one frame of the stream, chosen by ``index``."""

    index = 0

    def __call__(self, stream: PlateStream, recognize) -> StreamResult:
        observation = stream.observations[self.index]
        recognition = recognize(observation) or _EMPTY
        return StreamResult(stream.track_id, recognition, observation.frame, observation.detection, (observation.frame,))


class FirstFrame(_SingleFrame):
    """The read of the track's first frame (the cheapest online choice)."""

    index = 0


class LastFrame(_SingleFrame):
    """The read of the track's last frame (often the closest, largest view)."""

    index = -1


class MajorityVote:
    """Per-character majority vote over every frame's read.

    Reads of the most common length vote position by position, each vote weighted
    by that character's probability; other lengths are outvoted as a whole.
    """

    def __call__(self, stream: PlateStream, recognize) -> StreamResult:
        frames = [(o.frame, recognize(o)) for o in stream.observations]
        reads = [(f, r) for f, r in frames if r is not None and r.text]
        recognized = tuple(f for f, _ in frames)
        if not reads:
            last = stream.observations[-1]
            return StreamResult(stream.track_id, _EMPTY, last.frame, last.detection, recognized)
        length = Counter(len(r.text) for _, r in reads).most_common(1)[0][0]
        voters = [r for _, r in reads if len(r.text) == length]
        chars, probs = [], []
        for i in range(length):
            weight = defaultdict(float)
            for r in voters:
                weight[r.text[i]] += r.char_probs[i] if len(r.char_probs) == length else r.confidence
            char, total = max(weight.items(), key=lambda kv: kv[1])
            chars.append(char)
            probs.append(total / sum(weight.values()))
        text = "".join(chars)
        # The frame reported is the most confident one that read the voted string, if any did.
        agreeing = [(r.confidence, f) for f, r in reads if r.text == text]
        frame = max(agreeing)[1] if agreeing else reads[-1][0]
        detection = next(o.detection for o in stream.observations if o.frame == frame)
        confidence = 1.0
        for p in probs:
            confidence *= p
        recognition = Recognition(
            text=text,
            char_probs=tuple(probs),
            confidence=confidence * len(voters) / len(frames),
            candidates=(),
            region=voters[0].region,
            region_confidence=voters[0].region_confidence,
        )
        return StreamResult(stream.track_id, recognition, frame, detection, recognized)


class BestConfidence:
    """The single most confident read over every frame (each frame read on its own, no vote).

    Laroca et al.'s other redundancy baseline beside the vote: it needs every frame read,
    as the vote does, but keeps a string some frame actually read.
    """

    def __call__(self, stream: PlateStream, recognize) -> StreamResult:
        frames = [(o, recognize(o)) for o in stream.observations]
        recognized = tuple(o.frame for o, _ in frames)
        reads = [(r.confidence, i) for i, (_, r) in enumerate(frames) if r is not None and r.text]
        if not reads:
            last = stream.observations[-1]
            return StreamResult(stream.track_id, _EMPTY, last.frame, last.detection, recognized)
        _, best = max(reads)  # ties: the later frame, usually the nearer view
        observation, recognition = frames[best]
        return StreamResult(stream.track_id, recognition, observation.frame, observation.detection, recognized)
