"""Post-filters: choose or drop a read using knowledge of the plates' language."""

from dataclasses import replace

from alprkit.data.regions import get_region
from alprkit.types import Recognition


class PassThrough:
    """Keep every read as the decoder made it."""

    def __call__(self, recognition: Recognition) -> Recognition:
        return recognition


class _CandidateFilter:
    """Pick the first of the decoder's top-N candidates that ``accept`` allows.

    The chosen candidate's per-character probabilities are only known for the
    decoder's best string, so they are kept when that string wins and left empty
    otherwise. With ``drop_unmatched`` a read with no acceptable candidate is dropped.
    """

    def __init__(self, region: str, drop_unmatched: bool = False):
        self.region = get_region(region)
        self.drop_unmatched = bool(drop_unmatched)

    def accept(self, text: str) -> bool:
        raise NotImplementedError

    def __call__(self, recognition: Recognition):
        candidates = recognition.candidates or ()
        for candidate in candidates:
            if self.accept(candidate.text):
                if candidate.text == recognition.text:
                    return replace(recognition, region=self.region.code)
                return replace(
                    recognition,
                    text=candidate.text,
                    confidence=candidate.score,
                    char_probs=(),
                    region=self.region.code,
                )
        return None if self.drop_unmatched else recognition


class TemplateFilter(_CandidateFilter):
    """The LPRNet paper's post-filter: the first top-N candidate matching a region template."""

    def accept(self, text: str) -> bool:
        return self.region.matches(text)


class CharsetFilter(_CandidateFilter):
    """The first top-N candidate of a plausible length using only the region's characters."""

    def accept(self, text: str) -> bool:
        r = self.region
        return r.min_length <= len(text) <= r.max_length and not r.foreign_chars(text)
