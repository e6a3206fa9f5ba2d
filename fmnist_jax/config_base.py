"""Every config field with its default. configs/*.py start from `base_config()` and change a few.

Fields are grouped as the engine reads them; `validate` (config_check.py) says which values are legal.
"""

from __future__ import annotations

import pathlib
import re
import runpy
from typing import Any

import ml_collections

# The config zoo: configs/*.py beside the package (one get_config() each), listed in configs/README.md.
CONFIG_DIR = pathlib.Path(__file__).resolve().parents[1] / "configs"

# The values early stopping can watch (config.early_stopping_monitor); fmnist_jax/loop.py decides with them.
EARLY_STOPPING_MONITORS = ("val_accuracy", "val_loss")


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()

    # Model: a registered name (fmnist_jax/models) and the module's own fields.
    c.model = "cnn_a"
    c.model_options = ml_collections.ConfigDict()
    c.activation = "relu"  # relu | sigmoid | tanh, in every hidden layer
    # glorot_uniform | he_normal | lecun_normal (biases zero, as Keras and flax) | torch_default (weights
    # and biases as PyTorch's nn.Linear / nn.Conv2d draw them: U(+-1/sqrt(fan_in)) both).
    c.kernel_init = "glorot_uniform"
    c.conv_impl = "auto"  # auto (toeplitz/im2col matmuls on CPU, XLA conv elsewhere) | im2col | toeplitz | xla

    # Training.
    c.num_epochs = 15
    c.batch_size = 32  # examples per step; the last partial batch of an epoch is dropped
    c.eval_batch_size = 1000  # examples per eval step; every example counts (padded + masked)
    c.seed = 0  # parameter init, dropout and shuffling
    # Members trained at once by one program (see members_program below); member k uses seed + k.
    # results.json then holds each member's test numbers, their mean / std / 95 % CI and the
    # ensemble's accuracy.
    c.num_seeds = 1
    # How that one program runs the members: vmap (batched into every op: GPUs, TPUs) | map (one after
    # another inside the program, each with a single run's ops: cheaper on CPUs) | interleave (groups of
    # interleaved_members members stepped side by side in one scan, each with a single run's ops: their
    # independent ops fill the CPU cores one member leaves idle) | auto (interleave on CPU, else vmap).
    c.members_program = "auto"
    c.interleaved_members = 4  # members per group under members_program=interleave
    c.early_stopping_patience = 0  # epochs without a better monitored value before stopping; 0 = off
    # What "better" means, for early stopping and for the model kept and evaluated (the best epoch's):
    # val_accuracy (higher) | val_loss (lower: Keras' EarlyStopping default monitor).
    c.early_stopping_monitor = "val_accuracy"
    # A NaN or Inf loss: stop (keep the last good checkpoint) | skip_step (skip that update; after
    # max_consecutive_nonfinite_steps in a row the update is applied anyway and the run stops).
    c.nan_policy = "stop"
    c.max_consecutive_nonfinite_steps = 10
    c.conv_kernel_l2 = 0.0  # Keras l2(f) kernel regulariser on the convs: f * sum(w**2) added to the loss
    # The conv modules that carry that regulariser, by their flax names (Conv_0, Conv_1, ... in the order
    # the model creates them; `python -m fmnist_jax.describe` lists them); () = every conv.
    c.conv_kernel_l2_layers = ()
    c.label_smoothing = 0.0  # cross-entropy against (1 - s) * one_hot + s / 10 in training (the reported loss too)
    # Hyperparameter sweep as a vmapped axis: every combination of these values (empty: the single
    # value of the field above) times num_seeds members, trained by one program, e.g.
    # --config.sweep.learning_rate=1e-4,3e-4,1e-3. results.json reports every point and picks the
    # best by validation accuracy (never by test).
    c.sweep = ml_collections.ConfigDict()
    c.sweep.learning_rate = ()
    c.sweep.weight_decay = ()
    # Devices: none (one device) | data (each batch split over all devices, params replicated, the
    # compiler reduces the gradients) | members (the members axis split over all devices).
    c.parallel = "none"

    # Augmentation on the device, train split only (fmnist_jax/augment.py); zeros = off.
    c.augment = ml_collections.ConfigDict()
    c.augment.shift_px = 0.0
    c.augment.rotation_deg = 0.0
    c.augment.zoom = 0.0
    c.augment.flip_horizontal = False
    c.augment.flip_vertical = False
    c.augment.noise_std = 0.0
    c.augment.erase_prob = 0.0
    c.augment.erase_max_area = 0.25

    # Optimizer: optax chain built by optim.py.
    c.optimizer = "adam"  # adam | sgd | rmsprop
    c.learning_rate = 1e-3  # peak learning rate
    c.momentum = 0.0  # sgd: heavy-ball momentum; rmsprop: momentum
    c.nesterov = False  # sgd with momentum: Nesterov's variant
    c.schedule = "constant"  # constant | piecewise_constant | cosine | one_cycle
    c.decay_every_epochs = 5  # piecewise_constant: multiply by decay_factor every this many epochs
    c.decay_factor = 0.5
    c.warmup_epochs = 0.0  # cosine, one_cycle: linear warm-up from 0 to the peak over this many epochs
    c.final_lr_fraction = 0.0  # cosine, one_cycle: the last step's lr as a fraction of the peak
    c.weight_decay = 0.0
    c.weight_decay_mode = "coupled"  # coupled: L2 added to the gradient | decoupled (AdamW-style)
    # Whose optimizer defaults to reproduce: keras (Adam epsilon 1e-7 as Keras places it; RMSprop rho 0.9,
    # epsilon 1e-7 inside the root) | pytorch (Adam eps 1e-8, optax's own Adam; RMSprop alpha 0.99, eps 1e-8
    # outside the root). Four of the five reports used Keras.
    c.optimizer_defaults = "keras"

    # Data.
    c.data_source = "idx"  # idx (the four IDX files, no TensorFlow) | tfds (optional extra)
    c.data_dir = ""  # "" = /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
    c.val_fraction = 0.1  # taken from the 60k train set
    # stratified (each class's share) | random (sklearn train_test_split's default) | test (no split: train on
    # all, validate on the test set, so early stopping and the best epoch look at the test set: Report E's
    # protocol, for ablations only; its test accuracy is optimistic)
    c.val_split = "stratified"
    c.split_seed = 0  # the validation split; fixed across model seeds so members see the same data
    c.train_limit = 0  # use only the first N of the 60k training examples; 0 = all
    # Train on train + validation (the val split is still evaluated, but no longer held out, so the
    # last epoch is the one evaluated on test). Report B's "V4 retrained on train+val".
    c.fold_val_into_train = False
    # k-fold cross-validation: k > 1 trains k models, fold i validating on the i-th stratified fold
    # (workdir/fold_i), and reports per-fold and mean +- std val accuracy and each fold's test accuracy.
    c.kfold = 0
    c.kfold_index = -1  # set by the k-fold driver for each fold's run; -1 = not a fold
    # k-fold with one model for all folds: fold i > 0 starts from fold i-1's final params and batch
    # statistics, as Keras code that compiles the model once, outside the fold loop, and calls fit()
    # once per fold does. Later folds have then trained on their own validation fold. The optimizer
    # starts fresh (chosen): its schedule starts again as Keras' LearningRateScheduler does on each
    # fit(), while Keras would keep Adam's moments. False = every fold starts from a fresh model.
    c.kfold_continue = False

    # Evaluation extras.
    c.feature_map_images = ()  # test-set indices whose conv/pool activations are saved as PNG grids
    c.test_time_flip = False  # evaluate on the mean of the logits of each image and its mirror image

    # Run control.
    c.eval_only = False  # restore the best checkpoint and evaluate it on the test set
    c.checkpoint_keep = 2  # epochs whose checkpoints are kept (each holds the state, the best model so far, the record)
    c.trace_dir = ""  # a folder: the first epoch trained runs under jax.profiler.trace (TensorBoard / Perfetto)
    c.tensorboard = True  # TensorBoard event files of every epoch's metrics in workdir/tensorboard

    # Where the config comes from and what the report measured (accuracies as fractions).
    c.reference = ml_collections.ConfigDict()
    c.reference.report = ""
    c.reference.variant = ""
    c.reference.source = ""
    c.reference.train_accuracy = -1.0  # -1 = not given by the report
    c.reference.val_accuracy = -1.0
    c.reference.test_accuracy = -1.0
    c.reference.train_loss = -1.0
    c.reference.val_loss = -1.0
    c.reference.test_loss = -1.0
    c.reference.roc_auc = -1.0
    c.reference.num_params = -1  # the report's own count, of its own model
    c.reference.num_outputs = 10  # the width of the report's output layer, where it is not 10 (Report D's ANN: 5)
    c.reference.tuned_test_accuracy = -1.0  # the report's hyperparameter-tuned model of this family (Report E's MLP)
    # An ensemble the report built from this config (Report E: 15 cnn5 models voting).
    c.reference.ensemble_size = 0
    c.reference.ensemble_test_accuracy = -1.0
    c.reference.ensemble_test_loss = -1.0
    # What a reader must know to compare with the report's numbers (e.g. its validation data came from
    # the test set, or its parameter count is of another head); shown beside the numbers in results/.
    c.reference.notes = ""
    return c


