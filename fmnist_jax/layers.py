"""Layers shared by every model: a convolution whose lowering is chosen per backend, pooling, flatten.

Why a convolution of our own: inside `lax.scan` (our one-program epoch), XLA:CPU's native
convolution runs 3-40x slower than the same convolution written as matmuls (its backward
convolutions fall to a generic loop); on GPUs and TPUs
`lax.conv` is the fast path. Models use `Conv` and never see the difference. On CPU two matmul
lowerings are used, chosen per layer by its shape:
- im2col: concatenate the k*k shifted windows, then one (pixels, k*k*cin) x (k*k*cin, cout) matmul;
- toeplitz: for narrow layers (cout < 32, e.g. LeNet-5's 6 and 16 filters), whose im2col matmul
  is too narrow to fill the vector units, each output row is cut into tiles of `t` columns and one
  (rows*tiles, kh*(t+kw-1)*cin) x (kh*(t+kw-1)*cin, t*cout) matmul against a banded (Toeplitz)
  matrix built from the kernel computes them all: (t+kw-1)/kw times the FLOPs of im2col, but a
  t times wider output and about 3x less data to gather (LeNet-5: 1.45x faster training). Wide
  layers on 1-channel images (the first conv of every CNN here) get tiles of 2 for another reason:
  their im2col matmul contracts over only 9 or 25 values, and the tile deepens it. The Toeplitz
  gather's input gradient is summed row by row (`window_slices`), the same float sums as autodiff's,
  so that XLA:CPU computes it once rather than once per pixel of the pooling window after it.
`benchmarks/conv_lowering.py` re-measures the choice. Parameter names and shapes match
`flax.linen.Conv` ("kernel" HWIO, "bias"), so counts and checkpoints do not depend on the lowering.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

CONV_IMPLS = ("auto", "im2col", "toeplitz", "xla")
# A matmul output narrower than this many columns leaves the CPU's vector units idle (measured:
# LeNet-5's 6- and 16-filter convs), so the toeplitz lowering widens it to at least this.
MIN_MATMUL_COLUMNS = 32
# A matmul contracting over fewer values than this (the 3x3 or 5x5 window of a 1-channel image: 9 or
# 25) does too little work per output it writes; Toeplitz tiles of 2 columns make it deeper and
# measured 1.2-1.6x faster than im2col, forward and backward (BENCHMARKS.md, "Convolution lowering").
MIN_MATMUL_DEPTH = 32
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "sigmoid": nn.sigmoid,
    "tanh": nn.tanh,
}
Initializer = Callable[..., Any]
INITIALIZERS: dict[str, Initializer] = {
    # Keras' default for Conv2D and Dense.
    "glorot_uniform": nn.initializers.glorot_uniform(),
    "he_normal": nn.initializers.he_normal(),
    # Flax's default.
    "lecun_normal": nn.initializers.lecun_normal(),
    # PyTorch's default for Conv2d and Linear weights: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).
    "torch_default": nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform"),
}


def zeros_bias(fan_in: int) -> Initializer:
    """Keras' and flax's bias initialiser: zeros (fan_in unused)."""
    del fan_in
    return nn.initializers.zeros


def torch_bias(fan_in: int) -> Initializer:
    """PyTorch's nn.Linear / nn.Conv2d reset_parameters: bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


# A layer's bias initialiser from its fan-in, by the name of its kernel_init: "torch_default" means
# PyTorch's layer defaults, weights and biases both; every other scheme leaves the biases at zero.
BIAS_INITIALIZERS: dict[str, Callable[[int], Initializer]] = {
    name: torch_bias if name == "torch_default" else zeros_bias for name in INITIALIZERS
}


def resolve_conv_impl(conv_impl: str) -> str:
    """'auto' picks the matmul lowerings on CPU (toeplitz, which falls back to im2col for wide
    layers) and XLA's native convolution on GPU/TPU."""
    if conv_impl == "auto":
        return "toeplitz" if jax.default_backend() == "cpu" else "xla"
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


