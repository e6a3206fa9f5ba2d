"""Report B's LeNet-5 family (PyTorch): 61,706 params at base; V1 wide, V2 + dropout."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.models.common import MLPHead, SeedModel
from fmnist_jax.models.registry import register


@register("lenet5")
class LeNet5(SeedModel):
    """conv(f1,5,same) -> avgpool -> conv(f2,5,valid) -> avgpool -> flatten -> dense(120) -> [drop]
    -> dense(84) -> [drop] -> dense(10)."""

    filters: Sequence[int] = (6, 16)
    dense_dropout: float = 0.0
    kernel_init: str = "torch_default"  # PyTorch's default init, as Report B trained it

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        for features, padding in zip(self.filters, ("SAME", "VALID"), strict=True):
            x = layers.Conv(
                features, 5, padding, kernel_init=init, bias_init=self.bias_initializer, conv_impl=self.conv_impl
            )(x)
            x = layers.AvgPool()(act(x))
        return MLPHead((120, 84), (self.dense_dropout,) * 2, self.num_classes, self.activation, self.kernel_init)(
            x, train=train
        )
