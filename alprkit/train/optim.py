"""The optimizer every alprkit training uses: Adam with the learning rate x0.1 at given fractions of the steps."""

from __future__ import annotations


def adam_with_lr_drops(network, lr: float, weight_decay: float, steps: int, lr_drops) -> dict:
    """Lightning's ``configure_optimizers`` answer for the trainable parameters of ``network``."""
    import torch

    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    milestones = sorted({max(1, int(f * steps)) for f in lr_drops})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
