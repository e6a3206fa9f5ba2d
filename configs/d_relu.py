"""Report D activation study: the main CNN with relu in every hidden layer, Adam lr 1e-3 (the report's
setting for this study; the main CNN uses 1e-4, and reports the same 91.37 % for ReLU, chosen: 1e-3 here).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.activation = "relu"
    config.learning_rate = 1e-3
    config.reference.variant = "relu (Adam 1e-3)"
    config.reference.val_accuracy = 0.9137
    return config
