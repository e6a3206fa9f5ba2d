"""Report D small Inception (chosen widths): conv(32,3,same) -> maxpool -> conv(64,3,same) -> maxpool -> one
inception block (1x1: 128; 1x1 128 -> 3x3 192; 1x1 16 -> 5x5 32; 3x3 maxpool -> 1x1 32) -> global average pool
-> dense(128) -> dense(10): 323,354 params (report: ~325k, 9 layers).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.model = "inception_small"
    config.model_options = {}
    config.reference.variant = "Inception"
    config.reference.val_accuracy = 0.9027
    config.reference.num_params = -1
    return config
