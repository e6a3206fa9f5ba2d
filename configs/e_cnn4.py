"""Report E cnn4 (chosen layout): three blocks conv(c,3,same) -> bn -> ReLU -> maxpool -> drop(.25), c = 32, 64, 128
-> flatten(1152) -> dense(192) -> bn -> ReLU -> drop(.5) -> dense(10): 316,810 trainable + 832 BN statistics
(report: ~315k). Training as e_mlp_small. Reported test 93.08 %.
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("e_mlp_small.py"))
    config.model = "block_cnn"
    config.model_options = {
        "filters": (32, 64, 128),
        "pooled_blocks": 3,
        "dense_width": 192,
        "conv_dropout": 0.25,
        "dense_dropout": 0.5,
    }
    config.reference.variant = "cnn4"
    config.reference.test_accuracy = 0.9308
    return config
