"""Post-filters: choose or drop a read using knowledge of the plates' language."""

from dataclasses import replace

from alprkit.data.regions import Region, get_region
from alprkit.types import Recognition


class PassThrough:
    """Keep every read as the decoder made it."""

    def __call__(self, recognition: Recognition) -> Recognition:
        return recognition


class _CandidateFilter:
    """Pick the first of the decoder's top-N candidates that ``accept`` allows.

    The region is the recognizer's (``recognition.region``) unless ``region`` names
    one. The chosen candidate's per-character probabilities are only known for the
    decoder's best string, so they are kept when that string wins and left empty
    otherwise. With ``drop_unmatched`` a read with no acceptable candidate is dropped.
    """

    def __init__(self, region=None, drop_unmatched: bool = False):
        self.region = get_region(region) if region else None
        self.drop_unmatched = bool(drop_unmatched)

    def accept(self, region: Region, text: str) -> bool:
        raise NotImplementedError

    def __call__(self, recognition: Recognition):
        region = self.region or (get_region(recognition.region) if recognition.region else None)
        if region is None:
            return recognition
        for candidate in recognition.candidates or ():
            if self.accept(region, candidate.text):
                if candidate.text == recognition.text:
                    return replace(recognition, region=region.code)
                return replace(
                    recognition,
                    text=candidate.text,
                    confidence=candidate.score,
                    char_probs=(),
                    region=region.code,
                )
        return None if self.drop_unmatched else recognition


class TemplateFilter(_CandidateFilter):
    """The LPRNet paper's post-filter: the first top-N candidate matching a region template."""

    def accept(self, region: Region, text: str) -> bool:
        return region.matches(text)


class CharsetFilter(_CandidateFilter):
    """The first top-N candidate of a plausible length using only the region's characters."""

    def accept(self, region: Region, text: str) -> bool:
        return region.min_length <= len(text) <= region.max_length and not region.foreign_chars(text)
