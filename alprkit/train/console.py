"""What a training run shows: its own progress on stderr, none of Lightning's chatter.

stdout is for results, so Lightning's progress bar (which writes to stdout) is sent to
stderr. Lightning's INFO lines (accelerators found, tips for cloud loggers, how many
validation batches) and deprecation warnings from its dependencies tell a user nothing
about the run; its warnings about the run itself (level WARNING) still show.
"""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager, redirect_stdout

_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric")


@contextmanager
def quiet_lightning():
    import pytorch_lightning  # noqa: F401  (its import sets its loggers to INFO: set them after it)

    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    try:
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        with warnings.catch_warnings(), redirect_stdout(sys.stderr):
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=r".*is deprecated.*")
            # Lightning suggests more loader workers for the synthetic stream; train.workers sets them.
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*`Trainer\.fit` stopped.*")
            warnings.filterwarnings("ignore", message=r".*but have no `val_dataloader`.*")  # no val set configured
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
