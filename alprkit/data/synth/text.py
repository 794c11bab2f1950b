"""Random plate strings drawn from region templates.

Templates use the small regular-expression subset of :mod:`alprkit.data.regions`:
literal characters, classes such as ``[A-HJK]`` and repeats ``{n}`` or ``{n,m}``.
Sampling a template directly (rather than rejecting random strings) keeps every
string valid for its region by construction. A space in a layout's template marks
a group boundary (where the plate has a gap, dot, dash or emblem); it is not part
of the label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..regions import CN_LETTERS, CN_PROVINCES, DIGITS

_TOKEN = re.compile(r"(\[[^\]]+\]|\\.|[^\[\\{ ])(\{(\d+)(?:,(\d+))?\})?| ")


def _expand_class(body: str) -> str:
    chars, i = [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return "".join(dict.fromkeys(chars))


@lru_cache(maxsize=256)
def parse_template(template: str) -> tuple[tuple[str, int, int], ...]:
    """``template`` as (allowed characters, min repeat, max repeat) per atom; ``(" ", 0, 0)``
    marks a group boundary."""
    parts, pos = [], 0
    while pos < len(template):
        m = _TOKEN.match(template, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"unsupported plate template {template!r} at {template[pos:]!r}")
        atom, _, low, high = m.groups()
        if atom is None:
            parts.append((" ", 0, 0))
        else:
            chars = _expand_class(atom[1:-1]) if atom.startswith("[") else atom[-1]
            n_min = int(low) if low else 1
            parts.append((chars, n_min, int(high) if high else n_min))
        pos = m.end()
    return tuple(parts)


def sample_template(
    template: str, rng: np.random.Generator, exclude: str = "", digit_share: float | None = None
) -> tuple[str, ...]:
    """A random string matching ``template``, as its groups.

    Characters in ``exclude`` are never drawn; ``digit_share`` is the probability of
    a digit where a class mixes letters and digits (real series are mostly digits).
    """
    groups, current = [], []
    for chars, n_min, n_max in parse_template(template):
        if chars == " ":
            groups.append("".join(current))
            current = []
            continue
        allowed = [c for c in chars if c not in exclude] or list(chars)
        digits = [c for c in allowed if c.isdigit()]
        others = [c for c in allowed if not c.isdigit()]
        for _ in range(int(rng.integers(n_min, n_max + 1))):
            pool = allowed
            if digit_share is not None and digits and others:
                pool = digits if rng.random() < digit_share else others
            current.append(pool[int(rng.integers(len(pool)))])
    groups.append("".join(current))
    return tuple(g for g in groups if g)


@dataclass(frozen=True)
class TextSpec:
    """How a plate layout draws its strings.

    ``templates`` pairs each template with a weight; ``prefixes`` pairs a favoured
    prefix with the probability of forcing it (CCPD is mostly 皖A, so a recognizer
    evaluated on it must see that prefix often); ``exclude`` lists characters the
    layout's plates never use; ``letter_zero`` is the share of letters replaced by 0 (US
    plates print O and 0 with one glyph and label both 0, so letter groups hold zeros).
    """

    templates: tuple[tuple[str, float], ...]
    prefixes: tuple[tuple[str, float], ...] = ()
    exclude: str = ""
    digit_share: float | None = None
    letter_zero: float = 0.0

    def sample(self, rng: np.random.Generator) -> tuple[str, ...]:
        """A random plate string as its groups (join them for the label)."""
        template = weighted_choice([t for t, _ in self.templates], [w for _, w in self.templates], rng)
        groups = sample_template(template, rng, self.exclude, self.digit_share)
        if self.letter_zero:  # no draws otherwise: other layouts keep their exact strings
            zero = lambda c: "0" if c.isalpha() and rng.random() < self.letter_zero else c  # noqa: E731
            groups = tuple("".join(map(zero, g)) for g in groups)
        roll = rng.random()
        for prefix, prob in self.prefixes:
            if roll < prob:
                return force_prefix(groups, prefix)
            roll -= prob
        return groups


def force_prefix(groups: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    """``groups`` with their first characters replaced by ``prefix``, keeping the grouping."""
    out, rest = [], prefix
    for group in groups:
        out.append(rest[: len(group)] + group[len(rest) :])
        rest = rest[len(group) :]
    return tuple(out)


def weighted_choice(options: Sequence, weights: Sequence[float], rng: np.random.Generator):
    w = np.asarray(weights, float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


# Character classes shared by the layouts' templates.
CN_PROVINCE = f"[{CN_PROVINCES}]"
CN_LETTER = f"[{CN_LETTERS}]"
CN_ALNUM = f"[{CN_LETTERS}{DIGITS}]"
# CCPD-like prefix bias: most plates are from Hefei (皖A), a few from the rest of Anhui.
CCPD_PREFIXES = (("皖A", 0.45), ("皖", 0.2))


# Text that is not a plate: shop signs, street names, stickers, phone numbers.
_SIGNS_CN = ("停车场", "出口", "欢迎光临", "汽车美容", "中国银行", "超市", "药店", "洗车", "酒店", "餐厅", "快递")
_SIGNS_LATIN = (
    "EXIT ONLY", "NO PARKING", "Cumberland Ave", "OPEN", "SALE 50%", "PHARMACY", "Main St", "HOTEL", "PIZZA",
    "STOP", "ONE WAY", "Estacionamento", "FARMACIA", "PARKING", "Taxi", "Centro", "NOTICE", "Car Wash",
)  # fmt: skip


def distractor_text(rng: np.random.Generator, region: str = "cn") -> str:
    """A line of non-plate text in the script of ``region``'s streets."""
    kind = rng.random()
    if kind < 0.3:  # phone numbers and other digit strings
        return " ".join(str(int(rng.integers(100, 10000))) for _ in range(int(rng.integers(2, 4))))
    signs = _SIGNS_CN if region == "cn" and kind < 0.8 else _SIGNS_LATIN
    return signs[int(rng.integers(len(signs)))]


