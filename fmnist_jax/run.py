"""Building a run: its data on the device, model, members, initial state, compiled programs, and the
scoring of its best models on the test set.

`Run(config, workdir)` validates the config, takes the workdir's lock, splits the data, builds the
model and the members' stacked state (ensemble.py) and opens the checkpoints; the epoch loop
(loop.py) trains it and experiment.py turns it into results.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import flax
import jax
import numpy as np
from absl import logging

from fmnist_jax import checkpoints, config_check, data, ensemble, layers, metrics, optim, parallel, plots, train
from fmnist_jax import workdir as run_files
from fmnist_jax.errors import CheckpointError, DataError, UserError
from fmnist_jax.models import build_model


def load_dataset(source: str, data_dir: str) -> data.FashionMNIST:
    """Loads Fashion-MNIST from the named source: 'idx' (default, no TensorFlow: data.py) or 'tfds'
    (tfds_source.py, which reads the same IDX files through data.py: so the choice is made here, above both)."""
    if source == "idx":
        return data.load_fashion_mnist(data_dir)
    if source == "tfds":
        from fmnist_jax import tfds_source  # Optional extra: imports TensorFlow.

        return tfds_source.load_via_tfds(data_dir or data.DEFAULT_DATA_DIR)
    raise DataError(f"config field data_source={source!r} is unknown: use 'idx' or 'tfds'.")


def timed_compile(fn: Callable[..., Any], *args: Any, donate: bool = False) -> tuple[Any, float]:
    """Ahead-of-time compiles fn for these argument shapes; returns (executable, seconds)."""
    start = time.perf_counter()
    compiled = jax.jit(fn, donate_argnums=(0,) if donate else ()).lower(*args).compile()
    return compiled, time.perf_counter() - start


class Run:
    """What every run needs: the config, the data, the members, the model and its initial state.

    With several members (num_seeds > 1 or a sweep) the state has a leading members axis,
    trained by one program (see ensemble.py: vmapped, or one after another on CPU).
    """

    def __init__(self, config: Any, workdir: str):
        config_check.validate(config)
        self.config = config
        self.workdir = run_files.prepare(workdir)
        self.lock = run_files.lock(self.workdir)  # one process per workdir; the OS releases it on exit
        self.splits = data.make_splits(
            load_dataset(config.data_source, config.data_dir),
            val_fraction=config.val_fraction,
            split_seed=config.split_seed,
            train_limit=config.train_limit,
            num_folds=config.kfold,
            fold_index=config.kfold_index,
            fold_val_into_train=config.fold_val_into_train,
            val_split=config.val_split,
        )
        if config.val_split == "test":
            logging.warning(
                "val_split=test: validation is the test set, so early stopping and the best epoch are chosen on "
                "it and the test accuracy is optimistic (Report E's protocol; for ablations, not a headline number)"
            )
        num_train = len(self.splits.train_labels)
        if config.batch_size > num_train:
            raise UserError(
                f"config field batch_size={config.batch_size} is larger than the {num_train} training examples: "
                "lower --config.batch_size."
            )
        self.steps_per_epoch = num_train // config.batch_size
        self.layout = ensemble.layout_from_config(config)
        self.num_members = self.layout.num_members
        self.members_program = ensemble.resolve_members_program(config.members_program, config.parallel)
        self.placement = parallel.make_placement(
            config.parallel,
            num_members=self.num_members,
            batch_size=config.batch_size,
            eval_batch_size=config.eval_batch_size,
        )
        self.train_options = train.options_from_config(config, self.placement.batch_sharding)
        # Keras reports the loss with the regulariser's term: evaluation reports it too (loss_with_penalty).
        options = self.train_options
        self.penalty = (lambda params: train.l2_penalty(params, options)) if config.conv_kernel_l2 else None
        self.model = build_model(config)
        self.tx, self.relative_lr = optim.build(config, self.steps_per_epoch)  # the schedule, built once
        state = ensemble.create_states(self.model, self.tx, self.layout)
        self.num_params = train.count_params(state.params) // self.num_members
        self.num_batch_stats = train.count_params(state.batch_stats) // self.num_members
        self.initial_state = self.placement.put(state, member_axis=self.num_members > 1)
        # Restores need shapes, dtypes and shardings only; the initial state itself is donated to training.
        self.state_template = checkpoints.abstract_like(self.initial_state)
        self.best_template = checkpoints.abstract_like(train.model_variables(self.initial_state))
        self.checkpoints = checkpoints.RunCheckpoints(self.workdir, config.checkpoint_keep)

    def close(self) -> None:
        """Finishes a pending save, releases the checkpoint manager, then the workdir's lock."""
        try:
            self.checkpoints.close()
        finally:
            if self.lock is not None:
                self.lock.close()

    def put_split(self, images: np.ndarray, labels: np.ndarray) -> tuple[jax.Array, jax.Array]:
        """A split on the device(s), once, as uint8: replicated on every device of the mesh."""
        return self.placement.put(images), self.placement.put(labels)

    def compile_evaluate(
        self, variables: Any, images: jax.Array, labels: jax.Array, *, per_member_mask: bool = False
    ) -> tuple[Any, float]:
        """The members' evaluation, compiled: evaluate(variables, images, labels) -> metrics per member;
        with per_member_mask, evaluate(variables, images, labels, evaluated) computes only the members
        where `evaluated` is true when the members program can skip one (`map`), zeros for the others."""
        evaluate = train.make_evaluate(
            self.model.apply,
            self.config.eval_batch_size,
            test_time_flip=self.config.test_time_flip,
            batch_sharding=self.placement.batch_sharding,
            penalty=self.penalty,
        )
        if per_member_mask:
            over = ensemble.over_evaluated_members(evaluate, self.num_members, self.members_program)
            return timed_compile(over, variables, images, labels, np.ones(self.num_members, bool))
        return timed_compile(
            ensemble.over_members(evaluate, self.num_members, self.members_program), variables, images, labels
        )

    def evaluate_best_on_test(
        self, epoch: int | None = None, plot: bool = True
    ) -> tuple[dict[str, Any], dict[str, Any], float]:
        """Restores the best models (of the newest checkpoint, or of `epoch`'s) and evaluates them on the
        test set: (test results, the checkpoint's record, compile s).

        The results hold test_loss, test_accuracy and test_metrics (confusion matrix, per-class
        precision / recall / F1, ROC AUC); with several members also each member's numbers, their
        mean, std and 95 % CI, and the ensemble's accuracy (test_metrics then describe the
        mean-probability ensemble); with a sweep, all that per sweep point. With plot, the plots and
        every member's test logits (workdir.TEST_LOGITS_FILE) go to the workdir; without, nothing is written.
        """
        restored = self.checkpoints.restore_best(self.best_template, epoch)
        if restored is None:
            raise CheckpointError(
                f"workdir {self.workdir} has no checkpoint to evaluate: train first (without eval_only)."
            )
        best, record = restored
        test_images, test_labels = self.put_split(self.splits.test_images, self.splits.test_labels)
        evaluate, compile_s = self.compile_evaluate(best, test_images, test_labels)
        measured = parallel.to_host(evaluate(best, test_images, test_labels))
        results, report_logits = results_on_test_set(
            self.layout, measured, self.splits.test_labels, record["best_val_accuracy"]
        )
        if "loss_with_penalty" in measured:  # the members' mean (the chosen sweep point's), as test_loss
            with_penalty = np.atleast_1d(measured["loss_with_penalty"])
            members = self.layout.point_members(results["best_sweep_point"]) if self.layout.is_sweep else slice(None)
            results["test_loss_with_penalty"] = float(with_penalty[members].mean())
        results["test_metrics"] = metrics.evaluation_metrics(self.splits.test_labels, report_logits, data.CLASS_NAMES)
        if plot and parallel.is_primary():
            self.plot_test_results(results, record, best)
            member_logits = np.asarray(measured["logits"], np.float32).reshape(self.num_members, -1, data.NUM_CLASSES)
            run_files.write_arrays(
                self.workdir / run_files.TEST_LOGITS_FILE, logits=member_logits, labels=self.splits.test_labels
            )
        return results, record, compile_s

    def plot_test_results(self, results: dict[str, Any], record: dict[str, Any], best: Any) -> None:
        if self.num_members == 1:
            what = f"best epoch {record['best_epoch'][0]}"
        elif self.layout.is_sweep:
            what = f"best sweep point {results['best_sweep_point']}"
        else:
            what = "ensemble (mean probability)"
        title = f"{self.config.model} ({self.workdir.name}), {what}, test accuracy {results['test_accuracy']:.4f}"
        plots.plot_confusion_matrix(
            np.asarray(results["test_metrics"]["confusion_matrix"]),
            data.CLASS_NAMES,
            self.workdir / "confusion_matrix.png",
            title,
        )
        if self.config.feature_map_images:
            first_member = best if self.num_members == 1 else jax.tree_util.tree_map(lambda x: x[0], best)
            self.save_feature_maps(parallel.to_host(first_member))

    def save_feature_maps(self, variables: Any) -> None:
        """Activations of every conv and pool layer for the chosen test images, one PNG each."""
        for index in self.config.feature_map_images:
            image = self.splits.test_images[index]
            _, captured = self.model.apply(
                variables,
                train.to_model_input(image[None]),
                train=False,
                capture_intermediates=lambda module, _: isinstance(module, layers.FEATURE_MAP_LAYERS),
                mutable=["intermediates"],
            )
            flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(captured["intermediates"]), sep="/")
            activations = {name.removesuffix("/__call__"): np.asarray(value[0][0]) for name, value in flat.items()}
            label = data.CLASS_NAMES[self.splits.test_labels[index]]
            plots.plot_feature_maps(
                image, activations, self.workdir / f"feature_maps_test{index}.png", f"test image {index} ({label})"
            )


