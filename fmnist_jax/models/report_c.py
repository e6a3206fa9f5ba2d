"""Report C's LeNet-5 (Keras) on 32x32 zero-padded input, with its variants (61,706 params at baseline)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.dropout import Dropout
from fmnist_jax.models.common import SeedModel
from fmnist_jax.models.registry import register


@register("lenet5_padded")
class LeNet5Padded(SeedModel):
    """pad 28->32 -> conv(f1,5,valid) -> pool -> conv(f2,5,valid) -> pool -> [conv(16,3,same) -> pool]
    -> conv(120,5,valid) (or dense(120) after the extra conv) -> dense(84) -> dense(10).

    pool: 'avg' or 'max'. pool_dropout after each pool and output_dropout before the last layer.
    """

    filters: Sequence[int] = (6, 16)
    pool: str = "avg"
    extra_conv: bool = False
    pool_dropout: float = 0.0
    output_dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        pool = {"avg": layers.AvgPool, "max": layers.MaxPool}[self.pool]

        def conv(features: int, size: int, padding: str, y: jax.Array) -> jax.Array:
            return act(
                layers.Conv(
                    features, size, padding, kernel_init=init, bias_init=self.bias_initializer, conv_impl=self.conv_impl
                )(y)
            )

        def pool_and_drop(y: jax.Array) -> jax.Array:
            return Dropout(self.pool_dropout, deterministic=not train)(pool()(y))

        x = jnp.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))  # 28x28 -> 32x32, as LeNet-5 expects.
        for features in self.filters:
            x = pool_and_drop(conv(features, 5, "VALID", x))
        if self.extra_conv:
            x = pool_and_drop(conv(16, 3, "SAME", x))  # 5x5 -> 2x2x16
            x = act(layers.Dense(120, kernel_init=init, bias_init=self.bias_initializer)(layers.Flatten()(x)))
        else:
            x = layers.Flatten()(conv(120, 5, "VALID", x))  # 5x5 -> 1x1x120
        x = act(layers.Dense(84, kernel_init=init, bias_init=self.bias_initializer)(x))
        x = Dropout(self.output_dropout, deterministic=not train)(x)
        return layers.Dense(self.num_classes, kernel_init=init, bias_init=self.bias_initializer)(x)
