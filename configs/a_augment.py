"""Report A augmentation: the baseline trained with random rotation, a vertical flip and additive Gaussian
noise, on the train split only.

- Rotation up to 10 degrees *(chosen: the report gives no angle)*.
- The flip is vertical, applied to the rotated image with probability 1/2: the report explains why
  augmentation hurt with "flipping a sandal vertically does not make sense".
- Gaussian noise of mean 0 and variance 0.01 (the report's), i.e. std 0.1 on [0, 1] pixels.

Measured (results/README.md, Ablations; 3 seeds): 86.65 % against the report's 89.50; without the flip
88.03, without the noise 89.04 (reproduced): read on [0, 1] pixels the report's noise costs 2.4 points,
so theirs was likely milder (on 0-255 values, or on standardised inputs). The config keeps the stated
variance.
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
