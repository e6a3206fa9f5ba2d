"""Evaluation metrics on the host from labels and logits: confusion matrix, per-class P/R/F1, ROC AUC.

Plain numpy, so they are checked against scikit-learn in the tests without depending on it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # A class never predicted has precision 0 (scikit-learn's zero_division=0).
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator > 0)


def classification_report(confusion: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, with macro and support-weighted averages."""
    true_positives = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    precision = _safe_divide(true_positives, confusion.sum(axis=0).astype(float))
    recall = _safe_divide(true_positives, support.astype(float))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    per_class = [
        {"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)
    ]
    weights = support / support.sum()

    def average(w: np.ndarray) -> dict[str, float]:
        return {"precision": float(precision @ w), "recall": float(recall @ w), "f1": float(f1 @ w)}

    return {
        "per_class": per_class,
        "macro_avg": average(np.full(len(support), 1 / len(support))),
        "weighted_avg": average(weights),
        "accuracy": float(true_positives.sum() / support.sum()),
    }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def roc_auc_one_vs_rest(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-class ROC AUC of class c against the rest (Mann-Whitney U / (n_pos * n_neg))."""
    aucs = []
    for cls in range(probabilities.shape[1]):
        positive = labels == cls
        num_pos, num_neg = positive.sum(), (~positive).sum()
        ranks = _average_ranks(probabilities[:, cls])
        aucs.append((ranks[positive].sum() - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg))
    return np.asarray(aucs)


def evaluation_metrics(labels: np.ndarray, logits: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Everything a run reports about its test predictions."""
    probabilities = softmax(logits.astype(np.float64))
    predictions = probabilities.argmax(axis=-1)
    confusion = confusion_matrix(labels, predictions, len(class_names))
    per_class_auc = roc_auc_one_vs_rest(labels, probabilities)
    return {
        "confusion_matrix": confusion.tolist(),
        "class_names": list(class_names),
        **classification_report(confusion, class_names),
        "roc_auc_ovr_macro": float(per_class_auc.mean()),
        "roc_auc_per_class": per_class_auc.tolist(),
    }


def mean_std_ci95(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1) and the t-based 95 % confidence interval of the mean."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    if len(array) < 2:
        return {"mean": mean, "std": 0.0, "ci95": [mean, mean]}
    std = float(array.std(ddof=1))
    import scipy.stats  # noqa: PLC0415 (0.7 s to import: only where an interval is computed)

    half_width = scipy.stats.t.ppf(0.975, df=len(array) - 1) * std / np.sqrt(len(array))
    return {"mean": mean, "std": std, "ci95": [mean - half_width, mean + half_width]}


def ensemble_predictions(member_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N members, n examples, C) logits -> (mean of the members' probabilities, majority-vote class).

    A tied vote goes to the tied class with the highest mean probability.
    """
    probabilities = softmax(member_logits.astype(np.float64))
    mean_probability = probabilities.mean(axis=0)
    num_classes = member_logits.shape[-1]
    votes = np.eye(num_classes)[probabilities.argmax(axis=-1)].sum(axis=0)  # (n, C) vote counts
    # Mean probabilities are below 1, so half of one never outweighs a whole vote: they only break ties.
    vote = (votes + 0.5 * mean_probability).argmax(axis=-1)
    return mean_probability, vote


def per_member(results: dict[str, Any], field: str) -> list[Any]:
    """A results.json field's value for each member: its `<field>_per_member` or `<field>_per_seed` list,
    or for a one-member run its one value."""
    for key in (f"{field}_per_member", f"{field}_per_seed"):
        if key in results:
            return list(results[key])
    return [results[field]]


def members_trained(entry: dict[str, Any], num_members: int) -> int:
    """Members an epoch of the history trained: its `members_trained`, written when some have stopped
    early (under the `map` program a stopped member trains no more); else every member."""
    return entry.get("members_trained", num_members)


def median_epoch_images_per_s(history: Sequence[dict[str, Any]], member_images: int, num_members: int) -> float:
    """Images through the optimizer per second (all members) in a run's median epoch: an epoch that
    shared the cores or was paused (SIGSTOP) while other work ran does not move it, as it moves the
    total-time figure (results.json's images_per_s). member_images: one member's images per epoch;
    an epoch's `members_trained` (members stopped early train no more) counts, else num_members."""
    epoch_images = [members_trained(entry, num_members) * member_images for entry in history]
    epoch_times = [entry["epoch_time_s"] for entry in history]
    if len(set(epoch_images)) == 1:  # every epoch trained the same members: the median epoch's time
        return epoch_images[0] / float(np.median(epoch_times))
    return float(np.median(np.asarray(epoch_images) / np.asarray(epoch_times)))
