"""Layers shared by every model: a convolution whose lowering is chosen per backend, pooling, flatten.

Why a convolution of our own: inside `lax.scan` (our one-program epoch), XLA:CPU's native
convolution runs 3-10x slower than the same convolution written as im2col (concatenate the k*k
shifted windows, then one matmul); on GPUs and TPUs `lax.conv` is the fast path. Models use
`Conv` and never see the difference; `benchmarks/conv_lowering.py` re-measures the choice.
Parameter names and shapes match `flax.linen.Conv` ("kernel" HWIO, "bias"), so counts and
checkpoints do not depend on the lowering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import lax

CONV_IMPLS = ("auto", "im2col", "xla")
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "sigmoid": nn.sigmoid,
    "tanh": nn.tanh,
}
INITIALIZERS: dict[str, Callable[..., Any]] = {
    # Keras' default for Conv2D and Dense.
    "glorot_uniform": nn.initializers.glorot_uniform(),
    "he_normal": nn.initializers.he_normal(),
    # Flax's default.
    "lecun_normal": nn.initializers.lecun_normal(),
    # PyTorch's default for Conv2d and Linear weights: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).
    "torch_default": nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform"),
}


def resolve_conv_impl(conv_impl: str) -> str:
    """'auto' picks im2col on CPU and XLA's native convolution on GPU/TPU."""
    if conv_impl == "auto":
        return "im2col" if jax.default_backend() == "cpu" else "xla"
    return conv_impl


def _same_padding(kernel_size: int) -> tuple[int, int]:
    # TensorFlow/Keras 'same': the extra pixel of an even kernel goes after.
    before = (kernel_size - 1) // 2
    return before, kernel_size - 1 - before


def conv_im2col(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
    """NHWC x HWIO -> NHWC, stride 1, as one matmul over the concatenated shifted windows."""
    kh, kw, cin, cout = kernel.shape
    if padding == "SAME":
        x = jnp.pad(x, ((0, 0), _same_padding(kh), _same_padding(kw), (0, 0)))
    n, h, w, _ = x.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    windows = [x[:, i : i + out_h, j : j + out_w, :] for i in range(kh) for j in range(kw)]
    patches = jnp.concatenate(windows, axis=-1) if len(windows) > 1 else windows[0]
    out = patches.reshape(n * out_h * out_w, kh * kw * cin) @ kernel.reshape(kh * kw * cin, cout)
    return out.reshape(n, out_h, out_w, cout)


def conv_xla(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
    """NHWC x HWIO -> NHWC, stride 1, with XLA's native convolution."""
    kh, kw = kernel.shape[:2]
    pads = [_same_padding(kh), _same_padding(kw)] if padding == "SAME" else [(0, 0), (0, 0)]
    return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"))


class Conv(nn.Module):
    """2-D convolution, stride 1, 'SAME' or 'VALID' padding, with a bias; NHWC."""

    features: int
    kernel_size: int
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = (self.kernel_size, self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", self.kernel_init, shape)
        lower = conv_im2col if resolve_conv_impl(self.conv_impl) == "im2col" else conv_xla
        y = lower(x, kernel, self.padding)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y


def _pool_2x2(x: jax.Array, reduce: Callable[..., jax.Array]) -> jax.Array:
    # A reshape + reduce instead of lax.reduce_window: its gradient (select_and_scatter) is 2x
    # slower on XLA:CPU. Odd sides are floored, like Keras' 'valid' pooling.
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :].reshape(n, h // 2, 2, w // 2, 2, c)
    return reduce(x, axis=(2, 4))


class MaxPool(nn.Module):
    """2x2 max pooling, stride 2, 'valid'."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _pool_2x2(x, jnp.max)


class AvgPool(nn.Module):
    """2x2 average pooling, stride 2, 'valid'."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _pool_2x2(x, jnp.mean)


class Flatten(nn.Module):
    """(N, ...) -> (N, prod(...))."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return x.reshape(x.shape[0], -1)


# The layers whose outputs `feature_map_images` draws.
FEATURE_MAP_LAYERS = (Conv, MaxPool, AvgPool)


def batch_norm(train: bool) -> nn.BatchNorm:
    """Keras' BatchNormalization defaults (momentum 0.99, epsilon 1e-3)."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3)
