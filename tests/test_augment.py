"""Augmentations keep shape and dtype, are deterministic per key, and the identity leaves images alone."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fmnist_jax import augment
from fmnist_jax.errors import ConfigError
from fmnist_jax.train import to_model_input

SPECS = {
    "shift": augment.AugmentSpec(shift_px=3),
    "rotation": augment.AugmentSpec(rotation_deg=20),
    "zoom": augment.AugmentSpec(zoom=0.2),
    "flip": augment.AugmentSpec(flip_horizontal=True),
    "flip_vertical": augment.AugmentSpec(flip_vertical=True),
    "noise": augment.AugmentSpec(noise_std=0.1),
    "erase": augment.AugmentSpec(erase_prob=1.0),
    "all": augment.AugmentSpec(
        shift_px=2, rotation_deg=10, zoom=0.1, flip_horizontal=True, noise_std=0.05, erase_prob=0.5
    ),
}


@pytest.fixture(scope="module")
def batch(fashion_mnist):
    return to_model_input(jnp.asarray(fashion_mnist.test_images[:16]))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shape_dtype_determinism_and_change(name, batch):
    spec = SPECS[name]
    key = jax.random.PRNGKey(3)
    out = augment.augment_batch(batch, key, spec)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    np.testing.assert_array_equal(out, augment.augment_batch(batch, key, spec))
    assert not np.array_equal(out, augment.augment_batch(batch, jax.random.PRNGKey(4), spec))
    assert not np.array_equal(out, batch)


def test_identity_settings_leave_images_unchanged(batch):
    out = augment.augment_batch(batch, jax.random.PRNGKey(0), augment.AugmentSpec())
    np.testing.assert_array_equal(out, batch)
    # Geometric settings at a zero draw are the identity too (zoom 1, no shift, no angle).
    image = batch[0, ..., 0]
    same = augment._affine(image, jax.random.PRNGKey(0), augment.AugmentSpec(shift_px=0.0, rotation_deg=0.0))
    np.testing.assert_allclose(same, image, atol=1e-6)


def test_flip_mirrors_and_shift_moves_content(batch):
    flipped = augment.augment_batch(batch, jax.random.PRNGKey(0), SPECS["flip"])
    for original, out in zip(batch[..., 0], flipped[..., 0], strict=True):
        assert np.array_equal(out, original) or np.array_equal(out, original[:, ::-1])
    assert any(not np.array_equal(o, i) for o, i in zip(flipped, batch, strict=True))
    shifted = augment.augment_batch(batch, jax.random.PRNGKey(0), SPECS["shift"])
    # A shift moves content without creating any: pixel mass only shrinks, by what leaves the frame.
    assert float(jnp.sum(shifted)) <= float(jnp.sum(batch)) * 1.001


def test_vertical_flip_turns_images_upside_down_after_the_rotation(batch):
    flipped = augment.augment_batch(batch, jax.random.PRNGKey(0), SPECS["flip_vertical"])
    for original, out in zip(batch[..., 0], flipped[..., 0], strict=True):
        assert np.array_equal(out, original) or np.array_equal(out, original[::-1, :])
    assert any(not np.array_equal(o, i) for o, i in zip(flipped, batch, strict=True))
    # Rotation then flip: each output is the rotated image (the same draw as rotation alone), or it upside down.
    rotate = augment.AugmentSpec(rotation_deg=30)
    key = jax.random.PRNGKey(5)
    both = augment.augment_batch(batch, key, augment.AugmentSpec(rotation_deg=30, flip_vertical=True))[..., 0]
    rotated = augment.augment_batch(batch, key, rotate)[..., 0]
    num_flipped = 0
    for rot, out in zip(rotated, both, strict=True):
        upside_down = np.array_equal(out, rot[::-1, :])
        assert upside_down or np.array_equal(out, rot)
        num_flipped += upside_down and not np.array_equal(rot, rot[::-1, :])
    assert 0 < num_flipped < len(rotated)


def test_report_a_augmentation_is_rotation_vertical_flip_and_noise():
    from conftest import small_config

    spec = augment.spec_from_config(small_config("a_augment").augment)
    assert spec.flip_vertical and not spec.flip_horizontal
    assert spec.rotation_deg > 0 and spec.noise_std == pytest.approx(0.1)


def test_noise_has_the_requested_spread(batch):
    noisy = augment.augment_batch(batch, jax.random.PRNGKey(0), augment.AugmentSpec(noise_std=0.1))
    np.testing.assert_allclose(float(jnp.std(noisy - batch)), 0.1, rtol=0.05)


def test_erasing_zeroes_one_rectangle(batch):
    erased = np.asarray(augment.augment_batch(batch, jax.random.PRNGKey(1), SPECS["erase"]))[..., 0]
    originals = np.asarray(batch)[..., 0]
    num_changed = 0
    for out, original in zip(erased, originals, strict=True):
        changed = out != original
        if not changed.any():  # the rectangle fell on background only
            continue
        num_changed += 1
        rows, cols = np.nonzero(changed)
        box = out[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert np.all(box == 0), "every changed pixel lies in one all-zero rectangle"
        assert box.size <= 0.3 * out.size  # erase_max_area 0.25, plus rounding of the sides
    assert num_changed >= len(erased) // 2


def test_unknown_or_negative_settings_are_config_errors():
    with pytest.raises(ConfigError, match="augment.rotate is unknown"):
        augment.spec_from_config({"rotate": 10})
    with pytest.raises(ConfigError, match="augment.noise_std=-0.1 must be >= 0"):
        augment.spec_from_config({"noise_std": -0.1})
