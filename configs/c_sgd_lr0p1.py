"""Report C sgd step: SGD (no momentum), lr 0.1 halved every 5 epochs."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_lenet5.py"))
    config.optimizer = "sgd"
    config.learning_rate = 0.1
    config.momentum = 0.0
    config.schedule = "piecewise_constant"
    config.decay_every_epochs = 5
    config.decay_factor = 0.5
    config.reference.variant = "sgd 0.1 step"
    config.reference.train_accuracy = 0.866
    config.reference.val_accuracy = 0.8648
    config.reference.train_loss = 0.3943
    config.reference.val_loss = 0.4029
    return config
