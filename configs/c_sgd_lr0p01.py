"""Report C sgd step, second config: SGD (no momentum), lr 0.01 halved every 5 epochs."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_sgd_lr0p1.py"))
    config.learning_rate = 0.01
    config.reference.variant = "sgd 0.01 step"
    config.reference.train_accuracy = 0.8165
    config.reference.val_accuracy = 0.8153
    config.reference.train_loss = 0.5781
    config.reference.val_loss = 0.5837
    return config
