"""Dropout with the very masks of `flax.linen.Dropout`, drawn faster on CPU.

Why: on CPU, JAX lowers its threefry hash (the generator behind `jax.random.bernoulli`) as a rolled
loop of 5 iterations over the whole mask, each writing and reading it back from memory. The same
hash written out in jnp ops (20 rounds of add, rotate, xor) is one vectorised elementwise loop. The
masks are bit for bit those of `flax.linen.Dropout` with the same key (tests check it), and so is a
whole epoch of every config in configs/ (measured 2026-11-30: the same parameters after an epoch on
2,048 real images; `benchmarks.dropout_draw` checks the configs it times), so results made before
this module are what it would give; only the time differs (BENCHMARKS.md, "Dropout masks").

Everywhere else the draw is `jax.random.bernoulli` itself: on GPUs and TPUs (whose threefry is
already unrolled or a kernel), for a key of another generator (rbg), or with
`jax_threefry_partitionable` off (another counter layout).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

# Threefry-2x32 (Salmon et al. 2011, as jax/_src/random/threefry2x32.py computes it): 5 groups of 4
# rounds, the rotation amounts alternating between the two rows, a key injection after each group.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_KEY_PARITY = np.uint32(0x1BD11BDA)


def _rotate_left(value: jax.Array, bits: int) -> jax.Array:
    return lax.shift_left(value, np.uint32(bits)) | lax.shift_right_logical(value, np.uint32(32 - bits))


def threefry2x32(key_1: jax.Array, key_2: jax.Array, count_1: jax.Array, count_2: jax.Array) -> tuple[jax.Array, ...]:
    """The Threefry-2x32 hash of the counter pairs (count_1, count_2) under the key (key_1, key_2),
    unrolled: the same uint32 outputs as JAX's threefry2x32 primitive."""
    keys = (key_1, key_2, key_1 ^ key_2 ^ _KEY_PARITY)
    x_1, x_2 = count_1 + keys[0], count_2 + keys[1]
    for group in range(5):
        for rotation in _ROTATIONS[group % 2]:
            x_1 = x_1 + x_2
            x_2 = x_1 ^ _rotate_left(x_2, rotation)
        x_1 = x_1 + keys[(group + 1) % 3]
        x_2 = x_2 + keys[(group + 2) % 3] + np.uint32(group + 1)
    return x_1, x_2


def _threefry_key_words(key: jax.Array) -> jax.Array | None:
    """The key's two uint32 words when it is a threefry key, else None (another generator)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key) if "threefry" in str(jax.random.key_impl(key)) else None
    default_impl = getattr(jax.config, "jax_default_prng_impl", None)  # None: unknown, so JAX's own draw
    if key.dtype == jnp.uint32 and key.shape == (2,) and default_impl == "threefry2x32":
        return key  # a raw (legacy) key of the default generator, as flax's make_rng returns
    return None


def random_bits(words: jax.Array, shape: Sequence[int]) -> jax.Array:
    """`jax.random.bits(key, shape)` (uint32) for the threefry key whose two words are `words`, with the
    counter layout of `jax_threefry_partitionable` (JAX's default): element i of the flattened shape
    hashes the 64-bit counter i, split into its high word (0 here) and low word; the bits are the
    hash's two outputs xor-ed."""
    size = math.prod(shape)
    if size >= 2**32:
        raise ValueError(f"random_bits: {size} values need 64-bit counters; draw fewer than 2**32 at once.")
    counts = lax.iota(jnp.uint32, size).reshape(shape)

    def hash_counts(counts: jax.Array) -> jax.Array:
        bits_1, bits_2 = threefry2x32(words[0], words[1], jnp.zeros_like(counts), counts)
        return bits_1 ^ bits_2

    # The hash runs in a branch of its own, behind a condition XLA cannot decide at compile time and
    # that is always true: a branch's result is kept in memory, so the backward pass reads the mask.
    # As a plain chain of elementwise ops XLA:CPU fuses the hash into the gradient's select as well,
    # computes it twice, and the second time in a slow loop (optimization_barrier does not prevent it:
    # XLA:CPU removes barriers before fusion). Measured: the branch is what makes the change pay.
    always = (words[0] | np.uint32(1)) != np.uint32(0)
    return lax.cond(always, hash_counts, jnp.zeros_like, counts)


_JAX_DRAW_ONLY = [False]  # set by jax_draw_only(): what the unrolled draw is compared against


@contextlib.contextmanager
def jax_draw_only() -> Iterator[None]:
    """Within it, masks traced are drawn by `jax.random.bernoulli` itself, as `flax.linen.Dropout`
    draws them: the baseline of benchmarks.dropout_draw and of the tests."""
    _JAX_DRAW_ONLY[0] = True
    try:
        yield
    finally:
        _JAX_DRAW_ONLY[0] = False


def _unrolled_key_words(key: jax.Array) -> jax.Array | None:
    """The key's two words where the unrolled draw applies (CPU, threefry, partitionable counters), else None."""
    if _JAX_DRAW_ONLY[0] or jax.default_backend() != "cpu":
        return None
    if not getattr(jax.config, "jax_threefry_partitionable", False):
        return None
    return _threefry_key_words(key)


def bernoulli(key: jax.Array, p: float, shape: Sequence[int]) -> jax.Array:
    """`jax.random.bernoulli(key, p, shape)`, bit for bit; on CPU with the unrolled hash."""
    words = _unrolled_key_words(key)
    if words is None:
        return jax.random.bernoulli(key, p, shape)
    bits = random_bits(words, shape)
    # jax.random.uniform's float32 in [0, 1): 23 random mantissa bits under the exponent of 1.0, minus 1.
    mantissa = lax.shift_right_logical(bits, np.uint32(32 - 23))
    uniform = lax.bitcast_convert_type(mantissa | np.float32(1.0).view(np.uint32), jnp.float32) - np.float32(1.0)
    return uniform < np.float32(p)


class Dropout(nn.Module):
    """`flax.linen.Dropout` (same fields, same masks from the same key), with `bernoulli` above."""

    rate: float
    broadcast_dims: Sequence[int] = ()
    deterministic: bool | None = None
    rng_collection: str = "dropout"

    @nn.compact
    def __call__(self, inputs: jax.Array, deterministic: bool | None = None) -> jax.Array:
        deterministic = nn.merge_param("deterministic", self.deterministic, deterministic)
        if self.rate == 0.0 or deterministic:
            return inputs
        if self.rate == 1.0:  # as flax: no division by a keep probability of zero
            return jnp.zeros_like(inputs)
        keep_prob = 1.0 - self.rate
        rng = self.make_rng(self.rng_collection)
        mask_shape = [1 if dim in self.broadcast_dims else size for dim, size in enumerate(inputs.shape)]
        mask = jnp.broadcast_to(bernoulli(rng, keep_prob, mask_shape), inputs.shape)
        return lax.select(mask, inputs / keep_prob, jnp.zeros_like(inputs))
