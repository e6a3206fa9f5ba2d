"""Report A augmentation: the baseline trained with random rotation, a vertical flip and additive Gaussian
noise, on the train split only.

- Rotation up to 10 degrees *(chosen: the report gives no angle)*.
- The flip is vertical, applied to the rotated image with probability 1/2: the report explains why
  augmentation hurt with "flipping a sandal vertically does not make sense".
- Gaussian noise of mean 0 and variance 0.01 (the report's), i.e. std 0.1 on [0, 1] pixels.
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("baseline.py"))
    config.augment.rotation_deg = 10.0
    config.augment.flip_vertical = True
    config.augment.noise_std = 0.1
    config.reference.variant = "augmentation"
    config.reference.test_accuracy = 0.895
    return config
