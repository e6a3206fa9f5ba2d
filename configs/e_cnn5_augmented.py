"""Report E cnn5 with augmentation: random rotation (up to 10 degrees), zoom (+-10 %) and horizontal and
vertical shifts (up to 2 pixels) (magnitudes chosen: the report names the kinds only).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("e_cnn5.py"))
    config.augment.rotation_deg = 10.0
    config.augment.zoom = 0.1
    config.augment.shift_px = 2.0
    config.reference.variant = "cnn5 augmented"
    return config
