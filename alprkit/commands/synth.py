"""``alprkit synth [preview|sheet] key=value ...``: write synthetic data sets, or a contact sheet of them.

``alprkit synth out=DIR format=ccpd splits=[base,db] count=1000`` writes a folder
that ``alprkit eval data=DIR`` (and every loader) reads as it reads real data;
``alprkit synth preview out=sheet.png`` draws crops and scenes per region and split;
``alprkit synth sheet sheet.data=DIR out=sheet.jpg`` draws the scenes of a written jsonl
folder with their plates boxed green and their hard negatives (``hard_negatives=``) red.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from ..errors import ConfigError
from ..imageio import imwrite_atomic


def main(cfg, words) -> int:
    if words not in ([], ["preview"], ["sheet"]):
        raise ConfigError(f"unknown synth words {' '.join(words)!r} "
                          "(usage: alprkit synth [preview|sheet] key=value ...)")
    if OmegaConf.is_missing(cfg, "out"):
        raise ConfigError("out= is required: the folder to create (or, for preview and sheet, the image to write)")
    if words == ["sheet"]:
        return _sheet(cfg)
    return _preview(cfg) if words else _generate(cfg)


def _generate(cfg) -> int:
    from ..data.synth.datasets import SynthJob, generate

    job = SynthJob(
        out=Path(str(cfg.out)),
        format=str(cfg.format),
        regions=_regions(cfg.regions),
        splits=tuple(_list(cfg.splits, "splits")),
        count=cfg.count,
        seed=_int(cfg.seed, "seed"),
        size=_size(cfg.size),
        max_plates=cfg.max_plates,
        frames=cfg.frames,
        quality=cfg.quality,
        degrade=cfg.degrade,
        degrade_share=cfg.degrade_share,
        frame_format=str(cfg.frame_format),
        hard_negatives=cfg.hard_negatives,
        layout_shares=cfg.layout_shares,  # SynthJob keeps a plain dict of it
    )
    start = time.perf_counter()
    out = generate(job, workers=cfg.workers, progress=bool(cfg.progress))
    items = job.count * len(job.splits)
    seconds = time.perf_counter() - start
    unit = "tracks" if job.format == "ufpr" else "images"
    print(f"wrote {items} {unit} ({job.format}) to {out} in {seconds:.1f} s ({items / seconds:.1f} {unit}/s)")
    return 0


def _preview(cfg) -> int:
    from ..data.synth.conditions import check_split
    from ..data.synth.preview import contact_sheet, stack_sheets

    out = Path(str(cfg.out))
    if out.suffix.lower() != ".png":
        raise ConfigError(f"out={str(out)!r}: a preview is a .png file")
    if out.exists():
        raise ConfigError(f"out={str(out)!r} already exists: give a new file name (nothing is overwritten)")
    splits = [check_split(s) for s in _list(cfg.splits, "splits")]
    crops, scenes = _int(cfg.preview.crops, "preview.crops"), _int(cfg.preview.scenes, "preview.scenes")
    if crops < 0 or scenes < 0 or crops + scenes == 0:
        raise ConfigError(f"preview.crops={crops}, preview.scenes={scenes}: need at least one item per row")
    sheets = [contact_sheet(region, splits, _int(cfg.seed, "seed"), crops, scenes) for region in _regions(cfg.regions)]
    imwrite_atomic(out, stack_sheets(sheets))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _sheet(cfg) -> int:
    from ..data.synth.preview import scene_sheet

    out = Path(str(cfg.out))
    if out.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        raise ConfigError(f"out={str(out)!r}: a sheet is a .jpg or .png file")
    if out.exists():
        raise ConfigError(f"out={str(out)!r} already exists: give a new file name (nothing is overwritten)")
    if not cfg.sheet.data:
        raise ConfigError("sheet.data= is required: the jsonl folder alprkit synth format=jsonl wrote")
    sheet = scene_sheet(Path(str(cfg.sheet.data)), _int(cfg.sheet.count, "sheet.count"),
                        _int(cfg.sheet.columns, "sheet.columns"), _int(cfg.sheet.width, "sheet.width"))
    imwrite_atomic(out, sheet, quality=80)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _regions(node) -> dict:
    from ..data.regions import REGIONS

    if isinstance(node, str):  # regions=cn
        node = {node: 1.0}
    elif isinstance(node, ListConfig):  # regions=[cn,us]: equal shares
        node = {str(r): 1.0 for r in node}
    elif not isinstance(node, DictConfig):
        raise ConfigError(f"regions={node!r}: give a region name, a list, or shares like {{cn: 0.7, us: 0.3}}")
    regions = OmegaConf.to_container(node) if isinstance(node, DictConfig) else node
    for name in regions:
        if name not in REGIONS:
            raise ConfigError(f"regions: unknown region {name!r} (regions: {', '.join(REGIONS)})")
    return regions


def _list(node, key) -> list:
    if isinstance(node, str):
        return [node]
    if not isinstance(node, ListConfig):
        raise ConfigError(f"{key}={node!r}: expected a list such as [base,db]")
    return [str(v) for v in node]


def _int(value, key) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected a whole number")
    return value


def _size(node):
    if node is None:
        return None
    if not isinstance(node, ListConfig) or len(node) != 2 or not all(isinstance(v, int) for v in node):
        raise ConfigError(f"size={node!r}: expected [width, height] in pixels")
    return (int(node[0]), int(node[1]))
