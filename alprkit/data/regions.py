"""Plate charsets and templates per region.

A region's ``charset`` is every character a label of that region may use (it is also
the default alphabet of a recognizer trained for it); its ``templates`` are regular
expressions of valid plate strings, used by template post-filters and the synthetic
plate generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ..errors import ConfigError, LabelError

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Chinese plates never use I or O (they read as 1 and 0).
CN_LETTERS = LETTERS.replace("I", "").replace("O", "")
# The 31 provincial-level divisions, in the order of the CCPD README's province list.
CN_PROVINCES = "皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
# Suffixes of police, learner, trailer, Hong Kong / Macau crossing and consulate plates.
CN_SPECIAL = "警学挂港澳使领"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    charset: str
    templates: tuple[str, ...]
    min_length: int
    max_length: int

    @cached_property
    def _patterns(self):
        return [re.compile(t) for t in self.templates]

    def matches(self, text: str) -> bool:
        """Whether ``text`` fits one of the region's plate templates."""
        return any(p.fullmatch(text) for p in self._patterns)

    def foreign_chars(self, text: str) -> str:
        return "".join(sorted({c for c in text if c not in self.charset}))

    def check_label(self, text: str, where) -> str:
        """Return ``text`` if every character is in the charset, else a LabelError naming ``where``."""
        if not text:
            raise LabelError(where, "empty plate text")
        bad = self.foreign_chars(text)
        if bad:
            raise LabelError(where, f"plate {text!r} has characters outside the {self.code} charset: {bad!r}")
        return text


_P = f"[{CN_PROVINCES}]"
_L = f"[{CN_LETTERS}]"
_LD = f"[{CN_LETTERS}{DIGITS}]"

REGIONS: dict[str, Region] = {
    "cn": Region(
        code="cn",
        name="China (blue and yellow 7-character, green new-energy 8-character)",
        charset=CN_PROVINCES + CN_SPECIAL + CN_LETTERS + DIGITS,
        templates=(
            f"{_P}{_L}{_LD}{{5}}",  # blue / yellow: 皖A12345, 京PL3N67
            f"{_P}{_L}{_LD}{{4}}[警学挂港澳领]",  # police, learner, trailer ...
            f"{_P}{_L}[A-HJK]{_LD}[0-9]{{4}}",  # new-energy small car: 皖AD12345
            f"{_P}{_L}[0-9]{{5}}[A-HJK]",  # new-energy large vehicle: 皖A12345D
            "使[0-9]{6}",
        ),
        min_length=7,
        max_length=8,
    ),
    "us": Region(
        code="us",
        name="United States",
        charset=LETTERS + DIGITS,
        templates=(
            "[A-Z]{3}[0-9]{3,4}",  # ABC1234 (NY, PA, TX ...), ABC123
            "[0-9][A-Z]{3}[0-9]{3}",  # 7ABC123 (CA)
            "[0-9]{3}[A-Z]{3,4}",  # 123ABC
            "[A-Z]{2}[0-9]{4,5}",
            "[A-Z][0-9]{2}[A-Z]{3,4}",
            "[0-9]{2,3}[A-Z][0-9]{3}",
            "[A-Z0-9]{2,8}",  # vanity and older series: any 2-8 letters and digits
        ),
        min_length=2,
        max_length=8,
    ),
    "br": Region(
        code="br",
        name="Brazil (old grey ABC1234 and Mercosul ABC1D23)",
        charset=LETTERS + DIGITS,
        templates=("[A-Z]{3}[0-9]{4}", "[A-Z]{3}[0-9][A-Z][0-9]{2}"),
        min_length=7,
        max_length=7,
    ),
    "eu": Region(
        code="eu",
        name="Europe (EU band plates; national formats vary)",
        charset=LETTERS + DIGITS,
        templates=(
            "[A-Z]{2}[0-9]{3}[A-Z]{2}",  # SK, FR, IT: BA123AB
            "[A-Z]{1,3}[0-9]{1,4}[A-Z]{0,3}",  # DE, RO, SK older
            "[0-9][A-Z][0-9A-Z][0-9]{4}",  # CZ: 1AB2345
            "[A-Z]{2,3}[0-9A-Z]{4,5}",  # PL
            "[A-Z0-9]{4,9}",  # vanity and other national series
        ),
        min_length=4,
        max_length=9,
    ),
}


def get_region(code: str) -> Region:
    try:
        return REGIONS[code]
    except KeyError:
        raise ConfigError(f"unknown region {code!r} (regions: {', '.join(REGIONS)})") from None


# ``region=global``: every region a multi-region recognizer reads, in its region head's class order.
GLOBAL_REGIONS = ("cn", "us", "eu", "br")


def region_codes(value: str) -> tuple[str, ...]:
    """'cn' -> ('cn',); 'us+eu' -> ('us', 'eu'); 'global' -> :data:`GLOBAL_REGIONS`; unknown codes are a ConfigError."""
    codes = GLOBAL_REGIONS if value == "global" else tuple(str(value).split("+"))
    for code in codes:
        get_region(code)
    return codes
