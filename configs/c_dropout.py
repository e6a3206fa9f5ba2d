"""Report C dropout: drop(.2) after each pool and drop(.1) before the output layer.

Everything else is the baseline's (configs/c_lenet5.py), the L2 term on the two 5x5 convs included.
Measured 2026-11-30 (5 seeds, 15 epochs): val 88.63 +- 0.40 % against the report's 85.43 %, 3.2 above,
with losses (.351 / .347 with the L2 term) under the report's (.4493 / .4025) where the baseline's match.
Ablations: batch 128, which brings the other slow learners of Report C to the report, leaves it 2.3 above
(87.68 %); the L2 term on all three convs (conv_kernel_l2_layers=(), the seed spec's first reading)
gives val 86.04 +- 0.53 % and train 84.62 % against the report's 85.43 / 83.65 %, but losses of .530 /
.497 against .4493 / .4025: the report's dropout run carried a larger penalty than its baseline's reading,
smaller than that one. The config keeps the baseline's L2 (the report names no other change).
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_lenet5.py"))
    config.model_options.pool_dropout = 0.2
    config.model_options.output_dropout = 0.1
    config.reference.variant = "dropout"
    config.reference.train_accuracy = 0.8365
    config.reference.val_accuracy = 0.8543
    config.reference.train_loss = 0.4493
    config.reference.val_loss = 0.4025
    return config
