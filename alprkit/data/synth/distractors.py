"""Hard negatives on the vehicle: what real photos put right next to a plate.

A van's rear doors with the firm's name and phone number, lettering on a car's boot,
bumper stickers, a radiator grille of bars and a lower intake, and a dealer frame
with the dealer's name around the plate. Detectors trained without them take a
van's phone number or a grille for the plate. Each painter draws in the plate's
plane (millimetres from the plate centre, y down, through a ``PlanePainter``) and
stays inside the vehicle's extent (``vehicle.EXTENT_MM``), so a placement that keeps
a farther plate off a nearer car keeps it off these too. Each returns what it drew
as :class:`Distractor` records (image boxes), which scenes keep beside the plate
labels, never among them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...types import Box
from . import fonts
from .text import firm_name, phone_number

# How often each painter is used on a vehicle of a hard-negative scene.
VAN, BOOT_LETTERING, STICKER, GRILLE, DEALER_FRAME = 0.3, 0.3, 0.35, 0.7, 0.45
INKS = ((20, 40, 120), (170, 25, 30), (20, 20, 22), (25, 100, 50), (240, 240, 240), (245, 200, 40))

_STICKERS = {
    "cn": ("新手上路", "实习", "车内有宝宝", "保持车距", "别吻我", "教练车"),
    "latin": ("BABY ON BOARD", "STUDENT DRIVER", "HONOR STUDENT", "COEXIST", "26.2", "SURF", "KEEP DISTANCE",
              "I BRAKE FOR ANIMALS", "NO FEAR", "JESUS"),
}  # fmt: skip
_BADGES = ("FORD", "TOYOTA", "HONDA", "VOLVO", "KIA", "NISSAN", "DODGE", "CHEVROLET", "ISUZU", "SCANIA")
_DEALERS = {
    "cn": ("大众4S店", "丰田汽车", "一路平安", "出入平安", "汽车销售", "比亚迪", "吉利汽车"),
    "us": ("TOYOTA OF DALLAS", "HONDA WORLD", "AUTONATION", "CARMAX", "DEALER SALES", "FORD COUNTRY"),
    "eu": ("AUTOHAUS", "AUTO CENTRUM", "SKODA AUTO", "AUTO KELLY", "AUTOMOBILY"),
    "br": ("CONCESSIONARIA", "AUTO CENTER", "VEICULOS", "SEMINOVOS"),
}  # fmt: skip


@dataclass(frozen=True)
class Distractor:
    """Something painted to look a little like a plate: its kind, text (if any) and image box."""

    kind: str
    box: Box
    text: str = ""


@dataclass(frozen=True)
class BodyShape:
    """The parts of a drawn vehicle a painter needs, in mm from the plate centre."""

    half: float  # half the body width
    top: float  # the roof line (negative: above the plate)
    bumper_top: float
    bumper_bottom: float
    rear: bool
    color: np.ndarray  # RGB paint
    plate_mm: tuple[float, float]


def contrast_ink(background, rng) -> tuple:
    """An ink colour readable on ``background``."""
    light = float(np.mean(background)) > 110
    choices = [c for c in INKS if (np.mean(c) < 110) == light]
    return tuple(float(v) for v in choices[int(rng.integers(len(choices)))])


def fitted_line(paint, kind, text, cx, cy, height, max_width, color) -> list[Distractor]:
    """A line of ``text`` centred at (cx, cy) mm, ``height`` tall, narrowed to at most ``max_width`` mm."""
    mask = fonts.fitted_text(text, 700, 4096, 48)
    height = min(height, max_width * mask.shape[0] / mask.shape[1])
    box = paint.text(text, cx, cy, height, color)
    return [Distractor(kind, box, text)] if box is not None else []


def vehicle_distractors(paint, rng, region: str, body: BodyShape) -> list[Distractor]:
    """Lettering, stickers and grilles on one vehicle, each drawn with its own probability."""
    drawn = []
    if body.rear and rng.random() < VAN:
        drawn += van_doors(paint, rng, region, body)
    elif body.rear and rng.random() < BOOT_LETTERING:
        text = phone_number(rng, region) if rng.random() < 0.6 else firm_name(rng, region)
        cy = body.bumper_top - rng.uniform(60, 110)
        drawn += fitted_line(paint, "lettering", text, rng.uniform(-80, 80), cy, rng.uniform(35, 70),
                             2 * (body.half - 430), contrast_ink(body.color, rng))
    if not body.rear and rng.random() < GRILLE:
        drawn += grille(paint, rng, body)
    if rng.random() < STICKER:
        drawn += sticker(paint, rng, region, body)
    return drawn


def van_doors(paint, rng, region: str, body: BodyShape) -> list[Distractor]:
    """A van's boxy rear: two doors with the firm's name, a phone number and sometimes a second line."""
    half, bottom = body.half, body.bumper_top
    top = -rng.uniform(840, 890)
    paint.rect(-half, top, half, bottom, body.color)
    seam = np.clip(body.color * 0.45, 0, 255)
    paint.rect(-3, top + 20, 3, bottom, seam)
    windows = rng.random() < 0.5
    if windows:
        for side in (-1, 1):
            x0, x1 = sorted((side * 40, side * (half - 90)))
            paint.rect(x0, top + 40, x1, top + 240, (35, 40, 48))
    for side in (-1, 1):  # tall tail lights at the corners
        x0, x1 = sorted((side * (half - 15), side * (half - 75)))
        paint.rect(x0, bottom - rng.uniform(350, 450), x1, bottom - 20, (170, 20, 25))
    y0, y1 = top + (270 if windows else 70), bottom - 30
    lines = [(firm_name(rng, region), rng.uniform(70, 130)), (phone_number(rng, region), rng.uniform(50, 100))]
    if rng.random() < 0.3:
        lines.insert(0, (second_line(rng, region), rng.uniform(35, 55)))
    scale = min(1.0, (y1 - y0) / (sum(h for _, h in lines) * 1.35))
    ink = contrast_ink(body.color, rng)
    drawn, y = [], y0
    for text, height in lines:
        height *= scale
        y += height * 0.35
        drawn += fitted_line(paint, "lettering", text, 0.0, y + height / 2, height, 2 * (half - 110), ink)
        y += height
    return drawn


def second_line(rng, region: str) -> str:
    """A van's small top line: a web address or a slogan."""
    if region == "cn":
        return ("专业服务", "全市配送", "诚信经营")[int(rng.integers(3))]
    return ("www.service.com", "LICENSED & INSURED", "24 HOURS", "FREE ESTIMATES")[int(rng.integers(4))]


