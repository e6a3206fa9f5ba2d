"""Report A step decay: Adam 1e-3 halved every 5 epochs (optax piecewise-constant schedule).

One change from configs/baseline.py; everything else is the baseline's."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("baseline.py"))
    config.schedule = "piecewise_constant"
    config.decay_every_epochs = 5
    config.decay_factor = 0.5
    config.reference.variant = "step_decay"
    config.reference.test_accuracy = 0.9180
    config.reference.num_params = 225_034
    return config
