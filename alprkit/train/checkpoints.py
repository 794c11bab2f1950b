"""Lightning checkpoints written like every other alprkit file: whole or not at all.

Lightning's own writer stages the file in the system's temporary folder and moves it
into place, which is a copy (not an atomic rename) when that folder is on another file
system, and a kill mid-copy leaves half a checkpoint that ``train.resume=auto`` would
then fail on. Here the bytes go to a temporary file beside the target and are renamed
over it (:mod:`alprkit.atomic`).
"""

from __future__ import annotations

import io
from typing import Any, Optional

from pytorch_lightning.plugins.io import TorchCheckpointIO

from ..atomic import write_bytes_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        import torch

        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_bytes_atomic(path, buffer.getbuffer())
