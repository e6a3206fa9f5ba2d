"""Building blocks several model families share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.dropout import Dropout


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

    @property
    def bias_initializer(self) -> Callable[[int], Callable[..., Any]]:
        """fan_in -> the bias initialiser that goes with kernel_init (PyTorch's for torch_default)."""
        return layers.BIAS_INITIALIZERS[self.kernel_init]


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
        init, bias_init = layers.INITIALIZERS[self.kernel_init], layers.BIAS_INITIALIZERS[self.kernel_init]
        x = layers.Flatten()(x)
        for width, rate in zip(self.widths, self.dropouts, strict=True):
            x = act(layers.Dense(width, kernel_init=init, bias_init=bias_init)(x))
            if rate:
                x = Dropout(rate, deterministic=not train)(x)
        return layers.Dense(self.num_classes, kernel_init=init, bias_init=bias_init)(x)
