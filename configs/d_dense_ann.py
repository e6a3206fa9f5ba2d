"""Report D dense ANN: 784 -> 1024 -> 512 -> 128 -> 32 -> 10, ReLU, 1,398,762 params; otherwise as d_cnn."""

import pathlib

from fmnist_jax.config_base import config_from_file


def get_config():
    config = config_from_file(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.model = "mlp"
    config.model_options = {"widths": (1024, 512, 128, 32), "dropout": 0.0}
    config.reference.variant = "dense ANN"
    config.reference.train_accuracy = -1.0
    config.reference.val_accuracy = 0.8619
    config.reference.train_loss = -1.0
    config.reference.val_loss = -1.0
    config.reference.num_params = 1398762
    config.reference.roc_auc = -1.0
    return config
