"""Report D small ResNet (chosen layout): conv(32,5,same) -> maxpool -> residual block of two conv(64,3,same) with
a 1x1 projection skip -> maxpool -> residual block of two conv(128,3,same) with projection -> flatten
-> dense(1024) -> drop(.25) -> dense(32) -> dense(10): 6,744,810 params (report: ~6.75M, 11 layers, 2 skips).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("d_cnn.py"))
    config.model = "resnet_small"
    config.model_options = {"dense_dropout": 0.25}
    config.reference.variant = "ResNet"
    config.reference.val_accuracy = 0.897
    config.reference.num_params = -1
    return config
