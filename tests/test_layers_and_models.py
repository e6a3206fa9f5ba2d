"""Param counts of the reports, and the conv/pool lowerings against XLA's own ops."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from conftest import normal, small_config
from fmnist_jax import describe, layers
from fmnist_jax.models import build_model

# Param counts of every config: tests/test_configs.py.


def test_describe_prints_keras_style_summary():
    text = describe.summary(small_config("variant_bn"))
    lines = text.splitlines()
    assert lines[-1] == "Total params: 225,930"
    assert "Trainable params: 225,482" in lines and "Non-trainable params: 448" in lines
    assert any(
        line.startswith("Conv_0 (Conv)") and "(None, 26, 26, 32)" in line and line.endswith("320") for line in lines
    )
    assert any("Flatten_0 (Flatten)" in line and "(None, 1600)" in line for line in lines)


LOWERINGS = {
    "im2col": layers.conv_im2col,
    "toeplitz": layers.conv_toeplitz,  # its own tile choice: im2col for the wide ones below
    "toeplitz_tile3": lambda x, k, p: layers.conv_toeplitz(x, k, p, tile=3),
    "toeplitz_tile9": lambda x, k, p: layers.conv_toeplitz(x, k, p, tile=9),
}


@pytest.mark.parametrize("lowering", sorted(LOWERINGS))
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("kernel_size,cin,cout", [(3, 1, 8), (5, 6, 16), (3, 3, 5), (1, 4, 2), (5, 1, 40)])
def test_matmul_conv_lowerings_match_xla_conv(lowering, padding, kernel_size, cin, cout):
    width = 9 + kernel_size - 1 if padding == "VALID" else 9  # output width 9: tiles of 3 and 9 divide it
    x, kernel = normal(0, 2, 11, width, cin), normal(1, kernel_size, kernel_size, cin, cout)
    expected = layers.conv_xla(x, kernel, padding)
    np.testing.assert_allclose(LOWERINGS[lowering](x, kernel, padding), expected, rtol=1e-4, atol=1e-4)
    # 'SAME' follows Keras/TensorFlow: the output keeps the input's size.
    if padding == "SAME":
        assert expected.shape == (2, 11, 9, cout)


@pytest.mark.parametrize("lowering", ["im2col", "toeplitz_tile3"])
def test_conv_gradients_match_between_lowerings(lowering):
    x, kernel = normal(1, 3, 9, 9, 4), normal(2, 3, 3, 4, 6)

    def loss(lower, x, k):
        return jnp.sum(jnp.tanh(lower(x, k, "SAME")))

    for argnum in (0, 1):  # gradients for the input and for the kernel
        np.testing.assert_allclose(
            jax.grad(lambda *a: loss(LOWERINGS[lowering], *a), argnums=argnum)(x, kernel),
            jax.grad(lambda *a: loss(layers.conv_xla, *a), argnums=argnum)(x, kernel),
            rtol=1e-4,
            atol=1e-4,
        )


@pytest.mark.parametrize(
    "out_width,kernel_width,out_channels,expected",
    [(28, 5, 6, 7), (10, 5, 16, 2), (26, 3, 32, 1), (28, 1, 16, 1), (5, 3, 2, 5)],
)
def test_toeplitz_tile_widens_narrow_layers_only(out_width, kernel_width, out_channels, expected):
    # LeNet-5's convs (6 and 16 filters) get tiles of 7 and 2 columns; 32+ filters and 1x1 kernels stay im2col.
    assert layers.toeplitz_tile(out_width, kernel_width, out_channels) == expected


@pytest.mark.parametrize(
    "out_width,kernel_width,out_channels,window_inputs,expected",
    [
        (28, 3, 32, 9, 2),
        (26, 3, 32, 9, 2),
        (28, 5, 32, 25, 2),
        (27, 3, 32, 9, 3),
        (7, 3, 32, 9, 1),
        (14, 3, 64, 288, 1),
    ],
)
def test_toeplitz_tile_deepens_wide_layers_on_one_channel_images(
    out_width, kernel_width, out_channels, window_inputs, expected
):
    # The first conv of every CNN here (3x3 or 5x5 on 1 channel: 9 or 25 inputs per window) gets tiles of 2;
    # deep windows (a 3x3 over 32 channels: 288) stay im2col, and so does a width no small tile divides.
    assert layers.toeplitz_tile(out_width, kernel_width, out_channels, window_inputs) == expected


def test_the_first_conv_of_a_cnn_is_lowered_with_toeplitz_tiles_of_two():
    x, kernel = normal(0, 2, 28, 28, 1), normal(1, 3, 3, 1, 32)
    hlo = jax.jit(lambda x, k: layers.conv_toeplitz(x, k, "SAME")).lower(x, kernel).as_text()
    assert "tensor<784x12xf32>" in hlo  # 2 x 14 rows x 14 tiles of 3 x (2 + 3 - 1) inputs: the deepened matmul
    np.testing.assert_allclose(
        layers.conv_toeplitz(x, kernel, "SAME"), layers.conv_xla(x, kernel, "SAME"), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("kernel_size,tile,rows", [(5, 2, 14), (5, 7, 28), (3, 3, 11)])
def test_window_slices_gradient_is_autodiffs_bit_for_bit(fashion_mnist, kernel_size, tile, rows):
    # The Toeplitz gather's own gradient (a row-by-row sum, so that XLA:CPU computes it once) must add
    # autodiff's terms in autodiff's order: otherwise every LeNet-5 result would change in its last bits.
    # LeNet-5's second conv (14 rows, tiles of 2), a full image in tiles of 7, a 3x3 kernel on 11 rows.
    images = fashion_mnist.train_images[:3, :rows, :rows, None].astype(np.float32) / 255.0
    x = np.repeat(images, 2, axis=-1)  # two channels
    out_size = rows - kernel_size + 1
    out_size -= out_size % tile
    corners = tuple((i, start) for start in range(0, out_size, tile) for i in range(kernel_size))
    height, width = out_size, tile + kernel_size - 1
    grads = [normal(seed, 3, height, width, 2) for seed in range(len(corners))]

    def input_gradient(slices):
        return jax.jit(lambda x, g: jax.vjp(lambda x: slices(x, corners, height, width), x)[1](g)[0])(x, grads)

    ours = input_gradient(layers.window_slices)
    np.testing.assert_array_equal(ours, input_gradient(layers.plain_window_slices))
    covered = np.zeros(x.shape[1:3], bool)
    for top, left in corners:
        covered[top : top + height, left : left + width] = True
    assert np.all(np.asarray(ours)[:, covered] != 0) and np.all(np.asarray(ours)[:, ~covered] == 0)
    top, left = corners[-1]
    last = layers.window_slices(x, corners, height, width)[-1]
    np.testing.assert_array_equal(last, x[:, top : top + height, left : left + width])


@pytest.mark.parametrize("window", [2, 4])
@pytest.mark.parametrize("side", [26, 13, 11])
def test_pooling_matches_flax_valid_pooling(side, window):
    x = normal(0, 2, side, side, 3)
    shape = (window, window)
    np.testing.assert_allclose(layers.MaxPool(window).apply({}, x), nn.max_pool(x, shape, shape), rtol=1e-6)
    np.testing.assert_allclose(layers.AvgPool(window).apply({}, x), nn.avg_pool(x, shape, shape), rtol=1e-6)


@pytest.mark.parametrize("name", ["variant_bn", "b_lenet5"])
def test_model_output_is_the_same_for_every_conv_lowering(name):
    config = small_config(name)
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype(np.float32)
    config.conv_impl = "xla"
    # Jitted: one program each; op by op compiles every primitive of the model (about 1.5x the time here).
    variables = jax.jit(lambda x: build_model(config).init(jax.random.PRNGKey(0), x, train=False))(x)
    out_xla = jax.jit(lambda v, x: build_model(config).apply(v, x, train=False))(variables, x)
    for impl in ("im2col", "toeplitz"):
        config.conv_impl = impl
        out = jax.jit(lambda v, x: build_model(config).apply(v, x, train=False))(variables, x)
        np.testing.assert_allclose(out, out_xla, rtol=1e-4, atol=1e-5)