def config_from_file(path: str | pathlib.Path) -> ml_collections.ConfigDict:
    """get_config() of a config file, as it is."""
    return runpy.run_path(str(path))["get_config"]()


# Fields whose default today computes differently from what every run made before the field existed
# did: such a record is read with the old behaviour, so a rerun repeats it. (members_program arrived on
# 2026-11-29 with `auto` = `map` on CPU; before it, an ensemble always vmapped its members, and the two
# programs round differently.)
BEHAVIOUR_BEFORE_THE_FIELD = {"members_program": "vmap"}


def config_from_record(recorded: dict[str, Any]) -> ml_collections.ConfigDict:
    """The config a results.json recorded, on today's base config: a field added since that run was
    made takes the value that run in effect used (BEHAVIOUR_BEFORE_THE_FIELD) or else its default
    (trace_dir, early_stopping_monitor, ...), so an older run can still be verified, resumed or trained
    again."""
    config = base_config()
    config.update({field: value for field, value in BEHAVIOUR_BEFORE_THE_FIELD.items() if field not in recorded})
    config.update(recorded)
    return config


# The report's numbers of one variant: a variant derived from another starts without them.
REFERENCE_NUMBERS = (
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "roc_auc",
    "ensemble_size",
    "ensemble_test_accuracy",
    "ensemble_test_loss",
    "tuned_test_accuracy",
)


def derive(path: str | pathlib.Path) -> ml_collections.ConfigDict:
    """The config of another file (a variant's baseline) with the report's numbers reset to "not given":
    a variant sets only the numbers the report gives for it. Where it comes from (report, source,
    notes) and the model's parameter count stay until the variant changes them."""
    config = config_from_file(path)
    defaults = base_config().reference
    for name in REFERENCE_NUMBERS:
        config.reference[name] = defaults[name]
    return config


def config_names_in_report_order(config_dir: pathlib.Path = CONFIG_DIR) -> list[str]:
    """Config names in the order configs/README.md lists them (report, then the report's order)."""
    listed = re.findall(r"^\| `([\w.-]+)\.py`", (config_dir / "README.md").read_text(), flags=re.MULTILINE)
    present = {path.stem for path in config_dir.glob("*.py")}
    return [name for name in listed if name in present] + sorted(present - set(listed))
