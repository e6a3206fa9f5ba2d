"""Report A 5-fold cross-validation with step decay (Adam 1e-3 halved every 5 epochs), stratified folds of
the 60k training set; each fold's model is evaluated on the test set. The report's 92.59 % is its test number:
"the confusion matrix was obtained for the best performance model out of all", so ours is the best fold's
model, chosen on its own validation fold (never on test).

Every fold starts from a fresh model *(chosen: the report does not say)*. Measured 2026-11-30 (one model per
fold, as the report): best fold by val 91.01 %, folds 91.08 +- 0.18 %, 1.6 below
the report, while Report A's own step decay on all 54k images gives 91.80 %. The ablation
`kfold_continue=True` (one Keras model compiled once and fit() once per fold, so each fold continues from
the previous fold's weights) gives folds 91.11-92.27 % and 91.63 % for the best fold by val (the last,
whose validation fold it had trained on): within a point of 92.59, closing 0.6 of the gap. The config
keeps fresh folds, the sound cross-validation; results/README.md shows both.
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("variant_step_decay.py"))
    config.kfold = 5
    config.reference.variant = "5-fold + step decay"
    config.reference.test_accuracy = 0.9259
    return config
