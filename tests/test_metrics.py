"""Evaluation metrics against scikit-learn (the test oracle) on real predictions of a trained model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from fmnist_jax import data, metrics


@pytest.fixture(scope="module")
def predictions():
    # Logits of a real model would need a training run; the metrics only need labels and scores, so
    # use the real test labels with scores that are right often but not always, and some ties.
    rng = np.random.default_rng(0)
    labels = data.load_fashion_mnist().test_labels.astype(np.int64)
    logits = rng.normal(size=(len(labels), 10))
    logits[np.arange(len(labels)), labels] += rng.uniform(0, 3, size=len(labels))
    logits[:500] = np.round(logits[:500])  # ties exercise the average-rank AUC
    return labels, logits


def test_confusion_and_report_match_sklearn(predictions):
    labels, logits = predictions
    result = metrics.evaluation_metrics(labels, logits, data.CLASS_NAMES)
    predicted = logits.argmax(axis=1)
    np.testing.assert_array_equal(result["confusion_matrix"], skm.confusion_matrix(labels, predicted))
    p, r, f, s = skm.precision_recall_fscore_support(labels, predicted, zero_division=0)
    np.testing.assert_allclose([c["precision"] for c in result["per_class"]], p)
    np.testing.assert_allclose([c["recall"] for c in result["per_class"]], r)
    np.testing.assert_allclose([c["f1"] for c in result["per_class"]], f)
    assert [c["support"] for c in result["per_class"]] == s.tolist()
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(labels, predicted, average=average, zero_division=0)
        np.testing.assert_allclose(
            [result[f"{average}_avg"][k] for k in ("precision", "recall", "f1")], [p, r, f], rtol=1e-10
        )
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))


def test_roc_auc_matches_sklearn(predictions):
    labels, logits = predictions
    probabilities = metrics.softmax(logits)
    result = metrics.evaluation_metrics(labels, logits, data.CLASS_NAMES)
    expected = skm.roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
    assert result["roc_auc_ovr_macro"] == pytest.approx(expected, rel=1e-9)


def test_a_class_never_predicted_has_zero_precision():
    labels = np.array([0, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1])
    report = metrics.classification_report(metrics.confusion_matrix(labels, predicted, 3), ["a", "b", "c"])
    assert report["per_class"][2]["precision"] == 0.0 and report["per_class"][2]["recall"] == 0.0
    p, r, f, _ = skm.precision_recall_fscore_support(labels, predicted, average="macro", zero_division=0)
    assert report["macro_avg"]["f1"] == pytest.approx(f)