def toeplitz_tile(out_width: int, kernel_width: int, out_channels: int, window_inputs: int | None = None) -> int:
    """Output columns per Toeplitz tile; 1 means plain im2col (wide, deep layers and 1x1 kernels).

    Narrow layers: the smallest divisor t of out_width with t * out_channels >= MIN_MATMUL_COLUMNS,
    wide enough for the vector units with the least extra arithmetic ((t + kw - 1) / kw times
    im2col's). Wide but shallow layers (window_inputs = kh * kw * cin < MIN_MATMUL_DEPTH, e.g. a
    first layer on 1-channel images): the smallest of 2, 3, 4 that divides out_width (else im2col),
    which deepens the matmul to kh * (t + kw - 1) * cin.
    """
    if kernel_width == 1:
        return 1
    if out_channels >= MIN_MATMUL_COLUMNS:
        shallow = window_inputs is not None and window_inputs < MIN_MATMUL_DEPTH
        return next((t for t in (2, 3, 4) if out_width % t == 0), 1) if shallow else 1
    divisors = [t for t in range(1, out_width + 1) if out_width % t == 0]
    return next((t for t in divisors if t * out_channels >= MIN_MATMUL_COLUMNS), out_width)


def plain_window_slices(x: jax.Array, corners: tuple[tuple[int, int], ...], height: int, width: int) -> list[jax.Array]:
    """x[:, row : row + height, column : column + width, :] for each (row, column) corner (NHWC)."""
    return [x[:, row : row + height, column : column + width, :] for row, column in corners]


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def window_slices(x: jax.Array, corners: tuple[tuple[int, int], ...], height: int, width: int) -> list[jax.Array]:
    """plain_window_slices, with a gradient that XLA:CPU computes once per input pixel.

    Autodiff's gradient pads each slice's gradient back to x's shape and adds them in a chain. XLA:CPU
    fuses that chain into whatever consumes it, and when the consumer is a pooling's gradient (which
    spreads each value over its window) every pixel of the window computes the whole chain again:
    LeNet-5's second conv, 25 slices, summed 4 times over, 20 % of its train step at batch 128
    (BENCHMARKS.md, "LeNet-5's costliest op"). `_window_slices_backward` adds the same terms in the
    same order row by row and stacks the rows, which XLA does not fuse into the consumer when x has
    more than 8 rows (a concatenation of more than 8 operands): every float sum is unchanged (up to
    the sign of an exact zero), and so are results (tests/test_layers_and_models.py checks it).
    """
    return plain_window_slices(x, corners, height, width)


def _window_slices_forward(
    x: jax.Array, corners: tuple[tuple[int, int], ...], height: int, width: int
) -> tuple[list[jax.Array], tuple[int, ...]]:
    return plain_window_slices(x, corners, height, width), x.shape


def _window_slices_backward(
    corners: tuple[tuple[int, int], ...], height: int, width: int, x_shape: tuple[int, ...], slice_grads: list
) -> tuple[jax.Array]:
    batch, rows, columns, channels = x_shape
    grad_rows = []
    for row in range(rows):
        total = None
        # Autodiff's order: the last slice's gradient first, each next one added to the running sum.
        for (top, left), grad in reversed(list(zip(corners, slice_grads, strict=True))):
            if top <= row < top + height:
                term = jnp.pad(grad[:, row - top], ((0, 0), (left, columns - left - width), (0, 0)))
                total = term if total is None else total + term
        grad_rows.append(jnp.zeros((batch, columns, channels), slice_grads[0].dtype) if total is None else total)
    return (jnp.stack(grad_rows, axis=1),)


window_slices.defvjp(_window_slices_forward, _window_slices_backward)


