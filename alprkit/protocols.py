"""What each component kind must look like (structural types; plugins need not inherit).

A factory registered for a kind returns an object matching the protocol below.
:mod:`alprkit.testing` checks these contracts for every registered component.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol, Sequence, runtime_checkable

from .types import CharScores, Crop, Detection, Frame, PlateObservation, PlateStream, Recognition, StreamResult


@runtime_checkable
class Detector(Protocol):
    def __call__(self, frame: Frame) -> list[Detection]: ...


@runtime_checkable
class Rectifier(Protocol):
    def __call__(self, frame: Frame, detection: Detection, size: tuple[int, int]) -> Crop:
        """Cut the plate out of ``frame`` as a crop of ``size`` = (width, height)."""


@runtime_checkable
class Recognizer(Protocol):
    input_size: tuple[int, int]  # (width, height) the rectifier must produce
    alphabet: tuple[str, ...]  # class index -> character ("" for the CTC blank)

    def __call__(self, crops: Sequence[Crop]) -> list[CharScores]:
        """Score a batch of crops; each result must not depend on the rest of the batch."""


@runtime_checkable
class Decoder(Protocol):
    def __call__(self, scores: CharScores) -> Recognition: ...


@runtime_checkable
class PostFilter(Protocol):
    def __call__(self, recognition: Recognition) -> Optional[Recognition]:
        """Return the (possibly changed) recognition, or None to drop the read."""


Recognize = Callable[[PlateObservation], Recognition]


@runtime_checkable
class Selector(Protocol):
    def __call__(self, stream: PlateStream, recognize: Recognize) -> StreamResult:
        """Pick the final read of one vehicle; call ``recognize`` only for frames it needs.

        ``StreamResult.recognized_frames`` must list exactly the frames it called ``recognize`` for:
        video evaluation counts recognizer calls per frame from it.
        """


@runtime_checkable
class Tracker(Protocol):
    """Links detections over one video's frames; a fresh one is made per video (it holds state)."""

    def update(self, frame: int, observations: Sequence[PlateObservation]) -> list[PlateStream]:
        """Add one frame's observations; return the streams (vehicles) that ended before it."""

    def finish(self) -> list[PlateStream]:
        """End every open track; return the vehicles among them."""

    def current(self) -> list[tuple[int, PlateObservation]]:
        """(track id, observation) of each plate of the last updated frame (drawn on annotated video)."""
