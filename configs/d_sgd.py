"""Report D optimizer study: the main CNN with plain SGD lr 1e-4 (Keras default: no momentum)."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.optimizer = "sgd"
    config.learning_rate = 1e-4
    config.momentum = 0.0
    config.reference.variant = "SGD 1e-4"
    config.reference.val_accuracy = 0.8972
    return config
