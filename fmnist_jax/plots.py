"""Plots of a run (PNG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import pathlib
import textwrap
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on the first plot: half a second that a
    command which draws nothing (a bad flag, an eval) should not wait for."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def plot_confusion_matrix(confusion: np.ndarray, class_names: Sequence[str], path: pathlib.Path, title: str) -> None:
    """Heatmap of counts, true class down, predicted class across, each cell labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    image = ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = confusion.max() / 2
    for row in range(confusion.shape[0]):
        for col in range(confusion.shape[1]):
            ax.text(
                col,
                row,
                str(confusion[row, col]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if confusion[row, col] > threshold else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(
    history: Sequence[dict[str, Any]],
    path: pathlib.Path,
    title: str,
    groups: Sequence[tuple[str, slice]] = (),
) -> None:
    """Loss and accuracy per epoch, train (dashed) vs validation (solid), side by side.

    groups: (label, members) per line when the run has several members, e.g. one group of all
    seeds, or one per sweep point; each line is the members' mean with a band from their lowest
    to their highest value. Without groups, one line per split.
    """
    epochs = [entry["epoch"] for entry in history]
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        for split, style in (("train", "--"), ("val", "-")):
            name = f"{split}_{metric}"
            if not groups:
                ax.plot(epochs, [e[name] for e in history], style, marker="o", label=split)
                continue
            for colour, (label, members) in enumerate(groups):
                # epochs x members; a member stopped early has no train metrics (None -> NaN, left out)
                values = np.asarray([e[f"{name}_per_member"][members] for e in history], dtype=float)
                with warnings.catch_warnings():  # a sweep point whose members have all stopped: NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    low, mean, high = np.nanmin(values, 1), np.nanmean(values, 1), np.nanmax(values, 1)
                ax.plot(epochs, mean, style, color=f"C{colour}", label=f"{label} {split}")
                if values.shape[1] > 1:
                    ax.fill_between(epochs, low, high, color=f"C{colour}", alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_feature_maps(image: np.ndarray, activations: dict[str, np.ndarray], path: pathlib.Path, title: str) -> None:
    """The input image, then one row per layer with up to 16 of its channels. A layer whose maps are
    1x1 (Report C's conv(120) on 5x5 input) has one value per channel: it is drawn as one strip of all
    its channels' values across the row, not as 16 single-pixel squares."""
    max_channels = 16
    rows = len(activations) + 1
    plt = _pyplot()
    fig, axes = plt.subplots(rows, max_channels, figsize=(max_channels, 1.1 * rows), squeeze=False)
    grid = axes[0, 0].get_gridspec()
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(image, cmap="gray")
    axes[0, 0].set_title("input", fontsize=7)
    for row, (name, activation) in enumerate(activations.items(), start=1):
        label = f"{name} {activation.shape[0]}x{activation.shape[1]}x{activation.shape[-1]}"
        if activation.shape[0] == activation.shape[1] == 1:
            for ax in axes[row]:
                ax.remove()
            strip = fig.add_subplot(grid[row, :])
            strip.imshow(activation.reshape(1, -1), cmap="viridis", aspect="auto")
            strip.set_yticks([])
            strip.set_xlabel("channel", fontsize=6)
            strip.tick_params(labelsize=6)
            strip.set_title(label + " (one value per channel)", fontsize=7, loc="left")
            continue
        for channel in range(min(max_channels, activation.shape[-1])):
            axes[row, channel].imshow(activation[..., channel], cmap="viridis")
        axes[row, 0].set_title(label, fontsize=7, loc="left")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_accuracy_scatter(
    rows: Sequence[dict[str, Any]], x_field: str, x_label: str, path: pathlib.Path, title: str
) -> None:
    """Test accuracy (mean, with the std over seeds as error bars) against x_field, one colour per report."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 6))
    for report in sorted({row["report"] for row in rows}):
        chosen = [row for row in rows if row["report"] == report]
        ax.errorbar(
            [row[x_field] for row in chosen],
            [100 * row["test_accuracy_mean"] for row in chosen],
            yerr=[100 * row["test_accuracy_std"] for row in chosen],
            fmt="o",
            capsize=3,
            label=f"Report {report}",
        )
        for row in chosen:
            ax.annotate(
                row["config"],
                (row[x_field], 100 * row["test_accuracy_mean"]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel(f"{x_label} (log scale)")
    ax.set_ylabel("test accuracy % (mean +- std over seeds)")
    # The suite's header is one long line (profile, device, versions, date): wrap it, never cut it.
    ax.set_title(textwrap.fill(title.lstrip("# "), width=150), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def spread_positions(positions: Sequence[float], min_gap: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Positions moved apart to at least min_gap each, order kept, as little as possible, within [low, high]
    when they fit: where labels of close points go so that none overlaps another."""
    order = np.argsort(positions, kind="stable")
    placed = np.asarray(positions, dtype=np.float64)[order].copy()
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + min_gap)
    overflow = placed[-1] - high if len(placed) else 0.0
    if overflow > 0:
        placed[-1] -= overflow
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - min_gap)
    placed = np.maximum(placed, low + np.arange(len(placed)) * min_gap) if len(placed) else placed
    result = np.empty_like(placed)
    result[order] = placed
    return result


def plot_reproduction(rows: Sequence[dict[str, Any]], path: pathlib.Path) -> None:
    """The report's number (x) against ours (y, mean +- std over seeds) per config, one colour per report,
    the diagonal drawn; labels in a column beside the axes, each joined to its point, so none overlap.
    A config the campaign cut short of the report's epochs (row["epochs_cut_from"]) is a hollow point."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 9))
    fig.subplots_adjust(left=0.08, right=0.68, top=0.93, bottom=0.08)
    xs = np.array([100 * row["report_value"] for row in rows])
    ys = np.array([100 * np.mean(row["ours"]) for row in rows])
    errors = np.array([100 * (np.std(row["ours"], ddof=1) if len(row["ours"]) > 1 else 0.0) for row in rows])
    low = float(np.floor(min(xs.min(), (ys - errors).min()) - 1))
    high = float(np.ceil(max(xs.max(), (ys + errors).max()) + 1))
    ax.plot([low, high], [low, high], color="grey", lw=1, ls="--", label="ours = report")
    ax.fill_between([low, high], [low - 1, high - 1], [low + 1, high + 1], color="grey", alpha=0.12, label="+-1 point")
    reports = sorted({row["report"] for row in rows})
    colours = {report: f"C{i}" for i, report in enumerate(reports)}
    cut = np.array([bool(row.get("epochs_cut_from")) for row in rows])
    for report in reports:
        for hollow in (False, True):
            chosen = [i for i, row in enumerate(rows) if row["report"] == report and cut[i] == hollow]
            if not chosen:
                continue
            ax.errorbar(
                xs[chosen],
                ys[chosen],
                yerr=errors[chosen],
                fmt="o",
                capsize=3,
                color=colours[report],
                markerfacecolor="none" if hollow else colours[report],
                label=f"Report {report}" + (" (hollow: cut short of its epochs)" if hollow else ""),
            )
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    label_y = spread_positions((ys - low) / (high - low), min_gap=min(0.035, 1.0 / (len(rows) + 1)))
    for i, row in enumerate(rows):
        ax.annotate(
            f"{row['config']} ({row['split']}"
            + (f", {row['epochs_configured']} of {row['epochs_cut_from']} epochs)" if cut[i] else ")"),
            xy=(xs[i], ys[i]),
            xycoords="data",
            xytext=(1.03, label_y[i]),
            textcoords="axes fraction",
            fontsize=7,
            va="center",
            color=colours[row["report"]],
            arrowprops={"arrowstyle": "-", "color": colours[row["report"]], "lw": 0.5, "alpha": 0.6},
        )
    ax.set_xlabel("the report's accuracy % (test where it gives one, else validation)")
    ax.set_ylabel("ours % on the same split (mean +- std over seeds)")
    ax.set_title("fmnist_jax against the five reports: one point per config")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_throughput(
    rows: Sequence[dict[str, Any]], ensemble_rows: Sequence[dict[str, Any]], path: pathlib.Path, title: str
) -> None:
    """Left: training images/s against batch size, one line per architecture (log-log). Right: N members in
    one program against N one-member epochs timed in the same rounds (1.0 = as fast as N separate runs)."""
    plt = _pyplot()
    fig, (speed_ax, scale_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for model in dict.fromkeys(row["model"] for row in rows):
        chosen = sorted((r for r in rows if r["model"] == model), key=lambda r: r["batch_size"])
        speed_ax.plot([r["batch_size"] for r in chosen], [r["images_per_s"] for r in chosen], marker="o", label=model)
    speed_ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="training images/s", title="throughput")
    for model in dict.fromkeys(row["model"] for row in ensemble_rows):
        chosen = sorted((r for r in ensemble_rows if r["model"] == model), key=lambda r: r["members"])
        programs = "/".join(dict.fromkeys(r["program"] for r in chosen if r["members"] > 1))
        scale_ax.plot(
            [r["members"] for r in chosen],
            [r["speedup_vs_sequential"] for r in chosen],
            marker="o",
            label=f"{model} ({programs})" if programs else model,
        )
    scale_ax.axhline(1.0, color="grey", ls="--", lw=1)
    scale_ax.set(
        xscale="log",
        xlabel="members N in one program (vmap or map: legend)",
        ylabel="images/s vs N x one member",
        title="ensemble scaling (batch 128)",
    )
    for ax in (speed_ax, scale_ax):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle(textwrap.fill(title.lstrip("# "), width=150), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
