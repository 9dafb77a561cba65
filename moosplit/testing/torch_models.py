"""Helpers for testing the torch front end on models whose BatchNorm does something."""

from __future__ import annotations

from typing import Any


def randomise_batchnorms(net: Any, seed: int) -> Any:
    """`net` (a torch.nn.Module) in eval mode with every BatchNorm's running statistics and
    affine parameters drawn far from their initial values: an untrained network's BatchNorm
    is the identity, which folding leaves as it is, so a test of folding needs this."""
    import torch

    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return net.eval()
