"""Report E cnn5 (chosen layout): four blocks c = 32, 64, 128, 256 (no pool after the fourth) -> flatten(2304)
-> dense(208) -> bn -> ReLU -> drop(.5) -> dense(10): 870,746 trainable + 1,376 BN statistics (report: ~872k).
Reported test 94.09 %; "15 models from different seeds vote": 95.09 % test (loss .1552), in
reference.ensemble_*; run it with --config.num_seeds=15 (one program), or in parts of a few seeds merged by
`python -m fmnist_jax.parts` (the campaign's way on CPU: fmnist_jax/parts.py).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("e_cnn4.py"))
    config.model_options.filters = (32, 64, 128, 256)
    config.model_options.dense_width = 208
    config.reference.variant = "cnn5"
    config.reference.test_accuracy = 0.9409
    config.reference.ensemble_size = 15
    config.reference.ensemble_test_accuracy = 0.9509
    config.reference.ensemble_test_loss = 0.1552
    return config
