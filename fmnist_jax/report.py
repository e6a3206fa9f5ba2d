"""Plots of a run (PNG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import pathlib
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion_matrix(confusion: np.ndarray, class_names: Sequence[str], path: pathlib.Path, title: str) -> None:
    """Heatmap of counts, true class down, predicted class across, each cell labelled."""
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
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        for split, style in (("train", "--"), ("val", "-")):
            name = f"{split}_{metric}"
            if not groups:
                ax.plot(epochs, [e[name] for e in history], style, marker="o", label=split)
                continue
            for colour, (label, members) in enumerate(groups):
                values = np.asarray([e[f"{name}_per_member"][members] for e in history])  # epochs x members
                ax.plot(epochs, values.mean(axis=1), style, color=f"C{colour}", label=f"{label} {split}")
                if values.shape[1] > 1:
                    ax.fill_between(epochs, values.min(axis=1), values.max(axis=1), color=f"C{colour}", alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_feature_maps(image: np.ndarray, activations: dict[str, np.ndarray], path: pathlib.Path, title: str) -> None:
    """The input image, then one row per layer with up to 16 of its channels."""
    max_channels = 16
    fig, axes = plt.subplots(len(activations) + 1, max_channels, figsize=(max_channels, 1.1 * (len(activations) + 1)))
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(image, cmap="gray")
    axes[0, 0].set_title("input", fontsize=7)
    for row, (name, activation) in enumerate(activations.items(), start=1):
        for channel in range(min(max_channels, activation.shape[-1])):
            axes[row, channel].imshow(activation[..., channel], cmap="viridis")
        axes[row, 0].set_title(
            f"{name} {activation.shape[0]}x{activation.shape[1]}x{activation.shape[-1]}", fontsize=7, loc="left"
        )
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_accuracy_scatter(
    rows: Sequence[dict[str, Any]], x_field: str, x_label: str, path: pathlib.Path, title: str
) -> None:
    """Test accuracy (mean, with the std over seeds as error bars) against x_field, one colour per report."""
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
