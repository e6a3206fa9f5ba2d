"""Report E's block CNNs: cnn4 (~315k params) and cnn5 (~872k), conv -> bn -> relu -> pool -> drop blocks."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.dropout import Dropout
from fmnist_jax.models.common import SeedModel
from fmnist_jax.models.registry import register


@register("block_cnn")
class BlockCNN(SeedModel):
    """For each of `filters`: conv(c,k,same) -> bn -> act -> [maxpool] -> drop(conv_dropout), with no pool
    after the blocks past `pooled_blocks`; then flatten -> dense(dense_width) -> bn -> act -> drop(dense_dropout)
    -> dense(10). cnn4: filters (32, 64, 128), dense 192; cnn5: filters (32, 64, 128, 256), 3 pooled, dense 208.
    kernel_size and the first pool's window (first_pool) are Report E's CNN search space; the other pools are 2x2."""

    filters: Sequence[int] = (32, 64, 128)
    pooled_blocks: int = 3
    kernel_size: int = 3
    first_pool: int = 2
    dense_width: int = 192
    conv_dropout: float = 0.25
    dense_dropout: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        for index, features in enumerate(self.filters):
            x = layers.Conv(
                features,
                self.kernel_size,
                "SAME",
                kernel_init=init,
                bias_init=self.bias_initializer,
                conv_impl=self.conv_impl,
            )(x)
            x = act(layers.batch_norm(train)(x))
            if index < self.pooled_blocks:
                x = layers.MaxPool(self.first_pool if index == 0 else 2)(x)
            x = Dropout(self.conv_dropout, deterministic=not train)(x)
        x = layers.Dense(self.dense_width, kernel_init=init, bias_init=self.bias_initializer)(layers.Flatten()(x))
        x = Dropout(self.dense_dropout, deterministic=not train)(act(layers.batch_norm(train)(x)))
        return layers.Dense(self.num_classes, kernel_init=init, bias_init=self.bias_initializer)(x)
