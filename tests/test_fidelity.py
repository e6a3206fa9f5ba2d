"""What the reports did, as SEED_MODELS.md's "Fidelity corrections" read them: each test fails without its fix.

Keras' optimizer arithmetic (Reports A, C, D, E), PyTorch's initialisation (Report B), Report A's
vertical flip (test_augment.py) and best fold, Report C's L2 on two convs and its loss with the
penalty, Report D's unstratified split and 5-output head, Report E's reference numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from conftest import CONFIG_DIR, small_config
from fmnist_jax import config_check, data, experiment, layers, optim, train
from fmnist_jax.config_base import config_from_file
from fmnist_jax.errors import ConfigError
from fmnist_jax.models import build_model

# Small gradients, where epsilon matters: Keras' and optax's Adam part there.
GRADIENTS = [np.array([1e-6, -3e-7, 2e-3], np.float32), np.array([2e-6, 1e-7, -1e-3], np.float32)] * 2


def _updates(config, gradients):
    """The optimizer's updates (learning rate included) for a sequence of gradients of one parameter."""
    tx = optim.make_optimizer(config, steps_per_epoch=10)
    params = {"w": jnp.zeros(3)}
    state = tx.init(params)
    out = []
    for grad in gradients:
        update, state = tx.update({"w": jnp.asarray(grad)}, state, params)
        out.append(np.asarray(update["w"]))
    return out


def _keras_adam(gradients, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """keras/src/optimizers/adam.py update_step, in numpy: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t),
    variable -= m * alpha / (sqrt(v) + epsilon)."""
    m = v = np.zeros(3, np.float64)
    out = []
    for t, g in enumerate(gradients, start=1):
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        out.append(-m * alpha / (np.sqrt(v) + epsilon))
    return out


def _keras_rmsprop(gradients, lr=1e-4, rho=0.9, epsilon=1e-7):
    """keras/src/optimizers/rmsprop.py update_step: velocity = rho v + (1 - rho) g^2,
    increment = lr * g / sqrt(velocity + epsilon)."""
    velocity = np.zeros(3, np.float64)
    out = []
    for g in gradients:
        velocity = rho * velocity + (1 - rho) * g * g
        out.append(-lr * g / np.sqrt(velocity + epsilon))
    return out


def test_keras_reports_use_keras_adam_with_epsilon_hat():
    config = small_config("baseline")
    assert config.optimizer_defaults == "keras"
    for ours, keras in zip(_updates(config, GRADIENTS), _keras_adam(GRADIENTS), strict=True):
        np.testing.assert_allclose(ours, keras, rtol=2e-5)
    # optax's Adam (eps 1e-8 outside the bias correction) is measurably another optimizer here.
    optax_first = -1e-3 * GRADIENTS[0] / (np.abs(GRADIENTS[0]) + 1e-8)
    assert not np.allclose(_updates(config, GRADIENTS)[0], optax_first, rtol=1e-3)


def test_keras_rmsprop_puts_epsilon_inside_the_root():
    config = small_config("d_rmsprop")
    for ours, keras in zip(_updates(config, GRADIENTS), _keras_rmsprop(GRADIENTS), strict=True):
        np.testing.assert_allclose(ours, keras, rtol=2e-5)


def test_report_b_uses_pytorch_adam():
    config = small_config("b_v3_l2")
    assert config.optimizer_defaults == "pytorch" and config.weight_decay_mode == "coupled"
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    tx = optim.make_optimizer(config, steps_per_epoch=10)
    update, _ = tx.update({"w": jnp.asarray(GRADIENTS[0])}, tx.init(params), params)
    # torch.optim.Adam(eps=1e-8, weight_decay=wd), step 1: g' = g + wd * p; update = -lr * g' / (|g'| + 1e-8).
    coupled = GRADIENTS[0] + config.weight_decay * np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(update["w"], -config.learning_rate * coupled / (np.abs(coupled) + 1e-8), rtol=1e-5)


def _params(name):
    config = config_from_file(CONFIG_DIR / f"{name}.py")
    return build_model(config).init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)), train=False)["params"]


def test_report_b_biases_are_drawn_as_pytorch_draws_them():
    params = _params("b_v1_wide")
    fan_ins = {"Conv_0": 5 * 5 * 1, "Conv_1": 5 * 5 * 16}
    for name, fan_in in fan_ins.items():
        bias = np.asarray(params[name]["bias"])
        bound = 1 / np.sqrt(fan_in)
        assert np.all(np.abs(bias) <= bound) and np.abs(bias).max() > bound / 4
    dense = params["MLPHead_0"]["Dense_0"]  # 650 (5 x 5 x 26) -> 120
    kernel, bias = np.asarray(dense["kernel"]), np.asarray(dense["bias"])
    bound = 1 / np.sqrt(kernel.shape[0])
    # Both U(-bound, bound): std bound / sqrt(3).
    assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
    np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3), rtol=0.02)
    np.testing.assert_allclose(bias.std(), bound / np.sqrt(3), rtol=0.25)  # 120 draws


def test_keras_reports_keep_biases_at_zero():
    params = _params("baseline")
    biases = [
        leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params) if "bias" in jax.tree_util.keystr(path)
    ]
    assert biases and all(not np.any(np.asarray(b)) for b in biases)


