"""Report E cnn5 with augmentation: random rotation (up to 10 degrees), zoom (+-10 %) and horizontal and
vertical shifts (up to 2 pixels) (magnitudes chosen: the report names the kinds only).
"""

import pathlib

from fmnist_jax.config_base import config_from_file


def get_config():
    config = config_from_file(pathlib.Path(__file__).with_name("e_cnn5.py"))
    config.augment.rotation_deg = 10.0
    config.augment.zoom = 0.1
    config.augment.shift_px = 2.0
    config.reference.variant = "cnn5 augmented"
    config.reference.test_accuracy = -1.0
    config.reference.ensemble_size = 0  # the 15-model ensemble is of plain cnn5
    config.reference.ensemble_test_accuracy = -1.0
    config.reference.ensemble_test_loss = -1.0
    return config
