"""What a training run shows: its own progress on stderr, none of Lightning's chatter.

stdout is for results, so Lightning's progress bar (which writes to stdout) is sent to
stderr. Lightning's INFO lines that tell a user nothing about the run (which
accelerators exist, tips for cloud loggers, how many validation batches, why fit
stopped) and deprecation warnings from its dependencies are dropped; its other lines
(how many DDP processes started, warnings about the run itself) still show.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from contextlib import contextmanager, redirect_stdout

_LOGGERS = ("pytorch_lightning", "lightning_fabric")
_NOISE = re.compile(
    r"(GPU|TPU|HPU|IPU) available|Tip:|litlogger|`Trainer\(limit_\w+=|`Trainer\.fit` stopped|LOCAL_RANK: \d+ - "
    r"CUDA_VISIBLE_DEVICES|Seed set to"
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _NOISE.search(record.getMessage()) is None


@contextmanager
def quiet_lightning():
    import pytorch_lightning  # noqa: F401  (its import attaches the handlers filtered here)

    noise = _DropNoise()
    handlers = [h for name in _LOGGERS for h in logging.getLogger(name).handlers]
    try:
        for handler in handlers:
            handler.addFilter(noise)
        with warnings.catch_warnings(), redirect_stdout(sys.stderr):
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=r".*is deprecated.*")
            # Lightning suggests more loader workers for the synthetic stream; train.workers sets them.
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*but have no `val_dataloader`.*")  # no val set configured
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(noise)
