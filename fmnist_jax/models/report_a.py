"""Report A's CNN-A family (Keras): two conv blocks and a dense head, 225,034 params at baseline."""

from __future__ import annotations

import jax
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.dropout import Dropout
from fmnist_jax.models.common import SeedModel
from fmnist_jax.models.registry import register


@register("cnn_a")
class CNNA(SeedModel):
    """conv(32,k1,valid) -> maxpool -> drop -> conv(64,3,valid) -> maxpool -> drop -> flatten
    -> dense(128) -> drop -> dense(10).

    With batch_norm, a BatchNorm sits after each conv and after dense(128), before the activation.
    """

    first_kernel_size: int = 3
    batch_norm: bool = False
    conv_dropout: float = 0.25
    dense_dropout: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer

        def normalise_and_activate(y: jax.Array) -> jax.Array:
            return act(layers.batch_norm(train)(y) if self.batch_norm else y)

        for features, kernel_size in ((32, self.first_kernel_size), (64, 3)):
            x = layers.Conv(
                features,
                kernel_size,
                "VALID",
                kernel_init=init,
                bias_init=self.bias_initializer,
                conv_impl=self.conv_impl,
            )(x)
            x = layers.MaxPool()(normalise_and_activate(x))
            x = Dropout(self.conv_dropout, deterministic=not train)(x)
        x = layers.Flatten()(x)
        x = normalise_and_activate(layers.Dense(128, kernel_init=init, bias_init=self.bias_initializer)(x))
        x = Dropout(self.dense_dropout, deterministic=not train)(x)
        return layers.Dense(self.num_classes, kernel_init=init, bias_init=self.bias_initializer)(x)
