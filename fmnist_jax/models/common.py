"""Building blocks several model families share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
from flax import linen as nn

from fmnist_jax import layers


class SeedModel(nn.Module):
    """The fields every registered model shares (config.activation, kernel_init, conv_impl are applied
    to them by the registry) and their lookups."""

    num_classes: int = 10
    activation: str = "relu"
    kernel_init: str = "glorot_uniform"
    conv_impl: str = "auto"

    @property
    def activation_fn(self) -> Callable[[jax.Array], jax.Array]:
        return layers.ACTIVATIONS[self.activation]

    @property
    def initializer(self) -> Callable[..., Any]:
        return layers.INITIALIZERS[self.kernel_init]


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