def results_on_test_set(
    layout: ensemble.MemberLayout, measured: dict[str, np.ndarray], labels: np.ndarray, best_val_accuracy: list[float]
) -> tuple[dict[str, Any], np.ndarray]:
    """The test numbers of a run's members, and the logits its report (confusion matrix, ...) describes;
    measured: the evaluate program's loss, accuracy and logits (a leading members axis with several).

    One member: its loss and accuracy. An ensemble: each member's numbers, their mean / std / CI and
    the ensemble's (ensemble.member_test_results). A sweep: that for every point, the point with
    the best mean validation accuracy chosen, and its numbers at the top level.
    """
    loss, accuracy, logits = (np.atleast_1d(measured[name]) for name in ("loss", "accuracy", "logits"))
    logits = logits.reshape(layout.num_members, len(labels), -1)

    def group(members: slice) -> tuple[dict[str, Any], np.ndarray]:
        if layout.num_seeds == 1:
            return {"test_loss": float(loss[members][0]), "test_accuracy": float(accuracy[members][0])}, logits[
                members
            ][0]
        numbers, mean_probability = ensemble.member_test_results(
            loss[members], accuracy[members], logits[members], labels
        )
        return numbers, np.log(np.maximum(mean_probability, 1e-30))

    if not layout.is_sweep:
        return group(slice(None))
    points = []
    for point in range(layout.num_points):
        members = layout.point_members(point)
        numbers, _ = group(members)
        val = np.asarray(best_val_accuracy)[members]
        points.append({**layout.point_hyperparams(point), "best_val_accuracy_mean": float(val.mean()), **numbers})
    best = ensemble.best_point(layout, best_val_accuracy)
    best_numbers, report_logits = group(layout.point_members(best))
    results = {
        **best_numbers,
        "best_sweep_point": best,
        "best_hyperparams": layout.point_hyperparams(best),
        "sweep_points": points,
        "test_loss_per_member": loss.tolist(),
        "test_accuracy_per_member": accuracy.tolist(),
    }
    return results, report_logits
