"""On-device, per-example random augmentations, inside the jitted train step (train split only).

Each example gets its own key, so a batch's augmentation is reproducible from the step's key and
independent of the batch size of the other examples. Geometric ones (shift, rotation, zoom) are
one affine resample with bilinear interpolation and zero fill; then flip, noise and erasing.
With every setting at its identity value the images are returned untouched.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy import ndimage

from fmnist_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class AugmentSpec:
    """Static augmentation settings (hashable, so a jitted epoch compiles once per setting)."""

    shift_px: float = 0.0  # max shift, pixels, each axis, uniform in [-shift_px, shift_px]
    rotation_deg: float = 0.0  # max rotation, degrees, uniform in [-rotation_deg, rotation_deg]
    zoom: float = 0.0  # max relative zoom: scale uniform in [1 - zoom, 1 + zoom]
    flip_horizontal: bool = False  # mirror left-right with probability 1/2
    flip_vertical: bool = False  # mirror upside down with probability 1/2 (Report A's flip)
    noise_std: float = 0.0  # additive Gaussian noise on [0, 1] pixels (Report A: variance 0.01 -> 0.1)
    erase_prob: float = 0.0  # random erasing: probability per image
    erase_max_area: float = 0.25  # largest erased fraction of the image (smallest: 0.02)

    @property
    def is_identity(self) -> bool:
        return not (
            self.shift_px
            or self.rotation_deg
            or self.zoom
            or self.flip_horizontal
            or self.flip_vertical
            or self.noise_std
            or self.erase_prob
        )

    @property
    def is_geometric(self) -> bool:
        return bool(self.shift_px or self.rotation_deg or self.zoom)


def spec_from_config(augment_config: Any) -> AugmentSpec:
    """config.augment -> AugmentSpec; unknown or out-of-range fields raise ConfigError."""
    fields = {f.name for f in dataclasses.fields(AugmentSpec)}
    values = dict(augment_config)
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(
            f"config field augment.{unknown[0]} is unknown: augmentations are {', '.join(sorted(fields))}."
        )
    spec = AugmentSpec(**values)
    for name in ("shift_px", "rotation_deg", "zoom", "noise_std", "erase_prob"):
        if getattr(spec, name) < 0:
            raise ConfigError(f"config field augment.{name}={getattr(spec, name)!r} must be >= 0.")
    if spec.zoom >= 1 or spec.erase_prob > 1 or not 0.02 <= spec.erase_max_area <= 1:
        raise ConfigError(
            "config fields augment.zoom must be < 1, augment.erase_prob <= 1 and augment.erase_max_area in "
            f"[0.02, 1]; got zoom={spec.zoom}, erase_prob={spec.erase_prob}, erase_max_area={spec.erase_max_area}."
        )
    return spec


def _affine(image: jax.Array, key: jax.Array, spec: AugmentSpec) -> jax.Array:
    """Rotates, zooms and shifts one (H, W) image about its centre; bilinear, zero outside."""
    k_shift, k_angle, k_zoom = jax.random.split(key, 3)
    height, width = image.shape
    shift = jax.random.uniform(k_shift, (2,), minval=-spec.shift_px, maxval=spec.shift_px)
    angle = jnp.deg2rad(jax.random.uniform(k_angle, (), minval=-spec.rotation_deg, maxval=spec.rotation_deg))
    scale = jax.random.uniform(k_zoom, (), minval=1 - spec.zoom, maxval=1 + spec.zoom)
    centre = jnp.array([(height - 1) / 2, (width - 1) / 2])
    rows, cols = jnp.meshgrid(
        jnp.arange(height, dtype=jnp.float32), jnp.arange(width, dtype=jnp.float32), indexing="ij"
    )
    # Output pixel -> input pixel: the inverse of (rotate, scale about the centre, then shift).
    rel = jnp.stack([rows, cols]) - centre[:, None, None] - shift[:, None, None]
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    src_rows = (cos * rel[0] + sin * rel[1]) / scale + centre[0]
    src_cols = (-sin * rel[0] + cos * rel[1]) / scale + centre[1]
    return ndimage.map_coordinates(image, [src_rows, src_cols], order=1, mode="constant", cval=0.0)


def _erase(image: jax.Array, key: jax.Array, spec: AugmentSpec) -> jax.Array:
    """With probability erase_prob, zeroes a random rectangle of 2 %..erase_max_area of the image."""
    k_apply, k_area, k_ratio, k_top, k_left = jax.random.split(key, 5)
    height, width = image.shape
    area = jax.random.uniform(k_area, (), minval=0.02, maxval=spec.erase_max_area) * height * width
    log_ratio = jax.random.uniform(k_ratio, (), minval=math.log(0.3), maxval=math.log(1 / 0.3))
    box_h = jnp.clip(jnp.round(jnp.sqrt(area * jnp.exp(log_ratio))), 1, height)
    box_w = jnp.clip(jnp.round(jnp.sqrt(area / jnp.exp(log_ratio))), 1, width)
    top = jnp.floor(jax.random.uniform(k_top, ()) * (height - box_h + 1))
    left = jnp.floor(jax.random.uniform(k_left, ()) * (width - box_w + 1))
    rows = jnp.arange(height)[:, None]
    cols = jnp.arange(width)[None, :]
    inside = (rows >= top) & (rows < top + box_h) & (cols >= left) & (cols < left + box_w)
    apply = jax.random.uniform(k_apply, ()) < spec.erase_prob
    return jnp.where(inside & apply, 0.0, image)


def augment_image(image: jax.Array, key: jax.Array, spec: AugmentSpec) -> jax.Array:
    """Augments one (H, W) float image in [0, 1]."""
    k_affine, k_flip, k_noise, k_erase = jax.random.split(key, 4)
    if spec.is_geometric:
        image = _affine(image, k_affine, spec)
    # Flips after the affine resample: Report A flips the rotated image. k_flip is split only when
    # both flips are on, so a config with one flip draws exactly as before.
    if spec.flip_horizontal and spec.flip_vertical:
        k_flip, k_flip_vertical = jax.random.split(k_flip)
    else:
        k_flip_vertical = k_flip
    if spec.flip_horizontal:
        image = jnp.where(jax.random.bernoulli(k_flip), image[:, ::-1], image)
    if spec.flip_vertical:
        image = jnp.where(jax.random.bernoulli(k_flip_vertical), image[::-1, :], image)
    if spec.noise_std:
        image = image + spec.noise_std * jax.random.normal(k_noise, image.shape, image.dtype)
    if spec.erase_prob:
        image = _erase(image, k_erase, spec)
    return image


def augment_batch(images: jax.Array, key: jax.Array, spec: AugmentSpec) -> jax.Array:
    """Augments a (N, H, W, 1) float batch, one independent key per example."""
    if spec.is_identity:
        return images
    keys = jax.random.split(key, images.shape[0])
    return jax.vmap(lambda image, k: augment_image(image, k, spec))(images[..., 0], keys)[..., None]