def conv_toeplitz(x: jax.Array, kernel: jax.Array, padding: str, tile: int = 0) -> jax.Array:
    """NHWC x HWIO -> NHWC, stride 1, as one matmul of input blocks against a banded kernel matrix.

    Output row r, columns [c, c + tile) need the input block rows [r, r + kh) x columns
    [c, c + tile + kw - 1); `banded[(i, a, ci), (b, co)] = kernel[i, a - b, ci, co]` (zero off the
    band) maps such a block to its tile * cout outputs. tile=0 chooses it with `toeplitz_tile`.
    """
    kh, kw, cin, cout = kernel.shape
    if padding == "SAME":
        x = jnp.pad(x, ((0, 0), _same_padding(kh), _same_padding(kw), (0, 0)))
    n, h, w, _ = x.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    tile = tile or toeplitz_tile(out_w, kw, cout, kh * kw * cin)
    if tile == 1:
        return conv_im2col(x, kernel, "VALID")
    window = tile + kw - 1
    corners = tuple((i, start) for start in range(0, out_w, tile) for i in range(kh))
    pieces = window_slices(x, corners, out_h, window)  # tile by tile, kernel row by kernel row
    blocks = jnp.stack(
        [jnp.stack(pieces[first : first + kh], axis=2) for first in range(0, len(pieces), kh)], axis=2
    )  # (n, out_h, tiles, kh, window, cin)
    shift = np.zeros((kw, window, tile), np.float32)  # shift[j, a, b] = 1 where input column a = b + j
    for j in range(kw):
        shift[j, np.arange(tile) + j, np.arange(tile)] = 1.0
    banded = jnp.einsum("jab,ijco->iacbo", shift.astype(kernel.dtype), kernel).reshape(kh * window * cin, tile * cout)
    out = blocks.reshape(-1, kh * window * cin) @ banded
    return out.reshape(n, out_h, out_w, cout)


def conv_xla(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
    """NHWC x HWIO -> NHWC, stride 1, with XLA's native convolution."""
    kh, kw = kernel.shape[:2]
    pads = [_same_padding(kh), _same_padding(kw)] if padding == "SAME" else [(0, 0), (0, 0)]
    return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def conv_lowering(conv_impl: str) -> Callable[[jax.Array, jax.Array, str], jax.Array]:
    """The function (x, kernel, padding) -> y that computes a convolution for conv_impl on this backend."""
    return {"im2col": conv_im2col, "toeplitz": conv_toeplitz, "xla": conv_xla}[resolve_conv_impl(conv_impl)]


class Conv(nn.Module):
    """2-D convolution, stride 1, 'SAME' or 'VALID' padding, with a bias; NHWC."""

    features: int
    kernel_size: int
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: Initializer = nn.initializers.lecun_normal()
    bias_init: Callable[[int], Initializer] = zeros_bias  # fan_in -> initializer
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = (self.kernel_size, self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", self.kernel_init, shape)
        y = conv_lowering(self.conv_impl)(x, kernel, self.padding)
        if self.use_bias:
            fan_in = self.kernel_size * self.kernel_size * x.shape[-1]
            y = y + self.param("bias", self.bias_init(fan_in), (self.features,))
        return y


class Dense(nn.Module):
    """x @ kernel + bias, as flax.linen.Dense (same parameter names and numerics), with a bias
    initialiser that knows the fan-in (PyTorch's nn.Linear draws its bias from it)."""

    features: int
    kernel_init: Initializer = nn.initializers.lecun_normal()
    bias_init: Callable[[int], Initializer] = zeros_bias  # fan_in -> initializer

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (fan_in, self.features))
        bias = self.param("bias", self.bias_init(fan_in), (self.features,))
        return lax.dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ()))) + bias


def _pool(x: jax.Array, window: int, reduce: Callable[..., jax.Array]) -> jax.Array:
    # A reshape + reduce instead of lax.reduce_window: its gradient (select_and_scatter) is 2x
    # slower on XLA:CPU. Odd sides are floored, like Keras' 'valid' pooling.
    n, h, w, c = x.shape
    x = x[:, : h // window * window, : w // window * window, :].reshape(n, h // window, window, w // window, window, c)
    return reduce(x, axis=(2, 4))


class MaxPool(nn.Module):
    """window x window max pooling, stride window, 'valid' (default 2x2)."""

    window: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _pool(x, self.window, jnp.max)


class AvgPool(nn.Module):
    """window x window average pooling, stride window, 'valid' (default 2x2)."""

    window: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _pool(x, self.window, jnp.mean)


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
