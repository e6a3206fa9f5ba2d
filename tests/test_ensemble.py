"""vmap ensembles: N members in one program are independent, each equals a single run with its seed."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from scipy import stats

from conftest import small_config
from fmnist_jax import config_check, ensemble, experiment, metrics, optim, train
from fmnist_jax.errors import ConfigError
from fmnist_jax.models import build_model

CONTRACT_FIELDS = (
    "test_accuracy_per_seed",
    "test_accuracy_mean",
    "test_accuracy_std",
    "test_accuracy_ci95",
    "ensemble_test_accuracy_vote",
    "ensemble_test_accuracy_mean_prob",
)


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ensemble")
    config = small_config("baseline", train_limit=1500, num_seeds=3, seed=5)
    return workdir, experiment.train_and_evaluate(config, str(workdir))


def test_members_start_different():
    config = small_config("baseline")
    config.num_seeds = 3
    layout = ensemble.layout_from_config(config)
    states = ensemble.create_states(build_model(config), optim.make_optimizer(config, 10), layout)
    kernels = np.asarray(states.params["Conv_0"]["kernel"])
    assert kernels.shape[0] == 3
    assert not np.allclose(kernels[0], kernels[1]) and not np.allclose(kernels[1], kernels[2])
    single = train.create_train_state(build_model(config), optim.make_optimizer(config, 10), 2)
    np.testing.assert_array_equal(kernels[2], single.params["Conv_0"]["kernel"])
    np.testing.assert_array_equal(np.asarray(states.rng)[2], single.rng)


def test_results_follow_the_ensemble_contract(ensemble_run):
    workdir, results = ensemble_run
    on_disk = json.loads((workdir / "results.json").read_text())
    for field in CONTRACT_FIELDS:
        assert field in on_disk, field
    per_seed = on_disk["test_accuracy_per_seed"]
    assert len(per_seed) == 3 and len(set(per_seed)) > 1, "members trained independently"
    assert on_disk["test_accuracy"] == pytest.approx(np.mean(per_seed))
    assert on_disk["test_accuracy_std"] == pytest.approx(np.std(per_seed, ddof=1))
    low, high = on_disk["test_accuracy_ci95"]
    assert low < on_disk["test_accuracy_mean"] < high
    assert len(on_disk["history"][0]["val_loss_per_member"]) == 3


def test_member_equals_the_single_run_with_its_seed(ensemble_run, tmp_path):
    _, results = ensemble_run
    single = experiment.train_and_evaluate(small_config("baseline", train_limit=1500, seed=6), str(tmp_path))
    np.testing.assert_allclose(
        results["history"][0]["train_loss_per_member"][1], single["history"][0]["train_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(
        results["history"][0]["val_loss_per_member"][1], single["history"][0]["val_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(results["test_loss_per_seed"][1], single["test_loss"], rtol=1e-4)
    assert abs(results["test_accuracy_per_seed"][1] - single["test_accuracy"]) <= 3e-4  # a few of 10,000 at most


def test_eval_only_restores_the_ensemble(ensemble_run):
    workdir, results = ensemble_run
    config = small_config("baseline", train_limit=1500, num_seeds=3, seed=5, eval_only=True)
    evaluated = experiment.train_and_evaluate(config, str(workdir))
    for field in CONTRACT_FIELDS:
        assert evaluated[field] == results[field], field


def test_mean_std_ci95_against_scipy():
    values = [0.91, 0.915, 0.905, 0.92, 0.9]
    summary = metrics.mean_std_ci95(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert summary["mean"] == pytest.approx(np.mean(values))
    assert summary["std"] == pytest.approx(np.std(values, ddof=1))
    np.testing.assert_allclose(summary["ci95"], [low, high], rtol=1e-4)
    for n in (2, 3, 10, 16, 30):
        sample = np.linspace(0.0, 1.0, n)
        low, high = stats.t.interval(0.95, n - 1, loc=sample.mean(), scale=stats.sem(sample))
        np.testing.assert_allclose(metrics.mean_std_ci95(sample)["ci95"], [low, high], rtol=1e-3)


def test_vote_and_mean_probability_on_a_hand_made_example():
    # 3 members, 2 examples, 3 classes (probabilities written as log-probabilities).
    probabilities = np.array(
        [
            [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]],
            [[0.6, 0.3, 0.1], [0.4, 0.1, 0.5]],
            [[0.1, 0.8, 0.1], [0.45, 0.05, 0.5]],
        ]
    )
    mean_probability, vote = metrics.ensemble_predictions(np.log(probabilities))
    np.testing.assert_allclose(mean_probability, probabilities.mean(axis=0))
    # Example 0: votes 0, 0, 1 -> class 0, although the mean probability prefers 1 (0.467 vs 0.433).
    # Example 1: votes 1, 2, 2 -> class 2.
    assert vote.tolist() == [0, 2]
    assert mean_probability.argmax(axis=-1).tolist() == [1, 2]


def test_a_tied_vote_goes_to_the_higher_mean_probability():
    probabilities = np.array([[[0.6, 0.4, 0.0]], [[0.1, 0.9, 0.0]]])  # one vote each for 0 and 1
    _, vote = metrics.ensemble_predictions(np.log(probabilities + 1e-9))
    assert vote.tolist() == [1]


def test_keep_improved_selects_per_member():
    new = {"w": np.arange(6.0).reshape(3, 2)}
    best = {"w": -np.ones((3, 2))}
    kept = train.keep_improved(jax.numpy.array([True, False, True]), new, best)
    np.testing.assert_array_equal(kept["w"], [[0, 1], [-1, -1], [4, 5]])


def test_layout_is_sweep_points_times_seeds_point_major():
    config = small_config("baseline", num_seeds=2, seed=7)
    config.sweep.learning_rate = (1e-3, 3e-3)
    config.sweep.weight_decay = (0.0, 1e-4)
    layout = ensemble.layout_from_config(config)
    assert layout.num_members == 8 and layout.num_points == 4 and layout.is_sweep
    assert layout.seeds == (7, 8) * 4
    assert layout.learning_rates == (1e-3,) * 4 + (3e-3,) * 4
    assert layout.weight_decays == (0.0, 0.0, 1e-4, 1e-4) * 2
    assert layout.point_hyperparams(3) == {"learning_rate": 3e-3, "weight_decay": 1e-4}
    assert ensemble.best_point(layout, [0.5, 0.5, 0.9, 0.7, 0.1, 0.1, 0.8, 0.79]) == 1  # means .5 .8 .1 .795
    states = ensemble.create_states(build_model(config), optim.make_optimizer(config, 10), layout)
    np.testing.assert_allclose(states.opt_state.hyperparams["learning_rate"], layout.learning_rates)
    np.testing.assert_allclose(states.opt_state.hyperparams["weight_decay"], layout.weight_decays)


def test_a_two_value_learning_rate_sweep_equals_two_single_runs(tmp_path):
    # Vmapped and single programs order their float sums differently. SGD passes that noise on as it
    # is (Adam divides tiny gradients by their own size and amplifies it), so the runs agree closely.
    learning_rates = (0.01, 0.03)
    config = small_config("variant_sgd", train_limit=1500, num_epochs=2)
    config.sweep.learning_rate = learning_rates
    sweep = experiment.train_and_evaluate(config, str(tmp_path / "sweep"))
    for member, learning_rate in enumerate(learning_rates):
        single_config = small_config("variant_sgd", train_limit=1500, num_epochs=2, learning_rate=learning_rate)
        single = experiment.train_and_evaluate(single_config, str(tmp_path / f"single_{member}"))
        for field in ("train_loss", "val_loss"):
            np.testing.assert_allclose(
                [entry[f"{field}_per_member"][member] for entry in sweep["history"]],
                [entry[field] for entry in single["history"]],
                rtol=2e-4,
            )
        np.testing.assert_allclose(sweep["test_loss_per_member"][member], single["test_loss"], rtol=2e-4)
        point = sweep["sweep_points"][member]
        assert point["learning_rate"] == learning_rate
        assert point["best_val_accuracy_mean"] == pytest.approx(single["best_val_accuracy"], abs=1e-6)
    best = int(np.argmax([point["best_val_accuracy_mean"] for point in sweep["sweep_points"]]))
    assert sweep["best_sweep_point"] == best
    assert sweep["test_accuracy"] == sweep["sweep_points"][best]["test_accuracy"]
    assert sweep["best_hyperparams"]["learning_rate"] == learning_rates[best]
    assert (tmp_path / "sweep" / "curves.png").stat().st_size > 10_000


def _members_of_b_lenet5(fashion_mnist, num_members=2):
    """(model, tx, stacked states of seeds 3, 4, ..., 640 real images, their labels, the train options)."""
    config = small_config("b_lenet5", num_seeds=num_members, seed=3)
    images = jax.device_put(fashion_mnist.train_images[:640])
    labels = jax.device_put(fashion_mnist.train_labels[:640])
    model, tx = build_model(config), optim.make_optimizer(config, 10)
    states = ensemble.create_states(model, tx, ensemble.layout_from_config(config))
    return model, tx, states, images, labels, train.options_from_config(config)


def _two_members_of_b_lenet5(fashion_mnist):
    """As _members_of_b_lenet5 with two members, the last item the single-member train epoch."""
    *setup, options = _members_of_b_lenet5(fashion_mnist)
    return *setup, train.make_train_epoch(options)


@pytest.mark.parametrize("members_program", ["map", "vmap", "interleave"])
def test_every_members_program_trains_each_member_as_its_single_run(fashion_mnist, members_program):
    # One epoch of b_lenet5 (dropout-free, Adam) on 640 real images, as a run compiles it: member 1 of two
    # follows the single run with seed + 1; `map` and `interleave` run the single run's very ops.
    model, tx, states, images, labels, options = _members_of_b_lenet5(fashion_mnist)
    epoch = train.make_train_epoch(options)
    over = ensemble.train_epoch_over_members(options, 2, members_program, interleaved_members=2)
    members, member_metrics = jax.jit(over)(states, images, labels, np.ones(2, bool))
    single, single_metrics = jax.jit(epoch)(train.create_train_state(model, tx, 4), images, labels)
    if members_program == "vmap":  # batched ops round differently
        np.testing.assert_allclose(member_metrics["train_loss"][1], single_metrics["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(members.params["Conv_0"]["kernel"][1], single.params["Conv_0"]["kernel"], atol=1e-5)
    else:
        assert member_metrics["train_loss"][1] == single_metrics["train_loss"]
        for got, expected in zip(jax.tree.leaves(members), jax.tree.leaves(single), strict=True):
            np.testing.assert_array_equal(got[1], expected)
    assert not np.allclose(members.params["Conv_0"]["kernel"][0], members.params["Conv_0"]["kernel"][1])


def test_auto_members_program_interleaves_on_cpu_unless_members_are_sharded():
    assert jax.default_backend() == "cpu"
    assert ensemble.resolve_members_program("auto") == "interleave"
    assert ensemble.resolve_members_program("auto", "members") == "vmap"
    assert ensemble.resolve_members_program("vmap") == "vmap"


def test_a_bad_interleave_setting_is_refused_with_the_field_and_the_fix():
    config = small_config("b_lenet5", num_seeds=2, interleaved_members=0)
    with pytest.raises(ConfigError, match=r"interleaved_members=0 must be > 0: set --config.interleaved_members"):
        config_check.validate(config)
    config = small_config("b_lenet5", num_seeds=2, members_program="interleave", parallel="members")
    with pytest.raises(ConfigError, match=r"members_program='interleave' cannot split .* use --config.members_program"):
        config_check.validate(config)


def test_interleaved_groups_skip_as_map_does_bit_for_bit(fashion_mnist):
    # Three b_lenet5 members in groups of two: a full group and a group of one. For every choice of
    # stopped members, `interleave` returns exactly what `map` does: a trained member's state and metrics
    # bit for bit (a stopped member beside it in a group was computed and dropped), a stopped one as it
    # went in, with zero metrics; a group whose members have all stopped is not computed.
    _, _, states, images, labels, options = _members_of_b_lenet5(fashion_mnist, num_members=3)
    mapped = jax.jit(ensemble.train_epoch_over_members(options, 3, "map", interleaved_members=2))
    interleaved = jax.jit(ensemble.train_epoch_over_members(options, 3, "interleave", interleaved_members=2))
    for training in ([True, True, True], [True, False, True], [False, False, True], [False, False, False]):
        expected, got = (
            mapped(states, images, labels, np.array(training)),
            interleaved(states, images, labels, np.array(training)),
        )
        for got_leaf, expected_leaf in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True):
            np.testing.assert_array_equal(got_leaf, expected_leaf)
        assert [bool(loss > 0) for loss in got[1]["train_loss"]] == training


def test_map_skips_a_stopped_member_and_trains_the_others_bit_for_bit(fashion_mnist):
    # The same epoch as above, with member 1 stopped: member 0 gets exactly what the plain `map` program
    # gives it, member 1 comes back as it went in (its epoch is not computed), with zero metrics.
    _, _, states, images, labels, epoch = _two_members_of_b_lenet5(fashion_mnist)
    plain, plain_metrics = jax.jit(ensemble.over_members(epoch, 2, "map"))(states, images, labels)
    skipping = jax.jit(ensemble.over_training_members(epoch, 2, "map"))
    both, both_metrics = skipping(states, images, labels, np.array([True, True]))
    one, one_metrics = skipping(states, images, labels, np.array([True, False]))
    for trained, metrics_of in ((both, both_metrics), (one, one_metrics)):
        for got, expected in zip(jax.tree.leaves(trained), jax.tree.leaves(plain), strict=True):
            np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(metrics_of["train_loss"][0], plain_metrics["train_loss"][0])
    for got, expected in zip(jax.tree.leaves(one), jax.tree.leaves(states), strict=True):
        np.testing.assert_array_equal(got[1], expected[1])
    assert one_metrics["train_loss"][1] == 0 and both_metrics["train_loss"][1] == plain_metrics["train_loss"][1]


@pytest.mark.parametrize("members_program", ["map", "vmap"])
def test_validation_skips_a_member_left_out_under_map_only(fashion_mnist, members_program):
    # Two b_lenet5 members evaluated on 640 real images: with member 1 left out, `map` computes member 0
    # exactly as the plain program does and gives member 1 zeros (not computed); `vmap` computes both.
    model, _, states, images, labels, _ = _two_members_of_b_lenet5(fashion_mnist)
    evaluate = train.make_evaluate(model.apply, 320)
    variables = train.model_variables(states)
    plain = jax.jit(ensemble.over_members(evaluate, 2, members_program))(variables, images, labels)
    selecting = jax.jit(ensemble.over_evaluated_members(evaluate, 2, members_program))
    one = selecting(variables, images, labels, np.array([True, False]))
    np.testing.assert_array_equal(one["logits"][0], plain["logits"][0])
    assert one["loss"][0] == plain["loss"][0] and 0.05 < plain["accuracy"][1] < 1
    if members_program == "map":
        assert one["loss"][1] == 0 and one["accuracy"][1] == 0 and not np.asarray(one["logits"][1]).any()
    else:
        assert one["loss"][1] == plain["loss"][1] and one["accuracy"][1] == plain["accuracy"][1]


@pytest.mark.parametrize("members_program", ["interleave", "vmap"])
def test_a_member_stopped_early_trains_no_more_and_says_so(tmp_path, members_program):
    # Two sweep points: at lr 1e-9 nothing changes, so member 1 stops after epoch 1 + patience; at 3e-3
    # member 0 keeps improving. Under `interleave` (CPU's program) member 1 is dropped from each later
    # epoch (computed beside member 0 in their group, not kept), as `map` skips it; `vmap` trains it on in
    # lockstep (and says so: both members trained).
    config = small_config("b_lenet5", train_limit=1500, num_epochs=5, early_stopping_patience=2)
    config.sweep.learning_rate = (3e-3, 1e-9)
    config.members_program = members_program
    results = experiment.train_and_evaluate(config, str(tmp_path))
    history = results["history"]
    stop = results["best_epoch_per_member"][1] + 2  # the epoch its patience ran out
    assert stop < len(history), "member 0 should outlast member 1 here"
    for entry in history:
        skipped = entry["epoch"] > stop and members_program == "interleave"
        assert entry["members_trained"] == (1 if skipped else 2)
        assert (entry["train_loss_per_member"][1] is None) == skipped
        if skipped:  # its mean is member 0's own; member 1's validation is its unchanged state's
            assert entry["train_loss"] == entry["train_loss_per_member"][0]
            assert entry["val_loss_per_member"][1] == history[stop - 1]["val_loss_per_member"][1]
    member_epochs = sum(entry["members_trained"] for entry in history)
    images = member_epochs * results["steps_per_epoch"] * config.batch_size
    assert results["images_per_s"] == pytest.approx(images / results["train_time_s"])
    epoch_rates = [
        entry["members_trained"] * results["steps_per_epoch"] * config.batch_size / entry["epoch_time_s"]
        for entry in history
    ]
    assert results["median_epoch_images_per_s"] == pytest.approx(np.median(epoch_rates))
    assert (tmp_path / "curves.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("config_name", "kernel_init", "num_members"),
    [("b_lenet5", "torch_default", 2), ("variant_bn", "he_normal", 1), ("e_mlp_small", "lecun_normal", 1)],
)
def test_the_initialisation_s_compiler_options_leave_every_initial_value_bit_for_bit(
    config_name, kernel_init, num_members
):
    """create_states compiles the one-off initialisation at LLVM level 1 on CPU (3x faster to compile):
    only while it computes the default level's very bits, here for every kind of initialiser."""
    from benchmarks import init_compile

    row = init_compile.compare_levels(config_name, small_config(config_name, kernel_init=kernel_init), num_members, 1)
    assert row["config"] == config_name and row["members"] == num_members and row["kernel_init"] == kernel_init
    assert row["same_bits"], row
