"""Report A augmentation: the baseline trained with random rotation (up to 10 degrees, chosen), horizontal
flip and additive Gaussian noise of variance 0.01 (std 0.1), on the train split only.
"""

import pathlib

from fmnist_jax.config_base import config_from_file


def get_config():
    config = config_from_file(pathlib.Path(__file__).with_name("baseline.py"))
    config.augment.rotation_deg = 10.0
    config.augment.flip_horizontal = True
    config.augment.noise_std = 0.1
    config.reference.variant = "augmentation"
    config.reference.train_accuracy = -1.0
    config.reference.val_accuracy = -1.0
    config.reference.test_accuracy = 0.895
    return config
