"""Winograd F(2x2, 3x3) for 3x3 convolutions, stride 1: a lowering tried on CPU and not adopted.

`benchmarks.winograd` times it against im2col (fmnist_jax.layers.conv_im2col) and BENCHMARKS.md
("Winograd F(2x2, 3x3)") says why the engine does not use it. Kept apart from the CLI (which defines
absl flags) so that tests import it alone. Each 2x2 block of outputs comes from a 4x4 block of inputs
with 16 products instead of 36: the convolution becomes 16 matmuls of (tiles, cin) x (cin, cout),
2.25x fewer multiplications than im2col's one (pixels, 9 cin) x (9 cin, cout) matmul. A custom VJP:
the input gradient is the Winograd convolution of the padded output gradient with the flipped kernel,
the kernel gradient 16 matmuls in the transformed domain.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common

# (model, height = width of the layer's input, cin, cout, padding): the 3x3 convolutions past the
# first layer of the CNNs here (BENCHMARKS.md, "Layer by layer").
SHAPES = (
    ("cnn_a", 13, 32, 64, "VALID"),
    ("cnn_d / block_cnn", 14, 32, 64, "SAME"),
    ("block_cnn", 7, 64, 128, "SAME"),
    ("block_cnn", 3, 128, 256, "SAME"),
)

# F(2x2, 3x3) (Lavin and Gray, 2015): Y = A^T [(G g G^T) * (B^T d B)] A, per 4x4 input tile d.
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)


def _input_rows(x: jax.Array, axis: int, tiles: int) -> list[jax.Array]:
    """B^T along `axis` (extent 2 * tiles + 2): for every tile t the 4 combinations of inputs 2t..2t+3,
    each a contiguous slice of x reshaped to (tiles + 1, 2) along that axis."""
    shape = x.shape[:axis] + (tiles + 1, 2) + x.shape[axis + 1 :]
    pairs = x.reshape(shape)

    def take(block: int, phase: int) -> jax.Array:
        index: list[Any] = [slice(None)] * len(shape)
        index[axis], index[axis + 1] = slice(block, block + tiles), phase
        return pairs[tuple(index)]

    x0, x1, x2, x3 = take(0, 0), take(0, 1), take(1, 0), take(1, 1)
    return [x0 - x2, x1 + x2, x2 - x1, x1 - x3]


def _output_rows(m: jax.Array) -> jax.Array:
    """A^T along the leading axis (4 -> 2)."""
    return jnp.stack([m[0] + m[1] + m[2], m[1] - m[2] - m[3]])


def _output_rows_transposed(d0: jax.Array, d1: jax.Array) -> list[jax.Array]:
    """A along one axis (2 -> 4): the transpose of _output_rows, for the backward pass."""
    return [d0, d0 + d1, d0 - d1, -d1]


def _tiles(height: int, width: int) -> tuple[int, int, int, int]:
    """(out_height, out_width, tile rows, tile columns) of a VALID 3x3 convolution, 2x2 outputs a tile."""
    out_h, out_w = height - 2, width - 2
    return out_h, out_w, -(-out_h // 2), -(-out_w // 2)


def _winograd_valid(x: jax.Array, kernel: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(VALID 3x3 convolution of x, the transformed input tiles kept for the kernel gradient)."""
    n, h, w, cin = x.shape
    cout = kernel.shape[-1]
    out_h, out_w, tiles_h, tiles_w = _tiles(h, w)
    x = jnp.pad(x, ((0, 0), (0, 2 * tiles_h + 2 - h), (0, 2 * tiles_w + 2 - w), (0, 0)))
    rows = _input_rows(x, 1, tiles_h)
    tiles = jnp.stack([col for row in rows for col in _input_rows(row, 2, tiles_w)])
    tiles = tiles.reshape(16, n * tiles_h * tiles_w, cin)
    kernel_t = jnp.einsum("ua,abio,vb->uvio", _G, kernel, _G).reshape(16, cin, cout)
    products = jnp.einsum("tpc,tco->tpo", tiles, kernel_t).reshape(4, 4, n, tiles_h, tiles_w, cout)
    y = _output_rows(jnp.moveaxis(_output_rows(products), 1, 0))  # (q, p, n, tile row, tile column, cout)
    y = y.transpose(2, 3, 1, 4, 0, 5).reshape(n, 2 * tiles_h, 2 * tiles_w, cout)
    return y[:, :out_h, :out_w], tiles


@jax.custom_vjp
def _conv_winograd_valid(x: jax.Array, kernel: jax.Array) -> jax.Array:
    return _winograd_valid(x, kernel)[0]


def _forward(x: jax.Array, kernel: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array, tuple[int, ...]]]:
    y, tiles = _winograd_valid(x, kernel)
    return y, (tiles, kernel, x.shape)


def _backward(residuals: tuple[jax.Array, jax.Array, tuple[int, ...]], dy: jax.Array) -> tuple[jax.Array, jax.Array]:
    tiles, kernel, (n, h, w, cin) = residuals
    out_h, out_w, tiles_h, tiles_w = _tiles(h, w)
    dy_tiled = jnp.pad(dy, ((0, 0), (0, 2 * tiles_h - out_h), (0, 2 * tiles_w - out_w), (0, 0)))
    dy_tiled = dy_tiled.reshape(n, tiles_h, 2, tiles_w, 2, -1)
    rows = _output_rows_transposed(dy_tiled[:, :, 0], dy_tiled[:, :, 1])
    d_products = jnp.stack([col for row in rows for col in _output_rows_transposed(row[:, :, :, 0], row[:, :, :, 1])])
    d_products = d_products.reshape(16, n * tiles_h * tiles_w, -1)
    d_kernel_t = jnp.einsum("tpc,tpo->tco", tiles, d_products).reshape(4, 4, cin, -1)
    d_kernel = jnp.einsum("ua,uvio,vb->abio", _G, d_kernel_t, _G)
    # The input gradient of a VALID correlation: the full correlation of dy with the flipped kernel.
    flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
    dx = _winograd_valid(jnp.pad(dy, ((0, 0), (2, 2), (2, 2), (0, 0))), flipped)[0]
    return dx, d_kernel


_conv_winograd_valid.defvjp(_forward, _backward)


def conv_winograd(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
    """NHWC x HWIO (3x3) -> NHWC, stride 1, 'SAME' or 'VALID', by Winograd F(2x2, 3x3)."""
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"conv_winograd: kernel must be 3x3, got {kernel.shape[:2]}")
    if padding == "SAME":
        x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return _conv_winograd_valid(x, kernel)


def max_relative_errors(x: jax.Array, kernel: jax.Array, padding: str) -> dict[str, float]:
    """conv_winograd against XLA's convolution: max |difference| / max |reference| of the output and of
    the input and kernel gradients of sum(sin(conv))."""
    return common.conv_relative_errors(conv_winograd, x, kernel, padding)
