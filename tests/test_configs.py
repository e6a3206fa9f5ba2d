"""Every config in configs/ validates, builds with its report's parameter count, and takes two real training steps
(parametrised over the folder)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from conftest import CONFIG_FILES
from fmnist_jax import config_check, ensemble, optim, train
from fmnist_jax.config_base import config_from_file
from fmnist_jax.models import build_model

# Param counts: the reports' own where given (exact targets), our chosen layouts' pinned otherwise.
REPORTED_PARAMS = {
    "baseline": 225_034,
    "b_lenet5": 61_706,
    "c_lenet5": 61_706,
    "c_extra_conv": 23_706,
    "d_cnn": 6_484_330,
    "d_dense_ann": 1_398_762,
}
PINNED_PARAMS = {
    "variant_kernel7": 152_586,
    "variant_bn": 225_482,
    "b_v1_wide": 99_976,
    "c_filters": 255_230,
    "d_resnet": 6_744_810,
    "d_inception": 323_354,
    "e_mlp_small": 535_818,
    "e_mlp_medium": 575_050,
    "e_mlp_large": 1_503_530,
    "e_cnn4": 316_810,
    "e_cnn5": 870_746,
    "speedrun": 164_826,
}


# A train step's compile is 2-5 s of CPU per config, most of this file's time: the quick suite trains the
# configs below, which between them take every model, optimizer, schedule, initialiser and augmentation the
# zoo uses; the others take their steps in CI's extended lane (`pytest -m extended`), as every config did.
TRAINED_IN_THE_QUICK_SUITE = {
    "baseline": "CNN-A, Adam, dropout",
    "variant_bn": "batch norm",
    "a_augment": "Report A's rotation, flip, noise and erasing",
    "b_lenet5": "LeNet-5, PyTorch's initialisation",
    "c_sgd_lr0p1": "padded LeNet-5, SGD, step decay, conv-kernel L2",
    "d_rmsprop": "CNN-D, RMSprop",
    "d_dense_ann": "the MLP",
    "d_inception": "the Inception block",
    "d_resnet": "the residual blocks",
    "e_cnn5_augmented": "the block CNN, shift, zoom and rotation",
    "speedrun": "one-cycle schedule, label smoothing, horizontal flip",
}


def _train_step_cases() -> list:
    return [
        pytest.param(path, id=path.stem, marks=() if path.stem in TRAINED_IN_THE_QUICK_SUITE else pytest.mark.extended)
        for path in CONFIG_FILES
    ]


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.stem)
def test_config_validates_builds_and_has_its_reports_param_count(path):
    config = config_from_file(path)
    config_check.validate(config)
    assert config.reference.report in ("A", "B", "C", "D", "E", "fmnist_jax"), "every config says where it comes from"
    assert config.reference.variant
    model = build_model(config)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, 28, 28, 1)), train=False))
    assert train.count_params(shapes["params"]) > 0
    if config.reference.num_params > 0:  # the report's count, of its own output layer (Report D's ANN: 5)
        report_model = model.clone(num_classes=config.reference.num_outputs)
        shapes = jax.eval_shape(lambda: report_model.init(jax.random.PRNGKey(0), np.zeros((1, 28, 28, 1)), train=False))
        assert train.count_params(shapes["params"]) == config.reference.num_params


def _initial_state(config) -> train.TrainState:
    """One member's initial state as a run starts it: one jitted program at the initialisation's compiler options
    (op by op it compiles a program per parameter shape: 7.4 s against 1.7 s for the L2 test below here)."""
    one_member = ensemble.MemberLayout((config.seed,), (config.learning_rate,), (config.weight_decay,), num_seeds=1)
    return ensemble.create_states(build_model(config), optim.make_optimizer(config, steps_per_epoch=10), one_member)


@pytest.mark.parametrize("path", _train_step_cases())
def test_config_trains_two_steps(path, fashion_mnist):
    config = config_from_file(path)
    state = _initial_state(config)
    config.batch_size = min(config.batch_size, 64)  # Keeps Report D's batch of 1024 cheap here.
    batch = config.batch_size
    options = train.options_from_config(config)
    images = jax.device_put(fashion_mnist.train_images[:batch])
    labels = jax.device_put(fashion_mnist.train_labels[:batch])
    step = jax.jit(train.train_step, static_argnums=4)
    # Two steps: a schedule with warm-up (speedrun's one-cycle) starts at learning rate 0.
    new_state, _ = step(state, images, labels, jax.random.PRNGKey(0), options)
    new_state, metrics = step(new_state, images, labels, jax.random.PRNGKey(1), options)
    assert np.isfinite(float(metrics["loss"]))
    assert int(new_state.step) == 2
    changed = jax.tree_util.tree_map(
        lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))), state.params, new_state.params
    )
    assert any(jax.tree_util.tree_leaves(changed))


@pytest.mark.parametrize("name,expected", sorted({**REPORTED_PARAMS, **PINNED_PARAMS}.items()))
def test_param_counts(name, expected):
    config = config_from_file(next(p for p in CONFIG_FILES if p.stem == name))
    variables = jax.eval_shape(
        lambda: build_model(config).init(jax.random.PRNGKey(0), np.zeros((1, 28, 28, 1), np.float32), train=False)
    )
    assert train.count_params(variables["params"]) == expected


def test_conv_kernel_l2_penalises_only_conv_kernels():
    config = config_from_file(next(p for p in CONFIG_FILES if p.stem == "c_lenet5"))
    state = _initial_state(config)
    expected = sum(
        float(np.sum(np.asarray(leaf) ** 2)) for leaf in jax.tree_util.tree_leaves(state.params) if leaf.ndim == 4
    )
    np.testing.assert_allclose(float(train.conv_kernel_sum_of_squares(state.params)), expected, rtol=1e-5)
    # Three convs in Report C's LeNet-5: 5x5x1x6, 5x5x6x16, 5x5x16x120.
    assert sum(leaf.ndim == 4 for leaf in jax.tree_util.tree_leaves(state.params)) == 3


def test_configs_readme_lists_every_config():
    listing = (CONFIG_FILES[0].parent / "README.md").read_text()
    missing = [path.name for path in CONFIG_FILES if f"`{path.name}`" not in listing]
    assert not missing, f"add to configs/README.md: {missing}"