def test_report_c_regularises_the_two_5x5_convs_only():
    config = config_from_file(CONFIG_DIR / "c_lenet5.py")
    params = _params("c_lenet5")
    assert train.conv_kernel_paths(params) == ["Conv_0", "Conv_1", "Conv_2"]  # conv(6), conv(16), conv(120)
    options = train.options_from_config(config)
    expected = 0.01 * sum(float(np.sum(np.asarray(params[n]["kernel"]) ** 2)) for n in ("Conv_0", "Conv_1"))
    np.testing.assert_allclose(float(train.l2_penalty(params, options)), expected, rtol=1e-5)
    # Every C variant regularises the same two 5x5 convs (the extra conv(16,3) carries none either).
    for name in ("c_maxpool", "c_filters", "c_extra_conv", "c_dropout", "c_sgd_lr0p1", "c_sgd_lr0p01"):
        variant = config_from_file(CONFIG_DIR / f"{name}.py")
        assert tuple(variant.conv_kernel_l2_layers) == ("Conv_0", "Conv_1"), name
        config_check.validate(variant)


def test_an_unknown_l2_layer_is_a_config_error():
    config = small_config("c_lenet5", conv_kernel_l2_layers=("Conv_9",))
    with pytest.raises(ConfigError, match="conv_kernel_l2_layers.*Conv_9.*Conv_0, Conv_1, Conv_2"):
        config_check.validate(config)


def test_report_c_loss_with_penalty_is_the_data_loss_plus_the_penalty(fashion_mnist):
    config = small_config("c_lenet5")
    options = train.options_from_config(config)
    state = train.create_train_state(build_model(config), optim.make_optimizer(config, 10), 0)
    images = jnp.asarray(fashion_mnist.train_images[:32])
    labels = jnp.asarray(fashion_mnist.train_labels[:32])
    _, metrics = jax.jit(train.train_step, static_argnums=4)(state, images, labels, jax.random.PRNGKey(0), options)
    penalty = float(train.l2_penalty(state.params, options))
    assert penalty > 0.01
    np.testing.assert_allclose(float(metrics["loss_with_penalty"]), float(metrics["loss"]) + penalty, rtol=1e-5)
    evaluate = train.make_evaluate(state.apply_fn, 1000, penalty=lambda p: train.l2_penalty(p, options))
    scored = evaluate(train.model_variables(state), images, labels)
    np.testing.assert_allclose(float(scored["loss_with_penalty"]), float(scored["loss"]) + penalty, rtol=1e-5)


def test_report_d_split_is_sklearns_unstratified_split():
    config = config_from_file(CONFIG_DIR / "d_cnn.py")
    assert config.val_split == "random" and config.split_seed == 42 and config.val_fraction == 0.1
    train_idx, val_idx = data.random_split(60_000, config.val_fraction, config.split_seed)
    sk_train, sk_val = train_test_split(np.arange(60_000), test_size=0.1, random_state=42)
    np.testing.assert_array_equal(val_idx, np.sort(sk_val))
    np.testing.assert_array_equal(train_idx, np.sort(sk_train))


def test_random_split_does_not_keep_class_shares(fashion_mnist):
    labels = fashion_mnist.train_labels
    _, random_val = data.random_split(len(labels), 0.1, 42)
    _, stratified_val = data.stratified_split(labels, 0.1, 42)
    assert set(np.bincount(labels[stratified_val])) == {600}
    counts = np.bincount(labels[random_val])
    assert counts.sum() == 6000 and counts.min() < 600 < counts.max()


def test_report_d_dense_ann_count_is_of_a_5_output_head():
    config = config_from_file(CONFIG_DIR / "d_dense_ann.py")
    five_outputs = build_model(config).clone(num_classes=config.reference.num_outputs)
    shapes = jax.eval_shape(lambda: five_outputs.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)), train=False))
    assert config.reference.num_outputs == 5
    assert train.count_params(shapes["params"]) == config.reference.num_params == 1_398_597


def _fold(val, test):
    return {
        "best_val_accuracy": val,
        "test_accuracy": test,
        "test_loss": 1 - test,
        "num_params": 1,
        "epochs_trained": 15,
        "compile_time_s": 1.0,
        "train_time_s": 10.0,
        "step_time_ms": 1.0,
        "images_per_s": 1.0,
        "device": {},
        "versions": {},
        "history": [],
    }


def test_report_a_best_fold_is_chosen_on_validation_not_test():
    config = config_from_file(CONFIG_DIR / "a_kfold_step_decay.py")
    folds = [_fold(0.91, 0.925), _fold(0.93, 0.918), _fold(0.92, 0.921), _fold(0.90, 0.930), _fold(0.915, 0.92)]
    summary = experiment.kfold_summary(config, folds)
    assert summary["best_fold"] == 1
    assert summary["best_fold_test_accuracy"] == 0.918
    np.testing.assert_allclose(summary["test_accuracy"], np.mean([f["test_accuracy"] for f in folds]))
    np.testing.assert_allclose(summary["test_accuracy_std"], np.std([f["test_accuracy"] for f in folds], ddof=1))


def test_report_e_reference_numbers():
    small = config_from_file(CONFIG_DIR / "e_mlp_small.py").reference
    assert small.tuned_test_accuracy == 0.8932 and "test set" in small.notes
    cnn5 = config_from_file(CONFIG_DIR / "e_cnn5.py").reference
    assert (cnn5.ensemble_size, cnn5.ensemble_test_accuracy, cnn5.ensemble_test_loss) == (15, 0.9509, 0.1552)
    assert "test set" in cnn5.notes
    augmented = config_from_file(CONFIG_DIR / "e_cnn5_augmented.py").reference
    assert augmented.ensemble_size == 0 and config_from_file(CONFIG_DIR / "e_cnn4.py").reference.tuned_test_accuracy < 0


def test_batch_norm_has_keras_defaults():
    bn = layers.batch_norm(train=True)
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
