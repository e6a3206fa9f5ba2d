"""fmnist_jax.dropout: the same masks as flax's Dropout, bit for bit, drawn without JAX's rolled loop on CPU."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from benchmarks import common
from conftest import normal
from fmnist_jax import dropout


def _apply(module_class, x, key, rate, **fields):
    return module_class(rate, **fields).apply({}, x, deterministic=False, rngs={"dropout": key})


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.25, 0.5])
@pytest.mark.parametrize("shape", [(128, 14, 14, 32), (3, 7, 5), (1,)])
@pytest.mark.parametrize("typed_key", [False, True])
def test_masks_are_flax_dropouts_bit_for_bit(rate, shape, typed_key):
    key = jax.random.key(11) if typed_key else jax.random.PRNGKey(11)
    x = normal(0, *shape) + 3.0  # no zeros: a dropped value reads 0
    ours, theirs = _apply(dropout.Dropout, x, key, rate), _apply(nn.Dropout, x, key, rate)
    np.testing.assert_array_equal(ours, theirs)
    kept = np.asarray(ours) != 0
    assert 0 < kept.mean() < 1 or x.size == 1


def test_broadcast_dims_gradients_and_members_match_flax():
    x = normal(1, 4, 6, 6, 8)
    key = jax.random.PRNGKey(5)

    def broadcast(module_class):  # jitted, as a model draws its masks: one program, not one per primitive
        return jax.jit(lambda x, key: _apply(module_class, x, key, 0.3, broadcast_dims=(1, 2)))(x, key)

    np.testing.assert_array_equal(broadcast(dropout.Dropout), broadcast(nn.Dropout))

    def grad(module_class):
        return jax.jit(jax.grad(lambda x, key: (_apply(module_class, x, key, 0.25) ** 2).sum()))(x, key)

    np.testing.assert_array_equal(grad(dropout.Dropout), grad(nn.Dropout))
    keys = jax.random.split(key, 3)  # three members, as an ensemble draws them under vmap or map
    members = jnp.stack([x, x + 1, x - 1])
    for over in (jax.vmap, lambda f: lambda xs, ks: jax.lax.map(lambda a: f(*a), (xs, ks))):

        def outputs(module_class, over=over):
            return jax.jit(over(lambda x, key: _apply(module_class, x, key, 0.25)))(members, keys)

        np.testing.assert_array_equal(outputs(dropout.Dropout), outputs(nn.Dropout))


def test_random_bits_are_jax_random_bits():
    key = jax.random.PRNGKey(123)
    np.testing.assert_array_equal(dropout.random_bits(key, (5, 9)), jax.random.bits(key, (5, 9)))


def test_cpu_draw_has_no_rolled_loop_and_other_generators_fall_back():
    # JAX's own threefry on CPU is a while loop over the mask; the unrolled draw has none.
    key, shape = jax.random.PRNGKey(0), (64, 32)
    assert jax.default_backend() == "cpu"
    ours = jax.jit(lambda k: dropout.bernoulli(k, 0.75, shape)).lower(key).compile().as_text()
    jaxs = jax.jit(lambda k: jax.random.bernoulli(k, 0.75, shape)).lower(key).compile().as_text()
    assert " while(" in jaxs and " while(" not in ours
    x = jnp.ones(shape)
    for key_of_flax in (jax.random.PRNGKey(0), jax.random.key(0)):  # through flax's make_rng, as models draw
        # make_rng's fold-in of the module's path is a (scalar) threefry loop too: one loop fewer, the mask's.
        def loops(key_of_flax: jax.Array = key_of_flax) -> int:
            program = jax.jit(lambda k, x: _apply(dropout.Dropout, x, k, 0.25)).lower(key_of_flax, x)
            return program.compile().as_text().count(" while(")

        with dropout.jax_draw_only():
            with_jaxs_draw = loops()
        assert loops() == with_jaxs_draw - 1
    rbg = jax.random.key(3, impl="rbg")
    np.testing.assert_array_equal(dropout.bernoulli(rbg, 0.5, shape), jax.random.bernoulli(rbg, 0.5, shape))


def test_deterministic_and_edge_rates():
    x = jnp.arange(12.0).reshape(3, 4)
    assert dropout.Dropout(0.5).apply({}, x, deterministic=True) is x
    np.testing.assert_array_equal(_apply(dropout.Dropout, x, jax.random.PRNGKey(0), 1.0), jnp.zeros_like(x))
    np.testing.assert_array_equal(_apply(dropout.Dropout, x, jax.random.PRNGKey(0), 0.0), x)


def test_a_real_cnn_epoch_ends_with_the_same_parameters_either_draw(fashion_mnist):
    # CNN-A (three dropout layers) for 20 steps on 640 real images: JAX's draw (flax's) and the unrolled
    # one give bit-identical parameters, so runs and committed results do not depend on the draw.
    images = jax.device_put(fashion_mnist.train_images[:640])
    labels = jax.device_put(fashion_mnist.train_labels[:640])
    # (benchmarks.dropout_draw is not imported here: its absl flags would clash with other benchmarks'.)
    with dropout.jax_draw_only():
        jaxs_draw = common.one_epoch_parameters("baseline", images, labels)
    unrolled = common.one_epoch_parameters("baseline", images, labels)
    assert all(np.array_equal(a, b) for a, b in zip(jaxs_draw, unrolled, strict=True))
    with dropout.jax_draw_only():
        jaxs = jax.jit(lambda k: dropout.bernoulli(k, 0.75, (8, 8))).lower(jax.random.PRNGKey(0)).as_text()
    assert "threefry" in jaxs and not dropout._JAX_DRAW_ONLY[0]  # JAX's own draw within, ours again after
