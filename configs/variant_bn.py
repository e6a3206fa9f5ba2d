"""Report A bn: batch normalisation after both convs and after dense(128), before the
activation (Keras defaults: momentum 0.99, epsilon 1e-3); the dropouts are kept.

One change from configs/baseline.py; everything else is the baseline's."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("baseline.py"))
    config.model_options.batch_norm = True
    config.reference.variant = "bn"
    config.reference.train_accuracy = 0.9180
    config.reference.val_accuracy = 0.9191
    config.reference.test_accuracy = 0.9084
    config.reference.num_params = -1  # not given by the report
    return config