# Lettering of hard negatives (:mod:`.distractors`, :mod:`.roadsigns`): what stands next to real plates.
_FIRMS = {
    "cn": ("顺丰速运", "搬家公司", "物流配送", "水电维修", "装修工程", "鲜花速递", "驾校", "同城快运", "净水设备", "中国邮政"),
    "us": ("ACME PLUMBING", "CITY MOVERS", "FRESH FOODS", "ELECTRIC CO", "ROOFING", "EXPRESS DELIVERY", "BAKERY",
           "PEST CONTROL", "HVAC SERVICE", "FLOWERS", "LOCKSMITH", "PAINTING"),
    "eu": ("SPEDITION", "KURIER", "AUTOSERVIS", "STAVBY", "PEKARNA", "ELEKTRO", "TRANSPORT", "INSTALATER", "CATERING"),
    "br": ("TRANSPORTES", "ENTREGAS", "MUDANCAS", "PADARIA", "ELETRICA", "FRETES", "DISK GAS", "AUTO PECAS"),
}  # fmt: skip
_STREETS = {
    "cn": (("人民路", "RENMIN RD"), ("解放路", "JIEFANG RD"), ("长江路", "CHANGJIANG RD"), ("黄山路", "HUANGSHAN RD"),
           ("中山路", "ZHONGSHAN RD"), ("建设路", "JIANSHE RD")),
    "us": (("Main St", ""), ("Oak Ave", ""), ("Elm St", ""), ("Cumberland Ave", ""), ("W 42nd St", ""),
           ("Park Blvd", ""), ("Maple Dr", "")),
    "eu": (("Hlavna", ""), ("Namestie SNP", ""), ("Mickiewicza", ""), ("Hauptstrasse", ""), ("Obchodna", "")),
    "br": (("R. das Flores", ""), ("Av. Paulista", ""), ("R. XV de Novembro", ""), ("Av. Brasil", "")),
}  # fmt: skip


def _digits(rng, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def phone_number(rng: np.random.Generator, region: str = "cn") -> str:
    """A phone number written the way ``region``'s vans and shop signs write it."""
    d = lambda n: _digits(rng, n)  # noqa: E731 - a tiny digit-string helper
    forms = {
        "cn": lambda: weighted_choice([f"1{'358'[int(rng.integers(3))]}{d(1)} {d(4)} {d(4)}", f"0{d(3)}-{d(8)}",
                                       f"400-{d(3)}-{d(4)}"], [3, 2, 1], rng),
        "us": lambda: weighted_choice([f"({d(3)}) {d(3)}-{d(4)}", f"{d(3)}-{d(3)}-{d(4)}", f"1-800-{d(3)}-{d(4)}"],
                                      [2, 2, 1], rng),
        "eu": lambda: weighted_choice([f"+421 9{d(2)} {d(3)} {d(3)}", f"0{d(3)} {d(3)} {d(3)}",
                                       f"+48 {d(3)} {d(3)} {d(3)}"], [2, 1, 1], rng),
        "br": lambda: weighted_choice([f"({d(2)}) 9{d(4)}-{d(4)}", f"0800 {d(3)} {d(4)}"], [3, 1], rng),
    }
    return forms.get(region, forms["us"])()


def firm_name(rng: np.random.Generator, region: str = "cn") -> str:
    names = _FIRMS.get(region, _FIRMS["us"])
    if region == "cn" and rng.random() < 0.2:  # Chinese firms letter in Latin too
        names = _FIRMS["us"]
    return names[int(rng.integers(len(names)))]


def street_name(rng: np.random.Generator, region: str = "cn") -> tuple[str, str]:
    """A street sign's name and its second line (pinyin on Chinese signs, else empty)."""
    names = _STREETS.get(region, _STREETS["us"])
    return names[int(rng.integers(len(names)))]
