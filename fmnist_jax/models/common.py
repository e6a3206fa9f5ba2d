"""Building blocks several model families share."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import linen as nn

from fmnist_jax import layers


class MLPHead(nn.Module):
    """Flatten -> [dense(n) -> act -> drop] for each width -> dense(num_classes)."""

    widths: Sequence[int]
    dropouts: Sequence[float]
    num_classes: int = 10
    activation: str = "relu"
    kernel_init: str = "glorot_uniform"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act = layers.ACTIVATIONS[self.activation]
        init = layers.INITIALIZERS[self.kernel_init]
        x = layers.Flatten()(x)
        for width, rate in zip(self.widths, self.dropouts, strict=True):
            x = act(nn.Dense(width, kernel_init=init)(x))
            if rate:
                x = nn.Dropout(rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, kernel_init=init)(x)
