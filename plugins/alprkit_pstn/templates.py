"""Per-position character sets from a region's plate templates: the parallel STN's priors.

Seed 002 multiplies each position's likelihood by a prior: the plate's characters are
uniform over what may stand there, and a digit never stands second on a Chinese plate.
Here the priors come from the region's templates (``alprkit.data.regions``), which the
template post-filter also uses: each template is expanded into fixed-length sequences of
character sets (``[A-Z]{1,3}`` gives three), positions beyond a shorter plate hold the
"no character" class, and :class:`PositionPrior` keeps one allowed-class mask per
sequence and position. The prior is uniform over every plate string the templates allow
(so each position is uniform over what may stand there, as the seed assumes), and the
network combines it with its reads into per-position posteriors
(:class:`alprkit_pstn.models.TemplatePrior`) with the templates kept whole: a digit is
second only where the first position reads 使 (``使[0-9]{6}``).

Only the regular-expression syntax the bundled templates use is read: literal
characters, ``[...]`` classes with ranges, and ``{n}`` / ``{m,n}`` repeats.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from alprkit.errors import ConfigError

NO_CHAR = 0  # class index of "no character": the alphabet's "" entry
MAX_SEQUENCES = 4096  # a template expanding into more is a mistake, not a plate format


def _class(text: str, start: int, template: str) -> tuple[frozenset, int]:
    """The characters of the ``[...]`` class opening at ``start`` and the index after it."""
    end = text.find("]", start + 1)
    if end < 0:
        raise ConfigError(f"template {template!r}: '[' at {start} is never closed")
    body, chars, i = text[start + 1 : end], set(), 0
    if body.startswith("^"):
        raise ConfigError(f"template {template!r}: negated classes ([^...]) cannot give position priors")
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return frozenset(chars), end + 1


def _repeat(text: str, start: int, template: str) -> tuple[int, int, int]:
    """(least, most, index after) of a ``{n}`` / ``{m,n}`` repeat at ``start``, or (1, 1, start)."""
    if start >= len(text) or text[start] != "{":
        return 1, 1, start
    end = text.find("}", start)
    if end < 0:
        raise ConfigError(f"template {template!r}: '{{' at {start} is never closed")
    try:
        bounds = [int(v) for v in text[start + 1 : end].split(",")]
    except ValueError:
        raise ConfigError(f"template {template!r}: repeat {text[start : end + 1]!r} is not {{n}} or {{m,n}}") from None
    least, most = (bounds[0], bounds[0]) if len(bounds) == 1 else bounds
    if len(bounds) > 2 or least < 0 or most < least:
        raise ConfigError(f"template {template!r}: repeat {text[start : end + 1]!r} is not {{n}} or {{m,n}}")
    return least, most, end + 1


def template_atoms(template: str) -> list[tuple[frozenset, int, int]]:
    """``template`` as (character set, least, most repeats) atoms, in order."""
    atoms, i = [], 0
    while i < len(template):
        char = template[i]
        if char == "[":
            chars, i = _class(template, i, template)
        elif char in "()|*+?.\\^$":
            raise ConfigError(f"template {template!r}: {char!r} is not read by the parallel-STN priors "
                              "(literal characters, [...] classes and {n}/{m,n} repeats only)")
        else:
            chars, i = frozenset(char), i + 1
        least, most, i = _repeat(template, i, template)
        atoms.append((chars, least, most))
    return atoms


def expand(template: str) -> list[tuple[frozenset, ...]]:
    """Every fixed-length sequence of per-position character sets the template allows."""
    atoms = template_atoms(template)
    choices = [range(least, most + 1) for _, least, most in atoms]
    count = int(np.prod([len(c) for c in choices])) if choices else 1
    if count > MAX_SEQUENCES:
        raise ConfigError(f"template {template!r} expands into {count} plate lengths and layouts "
                          f"(at most {MAX_SEQUENCES})")
    sequences = []
    for repeats in itertools.product(*choices):
        sequence = tuple(chars for (chars, _, _), n in zip(atoms, repeats) for _ in range(n))
        if sequence and sequence not in sequences:
            sequences.append(sequence)
    return sequences


@dataclass(frozen=True)
class PositionPrior:
    """Allowed classes per template sequence and position, and each sequence's prior weight.

    ``masks`` is (sequences, positions, classes) of bools; ``log_weights`` (natural log, summing
    to 1 as probabilities) weighs each sequence by how many strings it allows, so every plate
    string the templates allow is equally likely a priori.
    """

    masks: np.ndarray
    log_weights: np.ndarray
    lengths: tuple[int, ...]
    templates: tuple[str, ...]  # the template each sequence came from

    @property
    def positions(self) -> int:
        return int(self.masks.shape[1])

    def accepts(self, classes) -> bool:
        """Whether the class indices of a plate (no-character classes after it) fit a sequence."""
        row = list(classes) + [NO_CHAR] * (self.positions - len(classes))
        if len(row) > self.positions:
            return False
        picked = self.masks[:, np.arange(self.positions), row]
        return bool(picked.all(axis=1).any())


def position_prior(templates, alphabet, positions: int | None = None) -> PositionPrior:
    """The prior of ``templates`` over ``alphabet`` (entry 0, "", is "no character").

    ``positions`` defaults to the longest sequence; longer sequences are left out, and so
    are those using a character outside the alphabet at some position (it cannot be read).
    """
    index = {c: i for i, c in enumerate(alphabet) if c}
    expanded = [(t, s) for t in templates for s in expand(t)]
    if not expanded:
        raise ConfigError("the region has no plate templates to take position priors from")
    longest = max(len(s) for _, s in expanded)
    positions = longest if positions is None else int(positions)
    rows, lengths, sources = [], [], []
    for template, sequence in expanded:
        if len(sequence) > positions:
            continue
        mask = np.zeros((positions, len(alphabet)), dtype=bool)
        for i, chars in enumerate(sequence):
            mask[i, [index[c] for c in chars if c in index]] = True
        mask[len(sequence):, NO_CHAR] = True
        if not mask.any(axis=1).all():
            continue
        rows.append(mask)
        lengths.append(len(sequence))
        sources.append(template)
    if not rows:
        raise ConfigError(f"no plate template fits {positions} positions (the longest needs {longest})")
    masks = np.stack(rows)
    log_counts = np.log(masks.sum(axis=2)).sum(axis=1)  # log of each sequence's number of strings
    log_weights = log_counts - (log_counts.max() + np.log(np.exp(log_counts - log_counts.max()).sum()))
    return PositionPrior(masks, log_weights, tuple(lengths), tuple(sources))