def sticker(paint, rng, region: str, body: BodyShape) -> list[Distractor]:
    """A rectangular sticker with a line of text on the bumper or boot, beside the plate."""
    pw, ph = body.plate_mm
    w, h = rng.uniform(160, 320), rng.uniform(45, 90)
    side = float(rng.choice([-1, 1]))
    room = body.half - 40 - (pw / 2 + 60)
    if room < w:
        return []
    cx = side * (pw / 2 + 60 + w / 2 + rng.uniform(0, room - w))
    on_bumper = body.bumper_bottom - body.bumper_top > h + 40 and rng.random() < 0.5
    cy = rng.uniform(body.bumper_top + h / 2 + 15, body.bumper_bottom - h / 2 - 10) if on_bumper \
        else body.bumper_top - rng.uniform(h / 2 + 20, 250)
    background = INKS[int(rng.integers(len(INKS)))]
    paint.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, background)
    pool = _STICKERS["cn" if region == "cn" and rng.random() < 0.8 else "latin"]
    text = pool[int(rng.integers(len(pool)))]
    return fitted_line(paint, "sticker", text, cx, cy, h * 0.6, w * 0.9, contrast_ink(background, rng))


def grille(paint, rng, body: BodyShape) -> list[Distractor]:
    """Vertical bars above the plate (a truck or SUV grille) with a badge, and a barred intake below it."""
    pw, ph = body.plate_mm
    drawn = []
    y1 = body.bumper_top - 10
    y0 = y1 - rng.uniform(140, 260)
    half = body.half * rng.uniform(0.4, 0.6)
    metal = (rng.uniform(150, 220),) * 3 if rng.random() < 0.6 else (25, 25, 28)
    paint.rect(-half, y0, half, y1, (18, 18, 20) if np.mean(metal) > 100 else (120, 120, 124))
    pitch = rng.uniform(28, 60)
    for x in np.arange(-half + pitch * 0.3, half - pitch * 0.3, pitch):
        paint.rect(x, y0 + 6, x + pitch * rng.uniform(0.3, 0.55), y1 - 6, metal)
    drawn.append(Distractor("grille", paint.bounds(-half, y0, half, y1)))
    badge = _BADGES[int(rng.integers(len(_BADGES)))]
    drawn += fitted_line(paint, "badge", badge, 0.0, (y0 + y1) / 2, rng.uniform(30, 55), half, (230, 230, 232))
    below = body.bumper_bottom - 15 - (ph / 2 + 40)
    if below >= 45:  # a lower intake under the plate: bars the size of characters
        iy0, iy1 = ph / 2 + 40, body.bumper_bottom - 15
        iw = rng.uniform(max(pw / 2, 200), min(body.half - 80, 480))
        paint.rect(-iw, iy0, iw, iy1, (15, 15, 17))
        step = rng.uniform(22, 45)
        for x in np.arange(-iw + step * 0.4, iw - step * 0.4, step):
            paint.rect(x, iy0 + 4, x + step * 0.35, iy1 - 4, (70, 70, 74))
        drawn.append(Distractor("grille", paint.bounds(-iw, iy0, iw, iy1)))
    return [d for d in drawn if d.box is not None]


def dealer_frame(paint, rng, region: str, plate_mm: tuple[float, float]) -> list[Distractor]:
    """A plate frame a little larger than the plate, with the dealer's name below (and a line above)."""
    pw, ph = plate_mm
    side, top, bottom = rng.uniform(8, 25), rng.uniform(6, 28), rng.uniform(18, 34)
    frame = (18, 18, 20) if rng.random() < 0.5 else (rng.uniform(150, 210),) * 3 if rng.random() < 0.7 \
        else (180, 150, 70)
    paint.rect(-pw / 2 - side, -ph / 2 - top, pw / 2 + side, ph / 2 + bottom, frame)
    ink = contrast_ink(frame, rng)
    names = _DEALERS.get(region, _DEALERS["us"])
    name = names[int(rng.integers(len(names)))]
    drawn = fitted_line(paint, "dealer", name, 0.0, ph / 2 + bottom / 2, bottom * 0.65, pw * 0.9, ink)
    if top >= 15 and rng.random() < 0.5:
        drawn += fitted_line(paint, "dealer", phone_number(rng, region), 0.0, -ph / 2 - top / 2, top * 0.65,
                             pw * 0.8, ink)
    return drawn
