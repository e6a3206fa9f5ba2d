"""Report D optimizer study: the main CNN with RMSprop lr 1e-4 (Keras defaults rho .9, eps 1e-7)."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.optimizer = "rmsprop"
    config.learning_rate = 1e-4
    config.reference.variant = "RMSprop 1e-4"
    config.reference.val_accuracy = 0.8625
    return config
