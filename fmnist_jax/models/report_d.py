"""Report D's Kaggle CNN (6,484,330 params), dense ANN (1,398,762), small ResNet and small Inception."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from fmnist_jax import layers
from fmnist_jax.dropout import Dropout
from fmnist_jax.models.common import MLPHead, SeedModel
from fmnist_jax.models.registry import register


@register("cnn_d")
class CNND(SeedModel):
    """conv(32,5,same) -> maxpool -> conv(64,3,same) -> maxpool -> conv(128,1,same) -> drop(.2)
    -> flatten(6272) -> dense(1024) -> drop(.25) -> dense(32) -> dense(10)."""

    conv_dropout: float = 0.2
    dense_dropout: float = 0.25

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        for features, size in ((32, 5), (64, 3)):
            x = layers.MaxPool()(
                act(
                    layers.Conv(
                        features,
                        size,
                        "SAME",
                        kernel_init=init,
                        bias_init=self.bias_initializer,
                        conv_impl=self.conv_impl,
                    )(x)
                )
            )
        x = act(
            layers.Conv(128, 1, "SAME", kernel_init=init, bias_init=self.bias_initializer, conv_impl=self.conv_impl)(x)
        )
        x = Dropout(self.conv_dropout, deterministic=not train)(x)
        return MLPHead((1024, 32), (self.dense_dropout, 0.0), self.num_classes, self.activation, self.kernel_init)(
            x, train=train
        )


@register("mlp")
class MLP(nn.Module):
    """flatten(784) -> [dense(w) -> act -> drop(p)] per hidden width -> dense(10).

    Report D's dense ANN is widths (1024, 512, 128, 32) without dropout; Report E's MLPs use drop(.2).
    """

    widths: Sequence[int] = (1024, 512, 128, 32)
    dropout: float = 0.0
    num_classes: int = 10
    activation: str = "relu"
    kernel_init: str = "glorot_uniform"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        return MLPHead(
            tuple(self.widths), (self.dropout,) * len(self.widths), self.num_classes, self.activation, self.kernel_init
        )(x, train=train)


class ResidualBlock(nn.Module):
    """Two conv(f,3,same) with a 1x1 projection skip: act(conv(act(conv(x))) + proj(x))."""

    features: int
    activation: str
    kernel_init: str
    conv_impl: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = layers.ACTIVATIONS[self.activation]
        init, bias_init = layers.INITIALIZERS[self.kernel_init], layers.BIAS_INITIALIZERS[self.kernel_init]
        y = act(
            layers.Conv(self.features, 3, "SAME", kernel_init=init, bias_init=bias_init, conv_impl=self.conv_impl)(x)
        )
        y = layers.Conv(self.features, 3, "SAME", kernel_init=init, bias_init=bias_init, conv_impl=self.conv_impl)(y)
        skip = layers.Conv(self.features, 1, "SAME", kernel_init=init, bias_init=bias_init, conv_impl=self.conv_impl)(x)
        return act(y + skip)


@register("resnet_small")
class ResNetSmall(SeedModel):
    """conv(32,5,same) -> maxpool -> res(64) -> maxpool -> res(128) -> flatten -> dense(1024) -> drop(.25)
    -> dense(32) -> dense(10): 11 weight layers, 2 projection skips (chosen layout)."""

    dense_dropout: float = 0.25

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        x = layers.MaxPool()(
            act(
                layers.Conv(32, 5, "SAME", kernel_init=init, bias_init=self.bias_initializer, conv_impl=self.conv_impl)(
                    x
                )
            )
        )
        x = layers.MaxPool()(ResidualBlock(64, self.activation, self.kernel_init, self.conv_impl)(x))
        x = ResidualBlock(128, self.activation, self.kernel_init, self.conv_impl)(x)
        return MLPHead((1024, 32), (self.dense_dropout, 0.0), self.num_classes, self.activation, self.kernel_init)(
            x, train=train
        )


class InceptionBlock(nn.Module):
    """Four branches concatenated: 1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 maxpool (stride 1) -> 1x1."""

    branch_1x1: int
    reduce_3x3: int
    branch_3x3: int
    reduce_5x5: int
    branch_5x5: int
    branch_pool: int
    activation: str
    kernel_init: str
    conv_impl: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = layers.ACTIVATIONS[self.activation]
        init, bias_init = layers.INITIALIZERS[self.kernel_init], layers.BIAS_INITIALIZERS[self.kernel_init]

        def conv(features: int, size: int, y: jax.Array) -> jax.Array:
            return act(
                layers.Conv(features, size, "SAME", kernel_init=init, bias_init=bias_init, conv_impl=self.conv_impl)(y)
            )

        pooled = nn.max_pool(x, (3, 3), strides=(1, 1), padding="SAME")
        return jnp.concatenate(
            [
                conv(self.branch_1x1, 1, x),
                conv(self.branch_3x3, 3, conv(self.reduce_3x3, 1, x)),
                conv(self.branch_5x5, 5, conv(self.reduce_5x5, 1, x)),
                conv(self.branch_pool, 1, pooled),
            ],
            axis=-1,
        )


@register("inception_small")
class InceptionSmall(SeedModel):
    """conv(32,3,same) -> maxpool -> conv(64,3,same) -> maxpool -> inception(128; 128->192; 16->32; pool->32)
    -> global average pool -> dense(128) -> dense(10): 323,354 params (chosen widths; report: ~325k)."""

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act, init = self.activation_fn, self.initializer
        for features in (32, 64):
            x = layers.MaxPool()(
                act(
                    layers.Conv(
                        features, 3, "SAME", kernel_init=init, bias_init=self.bias_initializer, conv_impl=self.conv_impl
                    )(x)
                )
            )
        x = InceptionBlock(128, 128, 192, 16, 32, 32, self.activation, self.kernel_init, self.conv_impl)(x)
        x = jnp.mean(x, axis=(1, 2))  # global average pool
        x = act(layers.Dense(128, kernel_init=init, bias_init=self.bias_initializer)(x))
        return layers.Dense(self.num_classes, kernel_init=init, bias_init=self.bias_initializer)(x)
